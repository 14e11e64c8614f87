"""The words people read: a rule is named by its title (derived from its one definition), never by
its id, in the summary, the cues, the report cards and the still captions; the id stays in the JSON."""

from __future__ import annotations

import html
import math

import pytest
from rule_fixtures import all_rules_on, make_analysis, make_rep

from formcheck_core.coach import deterministic_cues
from formcheck_core.export import to_dict
from formcheck_core.plugins import new_plugin_manager
from formcheck_core.render.report import _findings_list, _moment_frames
from formcheck_core.render.stills import finding_line
from formcheck_core.render.summary import format_summary
from formcheck_core.rules import apply_rules
from formcheck_core.rules.model import Rule
from formcheck_core.vocabulary import rule_title
from formcheck_rules.excessive_torso_lean import MAX_LEAN_DEG


@pytest.fixture(scope="module")
def pm():
    return new_plugin_manager()


def test_a_rules_title_is_derived_from_its_id_unless_it_gives_one():
    check = lambda ctx: None  # noqa: E731
    assert Rule(id="rounded_back", check=check, description="d", metrics=(), thresholds={}, cue="").title == (
        "Rounded back"
    )
    assert rule_title("hips_rise_first") == "Hips rise first"
    given = Rule(id="x_y", check=check, description="d", metrics=(), thresholds={}, cue="", title="Bar path")
    assert given.title == "Bar path"


def test_summary_cues_cards_and_stills_name_rules_by_title_and_the_json_keeps_ids(pm):
    rep = make_rep(1, torso_lean_liftoff_deg=MAX_LEAN_DEG + 5, back_flexion_rel=math.nan)
    a = apply_rules(make_analysis((rep,)), all_rules_on(pm), plugin_manager=pm)
    faults = [f for f in a.findings if f.is_fault]
    assert faults and all(f.title for f in a.findings)
    cues = deterministic_cues(a)
    summary = format_summary(a, cues)
    card = html.unescape(_findings_list(a.findings, (), _moment_frames(a)))
    stills = "\n".join(finding_line(f) for f in a.findings)
    for f in a.findings:
        assert f.name == f.title
        for view, text in (("summary", summary), ("report card", card), ("still", stills)):
            assert f.rule_id not in text, (view, f.rule_id)
    tagged = [x for x in summary.splitlines() if x.startswith("  [")]  # "  [fault/major] Title: message"
    assert len(tagged) == sum(f.rep == 1 and f.status != "ok" for f in a.findings)
    assert all(x.split("] ", 1)[1].split(": ", 1)[0] in {f.title for f in a.findings} for x in tagged)
    lean = next(f for f in faults if f.rule_id == "excessive_torso_lean")
    assert f"] Excessive torso lean: {lean.message}" in summary
    cue = next(c for c in cues if c.rule_id == "excessive_torso_lean")
    assert cue.rule_title == "Excessive torso lean" and cue.source_detail == "Excessive torso lean rule"
    assert "[from: Excessive torso lean rule]" in summary
    data = to_dict(a, include_series=False, cues=cues)
    assert {f["rule_id"] for f in data["findings"]} == {f.rule_id for f in a.findings}
    assert {c["rule_id"] for c in data["cues"]} >= {"excessive_torso_lean"}


def test_the_filming_cue_names_unmeasured_checks_by_title(pm):
    a = apply_rules(
        make_analysis((make_rep(1, hip_rise_lead_rel=0.3),), view="front"),
        all_rules_on(pm),
        plugin_manager=pm,
    )
    film = deterministic_cues(a)[-1]
    assert film.rule_id is None and "Excessive torso lean" in film.why
    assert "excessive_torso_lean" not in film.why and "rounded_back" not in film.why
