"""Content-addressed on-disk cache of pose series (``.npz`` of plain arrays + JSON meta, no pickle).

Key: sha256 of the video bytes + pose model id + sampling rate + running mode + max people, so a second analysis
of the same clip with the same settings skips inference, and any change of setting misses.

The cache heals itself: an entry that cannot be read or is inconsistent (truncated, zero bytes,
bit-flipped — the zip CRC catches it —, missing fields, arrays whose shapes disagree) is deleted
with a one-line warning on stderr and the caller recomputes it. Writes go to a temporary file in
the same folder and are renamed into place, so a reader never sees half an entry; a write that
fails (read-only or full disk) removes its temporary file, warns and returns None — the analysis
goes on without the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import cache_dir
from .pose.series import PoseSeries

CACHE_VERSION = 1
#: (array name, shape after the leading T axis) of every array an entry must hold.
_ARRAY_SHAPES: dict[str, tuple[int, ...]] = {
    "frame_index": (),
    "time_s": (),
    "image_xy_px": (33, 2),
    "image_z": (33,),
    "world_xyz_m": (33, 3),
    "visibility": (33,),
    "people_count": (),
}
_META_KEYS = frozenset({"width_px", "height_px", "source_fps", "sample_fps", "model_id", "running_mode"})


def pose_cache_key(
    video_sha256: str, model_id: str, sample_fps: float | None, running_mode: str, num_poses: int = 1
) -> str:
    """Hex key naming one cached pose series."""
    parts = json.dumps([CACHE_VERSION, video_sha256, model_id, sample_fps, running_mode, num_poses])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def _path(key: str, root: Path | None) -> Path:
    return (root or cache_dir()) / "pose" / f"{key}.npz"


def warn(message: str) -> None:
    """One line on stderr (the cache never raises for its own trouble)."""
    print(f"formcheck: warning: {' '.join(message.split())}", file=sys.stderr, flush=True)


class CorruptEntry(ValueError):
    """A cache entry that was read but is not a consistent pose series."""


def _consistent(arrays: dict[str, Any], meta: dict[str, Any]) -> PoseSeries:
    """``PoseSeries`` from an entry's fields, or :class:`CorruptEntry` saying what is wrong."""
    if set(arrays) != set(_ARRAY_SHAPES):
        raise CorruptEntry(f"arrays {sorted(arrays)} are not {sorted(_ARRAY_SHAPES)}")
    if not isinstance(meta, dict) or set(meta) != _META_KEYS:
        raise CorruptEntry("its metadata fields are wrong")
    n = arrays["frame_index"].shape[0] if arrays["frame_index"].ndim == 1 else -1
    for name, tail in _ARRAY_SHAPES.items():
        a = arrays[name]
        if a.shape != (n, *tail) or a.dtype.kind not in "iuf":
            raise CorruptEntry(f"{name} has shape {a.shape} ({a.dtype}), expected {(n, *tail)} numbers")
    if n > 1 and not np.all(np.diff(arrays["frame_index"]) > 0):
        raise CorruptEntry("its frame indices are not increasing")
    if not all(isinstance(meta[k], int) and meta[k] > 0 for k in ("width_px", "height_px")):
        raise CorruptEntry("its frame size is not a positive number of pixels")
    return PoseSeries(**arrays, **meta)


def _discard(path: Path, exc: BaseException) -> None:
    """Delete an unreadable entry with a one-line warning (the caller recomputes it)."""
    detail = str(exc).splitlines()[0][:120] if str(exc) else ""
    try:
        path.unlink()
        what = "deleted it; recomputing"
    except OSError:
        what = "could not delete it; recomputing"
    warn(
        f"cache entry {path.parent.name}/{path.name} is unreadable ({type(exc).__name__}: {detail}); {what}."
    )


def load_pose(key: str, root: Path | None = None) -> PoseSeries | None:
    """The cached series for ``key``; None if absent, or if unreadable/inconsistent (then the entry
    is deleted and a one-line warning printed, so the caller recomputes and rewrites it)."""
    path = _path(key, root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files if k != "meta_json"}
            meta = json.loads(str(data["meta_json"]))
        return _consistent(arrays, meta)
    except Exception as exc:
        _discard(path, exc)
        return None


#: Cache folders a write already failed in (warned about once).
_UNWRITABLE: set[str] = set()


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> Path | None:
    """``np.savez`` to ``path`` through a temporary file in the same folder; None (and a one-line
    warning) when the folder cannot be written. Never leaves a temporary file behind."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.npz", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        tmp = None
        return path
    except OSError as exc:
        root = str(path.parent.parent)
        if root not in _UNWRITABLE:  # once per cache folder and process, not once per entry
            _UNWRITABLE.add(root)
            warn(
                f"could not write the pose cache in {path.parent} ({exc.strerror or exc}); the analysis goes on "
                "without it. Free disk space or point FORMCHECK_CACHE at a writable folder."
            )
        return None
    finally:
        if tmp is not None:  # a failed or interrupted write leaves nothing behind
            tmp.unlink(missing_ok=True)


def save_pose(key: str, series: PoseSeries, root: Path | None = None) -> Path | None:
    """Store ``series`` under ``key`` atomically; returns the file path, or None (with a one-line
    warning) when the cache folder cannot be written."""
    return _atomic_savez(
        _path(key, root), {"meta_json": np.array(json.dumps(series.meta())), **series.arrays()}
    )


def _table_path(name: str, key: str, root: Path | None) -> Path:
    return (root or cache_dir()) / name / f"{key}.npz"


def load_table(name: str, key: str, root: Path | None = None) -> dict[str, np.ndarray] | None:
    """A cached table of plain arrays (e.g. per-frame back-profile numbers), or None if absent or
    unreadable (an unreadable entry is deleted with a one-line warning)."""
    path = _table_path(name, key, root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except Exception as exc:
        _discard(path, exc)
        return None


def save_table(name: str, key: str, arrays: dict[str, np.ndarray], root: Path | None = None) -> Path | None:
    """Store a table of plain arrays under ``name/key`` atomically (never pickled); returns the path,
    or None (with a one-line warning) when the cache cannot be written."""
    return _atomic_savez(_table_path(name, key, root), arrays)
