"""Adding a metric touches one place: the MetricSpec of docs/writing-rules.md, run as written.

Registered for one test through the ``register_metrics`` hook, the metric must reach
``analysis.json`` (with and without rules), the LLM's data block and glossary, and the stills: a
rule reading it puts a finding at the sample the metric was read at, whose caption shows the value
and whose still rings the spec's joint.
"""

from __future__ import annotations

import math
import re
import types
from pathlib import Path

import pytest

from formcheck_core.analysis import analyze
from formcheck_core.biomech.metric_spec import MetricSpec, RepInput
from formcheck_core.export import to_dict
from formcheck_core.llm.prompts import coaching_data, flagging_data, render_data_block, rounded
from formcheck_core.plugins import get_plugin_manager, metric_specs, temporary_rule
from formcheck_core.render.overlay import emphasis_for, joints_for_metric
from formcheck_core.render.stills import finding_line, plan_stills
from formcheck_core.rules import Rule
from formcheck_core.vocabulary import format_value

DOCS = Path(__file__).resolve().parent.parent / "docs" / "writing-rules.md"


def docs_metric_module() -> types.ModuleType:
    """The "Adding a metric" code block of the docs, executed as a plugin module."""
    text = DOCS.read_text()
    section = text[text.index("## Adding a metric") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = types.ModuleType("docs_knee_travel")
    exec(compile(code, str(DOCS), "exec"), module.__dict__)
    return module


@pytest.fixture
def knee_travel_plugin():
    module = docs_metric_module()
    pm = get_plugin_manager()
    pm.register(module, name="docs-knee-travel")
    try:
        yield module.KNEE_TRAVEL
    finally:
        pm.unregister(name="docs-knee-travel")
    assert "knee_travel_rel" not in metric_specs()


def test_the_docs_metric_is_a_spec():
    spec = docs_metric_module().KNEE_TRAVEL
    assert isinstance(spec, MetricSpec) and spec.unit == "body_lengths" and spec.joints == ("knee",)


def test_plugin_metric_reaches_json_prompt_and_stills(knee_travel_plugin, dev_clip, tmp_path):
    spec = knee_travel_plugin
    assert metric_specs()["knee_travel_rel"] is spec and joints_for_metric("knee_travel_rel") == ("knee",)
    clip = dev_clip("posereader_good")

    # Without rules: still measured (it used to be computed only inside the rules step).
    bare = analyze(clip, rules=False, progress=False)
    assert bare.reps and not bare.rule_errors
    for rep in bare.reps:
        value, sample = spec.read(RepInput(bare.body, rep, bare.view))
        assert rep.metrics["knee_travel_rel"] == value and math.isfinite(value)
        assert rep.metric_samples["knee_travel_rel"] == sample
        assert rep.moments["liftoff"].sample <= sample <= rep.moments["lockout"].sample
    doc = to_dict(bare, include_series=False)
    assert doc["metric_definitions"]["knee_travel_rel"] == spec.description
    assert doc["options"]["plugin_metrics"]["knee_travel_rel"]["plugin"] == "docs-knee-travel"
    assert doc["options"]["plugin_metrics"]["knee_travel_rel"]["label"] == spec.label  # its name for people
    assert [r["metrics"]["knee_travel_rel"] for r in doc["reps"]] == [
        r.metrics["knee_travel_rel"] for r in bare.reps
    ]

    # The LLM's data blocks carry the value at the unit's precision, and the glossary explains it.
    for data in (coaching_data(bare), flagging_data(bare)):
        assert [r["metrics"]["knee_travel_rel"] for r in data["reps"]] == [
            rounded(r.metrics["knee_travel_rel"], 3) for r in bare.reps
        ]
        assert spec.short in render_data_block(data)

    # A rule on it: the finding sits where the metric was read; the still shows and rings it.
    rule = Rule(
        id="knees_forward",
        check=lambda ctx: ctx.compare("knee_travel_rel", "max_travel_rel"),
        description="Knees drift forward during the pull.",
        metrics=("knee_travel_rel",),
        thresholds={"max_travel_rel": -1.0},  # below any travel: fires on every rep
        cue="Sit back: your knees travelled {measured} {at}.",
    )
    with temporary_rule(rule):
        analysis = analyze(clip, progress=False)
    found = [f for f in analysis.findings if f.rule_id == "knees_forward"]
    assert len(found) == len(analysis.reps) and all(f.is_fault for f in found)
    stills = plan_stills(analysis, tmp_path)
    for f, rep in zip(found, analysis.reps, strict=True):
        assert f.frame_index == int(analysis.body.frame_index[rep.metric_samples["knee_travel_rel"]])
        shown = format_value(f.value, f.unit, limit=f.threshold)
        assert shown in f.cue and shown in finding_line(f)
        (still,) = [s for s in stills if f in s.findings]
        assert emphasis_for(analysis, still.findings).joints.get("knee") == "fault"
