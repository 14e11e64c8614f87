"""Render every picture of an analysis into a folder with a single decode pass, on two cores.

:func:`render_all` writes the stills, the bar path pictures, the angle curves and (optionally)
the annotated clip. Stills, bar paths and the clip share one streaming pass over the video; the
curves need no video. With ``parallel`` (by default on 2+ cores for a set of 3+ reps) or a worker
started early (:func:`start_render_worker`), the curves (in parts of a few reps, drawn, then
written as PNGs) and the stills and bar paths (drawn on the frame the pass hands over, written as JPEG
files and page JPEGs) are jobs shared with one worker process (:mod:`.jobs`): it runs them while
the main process decodes, draws the clip's overlays and (in a thread) encodes the clip, and the
main process runs what is left when its pass ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import Analysis
from ..cues import Cue
from . import files
from .bar_path import BarPathPicture, bar_path_consumer, plan_bar_paths
from .clip import ClipResult, ClipWriter
from .files import CurvePictures, PageImage
from .frames import FrameConsumer, run_frame_pass
from .images import opencv_threads
from .jobs import SharedJobs
from .layout import ViewBox
from .stills import STILL_WIDTH_PX, Still, plan_stills, rep_view_box, still_consumer
from .worker import RenderWorker, WorkerGone

__all__ = ["CLIP_NAME", "PageImage", "RenderedOutputs", "render_all", "start_render_worker"]

#: File name of the annotated clip inside the output folder.
CLIP_NAME = "annotated.mp4"
#: Reps from which ``render_all`` starts its worker by default: starting one costs about 1 CPU
#: second (imports), a rep's stills and curves about 0.3-0.4 s.
MIN_REPS_FOR_WORKER = 3


@dataclass(frozen=True)
class RenderedOutputs:
    """Paths of everything :func:`render_all` wrote (only files that exist), and timings in seconds."""

    out_dir: Path
    stills: tuple[Still, ...]
    bar_paths: tuple[BarPathPicture, ...]
    #: Whole-clip curves: smoothed (raw faint behind) and raw only.
    curves: Path | None
    curves_raw: Path | None
    #: Rep number -> zoomed curves of that rep.
    rep_curves: dict[int, Path] = field(default_factory=dict)
    clip: ClipResult | None = None
    #: Frames the pass converted to pixels (every frame is decoded; a 60 fps clip written at 30 fps
    #: converts every other one, plus the stills' frames).
    frames_decoded: int = 0
    #: Wall seconds per stage (see :func:`render_all`).
    timings_s: dict[str, float] = field(default_factory=dict)
    #: File path -> the page version of that picture (stills and bar paths: JPEG 540 px wide;
    #: curves: the 256-colour PNG), one for every picture written: the report embeds these, and
    #: links to the file of a picture it leaves out.
    page_images: dict[Path, PageImage] = field(default_factory=dict)


def _start_worker(analysis: Analysis) -> RenderWorker | None:
    """The worker process holding ``analysis``, or None when it cannot start (work stays here)."""
    try:
        return RenderWorker(analysis)
    except WorkerGone:
        return None


def start_render_worker() -> RenderWorker | None:
    """A render worker started now, to pass to :func:`render_all` later: its start-up (imports,
    warm-up: about 0.7 CPU second) then overlaps the caller's own work, e.g. the analysis after the
    pose pass, which leaves a second core idle (the CLI starts it there, ``analyze(on_pose=...)``).
    None on one core or when it cannot start. The caller
    closes it (:meth:`~.worker.RenderWorker.close`)."""
    if (os.cpu_count() or 1) < 2:
        return None
    try:
        return RenderWorker()
    except WorkerGone:
        return None


def _handing_over(
    analysis: Analysis,
    stills: Sequence[Still],
    bars: Sequence[BarPathPicture],
    width_px: int,
    jobs: SharedJobs,
) -> list[FrameConsumer]:
    """Frame-pass consumers that hand each still's and bar path's frame to ``jobs`` (drawn and
    written by :func:`~.files.draw_picture` in whichever process is free) instead of drawing it in
    the pass; the crops are the ones :func:`~.stills.still_consumer` and
    :func:`~.bar_path.bar_path_consumer` use."""
    reps = {r.number: r for r in analysis.pulls}
    views: dict[int | None, ViewBox] = {}

    def view_of(rep: int | None) -> ViewBox:
        if rep not in views:
            views[rep] = rep_view_box(analysis, reps.get(rep) if rep is not None else None, width_px)
        return views[rep]

    def consumer(items: Sequence[Still] | Sequence[BarPathPicture], name: str) -> FrameConsumer:
        by_frame: dict[int, list] = {}
        for item in items:
            by_frame.setdefault(item.frame_index, []).append(item)

        def handle(frame) -> None:
            for item in by_frame.get(frame.index, ()):
                jobs.put("draw_picture", item, view_of(item.rep), frame.bgr, nbytes=frame.bgr.nbytes)

        return FrameConsumer(frozenset(by_frame), handle, name)

    return [consumer(stills, "stills"), consumer(bars, "bar_paths")]


def render_all(
    analysis: Analysis,
    cues: Sequence[Cue],
    out_dir: str | Path,
    *,
    clip: bool = True,
    width_px: int = STILL_WIDTH_PX,
    parallel: bool | None = None,
    worker: RenderWorker | None = None,
) -> RenderedOutputs:
    """Write stills (``stills/``), bar paths and curves (``plots/``) and the annotated clip into ``out_dir``.

    One streaming pass decodes the video (only up to the last needed frame when ``clip`` is
    False); at most one decoded frame is held at a time. ``parallel`` (default: when the machine
    has 2+ cores and the clip has :data:`MIN_REPS_FOR_WORKER`+ reps): picture files (and, with the clip, the curves) are made in one worker process
    meanwhile. ``worker``: an already started worker (:func:`start_render_worker`) to use
    instead, whatever ``parallel`` and the number of reps say; it draws the curves and stays
    open (the caller closes it). The pictures are the same whichever process makes them.
    ``timings_s`` of the result: ``decode_s``, ``clip_s`` (drawing the clip's frames, including
    waiting for the encoder), ``overlay_s``, ``encode_s`` (encoder thread), ``stills_s`` and
    ``bar_paths_s`` (drawing them in the pass; with a worker, handing their frames over),
    ``picture_files_s`` (their JPEG files; with a worker, drawing them too, in either process), ``curves_s`` and
    ``rep_curves_s`` (drawing), ``curve_png_s`` (their PNGs),
    ``frames_s`` (the whole pass; ``frames_cpu_s``: CPU seconds of this process's threads during
    it), ``wait_worker_s`` and ``total_s``. OpenCV runs single-threaded meanwhile
    (:func:`~.images.opencv_threads`).
    """
    with opencv_threads():
        return _render_all(analysis, cues, Path(out_dir), clip, width_px, parallel, worker)


def _render_all(
    analysis: Analysis,
    cues: Sequence[Cue],
    out: Path,
    clip: bool,
    width_px: int,
    parallel: bool | None,
    worker: RenderWorker | None,
) -> RenderedOutputs:
    """:func:`render_all`'s work."""
    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    pool: RenderWorker | None
    if worker is not None and worker.alive:
        owned, pool = False, worker
        if worker.attached is not analysis:
            worker.attach(analysis)
    else:
        if parallel is None:
            parallel = (os.cpu_count() or 1) >= 2 and len(analysis.reps) >= MIN_REPS_FOR_WORKER
        owned, pool = True, _start_worker(analysis) if parallel else None
    timings: dict[str, float] = {}
    pages: dict[Path, PageImage] = {}
    curve_parts: list[CurvePictures] = []

    def on_result(job: str, result: Any) -> None:
        if job in ("encode_picture", "draw_picture"):
            path, page, seconds = result
            pages[path] = page
            timings["picture_files_s"] = timings.get("picture_files_s", 0.0) + seconds
        else:  # a curve part's PNGs, written by whichever process was free
            curve_parts.append(result)

    jobs = SharedJobs(pool, analysis, on_result)
    try:
        if pool is not None:  # queued first: the worker starts on them at once
            for part in files.curve_parts(analysis):
                jobs.put("draw_curve_part", out / "plots", part, then="encode_curves")
        t0, cpu0 = time.perf_counter(), time.process_time()
        stills = plan_stills(analysis, out / "stills")
        bars = plan_bar_paths(analysis, out / "plots")
        if pool is not None:  # drawn by whichever process is free (the worker, once its curves are done)
            consumers = _handing_over(analysis, stills, bars, width_px, jobs)
        else:

            def sink(path: Path, bgr: np.ndarray) -> None:
                jobs.put("encode_picture", path, bgr, nbytes=bgr.nbytes)

            consumers = [
                still_consumer(analysis, stills, width_px, sink),
                bar_path_consumer(analysis, bars, width_px, sink),
            ]
        writer = ClipWriter(analysis, out / CLIP_NAME, cues) if clip else None
        if writer is not None:
            consumers.append(writer.consumer())
        try:
            frames = run_frame_pass(analysis, consumers, timings)
            clip_result = writer.close() if writer is not None else None
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            for key in ("overlay_s", "encode_s", "encode_wait_s"):
                timings[key] = writer.timings_s[key]
        timings["frames_s"] = time.perf_counter() - t0
        timings["frames_cpu_s"] = time.process_time() - cpu0
        t1 = time.perf_counter()
        if pool is None:
            curve_parts.append(files.write_curves(analysis, out / "plots"))
        jobs.finish()  # what still waits runs here, beside the worker
        files.forget_rep_template()  # the figure is not kept in this process after the render
        timings["wait_worker_s"] = time.perf_counter() - t1 if pool is not None else 0.0
        timings["jobs_here"], timings["jobs_worker"] = float(jobs.ran["here"]), float(jobs.ran["worker"])
        curve_pictures = files.merge_curves(curve_parts)
    except BaseException:
        if pool is not None and owned:
            pool.close(kill=True)
        elif pool is not None:  # a kept worker: its jobs must not write after the caller cleans up
            jobs.abandon()
        raise
    if pool is not None and owned:
        pool.close()
    timings.update(curve_pictures.timings_s)
    timings["total_s"] = time.perf_counter() - t_start
    return RenderedOutputs(
        out_dir=out,
        stills=tuple(s for s in stills if s.path.is_file()),
        bar_paths=tuple(b for b in bars if b.path.is_file()),
        curves=curve_pictures.curves,
        curves_raw=curve_pictures.curves_raw,
        rep_curves=curve_pictures.rep_curves,
        clip=clip_result,
        frames_decoded=frames,
        timings_s=timings,
        page_images={**pages, **curve_pictures.page_images},
    )
