"""Pose quality next to the numbers: how visible the joints behind each metric were.

:data:`METRIC_JOINTS` names the near-side joints each built-in metric is computed from;
:func:`metric_visibility` reads the pose model's visibility (0-1, the likelihood the landmark is
in view and not occluded) of those joints at the sample where the metric was measured
(``Rep.metric_samples``) and keeps the smallest. Below :data:`LOW_VISIBILITY` the value rests on
a joint the model could not see (legs behind the plates, an arm behind the body) and is marked low
confidence. Metrics without a sample (durations, NaN values, plugin metrics) get no entry.
"""

from __future__ import annotations

import numpy as np

from ..pose.landmarks import LANDMARK
from ..pose.series import PoseSeries
from .body import Rep

_HIP = ("shoulder", "hip", "knee")
_KNEE = ("hip", "knee", "ankle")
_TORSO = ("shoulder", "hip")
_BAR = ("wrist",)

#: Built-in metric -> the near-side joints it is computed from.
METRIC_JOINTS: dict[str, tuple[str, ...]] = {
    "hip_angle_setup_deg": _HIP,
    "hip_angle_liftoff_deg": _HIP,
    "hip_angle_lockout_deg": _HIP,
    "knee_angle_bottom_deg": _KNEE,
    "knee_angle_lockout_deg": _KNEE,
    "torso_lean_liftoff_deg": _TORSO,
    "torso_lean_lockout_deg": _TORSO,
    "torso_lean_gain_deg": _TORSO,
    "hip_rise_lead_rel": _TORSO,
    "max_bar_drift_px": _BAR,
    "max_bar_drift_rel": _BAR,
    "max_bar_drift_cm": _BAR,
    "min_elbow_angle_pull_deg": ("shoulder", "elbow", "wrist"),
    "heel_rise_rel": ("heel", "foot_index"),
    "squat_index_setup_deg": ("shoulder",) + _KNEE,
}

#: Smallest joint visibility (0-1) below which a metric is marked low confidence.
LOW_VISIBILITY = 0.5


def metric_visibility(pose: PoseSeries, side: str, rep: Rep) -> dict[str, float]:
    """Per measured metric of ``rep``: the smallest visibility of its joints (``side`` = the near
    side, "left"/"right") at the metric's sample; NaN visibility counts as 0 (not detected)."""
    out: dict[str, float] = {}
    for name, sample in rep.metric_samples.items():
        joints = METRIC_JOINTS.get(name)
        if joints is None or not 0 <= sample < pose.visibility.shape[0]:
            continue
        vis = [pose.visibility[sample, LANDMARK[f"{side}_{j}"]] for j in joints]
        out[name] = float(np.min(np.nan_to_num(np.asarray(vis, float), nan=0.0)))
    return out


def low_confidence(rep: Rep, name: str) -> bool:
    """True when ``name`` of ``rep`` was read from a joint the pose model could barely see."""
    v = rep.metric_visibility.get(name)
    return v is not None and v < LOW_VISIBILITY
