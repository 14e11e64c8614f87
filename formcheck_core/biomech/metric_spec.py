"""What a metric is: one :class:`MetricSpec` per per-rep metric, built in or contributed by a plugin.

Everything else that describes a metric derives from its spec: the unit and the decimals (from the
name's suffix, see :mod:`formcheck_core.vocabulary`), the glossary the LLM reads (``short``), the
angle series and joints a still highlights for it (``series``, ``joints``), and the value itself
(``measure``). A measure function reads one rep (:class:`RepInput`) and returns the value, or the
value and the sample index (into the body series) at which it was read; NaN = not measurable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ..vocabulary import UNITS, data_decimals, metric_name_in_words, unit_of
from .body import BodySeries, Rep, ViewEstimate

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
T = TypeVar("T")


@dataclass(frozen=True)
class Unmeasured:
    """What a measure function returns for a metric it cannot read, with why, in words that follow
    "not measurable: " ("front view: the bar's drift is along the camera axis"). The value is NaN;
    the reason is kept in ``Rep.unmeasured`` and shown by every view in place of a number."""

    reason: str


#: What a measure function returns: a value, (value, sample index where it was read or None), or
#: :class:`Unmeasured` (NaN, with why).
Reading = float | tuple[float, int | None] | Unmeasured


@dataclass(frozen=True, eq=False)
class RepInput:
    """What a metric reads for one rep: the smoothed body series, the rep, the view, the height.

    ``memo`` lets metrics of one rep share an intermediate result (:meth:`shared`).
    """

    body: BodySeries
    rep: Rep
    view: ViewEstimate | None = None
    height_cm: float | None = None
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: str, compute: Callable[[RepInput], T]) -> T:
        """``compute(self)``, computed once per rep for every metric that asks for ``key``."""
        if key not in self.memo:
            self.memo[key] = compute(self)
        return self.memo[key]


@dataclass(frozen=True, eq=False)
class MetricSpec:
    """One per-rep metric.

    ``name`` carries the unit (``_deg``, ``_rel`` body lengths, ``_px``, ``_cm``, ``_s``; none for
    counts and flags). ``description``: what it measures and how (docs, ``analysis.json``).
    ``short``: a few words for the LLM's glossary (default: the description). ``series``: the
    angle series (keys of ``BodySeries.smoothed``) it is read from, drawn as arcs on stills;
    ``joints``: joints without side ("hip", "heel", ...) ringed on stills, "bar" for the bar
    marker. ``kind``: "flag" for a 0/1 answer (shown to the LLM as yes/no). ``unit``: only when
    the suffix does not say it (e.g. "torso_lengths" for a ``_rel`` of the torso). ``label``:
    the name for people when the name in words would mislead. ``median_over``: for a value that is
    the median over a window of samples, not one sample's value, that window in words ("from set-up
    to knee pass"); the default label then says so ("Back flexion, median from set-up to knee
    pass"), and every view shows the window, not one frame (:mod:`formcheck_core.readings`).
    """

    name: str
    description: str
    measure: Callable[[RepInput], Reading]
    short: str = ""
    series: tuple[str, ...] = ()
    joints: tuple[str, ...] = ()
    kind: Literal["number", "flag"] = "number"
    #: Unit name (see ``vocabulary.UNITS``); default: from the name's suffix.
    unit: str = ""
    #: The name for people, shown by every view (tables, findings, cues, summary:
    #: :func:`formcheck_core.metric_labels.metric_label` reads it from here): default the name in
    #: words (``torso_lean_liftoff_deg`` -> "Torso lean at lift-off",
    #: :func:`~formcheck_core.vocabulary.metric_name_in_words`); give it when the name alone would
    #: mislead ("Deepest hip angle near lift-off").
    label: str = ""
    #: The window a median value summarises, in words ("from set-up to knee pass"); "" for a value
    #: read at one sample.
    median_over: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ValueError(f"metric name {self.name!r} must be lower_snake_case with its unit suffix")
        if not callable(self.measure):
            raise ValueError(f"metric {self.name}: measure must be callable")
        if isinstance(self.series, str) or isinstance(self.joints, str):
            raise ValueError(f"metric {self.name}: series and joints must be tuples of names")
        if self.kind not in ("number", "flag"):
            raise ValueError(f"metric {self.name}: kind must be 'number' or 'flag'")
        object.__setattr__(self, "series", tuple(self.series))
        object.__setattr__(self, "joints", tuple(self.joints))
        object.__setattr__(self, "description", str(self.description))
        object.__setattr__(self, "short", str(self.short or self.description))
        object.__setattr__(self, "unit", self.unit or unit_of(self.name))
        # every view names the metric by it (formcheck_core.metric_labels.metric_label)
        words = metric_name_in_words(self.name)
        if self.median_over:
            words = f"{words}, median {self.median_over}"
        object.__setattr__(self, "label", str(self.label) or words)

    @property
    def sample_label(self) -> str:
        """What one sample reads, for people: for a median metric the name in words without the
        window ("Back flexion": a back panel's title, the explorer's value at one frame); else
        :attr:`label`."""
        return metric_name_in_words(self.name) if self.median_over else self.label

    @property
    def decimals(self) -> int:
        """Decimals shown to people (see :func:`formcheck_core.vocabulary.format_value`)."""
        u = UNITS.get(self.unit)
        return 0 if self.kind == "flag" else (u.decimals if u is not None else 2)

    @property
    def data_decimals(self) -> int:
        """Decimals kept for machine readers (the LLM's data block)."""
        return 0 if self.kind == "flag" else data_decimals(self.unit)

    def read(self, inp: RepInput) -> tuple[float, int | None]:
        """(value, sample) of one rep; raises ValueError when ``measure`` returns something else."""
        value, sample, _ = self.reading(inp)
        return value, sample

    def reading(self, inp: RepInput) -> tuple[float, int | None, str]:
        """(value, sample, why not measurable) of one rep: the reason of an :class:`Unmeasured`
        result ("" otherwise, NaN included); raises ValueError for anything else."""
        result = self.measure(inp)
        if isinstance(result, Unmeasured):
            return math.nan, None, str(result.reason)
        sample: Any = None
        if isinstance(result, tuple):
            if len(result) != 2:
                raise ValueError(f"returned a {len(result)}-tuple; expected (value, sample)")
            result, sample = result
        if isinstance(result, (str, bytes)) or not hasattr(result, "__float__"):
            raise ValueError(f"returned {type(result).__name__}; expected a float (NaN = not measurable)")
        value = float(result)
        if sample is not None:
            if isinstance(sample, bool) or not hasattr(sample, "__index__"):
                raise ValueError(f"returned sample {sample!r}; expected an int index or None")
            sample = int(sample)
            if not 0 <= sample < len(inp.body.time_s):
                raise ValueError(
                    f"returned sample {sample} outside the series (0..{len(inp.body.time_s) - 1})"
                )
        return value, (sample if math.isfinite(value) else None), ""


def legacy_metric(name: str, description: str, fn: Callable[..., float]) -> MetricSpec:
    """A spec for the old plugin form ``register(name, description, fn(body, rep, view))`` (deprecated)."""
    if not callable(fn):
        raise TypeError(f"metric {name!r}: fn must be callable")
    return MetricSpec(str(name), str(description), lambda inp: fn(inp.body, inp.rep, inp.view))
