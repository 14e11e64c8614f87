"""Read ahead: an iterator's items produced by a background thread, a bounded number ahead.

Used where the producer releases the GIL (FFmpeg decoding and colour conversion, OpenCV resizing)
so it overlaps the consumer on a second core: the pose pass's decoding
(:func:`formcheck_core.pose.feed.prefetch`) and the render's frame pass
(:func:`formcheck_core.render.frames.run_frame_pass`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")
_DONE = object()


def read_ahead(
    items: Iterator[T], depth: int, *, name: str = "formcheck-read-ahead"
) -> Generator[T, None, None]:
    """``items``, produced by a background thread (named ``name``) at most ``depth`` items ahead of
    the caller.

    The producer's exceptions are re-raised here; when the caller stops early (or raises), the
    producer stops and closes ``items`` in its own thread (so e.g. the video file is closed).
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # re-raised in the caller
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
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
        thread.join(timeout=10)
