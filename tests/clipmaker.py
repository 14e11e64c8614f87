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
