"""Identity breaks (:mod:`formcheck_core.pose.identity`): pure checks on synthetic landmark
series, then the contract on a real multi-person compilation clip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from formcheck_core.pose.follow import follow_track, follow_windows
from formcheck_core.pose.identity import (
    JITTER_REL,
    MAX_SPEED_REL_PER_S,
    IdentityBreak,
    body_length_mid_px,
    identity_breaks,
    joint_mid_px,
)
from formcheck_core.pose.landmarks import LANDMARK


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


def test_windows_are_the_shot_around_its_longest_followed_part():
    det = np.ones(30, bool)
    # shot [0, 30), breaks at 8 and 12: parts [0,8) [8,12) [12,30): the lifter is [12, 30)
    assert follow_windows(det, (), [_brk(8), _brk(12)]) == [(0, 12, 12)]
    # the longest part first: [0, 20) kept, [20, 30) posed again from its last sample 19
    assert follow_windows(det, (), [_brk(20)]) == [(20, 30, 19)]
    # the part in the middle kept: both sides posed again
    assert follow_windows(det, (), [_brk(5), _brk(25)]) == [(0, 5, 5), (25, 30, 24)]


def test_windows_count_detected_samples_and_stay_in_their_shot():
    det = np.ones(40, bool)
    det[0:8] = False  # the first part is long but mostly undetected
    assert follow_windows(det, (), [_brk(12)]) == [(0, 12, 12)]
    # a cut at 20: the break at 25 splits the second shot only; the first shot is left alone
    assert follow_windows(np.ones(40, bool), (20,), [_brk(25)]) == [(20, 25, 25)]
    assert follow_windows(np.ones(40, bool), (20,), []) == []


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
    """Two lifters side by side (two 600x600 dev clips): the right one fades in after 0.5 s (so
    the tracker starts on the left one), the left one fades to black at 1.67 s, stays hidden
    0.5 s and comes back. Made in pytest's tmp folder, never kept."""
    from clipmaker import source_frames, write_h264

    left, fps = source_frames(dev_clip("posereader_unoccluded"))
    right, _ = source_frames(dev_clip("posereader_good"))

    def gain(i: int, fade: list[tuple[int, float]]) -> float:
        return float(np.interp(i, [f for f, _ in fade], [g for _, g in fade]))

    out = []
    for i, frame in enumerate(left):
        a = gain(i, [(0, 1.0), (50, 1.0), (59, 0.0), (74, 0.0), (83, 1.0)])
        b = gain(i, [(0, 0.0), (15, 0.0), (24, 1.0)])
        out.append(np.hstack([(frame * a).astype(np.uint8), (right[i % len(right)] * b).astype(np.uint8)]))
    return write_h264(path / "switch.mp4", out, fps)


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
    assert a.back is not None and a.back.frame_index.shape == pose.frame_index.shape
