"""Hand-built analyses for the LLM tests (no video needed), and tests of the prompt data blocks.

Other LLM test modules import :func:`make_analysis` and :data:`FAULTY_SET` from here.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from formcheck_core.analysis import Analysis
from formcheck_core.biomech.body import BodySeries, Moment, Rep, ViewEstimate
from formcheck_core.findings import Finding
from formcheck_core.llm.prompts import (
    COACH_SYSTEM_PROMPT,
    coaching_data,
    coaching_messages,
    flagging_data,
    flagging_messages,
)
from formcheck_core.pose.series import PoseSeries
from formcheck_core.video import VideoInfo

REP1 = {
    "hip_angle_setup_deg": 72.44,
    "hip_angle_liftoff_deg": 75.12,
    "hip_angle_lockout_deg": 171.31,
    "knee_angle_bottom_deg": 118.64,
    "knee_angle_lockout_deg": 174.2,
    "torso_lean_liftoff_deg": 58.73,
    "torso_lean_lockout_deg": 4.06,
    "max_bar_drift_px": 21.4,
    "max_bar_drift_rel": 0.0713,
    "max_bar_drift_cm": float("nan"),
    "lockout_reached": 1.0,
    "hip_rise_lead_rel": 0.031,
    "min_elbow_angle_pull_deg": 171.9,
    "heel_rise_rel": 0.0042,
    "rep_duration_s": 1.93,
}
REP2 = {
    **REP1,
    "hip_angle_liftoff_deg": 68.02,
    "torso_lean_liftoff_deg": 67.31,
    "hip_angle_lockout_deg": 158.62,
    "lockout_reached": 0.0,
    "max_bar_drift_rel": 0.0952,
    "max_bar_drift_px": 28.6,
    "rep_duration_s": 2.41,
}


def _finding(
    rule_id,
    rep,
    status,
    value=None,
    threshold=None,
    unit="deg",
    metric=None,
    moment=None,
    severity="moderate",
    message="",
    cue="",
):
    return Finding(
        rule_id=rule_id,
        rep=rep,
        status=status,
        severity=severity if status == "fault" else "info",
        message=message,
        moment=moment,
        value=value,
        threshold=threshold,
        unit=unit,
        metric=metric,
        cue=cue,
    )


FINDINGS = (
    _finding(
        "excessive_torso_lean",
        1,
        "ok",
        58.73,
        65.0,
        metric="torso_lean_liftoff_deg",
        moment="liftoff",
        message="Torso 58.7° from vertical at lift-off (limit 65°).",
    ),
    _finding(
        "excessive_torso_lean",
        2,
        "fault",
        67.31,
        65.0,
        metric="torso_lean_liftoff_deg",
        moment="liftoff",
        message="Torso 67.3° from vertical at lift-off, over the 65° limit.",
        cue="Chest up: push the floor away",
    ),
    _finding(
        "incomplete_lockout",
        1,
        "ok",
        171.31,
        165.0,
        metric="hip_angle_lockout_deg",
        moment="lockout",
        message="Hips reached 171.3° at lockout.",
    ),
    _finding(
        "incomplete_lockout",
        2,
        "fault",
        158.62,
        165.0,
        metric="hip_angle_lockout_deg",
        moment="lockout",
        severity="major",
        message="Hips stopped at 158.6° (full lockout is 165° or more).",
        cue="Squeeze your glutes and stand tall",
    ),
    _finding(
        "bar_drift",
        1,
        "ok",
        0.071,
        0.12,
        unit="body_lengths",
        metric="max_bar_drift_rel",
        message="Bar stayed within 0.071 body lengths.",
    ),
    _finding(
        "bar_drift",
        2,
        "ok",
        0.095,
        0.12,
        unit="body_lengths",
        metric="max_bar_drift_rel",
        message="Bar stayed within 0.095 body lengths.",
    ),
    _finding(
        "heel_lift",
        None,
        "not_measurable",
        unit="body_lengths",
        metric="heel_rise_rel",
        message="Heels are hidden in this clip.",
    ),
)


def make_analysis(
    rep_metrics=(REP1, REP2), findings=FINDINGS, view="side", warnings=(), height_cm=None
) -> Analysis:
    """An :class:`Analysis` built by hand: ``len(rep_metrics)`` reps of 20 samples each at 10 fps."""
    n_reps = len(rep_metrics)
    T = max(20 * n_reps, 20)
    t = np.arange(T) / 10.0
    frames = np.arange(T) * 3
    pose = PoseSeries(
        frame_index=frames,
        time_s=t,
        image_xy_px=np.full((T, 33, 2), 200.0),
        image_z=np.zeros((T, 33)),
        world_xyz_m=np.zeros((T, 33, 3)),
        visibility=np.ones((T, 33)),
        people_count=np.ones(T, dtype=int),
        width_px=640,
        height_px=480,
        source_fps=30.0,
        sample_fps=10.0,
        model_id="synthetic",
        running_mode="video",
    )
    phase = (t % 2.0) / 2.0
    smoothed = {
        "hip_angle_deg": 70 + 100 * phase,
        "knee_angle_deg": 115 + 60 * phase,
        "torso_lean_deg": 65 - 60 * phase,
        "elbow_angle_deg": np.full(T, 172.0),
        "bar_x_px": 300 + 20 * np.sin(np.pi * phase),
        "bar_y_px": 400 - 150 * phase,
        "hip_y_px": 300 - 80 * phase,
        "shoulder_y_px": 220 - 120 * phase,
        "heel_y_px": np.full(T, 460.0),
        "toe_y_px": np.full(T, 462.0),
    }
    smoothed["torso_lean_deg"][5] = np.nan  # a gap, as real series have
    body = BodySeries(
        time_s=t,
        frame_index=frames,
        smoothed=smoothed,
        raw=smoothed,
        keypoints_px=np.zeros((T, 33, 2)),
        side="left",
        facing_sign=1,
        body_length_px=300.0,
        filter_note="synthetic",
    )
    reps = []
    for i, metrics in enumerate(rep_metrics):
        s = 20 * i
        idx = {"setup": s + 1, "liftoff": s + 3, "knee_pass": s + 9, "lockout": s + 18}
        moments = {k: Moment(k, v, int(frames[v]), float(t[v])) for k, v in idx.items()}
        reps.append(
            Rep(number=i + 1, start_sample=s, end_sample=s + 19, moments=moments, metrics=dict(metrics))
        )
    info = VideoInfo(
        path="synthetic.mp4",
        width_px=640,
        height_px=480,
        fps=30.0,
        frame_count_header=T * 3,
        rotation_deg=0,
        size_bytes=1,
    )
    v = ViewEstimate(
        view=view,
        confidence=0.91,
        side="left",
        shoulder_ratio=0.2,
        notes=() if view == "side" else (f"{view} view: bar drift and torso lean are unreliable",),
    )
    return Analysis(
        video=info,
        video_sha256="0" * 64,
        lift="deadlift",
        pose=pose,
        body=body,
        view=v,
        reps=tuple(reps),
        findings=tuple(findings),
        warnings=tuple(warnings),
        lifter_height_cm=height_cm,
    )


FAULTY_SET = make_analysis()


def test_coaching_data_is_rounded_and_complete():
    data = coaching_data(FAULTY_SET)
    json.dumps(data, allow_nan=False)  # no NaN reaches the prompt
    rep1, rep2 = data["reps"]
    assert rep1["metrics"]["torso_lean_liftoff_deg"] == 58.7
    assert rep1["metrics"]["max_bar_drift_rel"] == 0.071
    assert rep1["metrics"]["max_bar_drift_px"] == 21
    assert "max_bar_drift_cm" not in rep1["metrics"]  # NaN = not measured: left out
    assert rep2["metrics"]["lockout_reached"] is False
    assert [f["status"] for f in rep2["findings"]] == ["fault", "fault", "ok"]
    lean = rep2["findings"][0]
    assert (lean["value"], lean["threshold"], lean["unit"]) == (67.3, 65.0, "deg") and lean["rule_cue"]
    assert "value" not in rep2["findings"][2]  # ok findings: the metric table has the value
    assert data["set_findings"][0]["status"] == "not_measurable" and data["set_findings"][0]["message"]
    assert data["view"]["view"] == "side"


def test_flagging_data_has_no_rule_findings_or_thresholds():
    data = flagging_data(FAULTY_SET)
    text = json.dumps(data, allow_nan=False)
    assert "findings" not in text and "threshold" not in text and "rule_cue" not in text
    series = data["reps"][0]["series"]
    assert {"hip_angle_deg", "torso_lean_deg", "bar_forward_rel", "hip_rise_rel"} <= set(series)
    lean = series["torso_lean_deg"]
    assert lean["min"] <= lean["at"]["liftoff"] <= lean["max"]
    assert not math.isnan(lean["max"])  # the NaN sample was skipped, not propagated
    assert series["bar_forward_rel"]["at"]["liftoff"] == 0.0  # relative to lift-off


def test_messages_carry_system_prompt_and_data_block():
    messages, _data = coaching_messages(FAULTY_SET)
    assert messages[0] == {"role": "system", "content": COACH_SYSTEM_PROMPT}
    user = messages[1]["content"]
    assert "torso_lean_liftoff_deg = 58.7 | 67.3" in user  # one row per metric, one column per rep
    assert "lockout_reached = yes | no" in user and "max_bar_drift_cm" not in user
    assert "rep 2 excessive_torso_lean: FAULT (moderate)" in user and "NOT MEASURABLE" in user
    assert "within threshold (ok, do not correct): excessive_torso_lean (rep 1)" in user
    custom, _ = coaching_messages(FAULTY_SET, system_prompt="Be brief.")
    assert custom[0]["content"] == "Be brief."
    flag_msgs, _ = flagging_messages(FAULTY_SET, ["bar_drift", "heel_lift"])
    assert "- bar_drift:" in flag_msgs[0]["content"] and "excessive_torso_lean" not in flag_msgs[0]["content"]


@pytest.mark.parametrize("view", ["front", "oblique"])
def test_view_notes_reach_the_prompt(view):
    data = coaching_data(make_analysis(view=view))
    assert data["view"]["notes"] and view in data["view"]["notes"][0]


@pytest.mark.parametrize(
    "build",
    [coaching_messages, lambda a: coaching_messages(a, detail=1)]
    + [lambda a, d=d: flagging_messages(a, ["bar_drift"], d) for d in (0, 1, 2)],
)
def test_every_number_in_the_prompt_is_a_grounding_reference(build):
    """The text the model reads and the values the grounding check accepts come from one source
    (the metric meanings' constants, like "180 = straight", are the only numbers that are not
    measurements, and they are not accepted in cues)."""
    from formcheck_core.llm.grounding import extract_numbers, matches, reference_values
    from formcheck_core.llm.prompts import metric_glossary

    messages, data = build(make_analysis(height_cm=181.5))
    refs = reference_values(data, list(metric_glossary(data).values()))
    block = messages[1]["content"].split("\n\n", 1)[1]  # the data block, after the one-line task
    missing = [c.text for c in extract_numbers(block) if not any(matches(c, r) for r in refs)]
    assert missing == []


def test_flagging_detail_levels_trim_the_series():
    full, trimmed, bare = (flagging_data(FAULTY_SET, d)["reps"][0] for d in (0, 1, 2))
    assert set(full["series"]["hip_angle_deg"]["at"]) == {"setup", "liftoff", "knee_pass", "lockout"}
    assert set(trimmed["series"]["hip_angle_deg"]["at"]) == {"liftoff", "lockout"}
    assert bare["series"] == {} and bare["metrics"] == full["metrics"]
    messages, _ = flagging_messages(FAULTY_SET, ["bar_drift"], 1)
    assert "value at liftoff / lockout" in messages[1]["content"] and "  — " not in messages[1]["content"]
