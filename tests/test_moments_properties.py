"""Property tests of rep segmentation on synthetic lifters: the rep contract holds for any set
(rep count, timing, pauses, noise, view, clip cut at either end), and the count is right."""

from __future__ import annotations

import itertools
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rep_contract import assert_rep_contract
from synthetic_lifter import angles_from_progress, deadlift_pose, deadlift_progress, pose_from_angles

from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.moments import segment_reps

SETTINGS = settings(
    max_examples=int(os.environ.get("FORMCHECK_HYPOTHESIS_EXAMPLES", "25")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

sets = st.fixed_dictionaries(
    {
        "reps": st.integers(1, 5),
        "setup_s": st.floats(0.6, 3.0),
        "pull_s": st.floats(0.6, 2.0),
        "hold_s": st.floats(0.3, 2.0),
        "lower_s": st.floats(0.5, 1.5),
        "rest_s": st.floats(0.0, 1.5),
    }
)


@SETTINGS
@given(kw=sets, noise=st.sampled_from([0.0, 1.5, 3.0]), seed=st.integers(0, 99), mirror=st.booleans())
def test_contract_and_count_on_whole_sets(kw, noise, seed, mirror):
    pose, truth = deadlift_pose(noise_px=noise, seed=seed, mirror=mirror, **kw)
    reps = segment_reps(compute_body_series(pose))
    assert_rep_contract(reps, pose.n_samples)
    assert sum(r.complete for r in reps) == kw["reps"] == len(reps)
    # Lift-off / lockout sit at a share of the rise: a slower pull moves them further from the
    # start / end of the motion (0.39 s for a 2 s smooth pull).
    tol_s = 0.2 + 0.2 * kw["pull_s"]  # two samples (10 fps) + the lag of the definition
    for rep, true in zip(reps, truth, strict=False):
        assert abs(rep.moments["liftoff"].time_s - true["liftoff"]) <= tol_s
        assert abs(rep.moments["lockout"].time_s - true["lockout"]) <= tol_s


@SETTINGS
@given(
    kw=sets,
    cut_start=st.floats(0.0, 3.0),
    cut_end=st.floats(0.0, 3.0),
    view=st.sampled_from(["side", "front"]),
)
def test_contract_holds_when_the_clip_cuts_the_set(kw, cut_start, cut_end, view):
    prog, truth = deadlift_progress(**kw)
    total = prog.size / 10.0
    start, end = cut_start, max(cut_start + 0.5, total - cut_end)
    prog, truth = deadlift_progress(start_s=start, end_s=end, **kw)
    pose = pose_from_angles(*angles_from_progress(prog), view=view)
    reps = segment_reps(compute_body_series(pose))
    assert_rep_contract(reps, pose.n_samples)
    # A rep whose whole pull (lift-off to lockout) is in the clip with a second either side is complete.
    inside = [t for t in truth if t["liftoff"] >= 1.0 and t["lockout"] <= end - start - 1.0]
    assert sum(r.complete for r in reps) >= len(inside) - (1 if view == "front" else 0)


@SETTINGS
@given(kw=sets, share=st.floats(0.2, 0.55))
def test_an_aborted_last_pull_is_a_partial_pull_not_a_rep(kw, share):
    """A set of full reps, then a pull that stops at ``share`` of the way up and is lowered."""
    prog, _ = deadlift_progress(**kw)
    fps = 10.0
    up = np.linspace(0, share, int(0.8 * fps))
    abort = np.concatenate(
        [np.zeros(int(fps)), up, np.full(int(0.4 * fps), share), up[::-1], np.zeros(int(1.5 * fps))]
    )
    pose = pose_from_angles(*angles_from_progress(np.concatenate([prog, abort])))
    reps = segment_reps(compute_body_series(pose))
    assert_rep_contract(reps, pose.n_samples)
    assert sum(r.complete for r in reps) == kw["reps"]
    partial = [r for r in reps if not r.complete]
    assert len(partial) <= 1
    for r in partial:
        assert "lockout" not in r.moments and "lockout" in r.missing_moments
        assert r.partial_reason.startswith(("aborted", "never reached"))


def _segments(*parts: tuple[float, float, float], fps: float = 10.0) -> np.ndarray:
    """Progress built from (seconds, start, end) smooth segments."""
    from synthetic_lifter import smoothstep

    out = []
    for secs, a, b in parts:
        n = max(1, int(round(secs * fps)))
        out.append(a + (b - a) * smoothstep(np.arange(n) / n))
    return np.concatenate(out)


@SETTINGS
@given(
    shin=st.floats(25.0, 40.0),
    thigh=st.floats(65.0, 85.0),
    lean=st.floats(25.0, 50.0),
    reps=st.integers(1, 3),
)
def test_a_squat_pattern_pull_is_a_rep(shin, thigh, lean, reps):
    """Hips low and knees deep with the arms hanging (a beginner's kettlebell deadlift) is a pull
    from the floor, not a squat: every rep is found and complete."""
    prog, _ = deadlift_progress(reps, setup_s=1.0, rest_s=0.8)
    pose = pose_from_angles(*angles_from_progress(prog, bottom=(shin, thigh, lean)))
    found = segment_reps(compute_body_series(pose))
    assert_rep_contract(found, pose.n_samples)
    assert sum(r.complete for r in found) == reps == len(found)


@SETTINGS
@given(at=st.floats(0.3, 0.7), pause_s=st.floats(0.2, 0.9), dip=st.floats(0.0, 0.08))
def test_a_hitch_mid_pull_is_one_rep(at, pause_s, dip):
    """A pull that stalls (and sags a little) part-way up and then finishes is one rep."""
    prog = _segments(
        (1.5, 0, 0),
        (0.6, 0, at),
        (pause_s, at, at - dip),
        (0.6, at - dip, 1),
        (1.0, 1, 1),
        (1.0, 1, 0),
        (1.0, 0, 0),
    )
    pose = pose_from_angles(*angles_from_progress(prog))
    found = segment_reps(compute_body_series(pose))
    assert_rep_contract(found, pose.n_samples)
    assert len(found) == 1 and found[0].complete


@SETTINGS
@given(slack=st.floats(0.05, 0.15), slack_s=st.floats(0.5, 1.5))
def test_a_slow_start_is_one_rep(slack, slack_s):
    """Taking the slack (a slow small rise before the pull) does not make a second rep."""
    prog = _segments((1.0, 0, 0), (slack_s, 0, slack), (1.0, slack, 1), (1.0, 1, 1), (1.0, 1, 0), (1.0, 0, 0))
    pose = pose_from_angles(*angles_from_progress(prog))
    found = segment_reps(compute_body_series(pose))
    assert_rep_contract(found, pose.n_samples)
    assert len(found) == 1 and found[0].complete


@SETTINGS
@given(reps=st.integers(2, 6), pull_s=st.floats(0.6, 1.2), lower_s=st.floats(0.5, 1.0))
def test_touch_and_go_sets_count_each_rep_once(reps, pull_s, lower_s):
    """No pause at the floor and a short one at the top: still one rep per pull."""
    kw = dict(setup_s=1.0, pull_s=pull_s, hold_s=0.3, lower_s=lower_s, rest_s=0.0)
    pose, _ = deadlift_pose(reps, **kw)
    found = segment_reps(compute_body_series(pose))
    assert_rep_contract(found, pose.n_samples)
    assert sum(r.complete for r in found) == reps == len(found)


def test_sub_sample_estimates_never_put_two_moments_on_one_source_frame():
    """Set-up and lift-off one 10 fps sample apart on a 30 fps source: their interpolated estimates
    (0.3 of a frame apart) round to one source frame. The later takes the next frame (its time is
    kept); with no frame left before its own sample's, both fall back to their samples."""
    from formcheck_core.biomech.body import Moment
    from formcheck_core.biomech.moments import ordered_refinements

    def moment(name: str, sample: int, refined_s: float | None) -> Moment:
        frame = round(refined_s * 30) if refined_s is not None else None
        return Moment(
            name, sample, sample * 3, sample / 10, refined_s, frame, "interpolated" if frame else None
        )

    def frames(ms: dict[str, Moment]) -> list[int]:
        return [
            m.refined_frame_index if m.refined_frame_index is not None else m.frame_index for m in ms.values()
        ]

    clash = {
        "setup": moment("setup", 52, 5.151),
        "liftoff": moment("liftoff", 53, 5.160),  # later in time, but frame 155 as well
        "knee_pass": moment("knee_pass", 55, 5.37),
        "lockout": moment("lockout", 60, None),
    }
    out = ordered_refinements(clash)
    assert all(a < b for a, b in itertools.pairwise(frames(out))), frames(out)
    assert out["setup"] == clash["setup"] and out["knee_pass"] == clash["knee_pass"]
    assert out["liftoff"].refined_frame_index == 156 and out["liftoff"].refined_time_s == 5.160
    # a refined frame onto the neighbour's own sample frame is a clash too
    onto = ordered_refinements({"setup": moment("setup", 51, None), "liftoff": moment("liftoff", 52, 5.11)})
    assert frames(onto) == [153, 154]
    # no frame left: the later estimate is already at its own sample's frame
    full = ordered_refinements({"setup": moment("setup", 51, 5.199), "liftoff": moment("liftoff", 52, 5.2)})
    assert frames(full) == [153, 156] and full["setup"].refined_time_s is None
