"""Bar path picture: the wrist trajectory drawn where the bar positions are, the lift-off vertical
(where drift is measured from), the max drift at its metric's own sample."""

from __future__ import annotations

import numpy as np
import pytest
from render_support import handmade_analysis

from formcheck_core.render import style as st
from formcheck_core.render.bar_path import (
    PATH_COLOURS,
    background_frame_index,
    render_bar_path,
    write_bar_paths,
)
from formcheck_core.render.stills import rep_view_box

CLIP = "phone_side_a.mp4"


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


def _near(img, xy, colour, r=6, tol=40) -> bool:
    x, y = round(float(xy[0])), round(float(xy[1]))
    patch = img[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].astype(int)
    return bool((np.abs(patch - np.array(colour)).max(axis=2) <= tol).any())


def test_path_is_drawn_at_the_bar_positions(analysis):
    rep = analysis.reps[0]
    view = rep_view_box(analysis, rep)
    frame = np.full((analysis.video.height_px, analysis.video.width_px, 3), 128, np.uint8)
    img = render_bar_path(frame, analysis, rep, view)
    header_h = next(y for y in range(img.shape[0]) if abs(int(img[y, 5, 0]) - int(128 * 0.7)) <= 2)
    photo = img[header_h : header_h + view.out_size[1]]
    lo, lk = rep.moments["liftoff"].sample, rep.moments["lockout"].sample
    bx, by = analysis.body.smoothed["bar_x_px"], analysis.body.smoothed["bar_y_px"]
    colour = PATH_COLOURS[0]
    hits = 0
    checked = 0
    for s in range(lo, lk + 1):
        if np.isfinite(bx[s]) and np.isfinite(by[s]):
            checked += 1
            p = view.map(np.array([bx[s], by[s]]))
            hits += _near(photo, p, colour) or _near(photo, p, (255, 255, 255))
    assert checked >= 3 and hits == checked
    # the dashed lift-off vertical (bar drift is measured from there): white pixels in its column
    x = round(float(view.map(np.array([bx[lo], by[lo]]))[0]))
    column = photo[:, max(0, x - 1) : x + 2]
    assert (column.min(axis=2) > 240).any(axis=1).mean() > 0.3
    # the max-drift arrow is red and ends at the bar at the drift metric's own sample (its frame)
    assert np.all(np.abs(photo.astype(int) - st.FAULT) <= 30, axis=2).sum() > 50
    at = rep.metric_samples.get("max_bar_drift_px")
    if at is not None:
        assert _near(
            photo, view.map(np.array([bx[at], by[at]])), st.FAULT, r=14
        )  # a moment dot may sit on it


def test_one_picture_per_rep_over_its_setup_frame(analysis, tmp_path):
    pics = write_bar_paths(analysis, tmp_path)
    assert [p.rep for p in pics] == [r.number for r in analysis.reps]
    for p, rep in zip(pics, analysis.reps, strict=False):
        assert p.path.is_file() and p.path.stat().st_size > 10_000
        assert p.frame_index == background_frame_index(rep) == rep.moments["setup"].frame_index


def test_a_partial_pull_gets_its_own_bar_path_named_and_marked_as_every_view_does(analysis, tmp_path):
    """Partial pulls are shown in every view: the bar path too -- ``partial1_bar_path.jpg``, titled
    "Partial pull 1 · bar path", with the amber line saying why it is not counted (as its stills)."""
    from dataclasses import replace

    *reps, last = analysis.reps
    assert reps, "the handmade analysis has at least two reps"
    partial = replace(last, complete=False, partial_reason="never reached lockout (test)")
    a = replace(analysis, reps=tuple(reps), partial_pulls=(partial,))
    pics = write_bar_paths(a, tmp_path)
    assert [p.path.name for p in pics] == [
        *(f"rep{r.number}_bar_path.jpg" for r in reps),
        "partial1_bar_path.jpg",
    ]
    frame = np.full((a.video.height_px, a.video.width_px, 3), 128, np.uint8)

    def amber_in_header(rep) -> int:
        img = render_bar_path(frame, a, rep, rep_view_box(a, rep))
        header = img[: next(y for y in range(img.shape[0]) if abs(int(img[y, 5, 0]) - int(128 * 0.7)) <= 2)]
        return int(np.all(np.abs(header.astype(int) - st.PARTIAL_NOTE) <= 30, axis=2).sum())

    assert amber_in_header(partial) > 50 and amber_in_header(reps[0]) == 0


def test_the_arrow_ends_at_the_drift_metrics_own_sample_from_the_lift_off_vertical(analysis):
    """One measurement, one frame: the arrow ends at the bar at the sample the drift metric was read
    at (the frame the summary names), wherever that is, not at a point the picture picks itself."""
    from dataclasses import replace

    rep = analysis.reps[0]
    view = rep_view_box(analysis, rep)
    bx, by = analysis.body.smoothed["bar_x_px"], analysis.body.smoothed["bar_y_px"]
    lo, lk = rep.moments["liftoff"].sample, rep.moments["lockout"].sample
    pts = {s: view.map(np.array([bx[s], by[s]])) for s in range(lo + 1, lk) if np.isfinite(bx[s])}
    far = max(pts, key=lambda s: abs(pts[s][0] - view.map(np.array([bx[lo], by[lo]]))[0]))
    others = [s for s in pts if np.hypot(*(pts[s] - pts[far])) > 25]
    assert others, "a pull sample away from the farthest one"
    at = others[0]
    moved = replace(rep, metric_samples={**rep.metric_samples, "max_bar_drift_px": at})
    frame = np.full((analysis.video.height_px, analysis.video.width_px, 3), 128, np.uint8)
    img = render_bar_path(frame, analysis, moved, view)
    header_h = next(y for y in range(img.shape[0]) if abs(int(img[y, 5, 0]) - int(128 * 0.7)) <= 2)
    photo = img[header_h : header_h + view.out_size[1]]
    assert _near(photo, pts[at], st.FAULT, r=4)


def test_a_pull_without_its_lift_off_says_where_its_drift_is_measured_from(analysis):
    """A pull the clip shows from mid-pull has no lift-off (nor setup): its picture is drawn over its
    first moment and says so, and its dashed line, footer and report caption name where the drift
    metric measures from -- the pull's first sample -- not a lift-off it does not have."""
    from dataclasses import replace

    from formcheck_core.render.bar_path import (
        REFERENCE_LABEL,
        background_moment,
        bar_path_caption,
        drift_origin,
        reference_label,
    )

    rep = analysis.reps[0]
    assert background_moment(rep) == "setup" and drift_origin(rep) == "lift-off"
    assert reference_label(rep) == REFERENCE_LABEL and "over the setup" in bar_path_caption(rep)
    mid = replace(
        rep,
        complete=False,
        partial_reason="cut by the clip: it starts mid-pull (test)",
        moments={n: m for n, m in rep.moments.items() if n in ("knee_pass", "lockout")},
    )
    first = min(mid.moments, key=lambda n: mid.moments[n].frame_index)
    assert background_moment(mid) == first and background_frame_index(mid) == mid.moments[first].frame_index
    caption = bar_path_caption(mid)
    assert "lift-off" not in caption.replace("(no lift-off)", "") and "where the pull starts" in caption
    assert "over the setup" not in caption and reference_label(mid) != REFERENCE_LABEL
    frame = np.full((analysis.video.height_px, analysis.video.width_px, 3), 128, np.uint8)
    img = render_bar_path(frame, analysis, mid, rep_view_box(analysis, mid))
    assert img.shape[1] == rep_view_box(analysis, mid).out_size[0]
    # drift not measurable (a front view): the caption says why instead of describing an arrow
    front = replace(
        rep,
        metrics={**rep.metrics, "max_bar_drift_px": float("nan")},
        unmeasured={**rep.unmeasured, "max_bar_drift_px": "front view: along the camera axis"},
    )
    caption = bar_path_caption(front)
    assert "arrow" not in caption and "not measurable: front view: along the camera axis" in caption


def test_the_footer_names_and_shows_the_drift_as_every_view_does(analysis):
    """The picture's footer names the drift metric by its spec's label (the summary's "max bar
    drift"), with each value's text from the one reading (the digits a finding's limit needs: 0.104
    against a 0.10 limit, not "0.10") and the frame it was read at."""
    from dataclasses import replace

    from formcheck_core.findings import Finding
    from formcheck_core.metric_labels import metric_label
    from formcheck_core.readings import metric_text
    from formcheck_core.render.bar_path import DRIFT_METRICS, drift_line, drift_origin, drift_texts

    rep = analysis.reps[0]
    line = drift_line(analysis, rep)
    assert line.startswith(f"{metric_label('max_bar_drift_px')} from {drift_origin(rep)}: ")
    assert "horizontal drift" not in line
    texts = drift_texts(analysis, rep)
    assert texts and all(t in line for t in texts)
    assert texts == [
        metric_text(analysis, rep, n) for n in DRIFT_METRICS if np.isfinite(rep.metrics.get(n, np.nan))
    ]
    frame = int(analysis.body.frame_index[rep.metric_samples["max_bar_drift_px"]])
    assert f"(frame {frame})" in line
    # near a limit: the finding's digits
    value = 0.104
    near = replace(rep, metrics={**rep.metrics, "max_bar_drift_rel": value})
    f = Finding(
        "bar_drift",
        rep.number,
        "fault",
        "moderate",
        "m",
        value=value,
        threshold=0.10,
        unit="body_lengths",
        metric="max_bar_drift_rel",
    )
    judged = replace(analysis, reps=(near, *analysis.reps[1:]), findings=(*analysis.findings, f))
    assert "0.104 body lengths" in drift_line(judged, near)
