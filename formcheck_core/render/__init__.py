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

from .bar_path import render_bar_path, write_bar_paths
from .clip import ClipResult, write_annotated_clip
from .curves import TimeCursor, angle_curves_figure, angle_curves_with_cursor, save_figure
from .outputs import RenderedOutputs, render_all
from .overlay import draw_pose
from .stills import Still, annotated_frame, render_still, write_stills

__all__ = [
    "ClipResult",
    "RenderedOutputs",
    "Still",
    "TimeCursor",
    "angle_curves_figure",
    "angle_curves_with_cursor",
    "annotated_frame",
    "draw_pose",
    "render_all",
    "render_bar_path",
    "render_still",
    "save_figure",
    "write_annotated_clip",
    "write_bar_paths",
    "write_stills",
]
