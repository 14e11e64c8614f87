"""Identity breaks (:mod:`formcheck_core.pose.identity`): pure checks on synthetic landmark
series, then the contract on a real multi-person compilation clip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from formcheck_core.pose.identity import (
    JITTER_REL,
    MAX_SPEED_REL_PER_S,
    body_length_mid_px,
    identity_breaks,
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
