"""Units of metrics, thresholds and finding values, and the one formatter that shows them.

A metric's unit comes from its name's suffix (``_deg``, ``_rel``, ``_px``, ``_cm``, ``_s``);
:func:`format_value` / :func:`format_limit` are the one rounding rule every view uses. Imports
nothing from formcheck; :mod:`formcheck_core.vocabulary` re-exports these names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """A unit of a metric, threshold or finding value, named by the suffix of the metric's name.

    ``decimals``: digits shown to people (cues, stills, report); ``data_decimals``: digits kept for
    machine readers (the LLM's data block, which its grounding check compares against). Both count
    digits of the shown number, after ``scale`` (a back flexion of 0.0743 torso lengths is shown
    "7.4% of torso length" and is 7.4 in the data block, as every view says it).
    """

    name: str
    #: Metric-name suffix that selects this unit ("" = only when given explicitly).
    suffix: str
    #: Text after the number: "°" and "%..." are attached, words are separated by a space.
    symbol: str
    decimals: int
    data_decimals: int
    #: Values are shown multiplied by this (100 for a percentage).
    scale: float = 1.0
    #: (lowest, highest) value a rule threshold in this unit can take (CLI and config are checked
    #: against it: :func:`formcheck_core.rules.thresholds.threshold_range`).
    span: tuple[float, float] = (0.0, math.inf)

    def attach(self, number: str) -> str:
        if not self.symbol:
            return number
        return number + self.symbol if self.symbol[0] in "°%" else f"{number} {self.symbol}"


#: Every unit, by name. A metric's unit comes from its name's suffix (:func:`unit_of`).
UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        Unit("deg", "_deg", "°", 0, 1, span=(-180.0, 180.0)),
        Unit("body_lengths", "_rel", "body lengths", 2, 3),
        Unit("px", "_px", "px", 0, 0),
        Unit("cm", "_cm", "cm", 1, 1),
        Unit("s", "_s", "s", 1, 2),
        # Given by a rule (``ctx.fault(..., unit="torso_lengths")``), e.g. back rounding.
        Unit("torso_lengths", "", "% of torso length", 1, 2, scale=100.0),
    )
}
#: Unit suffix of a metric or threshold name -> unit name (derived from :data:`UNITS`).
UNIT_SUFFIXES: dict[str, str] = {u.suffix: u.name for u in UNITS.values() if u.suffix}
#: Decimals for a value without a known unit (counts, flags, plugin units).
PLAIN_DECIMALS = 2
#: Most extra decimals :func:`format_value` adds to tell a value from its limit.
MAX_EXTRA_DECIMALS = 3


def unit_of(name: str) -> str:
    """Unit of a metric or threshold from its name suffix ("deg", "body_lengths", "px", "cm", "s")."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return ""


def data_decimals(unit: str) -> int:
    """Decimals a value in ``unit`` keeps for machine readers (LLM data block)."""
    u = UNITS.get(unit)
    return u.data_decimals if u is not None else PLAIN_DECIMALS


def display_scale(unit: str) -> float:
    """What a value in ``unit`` is multiplied by to be shown (100 for a percentage; 1 otherwise)."""
    u = UNITS.get(unit)
    return u.scale if u is not None else 1.0


def with_unit(number: str, unit: str) -> str:
    """``number`` (already in the shown scale) with ``unit``'s symbol, as :func:`format_value`
    writes it: "7.4% of torso length", "68.3°", "0.123 body lengths"; a unit without an entry is
    written as it is ("3 reps"), none as the bare number."""
    u = UNITS.get(unit)
    if u is not None:
        return u.attach(number)
    return f"{number} {unit}" if unit else number


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0"


def _base_decimals(value: float, unit: Unit | None) -> int:
    if unit is None and value == int(value):
        return 0  # a count or a 0/1 flag
    d = unit.decimals if unit is not None else PLAIN_DECIMALS
    if d > 0 and value != 0 and abs(value) < 10 ** (1 - d):  # two significant digits at least
        d += 1
    return d


def format_value(value: float | None, unit: str, *, limit: float | None = None) -> str:
    """A measured value for people: ``68°``, ``0.12 body lengths``, ``64 px``, ``3.1 cm``, ``1.8 s``,
    ``3.1% of torso length``.

    With ``limit``, enough extra decimals (at most :data:`MAX_EXTRA_DECIMALS`) are shown that the
    value and the limit read differently unless they are equal, so the reader sees which side of
    the limit it is: 0.104 against a 0.10 limit reads "0.104 body lengths", not "0.10". None / NaN
    reads "n/a"; infinity (a limit switched off) reads "off".
    """
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "off"
    u = UNITS.get(unit)
    if u is not None and u.scale != 1.0:
        value, limit = value * u.scale, (limit * u.scale if limit is not None else None)
    d = _base_decimals(value, u)
    if limit is not None and math.isfinite(limit) and value != limit:
        top = d + MAX_EXTRA_DECIMALS
        while d < top and _fixed(value, d) == _fixed(limit, d):
            d += 1
    number = _fixed(value, d)
    if u is not None:
        return u.attach(number)
    return f"{number} {unit}" if unit else number


def format_limit(limit: float | None, unit: str) -> str:
    """A threshold for people: like :func:`format_value`, with the decimals the limit needs to be exact.

    ``62.5`` degrees reads "62.5°" (not "62°"), ``0.1`` body lengths "0.10 body lengths".
    """
    if limit is None or not math.isfinite(limit):
        return format_value(limit, unit)
    u = UNITS.get(unit)
    if u is not None:
        limit *= u.scale
    d = _base_decimals(limit, u)
    top = d + MAX_EXTRA_DECIMALS
    while d < top and abs(float(_fixed(limit, d)) - limit) > 1e-9 * max(1.0, abs(limit)):
        d += 1
    number = _fixed(limit, d)
    if u is not None:
        return u.attach(number)
    return f"{number} {unit}" if unit else number
