"""The back profile from the person mask, read in the main pose pass: one definition, whatever the cache holds.

:func:`~formcheck_core.biomech.back_profile.back_profile` is read from the person mask of each
landmarker call of the pose pass, with the shoulder, hip and knee of the same call (midpoint of
left and right): the landmarker runs with ``output_segmentation_masks=True`` and
:class:`MainPassBack` reads the profile on *every* sample as it goes (an
:data:`~formcheck_core.pose.feed.OnPerson` callback of
:func:`~formcheck_core.pose.extract.extract_pose`). The mask comes out of the same model call, so
the landmarks are those of a pass without masks (bit for bit on the dev clips here) and the pose
cache is unchanged. Only the numbers and the outline points are kept, cached as
``back/<main_back_cache_key(pose key)>.npz``, never masks. The body's facing is known only after
the pass, so a sample where the knee cannot tell the back side (standing tall) is read both ways
and :func:`series_from_main` picks one.

A pose cached without these rows (a cache from before they existed) is posed again once, with
masks, exactly as a clip posed now (:func:`~formcheck_core.analysis.load_or_extract_pose`), so a
clip's back reading never depends on what the cache held. Each shot after a scene cut is posed by
a fresh tracker (:mod:`~formcheck_core.pose.shots`: its rows are replaced by the fresh pass's, via
:meth:`MainPassBack.replace_samples`), so the outline is read from a shot's first sample. A pull
whose outline the pass could not read on enough samples is "not measurable"; no second pass reads
it another way. The multi-process pose path
(:func:`~formcheck_core.pose.parallel.extract_pose_parallel`) reads no back: ``extract_pose``
refuses ``on_person`` with more than one process.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np

from ..biomech.back_profile import FRACTIONS, BackProfile, back_normal, back_profile
from ..biomech.back_series import BackSeries
from ..biomech.body import BodySeries
from .backend import PoseResult
from .landmarks import LANDMARK
from .series import PoseSeries

#: Bump when :func:`back_profile` or this pass changes what it stores or which frames it measures
#: (invalidates cached rows).
BACK_VERSION = 4
_COLUMNS = ("back_flexion_rel", "back_angle_deg", "mask_confidence")
#: The main-pass table's facing axis: column 0 holds the reading for a lifter facing image-right
#: (``facing_sign`` +1), column 1 for one facing image-left (-1).
FACINGS = (1, -1)


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
        self._restored: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._frames) if self._restored is None else int(self._restored["frame_index"].shape[0])

    def restore(self, table: dict[str, np.ndarray]) -> None:
        """Hold the rows of a cached table (as :meth:`table` wrote it) instead of reading them now."""
        if self._frames:
            raise ValueError("these rows were read in a pose pass already")
        self._restored = {name: np.asarray(values) for name, values in table.items()}

    def replace_samples(self, samples: np.ndarray, part: MainPassBack) -> None:
        """Hold these rows with those at ``samples`` (indices into them, ascending) replaced by
        ``part``'s rows, in order: the same frames read again (a shot posed by a fresh tracker,
        :func:`~formcheck_core.pose.shots.repose_shots`). ValueError when ``part`` read other frames."""
        table, new = self.table(), part.table()
        idx = np.asarray(samples, dtype=np.int64)
        if not np.array_equal(table["frame_index"][idx], new["frame_index"]):
            raise ValueError("the replacing rows were read on other frames")
        for name, values in table.items():
            values = np.array(values, copy=True)
            values[idx] = new[name]
            table[name] = values
        self._frames, self._values, self._facing_decides = [], [], []
        self._restored = table

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
        if self._restored is not None:
            return dict(self._restored)
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


def load_main_rows(pose_key: str, frame_index: np.ndarray) -> dict[str, np.ndarray] | None:
    """The cached main-pass rows of the pose series cached under ``pose_key``, if they hold exactly
    its samples (``frame_index``) and are well formed; else None (the caller poses the clip again)."""
    from ..cache import load_table

    table = load_table("back", main_back_cache_key(pose_key))
    if table is None or not _is_main_table(table) or not np.array_equal(table["frame_index"], frame_index):
        return None
    return table


def load_derived_pose(key: str, pose: PoseSeries, back: MainPassBack | None) -> PoseSeries | None:
    """The pose cached under ``key`` that was derived from ``pose`` (its shots posed again, a
    tracking switch undone), if it holds exactly ``pose``'s samples; with ``back``, only if its
    main-pass rows are cached too, and then they replace every row of ``back``. None: derive it
    again."""
    from ..cache import load_pose

    cached = load_pose(key)
    if cached is None or not np.array_equal(cached.frame_index, pose.frame_index):
        return None
    if back is None:
        return cached
    table = load_main_rows(key, cached.frame_index)
    if table is None:
        return None
    rows = MainPassBack(back.source_size)
    rows.restore(table)
    back.replace_samples(np.arange(pose.n_samples), rows)
    return cached


def back_series(body: BodySeries, rows: MainPassBack) -> BackSeries | None:
    """The back profile on every sample of ``body`` from the main pass's ``rows`` (read now, or
    restored from the cache by :func:`~formcheck_core.analysis.load_or_extract_pose`); None when
    they do not hold exactly the body's samples (:func:`series_from_main`)."""
    return series_from_main(rows.table(), body) if len(rows) else None
