"""The plugin system: built-ins registered like plugins, runtime registration, loud failures, the CLI."""

from __future__ import annotations

import json

import pluggy
import pytest
from rule_fixtures import make_analysis, make_rep

from formcheck_core import plugins
from formcheck_core.cli import main
from formcheck_core.hookspecs import hookimpl
from formcheck_core.plugins import (
    DEFAULT_PLUGINS,
    PluginError,
    get_plugin_manager,
    get_plugins,
    new_plugin_manager,
    plugin_reps,
    register_rule,
    temporary_rule,
    unregister_rule,
)
from formcheck_core.rules import Rule, apply_rules, collect_rules

BUILTIN_IDS = {
    "excessive_torso_lean",
    "incomplete_lockout",
    "bar_drift",
    "hips_rise_first",
    "hyperextension_at_lockout",
    "bent_arms",
    "heel_lift",
    "rounded_back",
    "squat_pattern",
}


def slow_pull_rule(limit_s: float = 3.0) -> Rule:
    return Rule(
        id="slow_pull",
        check=lambda ctx: ctx.compare("rep_duration_s", "max_duration_s", moment="lockout"),
        description="Pull takes too long.",
        metrics=("rep_duration_s",),
        thresholds={"max_duration_s": limit_s},
        cue="Pull with intent: {measured} from floor to lockout.",
    )


def test_builtins_are_registered_like_plugins_one_module_per_rule():
    pm = new_plugin_manager()
    names = {p["name"] for p in get_plugins(pm)}
    assert set(DEFAULT_PLUGINS) <= names
    rules, errors = collect_rules(pm)
    assert errors == [] and set(rules) == BUILTIN_IDS
    for rid, lr in rules.items():
        assert lr.plugin == f"formcheck_rules.{rid}"
        assert "Can see" in lr.rule.doc and "Cannot see" in lr.rule.doc, rid
        assert lr.rule.description and lr.rule.metrics and lr.rule.thresholds and lr.rule.cue


def test_global_manager_loads_builtins_once():
    pm = get_plugin_manager()
    assert get_plugin_manager() is pm
    rules, _ = collect_rules(pm)
    assert BUILTIN_IDS <= set(rules)


def test_register_rule_for_one_test_then_unregister():
    pm = get_plugin_manager()
    analysis = make_analysis((make_rep(1, rep_duration_s=5.0),))
    with temporary_rule(slow_pull_rule()):
        rules, _ = collect_rules(pm)
        assert rules["slow_pull"].plugin == "runtime:slow_pull"
        result = apply_rules(analysis)
        assert [f.status for f in result.findings if f.rule_id == "slow_pull"] == ["fault"]
    assert "slow_pull" not in collect_rules(pm)[0]
    assert not any(f.rule_id == "slow_pull" for f in apply_rules(analysis).findings)


def test_re_registering_a_rule_id_replaces_it_like_re_running_a_notebook_cell():
    pm = new_plugin_manager()
    register_rule(slow_pull_rule(3.0), manager=pm)
    register_rule(slow_pull_rule(9.0), manager=pm)
    rules, errors = collect_rules(pm)
    assert errors == [] and rules["slow_pull"].rule.thresholds == {"max_duration_s": 9.0}
    assert unregister_rule("slow_pull", manager=pm) is True
    assert unregister_rule("slow_pull", manager=pm) is False
    with pytest.raises(TypeError, match="expects a formcheck Rule"):
        register_rule({"id": "x"}, manager=pm)


def test_pm_register_object_works_for_notebooks():
    pm = new_plugin_manager()

    class MyRules:
        @hookimpl
        def register_rules(self, register):
            register(slow_pull_rule())

    pm.register(MyRules(), name="my-notebook-rules")
    rules, _ = collect_rules(pm)
    assert rules["slow_pull"].plugin == "my-notebook-rules"


def test_hook_with_wrong_argument_names_is_rejected_at_registration():
    pm = new_plugin_manager()

    class WrongArgs:
        @hookimpl
        def register_rules(self, add_rule):
            pass

    with pytest.raises(pluggy.PluginValidationError):
        pm.register(WrongArgs())


def test_misspelled_hook_in_an_installed_plugin_fails_check_pending():
    pm = new_plugin_manager()

    class Typo:
        @hookimpl
        def regster_rules(self, register):
            pass

    pm.register(Typo(), name="typo")
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()
    with pytest.raises(PluginError, match="unknown hook"):
        apply_rules(make_analysis((make_rep(1),)), plugin_manager=pm)


def test_only_named_plugins_or_none_beyond_builtins():
    # Naming a plugin that is not installed fails loudly rather than silently running without it.
    with pytest.raises(PluginError, match="no installed formcheck plugin named no-such-plugin"):
        new_plugin_manager(entry_points=True, only=["no_such_plugin"])
    # An empty list loads no installed plugin at all: only the built-ins.
    pm = new_plugin_manager(entry_points=True, only=[])
    assert {p["name"] for p in get_plugins(pm)} == set(DEFAULT_PLUGINS)


def test_load_plugins_env_var_restricts_entry_points(monkeypatch):
    monkeypatch.setattr(plugins, "pm", pluggy.PluginManager("formcheck"))
    plugins.pm.add_hookspecs(plugins.hookspecs)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setenv("FORMCHECK_LOAD_PLUGINS", "definitely-not-installed")
    with pytest.raises(PluginError, match="FORMCHECK_LOAD_PLUGINS"):
        plugins.load_plugins()
    assert plugins._loaded is False and plugins.pm.get_plugins() == set()  # nothing half-loaded
    monkeypatch.setenv("FORMCHECK_LOAD_PLUGINS", "")
    plugins.load_plugins()
    assert {plugins.pm.get_name(p) for p in plugins.pm.get_plugins()} == set(DEFAULT_PLUGINS)


def test_detect_reps_hook_overrides_segmentation():
    pm = new_plugin_manager()
    analysis = make_analysis()
    assert plugin_reps(analysis.body, analysis.view, "deadlift", manager=pm) is None

    class KettlebellReps:
        @hookimpl
        def detect_reps(self, body, view, lift):
            return [make_rep(1), make_rep(2, start=50)] if lift == "kettlebell_deadlift" else None

    pm.register(KettlebellReps())
    assert plugin_reps(analysis.body, analysis.view, "deadlift", manager=pm) is None
    reps = plugin_reps(analysis.body, analysis.view, "kettlebell_deadlift", manager=pm)
    assert [r.number for r in reps] == [1, 2]


class _FirstPullOnly:
    """A plugin owning rep detection for one lift: the built-in segmentation's first pull only."""

    @hookimpl
    def detect_reps(self, body, view, lift):
        from formcheck_core.biomech.moments import segment_reps

        return segment_reps(body)[:1] if lift == "kettlebell_deadlift" else None


def test_analyze_uses_a_plugins_reps_for_its_lift_and_the_builtin_ones_otherwise(dev_clip, pose_model):
    """The override reaches the analysis (not only the hook): phone_side_a has two pulls; for the
    plugin's lift the analysis has the one rep the plugin returned, measured like a built-in one."""
    from formcheck_core.analysis import analyze

    builtin = analyze(dev_clip("phone_side_a"), rules=False, progress=False)
    assert len(builtin.reps) == 2
    pm = get_plugin_manager()
    pm.register(_FirstPullOnly(), name="first_pull_only")
    try:
        a = analyze(dev_clip("phone_side_a"), lift="kettlebell_deadlift", rules=False, progress=False)
        same = analyze(dev_clip("phone_side_a"), rules=False, progress=False)
    finally:
        pm.unregister(name="first_pull_only")
    assert [(r.number, r.start_sample, r.end_sample) for r in a.reps] == [
        (1, builtin.reps[0].start_sample, builtin.reps[0].end_sample)
    ]
    assert a.reps[0].metrics["hip_angle_lockout_deg"] == builtin.reps[0].metrics["hip_angle_lockout_deg"]
    assert [(r.start_sample, r.end_sample) for r in same.reps] == [
        (r.start_sample, r.end_sample) for r in builtin.reps
    ]


# ---------------------------------------------------------------- formcheck rules


def test_cli_lists_every_rule_with_plugin_lifts_thresholds_description(capsys):
    with temporary_rule(slow_pull_rule()):
        assert main(["rules"]) == 0
        text = capsys.readouterr().out
        assert main(["rules", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    for rid in BUILTIN_IDS | {"slow_pull"}:
        assert rid in text
    assert "from formcheck_rules.excessive_torso_lean" in text and "from runtime:slow_pull" in text
    assert "max_lean_deg = " in text and "seed 45" in text
    assert 'excessive_torso_lean  "Excessive torso lean"' in text  # the id beside the title reports show
    by_id = {r["id"]: r for r in data["rules"]}
    assert set(by_id) == BUILTIN_IDS | {"slow_pull"}
    lean = by_id["excessive_torso_lean"]
    assert lean["plugin"] == "formcheck_rules.excessive_torso_lean" and lean["lifts"] == ["deadlift"]
    assert lean["presets"]["seed"] == {"max_lean_deg": 45.0} and lean["description"]
    assert lean["title"] == "Excessive torso lean"
    assert by_id["bar_drift"]["thresholds"]["max_drift_px"] is None  # inf = off -> null in JSON
    assert data["errors"] == []


def test_cli_shows_effective_thresholds_and_rejects_bad_ones(capsys):
    assert (
        main(["rules", "--json", "--preset", "seed", "--threshold", "bent_arms.min_elbow_angle_deg=120"]) == 0
    )
    by_id = {r["id"]: r for r in json.loads(capsys.readouterr().out)["rules"]}
    assert by_id["excessive_torso_lean"]["thresholds"] == {"max_lean_deg": 45.0}
    assert by_id["bar_drift"]["thresholds"] == {"max_drift_rel": None, "max_drift_px": 50.0, "enabled": 1.0}
    assert by_id["bent_arms"]["thresholds"] == {"min_elbow_angle_deg": 120.0, "enabled": 1.0}
    assert main(["rules", "--threshold", "bent_arms.elbow=1"]) == 4
    err = capsys.readouterr().err
    assert (
        err.startswith("formcheck: error:") and "has no threshold 'elbow'" in err and "Traceback" not in err
    )
    assert main(["rules", "--preset", "strict"]) == 4


def test_hook_may_omit_its_argument_like_any_pluggy_hook():
    pm = new_plugin_manager()

    class Quiet:
        @hookimpl
        def register_rules(self):
            pass

    pm.register(Quiet(), name="quiet")
    rules, errors = collect_rules(pm)
    assert errors == [] and set(rules) == BUILTIN_IDS


def test_docs_table_of_builtin_rules_matches_their_defaults():
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "writing-rules.md").read_text()
    rules, _ = collect_rules(new_plugin_manager())
    for rid, lr in rules.items():
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{rid}` |")), None)
        assert row, f"docs/writing-rules.md has no table row for {rid}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        default, seed, views = cells[2], cells[3], cells[4]
        for value in lr.rule.thresholds.values():
            if value != float("inf"):
                assert f"{value:g}" in default, (rid, default, lr.rule.thresholds)
        for value in lr.rule.presets.get("seed", {}).values():
            if value != float("inf"):
                assert f"{value:g}" in seed, (rid, seed)
        assert views == ("all" if len(lr.rule.views) == 3 else ", ".join(lr.rule.views)), (rid, views)


class _FirstPullNoSetPosition:
    """A plugin's reps that do not record the set position: the built-in first pull without
    ``set_position_sample`` (as a plugin that places only the moments returns them)."""

    @hookimpl
    def detect_reps(self, body, view, lift):
        from dataclasses import replace

        from formcheck_core.biomech.moments import segment_reps

        reps = segment_reps(body)[:1]
        return [replace(r, set_position_sample=None) for r in reps] if lift == "kettlebell_deadlift" else None


def test_a_plugins_reps_without_the_set_position_still_read_the_setup_hip_angle(dev_clip, pose_model):
    """Review: a plugin's rep without ``set_position_sample`` read hip_angle_setup_deg as "not
    measurable (a rep not made by segmentation)"; the analysis places it by segmentation's one
    definition (inside the rep, before lift-off), so the reading is measured."""
    import math

    from formcheck_core.analysis import analyze

    pm = get_plugin_manager()
    pm.register(_FirstPullNoSetPosition(), name="first_pull_no_set_position")
    try:
        a = analyze(dev_clip("phone_side_a"), lift="kettlebell_deadlift", rules=False, progress=False)
    finally:
        pm.unregister(name="first_pull_no_set_position")
    (rep,) = a.reps
    at = rep.set_position_sample
    assert at is not None and rep.start_sample <= at < rep.moments["liftoff"].sample
    assert math.isfinite(rep.metrics["hip_angle_setup_deg"]), rep.unmeasured.get("hip_angle_setup_deg")
