"""Identity breaks (:mod:`formcheck_core.pose.identity`): pure checks on synthetic landmark
series, then the contract on a real multi-person compilation clip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from formcheck_core.pose.backend import PoseResult
from formcheck_core.pose.follow import follow_windows
from formcheck_core.pose.identity import (
    JITTER_REL,
    MAX_SPEED_REL_PER_S,
    IdentityBreak,
    body_length_mid_px,
    identity_breaks,
    joint_mid_px,
)
from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.pose.tracks import LifterTrack, follow_track, link_parts


def _person(
    hip_x_px: np.ndarray, fps: float = 10.0, length_px: float = 300.0
) -> tuple[np.ndarray, np.ndarray]:
    """(T, 33, 2) landmarks of an upright person whose hip midpoint is at ``hip_x_px`` (y 500):
    shoulders 100 px above the hips, knees and ankles below, so the body length is ``length_px``."""
    x = np.asarray(hip_x_px, float)
    xy = np.full((x.size, 33, 2), np.nan)
    for side, dx in (("left", -10.0), ("right", 10.0)):
        for joint, dy in (("shoulder", -100.0), ("hip", 0.0), ("knee", 100.0), ("ankle", length_px - 100.0)):
            xy[:, LANDMARK[f"{side}_{joint}"]] = np.stack([x + dx, np.full_like(x, 500.0 + dy)], axis=1)
    return xy, np.arange(x.size) / fps


def test_body_length_is_the_sum_of_the_midpoint_segments():
    xy, _ = _person(np.zeros(5), length_px=300.0)
    assert body_length_mid_px(xy) == pytest.approx(300.0)
    assert np.isnan(body_length_mid_px(np.full((4, 33, 2), np.nan)))


def test_a_person_moving_fast_but_humanly_is_one_person():
    # 1.5 body lengths/s (a brisk walk, faster than any pull) at 10 fps, with 0.05 body lengths of jitter
    rng = np.random.default_rng(0)
    x = np.arange(60) * 0.15 * 300.0 + rng.uniform(-15, 15, 60)
    xy, t = _person(x)
    assert identity_breaks(xy, t) == ()


def test_a_jump_to_another_place_is_a_break_at_the_sample_after_it():
    x = np.r_[np.full(20, 100.0), np.full(20, 400.0)]  # one body length in 0.1 s
    xy, t = _person(x)
    (b,) = identity_breaks(xy, t)
    assert (b.sample, b.previous_sample) == (20, 19)
    assert b.step_rel == pytest.approx(1.0)
    assert b.allowed_rel == pytest.approx(JITTER_REL + MAX_SPEED_REL_PER_S * 0.1)


def test_the_same_jump_at_a_scene_cut_is_not_a_break():
    x = np.r_[np.full(20, 100.0), np.full(20, 400.0)]
    xy, t = _person(x)
    assert identity_breaks(xy, t, shot_starts=(20,)) == ()
    assert len(identity_breaks(xy, t, shot_starts=(10, 30))) == 1  # cuts elsewhere: still a break


def test_the_allowance_grows_with_the_time_between_detected_samples():
    # 1 body length between detected samples 2 s apart (nobody found between): a person can walk that
    x = np.r_[np.full(10, 100.0), np.full(20, np.nan), np.full(10, 400.0)]
    xy, t = _person(x)
    assert identity_breaks(xy, t) == ()
    # the same step 0.2 s apart is not human
    x = np.r_[np.full(10, 100.0), np.full(1, np.nan), np.full(10, 400.0)]
    xy, t = _person(x)
    assert [b.sample for b in identity_breaks(xy, t)] == [11]


def test_the_same_step_is_a_break_at_a_higher_frame_rate_only_when_faster_than_a_person():
    # 0.25 body lengths per step: within the allowance at 10 fps (0.3), not at 30 fps (~0.17)
    x = np.r_[np.full(10, 100.0), np.full(10, 175.0)]
    assert identity_breaks(*_person(x, fps=10.0)) == ()
    assert len(identity_breaks(*_person(x, fps=30.0))) == 1


def test_a_left_right_swap_of_the_model_is_not_a_break():
    xy, t = _person(np.full(10, 100.0))
    swapped = xy.copy()
    for joint in ("shoulder", "hip", "knee", "ankle"):
        left, right = LANDMARK[f"left_{joint}"], LANDMARK[f"right_{joint}"]
        swapped[5:, [left, right]] = xy[5:, [right, left]]
    assert identity_breaks(swapped, t) == ()


def test_empty_and_undetected_series_have_no_break():
    assert identity_breaks(np.zeros((0, 33, 2)), np.zeros(0)) == ()
    assert identity_breaks(np.full((5, 33, 2), np.nan), np.arange(5) / 10) == ()


def test_compilation_with_bystanders_follows_one_person_per_shot(dev_clip, pose_model):
    """heavy_front_oblique_a (portrait, 3 people in view, 3 hard cuts): inside each shot the person
    analysed never jumps faster than a person moves; the only large jump of the raw series is at
    a scene cut (so the check does fire on this clip's real jumps). 4 reps, each lift-off before
    its lockout and both inside the rep and the rep inside one shot."""
    from formcheck_core.analysis import analyze
    from formcheck_core.scene_cuts import cut_samples

    a = analyze(dev_clip("heavy_front_oblique_a"), rules=False, progress=False)
    pose = a.pose
    shots = cut_samples(pose.frame_index, a.scene_cut_frames)
    assert len(shots) == 3
    assert identity_breaks(pose.image_xy_px, pose.time_s, shots) == ()
    across = identity_breaks(pose.image_xy_px, pose.time_s, ())
    assert across and {b.sample for b in across} <= set(shots)
    assert len(a.reps) == 4
    bounds = [0, *shots, pose.n_samples]
    for rep in a.reps:
        lift, lock = rep.moments["liftoff"].sample, rep.moments["lockout"].sample
        assert rep.start_sample <= lift < lock <= rep.end_sample
        assert any(lo <= rep.start_sample and rep.end_sample < hi for lo, hi in itertools.pairwise(bounds))


# --- following the lifter across a break (formcheck_core.pose.follow) -------------------------


def _brk(sample: int) -> IdentityBreak:
    return IdentityBreak(sample=sample, previous_sample=sample - 1, step_rel=1.0, allowed_rel=0.3)


def _parts(*pieces: tuple[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of consecutive pieces (samples, hip x px; NaN: nobody), body length 300 px."""
    return _person(np.concatenate([np.full(n, x) for n, x in pieces]))


def test_windows_are_the_shot_outside_the_lifters_parts():
    # lifter at 100 px for 20 samples, a bystander 1 body length away after: posed again from 19
    xy, t = _parts((20, 100.0), (10, 400.0))
    assert follow_windows(xy, t, (), [_brk(20)]) == [(20, 30, 19)]
    # three people, the last followed longest: the shot before them posed again, walked back from 12
    xy, t = _parts((8, 100.0), (4, 400.0), (18, 700.0))
    assert follow_windows(xy, t, (), [_brk(8), _brk(12)]) == [(0, 12, 12)]
    # the part in the middle kept: both sides posed again
    xy, t = _parts((5, 400.0), (20, 100.0), (5, 700.0))
    assert follow_windows(xy, t, (), [_brk(5), _brk(25)]) == [(0, 5, 5), (25, 30, 24)]


def test_the_person_followed_longest_is_kept_not_the_longest_part():
    """The tracker leaves the lifter for a bystander and comes back: the bystander's part (14
    samples) is the longest, but the lifter's two parts (8 + 8 samples) are one person, followed
    longer over the shot. Only the bystander's stretch is posed again, walked on from the lifter's
    last sample before it."""
    xy, t = _parts((8, 100.0), (14, 400.0), (8, 110.0))
    assert follow_windows(xy, t, (), [_brk(8), _brk(22)]) == [(8, 22, 7)]
    # the bystander followed longer in all (17 samples to 13): then the bystander's parts are kept
    xy, t = _parts((8, 100.0), (17, 400.0), (5, 110.0))
    assert follow_windows(xy, t, (), [_brk(8), _brk(25)]) == [(0, 8, 8), (25, 30, 24)]
    # a part that starts out of reach of everyone seen so far is a new person (a third one)
    xy, t = _parts((8, 100.0), (14, 400.0), (8, 1600.0))  # 5 body lengths in 1.5 s
    assert follow_windows(xy, t, (), [_brk(8), _brk(22)]) == [(0, 8, 8), (22, 30, 21)]


def test_parts_link_by_reach_from_where_each_person_was_last_seen():
    scale = 300.0
    p = [np.array([100.0, 500.0]), np.array([400.0, 500.0]), np.array([120.0, 500.0])]
    # (first place, time, last place, time): the third part starts 0.07 body lengths from where
    # the first was last seen, 1.5 s later; the second 1 body length away 0.1 s after it
    parts = [(p[0], 0.0, p[0], 0.7), (p[1], 0.8, p[1], 2.1), (p[2], 2.2, p[2], 3.0)]
    assert link_parts(parts, scale) == [0, 1, 0]
    # 5 body lengths from the first in 1.5 s, 4 from the second in 0.1 s: a new person
    parts = [(p[0], 0.0, p[0], 0.7), (p[1], 0.8, p[1], 2.1), (p[1] + [1200.0, 0.0], 2.2, p[2], 3.0)]
    assert link_parts(parts, scale) == [0, 1, 2]


def test_windows_count_detected_samples_and_stay_in_their_shot():
    xy, t = _parts((8, np.nan), (4, 100.0), (28, 400.0))  # the first part is long but mostly undetected
    assert follow_windows(xy, t, (), [_brk(12)]) == [(0, 12, 12)]
    # a cut at 20: the break at 25 splits the second shot only; the first shot is left alone
    xy, t = _parts((25, 100.0), (15, 400.0))
    assert follow_windows(xy, t, (20,), [_brk(25)]) == [(20, 25, 25)]
    assert follow_windows(xy, t, (20,), []) == []


def test_the_lifter_is_kept_and_a_bystander_is_not_taken_while_the_lifter_is_hidden():
    scale, t = 300.0, np.arange(1, 21) / 10.0
    lifter = np.array([100.0, 500.0])
    bystander = np.array([560.0, 500.0])  # 1.53 body lengths away: reachable after 0.72 s
    cands = []
    for i in range(20):
        people = [bystander + [i * 3.0, 0.0]]  # walks slowly, seen throughout
        if i >= 12:  # the lifter hidden for 1.2 s, then back
            people.insert(i % 2, lifter + [10.0, 0.0])
        cands.append(np.array(people))
    picks = follow_track(lifter, 0.0, cands, t, scale)
    assert picks[:12] == [None] * 12
    assert all(c is not None and cands[i][c][0] < 300 for i, c in enumerate(picks) if i >= 12)


def test_a_bystander_first_seen_where_the_lifter_could_be_is_not_the_lifter_once_the_lifter_is_back():
    scale = 300.0
    lifter = np.array([100.0, 500.0])
    # at 0.1 s: only someone 0.2 body lengths away (the lifter, moving); at 0.2 s two people, the
    # nearer to the track's last place is kept
    cands = [np.array([[160.0, 500.0]]), np.array([[400.0, 500.0], [170.0, 500.0]])]
    assert follow_track(lifter, 0.0, cands, np.array([0.1, 0.2]), scale) == [0, 1]
    # nobody within reach: None, and a sample without anyone is None
    assert follow_track(
        lifter, 0.0, [np.zeros((0, 2)), np.array([[900.0, 500.0]])], np.array([0.1, 0.2]), scale
    ) == [
        None,
        None,
    ]


def test_a_track_walked_backwards_uses_the_time_distance():
    scale = 300.0
    lifter = np.array([100.0, 500.0])
    cands = [np.array([[130.0, 500.0]]), np.array([[160.0, 500.0]])]
    assert follow_track(lifter, 2.0, cands, np.array([1.9, 1.8]), scale) == [0, 0]


def _switch_clip(dev_clip, path):
    """Two lifters side by side: the tracked one goes dark, the tracker picks up the other
    (``clipmaker.SWITCH_FADES["switch"]``). Made in pytest's tmp folder, never kept."""
    from clipmaker import switch_clip

    return switch_clip(dev_clip("posereader_good").parent, path, "switch")


def test_a_real_tracking_switch_is_undone_by_following_the_lifter(
    dev_clip, pose_model, tmp_path, monkeypatch
):
    """MediaPipe's single-pose tracker loses the left lifter when they go dark and picks up the
    right one, and stays on them when the left one is back (a real switch, no scene cut). The
    analysed series then follows the left lifter only: no identity break, every detected sample in
    the left half, nobody taken while the left lifter is hidden, the lifter found again after."""
    from formcheck_core.analysis import analyze, pose_key
    from formcheck_core.cache import load_pose
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.video import file_sha256

    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path / "cache"))
    clip = _switch_clip(dev_clip, tmp_path)
    notes: list[str] = []
    a = analyze(clip, rules=False, progress=False, notes=notes.append)
    pose, half = a.pose, a.video.width_px / 2
    raw = load_pose(pose_key(file_sha256(clip), model_id(pose_model), DEFAULT_FPS, "video", 1))
    assert raw is not None and a.scene_cut_frames == ()
    raw_hip = joint_mid_px(raw.image_xy_px, "hip")[:, 0]
    (brk,) = identity_breaks(raw.image_xy_px, raw.time_s)  # the tracker switched people
    assert raw_hip[brk.previous_sample] < half < raw_hip[brk.sample]
    assert any("continues the lifter's track" in n for n in notes)

    hip = joint_mid_px(pose.image_xy_px, "hip")[:, 0]
    seen = np.isfinite(hip)
    assert identity_breaks(pose.image_xy_px, pose.time_s) == ()
    assert np.all(hip[seen] < half)
    hidden = (pose.frame_index >= 59) & (pose.frame_index < 74)
    assert not seen[hidden].any()  # nobody stands in for the hidden lifter
    assert seen[pose.frame_index >= 86].all()  # and the lifter is followed again once back
    assert np.array_equal(pose.image_xy_px[: brk.sample], raw.image_xy_px[: brk.sample], equal_nan=True)
    assert (pose.people_count[pose.frame_index >= 86] == 2).all()
    _assert_back_rows_are_the_kept_persons(a, raw, pose_model)


def _assert_back_rows_are_the_kept_persons(a, raw, pose_model) -> None:
    """The back rows of a clip whose tracking switch was undone, by value: outside the ranges
    posed again they are the whole-clip pass's rows; inside, where nobody continues the lifter's
    track, NaN (nobody's outline is read); where the lifter is kept, what a fresh landmarker
    (up to 3 people, masks) gives for the lifter on those frames, posed directly here in the same
    order; and every outline point lies on the lifter's (left) half."""
    from formcheck_core.analysis import pose_key
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.pose.back_pass import MainPassBack, load_main_rows, series_from_main
    from formcheck_core.pose.feed import prefetch
    from formcheck_core.pose.follow import FOLLOW_POSES
    from formcheck_core.pose.mediapipe_backend import MediaPipePose
    from formcheck_core.video import file_sha256, iter_frames

    pose, info, half = a.pose, a.video, a.video.width_px / 2
    table = load_main_rows(
        pose_key(file_sha256(info.path), model_id(pose_model), DEFAULT_FPS, "video", 1), raw.frame_index
    )
    assert table is not None and a.back is not None
    windows = follow_windows(raw.image_xy_px, raw.time_s, (), identity_breaks(raw.image_xy_px, raw.time_s))
    assert windows
    size = np.array([info.width_px, info.height_px], float)
    hips = joint_mid_px(pose.image_xy_px, "hip")
    kept, nobody = 0, 0
    for first, end, _anchor in windows:
        direct = MainPassBack((info.width_px, info.height_px))
        wanted = {int(f) for f in pose.frame_index[first:end]}
        with MediaPipePose(pose_model, num_poses=FOLLOW_POSES, segmentation=True) as backend:
            for s, frame in enumerate(
                prefetch(iter_frames(info.path, pose.sample_fps, info=info, only_indices=wanted)), first
            ):
                people = backend.detect(frame.bgr, frame.time_s)
                near = [
                    np.linalg.norm(joint_mid_px(p.image_xyzv[:, :2] * size, "hip") - hips[s]) for p in people
                ]
                lifter = people[int(np.argmin(near))] if np.isfinite(hips[s]).all() else None
                assert lifter is None or min(near) < 1e-6, "the kept person is one the landmarker found"
                kept, nobody = kept + (lifter is not None), nobody + (lifter is None)
                direct(frame.index, lifter)
        whole = MainPassBack((info.width_px, info.height_px))
        whole.restore(table)
        whole.replace_samples(np.arange(first, end), direct)
        table = whole.table()
    assert kept and nobody, "the clip has samples of both kinds in the ranges posed again"
    expected = series_from_main(table, a.body)
    assert expected is not None
    for name in ("back_flexion_rel", "back_angle_deg", "mask_confidence", "edge_xy_px"):
        assert np.allclose(
            getattr(a.back, name), getattr(expected, name), rtol=0, atol=1e-9, equal_nan=True
        ), name
    posed_again = np.zeros(pose.n_samples, bool)
    for first, end, _ in windows:
        posed_again[first:end] = True
    hidden = posed_again & ~np.isfinite(hips).all(axis=1)
    assert np.isnan(a.back.back_flexion_rel[hidden]).all() and np.isnan(a.back.edge_xy_px[hidden]).all()
    edge_x = a.back.edge_xy_px[..., 0]
    assert np.isfinite(edge_x).any() and np.all(edge_x[np.isfinite(edge_x)] < half)


# --- the native-rate pass's guard (formcheck_core.pose.tracks.LifterTrack) --------------------


def _found(hip_x_px: float, size: tuple[int, int] = (1000, 1000)) -> PoseResult:
    """A person found on a source frame of ``size`` whose hip midpoint is at (``hip_x_px``, 500)."""
    xy, _ = _person(np.array([hip_x_px]))
    image = np.zeros((33, 4))
    image[:, :2] = np.nan_to_num(xy[0]) / size
    return PoseResult(image_xyzv=image, world_xyz_m=np.zeros((33, 3)))


def test_the_native_frame_guard_keeps_who_continues_the_track_within_one_sample_step():
    """The lifter's hip at 100 px on samples 0.1 s apart (body length 300 px): on a frame between
    two samples a person within 0.3 body lengths (the step allowed between the samples around it)
    is the lifter; one 1 body length away is not; among several the reachable one is kept."""
    t = np.arange(10) / 10.0
    track = LifterTrack(t, np.tile([100.0, 500.0], (10, 1)), 300.0)
    size = (1000, 1000)
    assert track.pick(0.433, [_found(180.0)], size) == 0  # 0.27 body lengths: the same person
    assert track.pick(0.433, [_found(200.0)], size) is None  # 0.33: beyond one sample's step
    assert track.pick(0.433, [_found(400.0), _found(110.0)], size) == 1
    assert track.pick(0.433, [], size) is None
    assert track.distance_rel(0.433, _found(160.0), size) == pytest.approx(0.2)
    # where the lifter was not found, the nearest sample where they were: the allowance grows
    hidden = track.hip_px.copy()
    hidden[3:] = np.nan
    far = LifterTrack(t, hidden, 300.0)
    assert far.pick(0.85, [_found(400.0)], size) == 0  # 1 body length in 0.65 s: reachable
    assert LifterTrack(t, np.full((10, 2), np.nan), 300.0).pick(0.4, [_found(100.0)], size) is None


def test_a_track_that_cannot_judge_turns_the_native_frame_guard_off():
    """Review: with no lifter sample or no usable scale, pick() answers None for everyone; the
    native-rate pass then keeps the tracker's person (can_judge is False) instead of NaN rows."""
    t = np.arange(10) / 10.0
    hips = np.tile([100.0, 500.0], (10, 1))
    assert LifterTrack(t, hips, 300.0).can_judge
    for track in (
        LifterTrack(t, np.full((10, 2), np.nan), 300.0),
        LifterTrack(t, hips, float("nan")),
        LifterTrack(t, hips, 0.0),
    ):
        assert not track.can_judge
        assert track.pick(0.4, [_found(100.0)], (1000, 1000)) is None
