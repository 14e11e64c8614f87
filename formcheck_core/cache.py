"""Content-addressed on-disk cache of pose series (``.npz`` of plain arrays + JSON meta, no pickle).

Key: sha256 of the video bytes + pose model id + sampling rate + running mode + max people, so a second analysis
of the same clip with the same settings skips inference, and any change of setting misses.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .config import cache_dir
from .pose.series import PoseSeries

CACHE_VERSION = 1


def pose_cache_key(
    video_sha256: str, model_id: str, sample_fps: float | None, running_mode: str, num_poses: int = 1
) -> str:
    """Hex key naming one cached pose series."""
    parts = json.dumps([CACHE_VERSION, video_sha256, model_id, sample_fps, running_mode, num_poses])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def _path(key: str, root: Path | None) -> Path:
    return (root or cache_dir()) / "pose" / f"{key}.npz"


def load_pose(key: str, root: Path | None = None) -> PoseSeries | None:
    """The cached series for ``key``, or None if absent or unreadable."""
    path = _path(key, root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != "meta_json"}
            meta = json.loads(str(data["meta_json"]))
        return PoseSeries(**arrays, **meta)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_pose(key: str, series: PoseSeries, root: Path | None = None) -> Path:
    """Store ``series`` under ``key`` atomically; returns the file path."""
    path = _path(key, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, meta_json=np.array(json.dumps(series.meta())), **series.arrays())
    tmp.replace(path)
    return path


def _table_path(name: str, key: str, root: Path | None) -> Path:
    return (root or cache_dir()) / name / f"{key}.npz"


def load_table(name: str, key: str, root: Path | None = None) -> dict[str, np.ndarray] | None:
    """A cached table of plain arrays (e.g. per-frame back-profile numbers), or None if absent or unreadable."""
    path = _table_path(name, key, root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError):
        return None


def save_table(name: str, key: str, arrays: dict[str, np.ndarray], root: Path | None = None) -> Path:
    """Store a table of plain arrays under ``name/key`` atomically (never pickled); returns the path."""
    path = _table_path(name, key, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)
    return path
