"""Targeted segmentation pass: the back profile on the few frames that matter.

Person masks cost about 30-40 % more pose time per frame, so the main pose pass runs without
them. Once the reps and key moments are known, this pass measures only the samples
:func:`~formcheck_core.biomech.back_series.back_samples` picks (set-up to knee pass of each rep and
partial pull) through the refinement pass's sweep
(:func:`~formcheck_core.pose.refine.run_native_frames` with masks: the model opens in a background thread while the first frame decodes from its keyframe,
frames decode ahead of the model, VIDEO mode in time order) and reads
:func:`~formcheck_core.biomech.back_profile.back_profile` from each mask, with the shoulder, hip
and knee of the same call (midpoint of left and right). Only the
numbers and the outline points are kept, in the cache (``back/<key>.npz``, one row per source
frame of one continuous run: see :func:`back_series`); masks are never stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..biomech.back_profile import FRACTIONS, back_profile
from ..biomech.back_series import BackSeries, back_samples
from ..biomech.body import BodySeries, Rep
from ..video import VideoInfo
from .backend import PoseResult
from .landmarks import LANDMARK
from .refine import run_native_frames

#: Bump when :func:`back_profile` or this pass changes what it stores or which frames it measures
#: (invalidates cached rows).
BACK_VERSION = 4
_COLUMNS = ("back_flexion_rel", "back_angle_deg", "mask_confidence")


def back_cache_key(video_sha256: str, model_id: str) -> str:
    """Hex key of a clip's cached back-profile rows."""
    parts = json.dumps([BACK_VERSION, list(FRACTIONS), video_sha256, model_id])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def _midpoint(xyzv: np.ndarray, joint: str, w: int, h: int) -> np.ndarray:
    pts = xyzv[[LANDMARK[f"left_{joint}"], LANDMARK[f"right_{joint}"]], :2]
    return pts.mean(axis=0) * (w, h)


def measure_frames(
    path: str | Path,
    frames: Sequence[tuple[int, float]],
    model_path: str | Path,
    facing_sign: int | None,
    source_size: tuple[int, int],
) -> dict[str, np.ndarray]:
    """Back-profile rows for ``frames`` ((source index, time s) in time order): a table of arrays.

    Frames with no person or no readable outline get NaN numbers. ``source_size`` (width, height)
    scales the outline from the model image back to source pixels.
    """
    k = len(FRACTIONS)
    out = {
        "frame_index": np.array([f for f, _ in frames], dtype=np.int64),
        **{c: np.full(len(frames), np.nan) for c in _COLUMNS},
        "edge_xy_px": np.full((len(frames), k, 2), np.nan),
    }
    row_of = {index: row for row, (index, _) in enumerate(frames)}

    def on_frame(index: int, rgb: np.ndarray, person: PoseResult | None) -> None:
        if person is None or person.mask is None:
            return
        mask = person.mask
        h, w = mask.shape
        p = back_profile(
            mask,
            _midpoint(person.image_xyzv, "shoulder", w, h),
            _midpoint(person.image_xyzv, "hip", w, h),
            _midpoint(person.image_xyzv, "knee", w, h),
            facing_sign=facing_sign,
        )
        row = row_of[index]
        out["back_flexion_rel"][row] = p.back_flexion_rel
        out["back_angle_deg"][row] = p.back_angle_deg
        out["mask_confidence"][row] = p.mask_confidence
        out["edge_xy_px"][row] = p.edge_xy_px * (source_size[0] / w, source_size[1] / h)

    # The refinement pass's sweep: the model opens in a background thread while the first frame
    # decodes (from its keyframe), frames decode ahead of the model, VIDEO mode in time order.
    run_native_frames(path, frames, model_path, source_size, on_frame=on_frame, segmentation=True)
    return out


def back_series(
    info: VideoInfo,
    body: BodySeries,
    reps: Sequence[Rep],
    model_path: str | Path,
    *,
    model_id: str,
    video_sha256: str,
    cache: bool = True,
) -> BackSeries:
    """The back profile on the samples :func:`back_samples` picks from ``reps`` (set-up..knee pass).

    The cache holds one continuous run over exactly the frames needed. The landmarker tracks from
    frame to frame (VIDEO mode), so a frame's numbers depend on the frames measured before it:
    when the frames needed differ from the cached run's (other reps, another sampling rate), all
    of them are measured afresh and replace it, so a reading never depends on the cache's history.
    """
    from ..cache import load_table, save_table

    samples = back_samples(tuple(reps))
    frame_of = {s: int(body.frame_index[s]) for s in samples}
    key = back_cache_key(video_sha256, model_id)
    table = load_table("back", key) if cache else None
    needed = sorted({(frame_of[s], float(body.time_s[s])) for s in samples})
    if table is None or sorted(set(table["frame_index"].tolist())) != [f for f, _ in needed]:
        table = measure_frames(
            info.path, needed, model_path, body.facing_sign, (info.width_px, info.height_px)
        )
        if cache and needed:
            save_table("back", key, table)
    assert table is not None or not samples
    rows = {} if table is None else {int(f): i for i, f in enumerate(table["frame_index"])}
    pick = np.array([rows[frame_of[s]] for s in samples], dtype=np.int64)
    k = len(FRACTIONS)

    def col(name: str, shape: tuple = ()) -> np.ndarray:
        return table[name][pick] if table is not None and pick.size else np.zeros((0, *shape))

    return BackSeries(
        sample=np.asarray(samples, dtype=np.int64),
        frame_index=np.asarray([frame_of[s] for s in samples], dtype=np.int64),
        back_flexion_rel=col("back_flexion_rel"),
        back_angle_deg=col("back_angle_deg"),
        mask_confidence=col("mask_confidence"),
        edge_xy_px=col("edge_xy_px", (k, 2)),
        fractions=np.asarray(FRACTIONS),
    )
