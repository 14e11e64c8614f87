"""Pose quality next to the numbers: each metric carries the visibility of the joints it used."""

from __future__ import annotations

from dataclasses import replace

from synthetic_lifter import deadlift_pose

from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import with_metrics
from formcheck_core.biomech.moments import segment_reps
from formcheck_core.biomech.quality import LOW_VISIBILITY, METRIC_JOINTS, low_confidence, metric_visibility
from formcheck_core.pose.landmarks import LANDMARK


def _rep(pose):
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    rep = with_metrics(body, rep)
    return body, replace(rep, metric_visibility=metric_visibility(pose, body.side, rep))


def test_visible_joints_give_confident_metrics():
    pose, _ = deadlift_pose(1)
    _body, rep = _rep(pose)
    assert set(rep.metric_visibility) <= set(rep.metric_samples)
    assert {"hip_angle_liftoff_deg", "knee_angle_bottom_deg", "torso_lean_liftoff_deg"} <= set(
        rep.metric_visibility
    )
    assert all(v >= LOW_VISIBILITY for v in rep.metric_visibility.values())
    assert not any(low_confidence(rep, m) for m in rep.metrics)


def test_a_hidden_knee_marks_exactly_the_metrics_that_use_it():
    pose, _ = deadlift_pose(1)
    body, rep = _rep(pose)
    bottom = rep.metric_samples["knee_angle_bottom_deg"]  # the hip and knee lift-off sample
    pose.visibility[bottom, LANDMARK[f"{body.side}_knee"]] = 0.1  # legs behind the plates at lift-off
    rep = replace(rep, metric_visibility=metric_visibility(pose, body.side, rep))
    for name, sample in rep.metric_samples.items():
        uses_knee = sample == bottom and "knee" in METRIC_JOINTS.get(name, ())
        assert low_confidence(rep, name) == uses_knee, name
    assert low_confidence(rep, "knee_angle_bottom_deg") and low_confidence(rep, "hip_angle_liftoff_deg")
    assert not low_confidence(rep, "torso_lean_liftoff_deg"), "the torso does not use the knee"
