"""One streaming decode pass feeding several consumers (stills, bar path backgrounds, the clip).

Frames are never collected: each decoded frame is handed to the consumers that want it and then
dropped. When no consumer wants every frame, only the wanted ones are converted to pixels
(``iter_frames(only_indices=...)``) and the pass stops after the last wanted frame. Decoding and
the conversion to BGR run ahead in a background thread (:func:`~formcheck_core.readahead.read_ahead`, a few frames), so
they overlap the drawing on a second core (FFmpeg releases the GIL while it decodes and converts).
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping, Sequence
from contextlib import closing
from dataclasses import dataclass

from ..analysis import Analysis
from ..readahead import read_ahead
from ..video import Frame, iter_frames

#: Decoded frames held ahead of the drawing (each a full BGR frame: ~6 MB at 1080p).
READ_AHEAD_FRAMES = 4


@dataclass(frozen=True)
class FrameConsumer:
    """``wanted``: source frame indices to receive (None = every ``stride``-th frame, from frame 0
    to the end); ``handle(frame)`` per frame.

    ``name`` labels the consumer's time in :func:`run_frame_pass`'s ``timings_s``.
    """

    wanted: frozenset[int] | None
    handle: Callable[[Frame], None]
    name: str = "consumer"
    stride: int = 1

    def wants(self, index: int) -> bool:
        """Whether this consumer receives source frame ``index``."""
        return index % self.stride == 0 if self.wanted is None else index in self.wanted


def run_frame_pass(
    analysis: Analysis,
    consumers: Sequence[FrameConsumer],
    timings_s: MutableMapping[str, float] | None = None,
) -> int:
    """Decode the clip once and feed each frame to the consumers that want it (see below).

    Frame indices are source indices in read order, the same as ``PoseSeries.frame_index``; returns
    the number of frames handed to consumers (converted to pixels).
    ``timings_s``: if given, wall seconds are added under ``"decode_s"`` (waiting for the decoding
    thread) and ``"<consumer name>_s"`` (time in each consumer's ``handle``).
    """
    consumers = [c for c in consumers if c.wanted is None or c.wanted]
    if not consumers:
        return 0
    strides = sorted({c.stride for c in consumers if c.wanted is None})
    union: set[int] = set()
    for c in consumers:
        if c.wanted is not None:
            union |= c.wanted
    if not strides:  # only chosen frames: stop after the last
        frames = iter_frames(analysis.video.path, None, info=analysis.video, only_indices=union)
    elif strides == [1]:
        frames = iter_frames(analysis.video.path, None, info=analysis.video)
    else:  # to the end, converting only the frames someone wants
        frames = iter_frames(
            analysis.video.path,
            None,
            info=analysis.video,
            keep_index=lambda i: i in union or any(i % s == 0 for s in strides),
        )
    ahead = read_ahead(frames, READ_AHEAD_FRAMES, name="formcheck-render-decode")
    n = 0
    clock = time.perf_counter
    spent = dict.fromkeys(["decode_s", *(f"{c.name}_s" for c in consumers)], 0.0)
    with closing(ahead):  # a consumer's error stops the decoding thread at once
        t = clock()
        for frame in ahead:
            now = clock()
            spent["decode_s"] += now - t
            n += 1
            for c in consumers:
                if c.wants(frame.index):
                    c.handle(frame)
                    t = clock()
                    spent[f"{c.name}_s"] += t - now
                    now = t
            t = clock()
    if timings_s is not None:
        for key, value in spent.items():
            timings_s[key] = timings_s.get(key, 0.0) + value
    return n
