"""Rules that judge the pull off the floor also judge partial pulls (hand-built reps, no video).

A pull that never locked out (aborted, or cut off by the clip) still shows a rounded back or a
squat-like set-up. Rules with ``Rule.partial_pulls`` run on such pulls and report there as on a rep
(a "not measurable" finding says why); a partial pull a rule judged ("fault" or "ok") counts toward
the verdicts.
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
    assert {"rounded_back", "excessive_torso_lean", "bent_arms", "incomplete_lockout"} <= partial_rules
    assert "hyperextension_at_lockout" not in partial_rules  # read at a lockout a partial pull lacks
    aborted = make_rep(1, complete=False, back_flexion_rel=ROUNDED, hip_angle_lockout_deg=120.0)
    a = apply_rules(analysis_with([aborted]), plugin_manager=new_plugin_manager())
    assert a.findings and {f.rule_id for f in a.findings} <= partial_rules
    assert set_verdict(a).label == "needs work"


def test_a_clean_partial_pull_is_clean_and_says_why_a_rule_could_not_judge_it():
    """What a rule could not read on a partial pull is reported with why (a NaN metric, the view),
    as on a rep; it is no fault and leaves the verdict as the measured rules make it."""
    from formcheck_core.render.summary import format_summary

    clean = make_rep(1, complete=False, back_flexion_rel=0.0, torso_lean_liftoff_deg=math.nan)
    a = apply_rules(analysis_with([clean]), plugin_manager=new_plugin_manager())
    (lean,) = [f for f in a.findings if f.rule_id == "excessive_torso_lean"]
    assert lean.status == "not_measurable" and lean.message.strip()
    assert set_verdict(a).label == "clean"
    summary = format_summary(a)
    assert f"[not measurable] {lean.name}: {lean.message}" in summary
    # A front view: each side-only rule says on the partial pull why it did not judge it (the view).
    front = apply_rules(analysis_with([clean], view="front"), plugin_manager=new_plugin_manager())
    rules, _ = collect_rules(new_plugin_manager())
    side_only = {  # the rules on by default that judge partial pulls, but not from the front
        rid
        for rid, lr in rules.items()
        if lr.rule.partial_pulls and "front" not in lr.rule.views and lr.rule.thresholds.get("enabled", 1.0)
    }
    said = {f.rule_id: f for f in front.findings if f.status == "not_measurable"}
    assert side_only and side_only <= set(said)
    for rid in side_only:
        assert said[rid].message == (rules[rid].rule.view_note or said[rid].message)
    judged = {f.rep for f in front.findings if f.status in ("ok", "fault")}
    assert [v.rep for v in front.verdicts if v.rep is not None] == sorted(judged)


def test_partial_pulls_no_rule_judged_are_left_out_of_the_verdicts():
    unmeasured = make_rep(
        2, complete=False, start=50, back_flexion_rel=math.nan, torso_lean_liftoff_deg=math.nan
    )
    unmeasured = replace(unmeasured, metrics={k: math.nan for k in unmeasured.metrics})
    a = apply_rules(analysis_with([unmeasured], [make_rep(1)]), plugin_manager=new_plugin_manager())
    assert [v.rep for v in a.verdicts] == [1, None]
    # ... though each rule that runs on partial pulls says why it could not judge this one
    said = [f for f in a.findings if f.rep == 2]
    assert said and all(f.status == "not_measurable" and f.message.strip() for f in said)


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
    assert listed["rounded_back"] is True and listed["incomplete_lockout"] is True
    assert listed["hyperextension_at_lockout"] is False
    assert main(["rules"]) == 0
    text = capsys.readouterr().out
    block = text[text.index("rounded_back") :].split("\n\n")[0]
    assert "also judges partial pulls" in block


def _stopped_short(number, hip_top_deg, reason="never reached lockout (the torso stayed 33° from vertical)"):
    rep = make_rep(number, complete=False, start=50 * (number - 1), hip_angle_top_deg=hip_top_deg)
    return replace(rep, partial_reason=reason, missing_moments={"lockout": reason.split("(")[-1].rstrip(")")})


def test_a_pull_that_stopped_short_of_lockout_is_an_incomplete_lockout():
    """incomplete_lockout judges a pull the lifter stopped short of lockout on its top hip angle:
    below the limit it is the fault (with the moments' reason), above it it is not measurable (no
    lockout to praise, and its hip angle cannot tell); a pull the clip cuts before lockout is not
    measurable either, and says so."""
    from rule_fixtures import all_rules_on

    from formcheck_core.render.summary import lockout_reached
    from formcheck_rules import incomplete_lockout

    limit = incomplete_lockout.MIN_HIP_ANGLE_DEG
    short = _stopped_short(1, limit - 11.0)
    high = _stopped_short(
        2, limit + 5.0, reason="aborted: lowered before lockout (the torso stayed 40° from vertical)"
    )
    cut = replace(
        make_rep(3, complete=False, start=100), partial_reason="cut by the clip: it ends before lockout"
    )
    a = apply_rules(
        analysis_with([short, high, cut]),
        all_rules_on(new_plugin_manager()),
        plugin_manager=new_plugin_manager(),
    )
    mine = [f for f in a.findings if f.rule_id == "incomplete_lockout"]
    assert [(f.rep, f.status) for f in mine] == [(1, "fault"), (2, "not_measurable"), (3, "not_measurable")]
    f, high_f, cut_f = mine
    assert "never reached lockout" in high_f.message and "40° from vertical" in high_f.message
    assert cut_f.message == "No lockout was found in this pull (cut by the clip: it ends before lockout)."
    assert (f.value, f.threshold, f.metric) == (limit - 11.0, limit, "hip_angle_top_deg")
    assert "never reached lockout" in f.message and "33° from vertical" in f.message
    assert lockout_reached(a, short) is False
    assert set_verdict(a).label == "needs work"
    # the limit decides, as for a complete rep: below the pull's top hip angle, no fault
    loose = reevaluate(
        a, {"incomplete_lockout": {"min_hip_angle_deg": limit - 20.0}}, plugin_manager=new_plugin_manager()
    )
    assert [
        f for f in loose.findings if f.rule_id == "incomplete_lockout" and f.status != "not_measurable"
    ] == []


def test_by_default_a_pull_that_never_reached_lockout_needs_work_and_a_doubted_lockout_only_warns():
    """incomplete_lockout is on by default with the one lockout definition as its fixed limit
    (``Rule.fixed``): the pull the summary calls "never reached lockout" is a fault that makes the
    set "needs work"; a complete rep whose lockout hip reads under the limit at low confidence (a
    doubted lockout) is a warning, and the set stays clean."""
    from formcheck_core.biomech.body import MetricQuality
    from formcheck_core.biomech.rep_window import LOCKOUT_HIP_DEG
    from formcheck_core.render.summary import lockout_reached
    from formcheck_core.rules.verdicts import verdict_role
    from formcheck_rules import incomplete_lockout

    rule = incomplete_lockout.RULE
    assert rule.fixed == ("min_hip_angle_deg",) and rule.thresholds["min_hip_angle_deg"] == LOCKOUT_HIP_DEG
    assert rule.thresholds.get("enabled", 1.0) == 1.0
    short = _stopped_short(1, LOCKOUT_HIP_DEG - 11.0)
    a = apply_rules(analysis_with([short]), None, plugin_manager=new_plugin_manager())
    (f,) = [f for f in a.findings if f.rule_id == "incomplete_lockout"]
    assert verdict_role(f) == "fault" and lockout_reached(a, short) is False
    assert set_verdict(a).label == "needs work"
    # switched off by the user: silent, and the set is judged on the other rules
    off = reevaluate(a, {"incomplete_lockout": {"enabled": 0.0}}, plugin_manager=new_plugin_manager())
    assert not [f for f in off.findings if f.rule_id == "incomplete_lockout"]
    doubted = make_rep(1, hip_angle_lockout_deg=LOCKOUT_HIP_DEG - 20.0)
    hidden = MetricQuality(
        confidence=0.2, joint="left hip", cause="reads bent while the torso reaches vertical", low=True
    )
    doubted = replace(doubted, metric_quality={"hip_angle_lockout_deg": hidden})
    b = apply_rules(make_analysis((doubted,)), None, plugin_manager=new_plugin_manager())
    (g,) = [f for f in b.findings if f.rule_id == "incomplete_lockout"]
    assert g.is_fault and g.low_confidence and verdict_role(g) == "warning"
    assert set_verdict(b).label == "clean"


def test_a_real_partial_pull_says_why_each_rule_did_not_judge_it(dev_clip, pose_model):
    """posereader_good_bad: its partial pull starts mid-pull (the clip cut in at a splice), so the
    rules that read the lift-off cannot judge it. Each rule on by default that judges partial pulls
    has a finding on it; those it could not judge say why in the summary, the JSON and the report
    card, without naming a lift-off the pull does not have, and they are no fault."""
    import html
    import re

    from formcheck_core.analysis import analyze
    from formcheck_core.coach import pull_moments
    from formcheck_core.export import to_dict
    from formcheck_core.render.report import _findings_list
    from formcheck_core.render.summary import format_summary
    from formcheck_core.vocabulary import MOMENT_PHRASES

    a = analyze(dev_clip("posereader_good_bad"), progress=False)
    (pull,) = a.partial_pulls
    assert "liftoff" not in pull.moments
    rules, _ = collect_rules(new_plugin_manager())
    on = {
        rid for rid, lr in rules.items() if lr.rule.partial_pulls and lr.rule.thresholds.get("enabled", 1.0)
    }
    mine = [f for f in a.findings if f.rep == pull.number]
    assert {f.rule_id for f in mine} == on  # every rule that judges partial pulls says something
    unread = [f for f in mine if f.status == "not_measurable"]
    assert unread, "the lift-off rules cannot judge a pull that starts mid-pull"
    summary = format_summary(a)
    block = summary[summary.index(a.pull_label(pull.number)) :]
    exported = {(f["rule_id"], f["rep"]): f for f in to_dict(a, include_series=False)["findings"]}
    cards = html.unescape(_findings_list(unread, (), pull_moments(a)))
    for f in unread:
        assert f"[not measurable] {f.name}: {f.message}" in block
        assert exported[(f.rule_id, f.rep)]["status"] == "not_measurable"
        assert f.message in cards
        assert f"{f.message} lift-off" not in " ".join(re.sub(r"<[^>]+>", " ", cards).split())
        assert MOMENT_PHRASES["liftoff"] not in f.message, f.message
    verdict = {v.rep: v.label for v in a.verdicts}
    assert verdict[pull.number] == ("needs work" if any(f.is_fault for f in mine) else "clean")
    # the metrics the lift-off rules read say the pull has no lift-off, not that a joint was unseen
    for name in ("hip_rise_lead_rel", "torso_lean_gain_deg", "torso_lean_liftoff_deg"):
        assert pull.unmeasured[name].startswith("no lift-off moment: "), (name, pull.unmeasured[name])
