"""A squat-pattern pull (hips at about knee height, knees ~90 deg, torso fairly upright) is a rep.

The synthetic lifter (``synthetic_lifter``) is built from segment angles: with the hips low and the
torso upright, the hanging hands are at about the hips' height, so "the bar below mid-thigh"
measured between the hips and the knees at the bottom fails, while on the standing body's scale
the bar hangs low on straight arms. Read through the real path (body series -> rep segmentation ->
metrics -> rule engine); the hint for a side-view clip without a lift says what was not found.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from rep_contract import assert_rep_contract
from rule_fixtures import make_analysis
from synthetic_lifter import BODY_LENGTH, angles_from_progress, deadlift_progress, pose_from_angles

from formcheck_core.biomech.body import ViewEstimate
from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import with_metrics
from formcheck_core.biomech.moments import HANDS_NOT_LOW, no_pull_reason, segment_reps
from formcheck_core.coach import cues_from_findings
from formcheck_core.plugins import new_plugin_manager
from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.rules import apply_rules
from formcheck_rules.squat_pattern import MAX_SQUAT_INDEX_DEG

#: A bottom with the hanging wrists at the knees' height (as a kettlebell handle is held).
KNEE_HEIGHT_START = (15.0, 60.0, 50.0)
#: (shin, thigh, torso) from vertical at the bottom, degrees: knees 90 deg flexed, hips 42 px
#: above the knees, torso 20 deg from vertical; the hanging wrists are 19 px below the hips, i.e.
#: above mid-thigh in the hip-to-knee frame.
SQUAT_PULL = (25.0, 65.0, 20.0)
SIDE = ViewEstimate("side", 0.9, "right", 0.1)


def _body(bottom, *, arms="hang", reps=3, mirror=False):
    prog, truth = deadlift_progress(reps, setup_s=1.0, rest_s=0.8)
    pose = pose_from_angles(*angles_from_progress(prog, bottom=bottom), arms=arms, mirror=mirror)
    return compute_body_series(pose), truth


@pytest.mark.parametrize("mirror", [False, True])
def test_squat_pattern_pull_is_counted_with_its_moments(mirror):
    body, truth = _body(SQUAT_PULL, mirror=mirror)
    reps = segment_reps(body)
    assert len(reps) == len(truth) and all(r.complete for r in reps)
    for rep, t in zip(reps, truth, strict=True):
        assert abs(rep.moments["liftoff"].time_s - t["liftoff"]) <= 0.25
        assert abs(rep.moments["lockout"].time_s - t["lockout"]) <= 0.25
    assert no_pull_reason(body) == ""


def test_squat_pattern_pull_is_judged_by_squat_pattern():
    body, _ = _body(SQUAT_PULL)
    reps = tuple(with_metrics(body, r, view=SIDE) for r in segment_reps(body))
    shin, thigh, lean = SQUAT_PULL
    for rep in reps:
        assert rep.metrics["squat_index_setup_deg"] == pytest.approx(shin + thigh - lean, abs=3.0)
    a = apply_rules(
        make_analysis(reps), {"squat_pattern": {"enabled": 1.0}}, plugin_manager=new_plugin_manager()
    )
    found = [f for f in a.findings if f.rule_id == "squat_pattern"]
    assert len(found) == len(reps)
    assert all(f.is_fault and f.value > MAX_SQUAT_INDEX_DEG for f in found)


def test_the_same_squat_with_the_bar_racked_is_not_a_pull():
    """Hands at the shoulders (a back or front squat) in the same posture: no pull, and why."""
    body, _ = _body(SQUAT_PULL, arms="rack")
    assert segment_reps(body) == ()
    assert no_pull_reason(body) == HANDS_NOT_LOW


def test_side_view_without_a_lift_is_not_told_to_film_from_the_side():
    warning = f"No complete lift was found: no rep from the floor to lockout was detected (no pull: {HANDS_NOT_LOW})."
    side = cues_from_findings([], warnings=[warning], view="side")
    assert len(side) == 1
    assert "from the side" not in side[0].text.lower()
    assert HANDS_NOT_LOW in side[0].text and "side view" in side[0].why
    front = cues_from_findings([], warnings=[warning], view="front")
    assert "from the side" in front[0].text.lower()


def _with_knuckles(body, drop_px):
    """``body`` with index and pinky knuckles ``drop_px`` below each wrist (the hand hanging)."""
    kp = np.array(body.keypoints_px, float, copy=True)
    for side in ("left", "right"):
        for joint in ("index", "pinky"):
            kp[:, LANDMARK[f"{side}_{joint}"]] = kp[:, LANDMARK[f"{side}_wrist"]] + np.array([0.0, drop_px])
    return replace(body, keypoints_px=kp)


def test_squat_pattern_pull_has_no_knee_pass_and_says_why():
    body, _ = _body(SQUAT_PULL)
    reps = segment_reps(body)
    assert_rep_contract(reps, body.time_s.size)
    for rep in reps:
        assert "knee_pass" not in rep.moments
        assert "at or above knee height" in rep.missing_moments["knee_pass"]


def test_a_bar_starting_at_knee_height_passes_them_at_the_grip():
    """Wrists at the knees at set-up: read at the wrists the bar is "above the knees" at lift-off;
    the grip (the knuckles, half a hand below the wrists) still passes them after lift-off."""
    body, _ = _body(KNEE_HEIGHT_START)
    wrists = segment_reps(body)
    assert all("knee_pass" not in r.moments for r in wrists)
    assert all("at or above knee height" in r.missing_moments["knee_pass"] for r in wrists)
    grip = segment_reps(_with_knuckles(body, 0.05 * BODY_LENGTH))
    assert_rep_contract(grip, body.time_s.size)
    assert len(grip) == len(wrists)
    for rep in grip:
        m = rep.moments
        assert m["liftoff"].sample < m["knee_pass"].sample < m["lockout"].sample


def test_a_one_sample_knee_slip_at_lift_off_does_not_hide_the_knee_pass():
    """The near knee behind the plates read 30 px low at lift-off (bar "above" it for one sample):
    the knee pass is still where the bar rises past the knee for good."""
    prog, _ = deadlift_progress(1, setup_s=1.0, pull_s=2.0)  # a slow pull: samples below the knee
    body = compute_body_series(pose_from_angles(*angles_from_progress(prog, bottom=(25.0, 55.0, 75.0))))
    (clean,) = segment_reps(body)
    lift = clean.moments["liftoff"].sample
    knee = np.array(body.smoothed["knee_y_px"], float, copy=True)
    knee[lift] = body.smoothed["bar_y_px"][lift] + 30.0
    (slipped,) = segment_reps(replace(body, smoothed={**body.smoothed, "knee_y_px": knee}))
    assert slipped.moments["knee_pass"].sample == clean.moments["knee_pass"].sample > lift
