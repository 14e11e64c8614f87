"""Open, validate and stream video frames with OpenCV. The only module that decodes video.

Frames are streamed, never collected: :func:`iter_frames` yields one sampled frame at a time, so
memory does not grow with clip length. Rotation metadata is honoured (OpenCV applies the display
matrix), so phone clips come out upright and ``VideoInfo.width_px``/``height_px`` describe the
upright frame.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import VideoError


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip, after rotation (width/height are of the upright frame)."""

    path: str
    width_px: int
    height_px: int
    fps: float
    #: Frame count from the container header; can be wrong, the analysis counts frames as it reads.
    frame_count_header: int
    rotation_deg: int
    size_bytes: int

    @property
    def duration_s(self) -> float:
        """Duration from the header frame count and fps (approximate)."""
        return self.frame_count_header / self.fps if self.fps > 0 else float("nan")


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: its index in the source video (0-based, read order), time and BGR pixels."""

    index: int
    time_s: float
    bgr: np.ndarray


def _open_capture(path: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"{path} could not be opened as a video: it is not a video file, is truncated, or uses a "
            "codec OpenCV cannot read. Re-export it as an .mp4 (H.264) and try again."
        )
    return cap


def probe_video(path: str | Path) -> VideoInfo:
    """Check that ``path`` is a readable video and return its header facts.

    Raises :class:`VideoError` with a one-line explanation for a missing, empty, non-video or
    undecodable file (the first frame must decode).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise VideoError(f"No such file: {p}. Check the path and try again.")
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a video file.")
    size = p.stat().st_size
    if size == 0:
        raise VideoError(f"{p} is empty (0 bytes): the recording or copy did not finish.")
    cap = _open_capture(p)
    try:
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(
                f"{p} opened but no frame could be decoded: the file is truncated or corrupt. "
                "Re-export or re-copy the clip."
            )
        height, width = frame.shape[:2]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not math.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
    finally:
        cap.release()
    return VideoInfo(
        path=str(p),
        width_px=int(width),
        height_px=int(height),
        fps=fps,
        frame_count_header=max(count, 0),
        rotation_deg=rotation,
        size_bytes=size,
    )


def sample_step(source_fps: float, target_fps: float | None) -> float:
    """Seconds between kept frames; 0 keeps every frame (``target_fps`` None or >= source fps)."""
    if target_fps is None or target_fps <= 0 or target_fps >= source_fps:
        return 0.0
    return 1.0 / target_fps


def iter_frames(
    path: str | Path,
    target_fps: float | None = 10.0,
    *,
    info: VideoInfo | None = None,
    only_indices: set[int] | None = None,
) -> Iterator[Frame]:
    """Stream frames of ``path`` at about ``target_fps`` (None = every frame), upright, in BGR.

    Skipped frames are grabbed but not converted. Timestamps come from the container
    (``CAP_PROP_POS_MSEC``) when it gives increasing values, else from ``index / fps``.
    ``only_indices`` keeps exactly those source frame indices instead (for rendering stills).
    Stops quietly at the first undecodable frame of a truncated file.
    """
    info = info or probe_video(path)
    step_s = sample_step(info.fps, target_fps)
    cap = _open_capture(Path(info.path))
    last_index = max(only_indices) if only_indices else None
    next_keep_s = 0.0
    prev_t = -1.0
    index = -1
    try:
        while True:
            if not cap.grab():
                return
            index += 1
            t_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = t_ms / 1000.0 if t_ms and t_ms / 1000.0 > prev_t else index / info.fps
            prev_t = t
            if only_indices is not None:
                keep = index in only_indices
            else:
                # half a source frame of slack so 30 -> 10 fps keeps every third frame exactly
                keep = t + 0.5 / info.fps >= next_keep_s
            if keep:
                ok, bgr = cap.retrieve()
                if not ok or bgr is None:
                    return
                if only_indices is None:
                    next_keep_s += step_s if step_s > 0 else 0.0
                    while step_s > 0 and next_keep_s <= t:
                        next_keep_s += step_s
                yield Frame(index=index, time_s=float(t), bgr=bgr)
            if last_index is not None and index >= last_index:
                return
    finally:
        cap.release()


def read_frame(path: str | Path, index: int) -> np.ndarray:
    """Decode one frame (BGR) by source index, seeking close to it and reading forward."""
    cap = _open_capture(Path(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, max(index, 0))
        pos = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
        if pos != index:  # inexact seek: read from the start
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            pos = 0
        frame = None
        while pos <= index:
            ok, frame = cap.read()
            if not ok:
                raise VideoError(f"Frame {index} of {path} could not be decoded.")
            pos += 1
        assert frame is not None
        return frame
    finally:
        cap.release()


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Content hash of a file (hex), streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()
