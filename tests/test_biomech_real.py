"""Biomechanics on real dev clips (pose from the cache, or MediaPipe when not cached), against the labels.

The clips cover a side view with 10 reps, two 2-rep clips (one mirrored phone video), a front-view
Romanian deadlift from standing (3 reps without lift-off), a clip that ends before lockout and a
squat (no deadlift reps). Full accuracy over every dev clip: ``scripts/evaluate_dev.py``.
"""

from __future__ import annotations

import math

import pytest

from formcheck_core.analysis import analyze, load_or_extract_pose
from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import METRICS
from formcheck_core.biomech.moments import segment_reps
from formcheck_core.biomech.view import estimate_view
from formcheck_core.video import probe_video

pytestmark = pytest.mark.slow

TOL_S = 0.25
CLIPS = [
    "kettlebell_correct_side",
    "instructional_side_a",
    "phone_side_a",
    "posereader_good",
    "front_b",
    "posereader_heellift",
    "squat_side",
]


@pytest.fixture(scope="module")
def measured(dev_clip, dev_labels, pose_model):
    def run(stem: str):
        pose, _ = load_or_extract_pose(probe_video(dev_clip(stem)), pose_model=pose_model, progress=False)
        view = estimate_view(pose)
        body = compute_body_series(pose, side=view.side)
        return view, body, segment_reps(body), dev_labels[stem]

    return run


@pytest.mark.parametrize("stem", CLIPS)
def test_rep_count_and_moments_match_the_labels(measured, stem):
    _, _, reps, label = measured(stem)
    assert len(reps) == len(label["reps"]), f"{stem}: {len(reps)} reps found, {len(label['reps'])} labelled"
    fps = label["fps"]
    for rep, lab in zip(reps, label["reps"], strict=False):
        for name in ("liftoff", "lockout"):
            frame = lab[f"{name}_frame"]
            if frame is None:
                continue
            assert name in rep.moments, f"{stem} rep {rep.number}: no {name}"
            err = (rep.moments[name].frame_index - frame) / fps
            assert abs(err) <= TOL_S, f"{stem} rep {rep.number} {name} off by {err:+.2f} s"


@pytest.mark.parametrize("stem", CLIPS)
def test_view_matches_the_label(measured, stem):
    view, _, _, label = measured(stem)
    assert view.view == label["view"].split("_")[0]
    if view.view == "front":
        assert any("bar drift" in n for n in view.notes)


def test_clip_ending_before_lockout(measured):
    _, _, reps, label = measured("posereader_heellift")
    assert label["reps"][0]["lockout_frame"] is None
    assert "lockout" not in reps[0].moments and not reps[0].complete


def test_analyze_end_to_end_fills_every_metric(dev_clip, pose_model):
    a = analyze(
        dev_clip("posereader_good"), pose_model=pose_model, rules=False, progress=False, height_cm=178.0
    )
    assert a.ok and a.view.view == "side" and len(a.reps) == 1
    m = a.reps[0].metrics
    assert set(m) == set(METRICS)
    assert m["lockout_reached"] == 1.0
    assert 120 < m["hip_angle_lockout_deg"] <= 180 and 20 < m["hip_angle_liftoff_deg"] < 110
    assert math.isfinite(m["max_bar_drift_cm"]) and 0 <= m["max_bar_drift_cm"] < 30
