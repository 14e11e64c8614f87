"""Angle curves: Figure without pyplot, moments as vertical lines, thresholds, reps shaded, cursor."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from render_support import handmade_analysis

from formcheck_core.render.curves import (
    TimeCursor,
    angle_curves_figure,
    angle_curves_with_cursor,
    save_figure,
)

CLIP = "phone_side_a.mp4"


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


def _vlines(ax) -> list[float]:
    return [
        float(ln.get_xdata()[0])
        for ln in ax.lines
        if len(set(np.atleast_1d(ln.get_xdata()))) == 1 and len(ln.get_xdata()) == 2
    ]


def _hlines(ax) -> list[float]:
    return [
        float(ln.get_ydata()[0])
        for ln in ax.lines
        if len(ln.get_ydata()) == 2
        and ln.get_ydata()[0] == ln.get_ydata()[1]
        and list(ln.get_xdata()) == [0, 1]
    ]


def test_panels_moments_thresholds_and_rep_shading(analysis):
    fig = angle_curves_figure(analysis)
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.axison]
    assert len(axes) == 3  # hip+knee, torso lean, elbow
    moment_times = {round(m.time_s, 6) for r in analysis.reps for m in r.moments.values()}
    assert moment_times <= {round(x, 6) for x in _vlines(axes[0])}
    # thresholds: the (located, in-degree) findings' limits are horizontal lines on their panel
    lean_limits = {f.threshold for f in analysis.findings if f.metric == "torso_lean_liftoff_deg"}
    assert lean_limits and lean_limits <= set(_hlines(axes[1]))
    spans = [p for p in axes[0].patches if isinstance(p, Rectangle)]
    assert len(spans) == len(analysis.reps)
    # smoothed series are plotted with NaN gaps kept
    hip = analysis.body.smoothed["hip_angle_deg"]
    assert any(np.array_equal(ln.get_ydata(), hip, equal_nan=True) for ln in axes[0].lines)


def test_raw_and_overlay(analysis):
    raw = angle_curves_figure(analysis, raw=True)
    axes = [ax for ax in raw.axes if ax.axison]
    knee_raw = analysis.body.raw["knee_angle_deg"]
    assert any(np.array_equal(ln.get_ydata(), knee_raw, equal_nan=True) for ln in axes[0].lines)
    smoothed = analysis.body.smoothed["knee_angle_deg"]
    assert not any(np.array_equal(ln.get_ydata(), smoothed, equal_nan=True) for ln in axes[0].lines)
    both = angle_curves_figure(analysis, show_raw=True)
    lines = [ln.get_ydata() for ln in both.axes[0].lines]
    assert any(np.array_equal(y, knee_raw, equal_nan=True) for y in lines)
    assert any(np.array_equal(y, smoothed, equal_nan=True) for y in lines)


def test_rep_zoom_limits_x_to_that_rep(analysis):
    rep = analysis.reps[1]
    fig = angle_curves_figure(analysis, rep=rep.number)
    lo, hi = fig.axes[0].get_xlim()
    t = analysis.body.time_s
    assert lo <= t[rep.start_sample] and hi >= t[rep.end_sample]
    assert lo > t[analysis.reps[0].moments["lockout"].sample]  # rep 1 is out of view
    # the rep's moments are named in the figure's legend (labels at the lines overprinted)
    named = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "lift-off" in named and "lockout" in named


def test_cursor_moves(analysis, tmp_path):
    fig, cursor = angle_curves_with_cursor(analysis, time_s=1.0)
    assert isinstance(cursor, TimeCursor) and len(cursor.lines) == 3
    cursor.set_time(2.5)
    assert all(list(ln.get_xdata()) == [2.5, 2.5] for ln in cursor.lines)
    save_figure(fig, tmp_path / "c.png")
    from PIL import Image

    with Image.open(tmp_path / "c.png") as im:
        assert im.size[0] == 720 and im.size[1] > 600


def test_no_body_gives_a_message_figure(analysis):
    empty = dataclasses.replace(analysis, body=None, reps=(), findings=())
    fig = angle_curves_figure(empty)
    assert any("No body series" in t.get_text() for ax in fig.axes for t in ax.texts)


def test_figures_from_threads_without_pyplot(analysis):
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(2):
                fig = angle_curves_figure(analysis, show_raw=True)
                fig.canvas.draw()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_render_package_never_imports_pyplot():
    code = textwrap.dedent(
        """
        import sys
        import formcheck_core.render, formcheck_core.render.report
        from formcheck_core.render import curves, bar_path, clip, stills
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_back_trace_breaks_between_separately_measured_stretches():
    """The back is measured set-up..knee pass of each rep: the line must not join rep 1 to rep 2."""
    from formcheck_core.render.curves import _split_runs

    t, y = _split_runs(np.array([1.0, 1.1, 1.2, 3.0, 3.1]), np.array([1.0, 2.0, 3.0, 4.0, 5.0]), step_s=0.15)
    assert np.isnan(t[3]) and np.isnan(y[3]) and len(t) == 6
    assert np.array_equal(t[~np.isnan(t)], [1.0, 1.1, 1.2, 3.0, 3.1])
    same, _ = _split_runs(np.array([1.0, 1.1]), np.array([1.0, 2.0]), step_s=0.15)
    assert not np.isnan(same).any()


def test_whole_clip_legend_fits_the_figure_with_every_moment_and_a_partial_pull(analysis):
    """Four moment styles and the hatched partial-pull patch are five legend entries: in one row
    they ran past both edges of the 4-inch figure ("partial p" cut off); the legend wraps instead."""
    last = analysis.reps[-1]
    assert set(last.moments) == {"setup", "liftoff", "knee_pass", "lockout"}
    partial = dataclasses.replace(
        last, complete=False, partial_reason="cut by the clip: it ends before lockout"
    )
    a = dataclasses.replace(analysis, reps=analysis.reps[:-1], partial_pulls=(partial,))
    fig = angle_curves_figure(a)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 5
    box, page = legend.get_window_extent(renderer), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (box, page)
    for ax in fig.axes:  # laid out below the legend, not under it
        assert not ax.get_window_extent(renderer).overlaps(box)


def test_marker_labels_of_a_rep_never_overprint_each_other(dev_clip, pose_model):
    """A kettlebell set's hip and knee reach lockout within a sample and a few degrees of each
    other: their labels ('177°' over '173°', with long pose-quality marks) were drawn on top of
    each other in most reps. Each label now takes a free line; the same reading twice at one
    point ('hip @setup' and 'hip @lift-off' read at one sample) is one label drawn twice."""
    from formcheck_core.analysis import analyze
    from formcheck_core.render.curves import rep_curve_figures

    a = analyze(dev_clip("kettlebell_correct_side"), progress=False)
    assert len(a.reps) >= 5
    labels = 0
    for number, fig in rep_curve_figures(a):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        for ax in fig.axes:
            texts = [t for t in ax.texts if (t.get_gid() or "").startswith("metric:")]
            labels += len(texts)
            boxes = [(t, t.get_window_extent(renderer)) for t in texts]
            for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
                if t1.get_text() == t2.get_text() and t1.xy == t2.xy:
                    assert b1.bounds == b2.bounds  # one label, drawn twice
                    continue
                overlap_x = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
                overlap_y = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
                assert overlap_x <= 1 or overlap_y <= 1, (number, t1.get_text(), t2.get_text())
    assert labels >= 4 * len(a.reps)


def test_scene_cuts_are_drawn_on_the_whole_clip_figure_only(analysis):
    """A cut frame is a vertical line at its time in every panel of the whole-clip figure, named
    once in the legend; a rep's figure (no pull spans a cut) does not draw it."""
    from formcheck_core.render.curves import SCENE_CUT_STYLE

    body = analysis.body
    frame = int(body.frame_index[len(body.frame_index) // 2]) + 1  # between two samples
    cut_s = float(np.interp(frame, body.frame_index, body.time_s))
    a = dataclasses.replace(analysis, scene_cut_frames=(frame,))
    fig = angle_curves_figure(a)
    for ax in (ax for ax in fig.axes if ax.axison):
        assert any(abs(x - cut_s) < 1e-9 for x in _vlines(ax))
    assert SCENE_CUT_STYLE[0] in [t.get_text() for t in fig.legends[0].get_texts()]
    # no curve joins the two shots: the hip line has a gap between the samples either side of the cut
    hip = analysis.body.smoothed["hip_angle_deg"]
    after = int(np.searchsorted(body.frame_index, frame))
    split = [ln for ln in fig.axes[0].lines if len(ln.get_ydata()) == len(hip) + 1]
    (line,) = [ln for ln in split if np.array_equal(np.delete(ln.get_ydata(), after), hip, equal_nan=True)]
    assert np.isnan(line.get_ydata()[after]) and np.isnan(line.get_xdata()[after])
    rep_fig = angle_curves_figure(a, rep=analysis.reps[0].number)
    assert all(abs(x - cut_s) > 1e-9 for ax in rep_fig.axes for x in _vlines(ax))
    plain = angle_curves_figure(analysis)
    assert SCENE_CUT_STYLE[0] not in [t.get_text() for t in plain.legends[0].get_texts()]


def test_a_legend_searching_its_best_place_once_per_draw_lands_where_matplotlib_puts_it(monkeypatch):
    """The search is done once per draw, not twice, and the legend lands where matplotlib's own
    "best" puts it, also when the next draw shows other data (the place is searched anew)."""
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

    from formcheck_core.render.curves import _best_place_searched_once, figure_bgr

    searches: list = []
    original = Legend._find_best_position  # type: ignore[attr-defined]

    def counted(self, *args):
        searches.append(self)
        return original(self, *args)

    monkeypatch.setattr(Legend, "_find_best_position", counted)

    def figure(once: bool):
        fig = Figure(figsize=(3, 2), dpi=80)
        ax = fig.add_subplot()
        (line,) = ax.plot([0, 1, 2, 3], [3, 2, 1, 0], label="falling")
        ax.plot([0, 3], [1.5, 1.5], label="level")
        legend = ax.legend(loc="best")
        return fig, line, _best_place_searched_once(legend) if once else legend

    fast, fast_line, fast_legend = figure(True)
    plain, plain_line, plain_legend = figure(False)
    places = set()
    for data in ([3, 2, 1, 0], [0, 1, 2, 3]):  # the empty corner moves between draws
        fast_line.set_ydata(data)
        plain_line.set_ydata(data)
        searches.clear()
        got, want = figure_bgr(fast), figure_bgr(plain)
        assert searches.count(fast_legend) == 1 and searches.count(plain_legend) == 2
        assert np.array_equal(got, want)
        places.add(tuple(np.round(fast_legend.get_window_extent().bounds)))
    assert len(places) == 2  # it moved with the data


def _pull_name_boxes(fig: Figure) -> list[tuple[str, object]]:
    """The pull names above the whole-clip figure (the top secondary axis) with their boxes, drawn."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    tops = [child for ax in fig.axes for child in ax.child_axes]
    return [
        (label.get_text(), label.get_window_extent(renderer))
        for top in tops
        for label in top.get_xticklabels()
        if label.get_visible() and label.get_text().strip()
    ]


def test_pull_names_above_the_whole_clip_never_overlap(dev_clip, pose_model):
    """heavy_front_oblique_a has a partial pull between rep 1 and rep 2: 'rep 1', 'partial pull 1'
    and 'rep 2' were drawn over each other on the top axis. Crowded names are shortened ('p1', then
    '1'), and still-touching ones staggered."""
    from formcheck_core.analysis import analyze

    a = analyze(dev_clip("heavy_front_oblique_a"), progress=False)
    assert a.partial_pulls and a.reps  # the crowded case this test is about
    boxes = _pull_name_boxes(angle_curves_figure(a))
    assert len(boxes) == len(a.pulls)
    for (n1, b1), (n2, b2) in itertools.combinations(boxes, 2):
        overlap_x = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        overlap_y = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        assert overlap_x <= 0 or overlap_y <= 0, (n1, n2)
    assert any(name.strip() == "p1" for name, _ in boxes)


def test_pull_names_stay_long_when_there_is_room(analysis):
    """Room enough (a wide figure): the names keep their words ('rep 1', 'partial pull 1')."""
    names = [name.strip() for name, _ in _pull_name_boxes(angle_curves_figure(analysis, width_in=12))]
    assert names and all(name.startswith(("rep ", "partial pull ")) for name in names), names
