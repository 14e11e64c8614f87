"""The words people read: a rule is named by its title (derived from its one definition), never by
its id, in the summary, the cues, the report cards and the still captions; the id stays in the JSON."""

from __future__ import annotations

import html
import math

import pytest
from rule_fixtures import all_rules_on, make_analysis, make_rep

from formcheck_core.coach import deterministic_cues, pull_moments
from formcheck_core.export import to_dict
from formcheck_core.metric_labels import metric_label
from formcheck_core.plugins import new_plugin_manager
from formcheck_core.render.report import _findings_list
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
    card = html.unescape(_findings_list(a.findings, (), pull_moments(a)))
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


def _analysis_without_wrists(view: str = "side", clip=None):
    """A synthetic one-rep deadlift whose wrists (the bar) were never seen, measured as analyze does."""
    from dataclasses import replace

    import numpy as np
    from synthetic_lifter import deadlift_pose

    from formcheck_core.analysis import Analysis
    from formcheck_core.biomech.body import ViewEstimate
    from formcheck_core.biomech.kinematics import compute_body_series
    from formcheck_core.biomech.metrics import with_metrics
    from formcheck_core.biomech.moments import segment_reps
    from formcheck_core.pose.landmarks import LANDMARK
    from formcheck_core.video import VideoInfo

    pose, _ = deadlift_pose(1)
    xy, vis = pose.image_xy_px.copy(), pose.visibility.copy()
    for name in ("left_wrist", "right_wrist"):
        xy[:, LANDMARK[name]] = np.nan
        vis[:, LANDMARK[name]] = 0.0
    pose = replace(pose, image_xy_px=xy, visibility=vis)
    body = compute_body_series(pose)
    vw = ViewEstimate(view=view, confidence=0.9, side=body.side, shoulder_ratio=0.1)
    (rep,) = segment_reps(body)
    rep = with_metrics(body, rep, view=vw)
    n = int(pose.frame_index[-1]) + 1
    if clip is not None:  # a real (blank) video the explorer can read frames from
        from clipmaker import write_h264

        write_h264(clip, (np.zeros((pose.height_px, pose.width_px, 3), np.uint8) for _ in range(n)), 30.0)
    info = VideoInfo(str(clip or "test.mp4"), pose.width_px, pose.height_px, 30.0, n, 0, 1)
    a = Analysis(
        video=info, video_sha256="0" * 64, lift="deadlift", pose=pose, body=body, view=vw, reps=(rep,)
    )
    return apply_rules(a, all_rules_on())


def test_bar_drift_not_seen_says_why_in_every_view(tmp_path):
    """Wrists never seen: bar drift is not measurable and every view says why -- the JSON
    (``unmeasured``), the summary line (no bare "n/a"), the rule's finding and report card, and the
    explorer's read-out -- in the same words."""
    a = _analysis_without_wrists(clip=tmp_path / "blank.mp4")
    (rep,) = a.reps
    why = "the wrists (the bar) were not seen at lift-off"
    for name in ("max_bar_drift_px", "max_bar_drift_rel", "max_bar_drift_cm"):
        assert math.isnan(rep.metrics[name]) and rep.unmeasured[name] == why, name
        assert rep.unmeasured_mark(name) == f"not measurable: {why}"
    data = to_dict(a, include_series=False)["reps"][0]
    assert data["metrics"]["max_bar_drift_px"] is None and data["unmeasured"]["max_bar_drift_px"] == why
    summary = format_summary(a)
    assert "n/a" not in summary
    drift = [x for x in summary.splitlines() if x.strip().startswith("max bar drift")]
    assert len(drift) == 1 and drift[0].endswith(f"not measurable: {why}")  # once, not per unit; no cm
    (f,) = [f for f in a.findings if f.rule_id == "bar_drift"]
    assert f.status == "not_measurable" and why in f.message
    assert why in html.unescape(_findings_list([f], (), pull_moments(a)))
    pytest.importorskip("ipywidgets")
    from dataclasses import replace

    from formcheck_core.biomech.body import MetricQuality
    from formcheck_core.widgets import FrameExplorer

    # and a reading whose joint was not seen at its frame: the read-out at that frame says why
    setup = rep.moments["setup"].sample
    hidden = MetricQuality(0.0, "left shoulder", "not visible", 0.0, measurable=False, low=True)
    gone = replace(
        rep,
        metrics={**rep.metrics, "hip_angle_setup_deg": math.nan},
        metric_samples={**rep.metric_samples, "hip_angle_setup_deg": setup},
        metric_quality={**rep.metric_quality, "hip_angle_setup_deg": hidden},
    )
    ex = FrameExplorer(replace(a, reps=(gone,)), prefetch=False)
    try:
        page = html.unescape(ex._readout_html(ex.state(rep.moments["knee_pass"].sample, mode="smoothed")))
        assert f"bar from lift-off: <b>not measurable: {why}</b>" in page
        page = html.unescape(ex._readout_html(ex.state(setup, mode="smoothed")))
        assert (
            f"{metric_label('hip_angle_setup_deg')}: <b>not measurable: left shoulder not visible</b>" in page
        )
    finally:
        ex.close()


def test_bar_drift_in_a_front_view_says_why():
    a = _analysis_without_wrists(view="front")
    (rep,) = a.reps
    assert rep.unmeasured["max_bar_drift_px"].startswith("front view: ")
    text = format_summary(a).splitlines()
    line = next(x for x in text if x.strip().startswith("max bar drift"))
    assert line.endswith(f"not measurable: {rep.unmeasured['max_bar_drift_px']}")
    # the angles shown are the 3-D estimate, as the stills say; the rule that does not judge the
    # lean from this view says so without calling the number shown "not measurable"
    angles = [
        x for x in text if x.strip().startswith(("hip angle", "deepest hip", "knee angle", "torso lean"))
    ]
    assert angles and all(x.endswith("(3-D estimate)") for x in angles if "not measurable" not in x)
    (lean,) = [f for f in a.findings if f.rule_id == "excessive_torso_lean"]
    assert lean.status == "not_measurable" and "not judged from a front view" in lean.message
    assert finding_line(lean) == f"– Excessive torso lean: {lean.message}"  # the still says why too


def test_a_missing_moment_and_the_metrics_read_at_it_say_why(pm):
    """A rep without a knee pass says why under its moments, once; a metric that needs a missing
    moment (or is not read for this kind of pull) says why in the JSON, never a bare null."""
    from dataclasses import replace

    rep = make_rep(1)
    why = "the bar passed the knees by the lift-off sample (a kettlebell start)"
    rep = replace(
        rep,
        moments={n: m for n, m in rep.moments.items() if n != "knee_pass"},
        missing_moments={"knee_pass": why},
    )
    a = apply_rules(make_analysis((rep,)), all_rules_on(pm), plugin_manager=pm)
    lines = format_summary(a).splitlines()
    assert lines.count(f"  no knee pass: {why}") == 1
    synthetic = _analysis_without_wrists()
    (r,) = synthetic.reps
    assert r.complete and r.unmeasured["hip_angle_top_deg"].startswith(
        "read only for a pull that stopped short"
    )
    data = to_dict(synthetic, include_series=False)["reps"][0]
    nulls = {k for k, v in data["metrics"].items() if v is None}
    assert nulls and nulls <= set(data["unmeasured"]) | set(data["metric_quality"]), nulls - set(
        data["unmeasured"]
    )


def test_curve_limit_lines_name_the_rule_by_its_title(pm):
    """The curves' limit lines name the rule by its title ("limit 75° (Excessive torso lean)"),
    never a metric id ("torso lean liftoff")."""
    from dataclasses import replace

    from formcheck_core.render.curves import threshold_lines

    rep = make_rep(1, torso_lean_liftoff_deg=MAX_LEAN_DEG + 5, back_flexion_rel=math.nan)
    rep = replace(rep, metric_samples={"torso_lean_liftoff_deg": rep.moments["liftoff"].sample})
    a = apply_rules(make_analysis((rep,)), all_rules_on(pm), plugin_manager=pm)
    labels = [t.label for t in threshold_lines(a)]
    assert "limit 75° (Excessive torso lean)" in labels, labels
    assert not any("_" in x or "liftoff" in x for x in labels)


def test_a_plugin_metric_that_cannot_read_says_why():
    """A plugin metric returns ``Unmeasured("why")``: NaN, and the reason in ``Rep.unmeasured`` (the
    JSON's ``unmeasured``) like a built-in one; one that raises says it failed; NaN alone says so."""
    from formcheck_core.biomech.metric_spec import MetricSpec, Unmeasured
    from formcheck_core.plugins import LoadedMetric
    from formcheck_core.rules.engine import add_plugin_metrics

    a = make_analysis((make_rep(1),))
    specs = {
        "grip_width_rel": MetricSpec(
            "grip_width_rel", "d", lambda inp: Unmeasured("the hands were not in frame")
        ),
        "plain_nan_rel": MetricSpec("plain_nan_rel", "d", lambda inp: math.nan),
        "broken_rel": MetricSpec("broken_rel", "d", lambda inp: 1 / 0),
    }
    (rep,), errors = add_plugin_metrics(
        a.reps, {n: LoadedMetric(s, "my-plugin") for n, s in specs.items()}, body=a.body, view=a.view
    )
    assert all(math.isnan(rep.metrics[n]) for n in specs) and len(errors) == 1
    assert rep.unmeasured_mark("grip_width_rel") == "not measurable: the hands were not in frame"
    assert rep.unmeasured["plain_nan_rel"] == "my-plugin gave no value here"
    assert rep.unmeasured["broken_rel"].startswith("the metric failed in my-plugin")
