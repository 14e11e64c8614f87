"""Pose quality next to the numbers: how far each landmark, and each metric reading, can be trusted.

Per landmark and sample, :func:`landmark_confidence` combines three things into one confidence in
[0, 1] (the smallest of three scores):

- **visibility** (the pose model's 0-1 likelihood the landmark is in view and not occluded):
  score 0 at or below :data:`VIS_HIDDEN` (the level below which the biomechanics stage drops the
  landmark and interpolates), 1 at or above :data:`VIS_CLEAR`, linear between. MediaPipe still reports
  0.6-0.7 for a knee hidden behind the plates, so visibility alone rarely marks it: on the
  metamorphic copies the jitter does most of the work;
- **jitter**: the distance between the raw landmark and the low-passed one the angles are taken
  from, in body lengths (``BodySeries.body_length_px``), the largest over the sample and the
  samples either side (:data:`JITTER_WINDOW`): score 1 at or below :data:`JITTER_OK_REL`, 0 at or
  above :data:`JITTER_BAD_REL`. A landmark the model guesses moves between frames (and between
  copies of a clip) much more than the body does;
- **in the image**: 0 when the raw landmark lies outside the frame (the model extrapolated it).

NaN handling: a landmark not detected (NaN position or NaN visibility) scores 0; so does one
whose smoothed position is NaN (a gap too long to fill).

A metric's reading (:func:`metric_quality`) takes the smallest confidence over the joints it is
computed from (the near side; :func:`metric_joints`: from its spec's angle series and joints, so
plugin metrics that declare them get a confidence too) at its sample; below
:data:`LOW_CONFIDENCE` it is marked low confidence with the limiting joint and cause ("low
confidence: left knee hidden"). When that joint was not seen at the sample at all (visibility
below :data:`VIS_HIDDEN` or not detected, so the value there is interpolated), the metric is "not
measurable" with that reason. Metrics without a sample or without known joints (durations, the
metrics a spec declares no series or joints for) get no entry.

The four range ends are the ones ``python scripts/evaluate_quality.py`` chooses on the dev clips'
metamorphic copies (readings that move by more than 3° between byte-different copies of a clip
should be the low-confidence ones; chosen again leaving each clip out, for the figures in README
"Pose quality").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..findings import LOW_CONFIDENCE
from ..pose.landmarks import LANDMARK
from ..pose.series import PoseSeries
from .body import BodySeries, MetricQuality, Rep
from .kinematics import MIN_VISIBILITY
from .metric_spec import MetricSpec
from .metrics import METRIC_SPECS
from .moments import UPRIGHT_MAX_LEAN_DEG
from .rep_window import LOCKOUT_HIP_DEG

__all__ = [
    "JITTER_BAD_REL",
    "JITTER_OK_REL",
    "JITTER_WINDOW",
    "LOW_CONFIDENCE",
    "METRIC_JOINTS",
    "SERIES_JOINTS",
    "VIS_CLEAR",
    "VIS_HIDDEN",
    "PoseQuality",
    "joints_by_metric",
    "joints_quality",
    "landmark_confidence",
    "low_confidence",
    "low_confidence_samples",
    "metric_joints",
    "metric_quality",
    "pose_quality",
    "series_confidence",
    "with_lockout_doubt",
    "with_quality",
]

_HIP = ("shoulder", "hip", "knee")
_KNEE = ("hip", "knee", "ankle")
_TORSO = ("shoulder", "hip")
_ELBOW = ("shoulder", "elbow", "wrist")

#: Angle series of the body (keys of ``BodySeries.smoothed``) -> the near-side joints they are
#: computed from (as :func:`formcheck_core.biomech.kinematics.compute_body_series` does).
SERIES_JOINTS: dict[str, tuple[str, ...]] = {
    "hip_angle_deg": _HIP,
    "knee_angle_deg": _KNEE,
    "torso_lean_deg": _TORSO,
    "elbow_angle_deg": _ELBOW,
    "hip_angle_world_deg": _HIP,
    "knee_angle_world_deg": _KNEE,
    "torso_lean_world_deg": _TORSO,
}
#: Joint names of a metric spec that stand for landmarks ("bar" is the wrists).
_JOINT_LANDMARKS = {"bar": ("wrist",)}


def metric_joints(spec: MetricSpec) -> tuple[str, ...]:
    """The near-side joints a metric is computed from: those of its angle ``series`` and its
    ``joints`` (see :class:`~formcheck_core.biomech.metric_spec.MetricSpec`), in that order."""
    names = [j for s in spec.series for j in SERIES_JOINTS.get(s, ())]
    names += [lm for j in spec.joints for lm in _JOINT_LANDMARKS.get(j, (j,))]
    return tuple(dict.fromkeys(n for n in names if f"left_{n}" in LANDMARK))


def joints_by_metric(specs: Iterable[MetricSpec]) -> dict[str, tuple[str, ...]]:
    """Metric name -> :func:`metric_joints` for every spec with known joints."""
    return {s.name: j for s in specs if (j := metric_joints(s))}


#: Built-in metric -> the near-side joints it is computed from (derived from the metric specs;
#: the analysis adds plugin metrics the same way).
METRIC_JOINTS: dict[str, tuple[str, ...]] = joints_by_metric(METRIC_SPECS.values())

#: Visibility (0-1) at or below which a landmark scores 0: the biomechanics stage drops it
#: (:data:`formcheck_core.biomech.kinematics.MIN_VISIBILITY`) and interpolates across the gap.
VIS_HIDDEN = MIN_VISIBILITY
#: Visibility (0-1) at or above which a landmark scores 1.
VIS_CLEAR = 0.8
#: Raw-to-smoothed landmark distance (body lengths) at or below which a landmark scores 1 ...
JITTER_OK_REL = 0.005
#: ... and at or above which it scores 0 (3 % of a body length is ~5 cm on a 1.8 m lifter).
JITTER_BAD_REL = 0.03
#: Samples either side of a sample whose jitter counts for it (1 = 0.1 s each way at 10 fps).
JITTER_WINDOW = 1


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between; NaN stays NaN."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _window_max(x: np.ndarray, half: int) -> np.ndarray:
    """Largest value over [t - half, t + half] along axis 0, skipping NaN neighbours; inf where
    ``x`` itself is NaN."""
    filled = np.where(np.isnan(x), -np.inf, x)
    out = filled.copy()
    for k in range(1, half + 1):
        out[k:] = np.maximum(out[k:], filled[:-k])
        out[:-k] = np.maximum(out[:-k], filled[k:])
    return np.where(np.isnan(x), np.inf, out)


@dataclass(frozen=True, eq=False)
class PoseQuality:
    """Per-sample, per-landmark pose quality: (T, 33) arrays aligned with the pose series.

    ``visibility_score``, ``jitter_score`` in [0, 1]; ``inside`` True where the raw landmark lies
    in the frame; ``confidence`` = the smallest of the three (0 where ``inside`` is False);
    ``jitter_rel`` the raw-to-smoothed distance in body lengths (largest over the window; inf
    where either is missing); ``visibility`` the model's visibility (NaN -> 0).
    """

    confidence: np.ndarray
    visibility: np.ndarray
    visibility_score: np.ndarray
    jitter_rel: np.ndarray
    jitter_score: np.ndarray
    inside: np.ndarray


def landmark_confidence(
    visibility: np.ndarray,
    raw_xy_px: np.ndarray,
    smooth_xy_px: np.ndarray,
    body_length_px: float,
    width_px: int,
    height_px: int,
    *,
    window: int = JITTER_WINDOW,
    visibility_range: tuple[float, float] = (VIS_HIDDEN, VIS_CLEAR),
    jitter_range_rel: tuple[float, float] = (JITTER_OK_REL, JITTER_BAD_REL),
) -> PoseQuality:
    """Pose quality of (T, N) landmarks: ``visibility`` (T, N) 0-1, ``raw_xy_px`` and
    ``smooth_xy_px`` (T, N, 2) image pixels (the detected and the low-passed positions),
    ``body_length_px`` the lifter's length scale, the frame size in pixels. NaN: see the module.
    ``visibility_range`` (score 0 .. 1) and ``jitter_range_rel`` (score 1 .. 0, body lengths)
    default to the module's thresholds (``scripts/evaluate_quality.py`` re-fits them per fold)."""
    vis = np.nan_to_num(np.asarray(visibility, float), nan=0.0)
    raw = np.asarray(raw_xy_px, float)
    dist = np.linalg.norm(raw - np.asarray(smooth_xy_px, float), axis=-1)
    scale = body_length_px if np.isfinite(body_length_px) and body_length_px > 0 else np.nan
    jitter = _window_max(dist / scale, window)
    x, y = raw[..., 0], raw[..., 1]
    inside = (x >= 0) & (x <= width_px) & (y >= 0) & (y <= height_px)  # False where NaN
    vis_score = _ramp(vis, *visibility_range)
    jit_score = 1.0 - _ramp(jitter, *jitter_range_rel)  # inf -> 0
    conf = np.where(inside, np.minimum(vis_score, jit_score), 0.0)
    return PoseQuality(conf, vis, vis_score, jitter, jit_score, inside)


def pose_quality(pose: PoseSeries, body: BodySeries, **options: Any) -> PoseQuality:
    """:func:`landmark_confidence` of every landmark of ``pose`` against ``body``'s smoothed
    keypoints (``options``: its keyword arguments)."""
    return landmark_confidence(
        pose.visibility,
        pose.image_xy_px,
        body.keypoints_px,
        body.body_length_px,
        pose.width_px,
        pose.height_px,
        **options,
    )


def _cause(q: PoseQuality, sample: int, k: int) -> str:
    if q.visibility[sample, k] <= VIS_HIDDEN:
        return "not visible"
    if not q.inside[sample, k]:
        return "outside the image"
    return "hidden" if q.visibility_score[sample, k] <= q.jitter_score[sample, k] else "jittery"


def joints_quality(q: PoseQuality, side: str, joints: Sequence[str], sample: int) -> MetricQuality:
    """Quality of a reading computed from ``side``'s ``joints`` ("knee", ...) at ``sample``."""
    ks = [LANDMARK[f"{side}_{j}"] for j in joints]
    conf = q.confidence[sample, ks]
    i = int(np.argmin(conf))
    k, c = ks[i], float(conf[i])
    low = c < LOW_CONFIDENCE
    cause = _cause(q, sample, k) if low else ""
    return MetricQuality(
        confidence=c,
        joint=f"{side} {joints[i]}".replace("_", " ") if low else "",
        cause=cause,
        visibility=float(q.visibility[sample, k]),
        measurable=cause != "not visible",
        low=low,
    )


def metric_quality(
    q: PoseQuality, side: str, rep: Rep, joints: Mapping[str, Sequence[str]] = METRIC_JOINTS
) -> dict[str, MetricQuality]:
    """Per measured metric of ``rep`` with known ``joints``: its reading's quality (``side`` = near side)."""
    n = q.confidence.shape[0]
    return {
        name: joints_quality(q, side, joints[name], int(sample))
        for name, sample in rep.metric_samples.items()
        if name in joints and 0 <= sample < n
    }


def with_quality(
    q: PoseQuality, side: str, rep: Rep, joints: Mapping[str, Sequence[str]] = METRIC_JOINTS
) -> Rep:
    """``rep`` with its ``metric_quality`` (:func:`metric_quality`), and each metric whose reading
    is not measurable (a joint it rests on not seen at its sample: the value there is only
    interpolated across the gap) set to NaN -- so no view shows a number beside "not measurable"
    and the JSON holds null. Its sample and its quality mark stay: views say "not measurable:
    left shoulder not visible" at that sample, and the rules say why (their ``RuleContext.metric``
    is None either way)."""
    quality = metric_quality(q, side, rep, joints)
    gone = {name: float("nan") for name, mq in quality.items() if not mq.measurable}
    return replace(rep, metric_quality=quality, metrics={**rep.metrics, **gone})


def series_confidence(q: PoseQuality, side: str, joints: Sequence[str]) -> np.ndarray:
    """(T,) smallest confidence of ``side``'s ``joints`` at each sample (for greying curves)."""
    return np.min(q.confidence[:, [LANDMARK[f"{side}_{j}"] for j in joints]], axis=1)


def low_confidence_samples(q: PoseQuality, side: str, series: str) -> np.ndarray | None:
    """(T,) bool: samples where a body angle ``series`` (a key of :data:`SERIES_JOINTS`) rests on
    a low-confidence joint; None for series without known joints."""
    joints = SERIES_JOINTS.get(series)
    return None if joints is None else series_confidence(q, side, joints) < LOW_CONFIDENCE


def low_confidence(rep: Rep, name: str) -> bool:
    """True when metric ``name`` of ``rep`` was read at low confidence (or is not measurable)."""
    mq = rep.metric_quality.get(name)
    return mq is not None and (mq.low or not mq.measurable)


#: The confidence given to a lockout hip reading its own rep contradicts (:func:`with_lockout_doubt`):
#: half the low-confidence bar, so the reading is marked and a fault resting on it is a warning.
DOUBTED_CONFIDENCE = LOW_CONFIDENCE / 2


def with_lockout_doubt(rep: Rep, side: str) -> Rep:
    """``rep`` with its lockout hip reading marked low confidence when the rep contradicts it.

    A complete rep's lockout moment needs the torso within
    :data:`~formcheck_core.biomech.moments.UPRIGHT_MAX_LEAN_DEG` of vertical; a hip angle read
    below :data:`~formcheck_core.biomech.rep_window.LOCKOUT_HIP_DEG` while the torso is upright
    (``torso_lean_lockout_deg`` within that limit) means a lifter standing up with a bent hip, which
    is more likely a pose error (a hip placed behind the body when the plates hide the hands) than a
    short lockout: on the dev clips every such rep is labelled complete. The reading is kept (the
    rep counts, ``lockout_reached`` still follows the one hip limit) but marked, so every view
    says the same "no, at low confidence" instead of contradicting the counted rep. Other reps are
    returned unchanged. Images only: ``lockout_reached`` is NaN (not judged) in 3D views.
    """
    hip = rep.metrics.get("hip_angle_lockout_deg", float("nan"))
    lean = rep.metrics.get("torso_lean_lockout_deg", float("nan"))
    reached = rep.metrics.get("lockout_reached", float("nan"))
    if not (rep.complete and "lockout" in rep.moments and reached == 0.0):
        return rep
    if not (
        np.isfinite(hip) and np.isfinite(lean) and hip < LOCKOUT_HIP_DEG and abs(lean) <= UPRIGHT_MAX_LEAN_DEG
    ):
        return rep
    old = rep.metric_quality.get("hip_angle_lockout_deg")
    cause = "reads bent while the torso reaches vertical"
    if (
        old is not None and old.low and old.joint
    ):  # keep the pose mark: "left knee jittery; left hip reads ..."
        joint, cause = old.joint, f"{old.cause}; {side} hip {cause}"
    else:
        joint = f"{side} hip"
    doubt = MetricQuality(
        confidence=min(old.confidence, DOUBTED_CONFIDENCE) if old is not None else DOUBTED_CONFIDENCE,
        joint=joint,
        cause=cause,
        visibility=old.visibility if old is not None else 1.0,
        measurable=True,
        low=True,
    )
    return replace(rep, metric_quality={**rep.metric_quality, "hip_angle_lockout_deg": doubt})
