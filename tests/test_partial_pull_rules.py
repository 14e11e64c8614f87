"""Rules that judge the pull off the floor also judge partial pulls (hand-built reps, no video).

A pull that never locked out (aborted, or cut off by the clip) still shows a rounded back or a
squat-like set-up. Rules with ``Rule.partial_pulls`` run on such pulls; only their "fault" and "ok"
findings are kept there, and a partial pull a rule judged counts toward the verdicts.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

from rule_fixtures import make_analysis, make_rep

from formcheck_core.plugins import collect_rules, new_plugin_manager
from formcheck_core.rules import apply_rules, reevaluate
from formcheck_rules import rounded_back

ROUNDED = 3 * rounded_back.MAX_FLEXION_REL


def analysis_with(partial, reps=(), view="side"):
    return replace(make_analysis(tuple(reps), view=view), partial_pulls=tuple(partial))


def set_verdict(a):
    return next(v for v in a.verdicts if v.rep is None)


def test_rounded_partial_pull_flags_and_makes_the_set_need_work():
    good = make_rep(1)
    aborted = make_rep(2, complete=False, start=50, back_flexion_rel=ROUNDED)
    a = apply_rules(analysis_with([aborted], [good]), plugin_manager=new_plugin_manager())
    on_partial = [f for f in a.findings if f.rep == 2]
    assert [f.rule_id for f in on_partial if f.is_fault] == ["rounded_back"]
    assert {f.rule_id for f in a.findings if f.rep == 1 and f.is_fault} == set()
    assert set_verdict(a).label == "needs work"
    assert set_verdict(a).top_finding.rep == 2
    assert [v.rep for v in a.verdicts] == [1, 2, None]


def test_only_rules_that_judge_the_pull_off_the_floor_run_on_partial_pulls():
    rules, _ = collect_rules(new_plugin_manager())
    partial_rules = {rid for rid, lr in rules.items() if lr.rule.partial_pulls}
    assert "rounded_back" in partial_rules and "excessive_torso_lean" in partial_rules
    assert not partial_rules & {"incomplete_lockout", "hyperextension_at_lockout"}  # read at lockout
    aborted = make_rep(1, complete=False, back_flexion_rel=ROUNDED, hip_angle_lockout_deg=120.0)
    a = apply_rules(analysis_with([aborted]), plugin_manager=new_plugin_manager())
    assert a.findings and {f.rule_id for f in a.findings} <= partial_rules
    assert set_verdict(a).label == "needs work"


def test_a_clean_partial_pull_is_clean_and_nothing_unmeasurable_is_reported_on_it():
    clean = make_rep(1, complete=False, back_flexion_rel=0.0, torso_lean_liftoff_deg=math.nan)
    a = apply_rules(analysis_with([clean]), plugin_manager=new_plugin_manager())
    assert all(f.status in ("ok", "fault") for f in a.findings)
    assert "excessive_torso_lean" not in {f.rule_id for f in a.findings}  # NaN: not reported
    assert set_verdict(a).label == "clean"
    # A front view: the side-only rules say nothing about the partial pull (no "not measurable").
    front = apply_rules(analysis_with([clean], view="front"), plugin_manager=new_plugin_manager())
    assert all(f.status != "not_measurable" for f in front.findings)


def test_partial_pulls_no_rule_judged_are_left_out_of_the_verdicts():
    unmeasured = make_rep(
        2, complete=False, start=50, back_flexion_rel=math.nan, torso_lean_liftoff_deg=math.nan
    )
    unmeasured = replace(unmeasured, metrics={k: math.nan for k in unmeasured.metrics})
    a = apply_rules(analysis_with([unmeasured], [make_rep(1)]), plugin_manager=new_plugin_manager())
    assert [v.rep for v in a.verdicts] == [1, None]


def test_reevaluate_judges_partial_pulls_like_apply_rules():
    aborted = make_rep(1, complete=False, back_flexion_rel=ROUNDED)
    a = apply_rules(analysis_with([aborted]), plugin_manager=new_plugin_manager())
    loose = reevaluate(
        a, {"rounded_back": {"max_flexion_rel": 2 * ROUNDED}}, plugin_manager=new_plugin_manager()
    )
    assert set_verdict(a).label == "needs work" and set_verdict(loose).label == "clean"
    assert [f.status for f in loose.findings if f.rule_id == "rounded_back"] == ["ok"]


def test_formcheck_rules_says_which_rules_judge_partial_pulls(capsys):
    from formcheck_core.cli import main

    assert main(["rules", "--json"]) == 0
    listed = {r["id"]: r["partial_pulls"] for r in json.loads(capsys.readouterr().out)["rules"]}
    assert listed["rounded_back"] is True and listed["incomplete_lockout"] is False
    assert main(["rules"]) == 0
    text = capsys.readouterr().out
    block = text[text.index("rounded_back") :].split("\n\n")[0]
    assert "also judges partial pulls" in block
