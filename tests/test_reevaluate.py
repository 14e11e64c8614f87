"""Re-evaluation without UI: re-run rules over stored analyses at new thresholds, and sweep one."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rule_fixtures import make_analysis, make_rep

from formcheck_core.errors import RuleConfigError
from formcheck_core.plugins import collect_rules, new_plugin_manager
from formcheck_core.rules import apply_rules, reevaluate, sweep
from formcheck_rules.bar_drift import MAX_DRIFT_REL


@pytest.fixture
def pm():
    return new_plugin_manager()


def key(analysis):
    return [(f.rule_id, f.rep, f.status, f.value, f.threshold, f.cue) for f in analysis.findings]


#: bar_drift is off by default (``enabled = 0``); these tests switch it on.
ON = {"enabled": 1.0}


def drifting_set():
    """Three reps with bar drift 0.05, 0.10 and 0.15 body lengths (the rest clean)."""
    return make_analysis(
        tuple(make_rep(i + 1, start=50 * i, max_bar_drift_rel=d) for i, d in enumerate((0.05, 0.10, 0.15)))
    )


def test_reevaluate_all_rules_equals_apply_rules(pm):
    bare = drifting_set()
    th = {"bar_drift": {**ON, "max_drift_rel": 0.08}, "heel_lift": {"max_heel_rise_rel": 0.5}}
    done = reevaluate(bare, th, plugin_manager=pm)
    assert key(done) == key(apply_rules(bare, th, plugin_manager=pm))
    assert [v.label for v in done.verdicts] == [
        v.label for v in apply_rules(bare, th, plugin_manager=pm).verdicts
    ]


def test_reevaluate_one_rule_keeps_the_others(pm):
    rules, _ = collect_rules(pm)
    first = apply_rules(drifting_set(), {"bar_drift": ON}, plugin_manager=pm)
    again = reevaluate(
        first, {"bar_drift": {**ON, "max_drift_rel": 0.07}}, rules={"bar_drift": rules["bar_drift"]}
    )
    others = [k for k in key(first) if k[0] != "bar_drift"]
    assert [k for k in key(again) if k[0] != "bar_drift"] == others
    drift = {f.rep: f.status for f in again.findings if f.rule_id == "bar_drift"}
    assert drift == {1: "ok", 2: "fault", 3: "fault"}
    assert {f.rep: f.status for f in first.findings if f.rule_id == "bar_drift"} == {
        1: "ok",
        2: "ok",
        3: "fault",
    }
    assert again.options["thresholds"]["bar_drift"]["max_drift_rel"] == 0.07
    assert [v.label for v in again.verdicts if v.rep is not None] == ["clean", "needs work", "needs work"]
    assert first.options["thresholds"]["bar_drift"]["max_drift_rel"] == MAX_DRIFT_REL  # first is unchanged


def test_reevaluate_rejects_unknown_names(pm):
    a = drifting_set()
    with pytest.raises(RuleConfigError, match="no threshold"):
        reevaluate(a, {"bar_drift": {"max_drift": 0.1}}, plugin_manager=pm)
    with pytest.raises(RuleConfigError, match="unknown rule"):
        reevaluate(a, {"no_such_rule": {"x": 1.0}}, plugin_manager=pm)
    with pytest.raises(RuleConfigError):
        sweep([a], "bar_drift", "max_drift", [0.1], plugin_manager=pm)
    with pytest.raises(RuleConfigError):
        sweep([a], "no_such_rule", "x", [0.1], plugin_manager=pm)


def test_sweep_counts_fall_as_the_limit_rises(pm):
    sets = [drifting_set(), make_analysis((make_rep(1, max_bar_drift_rel=0.12),))]
    values = [0.0, 0.06, 0.11, 0.13, 0.2]
    points = sweep(sets, "bar_drift", "max_drift_rel", values, thresholds=ON, plugin_manager=pm)
    assert [p.value for p in points] == values
    assert [p.counts() for p in points] == [(4, 4), (3, 4), (2, 4), (1, 4), (0, 4)]
    assert [p.flagged() for p in points] == [
        (True, True),
        (True, True),
        (True, True),
        (True, False),
        (False, False),
    ]
    # Each point is exactly a re-evaluation at that value (the other thresholds as given).
    direct = reevaluate(sets[0], {"bar_drift": {**ON, "max_drift_rel": 0.11}}, plugin_manager=pm)
    assert [k for k in key(direct) if k[0] == "bar_drift"] == [k for k in key(points[2].analyses[0])]


def test_package_names_are_the_functions_after_any_submodule_import():
    """``from formcheck_core.rules import reevaluate`` is the function even after every submodule
    of the package was imported by its path first (a lazily loaded name that equals its module's
    name would then be the module). Run in a fresh interpreter: this process has imported them."""
    probe = """
import importlib, pkgutil, types
import formcheck_core.rules.reevaluation
import formcheck_core.rules.verdicts
import formcheck_core.rules as rules
for m in pkgutil.iter_modules(rules.__path__):
    importlib.import_module(f"formcheck_core.rules.{m.name}")
from formcheck_core.rules import reevaluate, sweep, verdicts
assert callable(reevaluate) and reevaluate.__name__ == "reevaluate", reevaluate
assert callable(verdicts) and verdicts.__name__ == "verdicts", verdicts
modules = [n for n in rules.__all__ if isinstance(getattr(rules, n), types.ModuleType)]
assert not modules, f"public names that are modules: {modules}"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
