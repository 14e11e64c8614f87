"""hyperextension_at_lockout: leaning back past vertical at the top.

Metric: ``torso_lean_lockout_deg`` (negative = leaning back, the one sign convention everywhere); the
rule compares that signed value with a signed limit, ``min_torso_lean_deg`` = -25°: a fault when the
lean is below it (leaning back further). The finding, message and cue show the metric's own value.

Thresholds (dev clips, ``scripts/evaluate_rules.py --values``): no seed value, and the dev labels
cannot calibrate it: the clip labelled hyperextension leans its hip->shoulder line back only 9°
(the arch is in the lower back, which the keypoints cannot see), while four clean clips filmed by
one low camera read -21° to -29°. The default, -25° (a lean-back any coach would call excessive), keeps
clean clips passing except two of those (-27°, -29°) and misses the labelled one.

Off by default: with a single labelled positive dev clip, leave-one-clip-out cross-validation
(``scripts/evaluate_rules.py``) never beats the never-flag baseline -- every held-out call is a
guess or a false alarm. Kept for users who want it: ``--preset all`` or
``--threshold hyperextension_at_lockout.enabled=1`` switches it on.
"""

from formcheck_core.hookspecs import hookimpl
from formcheck_core.metric_labels import metric_label
from formcheck_core.rules import Rule

#: Signed limit on torso_lean_lockout_deg: leaning back further than this (more negative) is a fault.
MIN_TORSO_LEAN_DEG = -25.0


def check(ctx):
    """Torso lean at lockout below ``min_torso_lean_deg`` (negative = leaning back past vertical).

    Can see: the hip->shoulder line leaning back from a side view (approximate from oblique).
    Cannot see: lower-back arching with an upright torso line, a lockout the clip cuts off, or
    lean-back from a front view.
    """
    lean = ctx.metric("torso_lean_lockout_deg")
    if lean is None or ctx.moment("lockout") is None:
        return ctx.not_measurable(
            f"{metric_label('torso_lean_lockout_deg')} could not be measured in this rep.", moment="lockout"
        )
    return ctx.compare("torso_lean_lockout_deg", "min_torso_lean_deg", fault_if="below", moment="lockout")


RULE = Rule(
    id="hyperextension_at_lockout",
    check=check,
    description="Leaning back past vertical at lockout.",
    metrics=("torso_lean_lockout_deg",),
    thresholds={"min_torso_lean_deg": MIN_TORSO_LEAN_DEG, "enabled": 0.0},
    presets={"seed": {"enabled": 1.0}, "all": {"enabled": 1.0}},
    severity="moderate",
    moment="lockout",
    views=("side", "oblique"),
    view_note="Leaning back is not measurable from a front view: it points away from the camera.",
    # the metric by its label ("Torso lean held at lockout": the level held from the lockout on)
    message="{label} was {measured}{where}: leaning back past vertical (negative = back; limit {limit}).",
    cue="Finish tall, not leaning back: stack shoulders over hips at the top ({what}: {measured}, "
    "negative = back).",
    praise="Tall, stacked lockout: {what} {measured} (negative = back; limit {limit}).",
    flag_description="the lifter leans back past vertical at the top",
)


@hookimpl
def register_rules(register):
    register(RULE)
