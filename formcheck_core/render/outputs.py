"""Render every picture of an analysis into a folder with a single decode pass.

:func:`render_all` writes the stills, the bar path pictures, the angle curves and (optionally)
the annotated clip. Stills, bar paths and the clip share one streaming pass over the video; the
curves need no video.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import Analysis
from ..cues import Cue
from .bar_path import BarPathPicture, bar_path_consumer, plan_bar_paths
from .clip import ClipResult, ClipWriter
from .curves import angle_curves_figure, save_figure
from .frames import run_frame_pass
from .stills import STILL_WIDTH_PX, Still, plan_stills, still_consumer

#: File name of the annotated clip inside the output folder.
CLIP_NAME = "annotated.mp4"


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
    frames_decoded: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)


def render_all(
    analysis: Analysis,
    cues: Sequence[Cue],
    out_dir: str | Path,
    *,
    clip: bool = True,
    width_px: int = STILL_WIDTH_PX,
) -> RenderedOutputs:
    """Write stills (``stills/``), bar paths and curves (``plots/``) and the annotated clip into ``out_dir``.

    One streaming pass decodes the video (only up to the last needed frame when ``clip`` is
    False); at most one decoded frame is held at a time.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    stills = plan_stills(analysis, out / "stills")
    bars = plan_bar_paths(analysis, out / "plots")
    consumers = [still_consumer(analysis, stills, width_px), bar_path_consumer(analysis, bars, width_px)]
    writer = ClipWriter(analysis, out / CLIP_NAME, cues) if clip else None
    if writer is not None:
        consumers.append(writer.consumer())
    try:
        frames = run_frame_pass(analysis, consumers)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    clip_result = writer.close() if writer is not None else None
    timings["frames_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    curves = curves_raw = None
    rep_curves: dict[int, Path] = {}
    if analysis.body is not None:
        curves = out / "plots" / "curves.png"
        save_figure(angle_curves_figure(analysis, show_raw=True), curves)
        curves_raw = out / "plots" / "curves_raw.png"
        save_figure(angle_curves_figure(analysis, raw=True), curves_raw)
        for rep in analysis.reps:
            path = out / "plots" / f"rep{rep.number}_curves.png"
            save_figure(angle_curves_figure(analysis, rep=rep.number, show_raw=True), path)
            rep_curves[rep.number] = path
    timings["curves_s"] = time.perf_counter() - t1
    return RenderedOutputs(
        out_dir=out,
        stills=tuple(s for s in stills if s.path.is_file()),
        bar_paths=tuple(b for b in bars if b.path.is_file()),
        curves=curves,
        curves_raw=curves_raw,
        rep_curves=rep_curves,
        clip=clip_result,
        frames_decoded=frames,
        timings_s=timings,
    )
