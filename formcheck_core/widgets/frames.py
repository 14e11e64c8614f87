"""Frames on demand for the explorer: a bounded cache of display-size frames, decoded lazily.

The whole clip is never held in memory. :class:`FrameSource` keeps an LRU cache of the frames
the explorer shows (cropped and scaled to the display size, stored JPEG-compressed, bounded by a
byte budget), decodes a missing frame with one persistent :class:`~formcheck_core.video.FrameReader`, and optionally fills the cache in the
background with one sequential pass over the sampled frames at a low thread priority, so
slider jumps rarely wait for a decode from a distant keyframe.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable

import cv2
import numpy as np

from ..render.layout import ViewBox
from ..video import FrameReader, VideoInfo, iter_frames

#: JPEG quality of cached frames (they are re-encoded after drawing, so keep it high).
CACHE_JPEG_QUALITY = 92


class FrameSource:
    """Display-size frames of one clip by source frame index, through a byte-bounded LRU cache.

    ``view`` crops and scales source frames to the display picture. ``budget_bytes`` bounds the
    cache (JPEG bytes). ``prefetch``: source frame indices to decode in the background, in order
    (None = none); the pass stops when the cache is full or :meth:`close` is called.
    """

    def __init__(
        self,
        info: VideoInfo,
        view: ViewBox,
        *,
        budget_bytes: int = 48 << 20,
        prefetch: Iterable[int] | None = None,
    ) -> None:
        self.info = info
        self.view = view
        self.budget_bytes = int(budget_bytes)
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._bytes = 0
        self._cache_lock = threading.Lock()
        self._reader = FrameReader(info.path)
        self._reader_lock = threading.Lock()
        self._stop = threading.Event()
        self.hits = 0
        self.misses = 0
        self._prefetcher: threading.Thread | None = None
        wanted = sorted({int(i) for i in prefetch}) if prefetch is not None else []
        if wanted:
            self._prefetcher = threading.Thread(
                target=self._prefetch, args=(wanted,), name="formcheck-frame-prefetch", daemon=True
            )
            self._prefetcher.start()

    # -- cache ---------------------------------------------------------------------------------
    def _put(self, index: int, picture_bgr: np.ndarray) -> bool:
        ok, buf = cv2.imencode(".jpg", picture_bgr, [cv2.IMWRITE_JPEG_QUALITY, CACHE_JPEG_QUALITY])
        if not ok:
            return False
        data = buf.tobytes()
        with self._cache_lock:
            if index in self._cache:
                return True
            self._cache[index] = data
            self._bytes += len(data)
            while self._bytes > self.budget_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._bytes -= len(old)
        return True

    def _get_cached(self, index: int) -> np.ndarray | None:
        with self._cache_lock:
            data = self._cache.get(index)
            if data is not None:
                self._cache.move_to_end(index)
        if data is None:
            return None
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    @property
    def cached_frames(self) -> int:
        """How many frames the cache holds now."""
        with self._cache_lock:
            return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """Bytes the cache holds now (JPEG data)."""
        with self._cache_lock:
            return self._bytes

    # -- access --------------------------------------------------------------------------------
    def get(self, frame_index: int) -> np.ndarray:
        """The display picture (BGR, a fresh array) of source frame ``frame_index``."""
        picture = self._get_cached(frame_index)
        if picture is not None:
            self.hits += 1
            return picture
        self.misses += 1
        with self._reader_lock:
            picture = self.view.apply(self._reader.read(int(frame_index)))
        self._put(int(frame_index), picture)
        return picture

    def _prefetch(self, wanted: list[int]) -> None:
        try:  # Linux: lower this thread's priority so it never competes with interaction
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 15)
        except (AttributeError, OSError):
            pass
        try:
            for frame in iter_frames(self.info.path, None, info=self.info, only_indices=set(wanted)):
                if self._stop.is_set():
                    return
                with self._cache_lock:
                    have = frame.index in self._cache
                    full = self._bytes >= self.budget_bytes
                if full:
                    return
                if not have:
                    self._put(frame.index, self.view.apply(frame.bgr))
        except Exception:
            return

    def wait_prefetch(self, timeout_s: float | None = None) -> bool:
        """Block until the background pass has finished (True) or ``timeout_s`` passed (False)."""
        if self._prefetcher is None:
            return True
        self._prefetcher.join(timeout_s)
        return not self._prefetcher.is_alive()

    def close(self) -> None:
        """Stop the background pass and release the reader."""
        self._stop.set()
        with self._reader_lock:
            self._reader.close()
