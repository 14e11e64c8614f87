"""Camera view relative to the lifter (side / front / oblique) and the body side facing the camera.

The view comes from MediaPipe's 3D world landmarks: the yaw of the shoulder line and of the hip
line, i.e. the angle between the left-right axis of the body and the image plane (0 deg = the
lifter faces or turns their back to the camera, 90 deg = seen from the side). The image ratio of
shoulder width to torso length (small in a side view) is reported alongside and lowers the
confidence when it disagrees. The side facing the camera is the one with the more visible limbs.
"""

from __future__ import annotations

import numpy as np

from ..pose.landmarks import LANDMARK
from ..pose.series import PoseSeries
from ..vocabulary import ViewName
from .body import ViewEstimate
from .kinematics import MIN_VISIBILITY, visible_side

#: Body yaw (deg) at or above which the view is "side", at or below which it is "front".
SIDE_MIN_YAW_DEG = 62.0
FRONT_MAX_YAW_DEG = 25.0
#: Image shoulder-width / torso-length ratios typical of a side and a front view.
SIDE_MAX_RATIO = 0.3
FRONT_MIN_RATIO = 0.5

#: Caveats per view: which metrics the view makes unreliable.
VIEW_NOTES: dict[str, tuple[str, ...]] = {
    "front": (
        (
            "Front view: bar drift toward or away from the body cannot be seen (it is along the camera "
            "axis) and is not reported; hip, knee and torso angles come from the pose model's 3D "
            "estimate and are approximate, and whether the lockout was complete is not judged. "
            "Film from the side for these."
        ),
    ),
    "oblique": (
        (
            "Oblique view: angles come from the pose model's 3D estimate and bar drift is "
            "foreshortened; treat torso lean, bar drift and hip-rise numbers as approximate, and "
            "whether the lockout was complete is not judged. Film from the side for precise numbers."
        ),
    ),
    "side": (),
}


def _yaw_deg(world: np.ndarray, left: int, right: int) -> np.ndarray:
    """(T,) yaw of the left->right landmark axis out of the image plane, 0..90 degrees."""
    d = world[:, left] - world[:, right]
    return np.degrees(np.arctan2(np.abs(d[:, 2]), np.abs(d[:, 0])))


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def shoulder_ratio(pose: PoseSeries) -> float:
    """Median image shoulder width / torso length (mid-shoulder to mid-hip); small = side view."""
    xy = np.asarray(pose.image_xy_px, float)
    ls, rs, lh, rh = (
        xy[:, LANDMARK[n]] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    )
    width = np.linalg.norm(ls - rs, axis=1)
    torso = np.linalg.norm(0.5 * (ls + rs) - 0.5 * (lh + rh), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _median(width / torso)


def body_yaw_deg(pose: PoseSeries) -> float:
    """Median yaw (deg) of the shoulder and hip lines from the world landmarks (NaN if no pose)."""
    w = np.asarray(pose.world_xyz_m, float)
    if w.shape[0] == 0:
        return float("nan")
    yaw = 0.5 * (
        _yaw_deg(w, LANDMARK["left_shoulder"], LANDMARK["right_shoulder"])
        + _yaw_deg(w, LANDMARK["left_hip"], LANDMARK["right_hip"])
    )
    return _median(yaw)


def classify_view(yaw_deg: float, ratio: float) -> tuple[ViewName, float]:
    """(view, confidence 0-1) from the body yaw and the image shoulder ratio."""
    if not np.isfinite(yaw_deg):
        return "side", 0.0
    view: ViewName
    if yaw_deg >= SIDE_MIN_YAW_DEG:
        view, margin = "side", yaw_deg - SIDE_MIN_YAW_DEG
        agrees = not np.isfinite(ratio) or ratio <= SIDE_MAX_RATIO
    elif yaw_deg <= FRONT_MAX_YAW_DEG:
        view, margin = "front", FRONT_MAX_YAW_DEG - yaw_deg
        agrees = not np.isfinite(ratio) or ratio >= FRONT_MIN_RATIO
    else:
        view = "oblique"
        margin = min(yaw_deg - FRONT_MAX_YAW_DEG, SIDE_MIN_YAW_DEG - yaw_deg)
        agrees = not np.isfinite(ratio) or SIDE_MAX_RATIO * 0.7 <= ratio <= FRONT_MIN_RATIO * 1.6
    confidence = 0.5 + 0.5 * min(1.0, margin / 15.0)
    if not agrees:
        confidence *= 0.7
    return view, round(float(confidence), 2)


def estimate_view(pose: PoseSeries) -> ViewEstimate:
    """Estimate the camera view and the near body side of the lifter in ``pose``.

    Confidence is scaled by the share of samples with a pose. ``notes`` say which metrics the view
    makes unreliable, and warn when the near side is ambiguous.
    """
    side = visible_side(pose)
    ratio = shoulder_ratio(pose)
    view, confidence = classify_view(body_yaw_deg(pose), ratio)
    n = max(pose.n_samples, 1)
    confidence = round(confidence * float(pose.detected.sum()) / n, 2)
    notes = list(VIEW_NOTES[view])
    vis = np.nan_to_num(np.asarray(pose.visibility, float), nan=0.0)
    if view == "side" and vis.size:
        limbs = ("shoulder", "hip", "knee", "ankle")
        near = float(np.mean([vis[:, LANDMARK[f"{side}_{j}"]].mean() for j in limbs]))
        if near < MIN_VISIBILITY:
            notes.append(
                "The lifter's body is poorly visible (occluded or out of frame): angles may be "
                "missing or unreliable."
            )
    return ViewEstimate(view=view, confidence=confidence, side=side, shoulder_ratio=ratio, notes=tuple(notes))
