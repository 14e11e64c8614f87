"""Grounding check on hand-written model outputs: good cues pass, invented numbers, restated
targets, contradictions, unknown reps and duplicates are caught. Pure: no model needed."""

from __future__ import annotations

import json

import pytest
from test_llm_data import FAULTY_SET, make_analysis

from formcheck_core.llm.coaching import review_answer
from formcheck_core.llm.grounding import (
    CitedNumber,
    ReferenceValue,
    check_cue,
    check_cues,
    extract_numbers,
    matches,
    reference_values,
    rep_references,
)
from formcheck_core.llm.prompts import coaching_data
from formcheck_core.llm.settings import LLMConfig

DATA = coaching_data(FAULTY_SET)
REFS = reference_values(DATA)


def cue(text, why="", metric="torso_lean_liftoff_deg", rep=2, rule_id="excessive_torso_lean", priority=1):
    return {"priority": priority, "cue": text, "why": why, "metric": metric, "rep": rep, "rule_id": rule_id}


def kinds(item):
    return sorted({i.kind for i in check_cue(item, DATA, REFS)})


# --- number extraction -------------------------------------------------------------------------


def test_extract_numbers_units_and_roles():
    found = extract_numbers(
        "Torso 67.3° at lift-off, 9.5% drift, 21 px, 1.9 s, 3 inches. Aim for under 65 deg."
    )
    assert [(c.value, c.decimals, c.unit) for c in found] == [
        (67.3, 1, "deg"),
        (9.5, 1, "pct"),
        (21.0, 0, "px"),
        (1.9, 1, "s"),
        (3.0, 0, "in"),
        (65.0, 0, "deg"),
    ]
    assert [c.is_target for c in found] == [False] * 5 + [True]


def test_rep_references_and_identifiers_are_not_measurements():
    assert extract_numbers("On rep 2 and reps 1-3, the 2nd rep, heel_lift_rule_id_1") == []
    assert rep_references("rep 2, reps 1-3 and the 4th rep") == [2, 1, 2, 3, 4]
    assert [c.value for c in extract_numbers("lean went from -5° to 12°")] == [-5.0, 12.0]


@pytest.mark.parametrize(
    ("written", "decimals", "unit", "ref", "ref_unit", "ok"),
    [
        (67.0, 0, "deg", 67.31, "deg", True),  # rounded to what the model wrote
        (67.3, 1, "deg", 67.31, "deg", True),
        (67.8, 1, "deg", 67.31, "deg", False),  # invented precision
        (67.0, 0, "px", 67.31, "deg", False),  # wrong unit
        (67.0, 0, "none", 67.31, "deg", True),  # no unit: any class
        (3.0, 0, "in", 3.0, "none", False),  # nothing is measured in inches
        (-5.0, 0, "deg", 5.0, "deg", False),  # the sign as displayed
    ],
)
def test_matches_within_written_precision(written, decimals, unit, ref, ref_unit, ok):
    assert (
        matches(CitedNumber(written, decimals, unit, str(written)), ReferenceValue(ref, ref_unit, "metric"))
        is ok
    )


# --- good cues pass ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        cue(
            "Chest up: push the floor away",
            "Your torso was 67.3° from vertical at lift-off on rep 2, over the 65° limit.",
        ),
        cue("Chest up off the floor", "Lean of 67° at lift-off."),
        cue("Chest up", "You were 2.3° past the 65° limit at lift-off."),  # value - threshold
        cue("Keep your lean under 65° at lift-off", "Rep 2 reached 67.3°."),  # target = threshold
        cue("Match rep 1: aim for 58.7° at lift-off", "Rep 2 leaned 67.3°."),  # target from another rep
        cue(
            "Squeeze your glutes to finish",
            "Hips stopped at 158.6°, 6.4° short of the 165° lockout.",
            metric="hip_angle_lockout_deg",
            rule_id="incomplete_lockout",
        ),
        cue(
            "Great lockout on rep 1",
            "Hips reached 171.3°.",
            metric="hip_angle_lockout_deg",
            rep=1,
            rule_id="incomplete_lockout",
        ),  # praise of an ok finding
        cue(
            "Keep the bar over mid-foot",
            "The bar moved 9.5% of your body length on rep 2.",
            metric="max_bar_drift_rel",
            rule_id=None,
        ),  # ratio as a percentage
        cue(
            "Stay tight off the floor", "Lean grew 8.6° from rep 1 to rep 2.", rep=None
        ),  # change between reps
    ],
)
def test_grounded_cues_pass(item):
    assert check_cue(item, DATA, REFS) == []


# --- bad cues are caught -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        (cue("Chest up", "Your lean was 74° at lift-off."), "ungrounded_number"),
        (cue("Chest up", "Your lean was 67.8° at lift-off."), "ungrounded_number"),  # invented decimals
        (
            cue("Keep the bar close", "It drifted 3 inches.", metric="max_bar_drift_rel", rule_id=None),
            "ungrounded_number",
        ),
        (
            cue("Keep the bar close", "It drifted 4 cm.", metric="max_bar_drift_rel", rule_id=None),
            "ungrounded_number",
        ),
        (cue("Aim for 67.3° at lift-off", "You leaned 67.3°."), "restated_target"),
        (cue("Keep it under 67° next time", "Lean 67.3°."), "restated_target"),
        (cue("Chest up on rep 4", "Lean 67.3°."), "unknown_rep"),
        (cue("Chest up", "Lean 67.3°.", rep=3), "unknown_rep"),
        (cue("Chest up in all 3 reps", "Lean 67.3°."), "ungrounded_number"),
        (
            cue(
                "Keep the bar closer",
                "It drifted 0.095 body lengths.",
                metric="max_bar_drift_rel",
                rule_id="bar_drift",
            ),
            "contradicts_finding",
        ),  # bar_drift was ok in every rep
        (
            cue(
                "Keep your heels down",
                "Heels rose 0.004 body lengths.",
                metric="heel_rise_rel",
                rule_id="heel_lift",
            ),
            "contradicts_finding",
        ),  # heel_lift was not measurable
        (
            cue(
                "Great lockout",
                "Hips at 158.6°.",
                metric="hip_angle_lockout_deg",
                rule_id="incomplete_lockout",
            ),
            "contradicts_finding",
        ),  # praises a fault
        (cue("Push the floor away", "Drive through the whole foot."), "no_number"),
        (
            cue("Keep the bar close", "Drift 4 cm.", metric="max_bar_drift_cm", rule_id=None),
            "unmeasured_metric",
        ),
    ],
)
def test_bad_cues_are_flagged(item, kind):
    assert kind in kinds(item)


def test_duplicates_are_flagged_after_the_first():
    item = cue("Chest up: push the floor away", "Lean 67.3°.")
    results = check_cues([item, dict(item, priority=2)], DATA)
    assert results[0][1] == [] and [i.kind for i in results[1][1]] == ["duplicate"]


def test_other_reps_numbers_do_not_ground_a_rep_specific_cue():
    # 72.4 is rep 2's hip angle at setup, but 118.6 (knee) is in both reps; lean cue on rep 1 citing
    # rep 2's lockout hip angle (158.6) is not about its own metric or rep.
    item = cue("Chest up", "Hips at 158.6°.", rep=1, metric="torso_lean_liftoff_deg")
    assert "ungrounded_number" in kinds(item)


# --- whole answers (what llm_cues does after the model answered) -------------------------------


def answer(*items):
    return json.dumps({"cues": list(items)})


def test_review_keeps_grounded_cues_and_fills_values_from_the_analysis():
    text = answer(
        cue(
            "Squeeze your glutes to finish",
            "Hips stopped at 158.6° on rep 2; lockout needs 165°.",
            metric="hip_angle_lockout_deg",
            rule_id="incomplete_lockout",
            priority=1,
        ),
        cue("Chest up: push the floor away", "Torso 67.3° at lift-off, over the 65° limit.", priority=2),
        cue("Chest up more", "Your lean was 80° at lift-off.", priority=3),
    )
    result = review_answer(text, FAULTY_SET, LLMConfig(model="x", min_cues=2), source="llm")
    assert result.source == "llm" and result.fallback_reason is None
    assert [c.priority for c in result.cues] == [1, 2]
    first = result.cues[0]
    assert first.source == "llm" and first.rule_id == "incomplete_lockout" and first.rep == 2
    assert first.value == pytest.approx(158.62)  # the measured value, not the model's text
    assert first.unit == "deg" and first.moment == "lockout" and first.frame_index is not None
    assert len(result.rejected) == 1 and "80" in result.rejected[0].describe()
    assert any("dropped by the grounding check" in line for line in result.report_lines())


def test_review_falls_back_when_every_cue_is_hallucinated():
    text = answer(
        cue("Chest up", "Lean 81.2°."), cue("Bar closer", "Drift 12 inches.", metric="max_bar_drift_rel")
    )
    result = review_answer(text, FAULTY_SET)
    assert result.source == "rules" and "grounding check" in result.fallback_reason
    assert result.cues and all(c.source == "rules" for c in result.cues)
    assert len(result.rejected) == 2


def test_review_tops_up_with_rule_cues_and_says_so():
    text = answer(cue("Chest up", "Torso 67.3° at lift-off."))
    result = review_answer(text, FAULTY_SET, LLMConfig(model="x", min_cues=3), source="test-model")
    assert result.cues[0].source == "test-model" and result.label == "test model — not advice"
    assert len(result.cues) >= 2 and {c.source for c in result.cues[1:]} == {"rules"}
    assert any("rule-based cue" in n for n in result.notes)


@pytest.mark.parametrize(
    "text",
    ["not json at all", '{"cues": [{"priority": 1, "cue": "Chest', '{"advice": []}', '{"cues": "Chest up"}'],
)
def test_review_invalid_answers_fall_back_with_a_reason(text):
    result = review_answer(text, FAULTY_SET)
    assert result.source == "rules" and "not valid JSON" in result.fallback_reason


def test_review_rejects_schema_violations_per_item():
    bad = dict(cue("Chest up", "Torso 67.3°."), metric="made_up_metric_deg")
    good = cue("Chest up: push the floor away", "Torso 67.3° at lift-off.", priority=2)
    result = review_answer(answer(bad, good), FAULTY_SET)
    assert [c.text for c in result.cues][:1] == ["Chest up: push the floor away"]
    assert any(i.kind == "schema" for r in result.rejected for i in r.issues)


def test_single_clean_rep_accepts_praise_tied_to_numbers():
    clean = make_analysis(rep_metrics=(dict(make_analysis().reps[0].metrics),), findings=())
    text = answer(cue("Same setup next set", "Lean 58.7° at lift-off.", rep=1, rule_id=None))
    result = review_answer(text, clean, LLMConfig(model="x", min_cues=1))
    assert result.source == "llm" and len(result.cues) == 1 and result.cues[0].value == pytest.approx(58.73)


def test_review_salvages_complete_cues_from_a_cut_off_answer():
    good = cue("Chest up: push the floor away", "Torso 67.3° at lift-off, over the 65° limit.")
    text = answer(good)[:-2] + ', {"priority": 2, "cue": "Squeeze your glu'  # cut mid-way through cue 2
    result = review_answer(text, FAULTY_SET, LLMConfig(model="x", min_cues=1), finish_reason="length")
    assert result.source == "llm" and [c.text for c in result.cues if c.source == "llm"] == [
        "Chest up: push the floor away"
    ]
    assert [c.rule_id for c in result.cues if c.source == "rules"] == [
        "incomplete_lockout"
    ]  # a fault keeps a cue
    assert any("cut off (it ran out of tokens)" in n for n in result.notes)


def test_definitional_constants_are_not_measurements():
    # "180 = straight" is in the metric meanings the model reads, but no torso was measured at 180°
    assert "ungrounded_number" in kinds(cue("Chest up", "Your torso was 180° from vertical."))
    issues = check_cue(cue("Chest up at 190°", "Torso 190° at lift-off."), DATA, REFS)
    assert [i.detail for i in issues].count("190° deg is not a measured value") <= 1
    assert len([i for i in issues if i.kind == "ungrounded_number"]) == 1


def test_streamed_cues_the_final_answer_drops_are_withdrawn_visibly():
    """A cue shown while streaming and then not kept (fallback after a timeout, or dropped on
    review) is listed as withdrawn with the reason, in the report lines and the panel."""
    from formcheck_core.coach import deterministic_cues
    from formcheck_core.cues import Cue
    from formcheck_core.llm.coaching import _fallback, _withdraw
    from formcheck_core.widgets.coaching import _withdrawn_html

    shown = [
        Cue(
            1,
            "Chest up: push the floor away",
            "Torso 67.3°.",
            "excessive_torso_lean",
            2,
            source="llm",
            source_detail="LLM Some Model (Q4_K_M)",
        )
    ]
    result = _withdraw(_fallback(FAULTY_SET, LLMConfig(model="x"), "LLM failed: timed out after 5 s"), shown)
    assert [w.cue.text for w in result.withdrawn] == ["Chest up: push the floor away"]
    assert "timed out" in result.withdrawn[0].reason
    assert any(line.startswith("withdrawn: 'Chest up") for line in result.report_lines())
    # what replaces them: every one of the rules' own cues (FAULTY_SET has faults), marked as fallback
    rules = deterministic_cues(FAULTY_SET, max_cues=LLMConfig(model="x").max_cues)
    assert rules and [(c.rule_id, c.text) for c in result.cues] == [(c.rule_id, c.text) for c in rules]
    assert all(c.fallback_reason.startswith("LLM failed") for c in result.cues)
    assert all(c.source_detail.endswith("(fallback)") for c in result.cues)
    assert "<s>Chest up: push the floor away</s>" in _withdrawn_html(result)
    kept = _withdraw(
        review_answer(
            answer(cue("Chest up: push the floor away", "Torso 67.3° at lift-off.")),
            FAULTY_SET,
            LLMConfig(model="x", min_cues=1),
        ),
        shown,
    )
    assert kept.withdrawn == ()


def test_every_output_states_where_each_cue_came_from():
    """summary.txt, analysis.json and the report say rule / LLM (model, quantisation) / fallback."""
    from formcheck_core.export import to_dict
    from formcheck_core.render.summary import format_summary

    text = answer(cue("Chest up: push the floor away", "Torso 67.3° at lift-off."))
    result = review_answer(
        text,
        FAULTY_SET,
        LLMConfig(model="x", min_cues=1),
        source="llm",
        model_name="Qwen3.5 9B",
        quantization="Q4_K_M",
    )
    details = [c.source_detail for c in result.cues]
    assert details[0] == "LLM Qwen3.5 9B (Q4_K_M)"
    assert details[1].startswith("Incomplete lockout rule") and "added" in details[1]
    summary = format_summary(FAULTY_SET, result.cues)
    assert "[from: LLM Qwen3.5 9B (Q4_K_M)]" in summary and "[from: Incomplete lockout rule" in summary
    data = json.loads(
        json.dumps(
            to_dict(FAULTY_SET, include_series=False, cues=result.cues, coaching=result.report_lines())
        )
    )
    assert [c["source_detail"] for c in data["cues"]] == details
    assert data["coaching"][0].startswith("Cues from the LLM Qwen3.5 9B (Q4_K_M)")
    fallback = review_answer("not json", FAULTY_SET)
    assert fallback.source == "rules" and fallback.cues
    assert all(c.fallback_reason.startswith("the model's answer was not valid JSON") for c in fallback.cues)


def test_a_rejected_cue_names_a_partial_pull_as_every_view_does():
    """The model's ``rep`` is a pull's number; a rejection reason shown to the user names the pull
    as the summary does ("partial pull 1"), not "rep 2"."""
    from dataclasses import replace

    rep1, rep2 = FAULTY_SET.reps
    partial = replace(rep2, complete=False, partial_reason="never reached lockout (test)")
    data = coaching_data(replace(FAULTY_SET, reps=(rep1,), partial_pulls=(partial,)))
    item = cue("Chest up", "Lean 12.3°.", rep=rep2.number)
    reasons = [i.detail for i in check_cue(item, data)]
    assert any(r.endswith("in partial pull 1") for r in reasons), reasons
    assert not any(f"rep {rep2.number}" in r for r in reasons), reasons


def test_grounding_messages_name_rules_and_metrics_in_words_on_a_real_clip(dev_clip, pose_model):
    """The SmolLM2 run on reel_bad_07 printed "the cue is tied to torso_lean_liftoff_deg, but
    rounded_back reads back_flexion_rel": the dropped-cue notes now use the rule's title and the
    metrics' labels (metric_labels.metric_label), as every other view does."""
    from formcheck_core.analysis import analyze
    from formcheck_core.metric_labels import metric_label

    a = analyze(dev_clip("reel_bad_07"), progress=False)
    back = next(f for f in a.findings if f.rule_id == "rounded_back" and f.metric and f.rep is not None)
    lean = next(r for r in a.pulls if r.number == back.rep).metrics["torso_lean_liftoff_deg"]
    item = {
        "cue": f"Chest up: your torso was {lean:.0f}° from vertical.",
        "why": "",
        "metric": "torso_lean_liftoff_deg",
        "rep": back.rep,
        "rule_id": "rounded_back",
    }
    text = "; ".join(i.detail for i in check_cue(item, coaching_data(a)))
    tied = f"the cue is tied to {metric_label('torso_lean_liftoff_deg')}, but {back.name} reads {metric_label(back.metric)}"
    assert tied in text, text
    assert "torso_lean_liftoff_deg" not in text and "rounded_back" not in text and back.metric not in text, (
        text
    )
