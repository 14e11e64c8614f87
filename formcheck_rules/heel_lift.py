"""heel_lift: the heels come off the floor during the pull (weight on the toes).

Metric: ``heel_rise_rel`` (largest rise of the heel relative to the toe during the pull, above
their setup difference, body lengths).

Thresholds (dev clips, ``scripts/evaluate_rules.py --values``): no seed value, and the dev labels
cannot calibrate it: the clip labelled heel lift read only 0.014 (small 600x600 frames; the heel
keypoint barely moves), and its one pull is now a partial pull (cut by the clip), which this rule
does not judge; clips without heel lift read up to 0.08 from foot-keypoint noise in low-resolution
reels. The default, 0.06 body lengths (a heel rise of several centimetres), flags 1 of the 35
clips labelled without heel lift (0.071) and warns on another (0.080, read at low pose
confidence), and cannot judge the labelled one.

Off by default: with a single labelled positive dev clip, leave-one-clip-out cross-validation
(``scripts/evaluate_rules.py``) never beats the never-flag baseline -- every held-out call is a
guess or a false alarm. Kept for users who want it: ``--preset all`` or
``--threshold heel_lift.enabled=1`` switches it on.
"""

from formcheck_core.hookspecs import hookimpl
from formcheck_core.rules import Rule

MAX_HEEL_RISE_REL = 0.06


def check(ctx):
    """Heel rises more than ``max_heel_rise_rel`` body lengths above its setup height.

    Can see: the near-side heel keypoint from a side view (approximate from oblique).
    Cannot see: heels from a front view (hidden behind the feet), the far foot, or a heel
    hidden by plates or cropped out of frame (not measurable).
    """
    # Placed at the sample of the highest heel (moment: the nearest key moment).
    return ctx.compare("heel_rise_rel", "max_heel_rise_rel", moment="liftoff")


RULE = Rule(
    id="heel_lift",
    check=check,
    description="Heels lift off the floor during the pull.",
    metrics=("heel_rise_rel",),
    thresholds={"max_heel_rise_rel": MAX_HEEL_RISE_REL, "enabled": 0.0},
    presets={"seed": {"enabled": 1.0}, "all": {"enabled": 1.0}},
    severity="moderate",
    moment="liftoff",
    views=("side", "oblique"),
    view_note="Heel lift is not measurable from a front view: the heels are hidden behind the feet.",
    message="Heel rose {measured} above the floor during the pull, highest {at} (limit {limit}).",
    cue="Keep your whole foot down and push through mid-foot and heels: the heel rose {measured}.",
    praise="Feet stayed flat: heel rise {measured} (limit {limit}).",
    flag_description="the heels come off the floor during the pull",
)


@hookimpl
def register_rules(register):
    register(RULE)
