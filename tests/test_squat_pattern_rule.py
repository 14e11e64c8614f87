"""squat_pattern on synthetic lifters: the metric's geometry, the call, its invariances, off by default.

The synthetic lifter (``synthetic_lifter``) is built from segment angles, so the set-up's knee
flexion (shin + thigh from vertical) and torso lean are known exactly; the metric is read through
the real path (body series -> rep segmentation -> metrics) and judged by the real rule engine.
"""

from __future__ import annotations

import math

import pytest
from rule_fixtures import make_analysis, make_rep
from synthetic_lifter import angles_from_progress, deadlift_progress, pose_from_angles

from formcheck_core.biomech.body import ViewEstimate
from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import with_metrics
from formcheck_core.biomech.moments import segment_reps
from formcheck_core.plugins import collect_rules, new_plugin_manager
from formcheck_core.rules import apply_rules
from formcheck_core.rules.thresholds import threshold_settings
from formcheck_rules import squat_pattern

LIMIT = squat_pattern.MAX_SQUAT_INDEX_DEG
ON = {"squat_pattern": {"enabled": 1.0}}
SIDE = ViewEstimate("side", 0.9, "right", 0.1)
#: (shin, thigh, torso) from vertical at the bottom, degrees.
SQUAT = (30.0, 85.0, 35.0)  # knees 115 deg flexed, hips at knee height, torso upright: index +80
HINGE = (20.0, 55.0, 65.0)  # knees 75 deg flexed, torso well over the bar: index +10


def reps_of(bottom, *, mirror=False, reps=2):
    prog, _ = deadlift_progress(reps, setup_s=1.0, rest_s=0.8)
    pose = pose_from_angles(*angles_from_progress(prog, bottom=bottom), mirror=mirror)
    body = compute_body_series(pose)
    found = segment_reps(body)
    assert len(found) == reps and all(r.complete for r in found)  # a squat-pattern pull is analysed
    return [with_metrics(body, r, view=SIDE) for r in found]


def judged(reps, thresholds=ON, view="side"):
    a = apply_rules(make_analysis(tuple(reps), view=view), thresholds, plugin_manager=new_plugin_manager())
    return [f for f in a.findings if f.rule_id == "squat_pattern"]


@pytest.mark.parametrize("bottom", [SQUAT, HINGE])
def test_metric_is_knee_flexion_minus_lean_at_setup(bottom):
    shin, thigh, lean = bottom
    for rep in reps_of(bottom):
        value = rep.metrics["squat_index_setup_deg"]
        assert value == pytest.approx(shin + thigh - lean, abs=3.0)
        # the median within 0.2 s either side of set-up (the knee is behind the plates there)
        assert abs(rep.metric_samples["squat_index_setup_deg"] - rep.moments["setup"].sample) <= 2


def test_squat_pattern_fires_and_a_hinge_passes():
    squat, hinge = judged(reps_of(SQUAT)), judged(reps_of(HINGE))
    assert len(squat) == len(hinge) == 2
    assert all(f.is_fault and f.value > LIMIT and f.moment == "setup" for f in squat)
    assert all(f.status == "ok" and f.value < LIMIT for f in hinge)
    assert "squat" in squat[0].message and "hips" in squat[0].cue.lower()


def test_mirrored_lifter_reads_the_same():
    for bottom in (SQUAT, HINGE):
        a = [r.metrics["squat_index_setup_deg"] for r in reps_of(bottom)]
        b = [r.metrics["squat_index_setup_deg"] for r in reps_of(bottom, mirror=True)]
        assert a == pytest.approx(b, abs=0.5)


def test_the_limit_orders_the_calls():
    """Deeper knees or a more upright torso never turn a fault into a pass."""
    values = []
    for lean in (70.0, 55.0, 40.0, 25.0):
        values.append(reps_of((30.0, 80.0, lean), reps=1)[0].metrics["squat_index_setup_deg"])
    assert values == sorted(values)
    calls = [judged([make_rep(1, squat_index_setup_deg=v)])[0].is_fault for v in values]
    assert calls == sorted(calls) and calls[0] is False and calls[-1] is True


def test_off_by_default_and_on_with_preset_all():
    rules, _ = collect_rules(new_plugin_manager())
    assert "squat_pattern" in rules
    assert threshold_settings()["squat_pattern"]["enabled"] == 0.0
    assert threshold_settings(preset="all")["squat_pattern"]["enabled"] == 1.0
    rep = make_rep(1, squat_index_setup_deg=LIMIT + 20)
    assert not any(f.is_fault for f in judged([rep], thresholds=None))
    assert judged([rep])[0].is_fault


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_not_judged_outside_a_side_view(view):
    (f,) = judged([make_rep(1, squat_index_setup_deg=LIMIT + 20)], view=view)
    assert f.status == "not_measurable" and f.value is None


def test_not_measurable_without_the_knee():
    (f,) = judged([make_rep(1, squat_index_setup_deg=math.nan)])
    assert f.status == "not_measurable"
