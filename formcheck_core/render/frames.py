"""One streaming decode pass feeding several consumers (stills, bar path backgrounds, the clip).

Frames are never collected: each decoded frame is handed to the consumers that want it and then
dropped. When no consumer wants every frame, OpenCV only converts the wanted ones
(``iter_frames(only_indices=...)``) and the pass stops after the last wanted frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass

from ..analysis import Analysis
from ..video import Frame, iter_frames


@dataclass(frozen=True)
class FrameConsumer:
    """``wanted``: source frame indices to receive (None = every frame); ``handle(frame)`` per frame.

    ``name`` labels the consumer's time in :func:`run_frame_pass`'s ``timings_s``.
    """

    wanted: frozenset[int] | None
    handle: Callable[[Frame], None]
    name: str = "consumer"


def run_frame_pass(
    analysis: Analysis,
    consumers: Sequence[FrameConsumer],
    timings_s: MutableMapping[str, float] | None = None,
) -> int:
    """Decode the clip once and feed each frame to the consumers that want it; returns frames decoded.

    Frame indices are source indices in read order, the same as ``PoseSeries.frame_index``.
    ``timings_s``: if given, wall seconds are added under ``"decode_s"`` (waiting for frames) and
    ``"<consumer name>_s"`` (time in each consumer's ``handle``).
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
    clock = time.perf_counter
    spent = dict.fromkeys(["decode_s", *(f"{c.name}_s" for c in consumers)], 0.0)
    t = clock()
    for frame in frames:
        now = clock()
        spent["decode_s"] += now - t
        n += 1
        for c in consumers:
            if c.wanted is None or frame.index in c.wanted:
                c.handle(frame)
                t = clock()
                spent[f"{c.name}_s"] += t - now
                now = t
        t = clock()
    if timings_s is not None:
        for key, value in spent.items():
            timings_s[key] = timings_s.get(key, 0.0) + value
    return n
