"""Picture files of a report: draw and encode a still or bar path, draw and write the angle curves.

The jobs :func:`~formcheck_core.render.outputs.render_all` may hand to its worker process
(:mod:`~formcheck_core.render.worker`); each also runs in process. matplotlib (:mod:`.curves`) is
imported only when curves are drawn here: a caller whose worker draws them never loads it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis import Analysis
from ..vocabulary import pull_file_stem
from .bar_path import BarPathPicture, render_bar_path
from .images import jpeg_bytes, page_size, png_bytes, write_photo
from .layout import ViewBox
from .stills import Still, render_still


@dataclass(frozen=True)
class PageImage:
    """A picture as embedded in the report page: MIME type and bytes (sized for the page)."""

    mime: str
    data: bytes


def encode_picture(path: Path, bgr: np.ndarray) -> tuple[Path, PageImage, float]:
    """Write the photo-like picture ``bgr`` (a still, a bar path) as the JPEG file ``path``
    (:func:`~.images.write_photo`); return its page JPEG and the seconds spent."""
    t = time.perf_counter()
    write_photo(path, bgr)
    page = PageImage("image/jpeg", jpeg_bytes(page_size(bgr)))
    return path, page, time.perf_counter() - t


def draw_picture(
    analysis: Analysis, item: Still | BarPathPicture, view: ViewBox, frame_bgr: np.ndarray
) -> tuple[Path, PageImage, float]:
    """Draw the still or bar path ``item`` on its source frame ``frame_bgr`` (cropped by ``view``)
    and write it (:func:`encode_picture`); the seconds include the drawing. The job
    :func:`~.outputs.render_all` hands to whichever process is free when its worker is there:
    the frame pass then only passes the frame on."""
    t = time.perf_counter()
    if isinstance(item, Still):
        bgr = render_still(frame_bgr, analysis, item, view)
    else:
        rep = next(r for r in analysis.pulls if r.number == item.rep)
        bgr = render_bar_path(frame_bgr, analysis, rep, view)
    path, page, _ = encode_picture(item.path, bgr)
    return path, page, time.perf_counter() - t


def warm_up() -> None:
    """Pay the one-off costs of the worker's jobs (Agg canvas and font loading, the JPEG encoder)
    on a tiny figure and picture, so a worker started early has them behind it."""
    from matplotlib.figure import Figure

    from .curves import figure_bgr

    fig = Figure(figsize=(1.0, 1.0), dpi=50, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0.0, 1.0], [0.0, 1.0])
    ax.set_title("warm-up °")
    ax.set_xlabel("time (s)")
    jpeg_bytes(figure_bgr(fig))


@dataclass(frozen=True)
class DrawnCurves:
    """One curve job drawn by :func:`draw_curve_part`, nothing written yet: which file each figure
    becomes (``curves``, ``curves_raw``, ``rep_curves``), its BGR ``pixels`` per file, seconds."""

    curves: Path | None
    curves_raw: Path | None
    rep_curves: dict[int, Path]
    pixels: dict[Path, np.ndarray]
    timings_s: dict[str, float]


@dataclass(frozen=True)
class CurvePictures:
    """Curves as written (:func:`encode_curves`, :func:`write_curves`): their files, the page
    version of each file (the same PNG bytes: every written curve has one) and seconds per kind."""

    curves: Path | None
    curves_raw: Path | None
    rep_curves: dict[int, Path]
    page_images: dict[Path, PageImage]
    timings_s: dict[str, float]


#: Reps per curves job: several jobs let the caller and the worker share a long set; the jobs one
#: process runs all draw on its one reused rep figure (:func:`draw_curve_part`).
REPS_PER_CURVE_PART = 3


def curve_parts(analysis: Analysis) -> list[tuple[int, ...] | None]:
    """The curve jobs of ``analysis``: None (the whole-clip curves), then groups of rep numbers."""
    reps = [r.number for r in analysis.pulls] if analysis.body is not None else []  # partial pulls too
    return [None] + [
        tuple(reps[i : i + REPS_PER_CURVE_PART]) for i in range(0, len(reps), REPS_PER_CURVE_PART)
    ]


#: The rep-curve figure of the last Analysis this process drew reps of: (analysis, template).
#: The parts of one set that land in the same process share it, so only the first pays for
#: plotting the series and the layout (about 0.25 CPU s a part).
_rep_template: list = []
_rep_template_lock = threading.Lock()


def _template_for(analysis: Analysis):
    from .curves import RepCurveTemplate

    if not _rep_template or _rep_template[0][0] is not analysis:
        _rep_template[:] = [(analysis, RepCurveTemplate(analysis, show_raw=True))]
    return _rep_template[0][1]


def forget_rep_template() -> None:
    """Drop this process's reused rep figure (and its Analysis), e.g. when a render is done."""
    with _rep_template_lock:
        _rep_template.clear()


def draw_curve_part(analysis: Analysis, plots_dir: Path, part: tuple[int, ...] | None) -> DrawnCurves:
    """One curve job (:func:`curve_parts`), drawn but not written: the whole-clip curves (smoothed
    and raw) for None, else the zoomed curves of those reps (on this process's reused rep
    figure), as pixels for :func:`encode_curves`."""
    from .curves import figure_bgr, whole_clip_figures

    timings = {"curves_s": 0.0, "rep_curves_s": 0.0}
    pixels: dict[Path, np.ndarray] = {}
    if analysis.body is None:
        return DrawnCurves(None, None, {}, {}, timings)
    t = time.perf_counter()
    if part is None:
        curves = plots_dir / "curves.png"
        curves_raw = plots_dir / "curves_raw.png"
        file_of = {"smoothed": curves, "raw": curves_raw}
        for kind, fig in whole_clip_figures(analysis):  # one figure, drawn twice
            pixels[file_of[kind]] = figure_bgr(fig)
        timings["curves_s"] = time.perf_counter() - t
        return DrawnCurves(curves, curves_raw, {}, pixels, timings)
    rep_curves: dict[int, Path] = {}
    with _rep_template_lock:  # one figure: one thread at a time draws on it
        template = _template_for(analysis)
        for number in part:
            path = plots_dir / f"{pull_file_stem(number, len(analysis.reps))}_curves.png"
            pixels[path] = figure_bgr(template.figure(number))
            rep_curves[number] = path
    timings["rep_curves_s"] = time.perf_counter() - t
    return DrawnCurves(None, None, rep_curves, pixels, timings)


def encode_curves(drawn: DrawnCurves) -> CurvePictures:
    """Write the figures :func:`draw_curve_part` drew as 256-colour PNGs (the page embeds the same
    bytes); their seconds go to ``curve_png_s``."""
    t = time.perf_counter()
    pages: dict[Path, PageImage] = {}
    for path, bgr in drawn.pixels.items():
        data = png_bytes(bgr)  # encoded once, for the file and the page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        pages[path] = PageImage("image/png", data)
    timings = {**drawn.timings_s, "curve_png_s": time.perf_counter() - t}
    return CurvePictures(drawn.curves, drawn.curves_raw, drawn.rep_curves, pages, timings)


def write_curve_part(analysis: Analysis, plots_dir: Path, part: tuple[int, ...] | None) -> CurvePictures:
    """One curve job (:func:`curve_parts`) drawn and written as PNGs, in this process (with a
    worker, :func:`~.outputs.render_all` shares the drawing and, as a follow-up job, the writing:
    either process may write what the other drew)."""
    return encode_curves(draw_curve_part(analysis, plots_dir, part))


def merge_curves(parts: list[CurvePictures]) -> CurvePictures:
    """The curve jobs' results as one (reps in number order; seconds added up)."""
    curves = next((p.curves for p in parts if p.curves is not None), None)
    raw = next((p.curves_raw for p in parts if p.curves_raw is not None), None)
    reps = dict(sorted((n, path) for p in parts for n, path in p.rep_curves.items()))
    pages = {path: page for p in parts for path, page in p.page_images.items()}
    timings = {"curves_s": 0.0, "rep_curves_s": 0.0, "curve_png_s": 0.0}
    for p in parts:
        for key, value in p.timings_s.items():
            timings[key] = timings.get(key, 0.0) + value
    return CurvePictures(curves, raw, reps, pages, timings)


def write_curves(analysis: Analysis, plots_dir: Path) -> CurvePictures:
    """Whole-clip curves (smoothed and raw) and every rep's curves as PNGs, in this process."""
    return merge_curves([write_curve_part(analysis, plots_dir, part) for part in curve_parts(analysis)])
