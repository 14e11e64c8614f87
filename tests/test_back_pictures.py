"""The back metric in the pictures on a real dev clip: a curves panel where the segmentation pass
measured it, with the rule's limit, and the frame explorer's live read-out. Labels, units and
numbers come from the metric registry and ``vocabulary.format_value`` (no pose-exact values)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck_core.biomech.back_series import pull_samples
from formcheck_core.biomech.metrics import METRIC_SPECS
from formcheck_core.render.curves import BACK_METRIC, angle_curves_figure, back_points, rep_curve_figures
from formcheck_core.vocabulary import UNITS, format_limit, format_value

pytestmark = pytest.mark.slow

ROUNDED = "gym1080_bad_02"  # side view, one rep, labelled rounded (see test_back_real)
#: Side view, one rep, labelled clean; the explorer decodes its frames.
CLEAN = "posereader_good"
SPEC = METRIC_SPECS[BACK_METRIC]
SCALE = UNITS[SPEC.unit].scale


@pytest.fixture(scope="module")
def rounded(dev_clip, pose_model):
    from formcheck_core.analysis import analyze

    return analyze(dev_clip(ROUNDED), pose_model=pose_model, progress=False)


@pytest.fixture(scope="module")
def clean(dev_clip, pose_model):
    from formcheck_core.analysis import analyze

    return analyze(dev_clip(CLEAN), pose_model=pose_model, progress=False)


def _back_axes(fig):
    # the panel plots each frame's value: titled by the quantity, not by the median's label
    axes = [ax for ax in fig.axes if ax.axison and ax.get_title(loc="left").startswith(SPEC.sample_label)]
    assert len(axes) == 1, [ax.get_title(loc="left") for ax in fig.axes]
    return axes[0]


def _limit(a):
    (f,) = [f for f in a.findings if f.rule_id == "rounded_back" and f.metric == BACK_METRIC]
    return f


def test_curves_draw_the_back_where_it_was_measured_with_its_limit(rounded):
    f = _limit(rounded)
    fig = angle_curves_figure(rounded)
    ax = _back_axes(fig)
    assert ax is [a for a in fig.axes if a.axison][-1]  # below the angle panels
    assert ax.get_ylabel() == UNITS[SPEC.unit].symbol
    t, _ = back_points(rounded)
    assert len(t) == len(rounded.back.sample) <= rounded.body.time_s.size  # the measured samples
    (trace,) = [ln for ln in ax.lines if len(ln.get_xdata()) == len(t)]
    assert np.array_equal(trace.get_xdata(), t) and np.allclose(
        trace.get_ydata(), rounded.back.back_flexion_rel * SCALE, equal_nan=True
    )
    rep = rounded.reps[0]
    pull = rounded.body.time_s[pull_samples(rep)]
    assert set(pull.tolist()) <= set(t.tolist())  # set-up .. knee pass at least (main pass: every sample)
    hlines = [ln for ln in ax.lines if len(set(ln.get_ydata())) == 1 and len(ln.get_ydata()) == 2]
    assert [ln.get_ydata()[0] for ln in hlines] == pytest.approx([f.threshold * SCALE])
    labels = [tx.get_text() for tx in ax.texts]
    assert f"limit {format_limit(f.threshold, SPEC.unit)} ({f.title})" in labels  # the rule by its title
    assert (hlines[0].get_color() == "#e03131") == f.is_fault  # red when the rep broke it


def test_rep_figures_keep_the_back_panel(rounded):
    ((n, fig),) = list(rep_curve_figures(rounded))
    assert n == rounded.reps[0].number and _back_axes(fig) is not None


def test_no_back_panel_without_a_back_series(rounded):
    import dataclasses

    fig = angle_curves_figure(dataclasses.replace(rounded, back=None))
    assert not [ax for ax in fig.axes if ax.axison and ax.get_title(loc="left").startswith(SPEC.sample_label)]


def test_explorer_reads_the_back_live(clean):
    pytest.importorskip("ipywidgets")
    from formcheck_core.widgets import FrameExplorer

    f = _limit(clean)
    back = clean.back
    ex = FrameExplorer(clean, prefetch=False)
    try:
        measured = [
            int(s) for s, v in zip(back.sample, back.back_flexion_rel, strict=True) if math.isfinite(v)
        ]
        s = measured[len(measured) // 2]
        ex.slider.value = s
        st = ex.state()
        v = float(back.back_flexion_rel[back.row(s)])
        assert st.back_flexion_rel == v and st.back_limit_rel == f.threshold
        shown = format_value(v, SPEC.unit, limit=f.threshold)
        assert (
            f"{SPEC.sample_label.lower()} at this frame: <b>{shown} (limit {format_limit(f.threshold, SPEC.unit)})</b>"
            in ex.readout.value
        )
    finally:
        ex.close()


def test_explorer_says_where_the_back_was_not_measured(clean):
    """A sample without a back row (a series holding only a pull's set-up..knee pass)."""
    pytest.importorskip("ipywidgets")
    import dataclasses

    from formcheck_core.widgets import FrameExplorer

    back = clean.back
    rows = [back.row(s) for s in pull_samples(clean.reps[0])]
    only_pull = back.take(rows)
    ex = FrameExplorer(dataclasses.replace(clean, back=only_pull), prefetch=False)
    try:
        ex.slider.value = next(i for i in range(ex.n_samples) if only_pull.row(i) is None)
        assert math.isnan(ex.state().back_flexion_rel) and "not measured here" in ex.readout.value
    finally:
        ex.close()
