"""The look survives the speed-ups: a dev clip's stills and curves show the same elements.

Not pixel-exact (pose output differs slightly between CPUs): each element is looked for where the
analysis says it must be — the skeleton along the near-side limbs, every angle read-out and limit
as text at its arc, the moment in the header, the findings in the footer, moment lines and limit
lines on the curves. The fast paths are also compared with the slow ones they replaced: glyph
masks blended with numpy against Pillow drawing, the reused rep-curve figure against a fresh one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw
from render_support import handmade_analysis, real_analysis

from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.render import style as st
from formcheck_core.render.curves import angle_curves_figure, figure_bgr, rep_curve_figures, threshold_lines
from formcheck_core.render.frames import run_frame_pass
from formcheck_core.render.overlay import (
    ANGLE_BY_SERIES,
    DEFAULT_ANGLES,
    emphasis_for,
    format_angle,
    series_value,
)
from formcheck_core.render.stills import finding_line, plan_stills, rep_view_box, still_consumer

CLIP = "phone_side_a.mp4"  # portrait, 2 reps; a torso-lean finding located at each lift-off


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


@pytest.fixture(scope="module")
def stills(analysis, tmp_path_factory):
    """(still, BGR picture) of every planned still, kept in memory (as the report's worker gets them)."""
    planned = plan_stills(analysis, tmp_path_factory.mktemp("look"))
    got: dict = {}
    run_frame_pass(
        analysis, [still_consumer(analysis, planned, sink=lambda path, bgr: got.__setitem__(path, bgr))]
    )
    return [(s, got[s.path]) for s in planned if s.path in got]


def _text_score(img_bgr: np.ndarray, text: str, size_px: int, colour, bold: bool, tol: int = 60) -> float:
    """Best normalised match of ``text``'s glyphs against the pixels of ``colour`` in ``img_bgr``."""
    mask, _, _ = st._text_mask(text, size_px, bold)
    template = (mask >= 128).astype(np.float32)
    hits = (np.abs(img_bgr.astype(int) - np.array(colour)).max(axis=2) <= tol).astype(np.float32)
    if hits.shape[0] < template.shape[0] or hits.shape[1] < template.shape[1]:
        return 0.0
    return float(cv2.matchTemplate(hits, template, cv2.TM_CCORR_NORMED).max())


def test_text_blending_matches_pillow_drawing():
    """The per-frame text path (cached glyph masks, numpy blend) draws what Pillow drew."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (220, 420, 3), dtype=np.uint8)
    items = [
        st.TextItem(
            (10, 12),
            "hip 142° (limit 60°)",
            28,
            (255, 255, 255),
            True,
            box=st.PANEL,
            box_alpha=0.72,
            pad_px=5,
        ),
        st.TextItem((300, 150), "lean 48°", 22, st.FAULT, False),
        st.TextItem((400, 200), "cut at the edge", 20, st.OK, False),
    ]
    fast = st.draw_texts(img.copy(), items)
    ref = img.copy()
    for it in items:  # boxes exactly as draw_texts blends them
        if it.box is not None:
            tw, th = st.text_size(it.text, it.size_px, it.bold)
            x0, y0 = it.xy[0] - it.pad_px, it.xy[1] - it.pad_px
            sub = ref[y0 : y0 + th + 2 * it.pad_px, x0 : x0 + tw + 2 * it.pad_px]
            cv2.addWeighted(np.full_like(sub, it.box), it.box_alpha, sub, 1 - it.box_alpha, 0.0, dst=sub)
    pil = Image.fromarray(ref[:, :, ::-1].copy())
    draw = ImageDraw.Draw(pil)
    for it in items:
        b, g, r = it.colour
        draw.text(it.xy, it.text, font=st.font(it.size_px, it.bold), fill=(r, g, b))
    ref = np.asarray(pil)[:, :, ::-1]
    assert np.abs(fast.astype(int) - ref.astype(int)).max() <= 1


def test_clock_text_set_by_character_matches_the_whole_string():
    """The clip's top band sets its clock character by character (no string rasterised per
    frame): it must draw what one mask of the whole line draws, where the font does not kern."""
    for size in (14, 22, 31):
        for fixed, clock in (("Rep 1/10 · LIFT-OFF · ", "12.37 s"), ("between reps · ", "0.03 s")):
            band = np.empty((3 * size, 40 * size, 3), np.uint8)
            band[:] = st.PANEL
            whole = st.draw_texts(band.copy(), [st.TextItem((5, 5), fixed + clock, size, st.NEAR, True)])
            pieces = st.draw_changing_text(band.copy(), (5, 5), fixed, clock, size, st.NEAR, True)
            assert (whole != band).any()
            assert np.abs(pieces.astype(int) - whole.astype(int)).max() <= 2, (size, fixed + clock)


def test_still_shows_skeleton_read_outs_limits_moment_and_findings(analysis, stills):
    lift = analysis.reps[0].moments["liftoff"]
    still, img = next((s, im) for s, im in stills if s.rep == 1 and "liftoff" in s.moments)
    view = rep_view_box(analysis, analysis.reps[0])
    w = img.shape[1]
    style = st.Style.for_width(w)
    header_h = st.panel(w, [(still.title, (255, 255, 255), True)], style.title_font_px, style.pad_px).shape[0]
    # the moment: the header names it
    assert "lift-off" in still.title
    assert _text_score(img[:header_h], still.title, style.title_font_px, (255, 255, 255), True) > 0.9
    # the skeleton: near-side amber along the thigh and the shin of the side facing the camera
    side = analysis.body.side
    kp = view.map(analysis.body.keypoints_px[lift.sample])
    for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "hip")):
        p, q = kp[LANDMARK[f"{side}_{a}"]], kp[LANDMARK[f"{side}_{b}"]]
        hits = 0
        for t in (0.3, 0.5, 0.7):
            x, y = (p + t * (q - p)).round().astype(int)
            patch = img[header_h + y - 4 : header_h + y + 5, x - 4 : x + 5].astype(int)
            hits += bool((np.abs(patch - np.array(st.NEAR)).max(axis=2) <= 60).any())
        assert hits >= 2, f"no skeleton along {a}-{b}"
    # every read-out, with its limit where a finding is located at this frame
    emph = emphasis_for(analysis, still.findings)
    limits = 0
    for series in DEFAULT_ANGLES:
        value = series_value(analysis, series, still.sample)
        if not math.isfinite(value):
            continue
        status = emph.status.get(series)
        colour = st.STATUS_COLOUR.get(status, st.ANGLE) if status else st.ANGLE
        text = format_angle(ANGLE_BY_SERIES[series].label, value, emph.thresholds.get(series))
        limits += "limit" in text
        assert _text_score(img, text, style.font_px, colour, True) > 0.85, text
    assert limits >= 1  # the torso-lean limit is drawn beside its value
    # the findings at this frame are written in the footer
    for f in still.findings:
        colour = st.STATUS_COLOUR.get(f.status, st.MUTED)
        assert _text_score(img[-260:], finding_line(f), style.font_px, colour, f.is_fault) > 0.85, f.rule_id


def _line_pixels(img: np.ndarray, ax, *, x=None, y=None, colour_hex: str, tol: int = 70) -> float:
    """Fraction of the axes' pixels along a vertical (x) or horizontal (y) data line in that colour."""
    h = img.shape[0]
    (x0, y0), (x1, y1) = ax.get_window_extent().get_points()
    r, g, b = (int(colour_hex[i : i + 2], 16) for i in (1, 3, 5))
    if x is not None:
        px = round(float(ax.transData.transform((x, 0))[0]))
        strip = img[int(h - y1) + 2 : int(h - y0) - 2, px - 1 : px + 2]
    else:
        py = round(float(h - ax.transData.transform((0, y))[1]))
        strip = img[py - 1 : py + 2, int(x0) + 2 : int(x1) - 2].transpose(1, 0, 2)
    near = (np.abs(strip.astype(int) - np.array([b, g, r])).max(axis=2) <= tol).any(axis=1)
    return float(near.mean())


def test_curves_show_series_moments_and_limits(analysis):
    from formcheck_core.render.curves import MOMENT_STYLE, PANELS

    fig = angle_curves_figure(analysis, show_raw=True)
    img = figure_bgr(fig)
    axes = [ax for ax in fig.axes if ax.axison]
    assert len(axes) == 3
    for r in analysis.reps:  # moment lines cross the whole panel (dashed ones at least half of it)
        for name, m in r.moments.items():
            colour = MOMENT_STYLE[name][1]
            assert _line_pixels(img, axes[0], x=m.time_s, colour_hex=colour) > (
                0.9 if name == "lockout" else 0.3
            )
    lines = threshold_lines(analysis)
    assert lines
    for line in lines:
        ax = axes[next(i for i, p in enumerate(PANELS) if line.series in {s for s, _, _ in p[2]})]
        colour = "#e03131" if line.broken else "#868e96"
        assert _line_pixels(img, ax, y=line.value, colour_hex=colour) > 0.3, line.label
    hip_colour = PANELS[0][2][0][2]
    r, g, b = (int(hip_colour[i : i + 2], 16) for i in (1, 3, 5))
    assert (np.abs(img.astype(int) - np.array([b, g, r])).max(axis=2) <= 40).sum() > 2000  # the hip curve


def _inventory(fig) -> dict:
    """What a curve figure shows, artist by artist (not pixels)."""
    axes = [ax for ax in fig.axes if ax.axison]
    out: dict = {"suptitle": fig._suptitle.get_text() if fig._suptitle else None, "axes": []}
    for ax in axes:
        lines = sorted(
            (
                tuple(np.round(np.asarray(ln.get_xdata(), float)[:2], 6)),
                tuple(np.round(np.asarray(ln.get_ydata(), float)[:2], 6)),
                ln.get_color(),
                ln.get_linestyle(),
            )
            for ln in ax.lines
            if len(ln.get_xdata()) == 2
        )
        texts = sorted(t.get_text() for t in ax.texts)
        spans = sorted(tuple(np.round(p.get_x(), 6) for _ in [0]) for p in ax.patches)
        out["axes"].append(
            {
                "lines": lines,
                "texts": texts,
                "spans": spans,
                "xlim": np.round(ax.get_xlim(), 6).tolist(),
                "ylim": np.round(ax.get_ylim(), 3).tolist(),
                "title": ax.get_title(loc="left"),
            }
        )
    return out


def test_reused_rep_figure_shows_what_a_fresh_one_shows(analysis):
    assert len(analysis.reps) == 2
    for number, fig in rep_curve_figures(analysis):
        fresh = angle_curves_figure(analysis, rep=number, show_raw=True)
        assert _inventory(fig) == _inventory(fresh), f"rep {number}"


def test_curve_jobs_in_one_process_reuse_one_rep_figure_and_show_what_fresh_ones_show(
    analysis, tmp_path, monkeypatch
):
    """The rep-curve jobs a process runs share its figure (the series and layout are made once);
    each rep still shows what a fresh figure of that rep shows, and its picture does not depend
    on the order the process drew the reps in (a worker takes jobs from the front, the caller
    from the back)."""
    from formcheck_core.render import files
    from formcheck_core.render.curves import RepCurveTemplate

    made = []
    real_init = RepCurveTemplate.__init__

    def counting_init(self, *args, **kwargs):
        made.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(RepCurveTemplate, "__init__", counting_init)
    numbers = [r.number for r in analysis.reps]
    pictures = {}
    for order in ("in order", "reversed"):
        files.forget_rep_template()
        made.clear()
        out = tmp_path / order.replace(" ", "_")
        parts = [
            files.write_curve_part(analysis, out, (n,))
            for n in (numbers if order == "in order" else numbers[::-1])
        ]
        assert len(made) == 1
        assert sorted(n for p in parts for n in p.rep_curves) == numbers
        pictures[order] = {n: (out / f"rep{n}_curves.png").read_bytes() for n in numbers}
        last = numbers[-1] if order == "in order" else numbers[0]  # the figure now shows this rep
        fresh = angle_curves_figure(analysis, rep=last, show_raw=True)
        assert _inventory(made[0].fig) == _inventory(fresh)
    assert pictures["in order"] == pictures["reversed"]
    files.forget_rep_template()


def _series_lines(fig) -> list:
    """Per panel: the series lines drawn (label, colour, width, alpha, gid, values) and the legend's
    texts in order."""
    out = []
    for ax in (a for a in fig.axes if a.axison):
        lines = sorted(
            (
                ln.get_label(),
                ln.get_color(),
                ln.get_linewidth(),
                ln.get_alpha(),
                ln.get_gid(),
                tuple(
                    None if math.isnan(v) else round(v, 6) for v in np.asarray(ln.get_ydata(), float).tolist()
                ),
            )
            for ln in ax.lines
            if len(ln.get_xdata()) > 2 and ln.get_visible()
        )
        legend = ax.get_legend()
        texts = [t.get_text() for t in legend.get_texts()] if legend is not None else []
        out.append((lines, texts))
    return out


@pytest.mark.parametrize("pipeline", ["handmade", "real"])
def test_whole_clip_figures_from_one_figure_show_what_fresh_ones_show(pipeline, analysis):
    """The whole-clip curves (smoothed with the raw ones faint, then raw only) are drawn from one
    figure: the first is the fresh smoothed figure pixel for pixel; the second shows the fresh raw
    figure's lines, low-confidence halos, legends, moments, limits and shading, within the first
    one's limits. The real pipeline's analysis adds the halos and the back panel."""
    from formcheck_core.render.curves import whole_clip_figures

    if pipeline == "real":
        analysis = real_analysis(CLIP)

    got = {}
    for kind, fig in whole_clip_figures(analysis):
        got[kind] = (figure_bgr(fig).copy(), _series_lines(fig), _inventory(fig))
    fresh = angle_curves_figure(analysis, show_raw=True)
    assert np.array_equal(got["smoothed"][0], figure_bgr(fresh))
    raw = angle_curves_figure(analysis, raw=True)
    figure_bgr(raw)  # laid out and autoscaled, as when written
    assert got["raw"][1] == _series_lines(raw)
    assert any(label.endswith("(raw)") for lines, _ in got["raw"][1] for label, *_ in lines)
    if pipeline == "real":
        assert any(
            gid and gid.startswith("low-confidence:") for lines, _ in got["raw"][1] for *_, gid, _ in lines
        )
        assert any("back" in texts for _, texts in got["raw"][1])  # the back panel
    mine, theirs = got["raw"][2], _inventory(raw)
    for a, b in zip(mine["axes"], theirs["axes"], strict=True):
        assert (
            a["ylim"][0] <= b["ylim"][0] + 1e-3 and a["ylim"][1] >= b["ylim"][1] - 1e-3
        )  # the raw lines fit
        a.pop("ylim"), b.pop("ylim")
        b["lines"] = [ln for ln in b["lines"] if ln in a["lines"] or ln[1][0] != ln[1][1]]
    assert mine == theirs
    assert got["raw"][0].shape == got["smoothed"][0].shape
