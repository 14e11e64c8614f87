"""hips_rise_first: the hips shoot up before the shoulders move (the pull turns into a stiff-leg pull).

Metric: ``hip_rise_lead_rel`` (how far the hips rise ahead of the shoulders early in the pull,
body lengths; positive = hips lead).

Thresholds (dev clips, ``scripts/evaluate_rules.py --values``): no seed value. In a good pull hips
and shoulders rise together; clean clips read at most 0.09. The default, 0.10 body lengths, flags
the clip labelled hips-first (5 of its 10 reps, up to 0.13) and none of the 29 clean clips -- one
positive is thin evidence, so treat the margin as provisional. Partial pulls that leave the floor
are judged too (``partial_pulls=True``; a pull without a lift-off in the clip is "not measurable", and
says so): the
hips lead before the knee pass, which such a pull shows; on the 5 dev clips with such pulls it
measures 0.002-0.029 and flags none.
"""

from formcheck_core.hookspecs import hookimpl
from formcheck_core.rules import Rule

MAX_HIP_LEAD_REL = 0.10


def check(ctx):
    """Hips rise more than ``max_hip_lead_rel`` body lengths ahead of the shoulders early in the pull.

    Can see: vertical hip and shoulder motion, from any view (vertical motion is in the image plane).
    Cannot see: why (weak quads, setup too low); a lift-off the clip misses is not measurable.
    """
    if ctx.moment("liftoff") is None:
        return ctx.not_measurable("The clip does not show this pull's lift-off.", moment="liftoff")
    # Placed at the sample where the hips led the most (moment: the nearest key moment).
    return ctx.compare("hip_rise_lead_rel", "max_hip_lead_rel", moment="liftoff")


RULE = Rule(
    id="hips_rise_first",
    check=check,
    description="Hips rise before the shoulders off the floor.",
    metrics=("hip_rise_lead_rel",),
    thresholds={"max_hip_lead_rel": MAX_HIP_LEAD_REL},
    severity="moderate",
    moment="liftoff",
    partial_pulls=True,  # the hips lead off the floor: a pull that never locks out shows it too
    message="Hips rose {measured} ahead of the shoulders {at} (limit {limit}).",
    cue="Push the floor away with your legs and lift chest and hips together: hips led by {measured}.",
    praise="Hips and shoulders rose together: {what} {measured} (limit {limit}).",
    flag_description=(
        "the hips shoot up before the shoulders at the start of the pull, so the legs straighten "
        "before the bar moves much"
    ),
)


@hookimpl
def register_rules(register):
    register(RULE)
