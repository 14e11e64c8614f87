"""Run a pose backend over a clip's sampled frames and assemble a :class:`PoseSeries`.

Decoding runs in a background thread feeding a small bounded queue, so OpenCV decodes the next
frames while the pose model works on the current one, and memory stays flat whatever the clip
length (at most ``QUEUE_FRAMES`` frames are alive at once).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..video import Frame, VideoInfo, iter_frames, probe_video
from .backend import PoseBackend, PoseResult
from .series import PoseSeries

QUEUE_FRAMES = 4
#: Frames are downscaled (in the decode thread) so their long side is at most this many pixels
#: before pose estimation. The landmark model sees a 256x256 crop anyway; landmarks come back
#: normalised and are scaled to the original frame size, so outputs stay in source pixels.
MAX_SIDE_PX = 960
_DONE = object()


def to_model_rgb(bgr: np.ndarray, max_side_px: int = MAX_SIDE_PX) -> np.ndarray:
    """RGB copy of a BGR frame, downscaled (area interpolation) if its long side exceeds ``max_side_px``."""
    h, w = bgr.shape[:2]
    scale = max_side_px / max(h, w)
    if scale < 1.0:
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def prefetch_frames(path: str | Path, target_fps: float | None, info: VideoInfo) -> Iterator[Frame]:
    """:func:`iter_frames` decoded ahead in a background thread (bounded queue), as model-ready RGB."""
    q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in iter_frames(path, target_fps, info=info):
                frame = Frame(frame.index, frame.time_s, to_model_rgb(frame.bgr))
                while not stop.is_set():
                    try:
                        q.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="formcheck-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


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


def extract_pose(
    path: str | Path,
    backend: PoseBackend,
    *,
    target_fps: float | None = 10.0,
    info: VideoInfo | None = None,
    model_id: str = "unknown",
    progress: bool = True,
) -> PoseSeries:
    """Pose of one person over the sampled frames of ``path``; frames with no pose stay as NaN."""
    from tqdm.auto import tqdm

    info = info or probe_video(path)
    w, h = info.width_px, info.height_px
    frame_idx, times, img, depth, world, vis, people = [], [], [], [], [], [], []
    nan_img = np.full((33, 4), np.nan)
    nan_world = np.full((33, 3), np.nan)
    bar = tqdm(
        total=estimated_samples(info, target_fps), desc=f"pose {Path(info.path).name}",
        unit="frame", disable=not progress, leave=False,
    )  # fmt: skip
    with bar:
        for frame in prefetch_frames(path, target_fps, info):
            poses = backend.detect(frame.bgr, frame.time_s)  # frame.bgr holds model RGB (see prefetch)
            person = choose_person(poses) if poses else None
            lm = person.image_xyzv if person else nan_img
            frame_idx.append(frame.index)
            times.append(frame.time_s)
            img.append(lm[:, :2] * (w, h))
            depth.append(lm[:, 2])
            vis.append(lm[:, 3])
            world.append(person.world_xyz_m if person else nan_world)
            people.append(len(poses))
            bar.update(1)
    n = len(frame_idx)
    return PoseSeries(
        frame_index=np.asarray(frame_idx, dtype=np.int64),
        time_s=np.asarray(times, dtype=np.float64),
        image_xy_px=np.asarray(img, dtype=np.float64).reshape(n, 33, 2),
        image_z=np.asarray(depth, dtype=np.float64).reshape(n, 33),
        world_xyz_m=np.asarray(world, dtype=np.float64).reshape(n, 33, 3),
        visibility=np.asarray(vis, dtype=np.float64).reshape(n, 33),
        people_count=np.asarray(people, dtype=np.int64),
        width_px=w,
        height_px=h,
        source_fps=info.fps,
        sample_fps=target_fps,
        model_id=model_id,
        running_mode=backend.running_mode,
    )
