"""The rounded_back rule on hand-built reps (no video): fires, passes, and says when it cannot see."""

from __future__ import annotations

import math

import pytest
from rule_fixtures import make_analysis, make_rep

from formcheck_core.plugins import new_plugin_manager
from formcheck_core.rules import apply_rules
from formcheck_rules import rounded_back

LIMIT = rounded_back.MAX_FLEXION_REL


def finding(rep, view="side", thresholds=None):
    a = apply_rules(make_analysis((rep,), view=view), thresholds, plugin_manager=new_plugin_manager())
    found = [f for f in a.findings if f.rule_id == "rounded_back"]
    assert len(found) == 1, found
    return a, found[0]


def test_rounded_back_fires_with_gym_cue_and_sets_the_verdict():
    a, f = finding(make_rep(1, back_flexion_rel=3 * LIMIT))
    assert f.is_fault and f.severity == "major" and f.value == pytest.approx(3 * LIMIT)
    assert f.threshold == pytest.approx(LIMIT) and f.unit == "torso_lengths"
    assert f"{100 * 3 * LIMIT:.1f}% of torso length" in f.message
    assert "chest up" in f.cue and "lower back flat" in f.cue and f"{100 * 3 * LIMIT:.1f}%" in f.cue
    assert a.verdicts[-1].label == "needs work"


def test_flat_back_passes():
    _, f = finding(make_rep(1, back_flexion_rel=LIMIT / 3))
    assert f.status == "ok" and "flat" in (f.message + rounded_back.RULE.praise)


@pytest.mark.parametrize(
    "metrics, view, why",
    [
        ({"back_flexion_rel": math.nan}, "side", "could not be read"),
        ({"back_flexion_rel": 0.2, "back_mask_confidence": 0.3}, "side", "unclear"),
        ({"back_flexion_rel": 0.2}, "oblique", "side view"),
        ({"back_flexion_rel": 0.2}, "front", "side view"),
    ],
)
def test_not_measurable_instead_of_a_guess(metrics, view, why):
    _, f = finding(make_rep(1, **metrics), view=view)
    assert f.status == "not_measurable" and why in f.message and f.value is None


def test_threshold_override_moves_the_call():
    rep = make_rep(1, back_flexion_rel=0.04)
    assert finding(rep)[1].is_fault
    assert finding(rep, thresholds={"rounded_back": {"max_flexion_rel": 0.05}})[1].status == "ok"
