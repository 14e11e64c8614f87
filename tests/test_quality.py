"""Pose quality next to the numbers: per-landmark confidence (visibility, jitter, in the frame), each
metric reading's confidence and mark, findings that carry it, and a verdict that discounts it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from synthetic_lifter import deadlift_pose

from formcheck_core.biomech.body import MetricQuality
from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import with_metrics
from formcheck_core.biomech.moments import segment_reps
from formcheck_core.biomech.quality import (
    JITTER_BAD_REL,
    LOW_CONFIDENCE,
    METRIC_JOINTS,
    VIS_HIDDEN,
    landmark_confidence,
    low_confidence,
    metric_quality,
    pose_quality,
    series_confidence,
)
from formcheck_core.pose.landmarks import LANDMARK

BODY_PX = 300.0


def _still(n: int = 9, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k`` landmarks standing still mid-frame over ``n`` samples, clearly visible."""
    xy = np.tile(np.array([[200.0, 200.0], [220.0, 260.0], [240.0, 320.0]])[:k], (n, 1, 1))
    return np.full((n, k), 0.95), xy, xy.copy()


def test_a_clean_landmark_is_fully_confident():
    vis, raw, smooth = _still()
    q = landmark_confidence(vis, raw, smooth, BODY_PX, 640, 480)
    assert q.confidence.shape == (9, 3)
    assert np.all(q.confidence == 1.0)


def test_hidden_jittery_and_outside_landmarks_are_low_and_say_why():
    vis, raw, smooth = _still()
    vis[4, 0] = 0.6  # behind the plates: MediaPipe still says 0.6-0.7
    raw[4, 1] += [0.0, 2 * JITTER_BAD_REL * BODY_PX]  # one sample 6 % of a body length off the smooth path
    raw[4, 2] = [700.0, 320.0]  # outside a 640 px wide frame
    smooth[4, 2] = [700.0, 320.0]
    q = landmark_confidence(vis, raw, smooth, BODY_PX, 640, 480)
    assert q.confidence[4, 0] < LOW_CONFIDENCE and q.jitter_score[4, 0] == 1.0
    assert q.confidence[4, 1] == 0.0 and q.visibility_score[4, 1] == 1.0
    # jitter counts for the samples either side too, not further
    assert q.confidence[3, 1] == 0.0 and q.confidence[5, 1] == 0.0 and q.confidence[2, 1] == 1.0
    assert q.confidence[4, 2] == 0.0 and not q.inside[4, 2]
    assert np.all(q.confidence[:, 0][np.arange(9) != 4] == 1.0), "one sample hidden, the others not"


def test_nan_handling():
    vis, raw, smooth = _still()
    raw[4, 0] = np.nan  # not detected at the sample: 0
    vis[6, 1] = np.nan  # visibility unknown: 0
    smooth[2, 2] = np.nan  # a gap too long to fill: 0
    q = landmark_confidence(vis, raw, smooth, BODY_PX, 640, 480)
    assert q.confidence[4, 0] == 0.0 and q.confidence[6, 1] == 0.0 and q.confidence[2, 2] == 0.0
    # a missing neighbour does not spoil the samples next to it
    assert q.confidence[3, 0] == 1.0 and q.confidence[5, 0] == 1.0 and q.confidence[1, 2] == 1.0
    assert not np.isnan(q.confidence).any()
    q = landmark_confidence(vis, raw, smooth, float("nan"), 640, 480)  # no length scale: nothing to trust
    assert np.all(q.confidence == 0.0)


def _rep(pose):
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    rep = with_metrics(body, rep)
    return body, replace(rep, metric_quality=metric_quality(pose_quality(pose, body), body.side, rep))


def test_visible_joints_give_confident_metrics():
    pose, _ = deadlift_pose(1)
    _body, rep = _rep(pose)
    assert set(rep.metric_quality) <= set(rep.metric_samples)
    assert {"hip_angle_liftoff_deg", "knee_angle_bottom_deg", "torso_lean_liftoff_deg"} <= set(
        rep.metric_quality
    )
    assert all(q.confidence >= LOW_CONFIDENCE and q.mark == "" for q in rep.metric_quality.values())
    assert not any(low_confidence(rep, m) for m in rep.metrics)


@pytest.mark.parametrize(
    ("visibility", "mark"),
    [(0.6, "low confidence: {side} knee hidden"), (0.1, "not measurable: {side} knee not visible")],
)
def test_a_hidden_knee_marks_exactly_the_metrics_that_use_it(visibility, mark):
    pose, _ = deadlift_pose(1)
    body, rep = _rep(pose)
    bottom = rep.metric_samples["knee_angle_bottom_deg"]  # the hip and knee lift-off sample
    pose.visibility[bottom, LANDMARK[f"{body.side}_knee"]] = visibility  # legs behind the plates
    rep = replace(rep, metric_quality=metric_quality(pose_quality(pose, body), body.side, rep))
    for name, sample in rep.metric_samples.items():
        uses_knee = sample == bottom and "knee" in METRIC_JOINTS.get(name, ())
        assert low_confidence(rep, name) == uses_knee, name
    q = rep.metric_quality["knee_angle_bottom_deg"]
    assert q.mark == mark.format(side=body.side) and q.joint == f"{body.side} knee"
    assert q.measurable == (visibility > VIS_HIDDEN)
    assert rep.metric_quality["hip_angle_liftoff_deg"].mark == q.mark
    assert not low_confidence(rep, "torso_lean_liftoff_deg"), "the torso does not use the knee"


def test_a_jittering_knee_is_low_confidence_and_greys_its_stretch():
    pose, _ = deadlift_pose(1)
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    rep = with_metrics(body, rep)
    s = rep.metric_samples["knee_angle_bottom_deg"]
    k = LANDMARK[f"{body.side}_knee"]
    pose.image_xy_px[s, k] += [0.1 * body.body_length_px, 0.0]  # the model guesses the knee 10 % off
    q = pose_quality(pose, body)
    mq = metric_quality(q, body.side, rep)["knee_angle_bottom_deg"]
    assert mq.low and mq.measurable and mq.mark == f"low confidence: {body.side} knee jittery"
    grey = series_confidence(q, body.side, METRIC_JOINTS["knee_angle_bottom_deg"]) < LOW_CONFIDENCE
    assert grey[s] and grey.sum() <= 3, "only the jittering sample and its neighbours"


def test_a_finding_carries_its_readings_confidence_and_mark():
    from formcheck_core.rules.context import RuleContext
    from formcheck_core.rules.model import Rule

    pose, _ = deadlift_pose(1)
    body, rep = _rep(pose)
    rule = Rule(
        id="deep_knees",
        check=lambda ctx: ctx.compare("knee_angle_bottom_deg", "min_deg", fault_if="below"),
        description="knees",
        metrics=("knee_angle_bottom_deg",),
        thresholds={"min_deg": 170.0},
        cue="",
    )
    hidden = MetricQuality(confidence=0.3, joint="right knee", cause="hidden", visibility=0.62, low=True)
    low_rep = replace(rep, metric_quality={**rep.metric_quality, "knee_angle_bottom_deg": hidden})
    f = rule.check(
        RuleContext(rule=rule, rep=low_rep, thresholds=rule.thresholds, lift="deadlift", body=body)
    )
    assert f.is_fault and f.confidence == 0.3 and f.quality == "low confidence: right knee hidden"
    clean = rule.check(
        RuleContext(rule=rule, rep=rep, thresholds=rule.thresholds, lift="deadlift", body=body)
    )
    assert clean.confidence == rep.metric_quality["knee_angle_bottom_deg"].confidence and clean.quality == ""
    gone = replace(hidden, confidence=0.0, cause="not visible", visibility=0.1, measurable=False)
    nm_rep = replace(rep, metric_quality={**rep.metric_quality, "knee_angle_bottom_deg": gone})
    nm = rule.check(
        RuleContext(rule=rule, rep=nm_rep, thresholds=rule.thresholds, lift="deadlift", body=body)
    )
    assert nm.status == "not_measurable" and "right knee not visible" in nm.message


def test_a_low_confidence_fault_alone_does_not_make_a_set_need_work():
    from formcheck_core.findings import Finding
    from formcheck_core.rules.verdicts import verdicts

    pose, _ = deadlift_pose(1)
    _body, rep = _rep(pose)
    reps = [replace(rep, number=i) for i in (1, 2)]

    def fault(rep_no: int, confidence: float | None) -> Finding:
        return Finding(
            "r", rep_no, "fault", "moderate", "m", value=95.0, threshold=80.0, confidence=confidence
        )

    ok = [Finding("r", i, "ok", "info", "m", confidence=0.9) for i in (1, 2)]
    low = verdicts([fault(1, 0.3), *ok[1:]], reps)
    assert [v.label for v in low] == ["clean", "clean", "clean"]
    assert low[-1].top_finding is not None and low[-1].top_finding.confidence == 0.3, "still reported"
    for confidence in (0.8, None):  # a confident (or unrated) fault still counts
        sure = verdicts([fault(1, confidence), *ok[1:]], reps)
        assert [v.label for v in sure] == ["needs work", "clean", "needs work"]


def test_the_llm_is_told_which_fault_rests_on_a_low_confidence_reading():
    from formcheck_core.findings import Finding
    from formcheck_core.llm.prompts import _finding, _finding_line

    mark = "low confidence: left knee hidden"
    low = Finding("r", 1, "fault", "moderate", "m", value=40.0, threshold=60.0, unit="deg", quality=mark)
    d = _finding(low)
    assert d["pose_quality"] == mark and mark in _finding_line(d, "rep 1")
    sure = _finding(Finding("r", 1, "fault", "moderate", "m", value=40.0, threshold=60.0, unit="deg"))
    assert "pose_quality" not in sure and "confidence" not in _finding_line(sure, "rep 1")
