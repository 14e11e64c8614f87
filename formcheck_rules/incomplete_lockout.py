"""incomplete_lockout: the hips do not finish straight at the top.

Metric: ``hip_angle_lockout_deg`` (shoulder-hip-knee angle at lockout, 180 = straight).

Thresholds (dev clips, ``scripts/evaluate_rules.py --values``): clean side-view lockouts read
163.5-180°, so the seed's 165° flags 2 of them. The clip labelled incomplete (the lifter never
stands up) reads 144°, but so do three clips labelled complete (127-144°, one gym with high-hipped
lifters and bystanders), so every limit from 145° to 163° scores the same on dev (1 true positive,
3 false positives of 25); the default, 155°, sits in the middle of that gap. Oblique views are not
judged: the pose model's 3D hip angle reads clean lockouts at 155-158°. A rep the clip cuts off
before lockout is "not measurable". The seed value stays as the "seed" preset.

Off by default: with a single labelled positive dev clip, leave-one-clip-out cross-validation
(``scripts/evaluate_rules.py``) never beats the never-flag baseline -- every held-out call is a
guess or a false alarm. Kept for users who want it: ``--preset all`` or
``--threshold incomplete_lockout.enabled=1`` switches it on.
"""

from formcheck_core.biomech.metrics import LOCKOUT_HIP_DEG
from formcheck_core.hookspecs import hookimpl
from formcheck_core.rules import Rule

SEED_MIN_HIP_ANGLE_DEG = 165.0
#: The one lockout definition (``lockout_reached`` uses the same number).
MIN_HIP_ANGLE_DEG = LOCKOUT_HIP_DEG


def check(ctx):
    """Hip angle at lockout below ``min_hip_angle_deg``.

    Can see: hip extension at the top from a side view.
    Cannot see: a lockout the clip cuts off (reported as not measurable), soft knees on their own,
    or hip extension from a front view (the bend points at the camera) or an oblique one (the 3D
    estimate reads clean lockouts 20-25° short).
    """
    if ctx.moment("lockout") is None:  # cut off by the end of the clip (not the same as not finishing)
        return ctx.not_measurable("The clip ends before this rep's lockout.", moment="lockout")
    return ctx.compare("hip_angle_lockout_deg", "min_hip_angle_deg", fault_if="below", moment="lockout")


RULE = Rule(
    id="incomplete_lockout",
    check=check,
    description="Hips not fully extended at the top (hip angle short of straight).",
    metrics=("hip_angle_lockout_deg",),
    thresholds={"min_hip_angle_deg": MIN_HIP_ANGLE_DEG, "enabled": 0.0},
    presets={"seed": {"min_hip_angle_deg": SEED_MIN_HIP_ANGLE_DEG, "enabled": 1.0}, "all": {"enabled": 1.0}},
    severity="moderate",
    moment="lockout",
    views=("side",),
    view_note="Hip extension is only judged from a side view: from the front the hip bend points at the "
    "camera, and in oblique views the 3D estimate reads clean lockouts 20-25° short.",
    message="Hip angle was only {measured} {at}, short of the {limit} needed to finish.",
    cue="Finish the rep: squeeze your glutes and stand tall at the top (hip reached {measured}).",
    praise="Full lockout: hips reached {measured} (needs {limit}).",
    flag_description="the lifter does not finish standing tall: hips or knees stay clearly bent at the top",
)


@hookimpl
def register_rules(register):
    register(RULE)
