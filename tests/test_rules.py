"""Rules: the Rule model, the built-in rules on hand-built reps, thresholds, fault isolation, verdicts."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from rule_fixtures import all_rules_on, make_analysis, make_rep

from formcheck_core.findings import Finding
from formcheck_core.plugins import PluginError, new_plugin_manager, register_rule
from formcheck_core.rules import (
    Rule,
    RuleConfigError,
    RuleContext,
    apply_rules,
    collect_rules,
    load_threshold_config,
    nearest_moment,
    parse_threshold_option,
    phase_phrase,
    resolve_thresholds,
    rule,
    threshold_settings,
    verdicts,
)
from formcheck_core.vocabulary import MOMENT_PHRASES
from formcheck_rules import (
    bar_drift,
    bent_arms,
    excessive_torso_lean,
    heel_lift,
    hips_rise_first,
    hyperextension_at_lockout,
    incomplete_lockout,
    rounded_back,
)


@pytest.fixture
def pm():
    """A fresh manager with the built-in rules only (no installed plugins, no global state)."""
    return new_plugin_manager()


def run(pm, *reps, view="side", lift="deadlift", thresholds=None, **kw):
    """Every rule switched on (the default preset switches some off), ``thresholds`` on top."""
    merged = all_rules_on(pm, thresholds)
    return apply_rules(make_analysis(tuple(reps), view=view, lift=lift), merged, plugin_manager=pm, **kw)


def status(analysis, rule_id, rep=1):
    found = [f for f in analysis.findings if f.rule_id == rule_id and f.rep == rep]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- the Rule model


def _noop(ctx):
    return None


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"id": "Bad Id"}, "lower_snake_case"),
        ({"severity": "catastrophic"}, "severity"),
        ({"thresholds": {"x_deg": math.nan}}, "must be a number"),
        ({"thresholds": {"x_deg": "60"}}, "must be a number"),
        ({"presets": {"seed": {"y_deg": 1.0}}}, "unknown thresholds"),
        ({"lifts": "deadlift"}, "tuples of names"),
        ({"views": ("side", "sideways")}, "not among"),
        ({"check": "not callable"}, "callable"),
    ],
)
def test_rule_rejects_bad_declarations(kwargs, error):
    base = dict(
        id="ok_rule", check=_noop, description="d", metrics=("x_deg",), thresholds={"x_deg": 1.0}, cue="c"
    )
    with pytest.raises(ValueError, match=error):
        Rule(**{**base, **kwargs})


def test_rule_applies_to_lift_family():
    r = excessive_torso_lean.RULE
    assert (
        r.applies_to("deadlift") and r.applies_to("romanian_deadlift") and r.applies_to("kettlebell_deadlift")
    )
    assert not r.applies_to("squat") and not r.applies_to("deadlift_bench")


def test_rule_decorator_takes_description_from_docstring():
    @rule(
        id="slow_pull",
        metrics=["rep_duration_s"],
        thresholds={"max_duration_s": 4.0},
        cue="Faster: {measured}.",
    )
    def slow_pull(ctx):
        """Pull takes too long.

        Reads rep_duration_s.
        """
        return ctx.compare("rep_duration_s", "max_duration_s", moment="lockout")

    assert isinstance(slow_pull, Rule) and slow_pull.description == "Pull takes too long."
    assert "Reads rep_duration_s" in slow_pull.doc


# ---------------------------------------------------------------- built-in rules


def test_clean_rep_passes_every_builtin_rule(pm):
    a = run(pm, make_rep(1))
    rules, _ = collect_rules(pm)
    assert {f.rule_id for f in a.findings} == set(rules)
    assert all(f.status == "ok" for f in a.findings), [f.message for f in a.findings if f.status != "ok"]
    assert a.rule_errors == ()
    assert [(v.rep, v.label) for v in a.verdicts] == [(1, "clean"), (None, "clean")]


CASES = [
    # rule id, metric overrides that fire it, moment, measured value, threshold from the module
    (
        "excessive_torso_lean",
        # back not measured: with the back measured flat the lean is only a note (see below)
        {"torso_lean_liftoff_deg": excessive_torso_lean.MAX_LEAN_DEG + 8, "back_flexion_rel": math.nan},
        "liftoff",
        excessive_torso_lean.MAX_LEAN_DEG + 8,
        excessive_torso_lean.MAX_LEAN_DEG,
    ),
    (
        "incomplete_lockout",
        {"hip_angle_lockout_deg": incomplete_lockout.MIN_HIP_ANGLE_DEG - 15},
        "lockout",
        incomplete_lockout.MIN_HIP_ANGLE_DEG - 15,
        incomplete_lockout.MIN_HIP_ANGLE_DEG,
    ),
    (
        "bar_drift",
        {"max_bar_drift_rel": bar_drift.MAX_DRIFT_REL * 2, "max_bar_drift_px": 321.0},
        "knee_pass",
        bar_drift.MAX_DRIFT_REL * 2,
        bar_drift.MAX_DRIFT_REL,
    ),
    (
        "hips_rise_first",
        {"hip_rise_lead_rel": hips_rise_first.MAX_HIP_LEAD_REL * 2},
        "liftoff",
        hips_rise_first.MAX_HIP_LEAD_REL * 2,
        hips_rise_first.MAX_HIP_LEAD_REL,
    ),
    (
        "hyperextension_at_lockout",
        {"torso_lean_lockout_deg": hyperextension_at_lockout.MIN_TORSO_LEAN_DEG - 6},
        "lockout",
        hyperextension_at_lockout.MIN_TORSO_LEAN_DEG - 6,
        hyperextension_at_lockout.MIN_TORSO_LEAN_DEG,
    ),
    (
        "bent_arms",
        {"min_elbow_angle_pull_deg": bent_arms.MIN_ELBOW_ANGLE_DEG - 20},
        "knee_pass",
        bent_arms.MIN_ELBOW_ANGLE_DEG - 20,
        bent_arms.MIN_ELBOW_ANGLE_DEG,
    ),
    (
        "heel_lift",
        {"heel_rise_rel": heel_lift.MAX_HEEL_RISE_REL * 3},
        "liftoff",
        heel_lift.MAX_HEEL_RISE_REL * 3,
        heel_lift.MAX_HEEL_RISE_REL,
    ),
]


@pytest.mark.parametrize("rule_id, metrics, moment, value, threshold", CASES, ids=[c[0] for c in CASES])
def test_builtin_rule_fires_with_value_threshold_and_moment(pm, rule_id, metrics, moment, value, threshold):
    a = run(pm, make_rep(1), make_rep(2, start=50, **metrics))
    assert status(a, rule_id, rep=1).status == "ok"
    f = status(a, rule_id, rep=2)
    assert f.is_fault and f.severity == "moderate"
    assert f.value == pytest.approx(value) and f.threshold == pytest.approx(threshold)
    assert f.moment == moment
    rep2 = a.reps[1]
    assert (f.frame_index, f.time_s) == (rep2.moments[moment].frame_index, rep2.moments[moment].time_s)
    assert f.message and f.cue and f.unit in ("deg", "body_lengths")
    # Only this rule fired, and it decides the verdicts.
    assert [x.rule_id for x in a.findings if x.is_fault] == [rule_id]
    assert [(v.rep, v.label) for v in a.verdicts] == [(1, "clean"), (2, "needs work"), (None, "needs work")]
    assert a.verdicts[-1].top_finding == f


def test_a_steep_torso_with_a_flat_back_is_a_note_not_a_fault(pm):
    """excessive_torso_lean is made "minor" (reported and cued, not judged) on a pull whose back
    rounded_back measured flat; with the back rounded or not measurable (oblique view) it counts."""
    steep = excessive_torso_lean.MAX_LEAN_DEG + 8
    flat = run(pm, make_rep(1, torso_lean_liftoff_deg=steep))
    lean = status(flat, "excessive_torso_lean")
    assert lean.is_fault and lean.severity == "minor" and lean.cue
    assert lean.message.endswith(excessive_torso_lean.RULE.minor_note)
    assert status(flat, "rounded_back").status == "ok"
    assert [(v.rep, v.label) for v in flat.verdicts] == [(1, "clean"), (None, "clean")]

    rounded = run(pm, make_rep(1, torso_lean_liftoff_deg=steep, back_flexion_rel=0.08))
    assert status(rounded, "excessive_torso_lean").severity == "moderate"
    assert {f.rule_id for f in rounded.findings if f.is_fault} == {"excessive_torso_lean", "rounded_back"}
    assert rounded.verdicts[-1].label == "needs work"

    oblique = run(pm, make_rep(1, torso_lean_liftoff_deg=steep), view="oblique")  # back not judged
    assert status(oblique, "rounded_back").status == "not_measurable"
    assert status(oblique, "excessive_torso_lean").severity == "moderate"
    assert oblique.verdicts[-1].label == "needs work"


def test_re_running_only_the_back_rule_re_judges_the_lean_that_depends_on_it(pm):
    from formcheck_core.rules.reevaluation import reevaluate

    steep = excessive_torso_lean.MAX_LEAN_DEG + 8
    just_flat = 0.9 * rounded_back.MAX_FLEXION_REL
    a = run(pm, make_rep(1, torso_lean_liftoff_deg=steep, back_flexion_rel=just_flat))
    assert status(a, "excessive_torso_lean").severity == "minor" and a.verdicts[-1].label == "clean"
    rules, _ = collect_rules(pm)
    stricter = reevaluate(
        a,
        {"rounded_back": {"max_flexion_rel": 0.8 * just_flat}},
        rules={"rounded_back": rules["rounded_back"]},
        plugin_manager=pm,
    )
    assert status(stricter, "rounded_back").is_fault
    lean = status(stricter, "excessive_torso_lean")
    assert lean.severity == "moderate" and not lean.message.endswith(excessive_torso_lean.RULE.minor_note)
    assert lean.threshold == status(a, "excessive_torso_lean").threshold  # its own limit as before
    assert stricter.verdicts[-1].label == "needs work"


def test_minor_when_ok_must_name_rules_in_a_tuple():
    with pytest.raises(ValueError, match="minor_when_ok"):
        Rule(
            id="x",
            check=lambda ctx: None,
            description="d",
            metrics=(),
            thresholds={},
            cue="c",
            minor_when_ok="y",
        )


@pytest.mark.parametrize("rule_id, metrics, moment, value, threshold", CASES, ids=[c[0] for c in CASES])
def test_builtin_rule_reports_nan_metric_as_not_measurable(pm, rule_id, metrics, moment, value, threshold):
    a = run(pm, make_rep(1, **{m: math.nan for m in metrics}))
    f = status(a, rule_id)
    assert f.status == "not_measurable" and f.value is None and f.message


@pytest.mark.parametrize(
    "rule_id",
    [
        "excessive_torso_lean",
        "incomplete_lockout",
        "bar_drift",
        "hyperextension_at_lockout",
        "bent_arms",
        "heel_lift",
    ],
)
def test_front_view_is_not_measurable_instead_of_a_guess(pm, rule_id):
    metrics = next(c[1] for c in CASES if c[0] == rule_id)
    f = status(run(pm, make_rep(1, **metrics), view="front"), rule_id)
    assert f.status == "not_measurable" and "front" in f.message


def test_lockout_is_judged_from_the_side_only(pm):
    f = status(run(pm, make_rep(1, hip_angle_lockout_deg=120.0), view="oblique"), "incomplete_lockout")
    assert f.status == "not_measurable" and "oblique" in f.message


def test_hips_rise_first_is_measured_from_the_front(pm):
    f = status(run(pm, make_rep(1, hip_rise_lead_rel=0.5), view="front"), "hips_rise_first")
    assert f.is_fault


def test_a_rep_that_never_reaches_the_top_is_an_incomplete_lockout(pm):
    from dataclasses import replace

    rep = replace(
        make_rep(1, hip_angle_lockout_deg=140.0), complete=False
    )  # lockout moment found, top not reached
    f = status(run(pm, rep), "incomplete_lockout")
    assert f.is_fault and f.value == 140.0 and f.moment == "lockout"


def test_lockout_rules_do_not_guess_on_a_cut_off_rep(pm):
    a = run(pm, make_rep(1, complete=False, hip_angle_lockout_deg=120.0))
    assert status(a, "incomplete_lockout").status == "not_measurable"
    assert status(a, "hyperextension_at_lockout").status == "not_measurable"
    assert a.verdicts[0].label == "clean"  # other rules measured it


def test_bar_drift_reports_pixels_and_the_seed_preset_judges_pixels(pm):
    rep = make_rep(1, max_bar_drift_rel=bar_drift.MAX_DRIFT_REL / 2, max_bar_drift_px=80.0)
    default = status(run(pm, rep), "bar_drift")
    assert default.status == "ok" and default.unit == "body_lengths" and "80 px" in default.cue
    seed = status(run(pm, rep, thresholds=threshold_settings(preset="seed", pm=pm)), "bar_drift")
    assert seed.is_fault and seed.unit == "px" and seed.value == 80.0 and seed.threshold == 50.0


def test_seed_preset_is_stricter_on_torso_lean(pm):
    rep = make_rep(1, torso_lean_liftoff_deg=50.0)
    assert status(run(pm, rep), "excessive_torso_lean").status == "ok"
    seed = run(pm, rep, thresholds=threshold_settings(preset="seed", pm=pm))
    assert status(seed, "excessive_torso_lean").is_fault
    assert seed.options["thresholds"]["excessive_torso_lean"]["max_lean_deg"] == 45.0


def test_rules_skip_lifts_they_do_not_apply_to(pm):
    a = run(pm, make_rep(1, torso_lean_liftoff_deg=85.0), lift="squat")
    assert a.findings == () and [v.label for v in a.verdicts] == ["unclear", "unclear"]


def test_no_reps_no_findings(pm):
    a = run(pm)
    assert a.findings == () and a.verdicts == () and a.rule_errors == ()


# ---------------------------------------------------------------- thresholds


def test_threshold_priority_defaults_preset_config_override(pm, tmp_path):
    cfg = tmp_path / "formcheck.toml"
    cfg.write_text(
        'preset = "seed"\n[thresholds.bent_arms]\nmin_elbow_angle_deg = 130\n'
        "[thresholds.excessive_torso_lean]\nmax_lean_deg = 55\n"
    )
    t = threshold_settings(config=cfg, overrides=["excessive_torso_lean.max_lean_deg=70"], pm=pm)
    assert t["excessive_torso_lean"]["max_lean_deg"] == 70.0  # override > file
    assert t["bent_arms"]["min_elbow_angle_deg"] == 130.0  # file > default
    assert t["bar_drift"] == {
        "max_drift_rel": math.inf,
        "max_drift_px": 50.0,
        "enabled": 1.0,
    }  # the file's preset
    assert t["heel_lift"]["max_heel_rise_rel"] == heel_lift.MAX_HEEL_RISE_REL  # no seed value: default
    # An explicit preset beats the file's preset.
    t2 = threshold_settings(preset="calibrated", config=cfg, pm=pm)
    assert t2["bar_drift"]["max_drift_rel"] == bar_drift.MAX_DRIFT_REL
    assert t2["excessive_torso_lean"]["max_lean_deg"] == 55.0


def test_keyword_thresholds_override_defaults(pm):
    a = run(
        pm,
        make_rep(1, torso_lean_liftoff_deg=50.0),
        thresholds={"excessive_torso_lean": {"max_lean_deg": 40}},
    )
    f = status(a, "excessive_torso_lean")
    assert f.is_fault and f.threshold == 40.0


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"no_such_rule": {"x": 1}}, "unknown rule 'no_such_rule'"),
        ({"bent_arms": {"max_elbow": 1}}, "has no threshold 'max_elbow'"),
        ({"bent_arms": {"min_elbow_angle_deg": "a lot"}}, "must be a number"),
        ({"bent_arms": 3}, "table of name"),
        # every rep was flagged with a negative back-rounding limit (the unit's span: at least 0)
        (
            {"rounded_back": {"max_flexion_rel": -1}},
            r"rounded_back\.max_flexion_rel=-1 is out of range.*at least 0",
        ),
        ({"rounded_back": {"min_mask_confidence": 1.5}}, r"from 0 to 1"),  # the rule's own range
        ({"excessive_torso_lean": {"max_lean_deg": 400}}, r"from -180 to 180"),
        ({"excessive_torso_lean": {"max_lean_deg": -math.inf}}, r"inf switches the limit off"),
    ],
)
def test_bad_threshold_overrides_fail_loudly(pm, overrides, error):
    with pytest.raises(RuleConfigError, match=error) as info:
        run(pm, make_rep(1), thresholds=overrides)
    assert info.value.exit_code == 4


def test_every_default_and_preset_is_within_its_declared_range(pm):
    """The ranges --threshold is checked against admit every value the rules ship, and the "off"
    infinities of their limits."""
    from formcheck_core.rules.thresholds import check_threshold, threshold_range

    rules, _ = collect_rules(pm)
    checked = 0
    for lr in rules.values():
        for values in (lr.rule.thresholds, *lr.rule.presets.values()):
            for name, value in values.items():
                assert check_threshold(lr.rule, name, value) == value
                checked += threshold_range(lr.rule, name) is not None
    assert checked >= len(rules)  # every rule has at least one checked threshold
    back = rules["rounded_back"].rule
    assert check_threshold(back, "max_flexion_rel", math.inf) == math.inf


def test_unknown_preset_and_bad_options(pm, tmp_path):
    rules, _ = collect_rules(pm)
    with pytest.raises(RuleConfigError, match=r"unknown threshold preset 'strict'.*calibrated, seed"):
        resolve_thresholds(rules, preset="strict")
    assert parse_threshold_option("bar_drift.max_drift_px=inf") == ("bar_drift", "max_drift_px", math.inf)
    for bad in ("bar_drift=3", "bar_drift.max_drift_px", "bar_drift.max_drift_px=wide", ".x=1"):
        with pytest.raises(RuleConfigError, match=r"RULE\.NAME=NUMBER"):
            parse_threshold_option(bad)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[thresholds.bent_arms\n")
    with pytest.raises(RuleConfigError, match="not valid TOML"):
        load_threshold_config(bad_toml)
    with pytest.raises(RuleConfigError, match="does not exist"):
        load_threshold_config(tmp_path / "missing.toml")
    extra = tmp_path / "extra.toml"
    extra.write_text("[bent_arms]\nmin_elbow_angle_deg = 1\n")
    with pytest.raises(RuleConfigError, match="unknown keys"):
        load_threshold_config(extra)


# ---------------------------------------------------------------- fault isolation


def _rule(rule_id, check, **kw):
    base = dict(
        description=f"test rule {rule_id}",
        metrics=("torso_lean_liftoff_deg",),
        thresholds={"limit_deg": 1.0},
        cue="cue",
    )
    return Rule(id=rule_id, check=check, **{**base, **kw})


def _raises(ctx):
    raise ZeroDivisionError("boom in rule")


def _fine_then_raises(ctx):
    if ctx.rep.number == 2:
        raise KeyError("second rep")
    return ctx.compare("torso_lean_liftoff_deg", "limit_deg")


def _sleeps(ctx):
    time.sleep(30)  # far beyond the 0.3 s timeout: only a cut-off reports it as "too slow"


BROKEN = [
    ("raises", _raises, "ZeroDivisionError: boom in rule"),
    ("raises_later", _fine_then_raises, "rep 2: KeyError"),
    ("returns_string", lambda ctx: "looks bad", "returned str"),
    ("returns_dict_list", lambda ctx: [{"status": "fault"}], "returned a dict"),
    (
        "wrong_rule_id",
        lambda ctx: Finding("other", ctx.rep.number, "fault", "major", "x", value=1.0),
        "rule_id 'other'",
    ),
    ("nan_value", lambda ctx: ctx.fault(math.nan, 1.0), "not a finite number"),
    ("bad_status", lambda ctx: Finding("bad_status", ctx.rep.number, "meh", "minor", "x"), "status 'meh'"),
    ("bad_template", lambda ctx: ctx.fault(2.0, 1.0, message=None), "KeyError"),
    ("too_slow", _sleeps, "too slow"),
]


@pytest.mark.parametrize("rule_id, check, error", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rule_is_reported_and_skipped_others_complete(pm, rule_id, check, error):
    kw = {"cue": "{missing_field}"} if rule_id == "bad_template" else {}
    # A short budget only where the budget is what is tested; the others fail on their own, and a
    # short budget would race their child's start-up and answer on a loaded machine.
    broken = _rule(rule_id, check, **({"timeout_s": 0.3} if check is _sleeps else {}), **kw)
    name = register_rule(broken, manager=pm)
    steep = {"torso_lean_liftoff_deg": 80.0, "back_flexion_rel": math.nan}  # back unmeasured: lean counts
    a = run(pm, make_rep(1, **steep), make_rep(2, start=50, **steep))
    # too_slow: reported "too slow" only if its 30 s sleep was cut off (and then skipped on rep 2)
    assert [(e.rule_id, e.plugin) for e in a.rule_errors] == [(rule_id, name)]
    assert error in a.rule_errors[0].error
    assert not any(f.rule_id == rule_id for f in a.findings)  # skipped entirely
    # The built-ins still ran on both reps and decided the verdicts.
    assert status(a, "excessive_torso_lean", rep=2).is_fault
    assert [v.label for v in a.verdicts] == ["needs work", "needs work", "needs work"]


def test_a_slow_rule_is_skipped_after_its_first_timeout(pm, tmp_path):
    log = tmp_path / "calls.txt"  # a run-time rule runs in a child process: it leaves a trace in a file

    def slow(ctx):
        with log.open("a") as f:
            f.write(f"{ctx.rep.number}\n")
        time.sleep(1.0)

    register_rule(_rule("slowpoke", slow, timeout_s=0.1), manager=pm)
    a = run(pm, *(make_rep(i, start=50 * i) for i in range(1, 6)))
    calls = [int(x) for x in log.read_text().split()]
    assert calls == [1] and len(a.rule_errors) == 1 and "too slow" in a.rule_errors[0].error


def test_global_timeout_from_the_environment(pm, monkeypatch):
    monkeypatch.setenv("FORMCHECK_RULE_TIMEOUT_S", "0.2")
    register_rule(_rule("sleepy", _sleeps), manager=pm)
    a = run(pm, make_rep(1))
    assert [e.rule_id for e in a.rule_errors] == ["sleepy"] and "0.2 s" in a.rule_errors[0].error
    monkeypatch.setenv("FORMCHECK_RULE_TIMEOUT_S", "soon")
    with pytest.raises(RuleConfigError, match="FORMCHECK_RULE_TIMEOUT_S"):
        run(pm, make_rep(1))


def test_broken_register_hook_and_duplicate_ids_are_reported(pm):
    from formcheck_core.hookspecs import hookimpl

    class Exploding:
        @hookimpl
        def register_rules(self, register):
            raise RuntimeError("cannot build my rules")

    class Duplicate:
        @hookimpl
        def register_rules(self, register):
            register(_rule("bent_arms", _raises))

    class NotARule:
        @hookimpl
        def register_rules(self, register):
            register({"id": "dict_rule"})

    pm.register(Exploding(), name="exploding")
    pm.register(Duplicate(), name="duplicate")
    pm.register(NotARule(), name="not_a_rule")
    a = run(pm, make_rep(1, min_elbow_angle_pull_deg=100.0))
    errors = {e.plugin: e for e in a.rule_errors}
    assert "cannot build my rules" in errors["exploding"].error
    assert (
        errors["duplicate"].rule_id == "bent_arms"
        and "formcheck_rules.bent_arms" in errors["duplicate"].error
    )
    assert "expects a formcheck Rule" in errors["not_a_rule"].error
    assert status(a, "bent_arms").is_fault  # the built-in kept its id


def test_misspelled_hook_fails_loudly(pm):
    from formcheck_core.hookspecs import hookimpl

    class Typo:
        @hookimpl
        def register_rule(self, register):  # missing "s"
            pass

    pm.register(Typo(), name="typo")
    with pytest.raises(PluginError, match="register_rule") as info:
        run(pm, make_rep(1))
    assert info.value.exit_code == 4


# ---------------------------------------------------------------- where a finding is placed

# make_rep: moments setup/liftoff/knee_pass/lockout at samples 0/10/20/30; frame = 3 x sample, 10 fps.
# Within NEAR_MOMENT_S (2 samples) of the nearest moment the message says "just after ..."; farther,
# how far ("0.3 s after lift-off"), as the finding's tag does (vocabulary.moment_tag).
PLACED = [
    # rule id, metric overrides that fire it, metric sample, nearest moment, phrase in the message
    ("bent_arms", {"min_elbow_angle_pull_deg": 90.0}, 12, "liftoff", "just after the bar leaves the floor"),
    # farther than NEAR_MOMENT_S (0.2 s) from the nearest moment: how far, and which way
    ("bent_arms", {"min_elbow_angle_pull_deg": 90.0}, 13, "liftoff", "0.3 s after lift-off"),
    ("bent_arms", {"min_elbow_angle_pull_deg": 90.0}, 28, "lockout", "just before lockout"),
    ("heel_lift", {"heel_rise_rel": 0.2}, 20, "knee_pass", MOMENT_PHRASES["knee_pass"]),
    ("bar_drift", {"max_bar_drift_rel": 0.3}, 18, "knee_pass", "just before the bar reaches your knees"),
    ("incomplete_lockout", {"hip_angle_lockout_deg": 140.0}, 32, "lockout", "at lockout"),
    ("incomplete_lockout", {"hip_angle_lockout_deg": 140.0}, 33, "lockout", "0.3 s after lockout"),
    ("hips_rise_first", {"hip_rise_lead_rel": 0.3}, 11, "liftoff", "just after the bar leaves the floor"),
]


@pytest.mark.parametrize("rule_id, metrics, sample, moment, phrase", PLACED)
def test_finding_is_placed_where_its_metric_was_measured(pm, rule_id, metrics, sample, moment, phrase):
    rule = collect_rules(pm)[0][rule_id].rule
    rep = replace(make_rep(1, **metrics), metric_samples={name: sample for name in rule.metrics})
    a = run(pm, rep)
    f = status(a, rule_id)
    assert f.is_fault
    assert (f.frame_index, f.time_s) == (3 * sample, pytest.approx(sample / 10))
    assert f.moment == moment, "named after the nearest key moment"
    assert phrase in f.message, f.message
    # A rule whose metric has no recorded sample stays at its key moment.
    lean = status(a, "excessive_torso_lean")
    assert (lean.moment, lean.frame_index) == ("liftoff", rep.moments["liftoff"].frame_index)


def test_placement_falls_back_to_the_moment_without_a_body_or_a_valid_sample():
    rep = replace(make_rep(1, min_elbow_angle_pull_deg=90.0), metric_samples={"min_elbow_angle_pull_deg": 13})
    rule = bent_arms.RULE
    body = make_analysis((rep,)).body
    base = {"rule": rule, "thresholds": dict(rule.thresholds), "lift": "deadlift"}
    placed = rule.check(RuleContext(rep=rep, body=body, **base))
    assert placed.frame_index == 39 and placed.moment == "liftoff"
    for ctx in (
        RuleContext(rep=rep, body=None, **base),
        RuleContext(rep=replace(rep, metric_samples={"min_elbow_angle_pull_deg": 999}), body=body, **base),
        RuleContext(rep=replace(rep, metric_samples={}), body=body, **base),
    ):
        f = rule.check(ctx)
        knee = rep.moments["knee_pass"]
        assert (f.moment, f.frame_index, f.time_s) == ("knee_pass", knee.frame_index, knee.time_s)
        assert MOMENT_PHRASES["knee_pass"] in f.message


def test_explicit_sample_wins_and_not_measurable_is_not_placed(pm):
    @rule(id="custom", metrics=["hip_rise_lead_rel"], thresholds={"max_rel": 0.05}, cue="{measured} {at}.")
    def custom(ctx):
        """Place a finding at a sample the rule computed itself."""
        return [
            ctx.compare("hip_rise_lead_rel", "max_rel", sample=25),
            ctx.not_measurable("nothing here", metric="hip_rise_lead_rel", moment="setup"),
        ]

    register_rule(custom, manager=pm)
    rep = replace(make_rep(1, hip_rise_lead_rel=0.3), metric_samples={"hip_rise_lead_rel": 12})
    found = [f for f in run(pm, rep).findings if f.rule_id == "custom"]
    fault, unmeasured = sorted(found, key=lambda f: f.status)
    assert (fault.status, fault.frame_index, fault.moment) == ("fault", 75, "knee_pass")
    assert fault.cue == "0.30 body lengths 0.5 s after knee pass."
    assert (unmeasured.status, unmeasured.moment, unmeasured.frame_index) == ("not_measurable", "setup", 0)


def test_nearest_moment_and_phase_phrase():
    rep = make_rep(1)  # moments at samples 0, 10, 20, 30
    assert nearest_moment(rep, 14).name == "liftoff"
    assert nearest_moment(rep, 15).name == "liftoff", "a tie goes to the earlier moment"
    assert nearest_moment(rep, 15, prefer="knee_pass").name == "knee_pass"
    assert nearest_moment(replace(rep, moments={}), 15) is None
    assert phase_phrase(rep, 10) == MOMENT_PHRASES["liftoff"]
    assert phase_phrase(rep, 15, prefer="knee_pass") == "just before the bar reaches your knees"
    assert phase_phrase(rep, 34) == "at lockout", "lockout values come from the half second after it"
    assert phase_phrase(rep, 2) == "as you start the pull"
    assert phase_phrase(replace(rep, moments={}), 5) == "during the rep"
    # with the sample's time: near a moment (NEAR_MOMENT_S) the phrase as above, farther how far
    assert phase_phrase(rep, 12, time_s=1.2) == "just after the bar leaves the floor"
    assert phase_phrase(rep, 34, time_s=3.4) == "0.4 s after lockout"
    assert phase_phrase(rep, 25, prefer="lockout", time_s=2.5) == "0.5 s before lockout"


def test_moment_tag_says_near_within_near_moment_s_and_how_far_beyond():
    from formcheck_core.biomech.body import Moment
    from formcheck_core.vocabulary import NEAR_MOMENT_S, moment_offset_s, moment_tag, offset_from

    def own(name: str, frame: int, t: float) -> Moment:
        return Moment(name, frame, frame, t)

    lockout, liftoff = own("lockout", 57, 1.9), own("liftoff", 57, 1.9)
    assert NEAR_MOMENT_S == 0.2
    assert moment_tag("lockout", 57, lockout, time_s=1.9, at="at ") == "at lockout"
    assert moment_tag("lockout", None, lockout) == "lockout"
    assert moment_tag("lockout", 39, None, time_s=1.3, at="at ") == "at lockout", "moment unknown"
    assert moment_tag("liftoff", 54, liftoff, time_s=1.8) == "near lift-off"
    assert moment_tag("liftoff", 51, liftoff, time_s=1.7) == "near lift-off"
    assert moment_tag("lockout", 39, lockout, time_s=1.3) == "0.6 s before lockout"
    assert moment_tag("knee_pass", 60, own("knee_pass", 36, 1.2), time_s=2.0) == "0.8 s after knee pass"
    assert moment_tag("setup", 3, own("setup", 9, 0.9)) == "near setup", "frames differ, times unknown"
    assert moment_offset_s(39, 1.3, 57, 1.9) == -0.6 and moment_offset_s(57, 1.9, 57, 1.9) is None
    assert offset_from(lockout, 39, 1.3) == -0.6 and offset_from(None, 39, 1.3) is None


def test_the_missing_moment_words_come_from_one_test():
    """A reading placed nowhere on a pull that lacks its moment: the tag names no moment and the
    message's {at} says "in this pull", both from ``vocabulary.lacks_moment``; a rule's own
    message and the default not-measurable template read the same way."""
    from formcheck_core.vocabulary import (
        MISSING_MOMENT_PHRASE,
        MOMENT_PHRASES,
        lacks_moment,
        moment_phrase,
        moment_tag,
    )

    rep = make_rep(1)
    assert (
        lacks_moment(None, None)
        and not lacks_moment(3, None)
        and not lacks_moment(None, rep.moments["liftoff"])
    )
    assert (
        moment_tag("liftoff", None, None) == ""
        and moment_phrase("liftoff", None, None) == MISSING_MOMENT_PHRASE
    )
    m = rep.moments["liftoff"]
    assert moment_phrase("liftoff", m.frame_index, m) == MOMENT_PHRASES["liftoff"]
    assert moment_phrase(None, None, None) == "during the rep"
    # the rule context: a lift-off metric on a pull without its lift-off
    mid = replace(rep, moments={k: v for k, v in rep.moments.items() if k != "liftoff"}, metrics={})
    rule = _rule("lean_rule", lambda ctx: None, moment="liftoff")
    f = RuleContext(rule, mid, {"limit_deg": 1.0}, "deadlift").compare("torso_lean_liftoff_deg", "limit_deg")
    assert f.status == "not_measurable" and f.frame_index is None
    assert f.message.startswith(f"Torso lean at lift-off could not be measured {MISSING_MOMENT_PHRASE}: "), (
        f.message
    )
    assert MOMENT_PHRASES["liftoff"] not in f.message
    # a label that names the moment is not followed by that moment's phrase; another place is said
    ctx = RuleContext(rule, rep, {"limit_deg": 100.0}, "deadlift")
    ok = ctx.compare("torso_lean_liftoff_deg", "limit_deg")
    assert (
        ok.status == "ok"
        and ok.message.startswith("Torso lean at lift-off: ")
        and "(limit 100°)." in ok.message
    )
    assert MOMENT_PHRASES["liftoff"] not in ok.message
    assert (
        MOMENT_PHRASES["knee_pass"]
        in ctx.ok(1.0, 2.0, metric="hip_rise_lead_rel", moment="knee_pass").message
    )
    # read off the moment its label names: where it was read ("0.3 s after lockout")
    late = replace(make_rep(1), metric_samples={"hip_angle_lockout_deg": 33})  # lockout: sample 30
    body = make_analysis((late,)).body
    lock_rule = _rule("lock_rule", lambda ctx: None, metrics=("hip_angle_lockout_deg",), moment="lockout")
    ctx = RuleContext(lock_rule, late, {"limit_deg": 150.0}, "deadlift", body=body)
    msg = ctx.compare("hip_angle_lockout_deg", "limit_deg", fault_if="below").message
    assert (
        msg.startswith("Hip angle held at lockout: ") and ", read 0.3 s after lockout (limit 150°)." in msg
    ), msg


@cache
def _analysed(path):
    from formcheck_core.analysis import analyze

    return analyze(path, progress=False, thresholds=all_rules_on())


def _value_at(a, f, i):
    """The finding's quantity recomputed from the series at sample ``i`` (the finding's frame)."""
    s, rep = a.body.smoothed, next(r for r in (*a.reps, *a.partial_pulls) if r.number == f.rep)
    lift = rep.moments["liftoff"].sample
    if f.rule_id == "bent_arms":
        return s["elbow_angle_deg"][i]
    if f.rule_id == "incomplete_lockout":
        return s["hip_angle_deg"][i]
    if f.rule_id == "bar_drift":
        drift_px = abs(s["bar_x_px"][i] - s["bar_x_px"][lift])
        return drift_px / a.body.body_length_px if f.metric == "max_bar_drift_rel" else drift_px
    if f.rule_id == "heel_lift":
        tilt = s["toe_y_px"] - s["heel_y_px"]
        return max(0.0, tilt[i] - tilt[rep.moments["setup"].sample]) / a.body.body_length_px
    raise AssertionError(f.rule_id)


@pytest.mark.parametrize("stem", ["posereader_arm_bend", "reel_good_14", "gym1080_bad_02"])
def test_real_clip_findings_sit_at_the_frame_that_shows_their_value(dev_clip, stem):
    """The frame a finding reports is where the series has the finding's value (what a still shows)."""
    a = _analysed(dev_clip(stem))
    assert (a.reps or a.partial_pulls) and a.view.view == "side"
    checked = []
    for f in a.findings:
        if f.rule_id not in ("bent_arms", "incomplete_lockout", "bar_drift", "heel_lift") or f.value is None:
            continue
        (i,) = np.flatnonzero(a.body.frame_index == f.frame_index)
        assert a.body.time_s[i] == pytest.approx(f.time_s)
        tol = 0.5 if f.unit == "deg" else 1e-6
        assert _value_at(a, f, i) == pytest.approx(f.value, abs=tol), (f.rule_id, f.frame_index)
        checked.append(f.rule_id)
    if not a.reps:  # posereader_arm_bend: one partial pull, judged by the rules that judge partial pulls
        assert sorted(checked) == ["bent_arms", "incomplete_lockout"]
    else:
        assert len(checked) >= 4


def test_real_bent_arms_fault_is_reported_at_the_bend_not_at_knee_pass(dev_clip):
    """posereader_arm_bend: the elbows bend late in the pull; knee pass shows nearly straight arms.
    The pull never reaches lockout (the torso stays bent over): it is judged as a partial pull."""
    a = _analysed(dev_clip("posereader_arm_bend"))
    f = next(f for f in a.findings if f.rule_id == "bent_arms")
    assert not a.reps and [p.number for p in a.partial_pulls] == [f.rep]
    rep = a.partial_pulls[0]
    assert rep.partial_reason.startswith("never reached lockout") and "lockout" not in rep.moments
    assert f.is_fault and f.value < bent_arms.MIN_ELBOW_ANGLE_DEG
    elbow = a.body.smoothed["elbow_angle_deg"]
    knee = rep.moments["knee_pass"]
    assert abs(elbow[knee.sample] - f.value) > 20, "the old placement showed another angle"
    i = rep.metric_samples["min_elbow_angle_pull_deg"]
    assert (f.frame_index, f.time_s) == (int(a.body.frame_index[i]), pytest.approx(a.body.time_s[i]))
    assert rep.moments["liftoff"].sample < i <= rep.end_sample
    assert f.moment == nearest_moment(rep, i).name
    lock = next(f for f in a.findings if f.rule_id == "incomplete_lockout")
    assert (lock.rep, lock.is_fault, lock.metric) == (rep.number, True, "hip_angle_top_deg")
    assert lock.value == rep.metrics["hip_angle_top_deg"] < lock.threshold


# ---------------------------------------------------------------- plugin metrics


def test_plugin_metric_feeds_a_rule_and_a_failing_metric_is_isolated(pm):
    from formcheck_core.hookspecs import hookimpl

    class Tempo:
        @hookimpl
        def register_metrics(self, register):
            register(
                "double_duration_s",
                "Twice the rep duration.",
                lambda body, rep, view: 2 * rep.metrics["rep_duration_s"],
            )
            register("broken_rel", "Always fails.", lambda body, rep, view: 1 / 0)

    pm.register(Tempo(), name="tempo")
    register_rule(
        Rule(
            id="slow",
            check=lambda ctx: ctx.compare("double_duration_s", "max_s"),
            description="slow",
            metrics=("double_duration_s",),
            thresholds={"max_s": 3.0},
            cue="Faster: {measured}.",
        ),
        manager=pm,
    )
    a = run(pm, make_rep(1, rep_duration_s=1.0), make_rep(2, start=50, rep_duration_s=2.0))
    assert [r.metrics["double_duration_s"] for r in a.reps] == [2.0, 4.0]
    assert all(math.isnan(r.metrics["broken_rel"]) for r in a.reps)
    assert [(e.rule_id, e.plugin) for e in a.rule_errors] == [("metric:broken_rel", "tempo")]
    assert [status(a, "slow", rep=n).status for n in (1, 2)] == ["ok", "fault"]


# ---------------------------------------------------------------- verdicts


def _f(rep, severity, value=2.0, threshold=1.0, status="fault", rule_id="r"):
    return Finding(rule_id, rep, status, severity, "m", value=value, threshold=threshold)


def test_verdicts_follow_severity_and_measurability():
    reps = [make_rep(n, start=50 * n) for n in (1, 2, 3, 4)]
    findings = [
        _f(1, "minor"),  # only a minor fault: clean, but it is the top finding
        _f(2, "moderate", 1.5),
        _f(2, "major", 1.1, rule_id="worse"),  # the major one is on top
        Finding("r", 3, "not_measurable", "info", "front view"),  # nothing measured: unclear
        _f(4, "info", status="ok"),
    ]
    v = {x.rep: x for x in verdicts(findings, reps)}
    assert (v[1].label, v[1].top_finding.severity) == ("clean", "minor")
    assert (v[2].label, v[2].top_finding.rule_id) == ("needs work", "worse")
    assert (v[3].label, v[3].top_finding) == ("unclear", None)
    assert (v[4].label, v[4].top_finding) == ("clean", None)
    assert (v[None].label, v[None].top_finding.rule_id) == ("needs work", "worse")


# ---------------------------------------------------------------- on a real clip


def test_real_clip_analysis_completes_around_a_broken_rule(dev_clip):
    from formcheck_core.analysis import analyze
    from formcheck_core.plugins import temporary_rule

    clip = dev_clip("kettlebell_correct_side")
    with temporary_rule(_rule("explodes", _raises)):
        a = analyze(clip, progress=False, thresholds=all_rules_on())
    assert a.ok, a.warnings
    assert [(e.rule_id, e.plugin) for e in a.rule_errors] == [("explodes", "runtime:explodes")]
    assert "ZeroDivisionError" in a.rule_errors[0].error
    measured = {f.rule_id for f in a.findings if f.status in ("fault", "ok")}
    assert {"excessive_torso_lean", "bar_drift"} <= measured
    assert {v.rep for v in a.verdicts} == {r.number for r in a.reps} | {None}
    assert a.options["thresholds"]["excessive_torso_lean"] == excessive_torso_lean.RULE.thresholds
    # Without the broken rule the findings are the same: isolation changed nothing else.
    b = analyze(clip, progress=False, thresholds=all_rules_on())
    assert b.rule_errors == () and b.findings == a.findings


def test_rules_off_by_default_are_silent_until_switched_on(pm):
    rep = make_rep(1, max_bar_drift_rel=0.5)
    off = apply_rules(make_analysis((rep,)), None, plugin_manager=pm)
    assert not [f for f in off.findings if f.rule_id == "bar_drift"]
    on = apply_rules(make_analysis((rep,)), {"bar_drift": {"enabled": 1}}, plugin_manager=pm)
    assert status(on, "bar_drift").is_fault
    every = apply_rules(make_analysis((rep,)), threshold_settings(preset="all", pm=pm), plugin_manager=pm)
    assert status(every, "bar_drift").is_fault
    rules, _ = collect_rules(pm)
    assert {rid for rid, lr in rules.items() if lr.rule.thresholds.get("enabled", 1) == 0} >= {"bar_drift"}


def test_one_borderline_rep_does_not_make_a_set_need_work():
    reps = [make_rep(n, start=50 * n) for n in (1, 2, 3)]
    ok = [_f(n, "info", 0.5, status="ok") for n in (1, 2, 3)]
    borderline = _f(2, "moderate", 1.02)  # 2 % past its limit
    v = {x.rep: x for x in verdicts([*ok, borderline], reps)}
    assert v[2].label == "needs work" and (v[None].label, v[None].top_finding) == ("clean", borderline)
    # Clearly past the limit, major, on two reps, or in a short set: the set needs work.
    for extra in ([_f(2, "moderate", 1.2)], [_f(2, "major", 1.02)], [borderline, _f(3, "moderate", 1.02)]):
        assert {x.rep: x for x in verdicts([*ok, *extra], reps)}[None].label == "needs work"
    assert {x.rep: x for x in verdicts([*ok[:2], borderline], reps[:2])}[None].label == "needs work"


def test_fixed_thresholds_must_name_thresholds_of_the_rule():
    """``Rule.fixed`` names the thresholds set by a definition or a source (not calibrated on dev)."""
    from formcheck_core.rules import Rule

    def rule(fixed):
        return Rule(
            id="x_rule",
            check=lambda ctx: None,
            description="d",
            metrics=(),
            thresholds={"a_deg": 1.0},
            cue="c",
            fixed=fixed,
        )

    assert rule(["a_deg"]).fixed == ("a_deg",)
    for fixed, message in ((("b",), "unknown thresholds"), ("a_deg", "not a string")):
        with pytest.raises(ValueError, match=message):
            rule(fixed)


def test_the_verdict_test_can_be_swapped_to_measure_what_confidence_and_severity_change():
    """``verdicts(counts=...)``: by default a low-confidence fault (a warning) and a minor one (a
    note) do not make a rep "needs work"; counting every fault (the evaluation's ablation) does."""
    reps = [make_rep(1)]
    warning = replace(_f(1, "moderate", 1.5), confidence=0.2)
    note = _f(1, "minor", 1.5)
    for f in (warning, note):
        assert verdicts([f], reps)[-1].label == "clean"
        assert verdicts([f], reps, counts=lambda x: x.is_fault)[-1].label == "needs work"
    # the default test is serious_fault (severity) without the low-confidence warnings
    from formcheck_core.rules.verdicts import counts_as_fault, serious_fault

    assert serious_fault(warning) and not counts_as_fault(warning)
    assert not serious_fault(note) and not counts_as_fault(note)
    assert verdicts([warning], reps, counts=serious_fault)[-1].label == "needs work"


def test_a_reading_on_a_pull_without_moments_is_not_placed_at_one():
    """A reading with its own sample on a pull that has no key moment at all reads "during the
    rep", not the phrase of the rule's moment ("as the bar leaves the floor")."""
    rep = make_rep(1)
    bare = replace(
        rep,
        moments={},
        complete=False,
        partial_reason="cut by the clip: it starts mid-pull",
        metric_samples={"torso_lean_liftoff_deg": 15},
    )
    rule = Rule(
        id="lean_rule",
        check=lambda ctx: None,
        description="d",
        metrics=("torso_lean_liftoff_deg",),
        thresholds={"limit_deg": 1.0},
        cue="Lean less {at}",
        moment="liftoff",
    )
    ctx = RuleContext(rule, bare, {"limit_deg": 1.0}, "deadlift", body=make_analysis((bare,)).body)
    finding = ctx.compare("torso_lean_liftoff_deg", "limit_deg")
    assert finding.cue == "Lean less during the rep", finding.cue
