"""A formcheck rule plugin: flag pulls that grind (slow from the floor to lockout)."""

from formcheck_core.hookspecs import hookimpl
from formcheck_core.rules import Rule


def check(ctx):
    """Lift-off to lockout slower than ``max_duration_s``.

    Can see: the time between the lift-off and lockout moments, from any camera view.
    Cannot see: why the pull was slow (a heavy single grinds on purpose); a rep the clip cuts
    off has no duration and is reported as not measurable.
    """
    if ctx.moment("lockout") is None:
        return ctx.not_measurable("The clip ends before this rep's lockout.", moment="lockout")
    return ctx.compare("rep_duration_s", "max_duration_s", moment="lockout")


@hookimpl
def register_rules(register):
    register(
        Rule(
            id="slow_pull",
            check=check,
            description="The pull grinds: slow from the floor to lockout.",
            metrics=("rep_duration_s",),
            thresholds={"max_duration_s": 3.0},
            severity="minor",
            lifts=("deadlift",),
            moment="lockout",
            cue="Drive the floor away and pull with intent: that rep took {measured} to lock out.",
        )
    )
