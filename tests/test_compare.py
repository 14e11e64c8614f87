"""Threshold flags vs LLM-only flags: the pure summary (agreement, kappa, accuracy against
labels), LLM-only flagging on the real tiny model, and ``formcheck compare`` on dev clips."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from test_llm_data import FAULTY_SET

from formcheck_core.compare import (
    ALWAYS,
    LLM,
    NEVER,
    RULES_IN_SAMPLE,
    RULES_LOCO,
    SCORED_METRICS,
    TEST_MODEL_NOTE,
    ClipComparison,
    RuleEvidence,
    clip_labels,
    compare_analysis,
    format_report,
    load_labels,
    report_to_dict,
    roc_points,
    rule_evidence,
    rule_flags,
    summarize,
)
from formcheck_core.scoring import cohen_kappa

VOCAB = ("excessive_torso_lean", "bar_drift")


def ev(*values, threshold=0.1, direction="above"):
    return RuleEvidence(tuple(values), threshold, direction)


def clip(
    name, rules=(), llm=(), labels=None, error=None, ok=True, reps=(1,), ungrounded=(), drift=None, test=False
):
    evidence = {"bar_drift": ev(drift)} if drift is not None else {}
    return ClipComparison(
        name,
        frozenset(rules),
        frozenset(llm),
        labels or {},
        llm_error=error,
        analysis_ok=ok,
        reps=reps if ok else (),
        ungrounded_flags=frozenset(ungrounded),
        evidence=evidence,
        llm_is_test_model=test,
    )


CLIPS = [
    clip("a", rules={"bar_drift"}, llm={"bar_drift"}, labels={"bar_drift": True}, drift=0.2),
    clip("b", rules={"bar_drift"}, labels={"bar_drift": False}, drift=0.15),
    clip(
        "c", llm={"excessive_torso_lean"}, ungrounded={"bar_drift"}, labels={"bar_drift": False}, drift=0.05
    ),
    clip("d", labels={"bar_drift": True, "excessive_torso_lean": None}, drift=0.12),
    clip(
        "e", rules={"bar_drift"}, error="timeout", labels={"bar_drift": True}, drift=0.3
    ),  # LLM did not judge it
    replace(clip("f", ok=False, labels={"bar_drift": True}), analysed=False, analysis_error="unreadable"),
    clip("g", ok=False, labels={"bar_drift": True}),  # analysed, no usable lift
]


def test_both_methods_are_scored_on_the_same_clips_and_exclusions_are_counted():
    report = summarize(CLIPS, VOCAB, n_boot=200)
    assert [c.clip for c in report.scored] == ["a", "b", "c", "d"]
    assert dict(report.excluded) == {
        "e": "LLM gave no answer: timeout",
        "f": "not analysed: unreadable",
        "g": "no complete rep: no usable lift measured",
    }
    drift = report.scores[1]
    assert drift.flag == "bar_drift" and drift.labelled == 4 and drift.positives == 2
    counts = {
        m.method: (m.confusion.tp, m.confusion.fp, m.confusion.fn, m.confusion.tn) for m in drift.methods
    }
    assert counts[RULES_IN_SAMPLE] == (1, 1, 1, 1)
    assert counts[LLM] == (1, 0, 1, 2)  # the ungrounded flag on c is not a flag
    assert counts[NEVER] == (0, 0, 2, 2) and counts[ALWAYS] == (2, 2, 0, 0)  # baselines on the same rows
    assert drift.ungrounded == 1
    # kappa between the methods over every scored clip (labelled or not): rules a,b; LLM a
    assert drift.kappa == pytest.approx(cohen_kappa([True, True, False, False], [True, False, False, False]))
    assert (drift.agree, drift.judged) == (3, 4)
    assert {m.method for m in drift.methods} == {RULES_IN_SAMPLE, RULES_LOCO, LLM, NEVER, ALWAYS}
    iv = drift.method(RULES_IN_SAMPLE).intervals["balanced_accuracy"]
    assert iv.estimate == pytest.approx(0.5) and (math.isnan(iv.low) or iv.low <= 0.5 <= iv.high)
    assert set(drift.method(LLM).intervals) == set(SCORED_METRICS)


def test_leave_one_clip_out_thresholds_are_chosen_without_the_clip():
    report = summarize(CLIPS, VOCAB, n_boot=200)
    drift = report.scores[1]
    assert set(drift.loco_thresholds) == {"a", "b", "c", "d"} and drift.direction == "above"
    # holding out d (0.12, positive), the others (0.2 +, 0.15 -, 0.05 -) put the limit between 0.15 and 0.2
    assert 0.15 < drift.loco_thresholds["d"] < 0.2
    assert drift.method(RULES_LOCO).confusion.n == 4
    lean = report.scores[0]
    assert lean.labelled == 0 and lean.method(RULES_LOCO) is None  # no direction, no labels: nothing to tune


def test_rules_only_run_has_no_llm_rows_and_says_how_to_add_a_model():
    clips = [replace(c, llm_used=False, llm_flags=frozenset(), llm_error=None) for c in CLIPS]
    report = summarize(clips, VOCAB, n_boot=200)
    assert [c.clip for c in report.scored] == ["a", "b", "c", "d", "e"]  # no LLM: nothing to exclude for it
    assert all(m.method != LLM for s in report.scores for m in s.methods)
    text = format_report(report)
    assert "LLM: not run" in text and "LLM_MODEL" in text and "kappa" not in text


def test_report_text_and_json_label_the_test_model_everywhere():
    clips = [replace(c, llm_is_test_model=True) for c in CLIPS]
    report = summarize(
        clips, VOCAB, model="tiny", is_test_model=True, n_boot=200, off_by_default=("bar_drift",)
    )
    text = format_report(report)
    assert "bar_drift (off by default; switched on to be scored)" in text
    assert text.count(TEST_MODEL_NOTE) >= 1 and TEST_MODEL_NOTE.upper() in text.splitlines()[0]
    assert RULES_IN_SAMPLE in text and RULES_LOCO in text and NEVER in text and ALWAYS in text
    assert "EXCLUDED (not analysed" in text and "a (reps 1): bar_drift:RL*" in text and "bar_drift:u" in text
    data = json.loads(json.dumps(report_to_dict(report)))
    assert data["label"] == TEST_MODEL_NOTE and data["excluded"][0]["clip"] == "e"
    assert data["rules_off_by_default"] == ["bar_drift"]
    drift = data["scores"][1]
    assert drift["ungrounded_llm_flags"] == 1 and drift["methods"][0]["method"] == RULES_IN_SAMPLE
    assert set(drift["methods"][0]["sensitivity"]) == {"estimate", "low", "high", "level"}


def test_roc_points_span_the_sweep():
    report = summarize(CLIPS, VOCAB, n_boot=200)
    pts = roc_points(report, "bar_drift")
    fpr = [p[1] for p in pts]
    assert (
        fpr == sorted(fpr)
        and (0.0, 0.0) in [(p[1], p[2]) for p in pts]
        and (1.0, 1.0) in [(p[1], p[2]) for p in pts]
    )
    assert all(0 <= p[2] <= 1 for p in pts) and roc_points(report, "excessive_torso_lean") == []


def test_rule_evidence_direction_from_findings():
    found = rule_evidence(FAULTY_SET, ("excessive_torso_lean", "incomplete_lockout"), (1, 2))
    assert (
        found["excessive_torso_lean"].direction == "above"
        and found["incomplete_lockout"].direction == "below"
    )
    assert found["excessive_torso_lean"].worst("above") == pytest.approx(67.31)
    assert found["incomplete_lockout"].worst("below") == pytest.approx(158.62)


def test_labels_file_mapping(shared):
    labels = load_labels(shared / "videos" / "labels_dev.json")
    entry = labels["reel_bad_bar_far_12"]
    mapped = clip_labels(entry, ("bar_drift", "excessive_torso_lean", "heel_lift"))
    assert mapped["bar_drift"] is True and mapped["heel_lift"] is False
    lean_keyed = clip_labels(
        {"faults": {"excessive_torso_lean_at_liftoff": "unclear"}}, ("excessive_torso_lean",)
    )
    assert lean_keyed == {"excessive_torso_lean": None}


def test_rule_flags_are_clip_level_faults():
    assert rule_flags(FAULTY_SET) == {"excessive_torso_lean", "incomplete_lockout"}


@pytest.mark.slow
def test_llm_only_flags_on_the_tiny_model():
    pytest.importorskip("llama_cpp")
    from formcheck_core.llm import LLMConfig, llm_flags
    from formcheck_core.models.llm_model import install_test_llm

    cfg = LLMConfig(model=str(install_test_llm()), n_threads=1, max_tokens=150)
    result = llm_flags(FAULTY_SET, cfg, vocabulary=VOCAB)
    assert result.is_test_model and result.chat is not None
    messages = result.chat  # the prompt had no rule findings: checked in test_llm_data
    assert messages.prompt_tokens > 0
    if result.error is None:
        assert result.flag_ids <= set(VOCAB)
        assert all(f.rep in (1, 2, None) and f.reason for f in result.flags)
    else:
        assert "JSON" in result.error and "\n" not in result.error
    comp, _ = compare_analysis(FAULTY_SET, cfg, labels={"faults": {"bar_drift": False}}, vocabulary=VOCAB)
    assert comp.rule_flags == {"excessive_torso_lean"} and comp.labels == {
        "bar_drift": False,
        "excessive_torso_lean": None,
    }


@pytest.mark.slow
def test_compare_cli_on_dev_clips(shared, capsys, tmp_path):
    pytest.importorskip("llama_cpp")
    from formcheck_core.cli import main
    from formcheck_core.models.llm_model import install_test_llm

    install_test_llm()
    # posereader_arm_bend is a partial pull (nothing for the LLM to judge), squat_side not a
    # deadlift: posereader_good has a complete rep, so the test model runs
    stems = ("posereader_arm_bend", "squat_side", "posereader_good")
    clips = [shared / "videos" / "dev" / f"{n}.mp4" for n in stems]
    out_json = tmp_path / "r.json"
    code = main(
        [
            "compare",
            *map(str, clips),
            "--llm-model",
            "test",
            "--llm-threads",
            "1",
            "--llm-max-tokens",
            "200",
            "--json",
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    out_json.write_text(captured.out)
    report = json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert code in (0, 1) and "Traceback" not in captured.err
    assert [c["clip"] for c in report["clips"]] == list(stems)
    assert report["is_test_model"] is True
    arm = report["clips"][0]
    assert arm["labels"]["bent_arms"] is True  # labels found in the shared labels file
    assert set(arm["rule_flags"]) <= set(report["vocabulary"])
    # a missing file is a one-line error, not a traceback
    assert main(["compare", str(Path(tmp_path) / "absent.mp4")]) != 0


def test_flag_vocabulary_and_label_keys_derive_from_the_loaded_rules():
    """LLM-only flags, compared flags and label keys come from the rules: a new rule joins them."""
    from formcheck_core.compare import clip_labels, label_keys, rule_vocabulary
    from formcheck_core.llm.prompts import flag_system_prompt, flag_vocabulary
    from formcheck_core.plugins import get_plugin_manager, temporary_rule
    from formcheck_core.rules import Rule, collect_rules

    rules, errors = collect_rules(get_plugin_manager())
    assert errors == []
    assert tuple(flag_vocabulary()) == rule_vocabulary() == tuple(rules)
    assert label_keys()["excessive_torso_lean"] == "excessive_torso_lean_at_liftoff"
    assert label_keys()["bar_drift"] == "bar_drift"
    new = Rule(
        id="soft_knees",
        check=lambda ctx: None,
        description="Knees stay soft at lockout.",
        metrics=("knee_angle_lockout_deg",),
        thresholds={"min_deg": 170.0},
        cue="Lock the knees.",
        label_key="knees_soft",
        flag_description="the knees stay bent at the top",
    )
    with temporary_rule(new):
        assert rule_vocabulary()[-1] == "soft_knees"
        assert "- soft_knees: the knees stay bent at the top" in flag_system_prompt(rule_vocabulary())
        assert clip_labels({"faults": {"knees_soft": True}}, ["soft_knees"]) == {"soft_knees": True}
    assert "soft_knees" not in rule_vocabulary()


def test_a_clip_with_no_complete_rep_is_excluded_for_that_reason_not_as_not_analysed(dev_clip, pose_model):
    """posereader_bad (about 1 s, a pull the clip cuts) was listed "not analysed: Clip is short
    (1.0 s, under 1 s; ...)": it was analysed, and its first warning is not why it has no rep."""
    from formcheck_core.analysis import analyze
    from formcheck_core.compare import rules_only

    a = analyze(dev_clip("posereader_bad"), progress=False)
    assert not a.ok and a.warnings[0].startswith("Clip is short")  # the premise
    why = rules_only(a, vocabulary=VOCAB).excluded_because()
    assert why is not None and why.startswith("no complete rep: No complete lift was found"), why
    assert "1.0 s, under 1 s" not in a.warnings[0] and "under 1 s" in a.warnings[0]


def test_llm_flags_name_their_pull_so_two_reps_flagged_alike_are_told_apart(dev_clip, pose_model):
    """Notebook 04 printed "LLM flags: hips_rise_first, hips_rise_first" for a clip whose two pulls
    the model flagged alike; each flag now names its pull as every view does."""
    from formcheck_core.analysis import analyze
    from formcheck_core.compare import llm_flags_text
    from formcheck_core.llm.flagging import LLMFlag

    a = analyze(dev_clip("posereader_good_bad"), progress=False)
    assert len(a.reps) == 1 and a.partial_pulls  # the premise: its number 2 is "partial pull 1"
    flags = [
        LLMFlag("hips_rise_first", 1, "r"),
        LLMFlag("hips_rise_first", 2, "r"),
        LLMFlag("hips_rise_first", 2, "again"),
        LLMFlag("heel_lift", None, "r", grounded=False),
    ]
    assert llm_flags_text(flags, a) == (
        "hips_rise_first (rep 1), hips_rise_first (partial pull 1), heel_lift (ungrounded reason: not counted)"
    )
    assert llm_flags_text([], a) == "-"


def test_a_low_confidence_warning_is_not_a_rule_flag_on_a_real_clip(dev_clip, pose_model):
    """``compare`` showed ``incomplete_lockout:R`` on gym1080_bad_03 while ``analyze`` calls that
    finding a warning the verdict does not count: a rule flags a clip only with a fault read at a
    confident pose (``flags_rule``: a fault or a minor note), in compare and in the threshold
    sweep alike."""
    from formcheck_core.analysis import analyze
    from formcheck_core.compare import every_rule_on, rules_only
    from formcheck_core.rules.reevaluation import sweep
    from formcheck_core.rules.verdicts import FLAG_ROLES, flags_rule, verdict_role

    a = analyze(dev_clip("gym1080_bad_03"), thresholds=every_rule_on(), progress=False)
    warned = {f.rule_id for f in a.findings if verdict_role(f) == "warning"}
    assert "incomplete_lockout" in warned  # the premise: analyze calls it a warning
    counted = {f.rule_id for f in a.findings if verdict_role(f) in FLAG_ROLES}
    flags = rules_only(a).rule_flags
    assert flags == counted and not (warned - counted) & flags, (flags, warned, counted)
    lockout = {k: v for k, v in a.options["thresholds"]["incomplete_lockout"].items()}
    name = next(k for k in lockout if k != "enabled")
    (point,) = sweep([a], "incomplete_lockout", name, [lockout[name]], thresholds=lockout)
    assert point.flagged() == (False,) and point.counts()[0] == 0
    assert not any(flags_rule(f) for f in point.analyses[0].findings if f.rule_id == "incomplete_lockout")
