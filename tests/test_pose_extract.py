"""Pose extraction on one process and split over two: same samples, close landmarks, clean failures.

Runs the real MediaPipe model on real dev clips; truncated copies are made in a temporary folder.
"""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from formcheck_core.errors import VideoError
from formcheck_core.pose.extract import extract_pose
from formcheck_core.pose.mediapipe_backend import MediaPipePose
from formcheck_core.pose.parallel import split_samples
from formcheck_core.video import iter_frames, plan_samples

pytestmark = pytest.mark.timeout(300)


def landmark_error_px(a, b) -> np.ndarray:
    """Per-landmark distance (px) between two series with the same samples, where both found a pose."""
    both = a.detected & b.detected
    return np.linalg.norm(a.image_xy_px[both] - b.image_xy_px[both], axis=-1).ravel()


@pytest.mark.parametrize(("stem", "fps"), [("kettlebell_correct_side", 10.0), ("gym1080_bad_02", None)])
def test_plan_from_timestamps_matches_decoding(dev_clip, stem, fps):
    """The demux-only plan keeps exactly the frames iter_frames keeps (gym1080_bad_02 has an edit list)."""
    clip = dev_clip(stem)
    plan = plan_samples(clip, fps)
    decoded = [(f.index, f.time_s) for f in iter_frames(clip, fps)]
    assert plan is not None
    assert list(zip(plan.kept_index, plan.kept_time_s, strict=False)) == decoded


def test_one_worker_is_the_one_process_path(dev_clip, pose_model):
    """A factory with workers=1 (and automatic mode on a short clip) equals running an open backend."""
    clip = dev_clip("posereader_good")
    with MediaPipePose(pose_model) as backend:
        direct = extract_pose(clip, backend, progress=False)
    factory = partial(MediaPipePose, pose_model)
    one = extract_pose(clip, factory, workers=1, progress=False)
    auto = extract_pose(clip, factory, progress=False)  # 21 samples: below the parallel threshold
    assert direct.n_samples == 21
    assert np.array_equal(direct.frame_index, [f.index for f in iter_frames(clip, 10.0)])
    for other in (one, auto):
        for name, arr in direct.arrays().items():
            np.testing.assert_array_equal(other.arrays()[name], arr, err_msg=name)
        assert other.meta() == direct.meta()


def test_open_backend_cannot_be_split(dev_clip, pose_model):
    with MediaPipePose(pose_model) as backend, pytest.raises(ValueError, match="factory"):
        extract_pose(dev_clip("posereader_good"), backend, workers=2, progress=False)


def test_split_gives_this_process_a_head_start():
    assert split_samples(263, 2) == [(0, 146), (146, 263)]
    assert split_samples(263, 3) == [(0, 108), (108, 185), (185, 263)]
    assert split_samples(20, 2) == [(0, 20)]  # too short to split
    for n, workers in [(1, 2), (37, 2), (38, 2), (49, 2), (1000, 4)]:
        ranges = split_samples(n, workers)
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(b == c and b - a >= 8 for (a, b), (c, _) in itertools.pairwise(ranges))


def test_two_workers_match_one_on_a_long_clip(dev_clip, pose_model, caplog):
    clip = dev_clip("kettlebell_correct_side")
    factory = partial(MediaPipePose, pose_model, running_mode="video")
    serial = extract_pose(clip, factory, workers=1, progress=False)
    with caplog.at_level(logging.DEBUG, logger="formcheck_core.pose.parallel"):
        split = extract_pose(clip, factory, workers=2, progress=False)
    assert "ranges, one per process: [(0, 120), (120, 211)]" in caplog.text
    np.testing.assert_array_equal(split.frame_index, serial.frame_index)
    np.testing.assert_array_equal(split.time_s, serial.time_s)
    assert split.meta() == serial.meta()
    assert abs(int(split.detected.sum()) - int(serial.detected.sum())) <= 2
    err = landmark_error_px(split, serial)
    assert np.median(err) < 1.0, np.median(err)  # differences only after the range start
    assert np.percentile(err, 90) < 10.0, np.percentile(err, 90)
    np.testing.assert_array_equal(split.image_xy_px[:120], serial.image_xy_px[:120])  # same first range
    again = extract_pose(clip, factory, workers=2, progress=False)
    np.testing.assert_array_equal(again.image_xy_px, split.image_xy_px)  # the split does not vary


def test_image_mode_split_is_identical_to_one_process(dev_clip, pose_model):
    """Without tracking, each sample depends on its frame alone: the ranges decode pixel-identical frames."""
    factory = partial(MediaPipePose, pose_model, running_mode="image")
    serial = extract_pose(dev_clip("front_b"), factory, workers=1, progress=False)
    split = extract_pose(dev_clip("front_b"), factory, workers=2, progress=False)
    for name, arr in serial.arrays().items():
        np.testing.assert_array_equal(split.arrays()[name], arr, err_msg=name)


@pytest.mark.parametrize(("damage", "at_share"), [("truncate", 0.4), ("truncate", 0.85), ("garble", 0.3)])
def test_damaged_clip_stops_where_one_process_stops(tmp_path, dev_clip, pose_model, damage, at_share):
    """A cut copy (demuxing ends there) or one with garbage mid-file (demuxing goes on, decoding stops)."""
    clip = dev_clip("front_b")  # index at the start of the file: a cut copy still opens
    data = bytearray(clip.read_bytes())
    at = int(len(data) * at_share)
    if damage == "truncate":
        data = data[:at]
    else:
        data[at : at + 20_000] = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    full = len(plan_samples(clip).kept_index)
    factory = partial(MediaPipePose, pose_model)
    serial = extract_pose(bad, factory, workers=1, progress=False)
    split = extract_pose(bad, factory, workers=2, progress=False)
    assert 0 < serial.n_samples < full
    np.testing.assert_array_equal(split.frame_index, serial.frame_index)
    np.testing.assert_array_equal(split.time_s, serial.time_s)


class FailsInChild:
    """A backend factory: the real model here, and in a child process a backend that fails mid-range."""

    def __init__(self, model: Path, how: str) -> None:
        self.model, self.how = model, how

    def __call__(self):
        import multiprocessing

        backend = MediaPipePose(self.model)
        if multiprocessing.parent_process() is not None:
            backend.detect = self.fail
        return backend

    def fail(self, rgb, time_s):
        if self.how == "error":
            raise VideoError("frame could not be read (injected)")
        import os

        os._exit(3)  # the worker dies without a word


def test_error_in_a_worker_surfaces_here(dev_clip, pose_model):
    with pytest.raises(VideoError, match="injected"):
        extract_pose(dev_clip("front_b"), FailsInChild(pose_model, "error"), workers=2, progress=False)


def test_worker_that_dies_is_reported_not_waited_for(dev_clip, pose_model):
    with pytest.raises(RuntimeError, match="exited"):
        extract_pose(dev_clip("front_b"), FailsInChild(pose_model, "exit"), workers=2, progress=False)


def test_keyboard_interrupt_leaves_no_worker_behind(dev_clip, pose_model, tmp_path):
    script = textwrap.dedent(
        f"""
        import os, signal, threading, multiprocessing
        from functools import partial
        from formcheck_core.pose.extract import extract_pose
        from formcheck_core.pose.mediapipe_backend import MediaPipePose

        if __name__ == "__main__":
            threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGINT)).start()
            try:
                extract_pose({str(dev_clip("kettlebell_correct_side"))!r},
                             partial(MediaPipePose, {str(pose_model)!r}), target_fps=30.0, workers=2, progress=False)
                print("finished before the interrupt")
            except KeyboardInterrupt:
                print("interrupted; children alive:", len(multiprocessing.active_children()))
        """
    )
    path = tmp_path / "interrupt.py"
    path.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert "interrupted; children alive: 0" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_inline_decoding_yields_the_frames_of_the_decoder_thread(dev_clip, monkeypatch):
    """FORMCHECK_DECODE_INLINE=1 (batch workers filling the cores) decodes in the calling thread:
    the same frames, times and model-ready pixels as the background decoder thread."""
    import threading

    from formcheck_core.pose.feed import prefetch_frames
    from formcheck_core.video import DECODE_INLINE_ENV, probe_video

    clip = dev_clip("reel_good_15")  # 1280x720: downscaled for the model
    info = probe_video(clip)
    got = {}
    for inline in ("1", "0"):
        monkeypatch.setenv(DECODE_INLINE_ENV, inline)
        before = threading.active_count()
        frames = prefetch_frames(clip, 10.0, info)
        first = next(frames)
        threads = threading.active_count() - before
        got[inline] = [first, *frames]
        assert threads == (0 if inline == "1" else 1)
    assert [(f.index, f.time_s) for f in got["1"]] == [(f.index, f.time_s) for f in got["0"]]
    assert all(np.array_equal(a.bgr, b.bgr) for a, b in zip(got["1"], got["0"], strict=True))
    assert max(got["1"][0].bgr.shape[:2]) == 960
