"""The frame pass's read-ahead thread: same frames in order, errors surface, early stops clean up."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from formcheck_core.readahead import read_ahead
from formcheck_core.video import Frame

NAME = "formcheck-render-decode"


def _frames(n: int, log: dict, fail_at: int | None = None):
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"broken frame {i}")
            log["made"] = i + 1
            yield Frame(i, i / 30.0, np.full((2, 2, 3), i % 256, np.uint8))
    finally:
        log["closed_in"] = threading.current_thread().name


def test_read_ahead_gives_every_frame_in_order_and_closes_the_source():
    log: dict = {}
    got = [f.index for f in read_ahead(_frames(50, log), 3, name=NAME)]
    assert got == list(range(50))
    assert log["closed_in"] == NAME


def test_an_error_while_decoding_reaches_the_caller_after_the_frames_before_it():
    log: dict = {}
    seen = []
    with pytest.raises(ValueError, match="broken frame 7"):
        for f in read_ahead(_frames(20, log, fail_at=7), 4, name=NAME):
            seen.append(f.index)
    assert seen == list(range(7))


def test_stopping_early_stops_the_decoding_thread_and_closes_the_source():
    log: dict = {}
    frames = read_ahead(_frames(10_000, log), 2, name=NAME)
    for f in frames:
        if f.index == 5:
            break
    frames.close()
    deadline = time.monotonic() + 10
    while "closed_in" not in log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log["closed_in"] == NAME
    assert log["made"] < 20, "the thread stays at most a few frames ahead"
    assert not any(t.name == NAME and t.is_alive() for t in threading.enumerate())


def test_a_strided_consumer_gets_every_nth_frame_to_the_end_and_chosen_ones_get_theirs(dev_clip):
    """A 60 fps clip written at 30 fps: only every other frame (and the stills' frames) is
    converted; the strided consumer sees frames 0, 2, 4, ... to the last frame of the clip."""
    from types import SimpleNamespace

    from formcheck_core.render.frames import FrameConsumer, run_frame_pass
    from formcheck_core.video import probe_video

    info = probe_video(dev_clip("kettlebell_rounded_side"))
    analysis = SimpleNamespace(video=info)  # the pass reads only the clip's facts
    strided: list[int] = []
    chosen: list[int] = []
    n = run_frame_pass(
        analysis,
        [
            FrameConsumer(None, lambda f: strided.append(f.index), "clip", stride=2),
            FrameConsumer(frozenset({3, 7, 8}), lambda f: chosen.append(f.index), "stills"),
        ],
    )
    total = info.frame_count_header
    assert strided == list(range(0, len(strided) * 2, 2))
    assert strided[-1] >= total - 2 - 5  # to the end (the header count may be off by a few)
    assert chosen == [3, 7, 8]
    assert n == len(set(strided) | {3, 7})  # frames converted, 8 is a strided one


def test_frames_converted_with_one_scaler_per_stream_are_ffmpeg_s_own_pixels(dev_clip):
    """iter_frames keeps one FFmpeg scaler for the stream (cheaper than one per frame): every
    pixel is what ``frame.to_ndarray(format="bgr24")`` gives, frame by frame."""
    from itertools import islice

    import av

    from formcheck_core.video import iter_frames

    path = dev_clip("kettlebell_rounded_side")
    with av.open(str(path)) as container:
        ref = [f.to_ndarray(format="bgr24") for f in islice(container.decode(video=0), 12)]
    got = [f.bgr for f in islice(iter_frames(path, None), 12)]
    assert len(got) == len(ref) == 12
    for a, b in zip(got, ref, strict=True):
        assert a.shape == b.shape and np.array_equal(a, b)
