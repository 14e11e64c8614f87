"""Where a pull's top and lockout lie when the hip angle and the shoulders disagree: the top ends
once the shoulders stay lowered (the bar was put down, whatever a foreshortened hip angle reads),
and the lockout is read on the shoulders' own rise, which may end after the hip angle's top.
Synthetic series with known geometry, no clips."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from synthetic_lifter import deadlift_pose, lockout_share

from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.moments import (
    LOCKOUT_SHOULDER_FRAC,
    LOWERED_SHARE,
    MIN_SHOULDER_RISE_REL,
    STILL_SPEED_REL_PER_S,
    _find_top,
    _shoulder_top,
    segment_reps,
)

FPS = 10.0
LENGTH_PX = 400.0


def _series() -> tuple[np.ndarray, np.ndarray]:
    """Hip angle (deg) and shoulder height (px, up = larger): a rise over samples 0-10 to a top at
    10, held, the bar set down over 14-17 with the hip angle dipping only 18 deg (less than
    DROP_DEG), then the lifter standing up again empty-handed to a higher hip angle at 22."""
    hip = np.array(
        "80 90 100 115 130 145 155 162 166 168 170 170 169 168 "
        "160 155 152 156 165 172 176 178 179 179 179 179".split(),
        float,
    )
    up = np.array(
        "0 10 25 45 70 95 115 130 140 145 148 148 148 147 "
        "110 60 40 60 100 130 145 150 150 150 150 150".split(),
        float,
    )
    return hip, up


def test_top_ends_where_the_shoulders_stay_lowered():
    hip, up = _series()
    assert _find_top(hip, 0, hip.size - 1, FPS) == 22, "the hip angle alone runs on to the re-stand"
    top = _find_top(hip, 0, hip.size - 1, FPS, up, LENGTH_PX)
    assert top == 10, "the top is the highest hip angle before the bar was put down"


def test_one_lowered_sample_of_pose_noise_does_not_end_the_top():
    hip, up = _series()
    up = up.copy()
    up[14:18] = 147.0  # the shoulders stay up: no lowering
    up[12] = 40.0  # one sample read far too low
    assert _find_top(hip, 0, hip.size - 1, FPS, up, LENGTH_PX) == 22


def test_a_lowering_below_the_minimum_shoulder_travel_does_not_end_the_top():
    hip, up = _series()
    # The whole rise scaled into a body far larger in the picture: the drop (108 px) is more than
    # LOWERED_SHARE of the rise but less than MIN_SHOULDER_RISE_REL body lengths.
    length = 1.05 * 108.0 / MIN_SHOULDER_RISE_REL
    assert 108.0 >= LOWERED_SHARE * 148.0
    assert _find_top(hip, 0, hip.size - 1, FPS, up, length) == 22


def test_shoulder_top_runs_on_while_the_shoulders_still_rise_faster_than_still():
    step = STILL_SPEED_REL_PER_S * LENGTH_PX / FPS  # px per sample at the still speed
    up = np.array([0, 50, 100, 100 + 3 * step, 100 + 5 * step, 100 + 5.5 * step, 100 + 5.6 * step])
    assert _shoulder_top(up, LENGTH_PX, 2, up.size - 1, FPS) == 4
    assert _shoulder_top(up, LENGTH_PX, 2, 3, FPS) == 3, "no later than stop"
    assert _shoulder_top(up, float("nan"), 2, up.size - 1, FPS) == 2, "no scale: the hinge's top"
    assert _shoulder_top(up[::-1], LENGTH_PX, 2, up.size - 1, FPS) == 2, "falling: the hinge's top"


def test_lockout_waits_for_the_shoulders_when_the_hip_angle_tops_out_early():
    # A synthetic rep whose hip angle is frozen from half-way through the pull (an image hip
    # angle that stops reading the opening, as in an oblique view): the hinge's top comes early,
    # the lockout still comes where the shoulders finish rising.
    pose, truth = deadlift_pose(1, fps=FPS, setup_s=1.5)
    body = compute_body_series(pose)
    (ref,) = segment_reps(body)
    lift_t, lock_t = truth[0]["liftoff"], truth[0]["lockout"]
    hip = np.asarray(body.smoothed["hip_angle_deg"], float).copy()
    t = np.asarray(body.time_s, float)
    mid = int(np.searchsorted(t, lift_t + 0.7 * (lock_t - lift_t)))
    end = int(np.searchsorted(t, lock_t + 1.0))  # hold through lowering start
    hip[mid:end] = hip[mid]
    frozen = replace(body, smoothed={**body.smoothed, "hip_angle_deg": hip})
    (rep,) = segment_reps(frozen)
    assert rep.complete
    # the same lockout: its interpolated crossing within half a sample of the reference's (the
    # sample is the nearest to it, so one a crossing near a half-sample may round either way)
    lo, lo_ref = rep.moments["lockout"], ref.moments["lockout"]
    assert abs(lo.refined_time_s - lo_ref.refined_time_s) <= 0.5 / FPS
    assert abs(lo.sample - lo_ref.sample) <= 1
    # lockout by its definition: the shoulders at LOCKOUT_SHOULDER_FRAC of their rise, before the pull ends
    defined = lift_t + lockout_share(LOCKOUT_SHOULDER_FRAC) * (lock_t - lift_t)
    assert abs(rep.moments["lockout"].time_s - defined) <= 0.2 + 1e-9
