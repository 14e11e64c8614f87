"""Value types of the biomechanics stage: smoothed body series, view estimate, reps and moments.

Producers: :mod:`.series` (filtering), :mod:`.kinematics` (angles, bar path), :mod:`.view`,
:mod:`.moments` (key moments, reps), :mod:`.metrics` (per-rep numbers). Consumers read these
frozen values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..vocabulary import MOMENT_NAMES, ViewName

__all__ = ["MOMENT_NAMES", "BodySeries", "MetricQuality", "Moment", "Rep", "ViewEstimate"]


@dataclass(frozen=True, eq=False)
class BodySeries:
    """Per-sample biomechanical series of one lifter (T samples, aligned with the PoseSeries).

    ``smoothed`` and ``raw`` map a series name to a (T,) float array; the name carries the unit:
    ``hip_angle_deg`` (shoulder-hip-knee, 180 = straight), ``knee_angle_deg`` (hip-knee-ankle),
    ``torso_lean_deg`` (hip->shoulder from vertical, 0 = upright, positive = leaning toward the
    facing direction), ``elbow_angle_deg`` (shoulder-elbow-wrist), ``bar_x_px`` / ``bar_y_px``
    (wrist midpoint of the visible side, image pixels), ``hip_y_px``, ``shoulder_y_px``,
    ``heel_y_px``, ``toe_y_px``. ``raw`` holds the same series computed from the unsmoothed,
    unfilled keypoints. NaN marks samples where the keypoints were missing or too unreliable and
    the gap was too long to fill.
    """

    time_s: np.ndarray
    frame_index: np.ndarray
    smoothed: Mapping[str, np.ndarray]
    raw: Mapping[str, np.ndarray]
    #: (T, 33, 2) gap-filled, smoothed image keypoints in pixels (for drawing).
    keypoints_px: np.ndarray
    #: Side of the body facing the camera: "left" or "right".
    side: str
    #: +1 if the lifter faces image-right, -1 if image-left (sign convention for lean and drift).
    facing_sign: int
    #: Length scale of the lifter in pixels: median (shoulder-hip + hip-knee + knee-ankle) on the
    #: visible side. Drift in "body lengths" divides by this.
    body_length_px: float
    #: Description of the filter applied (for docs, reports and reproducibility).
    filter_note: str


@dataclass(frozen=True)
class ViewEstimate:
    """Camera view relative to the lifter: "side", "front" or "oblique", with a 0-1 confidence."""

    view: ViewName
    confidence: float
    side: str
    #: Median shoulder width / torso length in the image (small = side view).
    shoulder_ratio: float
    #: Human-readable caveats, e.g. "front view: bar drift and torso lean are unreliable".
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Moment:
    """One key moment: its name, sample index into the series, source frame index and time.

    ``sample`` / ``frame_index`` / ``time_s`` are the analysed sample the moment is read at (what
    metrics, stills and the explorer use). ``refined_time_s`` / ``refined_frame_index`` (any
    moment) estimate the event between samples: the threshold crossing interpolated linearly,
    mapped to the nearest source frame (``refined_by = "interpolated"``), or, for lift-off and
    lockout, placed on measured source frames by the optional native-rate pass (``"native
    frames"``, see :mod:`formcheck_core.pose.refine`); None when not estimated.
    """

    name: str
    sample: int
    frame_index: int
    time_s: float
    refined_time_s: float | None = None
    refined_frame_index: int | None = None
    #: How the refined estimate was made: "interpolated" (between samples) or "native frames"
    #: (:mod:`formcheck_core.pose.refine` measured the source frames around it); None = none.
    refined_by: str | None = None


#: How every view begins the mark of a metric that could not be measured ("not measurable: <why>").
NOT_MEASURABLE_PREFIX = "not measurable: "


@dataclass(frozen=True)
class MetricQuality:
    """How far one metric reading can be trusted (see :mod:`formcheck_core.biomech.quality`).

    ``confidence`` in [0, 1]: the smallest pose confidence of the joints the metric was computed
    from, at its sample and the samples either side; ``low`` below
    :data:`~formcheck_core.biomech.quality.LOW_CONFIDENCE`. ``joint`` ("left knee") is the joint
    that limits it and ``cause`` why ("hidden", "jittery", "outside the image", "not visible";
    "" when nothing limits it). ``visibility`` is that joint's pose-model visibility (0-1) at the
    sample. ``measurable`` is False when the joint was not seen at the sample at all (the value
    there is interpolated across a gap): the metric is then "not measurable".
    """

    confidence: float
    joint: str = ""
    cause: str = ""
    visibility: float = 1.0
    measurable: bool = True
    low: bool = False
    #: The one text every view shows (derived): "" (fine), "low confidence: left knee hidden" or
    #: "not measurable: left knee not visible".
    mark: str = field(init=False, default="")

    def __post_init__(self) -> None:
        what = f"{self.joint} {self.cause}".strip()
        if not self.measurable:
            mark = f"{NOT_MEASURABLE_PREFIX}{what}"
        elif self.low:
            mark = f"low confidence: {what}"
        else:
            mark = ""
        object.__setattr__(self, "mark", mark)


@dataclass(frozen=True)
class Rep:
    """One repetition: 1-based ``number``, sample range [start, end], key moments and metrics.

    ``metrics`` maps a metric name (unit in the name, see :data:`formcheck_core.biomech.metrics.METRICS`)
    to a float (NaN = not measurable). ``complete`` is False for a *partial pull*: one the clip cuts
    off, that did not start from the floor (from the hang or blocks), that cannot be measured (the
    lifter lost mid-pull) or that never reached lockout (aborted); ``partial_reason`` then says
    which, in words ("" for a complete rep). Only complete reps are counted as reps.

    Contract (see :mod:`formcheck_core.biomech.moments`): every moment lies in [``start_sample``,
    ``end_sample``]; moments present are strictly ordered setup < liftoff < knee_pass < lockout (no
    two names on one sample); a moment that could not be placed is absent and
    ``missing_moments`` maps its name to the reason. ``metric_samples`` maps a metric name to the sample index (into the body series) at which its
    value was measured, e.g. where the smallest elbow angle of the pull occurred; metrics that are
    not measured at one sample (durations, NaN values, plugin metrics) are absent.
    """

    number: int
    start_sample: int
    end_sample: int
    moments: Mapping[str, Moment]
    metrics: Mapping[str, float] = field(default_factory=dict)
    complete: bool = True
    metric_samples: Mapping[str, int] = field(default_factory=dict)
    partial_reason: str = ""
    missing_moments: Mapping[str, str] = field(default_factory=dict)
    #: Per measured metric with known joints: how far its reading can be trusted (pose confidence of
    #: the joints it was computed from, at its sample; see :mod:`formcheck_core.biomech.quality`).
    metric_quality: Mapping[str, MetricQuality] = field(default_factory=dict)
    #: Per metric that could not be read at all (NaN, no sample): why, in words, as its measure
    #: function said (``Unmeasured``: "front view: the bar's drift is along the camera axis").
    unmeasured: Mapping[str, str] = field(default_factory=dict)
    #: The sample holding the set position's level: the lowest hip angle the hips hold for 0.2 s
    #: before lift-off, on the hinge series the set-up moment is placed from (one decision,
    #: :func:`formcheck_core.biomech.rep_window.set_position`); the rep's span starts no later and
    #: ``hip_angle_setup_deg`` is read there. None without a set-up moment.
    set_position_sample: int | None = None

    def unmeasured_mark(self, name: str) -> str:
        """Why metric ``name`` is not measurable, as every view says it ("" when it was measured):
        its reading's mark when a joint it rests on was not seen at its sample ("not measurable:
        left knee not visible"), else the reason its measure function gave ("not measurable: front
        view: ...")."""
        return not_measurable_mark(self.metric_quality.get(name), self.unmeasured.get(name, ""))

    def unmeasured_reasons(self) -> dict[str, str]:
        """Why, per metric without a value (NaN or absent) that has a reason, in the words of
        :meth:`unmeasured_mark` without its "not measurable: " (metrics in this rep's order)."""
        names = dict.fromkeys([*self.metrics, *self.unmeasured, *self.metric_quality])
        marks = {n: self.unmeasured_mark(n) for n in names if not np.isfinite(self.metrics.get(n, np.nan))}
        return {n: m.removeprefix(NOT_MEASURABLE_PREFIX) for n, m in marks.items() if m}


def not_measurable_mark(quality: MetricQuality | None, reason: str) -> str:
    """The one "not measurable: <why>" text of a metric ("" when it was measured): ``quality``'s
    mark when a joint it rests on was not seen at its sample, else "not measurable: ``reason``"
    (the reason its measure function gave, ``Rep.unmeasured``), else ""."""
    if quality is not None and not quality.measurable:
        return quality.mark
    return f"{NOT_MEASURABLE_PREFIX}{reason}" if reason else ""
