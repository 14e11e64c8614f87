"""Pictures of an analysis: annotated stills, angle curves, bar path, annotated clip.

Presentation only: everything here reads an :class:`~formcheck_core.analysis.Analysis` (and
cues) and draws; nothing measures the body. The analysis core never imports this package.

Reusable pieces for notebooks and widgets:

* :func:`draw_pose` (``overlay``): skeleton + angle arcs + read-outs on a BGR frame;
  :func:`annotated_frame` (``stills``): decode one sample's frame and draw it, cropped like the stills.
* :func:`angle_curves_figure` / :class:`TimeCursor` (``curves``): a matplotlib Figure (no pyplot)
  and a movable time line.
* :func:`render_all` (``outputs``): every picture into a folder in one decode pass.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> module of this package that defines it (imported on first use, so a process
#: that needs one module, e.g. the render worker, does not import them all).
_PUBLIC = {
    "ClipResult": "clip",
    "RenderedOutputs": "outputs",
    "Still": "stills",
    "TimeCursor": "curves",
    "angle_curves_figure": "curves",
    "angle_curves_with_cursor": "curves",
    "annotated_frame": "stills",
    "draw_pose": "overlay",
    "render_all": "outputs",
    "render_bar_path": "bar_path",
    "render_still": "stills",
    "save_figure": "curves",
    "write_annotated_clip": "clip",
    "write_bar_paths": "bar_path",
    "write_stills": "stills",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
