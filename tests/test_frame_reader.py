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
    path = dev_clip("phone_side_a")
    frames = {f.index: f.bgr for f in iter_frames(path, None)}
    decoded = []
    wanted = [24, 25, 83, 84, 98, len(frames) - 1]  # gaps beyond FrameReader.READ_AHEAD
    with FrameReader(path) as reader:
        plain = reader._decode

        def counting():
            for frame in plain():
                decoded.append(frame.pts)
                yield frame

        monkeypatch.setattr(reader, "_decode", counting)
        assert reader._keyframes == [0]
        for i in wanted:
            assert np.array_equal(reader.read(i), frames[i]), f"frame {i} differs"
    assert len(decoded) == len(set(decoded)) == wanted[-1] + 1


@pytest.mark.parametrize("stem", ["reel_good_14", "gym1080_bad_02", "phone_side_a"])
def test_announced_reads_skip_other_non_reference_frames_and_return_the_same_frames(
    dev_clip, stem, monkeypatch
):
    """With want(), frames not announced that no other frame is decoded from are skipped (these
    H.264 clips have B-frames): the announced frames are still exactly the sequential ones."""
    path = dev_clip(stem)
    frames = {f.index: f.bgr for f in iter_frames(path, None)}
    n = len(frames)
    wanted = sorted({10, 11, n // 2, n // 2 + 1, n - 3, n - 2} & set(range(n)))
    decoded = {}
    for announce in (False, True):
        with FrameReader(path) as reader:
            count = []
            plain = reader._decode

            def counting(plain=plain, count=count):
                for frame in plain():
                    count.append(frame.pts)
                    yield frame

            monkeypatch.setattr(reader, "_decode", counting)
            if announce:
                reader.want(wanted)
            for i in wanted:
                assert np.array_equal(reader.read(i), frames[i]), f"frame {i} of {stem} differs"
            assert np.array_equal(reader.read(3), frames[3])  # not announced: read all the same
            decoded[announce] = len(count)
    assert decoded[True] < decoded[False]
