"""Annotated clip: H.264 / yuv420p / faststart mp4 that decodes back with every source frame."""

from __future__ import annotations

import struct

import av
import numpy as np
import pytest
from render_support import cues_for, handmade_analysis

from formcheck_core.cues import Cue
from formcheck_core.render import style as st
from formcheck_core.render.clip import (
    FAULT_WINDOW_S,
    ClipWriter,
    KeypointTrack,
    cue_captions,
    write_annotated_clip,
)
from formcheck_core.render.overlay import draw_pose
from formcheck_core.video import iter_frames

CLIP = "posereader_good.mp4"  # 600x600, 62 frames, one rep


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


@pytest.fixture(scope="module")
def written(analysis, tmp_path_factory):
    cue = Cue(
        1,
        "Push the floor away",
        "test cue",
        rep=1,
        frame_index=analysis.reps[0].moments["liftoff"].frame_index,
        time_s=analysis.reps[0].moments["liftoff"].time_s,
    )
    out = tmp_path_factory.mktemp("clip") / "annotated.mp4"
    return write_annotated_clip(analysis, out, [cue]), cue


def _top_level_boxes(path) -> list[bytes]:
    data = path.read_bytes()
    boxes, i = [], 0
    while i + 8 <= len(data):
        size = struct.unpack(">I", data[i : i + 4])[0]
        boxes.append(data[i + 4 : i + 8])
        if size < 8:
            break
        i += size
    return boxes


def test_h264_mp4_with_every_frame(analysis, written):
    result, _ = written
    n_source = sum(1 for _ in iter_frames(analysis.video.path, None))
    assert result.frames == n_source
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
    assert len(frames) == n_source
    h, w = frames[0].shape[:2]
    assert (w, h) == (result.width_px, result.height_px) and w % 2 == 0 and h % 2 == 0
    boxes = _top_level_boxes(result.path)
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # faststart: playable while downloading


def test_frames_carry_skeleton_and_caption_at_the_cue_moment(analysis, written):
    result, cue = written
    with av.open(str(result.path)) as container:
        frames = {i: f.to_ndarray(format="bgr24") for i, f in enumerate(container.decode(video=0))}
    at_cue = frames[cue.frame_index]
    far = frames[max(0, cue.frame_index - 20)] if cue.frame_index >= 20 else frames[len(frames) - 1]
    bottom = slice(at_cue.shape[0] - 60, at_cue.shape[0])
    assert (at_cue[bottom].min(axis=2) > 200).sum() > 150  # white caption text
    assert (far[bottom].min(axis=2) > 200).sum() < 20  # no caption far from the moment
    near = np.all(np.abs(at_cue.astype(int) - st.NEAR) <= 50, axis=2).sum()
    assert near > 300  # skeleton drawn (amber, after lossy encoding)


def test_every_frame_shows_its_own_pose_clock_and_captions(analysis, written, tmp_path):
    """The writer draws into a few reused output pictures: each written frame must show its own
    crop with the pose ``draw_pose`` draws on that source frame (skeleton, arcs, read-outs), its
    own clock, and a caption exactly while its cue is on screen (no band left from a reuse)."""
    result, cue = written
    ref = ClipWriter(analysis, tmp_path / "ref.mp4", [cue])  # its layout only
    ref.abort()
    top_h, crop_h = ref.top_h, ref.view.out_size[1]
    with av.open(str(result.path)) as container:
        out = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    fps = analysis.video.fps
    drawn_frames = 0
    for frame in iter_frames(analysis.video.path, None, info=analysis.video):
        pic = out[frame.index].astype(int)
        plain = ref.view.apply(frame.bgr)
        expected = plain.copy()
        kp, sample = ref.track.at(frame.index), ref.track.sample_near(frame.index)
        if kp is not None and sample >= 0:
            live = [
                f
                for f in analysis.findings
                if f.is_fault
                and f.frame_index is not None
                and -FAULT_WINDOW_S[0] * fps <= frame.index - f.frame_index <= FAULT_WINDOW_S[1] * fps
            ]
            expected = draw_pose(
                plain, analysis, sample, findings=live, view=ref.view, keypoints=kp, style=ref.style
            )
        drawn = np.any(expected != plain, axis=2)
        if drawn.sum() > 500:
            drawn_frames += 1
            middle = pic[top_h : top_h + crop_h]
            assert np.abs(middle[drawn] - expected[drawn]).mean() < 12, frame.index  # lossy H.264
        bottom_text = (out[frame.index][top_h + crop_h :].min(axis=2) > 200).sum()
        on_screen = any(c.first_frame <= frame.index <= c.last_frame for c in ref.captions)
        assert (bottom_text > 150) if on_screen else (bottom_text < 20), frame.index
        if frame.index:  # the clock moves every frame
            assert np.abs(pic[:top_h] - out[frame.index - 1][:top_h].astype(int)).max() > 60, frame.index
    assert drawn_frames > len(out) // 2


def test_captions_windows(analysis):
    lo = analysis.reps[0].moments["liftoff"]
    cues = [
        Cue(2, "at a frame", "", frame_index=lo.frame_index),
        Cue(1, "for a rep", "", rep=1),
        Cue(3, "general", ""),
        Cue(4, "tiny model", "", frame_index=lo.frame_index, source="test-model"),
    ]
    caps = cue_captions(analysis, cues)
    assert [c.priority for c in caps] == [1, 2, 3, 4]
    at_frame = caps[1]
    assert at_frame.first_frame < lo.frame_index < at_frame.last_frame
    assert caps[2].first_frame == 0
    assert "not advice" in caps[3].text


def test_keypoint_track_interpolates_between_samples(analysis):
    track = KeypointTrack(analysis)
    fi = analysis.body.frame_index
    kp = analysis.body.keypoints_px
    j = next(
        i
        for i in range(1, len(fi))
        if np.isfinite(kp[i - 1, 23]).all() and np.isfinite(kp[i, 23]).all() and fi[i] - fi[i - 1] >= 2
    )
    mid = (int(fi[j - 1]) + int(fi[j])) // 2
    w = (mid - fi[j - 1]) / (fi[j] - fi[j - 1])
    expected = (1 - w) * kp[j - 1, 23] + w * kp[j, 23]
    np.testing.assert_allclose(track.at(mid)[23], expected)
    np.testing.assert_array_equal(track.at(int(fi[j]))[23], kp[j, 23])
    assert track.at(int(fi[-1]) + 1000) is None


def test_real_cues_render(analysis, tmp_path):
    result = write_annotated_clip(analysis, tmp_path / "a.mp4", cues_for(analysis), max_side_px=480)
    assert result.path.is_file() and result.frames > 0 and result.width_px <= 480


def test_frame_stride_caps_the_clip_near_30_fps():
    from formcheck_core.render.clip import frame_stride

    assert [frame_stride(f) for f in (24.0, 29.97, 30.0, 37.0)] == [1, 1, 1, 1]
    assert [frame_stride(f) for f in (50.0, 59.94, 60.0, 120.0)] == [2, 2, 2, 4]
    assert frame_stride(float("nan")) == 1


def test_a_60_fps_clip_is_written_at_30_fps_with_its_timing(tmp_path):
    a = handmade_analysis("kettlebell_rounded_side.mp4")  # 360x640 at 60 fps
    assert a.video.fps == pytest.approx(60.0)
    n_source = sum(1 for _ in iter_frames(a.video.path, None, info=a.video))
    result = write_annotated_clip(a, tmp_path / "k.mp4", cues_for(a))
    assert result.fps == pytest.approx(30.0)
    assert result.frames == (n_source + 1) // 2
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(30.0, rel=0.01)
        duration_s = float(stream.duration * stream.time_base) if stream.duration else result.frames / 30.0
    assert duration_s == pytest.approx(n_source / 60.0, abs=0.1)  # same length as the source
