"""The shared vocabulary: units from names, one value format everywhere, limits never hide the side."""

from __future__ import annotations

import math
import random

import pytest
from rule_fixtures import make_analysis, make_rep

from formcheck_core.plugins import new_plugin_manager
from formcheck_core.render.stills import finding_line
from formcheck_core.rules import apply_rules
from formcheck_core.vocabulary import (
    MOMENT_LABEL,
    MOMENT_NAMES,
    MOMENT_PHRASES,
    SEVERITIES,
    STATUSES,
    UNITS,
    format_limit,
    format_value,
    unit_of,
)


def test_units_come_from_name_suffixes():
    assert [
        unit_of(n) for n in ("torso_lean_liftoff_deg", "max_bar_drift_rel", "x_px", "y_cm", "rep_duration_s")
    ] == [
        "deg",
        "body_lengths",
        "px",
        "cm",
        "s",
    ]
    assert unit_of("lockout_reached") == ""
    assert {u.suffix for u in UNITS.values()} - {""} == {"_deg", "_rel", "_px", "_cm", "_s"}
    assert format_value(0.031, "torso_lengths", limit=0.028) == "3.1% of torso length"
    assert format_value(0.0283, "torso_lengths", limit=0.028) == "2.83% of torso length"
    assert format_limit(0.028, "torso_lengths") == "2.8% of torso length"


def test_metric_labels_name_moments_in_words():
    from formcheck_core.metric_labels import metric_label
    from formcheck_core.vocabulary import metric_name_in_words

    assert metric_name_in_words("torso_lean_liftoff_deg") == "Torso lean at lift-off"
    assert metric_label("torso_lean_liftoff_deg") == "Torso lean at lift-off"
    assert metric_label("plugin_depth_setup_deg") == "Plugin depth at setup"
    assert metric_label("plugin_thing_knee_pass_deg") == "Plugin thing at knee pass"
    assert metric_label("rep_duration_s") == "Rep duration"
    # a plugin metric's label, as the analysis recorded it from the plugin's spec
    plugin = {"plugin_depth_setup_deg": {"plugin": "p", "description": "d", "label": "Squat depth"}}
    assert metric_label("plugin_depth_setup_deg", plugin) == "Squat depth"
    # a built-in metric is named by its own spec, whatever a plugin says
    assert metric_label("hip_angle_liftoff_deg", {"hip_angle_liftoff_deg": {"label": "x"}}) == (
        "Deepest hip angle near lift-off"
    )


#: Run in a fresh interpreter that imports only the consumer module named by argv[1]: the label of
#: hip_angle_liftoff_deg (its spec declares one) as that consumer shows it, and which metric
#: modules were imported before the label was asked for.
_FRESH_CONSUMER = """
import sys, importlib
consumer = importlib.import_module(sys.argv[1])
from formcheck_core.findings import Finding
if sys.argv[1] == "formcheck_core.coach":
    f = Finding("knee_angle_bottom", 1, "ok", "info", "m", value=100.0, threshold=90.0, unit="deg",
                metric="hip_angle_liftoff_deg", title="T")
    print(consumer.cues_from_findings([f])[0].text)
elif sys.argv[1] == "formcheck_core.render.summary":
    print(consumer.summary_label("hip_angle_liftoff_deg"))
else:
    print(consumer.metric_label("hip_angle_liftoff_deg"))
"""


@pytest.mark.parametrize(
    "consumer",
    [
        "formcheck_core.coach",
        "formcheck_core.rules.context",
        "formcheck_core.render.summary",
        "formcheck_core.readings",
    ],
)
def test_a_metric_label_does_not_depend_on_import_order(consumer, tmp_path):
    """A process that imports only one consumer of metric labels (no analysis, no plugins, no
    metric module imported first) names hip_angle_liftoff_deg by its spec's label, "Deepest hip
    angle near lift-off", never by its name in words ("Hip angle at lift-off")."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run(
        [sys.executable, "-c", _FRESH_CONSUMER, consumer],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert "deepest hip angle near lift-off" in out.lower(), out
    assert "hip angle at lift-off" not in out.lower(), out


def test_every_moment_has_a_label_and_a_phrase():
    assert set(MOMENT_NAMES) == set(MOMENT_LABEL) == set(MOMENT_PHRASES)
    assert STATUSES == ("fault", "ok", "not_measurable") and SEVERITIES[0] == "info"


@pytest.mark.parametrize(
    "value, unit, limit, shown",
    [
        (0.104, "body_lengths", 0.10, "0.104 body lengths"),  # not "0.10": that reads as at the limit
        (0.12, "body_lengths", 0.10, "0.12 body lengths"),
        (62.4, "deg", 62.0, "62.4°"),
        (68.0, "deg", 62.0, "68°"),
        (3.14, "cm", None, "3.1 cm"),
        (64.2, "px", None, "64 px"),
        (1.84, "s", None, "1.8 s"),
        (-0.2, "deg", None, "0°"),
        (1.0, "", None, "1"),
        (float("nan"), "deg", None, "n/a"),
        (None, "deg", None, "n/a"),
        (math.inf, "deg", None, "off"),
        (0.10, "body_lengths", 0.10, "0.10 body lengths"),
    ],
)
def test_format_value(value, unit, limit, shown):
    assert format_value(value, unit, limit=limit) == shown


def test_limits_show_the_digits_they_have():
    assert format_limit(62.5, "deg") == "62.5°"
    assert format_limit(0.1, "body_lengths") == "0.10 body lengths"
    assert format_limit(math.inf, "deg") == "off"


@pytest.mark.parametrize("unit", ["deg", "body_lengths", "px", "cm", "s", ""])
def test_shown_value_is_on_the_same_side_of_the_limit(unit):
    """Rounded for people, a value never reads as equal to or on the wrong side of its limit."""
    rng = random.Random(7)
    scale = {"deg": 60, "body_lengths": 0.1, "px": 40, "cm": 5, "s": 2, "": 1}[unit]
    for _ in range(500):
        limit = round(rng.uniform(0.5, 1.5) * scale, 3)
        value = limit + rng.choice([-1, 1]) * rng.uniform(1e-3, 0.05) * scale
        shown = float(format_value(value, unit, limit=limit).split()[0].rstrip("°"))
        at_limit = float(format_limit(limit, unit).split()[0].rstrip("°"))
        assert (shown > at_limit) == (value > limit) and shown != at_limit, (value, limit, unit)


def test_message_cue_and_still_read_the_same_number():
    """One format: the rule's message, its cue and the still's caption show the same digits."""
    rep = make_rep(max_bar_drift_rel=0.1204)  # the limit is 0.12
    on = {"bar_drift": {"enabled": 1.0}}  # off by default
    analysis = apply_rules(make_analysis((rep,)), on, plugin_manager=new_plugin_manager())
    (f,) = [f for f in analysis.findings if f.rule_id == "bar_drift"]
    shown = format_value(f.value, f.unit, limit=f.threshold)
    assert f.is_fault and shown.startswith("0.1204")
    assert shown in f.message and shown in f.cue and shown in finding_line(f)


def test_every_key_moment_has_its_words_in_order():
    from formcheck_core.vocabulary import MOMENT_NAMES, MOMENT_PHRASES, MOMENT_WORDS

    assert tuple(MOMENT_WORDS) == MOMENT_NAMES
    assert MOMENT_PHRASES["liftoff"] == MOMENT_WORDS["liftoff"].phrase == "as the bar leaves the floor"


def test_every_verdict_role_and_clip_status_has_its_words():
    from formcheck_core.vocabulary import CLIP_STATUS_WORDS, CLIP_STATUSES, ROLE_WORDS, VERDICT_ROLES

    assert tuple(ROLE_WORDS) == VERDICT_ROLES  # one entry each, in the roles' order
    assert tuple(CLIP_STATUS_WORDS) == CLIP_STATUSES
    assert len({w.mark for w in ROLE_WORDS.values()}) == len(ROLE_WORDS)  # marks tell roles apart


def test_every_view_names_a_metric_by_its_specs_label():
    """One source: the label a spec declares (or its name in words) is what ``metric_label``
    returns for that name, so rule messages, cues, readings and the summary say the same words;
    "hip_angle_liftoff_deg" says what it is (the deepest bend near lift-off, which can be the
    set-up's frame), not "at lift-off"."""
    from formcheck_core.metric_labels import metric_label
    from formcheck_core.plugins import metric_specs
    from formcheck_core.render.summary import SUMMARY_METRICS, summary_label

    specs = metric_specs()
    for name, spec in specs.items():
        assert metric_label(name) == spec.label, name
    assert specs["hip_angle_liftoff_deg"].label == "Deepest hip angle near lift-off"
    for name, label in SUMMARY_METRICS:
        assert label == summary_label(name) and label.lower() == specs[name].label.lower()


def test_counted_says_one_in_the_singular():
    from formcheck_core.vocabulary import PARTIAL_PULL, counted

    assert [counted(n, "rep") for n in (0, 1, 2)] == ["0 reps", "1 rep", "2 reps"]
    assert counted(1, PARTIAL_PULL) == "1 partial pull"
