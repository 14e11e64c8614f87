"""Many clips at once: ``formcheck batch`` and :func:`run_batch` / :func:`analyze_many`.

One pure per-clip function (:func:`~.rows.analyze_clip_rows`: a clip path and
:class:`~.options.ClipOptions` -> :class:`~.rows.ClipRows`, the clip's rows of the three tidy
tables) runs in a local process pool or on a Dask cluster (:mod:`.runner`); each finished clip is
written to ``OUT/clips/<clip>/`` at once (:mod:`.store`), so an interrupted batch resumes, and the
tables ``clips``, ``reps`` and ``findings`` (:mod:`.tables`) are assembled from those per-clip results.

Names are imported lazily: a pool worker importing this package loads neither pandas nor Dask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "ClipOptions": "options",
    "ClipRows": "rows",
    "analyze_clip_rows": "rows",
    "find_clips": "discover",
    "ClipSource": "discover",
    "Dataset": "tables",
    "run_batch": "runner",
    "analyze_many": "runner",
}

__all__ = [
    "ClipOptions",
    "ClipRows",
    "ClipSource",
    "Dataset",
    "analyze_clip_rows",
    "analyze_many",
    "find_clips",
    "run_batch",
]

if TYPE_CHECKING:  # pragma: no cover
    from .discover import ClipSource, find_clips
    from .options import ClipOptions
    from .rows import ClipRows, analyze_clip_rows
    from .runner import analyze_many, run_batch
    from .tables import Dataset


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
