"""The back profile from the person mask: read in the main pose pass, or in a targeted second pass.

Two ways to the same numbers (:func:`~formcheck_core.biomech.back_profile.back_profile` read from
the person mask of a landmarker call, with the shoulder, hip and knee of the same call: midpoint of
left and right); only the numbers and the outline points are kept, in the cache, never masks:

* **In the main pose pass** (the default when a clip is posed cold): the landmarker runs with
  ``output_segmentation_masks=True`` and :class:`MainPassBack` reads the profile on *every*
  sample as it goes (an :data:`~formcheck_core.pose.feed.OnPerson` callback of
  :func:`~formcheck_core.pose.extract.extract_pose`). The mask comes out of the same model call,
  so the landmarks are those of a pass without masks (bit for bit on the dev clips here) and the
  pose cache is unchanged. The rows are cached as ``back/<main_back_cache_key(pose key)>.npz``.
  The body's facing is known only after the pass, so a sample where the knee cannot tell the back
  side (standing tall) is read both ways and :func:`series_from_main` picks one.
  (``benchmarks/bench_back.py``: cheaper than the targeted pass, which decodes and tracks again.)
* **Targeted** (the fallback when the landmarks are cached but the main-pass rows are not): once
  the reps and key moments are known, measure only the samples
  :func:`~formcheck_core.biomech.back_series.back_samples` picks (set-up to knee pass of each rep
  and partial pull) through the refinement pass's sweep
  (:func:`~formcheck_core.pose.refine.run_native_frames` with masks: the model opens in a
  background thread while the first frame decodes from its keyframe, frames decode ahead of the
  model, VIDEO mode in time order). Cached as ``back/<back_cache_key>.npz``, one row per source
  frame of one continuous run (see :func:`back_series`).

The two differ only through the landmarker's tracking (the targeted pass starts cold at each
run's first frame): per pull, the medians the rules read agree within
``tests/test_back_main_pass.py``'s tolerance.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..biomech.back_profile import FRACTIONS, BackProfile, back_normal, back_profile
from ..biomech.back_series import BackSeries, back_samples, rep_back_metrics
from ..biomech.body import BodySeries, Rep
from ..video import VideoInfo
from .backend import PoseResult
from .landmarks import LANDMARK
from .refine import run_native_frames

#: Bump when :func:`back_profile` or this pass changes what it stores or which frames it measures
#: (invalidates cached rows).
BACK_VERSION = 4
_COLUMNS = ("back_flexion_rel", "back_angle_deg", "mask_confidence")
#: The main-pass table's facing axis: column 0 holds the reading for a lifter facing image-right
#: (``facing_sign`` +1), column 1 for one facing image-left (-1).
FACINGS = (1, -1)


def back_cache_key(video_sha256: str, model_id: str) -> str:
    """Hex key of a clip's cached back-profile rows from the targeted pass."""
    parts = json.dumps([BACK_VERSION, list(FRACTIONS), video_sha256, model_id])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def main_back_cache_key(pose_key: str) -> str:
    """Hex key of the back-profile rows read in the main pose pass whose series is cached under
    ``pose_key`` (:func:`~formcheck_core.cache.pose_cache_key`: clip, model, sampling rate,
    running mode, people)."""
    parts = json.dumps([BACK_VERSION, list(FRACTIONS), "main pass", pose_key])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def _midpoint(xyzv: np.ndarray, joint: str, w: int, h: int) -> np.ndarray:
    pts = xyzv[[LANDMARK[f"left_{joint}"], LANDMARK[f"right_{joint}"]], :2]
    return pts.mean(axis=0) * (w, h)


def _torso_points(person: PoseResult, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shoulder, hip and knee midpoints of ``person`` in pixels of a ``w`` x ``h`` mask."""
    xyzv = person.image_xyzv
    return _midpoint(xyzv, "shoulder", w, h), _midpoint(xyzv, "hip", w, h), _midpoint(xyzv, "knee", w, h)


def _person_profile(person: PoseResult, mask: np.ndarray, facing_sign: int | None) -> BackProfile:
    h, w = mask.shape
    return back_profile(mask, *_torso_points(person, w, h), facing_sign=facing_sign)


def _row_values(p: BackProfile, scale: tuple[float, float]) -> tuple[float, float, float, np.ndarray]:
    """(flexion, angle, mask confidence, outline in source pixels) of one profile."""
    return p.back_flexion_rel, p.back_angle_deg, p.mask_confidence, p.edge_xy_px * scale


class MainPassBack:
    """Back-profile rows read in the main pose pass: pass it as ``on_person`` to
    :func:`~formcheck_core.pose.extract.extract_pose` with a backend that returns masks.

    One row per sample, in the order called. The body's facing is decided only after the pass,
    so where the knee cannot tell the back side (:func:`~formcheck_core.biomech.back_profile.back_normal`
    undecided: standing tall) the profile is read for both facings (:data:`FACINGS`); elsewhere
    the one reading fills both columns. NaN rows where nobody (or no mask) was found.
    """

    def __init__(self, source_size: tuple[int, int]) -> None:
        #: (width, height) of the upright source frame: the outline is stored in its pixels.
        self.source_size = source_size
        self._frames: list[int] = []
        self._values: list[tuple[tuple[float, float, float, np.ndarray], ...]] = []
        self._facing_decides: list[bool] = []

    def __len__(self) -> int:
        return len(self._frames)

    def __call__(self, frame_index: int, person: PoseResult | None) -> None:
        k = len(FRACTIONS)
        nan_row = (math.nan, math.nan, math.nan, np.full((k, 2), np.nan))
        self._frames.append(int(frame_index))
        if person is None or person.mask is None:
            self._values.append((nan_row, nan_row))
            self._facing_decides.append(False)
            return
        mask = person.mask
        h, w = mask.shape
        scale = (self.source_size[0] / w, self.source_size[1] / h)
        if back_normal(*_torso_points(person, w, h)) is not None:  # the knee decides the back side
            row = _row_values(_person_profile(person, mask, None), scale)
            self._values.append((row, row))
            self._facing_decides.append(False)
        else:
            self._values.append(tuple(_row_values(_person_profile(person, mask, f), scale) for f in FACINGS))
            self._facing_decides.append(True)

    def table(self) -> dict[str, np.ndarray]:
        """The rows as a cache table: ``frame_index`` (N,), ``facing_decides`` (N,) bool,
        :data:`_COLUMNS` (N, 2) and ``edge_xy_px`` (N, 2, K, 2), axis 1 = :data:`FACINGS`."""
        n, k = len(self._frames), len(FRACTIONS)
        out = {
            "frame_index": np.array(self._frames, dtype=np.int64),
            "facing_decides": np.array(self._facing_decides, dtype=bool),
        }
        for c, name in enumerate((*_COLUMNS, "edge_xy_px")):
            column = [[value[c] for value in pair] for pair in self._values]
            out[name] = np.array(column, dtype=np.float64).reshape((n, 2, k, 2) if c == 3 else (n, 2))
        return out


def _is_main_table(table: dict[str, np.ndarray]) -> bool:
    n = table["frame_index"].shape[0] if "frame_index" in table else -1
    return (
        n >= 0
        and table.get("facing_decides", np.zeros(0)).shape == (n,)
        and all(table.get(c, np.zeros(0)).shape == (n, 2) for c in _COLUMNS)
        and table.get("edge_xy_px", np.zeros(0)).shape == (n, 2, len(FRACTIONS), 2)
    )


def series_from_main(table: dict[str, np.ndarray], body: BodySeries) -> BackSeries | None:
    """The :class:`BackSeries` on every sample of ``body`` from a main-pass table (:meth:`MainPassBack.table`),
    read for ``body.facing_sign``; None when the table does not hold exactly the body's samples
    (another sampling, a partial pass) or is malformed. With no facing known, a sample the knee
    could not decide is NaN (as :func:`back_profile` without ``facing_sign``)."""
    if not _is_main_table(table) or not np.array_equal(table["frame_index"], body.frame_index):
        return None
    n = body.frame_index.shape[0]
    facing = body.facing_sign if body.facing_sign in FACINGS else None
    col = FACINGS.index(facing) if facing is not None else 0
    unknown = np.asarray(table["facing_decides"], bool) & (facing is None)

    def pick(name: str) -> np.ndarray:
        values = np.array(table[name][:, col], dtype=np.float64)
        values[unknown] = np.nan
        return values

    conf = pick("mask_confidence")
    conf[unknown] = 0.0  # as back_profile's unreadable outline
    return BackSeries(
        sample=np.arange(n, dtype=np.int64),
        frame_index=np.asarray(body.frame_index, dtype=np.int64),
        back_flexion_rel=pick("back_flexion_rel"),
        back_angle_deg=pick("back_angle_deg"),
        mask_confidence=conf,
        edge_xy_px=pick("edge_xy_px"),
        fractions=np.asarray(FRACTIONS),
    )


def save_main_rows(pose_key: str, rows: MainPassBack) -> None:
    """Cache the main pass's rows beside the pose series cached under ``pose_key``."""
    from ..cache import save_table

    save_table("back", main_back_cache_key(pose_key), rows.table())


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
        h, w = person.mask.shape
        values = _row_values(
            _person_profile(person, person.mask, facing_sign), (source_size[0] / w, source_size[1] / h)
        )
        row = row_of[index]
        for name, value in zip((*_COLUMNS, "edge_xy_px"), values, strict=True):
            out[name][row] = value

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
    pose_key: str | None = None,
    main_rows: MainPassBack | None = None,
) -> BackSeries:
    """The back profile of the clip: on every sample when the main pose pass read it, else on the
    samples :func:`back_samples` picks from ``reps`` (set-up..knee pass) by the targeted pass.

    Main-pass rows come from ``main_rows`` (the pass just ran) or the cache under
    :func:`main_back_cache_key` of ``pose_key`` (the key the pose series is cached under); they are
    used when they hold exactly the body's samples (:func:`series_from_main`). A pull they give no
    back value for (:func:`~formcheck_core.biomech.back_series.rep_back_metrics`: fewer than two
    readable, confident samples; e.g. right after a scene cut, where the main pass's tracker still
    follows the previous shot) is measured by the targeted pass, which starts afresh there, and
    its rows replace the main pass's on that pull's samples.

    The targeted pass's cache holds one continuous run over exactly the frames needed. The
    landmarker tracks from frame to frame (VIDEO mode), so a frame's numbers depend on the frames
    measured before it: when the frames needed differ from the cached run's (other reps, another
    sampling rate), all of them are measured afresh and replace it, so a reading never depends on
    the cache's history.
    """
    from ..cache import load_table

    main = None
    if main_rows is not None and len(main_rows):
        main = series_from_main(main_rows.table(), body)
    if main is None and cache and pose_key is not None:
        stored = load_table("back", main_back_cache_key(pose_key))
        main = series_from_main(stored, body) if stored is not None else None
    todo = reps if main is None else [r for r in reps if not _has_back_value(r, main)]
    if main is not None and not todo:
        return main
    targeted = _targeted_series(
        info, body, todo, model_path, model_id=model_id, video_sha256=video_sha256, cache=cache
    )
    return targeted if main is None else _replace_rows(main, targeted)


def _has_back_value(rep: Rep, back: BackSeries) -> bool:
    """Whether ``back`` gives ``rep`` a back value (the per-rep reduction the rules read)."""
    return math.isfinite(rep_back_metrics(rep, back).metrics["back_flexion_rel"])


def _replace_rows(main: BackSeries, other: BackSeries) -> BackSeries:
    """``main`` with its rows at ``other``'s samples replaced by ``other``'s."""
    rows = np.searchsorted(main.sample, other.sample)
    fields = ("back_flexion_rel", "back_angle_deg", "mask_confidence", "edge_xy_px")
    out = {name: np.array(getattr(main, name)) for name in fields}
    for name in fields:
        out[name][rows] = getattr(other, name)
    return replace(main, **out)


def _targeted_series(
    info: VideoInfo,
    body: BodySeries,
    reps: Sequence[Rep],
    model_path: str | Path,
    *,
    model_id: str,
    video_sha256: str,
    cache: bool,
) -> BackSeries:
    """The targeted pass over :func:`back_samples` of ``reps`` (see :func:`back_series`)."""
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
