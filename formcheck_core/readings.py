"""The one shown reading of each metric: the value, sample and text every view displays.

A metric of a rep is read at one sample (``Rep.metric_samples``). :func:`metric_readings` pairs
that value with its sample's frame and time and with the text people see,
:func:`~formcheck_core.vocabulary.format_value` of the value in the metric's unit, with the limit
of the rule finding on that metric (so "0.104" against a 0.10 limit is not shown as "0.10"), exactly
as the finding's message and cue show it. The curve markers (:mod:`formcheck_core.render.curves`)
and the frame explorer's read-out (:mod:`formcheck_core.widgets.explorer`) display these readings;
metrics that are NaN or recorded no sample have none.

A metric that is a median over a window (``MetricSpec.median_over``: the back's, from set-up to
knee pass) is no frame's value (with an even count of samples it is the mean of the two middle
ones): its reading carries the window (``window``, ``window_frames``, ``window_time_s``), the
curves draw it as a level over that window, and the still and the explorer name it a median over
those frames, beside the frame's own value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .biomech.back_series import median_window
from .biomech.body import Rep
from .biomech.metrics import METRIC_SPECS
from .biomech.quality import SERIES_JOINTS, joints_quality
from .findings import Finding
from .metric_labels import metric_label
from .result import Analysis
from .vocabulary import FAULT, LOW_CONFIDENCE_SUFFIX, OK, format_value, unit_of

__all__ = [
    "MetricReading",
    "frame_value",
    "lockout_hip_reading",
    "lockout_reached",
    "lockout_text",
    "metric_readings",
    "metric_text",
    "series_mark",
]


@dataclass(frozen=True)
class MetricReading:
    """One metric of one rep as displayed: ``value`` (the metric's own number, the metric's unit
    and sign convention) read at ``sample`` (source ``frame_index``, ``time_s`` seconds);
    ``text`` its formatted value, ``label`` the metric's name for people; ``confidence`` (0-1,
    None if unknown) and ``quality`` (its mark, "" when fine) from ``Rep.metric_quality``."""

    rep: int
    metric: str
    sample: int
    frame_index: int
    time_s: float
    value: float
    unit: str
    text: str
    label: str
    confidence: float | None = None
    quality: str = ""
    #: The pull in words: "rep 2" or "partial pull 1" (:meth:`~formcheck_core.result.Analysis.pull_label`).
    pull: str = ""
    #: For a value that is the median over a window (``MetricSpec.median_over``), not one
    #: sample's value: the window's first and last sample, source frame and time (s); ``sample`` is
    #: then only where its finding is placed (the sample whose own value is nearest it). None for a
    #: value read at one sample.
    window: tuple[int, int] | None = None
    window_frames: tuple[int, int] | None = None
    window_time_s: tuple[float, float] | None = None

    @property
    def at_one_frame(self) -> bool:
        """True if ``value`` is the value of the frame at ``sample`` (not a median over a window)."""
        return self.window is None

    @property
    def where(self) -> str:
        """Where the value was read, in words: "frame 84", or for a median "median over frames 40-58"."""
        if self.window_frames is None:
            return f"frame {self.frame_index}"
        return f"median over frames {self.window_frames[0]}–{self.window_frames[1]}"

    @property
    def shown(self) -> str:
        """The value with its mark, as pictures show it (curve markers, like stills and the clip):
        "41°", or "41° ?" when read at low pose confidence (why: :attr:`quality`, in the summary,
        the JSON and the explorer's read-out; a full reason ran off the curve figures); a median
        says so: "median 1.9% of torso length"."""
        text = self.text if self.at_one_frame else f"median {self.text}"
        return f"{text}{LOW_CONFIDENCE_SUFFIX}" if self.quality else text


def _finding_for(analysis: Analysis, rep: int, metric: str, value: float) -> Finding | None:
    """The rule finding that reports this metric's value in this rep (a fault first), if any."""
    found = [f for f in analysis.findings if f.rep == rep and f.metric == metric and f.value == value]
    found.sort(key=lambda f: not f.is_fault)
    return found[0] if found else None


def metric_readings(analysis: Analysis, rep: int | None = None) -> list[MetricReading]:
    """Every measured metric of every pull -- complete reps and partial pulls -- (or of pull number
    ``rep``), in sample order."""
    body = analysis.body
    if body is None:
        return []
    out: list[MetricReading] = []
    for r in analysis.pulls:
        if rep is not None and r.number != rep:
            continue
        for name, sample in r.metric_samples.items():
            value = r.metrics.get(name)
            if value is None or not math.isfinite(value) or not 0 <= sample < len(body.time_s):
                continue
            f = _finding_for(analysis, r.number, name, value)
            unit = (f.unit if f is not None and f.unit else None) or unit_of(name)
            limit = f.threshold if f is not None else None
            q = r.metric_quality.get(name)
            spec = METRIC_SPECS.get(name)
            window = median_window(r, analysis.back) if spec is not None and spec.median_over else None
            out.append(
                MetricReading(
                    rep=r.number,
                    metric=name,
                    sample=int(sample),
                    frame_index=int(body.frame_index[sample]),
                    time_s=float(body.time_s[sample]),
                    value=float(value),
                    unit=unit,
                    text=format_value(value, unit, limit=limit),
                    label=metric_label(name, analysis.options.get("plugin_metrics")),
                    confidence=q.confidence if q is not None else None,
                    quality=q.mark if q is not None else "",
                    pull=analysis.pull_label(r.number),
                    window=window,
                    window_frames=None
                    if window is None
                    else (int(body.frame_index[window[0]]), int(body.frame_index[window[1]])),
                    window_time_s=None
                    if window is None
                    else (float(body.time_s[window[0]]), float(body.time_s[window[1]])),
                )
            )
    out.sort(key=lambda m: (m.sample, m.rep, m.metric))
    return out


def frame_value(analysis: Analysis, reading: MetricReading, sample: int) -> float:
    """The value of a median reading's quantity at one ``sample`` (the frame's own value, in the
    reading's unit): the back series' number there (NaN where the pass did not read it); the
    reading's own value for a reading at one frame at its sample; else NaN."""
    if reading.at_one_frame:
        return reading.value if sample == reading.sample else math.nan
    back = analysis.back
    series = getattr(back, reading.metric, None) if back is not None else None
    row = back.row(sample) if back is not None else None
    return float(series[row]) if series is not None and row is not None else math.nan


def metric_text(analysis: Analysis, rep: Rep, name: str) -> str:
    """Metric ``name`` of ``rep`` as every view shows it: "not measurable: left shoulder not
    visible" or "not measurable: front view: ..." (no number) when it is not measurable
    (``Rep.unmeasured_mark``); else its reading's ``text``
    (:func:`metric_readings`: digits follow the limit of the finding on it); else the value in
    its unit by :func:`~formcheck_core.vocabulary.format_value` ("n/a" for NaN or missing).
    The pose-quality mark of a low-confidence reading is not included (``Rep.metric_quality``)."""
    unmeasured = rep.unmeasured_mark(name)  # "not measurable: <why>", never a bare "n/a"
    if unmeasured:
        return unmeasured
    reading = next((m for m in metric_readings(analysis, rep.number) if m.metric == name), None)
    return reading.text if reading is not None else format_value(rep.metrics.get(name), unit_of(name))


def series_mark(analysis: Analysis, series: str, sample: int) -> str:
    """The pose-quality mark of body angle ``series`` at ``sample`` ("low confidence: left knee
    jittery"; "" when fine or unknown): what the curves grey, in the words the readings use."""
    body, q = analysis.body, analysis.pose_quality
    joints = SERIES_JOINTS.get(series)
    if body is None or q is None or joints is None or not 0 <= sample < q.confidence.shape[0]:
        return ""
    return joints_quality(q, body.side, joints, sample).mark


def lockout_reached(analysis: Analysis, rep: Rep) -> bool | None:
    """Whether ``rep`` locked out, by the one definition: the ``incomplete_lockout`` finding when the
    rule ran (with whatever limit it ran with), else the ``lockout_reached`` metric (same default
    limit); None when neither could tell."""
    for f in analysis.findings:
        if f.rep == rep.number and f.rule_id == "incomplete_lockout" and f.status in (OK, FAULT):
            return f.status == OK
    value = rep.metrics.get("lockout_reached")
    return None if value is None or math.isnan(value) else value >= 0.5


def _lockout_hip(rep: Rep) -> str:
    """The hip metric a pull's lockout is judged by: held at lockout (a complete rep), else the
    pull's largest (a pull that stopped short)."""
    return "hip_angle_lockout_deg" if rep.complete else "hip_angle_top_deg"


def lockout_hip_reading(analysis: Analysis, rep: Rep) -> MetricReading | None:
    """The reading of the hip metric ``rep``'s lockout is judged by (its value, frame and text, as
    every view shows it); None when it was not read."""
    hip = _lockout_hip(rep)
    return next((m for m in metric_readings(analysis, rep.number) if m.metric == hip), None)


def lockout_text(analysis: Analysis, rep: Rep) -> str | None:
    """ "yes" / "no" for :func:`lockout_reached`, with the hip reading's pose-quality mark when it
    is doubted: "no (low confidence: left hip reads bent while the torso reaches
    vertical)" -- the rep still counts (its torso reached vertical). None when it cannot tell."""
    reached = lockout_reached(analysis, rep)
    if reached is None:
        return None
    q = rep.metric_quality.get(_lockout_hip(rep))
    mark = f" ({q.mark})" if q is not None and q.mark and not reached else ""
    return ("yes" if reached else "no") + mark
