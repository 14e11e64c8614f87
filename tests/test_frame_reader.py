"""FrameReader: random access by frame index returns exactly the frame sequential decoding gives."""

from __future__ import annotations

import random

import numpy as np
import pytest

from formcheck_core.video import FrameReader, iter_frames

#: gym1080_bad_02 has open GOPs (keyframes 0, 29, 58, 87): seeking to frame 81 once landed on the
#: keyframe at 87 and its leading B-frames, so frames 81 and nearby "could not be decoded".
CLIPS = ("gym1080_bad_02", "posereader_good")


@pytest.mark.parametrize("stem", CLIPS)
def test_random_access_matches_sequential_decoding(dev_clip, stem):
    path = dev_clip(stem)
    frames = {f.index: f.bgr for f in iter_frames(path, None)}
    n = len(frames)
    rng = random.Random(0)
    wanted = [81, 82, 86, 87, n - 1, 0, *rng.sample(range(n), 12)]
    wanted = [i for i in wanted if 0 <= i < n]
    with FrameReader(path) as reader:
        for i in wanted:  # in this order: backward and forward jumps, seeks and read-ahead
            assert np.array_equal(reader.read(i), frames[i]), f"frame {i} of {stem} differs"
    with FrameReader(path) as fresh:  # a fresh reader straight to a frame just before a keyframe
        assert np.array_equal(fresh.read(min(81, n - 1)), frames[min(81, n - 1)])


def test_forward_reads_decode_each_frame_once_where_no_keyframe_lies_between(dev_clip, monkeypatch):
    """phone_side_a has a single keyframe: reads far apart in time order decode straight on
    (a seek would restart at frame 0), and still return exactly the sequentially decoded frames."""
    import formcheck_core.video as video

    path = dev_clip("phone_side_a")
    frames = {f.index: f.bgr for f in iter_frames(path, None)}
    decoded = []
    plain = video._decoded

    def counting(container, stream):
        for frame in plain(container, stream):
            decoded.append(frame.pts)
            yield frame

    monkeypatch.setattr(video, "_decoded", counting)
    wanted = [24, 25, 83, 84, 98, len(frames) - 1]  # gaps beyond FrameReader.READ_AHEAD
    with FrameReader(path) as reader:
        assert reader._keyframes == [0]
        for i in wanted:
            assert np.array_equal(reader.read(i), frames[i]), f"frame {i} differs"
    assert len(decoded) == len(set(decoded)) == wanted[-1] + 1
