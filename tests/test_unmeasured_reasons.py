"""A missing metric says why in the batch tables and in the LLM's data, in the words every other
view uses (``Rep.unmeasured_mark``, from ``Rep.unmeasured`` and the reading's pose quality)."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
from rule_fixtures import make_analysis, make_rep

from formcheck_core.batch.rows import reason_column
from formcheck_core.batch.tables import Dataset
from formcheck_core.biomech.body import MetricQuality
from formcheck_core.llm.grounding import check_cue, reference_values
from formcheck_core.llm.prompts import coaching_messages, flagging_messages

DRIFT_WHY = "the wrists (the bar) were not seen at lift-off"
HIP_WHY = "left shoulder not visible"


def _set():
    """Rep 1 measured; rep 2 without bar drift (its measure function said why) and without the
    setup hip angle (its joint was not seen at its sample)."""
    rep2 = make_rep(2, start=50, max_bar_drift_rel=math.nan, hip_angle_setup_deg=math.nan)
    rep2 = replace(
        rep2,
        unmeasured={"max_bar_drift_rel": DRIFT_WHY},
        metric_quality={
            "hip_angle_setup_deg": MetricQuality(0.0, "left shoulder", "not visible", 0.0, measurable=False)
        },
    )
    return make_analysis((make_rep(1), rep2))


def test_the_rep_states_its_reasons_as_every_view_marks_them():
    rep = _set().reps[1]
    assert rep.unmeasured_reasons() == {"max_bar_drift_rel": DRIFT_WHY, "hip_angle_setup_deg": HIP_WHY}
    assert rep.unmeasured_mark("hip_angle_setup_deg") == f"not measurable: {HIP_WHY}"
    assert _set().reps[0].unmeasured_reasons() == {}


def test_batch_rep_table_has_a_reason_beside_each_missing_metric(tmp_path):
    a = _set()
    reps = Dataset.from_analysis(a, clip="c").reps
    cols = list(reps.columns)
    for m in ("max_bar_drift_rel", "hip_angle_setup_deg", "knee_angle_bottom_deg"):
        assert cols.index(reason_column(m)) == cols.index(m) + 1  # the reason sits beside its value
    two = reps.set_index("rep").loc[2]
    assert pd.isna(two["max_bar_drift_rel"]) and two[reason_column("max_bar_drift_rel")] == DRIFT_WHY
    assert pd.isna(two["hip_angle_setup_deg"]) and two[reason_column("hip_angle_setup_deg")] == HIP_WHY
    # the same words as the rep's own marks, for every metric; measured metrics have no reason
    for rep in a.reps:
        row = reps.set_index("rep").loc[rep.number]
        for m, why in rep.unmeasured_reasons().items():
            assert row[reason_column(m)] == why
        assert reps[reason_column("knee_angle_bottom_deg")].isna().all()
    assert str(reps[reason_column("max_bar_drift_rel")].dtype) == "string"
    # CSV and parquet keep it
    ds = Dataset.from_analysis(a, clip="c")
    ds.to_csv(tmp_path)
    ds.to_parquet(tmp_path)
    for back in (pd.read_csv(tmp_path / "reps.csv"), pd.read_parquet(tmp_path / "reps.parquet")):
        assert list(back[reason_column("max_bar_drift_rel")].fillna("")) == ["", DRIFT_WHY]


def test_llm_data_gives_the_reason_instead_of_a_bare_gap():
    for messages, data in (coaching_messages(_set()), flagging_messages(_set(), ["bar_drift"])):
        one, two = data["reps"]
        assert "not_measurable" not in one
        assert two["not_measurable"] == {"max_bar_drift_rel": DRIFT_WHY, "hip_angle_setup_deg": HIP_WHY}
        assert "max_bar_drift_rel" not in two["metrics"]  # values stay numbers only
        block = messages[1]["content"]
        drift = next(ln for ln in block.splitlines() if ln.startswith("max_bar_drift_rel = "))
        assert drift.split("  — ")[0].endswith(f"| not measurable: {DRIFT_WHY}")
        hip = next(ln for ln in block.splitlines() if ln.startswith("hip_angle_setup_deg = "))
        assert f"not measurable: {HIP_WHY}" in hip


def test_grounding_still_rejects_a_cue_on_a_metric_not_measured_in_that_rep():
    _, data = coaching_messages(_set())
    refs = reference_values(data)
    cue = {"rep": 2, "metric": "max_bar_drift_rel", "cue": "Keep the bar close", "why": "it drifted"}
    assert "unmeasured_metric" in {i.kind for i in check_cue(cue, data, refs)}


def test_a_reason_shared_by_every_pull_is_said_once():
    front = "front view: the bar's drift is along the camera axis"
    reps = tuple(
        replace(
            make_rep(i, start=50 * i, max_bar_drift_rel=math.nan), unmeasured={"max_bar_drift_rel": front}
        )
        for i in (1, 2, 3)
    )
    messages, data = coaching_messages(make_analysis(reps))
    assert [r["not_measurable"] for r in data["reps"]] == [{"max_bar_drift_rel": front}] * 3
    drift = next(ln for ln in messages[1]["content"].splitlines() if ln.startswith("max_bar_drift_rel = "))
    assert drift == f"max_bar_drift_rel = not measurable: {front} (every pull)"  # no meaning: no value


def test_a_missing_moment_is_named_by_its_label_in_every_reason():
    """``no_moment`` names a moment as every view does (``MOMENT_LABEL``: "lift-off", "knee pass")."""
    from formcheck_core.biomech.metric_spec import RepInput
    from formcheck_core.biomech.rep_window import no_moment
    from formcheck_core.vocabulary import MOMENT_LABEL

    rep = replace(make_rep(1), missing_moments={"liftoff": "the bar never left the floor"})
    for name, label in MOMENT_LABEL.items():
        why = no_moment(RepInput(None, rep), name).reason  # type: ignore[arg-type]
        assert why.startswith(f"no {label} moment: ")
    assert (
        no_moment(RepInput(None, rep), "liftoff").reason == "no lift-off moment: the bar never left the floor"
    )


def test_an_untracked_reading_says_what_was_not_tracked_in_a_sentence():
    """A NaN metric without its own reason names what it reads, with the verb agreeing."""
    from formcheck_core.biomech.metrics import METRIC_SPECS, _untracked

    assert (
        _untracked(METRIC_SPECS["hip_angle_setup_deg"])
        == "the hip angle was not tracked where this value is read"
    )
    assert _untracked(METRIC_SPECS["heel_rise_rel"]) == (
        "the heel and foot index were not tracked where this value is read"
    )
