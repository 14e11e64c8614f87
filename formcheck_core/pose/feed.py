"""Frame feed and series assembly shared by one-process and multi-process pose extraction.

:func:`prefetch` decodes frames ahead in a background thread (bounded queue, model-ready RGB),
or in the calling thread when :data:`DECODE_INLINE_ENV` is set (batch workers that already fill
every core: one thread per worker, no hand-over); :class:`SeriesBuilder` collects one pose row
per sampled frame into a :class:`PoseSeries`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..readahead import read_ahead
from ..video import DECODE_INLINE_ENV, Frame, Thumbnails, VideoInfo, iter_frames
from .backend import PoseBackend, PoseResult
from .series import PoseSeries

QUEUE_FRAMES = 4
#: Frames are downscaled (in the decode thread) so their long side is at most this many pixels
#: before pose estimation. The landmark model sees a 256x256 crop anyway; landmarks come back
#: normalised and are scaled to the original frame size, so outputs stay in source pixels.
MAX_SIDE_PX = 960

#: A picklable callable that opens a fresh backend, e.g. ``functools.partial(MediaPipePose, path)``.
BackendFactory = Callable[[], PoseBackend]
#: Called once per sampled frame, in time order, with the frame's index and the person analysed
#: there (None when nobody was found); e.g. to read numbers from the person's mask. Keep only
#: numbers from it, never frames or masks.
OnPerson = Callable[[int, PoseResult | None], None]


def to_model_rgb(bgr: np.ndarray, max_side_px: int = MAX_SIDE_PX) -> np.ndarray:
    """RGB copy of a BGR frame, downscaled (area interpolation) if its long side exceeds ``max_side_px``."""
    h, w = bgr.shape[:2]
    scale = max_side_px / max(h, w)
    if scale < 1.0:
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def decode_inline() -> bool:
    """Whether :func:`prefetch` decodes in the calling thread (:data:`DECODE_INLINE_ENV` is "1")."""
    return os.environ.get(DECODE_INLINE_ENV, "").strip() == "1"


def prefetch(frames: Iterator[Frame]) -> Iterator[Frame]:
    """``frames`` as model-ready RGB, decoded ahead in a background thread (bounded queue), or in
    the calling thread when :func:`decode_inline` (identical frames either way)."""
    if decode_inline():
        return (Frame(f.index, f.time_s, to_model_rgb(f.bgr)) for f in frames)
    converted = (Frame(f.index, f.time_s, to_model_rgb(f.bgr)) for f in frames)  # in the thread
    return read_ahead(converted, QUEUE_FRAMES, name="formcheck-decode")


def prefetch_frames(
    path: str | Path, target_fps: float | None, info: VideoInfo, thumbnails: Thumbnails | None = None
) -> Iterator[Frame]:
    """:func:`iter_frames` decoded ahead in a background thread (bounded queue), as model-ready RGB
    (``thumbnails``: collect every decoded frame's thumbnail on the side, see :func:`iter_frames`)."""
    return prefetch(iter_frames(path, target_fps, info=info, thumbnails=thumbnails))


def choose_person(poses: list[PoseResult]) -> PoseResult:
    """The person to analyse when several are found: the largest (nearest) by landmark extent."""

    def extent(p: PoseResult) -> float:
        xy = p.image_xyzv[:, :2]
        return float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]))

    return max(poses, key=extent)


def estimated_samples(info: VideoInfo, target_fps: float | None) -> int:
    """Rough number of sampled frames (for the progress bar)."""
    n = info.frame_count_header
    if target_fps and 0 < target_fps < info.fps:
        n = int(np.ceil(n * target_fps / info.fps))
    return max(n, 1)


class SeriesBuilder:
    """Collects one row per sampled frame and builds the :class:`PoseSeries` (NaN where no pose)."""

    def __init__(self, info: VideoInfo) -> None:
        self.info = info
        self.frame_index: list[int] = []
        self.time_s: list[float] = []
        self.image_xyzv: list[np.ndarray] = []
        self.world_xyz_m: list[np.ndarray] = []
        self.people_count: list[int] = []

    def add(self, frame: Frame, poses: list[PoseResult]) -> PoseResult | None:
        """Append the frame's row (the :func:`choose_person` of ``poses``); returns that person."""
        person = choose_person(poses) if poses else None
        self.frame_index.append(frame.index)
        self.time_s.append(frame.time_s)
        self.image_xyzv.append(person.image_xyzv if person else np.full((33, 4), np.nan))
        self.world_xyz_m.append(person.world_xyz_m if person else np.full((33, 3), np.nan))
        self.people_count.append(len(poses))
        return person

    def build(self, target_fps: float | None, model_id: str, running_mode: str) -> PoseSeries:
        n, info = len(self.frame_index), self.info
        img = np.asarray(self.image_xyzv, dtype=np.float64).reshape(n, 33, 4)
        return PoseSeries(
            frame_index=np.asarray(self.frame_index, dtype=np.int64),
            time_s=np.asarray(self.time_s, dtype=np.float64),
            image_xy_px=img[:, :, :2] * (info.width_px, info.height_px),
            image_z=img[:, :, 2].copy(),
            world_xyz_m=np.asarray(self.world_xyz_m, dtype=np.float64).reshape(n, 33, 3),
            visibility=img[:, :, 3].copy(),
            people_count=np.asarray(self.people_count, dtype=np.int64),
            width_px=info.width_px,
            height_px=info.height_px,
            source_fps=info.fps,
            sample_fps=target_fps,
            model_id=model_id,
            running_mode=running_mode,
        )


def progress_bar(info: VideoInfo, total: int, progress: bool, what: str = "pose"):
    """A tqdm bar (notebook widget or terminal) counting sampled frames, labelled ``what`` and the
    clip's name; disabled when not ``progress``."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=f"{what} {Path(info.path).name}", unit="frame", disable=not progress, leave=False
    )
