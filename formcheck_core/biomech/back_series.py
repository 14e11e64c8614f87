"""Back-profile numbers over the samples that matter, and the per-rep back metrics read from them.

:mod:`formcheck_core.pose.back_pass` reads :func:`back_profile` on every sample in the pose pass
and returns a :class:`BackSeries`. :func:`rep_back_metrics` reduces it to one number per rep: the
median over the pull's samples from set-up to knee pass (:func:`pull_samples`) whose mask was
confident enough. No metric reads the back at lockout: none is
calibrated there yet. Pure functions over arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from ..vocabulary import format_limit, format_value, moment_label
from .body import MetricQuality, Rep

#: Per-rep back metrics (name -> description); :data:`formcheck_core.biomech.metrics.METRICS` includes them.
BACK_METRICS: dict[str, str] = {
    "back_flexion_rel": "Rounding of the back from set-up to knee pass (to just after lift-off when no knee "
    "pass was found; pull_samples): the median over those samples of "
    "the largest bulge of the dorsal outline (person segmentation mask) from its chord, in torso lengths, "
    "shown as % of torso length (0 = flat; NaN outside a side view or when the mask was unreliable).",
    "back_angle_deg": "Median angle between the lower and upper halves of the dorsal outline from set-up "
    "to knee pass (positive = rounded, negative = arched).",
    "back_mask_confidence": "Median confidence (0-1) of the mask edge along the back over those samples.",
}
#: The window each per-rep back metric is the median over, in words (``MetricSpec.median_over``:
#: its label says it, "Back flexion, median from set-up to knee pass"; :func:`pull_span_words`
#: says it for one pull, with the variants).
BACK_MEDIAN_OVER = "from set-up to knee pass"
#: Samples whose mask confidence is below this are left out of the per-rep median.
MIN_SAMPLE_CONFIDENCE = 0.5
#: The pull's samples: at least this many before the knee-pass moment are measured even when
#: set-up and lift-off coincide.
MIN_PULL_SAMPLES = 3
#: The segmentation pass measures every this-many-th sample of a pull. 1: every sample. A stride
#: of 2 cut the pass from 21-22 % to 15-17 % of the pose time (``benchmarks/bench_back.py``) but
#: made a pull's value depend on which half was measured (up to 0.024 torso lengths, about the
#: margin between the labels; rounded_back LOCO F1 0.77-1.00 by half) and broke the back angle's
#: metamorphic invariance on 7 more copies, so every sample is measured.
MEASURE_STRIDE = 1
#: Median mask confidence (0-1) of a pull below which its back readings are marked low confidence
#: ("low confidence: back outline unclear (mask confidence 0.55)"): a soft, blurred or baggy
#: outline. The ``rounded_back`` rule's default ``min_mask_confidence`` (it does not judge them); the
#: rule re-marks the readings at its effective limit (:func:`with_mask_mark`).
RELIABLE_MASK_CONFIDENCE = 0.6
#: Fewest samples measured per pull (the per-rep value needs two confident ones).
MIN_MEASURED = 2
#: Why a pull has no back numbers when the segmentation pass did not run on it (``Rep.unmeasured``).
BACK_NOT_MEASURED = "the back outline is read in a side view only, by the back pass"
#: Why a pull the pass ran on has none.
BACK_UNREAD = (
    f"the back outline was not read on {MIN_MEASURED} samples from set-up to knee pass with a clear "
    f"body mask (confidence at least {MIN_SAMPLE_CONFIDENCE:g})"
)


@dataclass(frozen=True, eq=False)
class BackSeries:
    """Back-profile numbers at N analysed samples (row-aligned arrays).

    ``sample`` indexes the body/pose series, ``frame_index`` the source frames. ``edge_xy_px``
    (N, K, 2) is the dorsal outline in source-frame pixels at ``fractions`` of the hip->shoulder
    line (NaN where not found). NaN numbers: the outline could not be read in that frame.
    """

    sample: np.ndarray
    frame_index: np.ndarray
    back_flexion_rel: np.ndarray
    back_angle_deg: np.ndarray
    mask_confidence: np.ndarray
    edge_xy_px: np.ndarray
    fractions: np.ndarray

    #: The row-aligned arrays (one row per analysed sample); ``fractions`` is per outline point.
    ROW_FIELDS: ClassVar[tuple[str, ...]] = (
        "sample",
        "frame_index",
        "back_flexion_rel",
        "back_angle_deg",
        "mask_confidence",
        "edge_xy_px",
    )

    def row(self, sample: int) -> int | None:
        """Row of body-series sample ``sample``, or None if it was not analysed."""
        hit = np.flatnonzero(self.sample == sample)
        return int(hit[0]) if hit.size else None

    def take(self, rows: Sequence[int] | np.ndarray) -> BackSeries:
        """The series at ``rows`` only (every row-aligned array indexed alike)."""
        return replace(self, **{name: getattr(self, name)[rows] for name in self.ROW_FIELDS})


def pull_samples(rep: Rep) -> list[int]:
    """Samples from set-up through knee pass (or lift-off + a few when knee pass is missing).

    A partial pull the clip cuts at its start (no set-up, no lift-off: the bar is already off the
    floor in the first frame) is measured on its earliest samples instead: up to its knee pass, or
    its first :data:`MIN_PULL_SAMPLES` -- the part of the pull nearest the floor that the clip shows
    -- never at its lockout.
    """
    m = {name: mo.sample for name, mo in rep.moments.items()}
    lift = m.get("liftoff")
    start = m.get("setup", lift)
    if start is None:
        if rep.complete:
            return []
        first = rep.start_sample
        last = m.get("knee_pass", first + MIN_PULL_SAMPLES - 1)
        if "lockout" in m:
            last = min(last, m["lockout"] - 1)
        return list(range(first, min(rep.end_sample, last) + 1))
    knee = m.get("knee_pass")
    end = knee if knee is not None else (lift if lift is not None else start) + MIN_PULL_SAMPLES
    start = min(start, end - MIN_PULL_SAMPLES + 1)
    return list(range(max(rep.start_sample, start), min(rep.end_sample, end) + 1))


def _edge_words(sample: int, moments: dict[str, int]) -> str:
    """A window's end in words: the moment at ``sample`` ("knee pass"), else "just before" /
    "just after" the nearest one ("just after lift-off")."""
    exact = [n for n, s in moments.items() if s == sample]
    if exact:
        return moment_label(exact[0])
    name, at = min(moments.items(), key=lambda kv: (abs(kv[1] - sample), kv[1]))
    return f"just {'before' if sample < at else 'after'} {moment_label(name)}"


def pull_span_words(rep: Rep) -> str:
    """The span :func:`pull_samples` reads, in words, from the same moments: "off the floor, from
    setup to knee pass"; without a knee pass (a squat-style or kettlebell start, a pull whose bar
    never passed the knees) "off the floor, from setup to just after lift-off (no knee pass was
    found)"; for a pull the clip cuts at its start "off the floor, from the start of the clip's
    view of the pull to ..."."""
    samples = pull_samples(rep)
    moments = {n: m.sample for n, m in rep.moments.items() if n != "lockout"}
    if not samples:
        return "off the floor"
    if not moments:  # a pull the clip cuts at its start, with no moment before its lockout
        return "off the floor, over the first frames of the pull the clip shows"
    first, last = samples[0], samples[-1]
    start = (
        "the first frame of the pull the clip shows"
        if "setup" not in moments and "liftoff" not in moments and first == rep.start_sample
        else _edge_words(first, moments)
    )
    words = f"off the floor, from {start} to {_edge_words(last, moments)}"
    return words if "knee_pass" in moments else f"{words} (no knee pass was found)"


def measured_samples(rep: Rep, stride: int = MEASURE_STRIDE) -> list[int]:
    """The samples of :func:`pull_samples` the segmentation pass measures: every ``stride``-th,
    counted back from the last (the knee pass), and never fewer than :data:`MIN_MEASURED`
    (all of them when the pull has no more)."""
    samples = pull_samples(rep)
    picked = samples[::-1][::stride][::-1]
    return picked if len(picked) >= MIN_MEASURED else samples


def median_rows(rep: Rep, back: BackSeries | None) -> list[int]:
    """Rows of ``back`` the pull's back metrics are the median over: its :func:`pull_samples` the
    pass measured, with a finite flexion and mask confidence of at least
    :data:`MIN_SAMPLE_CONFIDENCE` (in sample order; [] without ``back``)."""
    if back is None:
        return []
    rows = [r for s in pull_samples(rep) if (r := back.row(s)) is not None]
    return [
        r
        for r in rows
        if np.isfinite(back.back_flexion_rel[r]) and back.mask_confidence[r] >= MIN_SAMPLE_CONFIDENCE
    ]


def median_window(rep: Rep, back: BackSeries | None) -> tuple[int, int] | None:
    """(first, last) body-series sample of the window ``rep``'s back metrics are the median over
    (:func:`median_rows`); None when they were not read (fewer than 2 rows)."""
    rows = median_rows(rep, back)
    if back is None or len(rows) < 2:
        return None
    return int(back.sample[rows[0]]), int(back.sample[rows[-1]])


def rep_back_metrics(rep: Rep, back: BackSeries | None) -> Rep:
    """``rep`` with :data:`BACK_METRICS` filled from ``back`` (NaN when not measurable).

    The pull's value is the median over its measured samples (those of :func:`pull_samples` that
    ``back`` has a row for) with mask confidence of at least
    :data:`MIN_SAMPLE_CONFIDENCE` (:func:`median_rows`); it is placed (``metric_samples``) at the
    sample whose value is nearest that median -- with an even count the median is the mean of the
    two middle values, no sample's own, so every view shows it as the median over its window
    (:func:`median_window`), not as that sample's value. Needs at least 2 confident samples. A pull whose median mask confidence
    is under :data:`RELIABLE_MASK_CONFIDENCE` keeps its numbers, marked low confidence
    (``metric_quality``, :func:`with_mask_mark`; the rounded_back rule re-marks them at its own limit).
    """
    values = dict.fromkeys(BACK_METRICS, math.nan)
    at: dict[str, int] = {}
    if back is not None:
        rows = median_rows(rep, back)
        if len(rows) >= 2:
            for name, arr in (
                ("back_flexion_rel", back.back_flexion_rel),
                ("back_angle_deg", back.back_angle_deg),
                ("back_mask_confidence", back.mask_confidence),
            ):
                vals = np.asarray(arr[rows], float)
                med = float(np.nanmedian(vals))
                values[name] = med
                if name != "back_mask_confidence":
                    at[name] = int(back.sample[rows[int(np.nanargmin(np.abs(vals - med)))]])
    unmeasured = {n: w for n, w in rep.unmeasured.items() if n not in BACK_METRICS}
    unmeasured.update({n: BACK_UNREAD for n, v in values.items() if not np.isfinite(v)})
    rep = replace(
        rep,
        metrics={**rep.metrics, **values},
        metric_samples={**rep.metric_samples, **at},
        unmeasured=unmeasured,
    )
    return with_mask_mark(rep)


#: What a back reading's low-confidence mark names (``MetricQuality.joint``).
BACK_OUTLINE = "back outline"


def mask_cause(mask_confidence: float, min_confidence: float) -> str:
    """ "unclear (mask confidence 0.55, under 0.60)": why the :data:`BACK_OUTLINE` reading is
    doubted, with the digits that tell the value from the limit (:func:`~formcheck_core.vocabulary.format_value`)."""
    shown = format_value(mask_confidence, "", limit=min_confidence)
    return f"unclear (mask confidence {shown}, under {format_limit(min_confidence, '')})"


def with_mask_mark(rep: Rep, min_confidence: float = RELIABLE_MASK_CONFIDENCE) -> Rep:
    """``rep`` with its back readings (those with a sample) marked low confidence when the pull's
    median mask confidence (``back_mask_confidence``) is under ``min_confidence``, and unmarked
    when it is not: "low confidence: back outline unclear (mask confidence 0.55, under 0.60)".

    The rule that judges them calls this with its effective ``min_mask_confidence``
    (``Rule.mark_readings``), so a reading is marked exactly where the rule says it cannot judge
    it, whatever limit it was given; :func:`rep_back_metrics` applies the default. Other marks are
    kept. NaN confidence: no mark."""
    mask = rep.metrics.get("back_mask_confidence", math.nan)
    names = [n for n in BACK_METRICS if n in rep.metric_samples]
    quality = {n: q for n, q in rep.metric_quality.items() if not (n in names and q.joint == BACK_OUTLINE)}
    if mask is not None and np.isfinite(mask) and mask < min_confidence:  # every view shows the same mark
        doubt = MetricQuality(
            confidence=float(mask),
            joint=BACK_OUTLINE,
            cause=mask_cause(float(mask), min_confidence),
            visibility=float(mask),
            low=True,
        )
        quality.update({name: doubt for name in names})
    return replace(rep, metric_quality=quality)
