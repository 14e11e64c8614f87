"""Targeted native-rate pass: the pose model on a few chosen source frames, for frame-accurate moments.

The main pass samples the clip at 10 fps, so a key moment found there lies on a 0.1 s grid.
:func:`refine_moments` places lift-off and lockout (and, on request, knee pass) on a source frame:
for each one it takes the interpolated position the 10 fps pass already estimated
(``Moment.refined_time_s``, a crossing between samples s0 and s0 + 1), decodes at most
:data:`FRAMES_PER_EVENT` source frames strictly between those samples (the ones nearest that
estimate), runs the pose landmarker on them and re-times the event on the measured trajectory:

* lift-off / lockout: the first frame in [s0 .. s0 + 1] where the hinge angle (the one
  :func:`~formcheck_core.biomech.moments.hinge_angle_deg` picked: image in a side view, 3D otherwise)
  reaches the value the 10 fps pass gives the event (raw keypoints, offset-corrected by the
  raw-minus-smoothed difference at s0 and s0 + 1);
* knee pass: the first frame in (s - 1 .. s] with the bar (near-side wrist) above the knee.

The result replaces ``refined_frame_index`` / ``refined_time_s`` of those moments and sets
``refined_by = "native frames"``; ``sample``, ``frame_index`` and ``time_s`` (what metrics and
stills use) are unchanged. A moment whose frames show no person keeps its interpolated estimate.
The setup is not refined (it ends a still stretch; one frame more or less changes nothing read).

Per-frame pose rows (numbers only: source frame index, image keypoints in source pixels, world
points, visibility) are cached in the pose cache (``refine/<key>.npz``), so a second run decodes
nothing.

Extra per-frame outputs (API for other targeted passes, e.g. person masks on the set-up..knee-pass
frames): :func:`run_native_frames` takes ``on_frame(frame_index, rgb, result)``, called once per
requested frame in time order with the model-ready RGB image (uint8, long side at most
:data:`~formcheck_core.pose.feed.MAX_SIDE_PX`) and the chosen person's
:class:`~formcheck_core.pose.backend.PoseResult` (None when nobody was found; ``result.mask`` is
set when ``segmentation=True``). The callback runs only for frames measured in that call (cached
frames are not decoded again); keep only numbers from it, never frames.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..biomech.body import BodySeries, Moment, Rep
from ..biomech.kinematics import MIN_VISIBILITY, joint_angle_deg
from ..video import Frame, FrameReader, VideoInfo
from .backend import PoseResult
from .feed import choose_person, prefetch
from .landmarks import LANDMARK

#: Bump when the stored rows change meaning (invalidates cached rows).
REFINE_VERSION = 1
#: At most this many source frames are measured per refined moment.
FRAMES_PER_EVENT = 2
#: Moments refined by default.
DEFAULT_MOMENTS = ("liftoff", "lockout")

OnFrame = Callable[[int, np.ndarray, PoseResult | None], None]


def refine_cache_key(video_sha256: str, model_id: str) -> str:
    """Hex key of a clip's cached native-frame pose rows."""
    parts = json.dumps([REFINE_VERSION, video_sha256, model_id])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def run_native_frames(
    path: str | Path,
    frames: Sequence[tuple[int, float]],
    model_path: str | Path,
    source_size: tuple[int, int],
    *,
    on_frame: OnFrame | None = None,
    segmentation: bool = False,
) -> dict[str, np.ndarray]:
    """Pose rows for ``frames`` ((source frame index, time s), in time order): a table of arrays
    ``frame_index`` (N,), ``image_xy_px`` (N, 33, 2) in source pixels, ``world_xyz_m`` (N, 33, 3),
    ``visibility`` (N, 33); NaN rows where nobody was found. ``source_size`` = (width, height) of
    the upright source frame. ``on_frame``: see the module docstring."""
    from .mediapipe_backend import MediaPipePose

    n = len(frames)
    out = {
        "frame_index": np.array([f for f, _ in frames], dtype=np.int64),
        "image_xy_px": np.full((n, 33, 2), np.nan),
        "world_xyz_m": np.full((n, 33, 3), np.nan),
        "visibility": np.full((n, 33), np.nan),
    }
    if not n:
        return out
    w, h = source_size
    with FrameReader(path) as reader, MediaPipePose(model_path, segmentation=segmentation) as pose:
        decoded = (Frame(index, time_s, reader.read(index)) for index, time_s in frames)
        for row, frame in enumerate(prefetch(decoded)):  # model-ready RGB, decoded ahead
            people = pose.detect(frame.bgr, frame.time_s)
            person = choose_person(people) if people else None
            if on_frame is not None:
                on_frame(frame.index, frame.bgr, person)
            if person is None:
                continue
            out["image_xy_px"][row] = person.image_xyzv[:, :2] * (w, h)
            out["visibility"][row] = person.image_xyzv[:, 3]
            out["world_xyz_m"][row] = person.world_xyz_m
    return out


def _hinge(xy: np.ndarray, world: np.ndarray, side: str, use_world: bool) -> np.ndarray:
    """(N,) hinge angle from (N, 33, 2) image / (N, 33, 3) world points of ``side``."""
    pts = world if use_world else xy
    idx = [LANDMARK[f"{side}_{j}"] for j in ("shoulder", "hip", "knee")]
    return joint_angle_deg(pts[:, idx[0]], pts[:, idx[1]], pts[:, idx[2]])


def _event_frames(body: BodySeries, m: Moment, name: str) -> tuple[int, int, list[int]] | None:
    """(s0, s1, source frames strictly between them nearest the interpolated estimate)."""
    t = body.time_s
    if name == "knee_pass":
        s1 = m.sample
        s0 = s1 - 1
    else:
        if m.refined_time_s is None:
            return None
        s0 = int(np.clip(np.searchsorted(t, m.refined_time_s, side="right") - 1, 0, t.size - 2))
        s1 = s0 + 1
    if s0 < 0 or s1 >= t.size:
        return None
    f0, f1 = int(body.frame_index[s0]), int(body.frame_index[s1])
    between = list(range(f0 + 1, f1))
    if not between:
        return None
    if name == "knee_pass":
        return s0, s1, between[:FRAMES_PER_EVENT]
    target = float(m.refined_frame_index if m.refined_frame_index is not None else f1)
    near = sorted(between, key=lambda f: (abs(f - target), f))[:FRAMES_PER_EVENT]
    return s0, s1, sorted(near)


def refine_moments(
    info: VideoInfo,
    body: BodySeries,
    reps: Sequence[Rep],
    model_path: str | Path,
    *,
    model_id: str,
    video_sha256: str,
    moments: Sequence[str] = DEFAULT_MOMENTS,
    cache: bool = True,
    on_frame: OnFrame | None = None,
) -> tuple[Rep, ...]:
    """``reps`` with ``moments`` placed on source frames (see the module docstring)."""
    from ..biomech.moments import hinge_angle_deg, ordered_refinements
    from ..cache import load_table, save_table

    h_s = hinge_angle_deg(body)
    use_world = h_s is body.smoothed.get("hip_angle_world_deg")
    h_raw = np.asarray(body.raw["hip_angle_world_deg" if use_world else "hip_angle_deg"], float)
    plans: list[tuple[int, str, int, int, list[int]]] = []
    for k, rep in enumerate(reps):
        for name in moments:
            m = rep.moments.get(name)
            plan = _event_frames(body, m, name) if m is not None else None
            if plan is not None:
                plans.append((k, name, *plan))
    wanted = sorted({f for *_, fs in plans for f in fs})
    key = refine_cache_key(video_sha256, model_id)
    table = load_table("refine", key) if cache else None
    have = set(table["frame_index"].tolist()) if table is not None else set()
    todo = [f for f in wanted if f not in have]
    if todo:
        fps = info.fps if info.fps > 0 else 30.0
        new = run_native_frames(
            info.path,
            [(f, f / fps) for f in todo],
            model_path,
            (info.width_px, info.height_px),
            on_frame=on_frame,
        )
        table = new if table is None else {c: np.concatenate([table[c], new[c]]) for c in new}
        if cache:
            save_table("refine", key, table)
    rows = {} if table is None else {int(f): i for i, f in enumerate(table["frame_index"])}
    side = body.side
    out = [dict(r.moments) for r in reps]
    for k, name, s0, s1, frames in plans:
        got = [f for f in frames if f in rows]
        if table is None or not got:
            continue
        i = np.array([rows[f] for f in got])
        xy, world, vis = table["image_xy_px"][i], table["world_xyz_m"][i], table["visibility"][i]
        m = out[k][name]
        if name == "knee_pass":
            wr, kn = LANDMARK[f"{side}_wrist"], LANDMARK[f"{side}_knee"]
            above = [f for f, r in zip(got, range(len(got)), strict=False) if xy[r, wr, 1] < xy[r, kn, 1]]
            frame = above[0] if above else int(body.frame_index[s1])
        else:
            h_nat = _hinge(xy, world, side, use_world)
            joints = [LANDMARK[f"{side}_{j}"] for j in ("shoulder", "hip", "knee")]
            h_nat[~(np.nan_to_num(vis[:, joints]).min(axis=1) >= MIN_VISIBILITY)] = np.nan
            pos = np.interp(
                float(m.refined_time_s if m.refined_time_s is not None else m.time_s),
                body.time_s,
                np.arange(body.time_s.size, dtype=float),
            )
            target = float(np.interp(pos, [s0, s1], [h_s[s0], h_s[s1]]))
            off0 = h_raw[s0] - h_s[s0] if math.isfinite(h_raw[s0]) else 0.0
            off1 = h_raw[s1] - h_s[s1] if math.isfinite(h_raw[s1]) else 0.0
            f0, f1 = int(body.frame_index[s0]), int(body.frame_index[s1])
            seq = [(f0, h_raw[s0])] + list(zip(got, h_nat, strict=False)) + [(f1, h_raw[s1])]
            rising = h_s[s1] >= h_s[s0]
            frame = f1
            for f, v in seq:
                if not math.isfinite(v):
                    continue
                thr = target + off0 + (off1 - off0) * (f - f0) / max(f1 - f0, 1)
                if (v >= thr) if rising else (v <= thr):
                    frame = f
                    break
        t_frame = float(np.interp(frame, np.asarray(body.frame_index, float), np.asarray(body.time_s, float)))
        out[k][name] = replace(
            m, refined_frame_index=int(frame), refined_time_s=t_frame, refined_by="native frames"
        )
    return tuple(replace(r, moments=ordered_refinements(mo)) for r, mo in zip(reps, out, strict=False))
