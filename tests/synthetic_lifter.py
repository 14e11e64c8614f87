"""A synthetic lifter: a :class:`PoseSeries` built by hand from segment angles with known geometry.

Side view by default: the lifter faces image-right, so their right side is near the camera
(visible) and the left side a few pixels behind it with low visibility (mirrored: faces
image-left, left side near). Segment angles from vertical (degrees):
shin ``phi_s`` (knee ahead of the ankle), thigh ``phi_t`` (hip behind the knee), torso ``lam``
(shoulders ahead of the hips). Then, exactly:

    knee angle = 180 - (phi_t + phi_s),  hip angle = 180 - (lam + phi_t),  torso lean = lam.

The arms hang straight down (elbow 180 deg), so the wrists (bar) are below the shoulders.
"""

from __future__ import annotations

import numpy as np

from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.pose.series import PoseSeries

#: Segment lengths in pixels.
SHIN, THIGH, TORSO, UPPER_ARM, FOREARM = 100.0, 100.0, 120.0, 70.0, 62.0
BODY_LENGTH = SHIN + THIGH + TORSO
ANKLE = np.array([300.0, 450.0])
#: Posture at the bottom and at the top of a deadlift: (phi_s, phi_t, lam).
BOTTOM = (25.0, 60.0, 60.0)  # knee 95 deg, hip 60 deg, lean 60 deg
TOP = (0.0, 0.0, 0.0)  # standing straight


def _unit(deg: np.ndarray, sx: float) -> np.ndarray:
    r = np.radians(deg)
    return np.stack([sx * np.sin(r), -np.cos(r)], axis=-1)


def skeleton(phi_s, phi_t, lam, *, arms: str = "hang") -> dict[str, np.ndarray]:
    """(T, 2) image points of the near-side joints for (T,) segment angles in degrees.

    ``arms``: "hang" (straight down), "rack" (wrists at the shoulders, as in a squat or a front
    rack) or "hips" (hands on the hips, a bodyweight hinge).
    """
    phi_s, phi_t, lam = (np.atleast_1d(np.asarray(a, float)) for a in (phi_s, phi_t, lam))
    ankle = np.broadcast_to(ANKLE, (phi_s.size, 2))
    knee = ankle + SHIN * _unit(phi_s, 1.0)
    hip = knee + THIGH * _unit(phi_t, -1.0)
    shoulder = hip + TORSO * _unit(lam, 1.0)
    if arms == "hang":
        elbow = shoulder + np.array([0.0, UPPER_ARM])
        wrist = elbow + np.array([0.0, FOREARM])
    elif arms == "rack":
        elbow = shoulder + np.array([20.0, 40.0])
        wrist = shoulder + np.array([25.0, -5.0])
    else:
        wrist = hip + np.array([10.0, 0.0])
        elbow = 0.5 * (shoulder + wrist) + np.array([-30.0, 0.0])
    return {
        "ankle": ankle,
        "knee": knee,
        "hip": hip,
        "shoulder": shoulder,
        "elbow": elbow,
        "wrist": wrist,
        "heel": ankle + np.array([-15.0, 10.0]),
        "foot_index": ankle + np.array([45.0, 10.0]),
        "nose": shoulder + np.array([25.0, -45.0]),
        "ear": shoulder + np.array([-5.0, -50.0]),
    }


def pose_from_angles(
    phi_s,
    phi_t,
    lam,
    *,
    fps: float = 10.0,
    arms: str = "hang",
    mirror: bool = False,
    view: str = "side",
    near_visibility: float = 0.95,
    far_visibility: float = 0.3,
    width: int = 640,
    height: int = 480,
    noise_px: float = 0.0,
    seed: int = 0,
) -> PoseSeries:
    """A PoseSeries whose near side follows the given (T,) segment angles, sampled at ``fps``.

    ``view="side"``: the far side sits 4 px behind the near one, and the world landmarks put the
    left-right axis along the depth (yaw 90 deg, near side nearer the camera).
    ``view="front"``: left and right are 80 px apart in x, equally visible, and the world axis is
    along x (yaw 0 deg); the world landmarks keep the true 3D hinge, the image ones are the
    side-view geometry squashed to the vertical axis (a lifter seen from the front hinges toward
    the camera).
    ``mirror`` flips the image horizontally (the lifter faces image-left).
    """
    pts = skeleton(phi_s, phi_t, lam, arms=arms)
    n = pts["hip"].shape[0]
    xy = np.full((n, 33, 2), np.nan)
    world = np.full((n, 33, 3), np.nan)
    vis = np.zeros((n, 33))
    near, far = ("left", "right") if mirror else ("right", "left")
    for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index"):
        p = pts[joint]
        # As with the real pose model, the far shoulder and hip stay visible in a side view;
        # the far limbs do not.
        far_v = near_visibility if joint in ("shoulder", "hip") else far_visibility
        for side, offset, v in ((near, 0.0, near_visibility), (far, 1.0, far_v)):
            i = LANDMARK[f"{side}_{joint}"]
            if view == "side":
                xy[:, i] = p + offset * np.array([-4.0, -2.0])
                world[:, i] = np.column_stack(
                    [p[:, 0] / 400.0, p[:, 1] / 400.0, np.full(n, -0.1 + 0.2 * offset)]
                )
            else:
                x = ANKLE[0] + (-40.0 if side == "left" else 40.0)
                xy[:, i] = np.column_stack([np.full(n, x), p[:, 1]])
                world[:, i] = np.column_stack(
                    [np.full(n, x / 400.0), p[:, 1] / 400.0, (p[:, 0] - ANKLE[0]) / 400.0]
                )
                v = near_visibility
            vis[:, i] = v
    for name, src in (("nose", "nose"), ("left_ear", "ear"), ("right_ear", "ear")):
        xy[:, LANDMARK[name]] = pts[src]
        world[:, LANDMARK[name]] = np.column_stack([pts[src] / 400.0, np.zeros(n)])
        vis[:, LANDMARK[name]] = 0.9
    if noise_px:
        xy = xy + np.random.default_rng(seed).normal(0.0, noise_px, xy.shape)
    if mirror:
        xy[..., 0] = width - xy[..., 0]
        world[..., 0] = -world[..., 0]
    fs = float(fps)
    return PoseSeries(
        frame_index=np.arange(n) * 3,
        time_s=np.arange(n) / fs,
        image_xy_px=xy,
        image_z=np.zeros((n, 33)),
        world_xyz_m=world,
        visibility=vis,
        people_count=np.ones(n, int),
        width_px=width,
        height_px=height,
        source_fps=3 * fs,
        sample_fps=fs,
        model_id="synthetic",
        running_mode="video",
    )


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def deadlift_progress(
    reps: int,
    *,
    fps: float = 10.0,
    setup_s: float = 1.5,
    pull_s: float = 1.0,
    hold_s: float = 1.0,
    lower_s: float = 1.0,
    rest_s: float = 1.0,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """(T,) progress 0 (bottom) .. 1 (top) of ``reps`` floor-to-lockout reps, and the true moments.

    Each rep: ``setup_s`` still at the bottom (``rest_s`` between reps instead), a smooth pull
    over ``pull_s``, a hold at lockout, a smooth lowering. ``start_s`` / ``end_s`` crop the
    timeline (to cut a rep at either end). Moments are times in seconds: ``liftoff`` (the pull
    starts) and ``lockout`` (the pull ends).
    """
    segments, moments, t = [], [], 0.0
    for r in range(reps):
        still = setup_s if r == 0 else rest_s
        segments.append((t, t + still, 0.0, 0.0))
        t += still
        segments.append((t, t + pull_s, 0.0, 1.0))
        moments.append({"liftoff": t, "lockout": t + pull_s})
        t += pull_s
        segments.append((t, t + hold_s, 1.0, 1.0))
        t += hold_s
        segments.append((t, t + lower_s, 1.0, 0.0))
        t += lower_s
    segments.append((t, t + rest_s, 0.0, 0.0))
    t += rest_s
    stop = t if end_s is None else end_s
    times = np.arange(start_s, stop - 1e-9, 1.0 / fps)
    prog = np.zeros_like(times)
    for a, b, p0, p1 in segments:
        sel = (times >= a) & (times < b)
        prog[sel] = p0 + (p1 - p0) * smoothstep((times[sel] - a) / (b - a))
    return prog, [{k: v - start_s for k, v in m.items()} for m in moments]


def angles_from_progress(
    prog: np.ndarray, bottom=BOTTOM, top=TOP
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment angles (phi_s, phi_t, lam) interpolated between the bottom and top postures."""
    return tuple(b + (t - b) * prog for b, t in zip(bottom, top, strict=False))  # type: ignore[return-value]


def deadlift_pose(reps: int = 1, *, fps: float = 10.0, **kwargs) -> tuple[PoseSeries, list[dict]]:
    """A synthetic deadlift set: the pose and the true lift-off / lockout times (seconds)."""
    pose_keys = {"arms", "mirror", "view", "noise_px", "seed", "near_visibility", "far_visibility"}
    pose_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in pose_keys}
    prog, moments = deadlift_progress(reps, fps=fps, **kwargs)
    return pose_from_angles(*angles_from_progress(prog), fps=fps, **pose_kw), moments


def lockout_share(frac: float) -> float:
    """Where lockout lies by its definition in a synthetic pull (0 = lift-off, 1 = the pull ends,
    the ``lockout`` of :func:`deadlift_progress`): the first point where the shoulders reach
    ``frac`` of their rise, from the exact geometry."""
    x = np.linspace(0.0, 1.0, 10001)
    up = -skeleton(*angles_from_progress(smoothstep(x)))["shoulder"][:, 1]
    return float(x[np.argmax(up >= up[0] + frac * (up.max() - up[0]))])
