"""The shared vocabulary: finding statuses, severities, views, verdict labels, key moments, units.

One place for the words and units every layer uses (rules, coach, LLM prompts, stills, report,
widgets). It imports nothing from formcheck: any module may depend on it.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

#: What a rule found for one rep: it fired, measured within the limit, or could not measure.
Status = Literal["fault", "ok", "not_measurable"]
STATUSES: tuple[Status, ...] = get_args(Status)
FAULT: Status = "fault"
OK: Status = "ok"
NOT_MEASURABLE: Status = "not_measurable"

#: Severities from least to most serious; a verdict is "needs work" if any fault is >= "moderate".
Severity = Literal["info", "minor", "moderate", "major"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

#: Camera view relative to the lifter.
ViewName = Literal["side", "oblique", "front"]
VIEWS: tuple[ViewName, ...] = get_args(ViewName)

#: Verdict of a rep or a set.
VerdictLabel = Literal["clean", "needs work", "unclear"]
VERDICT_LABELS: tuple[VerdictLabel, ...] = get_args(VerdictLabel)
CLEAN: VerdictLabel = "clean"
NEEDS_WORK: VerdictLabel = "needs work"
UNCLEAR: VerdictLabel = "unclear"

# --------------------------------------------------------------------------------------------
# Key moments

#: Names of the key moments of a deadlift rep, in time order.
MomentName = Literal["setup", "liftoff", "knee_pass", "lockout"]
MOMENT_NAMES: tuple[str, ...] = get_args(MomentName)

#: Short display name of each key moment (still headers, tables).
MOMENT_LABEL: dict[str, str] = {
    "setup": "setup",
    "liftoff": "lift-off",
    "knee_pass": "knee pass",
    "lockout": "lockout",
}
#: One-line description of each key moment (a still with no finding attached).
MOMENT_HELP: dict[str, str] = {
    "setup": "Setup: last still position before the pull.",
    "liftoff": "Lift-off: the bar leaves the floor.",
    "knee_pass": "The bar passes the knees.",
    "lockout": "Lockout: hips and knees fully extended.",
}
#: Gym-language phrase for each key moment (``{at}`` in message and cue templates).
MOMENT_PHRASES: dict[str, str] = {
    "setup": "in your setup",
    "liftoff": "as the bar leaves the floor",
    "knee_pass": "as the bar passes your knees",
    "lockout": "at lockout",
}
#: Gym phrase for a finding measured shortly before / after a key moment (the nearest one).
PHRASES_BEFORE: dict[str, str] = {
    "setup": "in your setup",
    "liftoff": "just before the bar leaves the floor",
    "knee_pass": "just before the bar reaches your knees",
    "lockout": "just before lockout",
}
PHRASES_AFTER: dict[str, str] = {
    "setup": "as you start the pull",
    "liftoff": "just after the bar leaves the floor",
    "knee_pass": "just after the bar passes your knees",
    # Lockout values are read over the half second after the lockout moment: still the lockout.
    "lockout": "at lockout",
}

# --------------------------------------------------------------------------------------------
# Units

#: Unit suffix of a metric or threshold name -> unit string of a finding.
UNIT_SUFFIXES: dict[str, str] = {"_deg": "deg", "_rel": "body_lengths", "_px": "px", "_cm": "cm", "_s": "s"}


def unit_of(name: str) -> str:
    """Unit of a metric or threshold from its name suffix ("deg", "body_lengths", "px", "cm", "s")."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return ""


def metric_label(name: str) -> str:
    """A metric name for people: ``torso_lean_liftoff_deg`` -> "Torso lean liftoff"."""
    for suffix in UNIT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("_", " ").strip().capitalize()


def format_value(value: float | None, unit: str) -> str:
    """A measured value for people: ``68°``, ``0.12 body lengths``, ``3.1% of torso length``, ``64 px``, ``1.8 s``."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "off"
    if unit == "deg":
        return f"{value:.0f}°"
    if unit == "body_lengths":
        return f"{value:.{2 if abs(value) >= 0.1 else 3}f} body lengths"
    if unit == "torso_lengths":
        return f"{100 * value:.1f}% of torso length"
    if unit in ("px", "cm"):
        return f"{value:.0f} {unit}"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:.3g}{' ' + unit if unit else ''}"
