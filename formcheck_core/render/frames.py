"""One streaming decode pass feeding several consumers (stills, bar path backgrounds, the clip).

Frames are never collected: each decoded frame is handed to the consumers that want it and then
dropped. When no consumer wants every frame, OpenCV only converts the wanted ones
(``iter_frames(only_indices=...)``) and the pass stops after the last wanted frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..analysis import Analysis
from ..video import Frame, iter_frames


@dataclass(frozen=True)
class FrameConsumer:
    """``wanted``: source frame indices to receive (None = every frame); ``handle(frame)`` per frame."""

    wanted: frozenset[int] | None
    handle: Callable[[Frame], None]


def run_frame_pass(analysis: Analysis, consumers: Sequence[FrameConsumer]) -> int:
    """Decode the clip once and feed each frame to the consumers that want it; returns frames decoded.

    Frame indices are source indices in read order, the same as ``PoseSeries.frame_index``.
    """
    consumers = [c for c in consumers if c.wanted is None or c.wanted]
    if not consumers:
        return 0
    every = any(c.wanted is None for c in consumers)
    union: set[int] = set()
    for c in consumers:
        if c.wanted is not None:
            union |= c.wanted
    frames = (
        iter_frames(analysis.video.path, None, info=analysis.video)
        if every
        else iter_frames(analysis.video.path, None, info=analysis.video, only_indices=union)
    )
    n = 0
    for frame in frames:
        n += 1
        for c in consumers:
            if c.wanted is None or frame.index in c.wanted:
                c.handle(frame)
    return n
