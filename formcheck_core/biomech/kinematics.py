"""Joint angles, torso lean, bar path and body length from a pose series.

Pure functions over numpy arrays (NaN in -> NaN out) plus :func:`compute_body_series`, which
turns a :class:`~formcheck_core.pose.series.PoseSeries` into a :class:`~formcheck_core.biomech.body.BodySeries`.
Image coordinates are pixels of the upright frame, x right and y down; angles are in degrees.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..pose.landmarks import LANDMARK, side_landmark
from ..pose.series import PoseSeries
from .body import BodySeries
from .series import DEFAULT_CUTOFF_HZ, DEFAULT_MAX_GAP_S, filter_note, sample_rate_hz, shot_bounds, smooth

#: Landmarks whose visibility is below this count as missing.
MIN_VISIBILITY = 0.5

#: Joints used per side, by name.
_JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")


def joint_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle a-b-c at ``b`` in degrees (0..180; 180 = straight), over (..., D) point arrays.

    NaN where any point is NaN or a segment has zero length.
    """
    u = np.asarray(a, float) - np.asarray(b, float)
    v = np.asarray(c, float) - np.asarray(b, float)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    dot = np.sum(u * v, axis=-1)
    ok = (np.linalg.norm(u, axis=-1) > 0) & (np.linalg.norm(v, axis=-1) > 0)
    return np.where(ok, np.degrees(np.arctan2(cross, dot)), np.nan)


def lean_from_vertical_deg(lower: np.ndarray, upper: np.ndarray, facing_sign: int = 1) -> np.ndarray:
    """Signed angle of the image segment lower->upper from vertical, in degrees.

    ``lower``/``upper``: (..., 2) image points (y down). 0 = upper point straight above, +90 =
    horizontal toward the facing direction (``facing_sign`` +1 image-right, -1 image-left),
    negative = leaning away from it (e.g. leaning back at lockout).
    """
    d = np.asarray(upper, float) - np.asarray(lower, float)
    return np.degrees(np.arctan2(facing_sign * d[..., 0], -d[..., 1]))


def torso_lean_deg(hip: np.ndarray, shoulder: np.ndarray, facing_sign: int = 1) -> np.ndarray:
    """Torso (hip->shoulder) lean from vertical, degrees; see :func:`lean_from_vertical_deg`."""
    return lean_from_vertical_deg(hip, shoulder, facing_sign)


def world_lean_deg(
    hip_mid: np.ndarray, shoulder_mid: np.ndarray, left_hip: np.ndarray, right_hip: np.ndarray
) -> np.ndarray:
    """Signed torso lean from vertical in 3D world coordinates (x right, y down, z depth), degrees.

    (..., 3) inputs. Forward is ``up x (right_hip - left_hip)``, horizontal; positive = shoulders
    ahead of the hips, negative = leaning back. Independent of the camera view, but only as good as
    the pose model's depth estimate.
    """
    d = np.asarray(shoulder_mid, float) - np.asarray(hip_mid, float)
    r = np.asarray(right_hip, float) - np.asarray(left_hip, float)
    up = np.array([0.0, -1.0, 0.0])
    fwd = np.cross(np.broadcast_to(up, r.shape), r)
    fwd[..., 1] = 0.0
    norm = np.linalg.norm(fwd, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fwd = np.where(norm > 0, fwd / norm, np.nan)
    return np.degrees(np.arctan2(np.sum(d * fwd, axis=-1), d @ up))


def segment_length(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between (..., D) point arrays (NaN propagates)."""
    return np.linalg.norm(np.asarray(a, float) - np.asarray(b, float), axis=-1)


def body_length_px(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> float:
    """Median over samples of shoulder-hip + hip-knee + knee-ankle, pixels (NaN if never measurable).

    (T, 2) inputs. Segment lengths are summed per sample, so the value barely depends on posture
    in a side view; in a front view the torso foreshortens when bent and the median shrinks.
    """
    total = segment_length(shoulder, hip) + segment_length(hip, knee) + segment_length(knee, ankle)
    total = total[np.isfinite(total)]
    return float(np.median(total)) if total.size else float("nan")


def uses_both_wrists(near_wrist: np.ndarray, far_wrist: np.ndarray, min_both_share: float = 0.8) -> bool:
    """True if the far wrist is known in at least ``min_both_share`` of the samples where the near
    one is (front and oblique views: the bar is between the hands)."""
    near_ok = np.isfinite(np.asarray(near_wrist, float)).all(axis=-1)
    both_ok = near_ok & np.isfinite(np.asarray(far_wrist, float)).all(axis=-1)
    return bool(near_ok.sum() and both_ok.sum() >= min_both_share * near_ok.sum())


def bar_point(near_wrist: np.ndarray, far_wrist: np.ndarray, both: bool | None = None) -> np.ndarray:
    """Bar proxy from the wrists, (T, 2) pixels: the midpoint of both wrists when ``both`` (None =
    decide with :func:`uses_both_wrists`), else the near (visible-side) wrist. NaN where the
    chosen wrist(s) are missing."""
    near = np.asarray(near_wrist, float)
    far = np.asarray(far_wrist, float)
    if both is None:
        both = uses_both_wrists(near, far)
    return 0.5 * (near + far) if both else near.copy()


def facing_sign(keypoints_px: np.ndarray, side: str) -> int:
    """+1 if the lifter faces image-right, -1 if image-left, from (T, 33, 2) keypoints.

    Votes of the toe ahead of the heel and the nose ahead of the ears (medians over samples);
    +1 when nothing is measurable.
    """
    kp = np.asarray(keypoints_px, float)
    votes = []
    toe = kp[:, side_landmark(side, "foot_index"), 0] - kp[:, side_landmark(side, "heel"), 0]
    ears = 0.5 * (kp[:, LANDMARK["left_ear"], 0] + kp[:, LANDMARK["right_ear"], 0])
    nose = kp[:, LANDMARK["nose"], 0] - ears
    for d in (toe, nose):
        d = d[np.isfinite(d)]
        if d.size:
            votes.append(float(np.median(d)))
    total = sum(np.sign(v) for v in votes) or (votes[0] if votes else 1.0)
    return 1 if total >= 0 else -1


def masked_keypoints(pose: PoseSeries, min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
    """(T, 33, 2) image keypoints with landmarks below ``min_visibility`` set to NaN."""
    kp = np.array(pose.image_xy_px, dtype=float, copy=True)
    vis = np.asarray(pose.visibility, float)
    kp[~(vis >= min_visibility)] = np.nan
    return kp


def visible_side(pose: PoseSeries) -> str:
    """ "left" or "right": the side whose limb landmarks have the higher mean visibility."""
    vis = np.nan_to_num(np.asarray(pose.visibility, float), nan=0.0)
    score = {
        s: float(np.mean([vis[:, side_landmark(s, j)].mean() for j in _JOINTS])) if len(vis) else 0.0
        for s in ("left", "right")
    }
    return "left" if score["left"] >= score["right"] else "right"


def _series(
    kp: np.ndarray, world: np.ndarray, side: str, other: str, sign: int, both_wrists: bool
) -> dict[str, np.ndarray]:
    """Named (T,) series from (T, 33, 2) image keypoints and (T, 33, 3) world points of ``side``."""
    j = {name: kp[:, side_landmark(side, name)] for name in _JOINTS}
    w = {name: world[:, side_landmark(side, name)] for name in ("shoulder", "hip", "knee", "ankle")}
    lh, rh = world[:, LANDMARK["left_hip"]], world[:, LANDMARK["right_hip"]]
    mid_sh = 0.5 * (world[:, LANDMARK["left_shoulder"]] + world[:, LANDMARK["right_shoulder"]])
    bar = bar_point(j["wrist"], kp[:, side_landmark(other, "wrist")], both_wrists)
    return {
        "hip_angle_world_deg": joint_angle_deg(w["shoulder"], w["hip"], w["knee"]),
        "knee_angle_world_deg": joint_angle_deg(w["hip"], w["knee"], w["ankle"]),
        "torso_lean_world_deg": world_lean_deg(0.5 * (lh + rh), mid_sh, lh, rh),
        "hip_angle_deg": joint_angle_deg(j["shoulder"], j["hip"], j["knee"]),
        "knee_angle_deg": joint_angle_deg(j["hip"], j["knee"], j["ankle"]),
        "torso_lean_deg": torso_lean_deg(j["hip"], j["shoulder"], sign),
        "elbow_angle_deg": joint_angle_deg(j["shoulder"], j["elbow"], j["wrist"]),
        "bar_x_px": bar[:, 0],
        "bar_y_px": bar[:, 1],
        "hip_y_px": j["hip"][:, 1],
        "shoulder_y_px": j["shoulder"][:, 1],
        "knee_y_px": j["knee"][:, 1],
        "ankle_y_px": j["ankle"][:, 1],
        "heel_y_px": j["heel"][:, 1],
        "toe_y_px": j["foot_index"][:, 1],
    }


def landmark_series(pose: PoseSeries, side: str, facing_sign: int) -> dict[str, np.ndarray]:
    """The named series of :class:`BodySeries` straight from the pose model's landmarks: every
    keypoint as the model placed it (no visibility mask, no gap filling, no smoothing), of ``side``
    with the lean signed by ``facing_sign``. Evidence, not a reading: what the pose model itself
    said at each sample (``scripts/metamorphic.py`` compares it between copies of a clip)."""
    other = "right" if side == "left" else "left"
    kp = np.asarray(pose.image_xy_px, float)
    return _series(kp, np.asarray(pose.world_xyz_m, float), side, other, facing_sign, False)


def _smooth_shots(
    x: np.ndarray, time_s: np.ndarray, cut_samples: Sequence[int], *, cutoff_hz: float, max_gap_s: float
) -> np.ndarray:
    """:func:`smooth` of each shot (samples between scene cuts) on its own."""
    bounds = shot_bounds(len(time_s), cut_samples)
    if len(bounds) == 2:
        return smooth(x, time_s, cutoff_hz=cutoff_hz, max_gap_s=max_gap_s)
    t = np.asarray(time_s, float)
    return np.concatenate(
        [
            smooth(x[a:b], t[a:b], cutoff_hz=cutoff_hz, max_gap_s=max_gap_s)
            for a, b in itertools.pairwise(bounds)
        ]
    )


def compute_body_series(
    pose: PoseSeries,
    side: str | None = None,
    *,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    min_visibility: float = MIN_VISIBILITY,
    cut_samples: Sequence[int] = (),
) -> BodySeries:
    """Smoothed and raw biomechanical series of the lifter in ``pose``.

    ``cut_samples``: samples that start a new shot (scene cuts, :mod:`formcheck_core.scene_cuts`);
    gaps are filled and the filter run within each shot, never across a cut.

    ``side``: "left"/"right" body side facing the camera (None = by visibility). Landmarks with
    visibility below ``min_visibility`` are missing; gaps up to ``max_gap_s`` are interpolated and
    the keypoints low-passed at ``cutoff_hz`` (see :mod:`formcheck_core.biomech.series`) before angles are
    taken. ``raw`` holds the same series from the masked but unfilled, unsmoothed keypoints.
    Besides the names the :class:`BodySeries` docstring lists: ``knee_y_px``, ``ankle_y_px`` and
    the view-independent ``hip_angle_world_deg``, ``knee_angle_world_deg`` (near side) and
    ``torso_lean_world_deg`` (mid-hip to mid-shoulder, see :func:`world_lean_deg`) from the pose
    model's 3D world landmarks (the depth is estimated, so use them when the view is not a side
    view). World landmarks are masked, filled and filtered like the image keypoints.
    """
    if side is None:
        side = visible_side(pose)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    other = "right" if side == "left" else "left"
    raw_kp = masked_keypoints(pose, min_visibility)
    kp = _smooth_shots(raw_kp, pose.time_s, cut_samples, cutoff_hz=cutoff_hz, max_gap_s=max_gap_s)
    raw_world = np.array(pose.world_xyz_m, dtype=float, copy=True)
    raw_world[~(np.asarray(pose.visibility, float) >= min_visibility)] = np.nan
    world = _smooth_shots(raw_world, pose.time_s, cut_samples, cutoff_hz=cutoff_hz, max_gap_s=max_gap_s)
    sign = facing_sign(kp, side)
    # One bar definition for both series, decided on the unfilled keypoints.
    both = uses_both_wrists(raw_kp[:, side_landmark(side, "wrist")], raw_kp[:, side_landmark(other, "wrist")])
    j = {name: kp[:, side_landmark(side, name)] for name in ("shoulder", "hip", "knee", "ankle")}
    return BodySeries(
        time_s=np.asarray(pose.time_s, float),
        frame_index=np.asarray(pose.frame_index),
        smoothed=_series(kp, world, side, other, sign, both),
        raw=_series(raw_kp, raw_world, side, other, sign, both),
        keypoints_px=kp,
        side=side,
        facing_sign=sign,
        body_length_px=body_length_px(j["shoulder"], j["hip"], j["knee"], j["ankle"]),
        filter_note=filter_note(sample_rate_hz(pose.time_s), cutoff_hz, max_gap_s)
        + f" Landmarks with visibility below {min_visibility:g} count as missing.",
    )
