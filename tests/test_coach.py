"""The deterministic coach: 3-5 prioritised cues, most critical first, each citing a number and a moment."""

from __future__ import annotations

import math
import re

import pytest
from rule_fixtures import all_rules_on, make_analysis, make_rep

from formcheck_core.coach import cues_from_findings, deterministic_cues
from formcheck_core.findings import Finding
from formcheck_core.plugins import new_plugin_manager
from formcheck_core.rules import apply_rules
from formcheck_core.vocabulary import format_value
from formcheck_rules.bar_drift import MAX_DRIFT_REL
from formcheck_rules.excessive_torso_lean import MAX_LEAN_DEG
from formcheck_rules.heel_lift import MAX_HEEL_RISE_REL


@pytest.fixture(scope="module")
def pm():
    return new_plugin_manager()


def analysed(pm, *reps, view="side"):
    """Every rule on (the default preset switches some off)."""
    return apply_rules(make_analysis(tuple(reps), view=view), all_rules_on(pm), plugin_manager=pm)


def assert_grounded(cue, analysis):
    """The cue's number, moment, frame and time are those of a real finding of the analysis."""
    match = [
        f for f in analysis.findings if f.rule_id == cue.rule_id and f.rep == cue.rep and f.value == cue.value
    ]
    assert match, cue
    f = match[0]
    assert (cue.moment, cue.frame_index, cue.time_s, cue.unit) == (f.moment, f.frame_index, f.time_s, f.unit)
    number = format_value(f.value, f.unit, limit=f.threshold).split()[0]
    assert number in cue.text and number in cue.why
    name = analysis.pull_label(f.rep)  # "rep 1", or "partial pull 1" for a pull that is no rep
    assert f"frame {f.frame_index}" in cue.why and f"{name} " in cue.why and cue.pull == name
    assert cue.source == "rules"


#: A back rounded_back could not read: torso lean then counts in full (with the back measured
#: flat it is only a note; see excessive_torso_lean's ``minor_when_ok``).
BACK_UNMEASURED = {"back_flexion_rel": math.nan}


def test_faults_come_first_worst_first_one_cue_per_rule(pm):
    a = analysed(
        pm,
        make_rep(
            1,
            torso_lean_liftoff_deg=MAX_LEAN_DEG + 1,
            max_bar_drift_rel=MAX_DRIFT_REL * 2.5,
            max_bar_drift_px=150.0,
            **BACK_UNMEASURED,
        ),
        make_rep(2, start=50, torso_lean_liftoff_deg=MAX_LEAN_DEG + 10, **BACK_UNMEASURED),
        make_rep(
            3,
            start=100,
            torso_lean_liftoff_deg=MAX_LEAN_DEG + 5,
            heel_rise_rel=MAX_HEEL_RISE_REL * 5,
            **BACK_UNMEASURED,
        ),
    )
    cues = deterministic_cues(a)
    assert 3 <= len(cues) <= 5
    assert [c.priority for c in cues] == list(range(1, len(cues) + 1))
    # Torso lean fired on 3 of 3 reps: first, citing its worst rep (rep 2).
    assert (cues[0].rule_id, cues[0].rep, cues[0].value) == ("excessive_torso_lean", 2, MAX_LEAN_DEG + 10)
    assert "every measured rep" in cues[0].why
    # Then the faults on 1 of 3 reps, the one furthest past its limit first.
    assert [c.rule_id for c in cues[1:3]] == ["heel_lift", "bar_drift"]
    assert len({c.rule_id for c in cues}) == len(cues)
    for cue in cues:
        assert_grounded(cue, a)
    # Every fault cue comes before any "keep doing this" cue.
    kinds = [next(f for f in a.findings if f.rule_id == c.rule_id and f.rep == c.rep).is_fault for c in cues]
    assert kinds == sorted(kinds, reverse=True)


def test_at_most_max_cues(pm):
    a = analysed(
        pm,
        make_rep(
            1,
            torso_lean_liftoff_deg=80.0,
            hip_angle_lockout_deg=140.0,
            max_bar_drift_rel=0.4,
            hip_rise_lead_rel=0.4,
            torso_lean_lockout_deg=-40.0,
            min_elbow_angle_pull_deg=100.0,
            heel_rise_rel=0.3,
        ),
    )
    assert sum(f.is_fault for f in a.findings) == 7
    assert len(deterministic_cues(a)) == 5
    assert len(deterministic_cues(a, max_cues=3)) == 3


def test_clean_lift_gets_three_keep_doing_cues_closest_to_the_limit_first(pm):
    a = analysed(pm, make_rep(1, torso_lean_liftoff_deg=MAX_LEAN_DEG - 1))
    cues = deterministic_cues(a)
    assert len(cues) == 3 and all(not f.is_fault for f in a.findings)
    assert cues[0].rule_id == "excessive_torso_lean"  # 1 deg under is closest to its limit
    for cue in cues:
        assert_grounded(cue, a)


def test_front_view_adds_a_filming_cue_naming_what_could_not_be_measured(pm):
    a = analysed(pm, make_rep(1, hip_rise_lead_rel=0.3), view="front")
    cues = deterministic_cues(a)
    assert cues[0].rule_id == "hips_rise_first" and cues[0].value == 0.3
    assert_grounded(cues[0], a)
    film = cues[-1]
    assert film.rule_id is None and re.search(r"from the side", film.text)
    assert "Excessive torso lean" in film.why and "Bar drift" in film.why  # rules by their titles


def test_nothing_measured_still_says_what_to_do():
    cues = cues_from_findings(
        [], warnings=["Insufficient pose data: a person was found in 2 of 40 sampled frames."]
    )
    assert len(cues) == 1 and "Insufficient pose data" in cues[0].why


def test_cue_falls_back_to_the_message_when_a_rule_has_no_cue_text():
    f = Finding(
        "custom",
        1,
        "fault",
        "major",
        "Knees caved in 12 deg at lift-off.",
        moment="liftoff",
        frame_index=30,
        time_s=1.0,
        value=12.0,
        threshold=5.0,
        unit="deg",
    )
    (cue, *_) = cues_from_findings([f])
    assert cue.text == f.message and cue.priority == 1 and cue.value == 12.0


def test_praise_without_a_template_names_the_metric_once():
    """A plugin rule with no praise template: the cue is a short line naming the metric, and the
    message is said once (in the why), not twice."""
    f = Finding(
        "slow_pull",
        1,
        "ok",
        "info",
        "Rep duration: 0.60 s (limit 2.0 s).",
        moment="lockout",
        frame_index=30,
        time_s=1.0,
        value=0.6,
        threshold=2.0,
        unit="s",
        metric="rep_duration_s",
    )
    (cue,) = cues_from_findings([f])
    assert cue.text == "Keep it up: rep duration stayed within the limit."
    assert f.message not in cue.text and cue.why.count(f.message) == 1


def test_real_clip_cues_cite_its_own_findings(dev_clip):
    from formcheck_core.analysis import analyze

    a = analyze(dev_clip("gym1080_bad_02"), progress=False)
    assert a.ok, a.warnings
    cues = deterministic_cues(a)
    assert 3 <= len(cues) <= 5
    for cue in cues:
        if cue.rule_id is not None:
            assert_grounded(cue, a)
    # one rep, labelled a bad lift: the set's top finding is its most critical fault, cued first
    top = a.verdicts[-1].top_finding
    assert len(a.reps) == 1 and top is not None and top.is_fault
    assert (cues[0].rule_id, cues[0].value) == (top.rule_id, top.value)


def test_real_clip_cue_cites_the_frame_where_the_fault_was_measured(dev_clip):
    """posereader_arm_bend: the bent-arms cue points at the frame of the smallest elbow angle (of its
    one pull, a partial pull that never reached lockout: judged all the same)."""
    from formcheck_core.analysis import analyze

    a = analyze(dev_clip("posereader_arm_bend"), progress=False, thresholds=all_rules_on())
    cue = next(c for c in deterministic_cues(a) if c.rule_id == "bent_arms")
    assert_grounded(cue, a)
    rep = next(r for r in (*a.reps, *a.partial_pulls) if r.number == cue.rep)
    i = rep.metric_samples["min_elbow_angle_pull_deg"]
    assert (cue.frame_index, cue.time_s) == (int(a.body.frame_index[i]), pytest.approx(a.body.time_s[i]))
    assert a.body.smoothed["elbow_angle_deg"][i] == pytest.approx(cue.value, abs=0.5)
    assert cue.frame_index != rep.moments["knee_pass"].frame_index
    assert f"{cue.time_s:.2f} s" in cue.why
    # the pull is no rep: named a partial pull, counted among "pulls", never called "rep 1"
    assert cue.pull == "partial pull 1" and "rep 1" not in cue.why and "measured pull" in cue.why
