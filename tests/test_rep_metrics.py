"""Per-rep metrics (formcheck_core.biomech.metrics.rep_metrics) on synthetic lifters with known geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic_lifter import (
    BODY_LENGTH,
    angles_from_progress,
    deadlift_pose,
    deadlift_progress,
    pose_from_angles,
    skeleton,
    smoothstep,
)

from formcheck_core.biomech.body import ViewEstimate
from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import (
    BODY_LENGTH_PER_HEIGHT,
    METRICS,
    measure_rep,
    rep_metrics,
    with_metrics,
)
from formcheck_core.biomech.moments import LOCKOUT_SHOULDER_FRAC, segment_reps
from formcheck_core.biomech.rep_window import HOLD_S, LIFTOFF_BOTTOM_S
from formcheck_core.pose.landmarks import LANDMARK

SIDE = ViewEstimate(view="side", confidence=1.0, side="right", shoulder_ratio=0.05)
FRONT = ViewEstimate(view="front", confidence=1.0, side="right", shoulder_ratio=0.8)


def _one(pose, **kw):
    body = compute_body_series(pose)
    reps = segment_reps(body)
    assert len(reps) == 1
    return body, reps[0], rep_metrics(body, reps[0], **kw)


def _shoulder_lockout_s(truth: dict[str, float], fps: float = 1000.0) -> float:
    """Time (s) the synthetic pull's shoulders first reach LOCKOUT_SHOULDER_FRAC of their rise."""
    prog, _ = deadlift_progress(1, fps=fps)
    t = np.arange(prog.size) / fps
    shoulder_up = -skeleton(*angles_from_progress(prog))["shoulder"][:, 1]
    pull = (t >= truth["liftoff"]) & (t <= truth["lockout"])
    lo, hi = shoulder_up[pull].min(), shoulder_up[pull].max()
    return float(t[pull][np.argmax(shoulder_up[pull] >= lo + LOCKOUT_SHOULDER_FRAC * (hi - lo))])


def test_every_metric_of_a_clean_rep():
    pose, truth = deadlift_pose(1)
    _, rep, m = _one(pose, view=SIDE)
    assert set(m) == set(METRICS)
    assert m["hip_angle_setup_deg"] == pytest.approx(60.0, abs=1.0), (
        "the set position's level, hips at their lowest"
    )
    # Lift-off is placed where the hip has opened ~10 % of its 120 deg rise.
    assert 60.0 <= m["hip_angle_liftoff_deg"] <= 75.0
    assert m["knee_angle_bottom_deg"] == pytest.approx(95.0, abs=10)
    assert 50.0 <= m["torso_lean_liftoff_deg"] <= 60.0
    assert m["hip_angle_lockout_deg"] == pytest.approx(180.0, abs=2)
    assert m["knee_angle_lockout_deg"] == pytest.approx(180.0, abs=2)
    assert m["torso_lean_lockout_deg"] == pytest.approx(0.0, abs=2)
    assert m["lockout_reached"] == 1.0
    assert m["min_elbow_angle_pull_deg"] == pytest.approx(180.0, abs=1)
    assert m["hip_rise_lead_rel"] < 0.02 and m["torso_lean_gain_deg"] < 2.0
    assert m["heel_rise_rel"] == pytest.approx(0.0, abs=0.005)
    # Lockout is where the shoulders reach LOCKOUT_SHOULDER_FRAC of their rise (README), which on
    # this smooth pull is before the hips finish opening: the expected time from the exact geometry.
    lift_s, lock_s = rep.moments["liftoff"].time_s, rep.moments["lockout"].time_s
    assert lock_s == pytest.approx(_shoulder_lockout_s(truth[0]), abs=0.15)
    assert m["rep_duration_s"] == pytest.approx(lock_s - lift_s)
    # against the geometry: from the true start of the pull to the shoulders' lockout, less the
    # lift-off's placement on the hip angle's rise (within 0.3 s of the true start)
    assert m["rep_duration_s"] == pytest.approx(_shoulder_lockout_s(truth[0]) - truth[0]["liftoff"], abs=0.3)
    # Bar drift: the wrists move with the shoulders; compare with the exact geometry.
    lift, lock = rep.moments["liftoff"].sample, rep.moments["lockout"].sample
    x = pose.image_xy_px[:, LANDMARK["right_wrist"], 0]
    expected = np.max(np.abs(x[lift : lock + 1] - x[lift]))
    assert expected > 20
    assert m["max_bar_drift_px"] == pytest.approx(expected, abs=3)
    assert m["max_bar_drift_rel"] == pytest.approx(m["max_bar_drift_px"] / BODY_LENGTH)
    assert math.isnan(m["max_bar_drift_cm"]), "no height given"


def test_drift_in_cm_from_the_lifters_height():
    pose, _ = deadlift_pose(1)
    _, _, m = _one(pose, view=SIDE, height_cm=180.0)
    px_per_cm = BODY_LENGTH / (BODY_LENGTH_PER_HEIGHT * 180.0)
    assert m["max_bar_drift_cm"] == pytest.approx(m["max_bar_drift_px"] / px_per_cm)


def test_front_view_reports_no_drift_and_uses_3d_angles():
    pose, _ = deadlift_pose(1, view="front")
    _, _, m = _one(pose, view=FRONT)
    assert math.isnan(m["max_bar_drift_px"]) and math.isnan(m["max_bar_drift_rel"])
    assert m["hip_angle_lockout_deg"] == pytest.approx(180.0, abs=3), "image angle would be ~180 all along"
    assert m["hip_angle_liftoff_deg"] < 80, "the 3D angle sees the hinge the image cannot"
    assert m["torso_lean_liftoff_deg"] == pytest.approx(60.0, abs=8)
    assert math.isnan(m["lockout_reached"]), "not judged outside a side view"


def test_incomplete_lockout_and_bent_arms():
    prog, _ = deadlift_progress(1)
    top = (15.0, 20.0, 15.0)  # hip 145, knee 145 at the top
    angles = [b + (t - b) * prog for b, t in zip((25.0, 60.0, 60.0), top, strict=False)]
    pose = pose_from_angles(*angles)
    # Bend the elbows by 40 deg during the whole clip: forearm turned toward the body.
    for side in ("left", "right"):
        el, wr = LANDMARK[f"{side}_elbow"], LANDMARK[f"{side}_wrist"]
        fore = pose.image_xy_px[:, wr] - pose.image_xy_px[:, el]
        r = np.radians(40.0)
        rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
        pose.image_xy_px[:, wr] = pose.image_xy_px[:, el] + fore @ rot.T
    _, _, m = _one(pose, view=SIDE)
    assert m["lockout_reached"] == 0.0
    assert m["hip_angle_lockout_deg"] == pytest.approx(145.0, abs=3)
    assert m["min_elbow_angle_pull_deg"] == pytest.approx(140.0, abs=2)


def test_hips_rising_first_is_measured():
    fps, n = 10.0, 60
    t = np.arange(n) / fps
    # 0-1.5 s set; 1.5-2.0 s knees and hips extend while the torso tips forward; then stand up.
    a = smoothstep((t - 1.5) / 0.5)
    b = smoothstep((t - 2.0) / 0.8)
    phi_s = 25.0 - 20.0 * a - 5.0 * b
    phi_t = 60.0 - 40.0 * a - 20.0 * b
    lam = 60.0 + 15.0 * a - 75.0 * b
    _, _, m = _one(pose_from_angles(phi_s, phi_t, lam), view=SIDE)
    assert m["hip_rise_lead_rel"] > 0.05, "a clean rep stays below 0.02"
    assert m["torso_lean_gain_deg"] > 10, "a clean rep stays below 2"


def test_heel_lift_is_measured_against_the_toe():
    pose, _ = deadlift_pose(1)
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    lift, lock = rep.moments["liftoff"].sample, rep.moments["lockout"].sample
    heel = LANDMARK["right_heel"]
    pose.image_xy_px[lift + 2 : lock, heel, 1] -= 16.0  # heel 16 px up during mid-pull
    _, _, m = _one(pose, view=SIDE)
    assert m["heel_rise_rel"] == pytest.approx(16.0 / BODY_LENGTH, abs=0.02)


def test_a_rep_without_lockout_has_nan_lockout_metrics():
    pose, _ = deadlift_pose(1, end_s=2.1)
    _, rep, m = _one(pose, view=None)
    assert "lockout" not in rep.moments
    for name in (
        "hip_angle_lockout_deg",
        "knee_angle_lockout_deg",
        "torso_lean_lockout_deg",
        "lockout_reached",
        "rep_duration_s",
    ):
        assert math.isnan(m[name]), name
    assert math.isfinite(m["hip_angle_liftoff_deg"]) and math.isfinite(m["max_bar_drift_px"])


# ---------------------------------------------------------------- where each value was measured

#: Metrics read from one angle series at their sample (side view: the image series).
ANGLE_SERIES = {
    "hip_angle_setup_deg": "hip_angle_deg",
    "hip_angle_liftoff_deg": "hip_angle_deg",
    "hip_angle_lockout_deg": "hip_angle_deg",
    "hip_angle_top_deg": "hip_angle_deg",
    "knee_angle_bottom_deg": "knee_angle_deg",
    "knee_angle_lockout_deg": "knee_angle_deg",
    "torso_lean_liftoff_deg": "torso_lean_deg",
    "torso_lean_lockout_deg": "torso_lean_deg",
    "min_elbow_angle_pull_deg": "elbow_angle_deg",
}


def assert_values_at_their_samples(body, rep, values, samples):
    """Every recorded sample lies in the rep and the series there reproduces the metric's value."""
    s = body.smoothed
    assert set(samples) <= {k for k, v in values.items() if math.isfinite(v)}
    for name, i in samples.items():
        assert rep.start_sample <= i <= rep.end_sample, (name, i)
    for name, series in ANGLE_SERIES.items():
        if name in samples:
            assert s[series][samples[name]] == pytest.approx(values[name], abs=1e-9), name
    pull_a = rep.moments["liftoff"].sample if "liftoff" in rep.moments else rep.start_sample
    if "max_bar_drift_px" in samples:
        i = samples["max_bar_drift_px"]
        assert abs(s["bar_x_px"][i] - s["bar_x_px"][pull_a]) == pytest.approx(values["max_bar_drift_px"])
        assert samples["max_bar_drift_rel"] == i
    if "heel_rise_rel" in samples and values["heel_rise_rel"] > 0:
        tilt = s["toe_y_px"] - s["heel_y_px"]
        ref = rep.moments["setup"].sample if "setup" in rep.moments else pull_a
        rise = (tilt[samples["heel_rise_rel"]] - tilt[ref]) / body.body_length_px
        assert rise == pytest.approx(values["heel_rise_rel"])


def test_samples_of_moment_values_and_of_extremes():
    pose, _ = deadlift_pose(1)
    body, rep, _ = _one(pose, view=SIDE)
    values, samples = measure_rep(body, rep, view=SIDE)
    plain = rep_metrics(body, rep, view=SIDE)
    assert values.keys() == plain.keys()
    assert all(values[k] == plain[k] or (math.isnan(values[k]) and math.isnan(plain[k])) for k in values)
    mo = {n: m.sample for n, m in rep.moments.items()}
    # hip at set-up: the set position's level (the lowest hip angle held for HOLD_S up to the set-up)
    assert samples["hip_angle_setup_deg"] <= mo["setup"]
    assert values["hip_angle_setup_deg"] <= body.smoothed["hip_angle_deg"][mo["setup"]]
    assert samples["torso_lean_liftoff_deg"] == mo["liftoff"]
    # hip at lift-off: the deepest hip flexion within 0.2 s of lift-off (after setup, before
    # lockout), so a lift-off moment a sample early or late reads the same angle; the knee there:
    # the median within HOLD_S either side of that sample (the plates hide the knee near the floor)
    bottom = samples["hip_angle_liftoff_deg"]
    step = float(np.median(np.diff(body.time_s)))
    k = round(LIFTOFF_BOTTOM_S / step)
    lo, hi = max(mo["setup"], mo["liftoff"] - k), min(mo["liftoff"] + k, mo["lockout"] - 1)
    assert lo <= bottom <= hi
    assert values["hip_angle_liftoff_deg"] == np.nanmin(body.smoothed["hip_angle_deg"][lo : hi + 1])
    h = min(round(HOLD_S / step), bottom - rep.start_sample, rep.end_sample - bottom)  # symmetric
    knee = body.smoothed["knee_angle_deg"][bottom - h : bottom + h + 1]
    assert abs(samples["knee_angle_bottom_deg"] - bottom) <= h
    assert values["knee_angle_bottom_deg"] == np.sort(knee)[(knee.size - 1) // 2]
    for name in ("hip_angle_lockout_deg", "knee_angle_lockout_deg", "torso_lean_lockout_deg"):
        assert samples[name] >= mo["lockout"], name
    assert mo["liftoff"] <= samples["max_bar_drift_px"] <= mo["lockout"]
    assert "rep_duration_s" not in samples and "lockout_reached" not in samples
    assert "max_bar_drift_cm" not in samples, "NaN without a height: no sample"
    assert_values_at_their_samples(body, rep, values, samples)
    filled = with_metrics(body, rep, view=SIDE)
    assert dict(filled.metric_samples) == samples and filled.moments == rep.moments
    assert all(filled.metrics[k] == values[k] for k in values if math.isfinite(values[k]))


@pytest.mark.parametrize("speed", [0.8, 1.25])
def test_set_up_hip_angle_keeps_its_value_in_a_speed_scaled_copy(speed):
    """The hip angle at set-up is the set position's held level, not the set-up sample's value: a
    copy of the lift played at 0.8x or 1.25x (every duration scaled, the 10 samples/s falling at
    other instants of the motion) reads it within a degree, while the value at the set-up moment's
    own sample, on the hips' fast rise, moves with where the samples fall."""
    kw = {"setup_s": 1.5, "pull_s": 0.6, "hold_s": 1.0, "lower_s": 1.0, "rest_s": 1.0}
    readings, at_setup = [], []
    for scale, start_s in ((1.0, 0.0), (1.0 / speed, 0.03), (1.0 / speed, 0.07)):
        pose, _ = deadlift_pose(1, **{k: v * scale for k, v in kw.items()}, start_s=start_s)
        body, rep, m = _one(pose, view=SIDE)
        readings.append(m["hip_angle_setup_deg"])
        at_setup.append(float(body.smoothed["hip_angle_deg"][rep.moments["setup"].sample]))
    assert max(readings) - min(readings) < 1.0, readings
    assert max(at_setup) - min(at_setup) > 1.0, "the set-up sample's own value is not a stable reading"


def test_bent_elbows_are_located_where_they_bend_not_at_a_key_moment():
    pose, _ = deadlift_pose(1)
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    lock = rep.moments["lockout"].sample
    bend = range(lock - 4, lock - 1)  # three samples late in the pull
    for side in ("left", "right"):
        el, wr = LANDMARK[f"{side}_elbow"], LANDMARK[f"{side}_wrist"]
        fore = pose.image_xy_px[bend, wr] - pose.image_xy_px[bend, el]
        r = np.radians(50.0)
        rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
        pose.image_xy_px[bend, wr] = pose.image_xy_px[bend, el] + fore @ rot.T
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    values, samples = measure_rep(body, rep, view=SIDE)
    assert values["min_elbow_angle_pull_deg"] < 160
    i = samples["min_elbow_angle_pull_deg"]
    assert bend.start - 1 <= i <= bend.stop, "at the bend (smoothing spreads it by a sample)"
    assert i not in {m.sample for m in rep.moments.values()}
    assert body.smoothed["elbow_angle_deg"][i] == pytest.approx(values["min_elbow_angle_pull_deg"])


def test_heel_and_drift_samples_follow_the_fault():
    pose, _ = deadlift_pose(1)
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    lift, lock = rep.moments["liftoff"].sample, rep.moments["lockout"].sample
    mid = (lift + lock) // 2
    pose.image_xy_px[mid - 1 : mid + 2, LANDMARK["right_heel"], 1] -= 20.0  # heel up around mid-pull
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    values, samples = measure_rep(body, rep, view=SIDE)
    assert values["heel_rise_rel"] > 0.01
    assert abs(samples["heel_rise_rel"] - mid) <= 1
    assert_values_at_their_samples(body, rep, values, samples)


def test_nan_metrics_have_no_sample():
    pose, _ = deadlift_pose(1, end_s=2.1)
    body, rep, _ = _one(pose, view=None)
    values, samples = measure_rep(body, rep)
    for name in ("hip_angle_lockout_deg", "knee_angle_lockout_deg", "torso_lean_lockout_deg"):
        assert math.isnan(values[name]) and name not in samples
    assert "max_bar_drift_px" in samples


@pytest.mark.parametrize("stem", ["posereader_arm_bend", "reel_good_14", "gym1080_bad_02"])
def test_real_clip_values_are_found_at_their_samples(dev_clip, stem):
    """On real pose data (NaN gaps, jitter) every recorded sample reproduces its value."""
    from formcheck_core.analysis import analyze
    from formcheck_core.biomech.back_series import BACK_METRICS
    from formcheck_core.biomech.moments import stopped_short_of_lockout
    from formcheck_core.export import to_dict

    a = analyze(dev_clip(stem), rules=False, progress=False)
    # posereader_arm_bend: one partial pull (never reached lockout), measured like a rep
    assert (a.reps or a.partial_pulls) and a.view.view == "side", (a.warnings, a.view)
    for rep in (*a.reps, *a.partial_pulls):
        values, samples = measure_rep(a.body, rep, view=a.view)
        stored = {k: v for k, v in rep.metric_samples.items() if k not in BACK_METRICS}
        assert stored == samples, "analyze() stores the samples with the rep"
        # The back metrics (segmentation pass) are placed at samples that pass measured.
        assert {v for k, v in rep.metric_samples.items() if k in BACK_METRICS} <= set(a.back.sample.tolist())
        assert {"min_elbow_angle_pull_deg", "max_bar_drift_rel", "heel_rise_rel"} <= set(samples)
        # the top of a pull that stopped short of lockout (it has no lockout to read)
        short = stopped_short_of_lockout(rep)
        assert ("hip_angle_top_deg" in samples) == short
        assert not (short and "hip_angle_lockout_deg" in samples)
        assert_values_at_their_samples(a.body, rep, values, samples)
    data = to_dict(a, include_series=False)
    first, key = (a.reps[0], "reps") if a.reps else (a.partial_pulls[0], "partial_pulls")
    exported = data[key][0]["metric_samples"]
    assert exported == {k: int(v) for k, v in first.metric_samples.items()}
