"""bent_arms: pulling with bent elbows instead of long, straight arms.

Metric: ``min_elbow_angle_pull_deg`` (smallest shoulder-elbow-wrist angle between lift-off and
lockout held for 0.2 s, 180 = straight).

Thresholds (dev clips, ``scripts/evaluate_rules.py --values``): no seed value. Straight arms read
131-173° in 2D (elbow keypoints jitter and the plates hide the forearm); the clip labelled bent
arms reads 99°. The default, 115°, sits between them. But that reading rests on a jittery wrist
(pose confidence 0.09): a low-confidence fault is a warning that does not judge the rep, so even
switched on the rule does not flag the labelled clip, while an oblique clean clip reads 88° at
full confidence (``scripts/evaluate_rules.py``: in-sample and LOCO balanced accuracy 0.49).

Partial pulls are judged too (``partial_pulls=True``): a pull that never locks out still shows
how the arms pulled (from lift-off to the pull's last sample).

Off by default: with a single labelled positive dev clip, leave-one-clip-out cross-validation
(``scripts/evaluate_rules.py``) never beats the never-flag baseline -- every held-out call is a
guess or a false alarm. Kept for users who want it: ``--preset all`` or
``--threshold bent_arms.enabled=1`` switches it on.
"""

from formcheck_core.hookspecs import hookimpl
from formcheck_core.rules import Rule

MIN_ELBOW_ANGLE_DEG = 115.0


def check(ctx):
    """Smallest elbow angle during the pull below ``min_elbow_angle_deg``.

    Can see: elbow bend in the image plane from a side view (approximate from oblique).
    Cannot see: bend toward the camera (front view), or arms hidden behind the plates (NaN ->
    not measurable).
    """
    # Placed at the sample of the smallest angle (moment: the nearest key moment); knee_pass
    # only when that sample is unknown.
    return ctx.compare(
        "min_elbow_angle_pull_deg", "min_elbow_angle_deg", fault_if="below", moment="knee_pass"
    )


RULE = Rule(
    id="bent_arms",
    check=check,
    description="Elbows bend during the pull (arms should hang straight like ropes).",
    metrics=("min_elbow_angle_pull_deg",),
    thresholds={"min_elbow_angle_deg": MIN_ELBOW_ANGLE_DEG, "enabled": 0.0},
    presets={"seed": {"enabled": 1.0}, "all": {"enabled": 1.0}},
    severity="moderate",
    moment="knee_pass",
    partial_pulls=True,  # a pull that never locks out is still pulled with bent or straight arms
    views=("side", "oblique"),
    view_note="Elbow bend is not measurable from a front view: the bend points at the camera.",
    # the metric by its label: a level held for 0.2 s, not the curve's lowest sample
    message="Elbows bent during the pull: {what} {measured}, {at} (limit {limit}).",
    cue="Long arms: lock your elbows and let the arms hang like ropes ({what}: {measured}).",
    praise="Straight arms through the pull: {what} {measured} (limit {limit}).",
    flag_description="the elbows bend during the pull instead of staying straight",
)


@hookimpl
def register_rules(register):
    register(RULE)
