"""Make test clips in a temporary folder: synthetic frames, cuts, side-by-side, rotation.

Derived clips of the shared videos live only in pytest's tmp folders, never in the repo.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

from formcheck_core.video import iter_frames, probe_video


def write_h264(path: Path, frames_bgr: Iterable[np.ndarray], fps: float) -> Path:
    """Encode BGR frames to an H.264 mp4 with PyAV (dimensions must be even)."""
    with av.open(str(path), "w") as container:
        stream = None
        for bgr in frames_bgr:
            if stream is None:
                stream = container.add_stream("libx264", rate=round(fps))
                stream.height, stream.width = bgr.shape[:2]
                stream.pix_fmt = "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
            container.mux(stream.encode(frame))
        if stream is not None:
            container.mux(stream.encode(None))
    return path


def source_frames(clip: Path, max_s: float | None = None) -> tuple[list[np.ndarray], float]:
    """All frames of ``clip`` (optionally only the first ``max_s`` seconds) and its fps."""
    info = probe_video(clip)
    frames = [f.bgr for f in iter_frames(clip, None, info=info) if max_s is None or f.time_s < max_s]
    return frames, info.fps


def add_display_rotation(src: Path, dst: Path, degrees: int) -> Path:
    """Copy ``src`` to ``dst`` with a display-matrix rotation (ffmpeg from imageio-ffmpeg)."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    cmd = [
        ffmpeg,
        "-y",
        "-loglevel",
        "error",
        "-display_rotation",
        str(degrees),
        "-i",
        str(src),
        "-c",
        "copy",
        str(dst),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return dst


def side_by_side(
    left_clip: Path,
    right_clip: Path,
    path: Path,
    left_gain: list[tuple[int, float]],
    right_gain: list[tuple[int, float]],
) -> Path:
    """Two clips side by side, as long as ``left_clip`` (``right_clip`` looped), each half faded by
    its (frame, gain 0-1) keyframes, linearly between them: a person fades out or in without a
    scene cut. E.g. the tracked lifter goes dark and the tracker picks up the other one."""
    left, fps = source_frames(left_clip)
    right, _ = source_frames(right_clip)

    def gain(i: int, keys: list[tuple[int, float]]) -> float:
        return float(np.interp(i, [f for f, _ in keys], [g for _, g in keys]))

    out = []
    for i, frame in enumerate(left):
        a, b = gain(i, left_gain), gain(i, right_gain)
        out.append(np.hstack([(frame * a).astype(np.uint8), (right[i % len(right)] * b).astype(np.uint8)]))
    return write_h264(path, out, fps)


#: Clips with a real tracking switch: (left fade, right fade) keyframes for :func:`side_by_side` of
#: posereader_unoccluded (left) and posereader_good (right), both 600x600 dev clips.
#: "switch": the right lifter fades in after 0.5 s (the tracker starts on the left one), the left
#: one fades to black at 1.67 s, stays hidden 0.5 s and comes back (the tracker stays on the right).
#: "switch back": the left lifter is dark at 0.7-0.9 s and back at 1.5 s; the tracker holds the
#: right one until they go dark at 2.4-2.7 s, then finds the left one again, so the right lifter's
#: stretch is the longest part though the left lifter is followed longer over the shot.
SWITCH_FADES: dict[str, tuple[list[tuple[int, float]], list[tuple[int, float]]]] = {
    "switch": ([(0, 1.0), (50, 1.0), (59, 0.0), (74, 0.0), (83, 1.0)], [(0, 0.0), (15, 0.0), (24, 1.0)]),
    "switch back": (
        [(0, 1.0), (20, 1.0), (28, 0.0), (36, 0.0), (44, 1.0)],
        [(0, 0.0), (6, 0.0), (14, 1.0), (72, 1.0), (80, 0.0)],
    ),
}


def switch_clip(dev_dir: Path, folder: Path, name: str) -> Path:
    """The :data:`SWITCH_FADES` clip ``name`` made in ``folder`` from the dev clips in ``dev_dir``."""
    left_fade, right_fade = SWITCH_FADES[name]
    return side_by_side(
        dev_dir / "posereader_unoccluded.mp4",
        dev_dir / "posereader_good.mp4",
        folder / f"{name.replace(' ', '_')}.mp4",
        left_fade,
        right_fade,
    )
