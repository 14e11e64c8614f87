"""scripts/evaluate_rules.py on hand-built analyses (no video): what counts as a flag, how a fixed
threshold is judged held out, and how a clip with no deadlift is scored (never dropped)."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from rule_fixtures import make_analysis, make_rep

from formcheck_core.biomech.body import MetricQuality
from formcheck_core.plugins import new_plugin_manager
from formcheck_core.rules import apply_rules
from formcheck_core.rules.thresholds import threshold_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import evaluate_rules as ev

LIMIT = 155.0
HIDDEN = MetricQuality(confidence=0.1, joint="left hip", cause="hidden", low=True)


def _judged(hip_deg: float, *, low: bool = False, lift: str = "deadlift", reps: bool = True):
    rep = make_rep(1, hip_angle_lockout_deg=hip_deg)
    if low:
        rep = replace(rep, metric_quality={"hip_angle_lockout_deg": HIDDEN})
    a = make_analysis((rep,) if reps else (), lift=lift)
    return apply_rules(a, threshold_settings(pm=new_plugin_manager()), plugin_manager=new_plugin_manager())


def _labels(truths: dict[str, bool]) -> dict:
    return {
        s: {"faults": {"incomplete_lockout": t}, "overall": "bad" if t else "good", "lift": "deadlift"}
        for s, t in truths.items()
    }


def test_a_low_confidence_fault_is_a_warning_not_a_flag_and_leaves_no_value():
    done = {"pos": _judged(140.0), "hidden": _judged(130.0, low=True), "clean": _judged(175.0)}
    defaults = threshold_settings(pm=new_plugin_manager())
    ev.LABEL_FIELD["incomplete_lockout"] = "incomplete_lockout"
    rows = ev.rule_rows(
        "incomplete_lockout", _labels({"pos": True, "hidden": False, "clean": False}), done, defaults, True
    )
    assert rows is not None and rows.fixed and rows.direction == "below"
    by = dict(zip(rows.stems, zip(rows.flagged_default, rows.warned, rows.values, strict=True), strict=True))
    assert by["pos"][:2] == (True, False) and by["pos"][2] == 140.0
    assert by["hidden"][:2] == (False, True) and math.isnan(by["hidden"][2])  # warned, not flagged, no value
    assert by["clean"][:2] == (False, False)


def test_a_fixed_threshold_is_judged_held_out_as_it_is(capsys):
    """A fixed threshold is not refitted: its held-out row is the default's own calls, and the
    refitted LOCO row is printed beside it; a calibrated one is judged by the refitted row."""
    stems = [f"c{i}" for i in range(6)]
    truth = np.array([True, False, False, False, False, False])
    # 150: a confident negative under the fixed limit: a false alarm held out too
    values = np.array([140.0, 170.0, 172.0, 175.0, 178.0, 150.0])
    rows = ev.RuleRows(
        "incomplete_lockout",
        "min_hip_angle_deg",
        "below",
        stems,
        truth,
        values,
        values < LIMIT,
        [],
        np.zeros(6, bool),
        True,
    )
    out = ev.report_rule(rows, True, boot=50)
    text = capsys.readouterr().out
    assert "held out (fixed)" in text and "LOCO if refitted" in text
    assert (
        (out["loco"]["tp"], out["loco"]["fp"]) == (1, 1) == (out["in_sample"]["tp"], out["in_sample"]["fp"])
    )
    calibrated = ev.report_rule(replace(rows, fixed=False), True, boot=50)
    assert "held out (fixed)" not in capsys.readouterr().out
    assert calibrated["loco"] == out["loco_refitted"]


def test_a_clip_with_no_deadlift_is_scored_not_flagged_and_listed(capsys):
    """A bench press labelled bad: no pull, no verdict -- a miss in the all-clips figure, printed
    next to the figure on the deadlift clips only; never dropped."""
    analyses = {
        "bench": make_analysis((), lift="deadlift"),
        "bad": _judged(140.0),
        "good": _judged(176.0),
    }
    labels = {
        "bench": {"faults": {}, "overall": "bad", "lift": "bench"},
        "bad": {"faults": {}, "overall": "bad", "lift": "conventional_deadlift"},
        "good": {"faults": {}, "overall": "good", "lift": "conventional_deadlift"},
    }
    out = ev.report_verdict(labels, analyses, {}, threshold_settings(pm=new_plugin_manager()), boot=50)
    text = capsys.readouterr().out
    assert out["clips"] == 3 and out["deadlift_clips"] == 2
    assert out["defaults"]["all"]["fn"] == 1 and out["defaults"]["deadlift_only"]["fn"] == 0
    assert "bench (bench, labelled bad: no verdict: no deadlift pull found)" in text
    assert "missed bench" in text and "deadlift clips only" in text
