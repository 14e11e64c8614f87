"""Threshold flags vs LLM-only flags: the pure summary (agreement, kappa, accuracy against
labels), LLM-only flagging on the real tiny model, and ``formcheck compare`` on dev clips."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_llm_data import FAULTY_SET

from formcheck_core.compare import (
    ClipComparison,
    clip_labels,
    compare_analysis,
    format_report,
    load_labels,
    report_to_dict,
    rule_flags,
    summarize,
)

VOCAB = ("excessive_torso_lean", "bar_drift")


def clip(name, rules=(), llm=(), labels=None, error=None, ok=True):
    return ClipComparison(name, frozenset(rules), frozenset(llm), labels or {}, llm_error=error, analysis_ok=ok)


def test_agreement_and_kappa_by_hand():
    clips = [
        clip("a", rules={"bar_drift"}, llm={"bar_drift"}),
        clip("b", rules={"bar_drift"}),
        clip("c", llm={"excessive_torso_lean"}),
        clip("d"),
        clip("e", rules={"bar_drift"}, error="timeout"),  # the LLM did not judge it: left out of agreement
    ]
    report = summarize(clips, VOCAB)
    lean, drift = report.agreement
    assert (drift.n, drift.both, drift.rules_only, drift.llm_only, drift.neither) == (4, 1, 1, 0, 2)
    assert drift.agreement == pytest.approx(0.75)
    # p_rules = 0.5, p_llm = 0.25 -> expected 0.5, kappa = (0.75 - 0.5) / 0.5
    assert drift.kappa == pytest.approx(0.5)
    assert (lean.both, lean.llm_only, lean.neither) == (0, 1, 3) and lean.kappa == pytest.approx(0.0)


def test_accuracy_against_labels_skips_unclear_and_unjudged():
    clips = [
        clip("a", rules={"bar_drift"}, llm=set(), labels={"bar_drift": True, "excessive_torso_lean": None}),
        clip("b", rules=set(), llm={"bar_drift"}, labels={"bar_drift": False, "excessive_torso_lean": False}),
        clip("c", rules={"bar_drift"}, llm={"bar_drift"}, labels={"bar_drift": True}, error="timeout"),
        clip("d", rules=set(), llm=set()),  # no labels at all
    ]
    acc = {(a.flag, a.method): a for a in summarize(clips, VOCAB).accuracy}
    rules, llm = acc[("bar_drift", "rules")], acc[("bar_drift", "llm")]
    assert (rules.tp, rules.fp, rules.fn, rules.tn) == (2, 0, 0, 1) and rules.accuracy == 1.0
    assert (llm.tp, llm.fp, llm.fn, llm.tn) == (0, 1, 1, 0) and llm.accuracy == 0.0  # clip c not judged
    lean = acc[("excessive_torso_lean", "rules")]
    assert lean.n == 1 and lean.tn == 1  # the unclear label on clip a is left out


def test_report_text_and_json():
    report = summarize([clip("a", rules={"bar_drift"}, labels={"bar_drift": True}), clip("b", error="no model", ok=True)],
                       VOCAB, model="m", is_test_model=True)  # fmt: skip
    text = format_report(report)
    assert "test model — not advice" in text and "a: bar_drift:R*" in text and "[LLM: no model]" in text
    assert "agreement per flag over 1 clip" in text and "accuracy against the labels" in text
    data = json.loads(json.dumps(report_to_dict(report)))
    assert data["clips"][0]["rule_flags"] == ["bar_drift"] and data["agreement"][0]["n"] == 1
    assert math.isnan(summarize([], VOCAB).agreement[0].agreement)


def test_labels_file_mapping(shared):
    labels = load_labels(shared / "videos" / "labels_dev.json")
    entry = labels["reel_bad_bar_far_12"]
    mapped = clip_labels(entry, ("bar_drift", "excessive_torso_lean", "heel_lift"))
    assert mapped["bar_drift"] is True and mapped["heel_lift"] is False
    lean_keyed = clip_labels({"faults": {"excessive_torso_lean_at_liftoff": "unclear"}}, ("excessive_torso_lean",))
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
    assert comp.rule_flags == {"excessive_torso_lean"} and comp.labels == {"bar_drift": False, "excessive_torso_lean": None}


@pytest.mark.slow
def test_compare_cli_on_dev_clips(shared, capsys, tmp_path):
    pytest.importorskip("llama_cpp")
    from formcheck_core.cli import main
    from formcheck_core.models.llm_model import install_test_llm

    install_test_llm()
    clips = [shared / "videos" / "dev" / f"{n}.mp4" for n in ("posereader_arm_bend", "squat_side")]
    out_json = tmp_path / "r.json"
    code = main(["compare", *map(str, clips), "--llm-model", "test", "--llm-threads", "1", "--llm-max-tokens", "200",
                 "--json", "--quiet"])  # fmt: skip
    captured = capsys.readouterr()
    out_json.write_text(captured.out)
    report = json.loads(captured.out)
    assert code in (0, 1) and "Traceback" not in captured.err
    assert [c["clip"] for c in report["clips"]] == ["posereader_arm_bend", "squat_side"]
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
