"""The frame pass's read-ahead thread: same frames in order, errors surface, early stops clean up."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from formcheck_core.render.frames import read_ahead
from formcheck_core.video import Frame


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
    got = [f.index for f in read_ahead(_frames(50, log), depth=3)]
    assert got == list(range(50))
    assert log["closed_in"] == "formcheck-render-decode"


def test_an_error_while_decoding_reaches_the_caller_after_the_frames_before_it():
    log: dict = {}
    seen = []
    with pytest.raises(ValueError, match="broken frame 7"):
        for f in read_ahead(_frames(20, log, fail_at=7)):
            seen.append(f.index)
    assert seen == list(range(7))


def test_stopping_early_stops_the_decoding_thread_and_closes_the_source():
    log: dict = {}
    frames = read_ahead(_frames(10_000, log), depth=2)
    for f in frames:
        if f.index == 5:
            break
    frames.close()
    deadline = time.monotonic() + 10
    while "closed_in" not in log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log["closed_in"] == "formcheck-render-decode"
    assert log["made"] < 20, "the thread stays at most a few frames ahead"
    assert not any(t.name == "formcheck-render-decode" and t.is_alive() for t in threading.enumerate())
