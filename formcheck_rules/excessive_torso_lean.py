"""excessive_torso_lean: the chest is too far over the bar as it leaves the floor.

Metric: ``torso_lean_liftoff_deg`` (hip->shoulder line from vertical at lift-off, 0 = upright).

Thresholds (dev clips, ``scripts/evaluate_rules.py --values``): the seed's 45° flags 22 of the 28
clips labelled clean -- clean side-view pulls read 64-74° at the detected lift-off, several degrees
above the labellers' by-eye judgement ("true" from about 65°). The default, 75°, flags 3 of the 4
clips labelled true (77-82°) and 2 of 28 clean ones (an oblique view's 3D estimate of 85°, and a
rounded back at 87° whose lean was labelled acceptable); it misses a stiff-legged pull at 69°. The
seed value stays available as the "seed" preset.

A steep torso is a fault because it loads the back: with the back measured flat from set-up to
knee pass (``rounded_back`` "ok" on the same pull) it is a hip-dominant start (high hips, flat
back), so the fault is made "minor" (``minor_when_ok``): reported and cued, but it does not make
the rep "needs work". The dev labels agree: of the 4 clips labelled with this lean, the 2 with a
rounded back are "bad" overall, the one with a flat back ("high hips but flat back") is "good",
and the fourth (a Romanian deadlift) has its back labelled unclear. From an oblique view the back
is not judged, so the lean counts in full.
"""

from formcheck_core.hookspecs import hookimpl
from formcheck_core.rules import Rule

#: The seed rule's limit (flags 22 of 28 clean dev clips): the "seed" preset.
SEED_MAX_LEAN_DEG = 45.0
#: Calibrated default (see the module docstring).
MAX_LEAN_DEG = 75.0


def check(ctx):
    """Torso lean from vertical at lift-off above ``max_lean_deg``.

    Can see: the hip->shoulder line in the image from a side view (reliable), or from the pose
    model's 3D estimate in an oblique view (approximate).
    Cannot see: the spine's shape (a rounded back with a normal lean angle passes), or lean from a
    front view, where forward lean points at the camera.
    """
    return ctx.compare("torso_lean_liftoff_deg", "max_lean_deg", moment="liftoff")


RULE = Rule(
    id="excessive_torso_lean",
    check=check,
    description="Torso leans too far forward at lift-off (chest over the bar).",
    metrics=("torso_lean_liftoff_deg",),
    thresholds={"max_lean_deg": MAX_LEAN_DEG},
    presets={"seed": {"max_lean_deg": SEED_MAX_LEAN_DEG}},
    severity="moderate",
    moment="liftoff",
    partial_pulls=True,  # a pull that never locks out shows this fault as well
    views=("side", "oblique"),
    view_note="Torso lean is not judged from a front view: the forward lean points at the camera, so "
    "its 3-D estimate (shown with the angles) is too rough to judge.",
    message="Torso leaned {measured} from vertical {at}, past the {limit} limit.",
    cue="Chest up and hips a little lower before you pull: your torso was {measured} from vertical {at}.",
    # the metric by its label: "back angle" is another metric (the outline's, back_angle_deg)
    praise="Good hinge off the floor: {what} {measured} (limit {limit}).",
    flag_description=(
        "the chest is far over the bar at lift-off: the torso is much closer to horizontal than "
        "in a typical conventional deadlift start"
    ),
    label_key="excessive_torso_lean_at_liftoff",
    # A steep torso matters because it loads the back; with the back measured flat from set-up to
    # knee pass it is a hip-dominant start (high hips, flat back), reported but not judged a fault.
    minor_when_ok=("rounded_back",),
    minor_note="Your back stayed flat, so this is a note, not a fault.",
)


@hookimpl
def register_rules(register):
    register(RULE)
