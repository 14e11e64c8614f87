"""Where a pull starts (from the floor, from the hang, mid-pull at the clip's start) and a lifter
lost mid-pull: synthetic series with known geometry, no clips."""

from __future__ import annotations

import numpy as np
from rep_contract import assert_rep_contract
from synthetic_lifter import (
    BOTTOM,
    TOP,
    angles_from_progress,
    deadlift_progress,
    pose_from_angles,
    smoothstep,
)

from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.moments import MIN_SET_S, STRAIGHT_KNEE_DEG, segment_reps
from formcheck_core.pose.landmarks import LANDMARK

#: Start posture of a pull with straight legs and the torso 55 deg from vertical (knee 180 deg,
#: hip 125 deg): the hands hang at about knee height, above a bar resting on the floor.
HANG = (0.0, 0.0, 55.0)


def _pulls(prog: np.ndarray, bottom=BOTTOM):
    return segment_reps(compute_body_series(pose_from_angles(*angles_from_progress(prog, bottom=bottom))))


def _hang_set(reps: int, fps: float = 10.0) -> np.ndarray:
    """Progress (0 bottom .. 1 standing) of a set from the hang: stand 1 s holding the bar, then per
    rep lower 1 s, rise 1 s, hold 1 s."""
    parts = [np.ones(int(fps))]
    ramp = smoothstep(np.linspace(0.0, 1.0, int(fps), endpoint=False))
    for _ in range(reps):
        parts += [1.0 - ramp, ramp, np.ones(int(fps))]
    return np.concatenate(parts)


def test_a_set_from_the_hang_with_straight_legs_is_partial_pulls():
    pulls = _pulls(_hang_set(3), bottom=HANG)
    assert len(pulls) == 3 and not any(p.complete for p in pulls)
    for p in pulls:
        assert p.partial_reason.startswith("not from the floor"), p.partial_reason
        assert "liftoff" not in p.moments and "setup" not in p.moments
        assert p.missing_moments["liftoff"] == "the bar did not start from the floor"
        assert "lockout" in p.moments, "the top of the pull is still placed"


def test_the_same_set_with_bent_knees_reaching_the_floor_counts():
    # Same timeline, but the lifter bends the knees and reaches the bar on the floor (touch and go).
    pulls = _pulls(_hang_set(3), bottom=BOTTOM)
    assert [p.complete for p in pulls] == [True, True, True]


def test_clip_starting_with_straight_legs_above_the_floor_is_cut_by_the_clip():
    # The clip starts with the bar at the knees, legs straight, already pulling (no set-up, no
    # lift-off in the clip): a partial pull the clip cut, whose lockout is still measured.
    prog, _ = deadlift_progress(1, setup_s=0.0)
    (pull,) = _pulls(prog, bottom=HANG)
    assert not pull.complete and pull.partial_reason.startswith("cut by the clip: it starts mid-pull")
    assert "liftoff" not in pull.moments and "lockout" in pull.moments
    # Bent knees at the first sample: the lifter is in the set position, the rep counts.
    (rep,) = _pulls(prog, bottom=BOTTOM)
    assert rep.complete


def test_straight_leg_threshold_is_a_posture_not_a_share():
    assert 140.0 < STRAIGHT_KNEE_DEG < 170.0
    knee_at_hang = 180.0 - (HANG[0] + HANG[1])
    knee_at_floor = 180.0 - (BOTTOM[0] + BOTTOM[1])
    assert knee_at_floor < STRAIGHT_KNEE_DEG <= knee_at_hang
    assert TOP == (0.0, 0.0, 0.0)


def test_lifter_lost_mid_pull_is_not_measurable_not_aborted():
    # The pose is lost for 0.8 s in the middle of the pull (the torso leaves the frame): no lockout
    # is invented across the gap, and the reason says why instead of calling the pull aborted.
    prog, truth = deadlift_progress(1)
    pose = pose_from_angles(*angles_from_progress(prog))
    fs = 10.0
    mid = int(round((truth[0]["liftoff"] + 0.3) * fs))
    pose.image_xy_px[mid : mid + 8] = np.nan
    pose.world_xyz_m[mid : mid + 8] = np.nan
    (pull,) = segment_reps(compute_body_series(pose))
    assert not pull.complete and pull.partial_reason.startswith("not measurable: the lifter was not found")
    assert "lockout" not in pull.moments and pull.missing_moments["lockout"].startswith("not measurable")
    # A short gap (0.2 s) is bridged by the series' gap filling: the rep stands.
    pose2 = pose_from_angles(*angles_from_progress(prog))
    pose2.image_xy_px[mid : mid + 2] = np.nan
    pose2.world_xyz_m[mid : mid + 2] = np.nan
    (rep,) = segment_reps(compute_body_series(pose2))
    assert rep.complete


def test_bar_at_the_hips_but_torso_bent_over_is_not_a_lockout():
    # The lifter brings the bar to the upper thigh but stays 35 deg bent over: no lockout.
    prog, _ = deadlift_progress(1)
    bent = segment_reps(
        compute_body_series(pose_from_angles(*angles_from_progress(prog, top=(0.0, 0.0, 35.0))))
    )
    (pull,) = bent
    assert not pull.complete and "torso stayed 35° from vertical" in pull.partial_reason
    (rep,) = _pulls(prog)
    assert rep.complete


def _postures(fps: float, *legs: tuple[tuple[float, float, float], float]) -> tuple[np.ndarray, ...]:
    """Segment angles of a timeline moving smoothly from posture to posture: ``legs`` are
    (posture reached, seconds taken); the first leg's posture is held for its seconds."""
    out, prev = [], legs[0][0]
    for posture, seconds in legs:
        x = smoothstep(np.linspace(0.0, 1.0, int(round(seconds * fps)), endpoint=False))
        out += [np.array(prev) + (np.array(posture) - np.array(prev)) * xi for xi in x]
        prev = posture
    return tuple(np.array(out).T)


def test_liftoff_is_after_the_dead_stop_not_in_the_set_up():
    # The lifter bends over the bar (hips high, hip angle 50 deg), sits into the start (hips down,
    # chest up: the hip angle opens to 80 deg and the shoulders rise 0.17 body lengths, the bar
    # still on the floor), holds 1 s, then pulls (4.0-5.0 s). The hip's deepest bend is in the
    # set-up; the pull starts from the hold.
    fps, bend, start = 10.0, (10.0, 45.0, 85.0), (25.0, 55.0, 45.0)
    angles = _postures(fps, (TOP, 1.0), (bend, 1.0), (start, 1.0), (start, 1.0), (TOP, 1.0), (TOP, 1.5))
    (rep,) = segment_reps(compute_body_series(pose_from_angles(*angles, fps=fps)))
    assert rep.complete
    lift = rep.moments["liftoff"]
    assert 4.0 <= lift.time_s <= 4.3, lift.time_s
    assert rep.moments["setup"].time_s < lift.time_s < rep.moments["lockout"].time_s


def test_a_turnaround_without_a_stop_keeps_its_liftoff_at_the_bottom():
    # Touch and go: the lifter bends down and pulls at once (no still stretch): the rise is measured
    # from the bottom of the hinge, as before.
    fps, start = 10.0, (25.0, 55.0, 45.0)
    angles = _postures(fps, (TOP, 1.0), (start, 1.0), (TOP, 1.0), (TOP, 1.5))
    (rep,) = segment_reps(compute_body_series(pose_from_angles(*angles, fps=fps)))
    assert rep.complete and 2.0 <= rep.moments["liftoff"].time_s <= 2.3, rep.moments["liftoff"].time_s


def _fresh_tracker_start(pose, at: int = 0, shift_px: float = 100.0):
    """Mimic a fresh tracker's first frames at sample ``at`` (a clip's or a shot's first): the hips
    read ``shift_px`` (0.3 body lengths) and then half that behind where they are, so the hip angle
    at the first sample is deepest and opens at more than half the pull's top speed, while the
    shoulders -- and the bar -- stay put."""
    for name in ("left_hip", "right_hip"):
        j = LANDMARK[name]
        pose.image_xy_px[at : at + 2, j, 0] -= shift_px * np.array([1.0, 0.5])
        pose.world_xyz_m[at : at + 2, j, 0] -= shift_px / 400.0 * np.array([1.0, 0.5])
    return pose


def _set_then_pull(hold_s: float, start_s: float = 0.0, fps: float = 10.0):
    """Body of one floor-to-lockout rep after ``hold_s`` still in the set position, cropped to
    start ``start_s`` into the timeline, with 1 px of pose jitter and a fresh tracker's first frames."""
    prog, truth = deadlift_progress(1, fps=fps, setup_s=hold_s, start_s=start_s)
    pose = pose_from_angles(*angles_from_progress(prog), fps=fps, noise_px=1.0, seed=3)
    return compute_body_series(_fresh_tracker_start(pose)), truth


def test_clip_opening_in_the_set_position_is_a_complete_rep():
    # The lifter is set at the bar at the first sample, still for 0.6 s, then pulls to lockout; the
    # hip angle swings open over the first samples (a fresh tracker settling) but the shoulders, which
    # carry the bar, are held: the lift-off is in view, so this is a complete rep whose set-up (the
    # last sample of the set position) lies in the hold.
    assert MIN_SET_S < 0.6
    body, truth = _set_then_pull(0.6)
    reps = segment_reps(body)
    assert_rep_contract(reps, body.time_s.size)
    (rep,) = reps
    assert rep.complete, rep.partial_reason
    assert 0 <= rep.moments["setup"].time_s <= truth[0]["liftoff"] + 0.2
    assert abs(rep.moments["liftoff"].time_s - truth[0]["liftoff"]) <= 0.2
    assert rep.moments["setup"].sample < rep.moments["liftoff"].sample < rep.moments["lockout"].sample


def test_clip_opening_with_the_rise_under_way_starts_mid_pull():
    # Already rising at the first sample (cropped 0.3 s into the pull): setup and lift-off are not
    # in the clip; the lockout still is.
    body, _ = _set_then_pull(1.5, start_s=1.5 + 0.3)
    reps = segment_reps(body)
    assert_rep_contract(reps, body.time_s.size)
    (pull,) = reps
    assert not pull.complete and pull.partial_reason == "cut by the clip: it starts mid-pull"
    assert pull.missing_moments["setup"] == pull.missing_moments["liftoff"] == "the clip starts mid-pull"
    assert "lockout" in pull.moments


def test_a_shot_opening_in_the_set_position_counts_like_a_clip():
    # One definition at a clip's and a shot's first sample: a rep, a scene cut, then a shot that
    # opens with the lifter set and still for 0.6 s (a complete rep), or already rising (partial),
    # the shot's first frames posed by a fresh tracker.
    for hold_s, start_s, complete in ((0.6, 0.0, True), (1.5, 1.8, False)):
        prog_a, _ = deadlift_progress(1, setup_s=1.5)
        prog_b, _ = deadlift_progress(1, setup_s=hold_s, start_s=start_s)
        pose = pose_from_angles(*angles_from_progress(np.concatenate([prog_a, prog_b])), noise_px=1.0, seed=3)
        body = compute_body_series(_fresh_tracker_start(pose, at=prog_a.size), cut_samples=[prog_a.size])
        reps = segment_reps(body, cut_samples=[prog_a.size])
        assert_rep_contract(reps, body.time_s.size)
        assert [r.complete for r in reps] == [True, complete]
        alone, _ = _set_then_pull(hold_s, start_s=start_s)
        assert [r.complete for r in segment_reps(alone)] == [complete]
        second = reps[1]
        assert ("setup" in second.moments) == complete
        if complete:
            assert prog_a.size <= second.moments["setup"].sample < second.moments["liftoff"].sample
        else:
            assert second.partial_reason == "cut by the clip: it starts mid-pull"
