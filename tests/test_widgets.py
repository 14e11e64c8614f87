"""The notebook widgets without a browser: explorer state, frame cache bounds, overlapping
callbacks, threshold explorer and coaching panel fallbacks. On real dev clips (pose cached)."""

from __future__ import annotations

import html
import itertools
import math
import threading

import numpy as np
import pytest

pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def multi(dev_clip, pose_model):
    from formcheck_core.analysis import analyze

    return analyze(dev_clip("heavy_front_oblique_a"), progress=False)


@pytest.fixture(scope="module")
def single(dev_clip, pose_model):
    from formcheck_core.analysis import analyze

    return analyze(dev_clip("posereader_arm_bend"), progress=False)


def test_explorer_shows_the_sample_under_the_slider(single):
    from formcheck_core.render.overlay import displayed_series
    from formcheck_core.widgets import FrameExplorer

    ex = FrameExplorer(single, prefetch=False)
    try:
        assert ex.renders == 1 and ex.image.value and ex.curves.value
        xs = []
        for s in (0, ex.n_samples // 2, ex.n_samples - 1):
            ex.slider.value = s
            st = ex.state()
            assert st.sample == s and st.frame_index == int(single.body.frame_index[s])
            assert (
                f"data-sample='{s}'" in ex.readout.value and f"frame {st.frame_index}</b>" in ex.readout.value
            )
            want = single.body.smoothed[displayed_series(single, "knee_angle_deg")][s]
            assert (math.isnan(want) and math.isnan(st.values["knee_angle_deg"])) or st.values[
                "knee_angle_deg"
            ] == want
            xs.append(ex.cursor_x_px())
        assert xs[0] < xs[1] < xs[2]
        renders = ex.renders
        ex.slider.value = ex.slider.value  # no change: no redraw
        assert ex.renders == renders
        ex.mode.value = "raw"
        st = ex.state()
        assert st.mode == "raw" and ex.renders == renders + 1
        want = single.body.raw[displayed_series(single, "hip_angle_deg", raw=True)][st.sample]
        assert (math.isnan(want) and math.isnan(st.values["hip_angle_deg"])) or st.values[
            "hip_angle_deg"
        ] == want
    finally:
        ex.close()


def test_rep_and_moment_buttons_jump(multi):
    """Every moment lies inside its rep (the rep contract), so each moment button lands on a sample
    the explorer attributes to that rep."""
    from rep_contract import assert_rep_contract

    from formcheck_core.widgets import FrameExplorer

    assert_rep_contract(multi.reps, multi.body.time_s.size)
    ex = FrameExplorer(multi, prefetch=False)
    try:
        assert len(ex.rep_buttons) == len(multi.pulls) and len(multi.reps) >= 2
        for button, rep in zip(ex.rep_buttons, multi.pulls, strict=True):  # partial pulls too
            button.click()
            want = rep.moments["liftoff"].sample if "liftoff" in rep.moments else rep.start_sample
            assert ex.slider.value == want and ex.state().rep == rep.number
            assert button.button_style == "info"
            for name, m in rep.moments.items():
                ex.moment_buttons[name].click()
                assert ex.slider.value == m.sample and ex.state().rep == rep.number
        with pytest.raises(Exception, match="There is no rep 99"):
            ex.go_to_rep(99)
    finally:
        ex.close()


def test_partial_pull_has_its_own_button_and_name(single):
    """posereader_arm_bend: its one pull is a partial pull: a button named "Partial pull 1" (not
    "Rep 1") jumps to it, and the read-out names it with its reason, in the summary's words."""
    from formcheck_core.pulls import pull_heading
    from formcheck_core.render.summary import format_summary
    from formcheck_core.widgets import FrameExplorer

    assert not single.reps and len(single.partial_pulls) == 1
    pull = single.partial_pulls[0]
    ex = FrameExplorer(single, prefetch=False)
    try:
        assert [b.description for b in ex.rep_buttons] == ["Partial pull 1"]
        assert pull.partial_reason in ex.rep_buttons[0].tooltip
        ex.rep_buttons[0].click()
        st = ex.state()
        assert st.rep == pull.number and ex.rep_buttons[0].button_style == "info"
        heading = pull_heading(single, pull)
        assert heading == "partial pull 1 (never reached lockout)"
        assert f"<span class='fc-where'>{heading}" in ex.readout.value
        assert "rep 1" not in ex.readout.value.lower()
        assert "partial pull 1 (not counted)" in format_summary(single)
        assert "0 reps + 1 partial pull (never reached lockout)" in ex._header_html()  # no nested ( )
    finally:
        ex.close()


def test_frame_cache_stays_within_its_budget(single):
    from formcheck_core.widgets import FrameExplorer

    budget = 200_000  # a few display frames
    ex = FrameExplorer(single, cache_bytes=budget, prefetch=True)
    try:
        assert ex.frames.wait_prefetch(120)
        for s in range(0, ex.n_samples, 3):
            ex.show(s)
        assert ex.frames.cached_bytes <= budget + 120_000  # at most one frame over while evicting
        assert 1 <= ex.frames.cached_frames < ex.n_samples
        # decoding on demand after eviction still gives the right frame: same picture as a fresh explorer
        fresh = FrameExplorer(single, prefetch=False)
        try:
            for s in (1, ex.n_samples - 2):
                a, b = ex.frames.get(int(ex.frame_index[s])), fresh.frames.get(int(ex.frame_index[s]))
                assert a.shape == b.shape and float(np.mean(np.abs(a.astype(int) - b.astype(int)))) < 3.0
        finally:
            fresh.close()
    finally:
        ex.close()


def test_overlapping_callbacks_end_on_the_last_value(multi):
    """Widget callbacks can run on several kernel threads at once: the shown state must end up
    matching the slider's final value, with every redraw complete (never a mix of two samples)."""
    from formcheck_core.widgets import FrameExplorer

    ex = FrameExplorer(multi)
    try:
        assert ex.frames.wait_prefetch(120)
        barrier = threading.Barrier(4)
        errors = []

        def mover(values):
            barrier.wait()
            try:
                for v in values:
                    ex.slider.value = v
            except Exception as exc:
                errors.append(exc)

        stop = min(ex.n_samples, 48)
        threads = [threading.Thread(target=mover, args=(range(k, stop, 4),)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        ex.refresh()  # what the last callback does when it finds a newer value
        final = ex.slider.value
        assert ex.state().sample == final
        assert f"data-sample='{final}'" in ex.readout.value
        single = FrameExplorer(multi, prefetch=False)
        try:
            single.show(final)
            assert single.readout.value == ex.readout.value
            assert single.curves.value == ex.curves.value  # the cursor sits at the final sample
        finally:
            single.close()
    finally:
        ex.close()


def test_threshold_explorer_follows_the_sliders(multi, single):
    from formcheck_core.widgets import ThresholdExplorer

    tx = ThresholdExplorer([multi, single], "excessive_torso_lean")
    assert set(tx.thresholds()) == {"max_lean_deg"}
    values = [
        f.value
        for fs in tx.result.findings.values()
        for f in fs
        if f.value is not None and math.isfinite(f.value)
    ]
    assert values
    low = tx.set_thresholds(max_lean_deg=min(values) - 1)
    assert low.counts()["fault"] == len(values), "below every measured value, every measured rep is flagged"
    assert "data-status='fault'" in tx.table.value and tx.plot.value
    high = tx.set_thresholds(max_lean_deg=max(values) + 1)
    assert high.counts()["fault"] == 0
    for fs in high.findings.values():
        for f in fs:
            assert f.status in ("ok", "not_measurable") and (
                f.threshold is None or f.threshold == max(values) + 1
            )
    sweep = tx.sweep("max_lean_deg", [min(values) - 1, float(np.median(values)), max(values) + 1])
    assert [p.faults for p in sweep] == sorted((p.faults for p in sweep), reverse=True)
    assert tx.thresholds() == {"max_lean_deg": max(values) + 1}, "sweep does not move the sliders"
    tx.reset()
    assert tx.thresholds() == dict(tx.rules["excessive_torso_lean"].rule.thresholds)
    # other rules' findings are untouched by this rule's slider
    others = [
        f
        for f in tx.result.analyses[next(iter(tx.result.analyses))].findings
        if f.rule_id != "excessive_torso_lean"
    ]
    assert others == [f for f in multi.findings if f.rule_id != "excessive_torso_lean"]


def test_coaching_panel_falls_back_to_rule_cues_without_a_model(multi, single, tmp_path):
    from formcheck_core.coach import deterministic_cues
    from formcheck_core.widgets import CoachingPanel

    # a clip with complete reps: the LLM coaches only those (``single`` has a partial pull only)
    assert multi.reps
    panel = CoachingPanel(multi, model=str(tmp_path / "missing.gguf"))
    result = panel.run()
    assert result.source == "rules" and "does not exist" in result.fallback_reason
    assert [c.text for c in result.cues] == [c.text for c in deterministic_cues(multi)]
    assert "Cues from the rules" in panel.status.value and "missing.gguf" in panel.status.value
    assert panel.cues.value.count("class='fc-cue'") == len(result.cues)
    off = CoachingPanel(multi, use_llm=False)
    assert off.run().fallback_reason == "LLM switched off"
    # a partial pull only: nothing for the LLM, the rules' cues on the partial pull are shown
    partial = CoachingPanel(single, model=str(tmp_path / "missing.gguf")).run()
    assert not single.reps and single.partial_pulls and partial.fallback_reason == "no measured rep to coach"
    assert partial.cues and [c.text for c in partial.cues] == [c.text for c in deterministic_cues(single)]


def test_coaching_panel_says_its_own_options_not_the_command_lines(multi, tmp_path, monkeypatch):
    """No model configured, the recommended one not downloaded: the panel's reason says how to get
    one in a notebook (its model= argument, its "use the LLM" box), not --llm-model / --no-llm."""
    import re

    from formcheck_core.widgets import CoachingPanel

    monkeypatch.setenv("FORMCHECK_MODELS", str(tmp_path / "models"))  # no model files at all
    monkeypatch.setenv("FORMCHECK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("FORMCHECK_LLM_MODEL", raising=False)
    panel = CoachingPanel(multi)
    result = panel.run()
    assert result.source == "rules" and "--llm-model" in result.fallback_reason  # the CLI's words
    status = html.unescape(panel.status.value)
    assert "Cues from the rules" in status and 'model="recommended"' in status
    assert 'untick "use the LLM"' in status
    assert not re.search(r"--[a-z]", status), status


def test_threshold_explorer_names_pulls_as_every_view_and_its_labels_do_not_overlap(dev_clip, pose_model):
    """Notebook 03's two clips: a rep each, and a partial pull in the second. The findings table
    named the partial pull "2" (its number in the JSON) and the plot's three upright labels ran
    into each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from formcheck_core.analysis import analyze
    from formcheck_core.widgets import ThresholdExplorer

    analyses = {
        n: analyze(dev_clip(n), progress=False) for n in ("reel_bad_rounding_11", "posereader_good_bad")
    }
    partial = analyses["posereader_good_bad"]
    assert partial.reps and partial.partial_pulls  # the premise
    tx = ThresholdExplorer(analyses, "excessive_torso_lean")
    table = html.unescape(tx.table.value)
    assert "<th>pull</th>" in table
    assert "<td>partial pull 1</td>" in table and "<td>rep 1</td>" in table
    assert f"<td>{len(partial.reps) + 1}</td>" not in table
    fig = tx.figure()
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(boxes) >= 3
    for left, right in itertools.pairwise(boxes):
        assert not left.overlaps(right), (left, right)


def test_threshold_explorer_names_the_preset_its_sliders_hold(multi):
    """A new explorer at the shipped thresholds said "preset (custom)", as if they had been changed."""
    from formcheck_core.widgets import ThresholdExplorer

    tx = ThresholdExplorer(multi, "excessive_torso_lean")
    assert tx.preset.value == "calibrated"
    tx.set_thresholds(max_lean_deg=61.0)
    assert tx.preset.value == "(custom)"
    tx.reset()
    assert tx.preset.value == "calibrated"
    tx.preset.value = "seed"  # the dropdown applies the preset's limits and keeps its name
    seed = tx.rules["excessive_torso_lean"].rule.presets["seed"]["max_lean_deg"]
    assert tx.thresholds()["max_lean_deg"] == seed and tx.preset.value == "seed"


def test_threshold_explorer_cues_say_warning_as_the_other_views_do(dev_clip, pose_model):
    """gym1080_bad_02's incomplete-lockout cue is a warning (the hip reads bent while the torso
    reaches vertical): the threshold explorer tags it "warning:" as the summary, the report and the
    coaching panel do, and tags no other cue."""
    from formcheck_core.analysis import analyze
    from formcheck_core.coach import deterministic_cues
    from formcheck_core.widgets import ThresholdExplorer

    a = analyze(dev_clip("gym1080_bad_02"), progress=False)
    cues = deterministic_cues(a)
    tagged = [c for c in cues if c.role_tag]
    assert tagged, "the clip has a cue the verdict does not count"
    shown = ThresholdExplorer([a], "incomplete_lockout").cues.value
    assert shown.count("<i>") == len(tagged)
    for c in tagged:
        assert f"<i>{c.role_tag}:</i> <b>{html.escape(c.text)}</b>" in shown
