"""Angle curves over time: hip and knee angle, torso lean, elbow angle, and the back's rounding.

The back panel (``back_flexion_rel``, where the back was read in a side view: every sample of
the pose pass) takes its title, unit and scale from the metric registry
(:data:`~formcheck_core.biomech.metrics.METRIC_SPECS`, :data:`~formcheck_core.vocabulary.UNITS`) and its
limit from the rule findings on that metric.

Built on :class:`matplotlib.figure.Figure` (no pyplot, no global state), so figures can be made
from widget callbacks on any thread. Key moments are labelled vertical lines, rule thresholds
horizontal lines, reps shaded (partial pulls grey and hatched, named "partial pull N"); a rep's figure marks each angle metric on its curve
at the sample it was read, labelled with the same text as the finding, and the back flexion (a
median from set-up to knee pass) as a level over the frames it summarises, labelled "median ..."
(:func:`metric_markers`). Stretches of a
curve whose joints are at low pose confidence (:mod:`formcheck_core.biomech.quality`) are drawn
over in grey (:func:`low_confidence_curve`).
:class:`TimeCursor` adds a movable time line (for widgets).

Long because the whole-clip and per-rep figures share panels, limits, moment lines and markers
(one figure template, reused for every rep).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..analysis import Analysis
from ..biomech.back_series import MEASURE_STRIDE
from ..biomech.body import MOMENT_NAMES
from ..biomech.metrics import METRIC_SPECS
from ..biomech.quality import low_confidence_samples
from ..pulls import pull_heading
from ..readings import MetricReading, metric_readings
from ..scene_cuts import cut_samples
from ..vocabulary import LOW_CONFIDENCE_SUFFIX, PARTIAL_PULL, UNITS, format_limit, moment_label
from .agg_text import GlyphCachingCanvas
from .overlay import displayed_series, series_for_metric, threshold_on_series

#: Most entries of the moment legend in one row (5 overrun a 4-inch figure at FS_NOTE).
LEGEND_MAX_COLS = 4
#: Panels: (title, y label, [(series, legend label, colour)]).
PANELS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Hip and knee angle",
        "angle (°), 180 = straight",
        (("hip_angle_deg", "hip", "#d9480f"), ("knee_angle_deg", "knee", "#1c7ed6")),
    ),
    ("Torso lean from vertical", "lean (°), 0 = upright", (("torso_lean_deg", "torso lean", "#2b8a3e"),)),
    ("Elbow angle", "angle (°), 180 = straight", (("elbow_angle_deg", "elbow", "#7048e8"),)),
)

#: The back metric drawn, per analysed sample, in its own panel.
BACK_METRIC = "back_flexion_rel"
BACK_COLOUR = "#c2255c"

#: Key moment -> (short label, colour, line style).
#: The label is the moment's name for people (:func:`~formcheck_core.vocabulary.moment_label`:
#: "knee pass", as every view says it; the legend said "knee", the name of a joint).
MOMENT_STYLE: dict[str, tuple[str, str, str]] = {
    name: (moment_label(name), colour, ls)
    for name, colour, ls in (
        ("setup", "#868e96", ":"),
        ("liftoff", "#212529", "--"),
        ("knee_pass", "#495057", "-."),
        ("lockout", "#212529", "-"),
    )
}
_FALLBACK_MOMENT = ("", "#495057", ":")
REP_SHADES = ("#fff3bf", "#e7f5ff")
#: A partial pull's shade: grey, hatched, so it never reads as a rep (named "partial pull N").
PARTIAL_SHADE = "#f1f3f5"
PARTIAL_HATCH = "////"
PARTIAL_EDGE = "#adb5bd"
#: A hard scene cut (:mod:`formcheck_core.scene_cuts`) on the whole-clip figure: (legend label,
#: colour, line style). No pull spans one.
SCENE_CUT_STYLE = ("scene cut", "#7048e8", "-")
#: Colour of curve stretches read from low-confidence joints.
LOW_CONFIDENCE_GREY = "#adb5bd"
#: Font sizes in points (at the default 4 in x 180 dpi, 8 pt is ~10 CSS px on a 360 px wide phone).
FS_TITLE, FS_LABEL, FS_TICK, FS_NOTE = 10.5, 8.5, 8.5, 8.0
_NOTE_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}


@dataclass(frozen=True)
class ThresholdLine:
    """A horizontal threshold line: the series' panel, the value, a label, and whether any rep broke it."""

    series: str
    value: float
    label: str
    broken: bool


def threshold_lines(analysis: Analysis, rep: int | None = None) -> list[ThresholdLine]:
    """Threshold lines from the rule findings whose limit is on an angle series' scale
    (:func:`~formcheck_core.render.overlay.threshold_on_series`), one per series and value."""
    lines: dict[tuple[str, float], ThresholdLine] = {}
    for f in analysis.findings:
        if rep is not None and f.rep != rep:
            continue
        on_series = threshold_on_series(analysis, f)
        if on_series is None:
            continue
        key = on_series
        old = lines.get(key)
        broken = f.is_fault or (old is not None and old.broken)
        # the rule by its title, the limit by the one formatter (a metric id read "torso lean liftoff")
        label = f"limit {format_limit(key[1], 'deg')} ({f.name})"
        lines[key] = ThresholdLine(key[0], key[1], label, broken)
    return list(lines.values())


def back_points(analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(time s, ``back_flexion_rel`` in its display unit) at the samples the back pass measured;
    empty arrays without a back series. NaN where the outline could not be read."""
    back, body = analysis.back, analysis.body
    if back is None or body is None or len(back.sample) == 0:
        return np.empty(0), np.empty(0)
    t = np.asarray(body.time_s, float)[np.asarray(back.sample, int)]
    return t, np.asarray(back.back_flexion_rel, float) * _back_scale()


def _split_runs(t: np.ndarray, y: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(t, y)`` with a NaN wherever consecutive times are more than ``step_s`` apart, so a line
    drawn through them breaks between separately measured stretches (e.g. two reps)."""
    if t.size < 2:
        return t, y
    cut = np.flatnonzero(np.diff(t) > step_s) + 1
    return np.insert(t, cut, np.nan), np.insert(y.astype(float), cut, np.nan)


def _back_scale() -> float:
    unit = UNITS.get(METRIC_SPECS[BACK_METRIC].unit)
    return unit.scale if unit is not None else 1.0


def back_limit_lines(analysis: Analysis, rep: int | None = None) -> list[ThresholdLine]:
    """The limits of the findings on ``back_flexion_rel`` (in the panel's display unit), one per value."""
    spec = METRIC_SPECS[BACK_METRIC]
    lines: dict[float, ThresholdLine] = {}
    for f in analysis.findings:
        if f.metric != BACK_METRIC or f.threshold is None or not np.isfinite(f.threshold):
            continue
        if rep is not None and f.rep != rep:
            continue
        old = lines.get(f.threshold)
        broken = f.is_fault or (old is not None and old.broken)
        label = f"limit {format_limit(f.threshold, spec.unit)} ({f.name})"
        lines[f.threshold] = ThresholdLine(BACK_METRIC, f.threshold * _back_scale(), label, broken)
    return list(lines.values())


def _back_panel(analysis: Analysis) -> tuple | None:
    if not np.isfinite(back_points(analysis)[1]).any():
        return None
    spec = METRIC_SPECS[BACK_METRIC]
    unit = UNITS.get(spec.unit)
    ylabel = unit.symbol if unit is not None else spec.unit
    return (f"{spec.sample_label} (body outline)", ylabel, ((BACK_METRIC, "back", BACK_COLOUR),))


def _has_data(analysis: Analysis, series: str) -> bool:
    body = analysis.body
    series = displayed_series(analysis, series)
    return body is not None and series in body.smoothed and bool(np.isfinite(body.smoothed[series]).any())


def _panels(analysis: Analysis, elbow: bool) -> list:
    panels = [p for p in PANELS if any(_has_data(analysis, s) for s, _, _ in p[2])]
    if not elbow:
        panels = [p for p in panels if p[2][0][0] != "elbow_angle_deg"]
    back = _back_panel(analysis)
    return [*panels, back] if back is not None else panels


def low_confidence_curve(analysis: Analysis, series: str, y: np.ndarray) -> np.ndarray | None:
    """``y`` (a body series) where its joints are at low pose confidence, widened by one sample
    each way so an isolated sample still draws a segment; NaN elsewhere. None when nothing is low
    (or the series' joints are unknown)."""
    body, q = analysis.body, analysis.pose_quality
    low = low_confidence_samples(q, body.side, series) if body is not None and q is not None else None
    if low is None or not low.any():
        return None
    wide = low.copy()
    wide[1:] |= low[:-1]
    wide[:-1] |= low[1:]
    return np.where(wide, y, np.nan)


#: The legend entry of the grey low-confidence halo (once per panel).
GREY_LABEL = f"low pose confidence ({LOW_CONFIDENCE_SUFFIX.strip()})"


@dataclass
class SeriesLines:
    """The lines :func:`_base_figure` drew for one series of a panel: the faint raw line behind
    (``show_raw``), the main line and its grey low-confidence halo; None where not drawn."""

    series: str
    label: str
    colour: str
    faint: Line2D | None = None
    main: Line2D | None = None
    halo: Line2D | None = None


def _across_cuts(analysis: Analysis, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time s, ``y``) of a body series with a NaN before each scene cut's first sample: no line
    joins two shots."""
    assert analysis.body is not None
    t = np.asarray(analysis.body.time_s, dtype=float)
    cuts = cut_samples(np.asarray(analysis.body.frame_index), analysis.scene_cut_frames)
    return np.insert(t, cuts, np.nan), np.insert(np.asarray(y, dtype=float), cuts, np.nan)


def _low_confidence_halo(
    analysis: Analysis, ax, shown: str, y: np.ndarray, across_cuts, label: str
) -> Line2D | None:
    """A grey halo behind the stretches of ``y`` (series ``shown``) read at low pose confidence
    (:func:`low_confidence_curve`), labelled ``label``; None when nothing is low."""
    grey = low_confidence_curve(analysis, shown, y)
    if grey is None:
        return None
    (halo,) = ax.plot(  # a halo behind the coloured line: the series stays recognisable
        *across_cuts(grey),
        color=LOW_CONFIDENCE_GREY,
        lw=6.0,
        alpha=0.7,
        solid_capstyle="round",
        zorder=2.5,
        gid=f"low-confidence:{shown}",
        label=label,
    )
    return halo


def _base_figure(
    analysis: Analysis,
    *,
    raw: bool,
    show_raw: bool,
    elbow: bool,
    width_in: float,
    panel_height_in: float,
    dpi: int,
    names_on_top: bool = True,
    lines: list[list[SeriesLines]] | None = None,
) -> tuple[Figure, list, list]:
    """The figure with what every view of the clip shares: series lines, titles, axes labels, grid.

    ``names_on_top``: the top panel will carry the pulls' names above it (whole-clip figure), so its
    title is placed above them when drawn; every other title sits at the panel's top edge, where
    matplotlib's automatic placement would put it too (nothing is drawn above those panels), and
    is not searched for (that search measures every tick label of the panel, each draw).
    ``lines``: filled with each panel's :class:`SeriesLines` (for :func:`whole_clip_figures`)."""
    body = analysis.body
    panels = _panels(analysis, elbow)
    fig = Figure(
        figsize=(width_in, panel_height_in * max(len(panels), 1) + 0.6), dpi=dpi, layout="constrained"
    )
    if body is None or not panels:
        ax = fig.add_subplot()
        ax.text(
            0.5,
            0.5,
            "No body series: too little pose data to draw angle curves.",
            ha="center",
            va="center",
            wrap=True,
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return fig, [], []
    axes = list(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
    t = np.asarray(body.time_s, dtype=float)
    source = body.raw if raw else body.smoothed
    cuts = cut_samples(np.asarray(body.frame_index), analysis.scene_cut_frames)
    across_cuts = partial(_across_cuts, analysis)
    for i, (ax, (title, ylabel, series_list)) in enumerate(zip(axes, panels, strict=False)):
        grey_label = GREY_LABEL
        panel_lines: list[SeriesLines] = []
        for series, label, colour in series_list:
            drawn = SeriesLines(series, label, colour)
            panel_lines.append(drawn)
            if series == BACK_METRIC:  # measured at the back pass's samples (main pass: every one)
                bt, by = back_points(analysis)
                at = np.searchsorted(bt, t[list(cuts)])  # no line joins two shots
                bt, by = _split_runs(
                    np.insert(bt, at, np.nan),
                    np.insert(by, at, np.nan),
                    # the back pass measures every MEASURE_STRIDE-th sample of a pull
                    step_s=1.5 * MEASURE_STRIDE * float(np.median(np.diff(t))) if t.size > 1 else np.inf,
                )
                (drawn.main,) = ax.plot(
                    bt, by, color=colour, lw=1.2, marker="o", ms=2.5, label=label, zorder=3
                )
                continue
            shown = displayed_series(analysis, series, raw=raw)
            if show_raw and not raw and displayed_series(analysis, series, raw=True) in body.raw:
                (drawn.faint,) = ax.plot(
                    *across_cuts(body.raw[displayed_series(analysis, series, raw=True)]),
                    color=colour,
                    lw=0.8,
                    alpha=0.35,
                    zorder=2,
                )
            if shown in source:
                (drawn.main,) = ax.plot(
                    *across_cuts(source[shown]),
                    color=colour,
                    lw=1.8,
                    label=label + (" (raw)" if raw else ""),
                    zorder=3,
                )
                drawn.halo = _low_confidence_halo(analysis, ax, shown, source[shown], across_cuts, grey_label)
                if drawn.halo is not None:
                    grey_label = "_nolegend_"
        if lines is not None:
            lines.append(panel_lines)
        world = any(displayed_series(analysis, sr) != sr for sr, _, _ in series_list)
        ax.set_title(
            title + (" (3-D estimate)" if world else ""),
            fontsize=FS_TITLE,
            loc="left",
            y=None if i == 0 and names_on_top else 1.0,
        )
        ax.set_ylabel(ylabel, fontsize=FS_LABEL)
        ax.tick_params(labelsize=FS_TICK)
        ax.grid(True, color="#e9ecef", lw=0.6, zorder=1)
        if len(series_list) > 1 or raw:
            # inside its panel wherever "best" puts it, so it cannot change the layout: left out of
            # it, its best place is not searched for the layout too
            legend = _best_place_searched_once(ax.legend(fontsize=FS_NOTE, loc="best", framealpha=0.8))
            legend.set_in_layout(False)
    axes[-1].set_xlabel("time (s)", fontsize=FS_LABEL)
    for ax in axes[:-1]:
        # no x label above the bottom panel: a fixed place for the empty label, so matplotlib does
        # not place it (each placement runs the axis' ticks again and measures its tick labels, on
        # every layout pass and draw); an empty label draws nothing and is left out of the layout
        ax.xaxis.set_label_coords(0.5, 0.0)
    return fig, axes, panels


def _best_place_searched_once(legend: Legend) -> Legend:
    """``legend`` (``loc="best"``) searching its best place once per draw: matplotlib's
    ``Legend.draw`` asks for its offset twice (for its frame, then for its contents), and each ask
    searches the panel's data anew; both come in one draw, with the same data and size, so the
    second takes the first's answer (the same place). The next draw searches again."""
    find, draw = legend._find_best_position, legend.draw  # type: ignore[attr-defined]
    found: dict[tuple, tuple[float, float]] = {}

    def find_once(width: float, height: float, renderer) -> tuple[float, float]:
        key = (width, height, id(renderer))
        if key not in found:
            found[key] = find(width, height, renderer)
        return found[key]

    def draw_searching_anew(renderer) -> None:
        found.clear()
        draw(renderer)

    legend._find_best_position = find_once  # type: ignore[attr-defined]
    legend.draw = draw_searching_anew  # type: ignore[method-assign]
    return legend


def metric_markers(analysis: Analysis, rep: int) -> list[tuple[str, MetricReading]]:
    """(displayed series, reading) for each angle metric of ``rep`` that lies on a smoothed curve:
    read from exactly one series, and that series at the metric's sample is the metric's value
    (so the marker sits on the curve; metrics combining series, e.g. squat_index_setup_deg, have none);
    and the back panel's reading (series :data:`BACK_METRIC`) when the back pass measured its sample
    (the pull's median: drawn as a level over the window it summarises, labelled "median ...",
    since it is no one frame's value)."""
    body = analysis.body
    out: list[tuple[str, MetricReading]] = []
    if body is None:
        return out
    back = analysis.back
    for m in metric_readings(analysis, rep):
        if m.metric == BACK_METRIC:
            row = back.row(m.sample) if back is not None else None
            if back is not None and row is not None and np.isfinite(back.back_flexion_rel[row]):
                out.append((BACK_METRIC, m))
            continue
        series = series_for_metric(m.metric)
        if len(series) != 1:
            continue
        name = displayed_series(analysis, series[0])
        y = body.smoothed.get(name)
        if y is not None and abs(float(y[m.sample]) - m.value) <= 1e-9 * max(1.0, abs(m.value)):
            out.append((series[0], m))
    return out


def marker_x(reading: MetricReading) -> float:
    """Where a reading's label is anchored in time (s): its sample's time, or for a median the
    start of the window it summarises (drawn as a level over that window, not a point)."""
    return reading.window_time_s[0] if reading.window_time_s is not None else reading.time_s


def _marker_label(ax, reading: MetricReading, dx: float, dy: float):
    """The reading's label (:attr:`MetricReading.shown`) at ``(dx, dy)`` points from its anchor."""
    return ax.annotate(
        reading.shown,
        (marker_x(reading), marker_y(reading)),
        xytext=(dx, dy),
        textcoords="offset points",
        ha="left" if dx > 0 else "right",
        fontsize=FS_NOTE,
        color="#212529",
        zorder=6,
        gid=f"metric:{reading.metric}",
        in_layout=False,  # a label wider than either side of its point may still run past an edge
    )


def marker_y(reading: MetricReading) -> float:
    """Where a reading's marker sits on its panel: its value in the panel's display unit (the
    back panel draws ``back_flexion_rel`` as % of torso length, :func:`back_points`; angles as they are)."""
    unit = UNITS.get(reading.unit)
    return reading.value * (unit.scale if unit is not None else 1.0)


#: Estimated extent of a marker label, in ems of its font size: the mean advance of a character
#: (DejaVu Sans, digits and lower case, generous) and one line with its leading.
LABEL_CHAR_EM, LABEL_LINE_EM = 0.62, 1.3


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Two boxes (x0, y0, x1, y1) in points overlap by more than half a point each way."""
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _to_pt(fig: Figure, ax, x: float, y: float) -> tuple[float, float]:
    """Data point (x, y) of ``ax`` in points from the axes' lower left (estimated, no renderer)."""
    pos = ax.get_position()
    w_pt, h_pt = pos.width * fig.get_figwidth() * 72, pos.height * fig.get_figheight() * 72
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return (x - x0) / ((x1 - x0) or 1.0) * w_pt, (y - y0) / ((y1 - y0) or 1.0) * h_pt


def _limit_box(fig: Figure, ax, y: float, text: str, *, below: bool) -> tuple[float, float, float, float]:
    """Box (points) of a limit label: right-aligned at 0.99 of the panel's width, just above its
    line (``below``: just under it), with its _NOTE_BOX padding."""
    right, py = _to_pt(fig, ax, ax.get_xlim()[1], y)
    right *= 0.99
    width, line, pad = len(text) * LABEL_CHAR_EM * FS_NOTE, LABEL_LINE_EM * FS_NOTE, 0.15 * FS_NOTE
    lo = py - line if below else py
    return (right - width - pad, lo - pad, right + pad, lo + line + pad)


def _marker_box(fig: Figure, ax, reading: MetricReading) -> tuple[float, float, float, float]:
    """Box (points) a reading's mark covers: its ringed point, or its median's level over its window."""
    x0, y = _to_pt(fig, ax, marker_x(reading), marker_y(reading))
    end = reading.window_time_s[1] if reading.window_time_s is not None else reading.time_s
    x1, _ = _to_pt(fig, ax, end, marker_y(reading))
    half = 3.0 if reading.window_time_s is None else 1.5  # a ring's radius; a level's half width
    return (x0 - half, y - half, x1 + half, y + half)


def _label_offsets(
    fig: Figure,
    ax,
    readings: Sequence[MetricReading],
    avoid: Sequence[tuple[float, float, float, float]] = (),
) -> list[tuple[float, float]]:
    """Offsets (dx, dy in points) of the marker labels of ``readings`` on ``ax`` (in time order) so
    that none overprints another: each label goes at 3 pt above its point, or the nearest free
    line below or above it, inside the panel where one is free; to the right of its point, or to
    its left (dx < 0: right-aligned there) where it would run past the panel's right edge. Extents are estimated from the axes' size, limits and the label's
    length (no renderer: the layout is not final yet), with :data:`LABEL_CHAR_EM` to spare. Two
    readings of one value at one point ("hip @setup" and "hip @lift-off" read at one sample) share
    a place: the same text drawn twice there is one label. ``avoid``: boxes (points) of the
    panel's limit labels (:func:`_limit_box`): no marker label overprints one ("155°" on
    "limit 155°")."""
    pos = ax.get_position()
    w_pt, h_pt = pos.width * fig.get_figwidth() * 72, pos.height * fig.get_figheight() * 72
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    line = LABEL_LINE_EM * FS_NOTE
    placed: list[tuple[float, float, float, float]] = list(avoid)
    out: list[tuple[float, float]] = []
    seen: dict[tuple[float, float, str], tuple[float, float]] = {}
    for r in readings:
        if (r.time_s, r.value, r.shown) in seen:
            out.append(seen[(r.time_s, r.value, r.shown)])
            continue
        x = (marker_x(r) - x0) / ((x1 - x0) or 1.0) * w_pt
        py = (marker_y(r) - y0) / ((y1 - y0) or 1.0) * h_pt
        width = len(r.shown) * LABEL_CHAR_EM * FS_NOTE
        dx = 3.0 if x + 3 + width <= w_pt or x - 3 - width < 0 else -3.0
        px = x + dx if dx > 0 else x + dx - width  # the box's left edge
        boxes = [
            (px, py + 3 + k * line, px + width, py + 3 + (k + 1) * line) for k in (0, -1, 1, -2, 2, -3, 3)
        ]
        free = [b for b in boxes if not any(_overlap(b, p) for p in placed)]
        inside = [b for b in free if b[1] >= 0 and b[3] <= h_pt]  # in the panel, off the title
        box = (inside or free or boxes)[0]
        placed.append(box)
        out.append((dx, box[1] - py))
        seen[(r.time_s, r.value, r.shown)] = out[-1]
    return out


def _short_name(analysis: Analysis, number: int, *, long: bool) -> str:
    """A pull's name above the whole-clip figure: "rep 2" / "partial pull 1"; short, "2" / "p1"."""
    name = analysis.pull_label(number)
    if long:
        return name
    return name.split()[-1] if number <= len(analysis.reps) else f"p{name.split()[-1]}"


#: Least gap between two pull names above the whole-clip figure (points).
NAME_GAP_PT = 4.0


def _name_width_pt(text: str) -> float:
    """Width of ``text`` at the pull names' size (points), from the glyph outlines (no renderer)."""
    from matplotlib.textpath import TextPath

    return float(TextPath((0, 0), text, size=FS_NOTE).get_extents().width) if text else 0.0


def _pull_names(
    analysis: Analysis, numbers: Sequence[int], centres_s: Sequence[float], pt_per_s: float
) -> list[str]:
    """The names above the whole-clip figure of the pulls ``numbers`` centred at ``centres_s``, so
    that no two overlap at ``pt_per_s``: long ("rep 1", "partial pull 1") for up to 5 pulls; a
    partial pull crowding a neighbour reads "p1"; if names still crowd, every name is short ("1",
    "p1"); names that still touch are staggered (every other one a line higher)."""
    order = sorted(range(len(numbers)), key=lambda i: centres_s[i])

    def crowded(names: list[str]) -> set[int]:
        out: set[int] = set()
        for a, b in pairwise(order):
            room = (centres_s[b] - centres_s[a]) * pt_per_s
            if (_name_width_pt(names[a]) + _name_width_pt(names[b])) / 2 + NAME_GAP_PT > room:
                out |= {a, b}
        return out

    names = [_short_name(analysis, n, long=len(numbers) <= 5) for n in numbers]
    partial = {i for i, n in enumerate(numbers) if n > len(analysis.reps)}
    if crowd := crowded(names) & partial:
        names = [_short_name(analysis, n, long=i not in crowd) for i, n in enumerate(numbers)]
    if crowded(names):
        names = [_short_name(analysis, n, long=False) for n in numbers]
    touching = crowded(names)
    for k, i in enumerate(order):
        if i in touching and k % 2:
            names[i] += "\n"  # a top-axis label sits on its baseline: the name rises one line
    return names


def _decorate(
    analysis: Analysis, fig: Figure, axes: list, panels: list, rep: int | None, *, raw: bool, pad_s: float
) -> list:
    """Draw the reps (shading), moments, thresholds and labels of ``rep`` (None: the whole clip);
    returns the artists added, so a template can remove them for the next rep."""
    body = analysis.body
    assert body is not None
    t = np.asarray(body.time_s, dtype=float)
    reps = [r for r in analysis.pulls if rep is None or r.number == rep]  # partial pulls too
    lines = threshold_lines(analysis, rep) + back_limit_lines(analysis, rep)
    # scene cuts on the whole-clip figure, at the cut frame's time (source frames -> series time;
    # a cut after the last sample is drawn at the right edge)
    frames = np.asarray(body.frame_index, dtype=float)
    cuts_s = (
        [float(np.interp(f, frames, t)) for f in analysis.scene_cut_frames if f > frames[0]]
        if rep is None and t.size > 1
        else []
    )
    added: list = []
    #: id(axes) -> (limit line, its label artist): a label may move under its line (markers below).
    limit_texts: dict[int, list[tuple[ThresholdLine, Any]]] = {}
    if rep is None and reps and axes:  # rep numbers above the top panel, out of the data's way
        centres = [(t[r.start_sample] + t[min(r.end_sample, len(t) - 1)]) / 2 for r in reps]
        lo, hi = axes[0].get_xlim()
        width_pt = fig.get_figwidth() * 72 * axes[0].get_position().width
        names = _pull_names(analysis, [r.number for r in reps], centres, width_pt / max(hi - lo, 1e-9))
        top = axes[0].secondary_xaxis("top")
        top.set_xticks(centres, labels=names)
        top.tick_params(labelsize=FS_NOTE, length=0, colors="#5c5f66")
        top.xaxis.set_label_coords(0.5, 1.0)  # no label: not placed on every pass (see _base_figure)
        added.append(top)
    for ax, (_title, _ylabel, series_list) in zip(axes, panels, strict=False):
        for i, r in enumerate(reps):
            t0, t1 = t[r.start_sample], t[min(r.end_sample, len(t) - 1)]
            if r.complete:
                shade = REP_SHADES[i % 2] if rep is None else REP_SHADES[0]
                added.append(ax.axvspan(t0, t1, color=shade, zorder=0, lw=0))
            else:
                added.append(
                    ax.axvspan(t0, t1, fc=PARTIAL_SHADE, ec=PARTIAL_EDGE, hatch=PARTIAL_HATCH, zorder=0, lw=0)
                )
        for line in lines:
            if line.series in {s for s, _, _ in series_list}:
                added.append(
                    ax.axhline(
                        line.value, color="#e03131" if line.broken else "#868e96", ls="--", lw=1.1, zorder=2
                    )
                )
                limit_texts.setdefault(id(ax), [])
                added.append(
                    ax.text(
                        0.99,
                        line.value,
                        line.label,
                        transform=ax.get_yaxis_transform(),
                        ha="right",
                        va="bottom",
                        fontsize=FS_NOTE,
                        color="#e03131" if line.broken else "#5c5f66",
                        bbox=_NOTE_BOX,
                        zorder=6,
                    )
                )
                limit_texts[id(ax)].append((line, added[-1]))
        for r in reps:
            for name, m in sorted(r.moments.items(), key=lambda kv: kv[1].time_s):
                label, colour, ls = MOMENT_STYLE.get(name, _FALLBACK_MOMENT)
                added.append(ax.axvline(m.time_s, color=colour, ls=ls, lw=1.0, zorder=4))
        for cut_s in cuts_s:
            added.append(ax.axvline(cut_s, color=SCENE_CUT_STYLE[1], ls=SCENE_CUT_STYLE[2], lw=1.6, zorder=4))
    if rep is not None and reps:
        r = reps[0]
        lo = t[r.start_sample] - pad_s
        hi = t[min(r.end_sample, len(t) - 1)] + pad_s
        axes[0].set_xlim(max(lo, t[0]), min(hi, t[-1]))
    if rep is not None and not raw:
        on_axes: list[tuple[object, MetricReading]] = []
        for series, reading in metric_markers(analysis, rep):
            ax = next(
                (a for a, (_, _, sl) in zip(axes, panels, strict=True) if series in {s for s, _, _ in sl}),
                None,
            )
            if ax is not None:
                on_axes.append((ax, reading))
        for ax in axes:
            mine = sorted((rd for a, rd in on_axes if a is ax), key=lambda rd: (marker_x(rd), marker_y(rd)))
            # a limit label that would cover a mark (a median level just above its limit) goes
            # under its line; marker labels then keep off every limit label
            marks = [_marker_box(fig, ax, rd) for rd in mine]
            avoid = []
            for line, text in limit_texts.get(id(ax), []):
                box = _limit_box(fig, ax, line.value, line.label, below=False)
                under = _limit_box(fig, ax, line.value, line.label, below=True)
                if any(_overlap(box, m) for m in marks) and not any(_overlap(under, m) for m in marks):
                    text.set_va("top")
                    box = under
                avoid.append(box)
            for reading, (dx, dy) in zip(mine, _label_offsets(fig, ax, mine, avoid), strict=True):
                if reading.window_time_s is not None:  # a median: a level over the frames it summarises
                    added += ax.plot(
                        list(reading.window_time_s),
                        [marker_y(reading)] * 2,
                        color="#212529",
                        lw=1.6,
                        solid_capstyle="butt",
                        marker="|",
                        ms=6,
                        zorder=7,  # over a limit label's box: a reading's mark is never hidden
                        gid=f"median:{reading.metric}",
                    )
                    added.append(_marker_label(ax, reading, dx, dy))
                    continue
                added += ax.plot(
                    [reading.time_s],
                    [marker_y(reading)],
                    marker="o",
                    ms=4.5,
                    mfc="white",
                    mec="#212529",
                    mew=1.1,
                    ls="none",
                    zorder=5,
                )
                added.append(_marker_label(ax, reading, dx, dy))
    present = [n for n in MOMENT_NAMES if any(n in r.moments for r in reps)]
    handles = []
    # a legend, not labels at the lines (moments 0.1 s apart overprint); below a rep's title
    for n in present:
        label, colour, ls = MOMENT_STYLE[n]
        handles.append(axes[0].plot([], [], color=colour, ls=ls, lw=1.0, label=label)[0])
    if cuts_s:
        label, colour, ls = SCENE_CUT_STYLE
        handles.append(axes[0].plot([], [], color=colour, ls=ls, lw=1.6, label=label)[0])
    if any(not r.complete for r in reps):  # the hatched shade, named once
        patch = Patch(fc=PARTIAL_SHADE, ec=PARTIAL_EDGE, hatch=PARTIAL_HATCH, lw=0, label=PARTIAL_PULL)
        handles.append(patch)
    if handles:
        added.append(
            fig.legend(
                handles=handles,
                loc="outside lower center" if rep is not None else "outside upper center",
                # one row up to 4 entries; 5 (every moment and a partial pull) ran past both
                # edges of a 4-inch figure: two rows of 3
                ncols=len(handles) if len(handles) <= LEGEND_MAX_COLS else 3,
                fontsize=FS_NOTE,
                frameon=False,
            )
        )
        added += [h for h in handles if not isinstance(h, Patch)]
    if rep is not None and reps:  # updated in place by the next rep's call, so not in ``added``
        name = pull_heading(analysis, reps[0])
        title = f"{name[0].upper()}{name[1:]}: angles{' (raw)' if raw else ''}"
        shown = getattr(fig, "_suptitle", None)  # the first rep's title, placed by its layout: keep its place
        if shown is not None:
            shown.set_text(title)
        else:
            fig.suptitle(title, fontsize=FS_TITLE)
    return added


def angle_curves_figure(
    analysis: Analysis,
    *,
    raw: bool = False,
    show_raw: bool = False,
    rep: int | None = None,
    elbow: bool = True,
    width_in: float = 4.0,
    panel_height_in: float = 1.9,
    dpi: int = 180,
    pad_s: float = 0.6,
) -> Figure:
    """Figure of the angle series over time (seconds), one panel per angle group.

    ``raw``: plot the unsmoothed series instead of the smoothed ones; ``show_raw``: draw the raw
    series faintly behind the smoothed ones. ``rep``: zoom to that rep (``pad_s`` either side) and
    label its key moments in text; otherwise the whole clip with every rep shaded and a legend of
    moments. Thresholds come from the rule findings in degrees (dashed; red if a rep broke it).
    Gaps (NaN) break the lines. The default size (4 in at 180 dpi, 720 px wide) keeps the text
    legible on a phone. Never touches pyplot. For every rep's figure, :func:`rep_curve_figures`
    reuses one figure; :func:`whole_clip_figures` draws the smoothed and the raw whole-clip
    figures from one.
    """
    fig, axes, panels = _base_figure(
        analysis,
        raw=raw,
        show_raw=show_raw,
        elbow=elbow,
        width_in=width_in,
        panel_height_in=panel_height_in,
        dpi=dpi,
        names_on_top=rep is None,
    )
    if axes:
        _decorate(analysis, fig, axes, panels, rep, raw=raw, pad_s=pad_s)
    return fig


def _size_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``elbow``, ``width_in``, ``panel_height_in`` and ``dpi`` from ``kwargs``, with
    :func:`angle_curves_figure`'s defaults; any other key is an error."""
    options = {
        "elbow": kwargs.pop("elbow", True),
        "width_in": kwargs.pop("width_in", 4.0),
        "panel_height_in": kwargs.pop("panel_height_in", 1.9),
        "dpi": kwargs.pop("dpi", 180),
    }
    if kwargs:
        raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
    return options


def whole_clip_figures(analysis: Analysis, **kwargs) -> Iterator[tuple[str, Figure]]:
    """``("smoothed", figure)`` as ``angle_curves_figure(analysis, show_raw=True)``, then
    ``("raw", figure)`` as ``angle_curves_figure(analysis, raw=True)``, from one figure: the raw
    version swaps only the lines (the faint raw lines drawn in full, the smoothed ones and their
    low-confidence halos taken away, the raw ones' halos added) and the panels' legends, keeping
    the smoothed version's layout, axis limits (which already span the raw lines) and rasterised
    texts (:class:`~.agg_text.GlyphCachingCanvas`): one constrained layout instead of two. Save
    each figure before advancing."""
    lines: list[list[SeriesLines]] = []
    fig, axes, panels = _base_figure(
        analysis,
        raw=False,
        show_raw=True,
        lines=lines,
        **_size_options(kwargs),
    )
    GlyphCachingCanvas(fig)
    if axes:
        _decorate(analysis, fig, axes, panels, None, raw=False, pad_s=0.0)
    yield "smoothed", fig
    if axes:
        fig.set_layout_engine("none")  # keep the layout the smoothed version was drawn with
        for ax, panel_lines in zip(axes, lines, strict=True):
            _show_raw_lines(analysis, ax, panel_lines)
    yield "raw", fig


def _show_raw_lines(analysis: Analysis, ax, panel_lines: list[SeriesLines]) -> None:
    """Turn a panel drawn with ``show_raw`` into the raw-only panel ``_base_figure(raw=True)``
    draws: raw lines in full (labelled "(raw)"), their low-confidence halos, a legend of them all."""
    body = analysis.body
    assert body is not None
    ax.set_xlim(ax.get_xlim())  # as drawn: the raw lines are already inside them
    ax.set_ylim(ax.get_ylim())
    grey_label = GREY_LABEL
    handles: list = []
    for drawn in panel_lines:
        if drawn.series == BACK_METRIC:  # the same points in both versions
            if drawn.main is not None:
                handles.append(drawn.main)
            continue
        for old in (drawn.main, drawn.halo):
            if old is not None:
                old.remove()
        if drawn.faint is None:  # no raw series: the raw figure draws nothing for it either
            continue
        drawn.faint.set(lw=1.8, alpha=None, zorder=3, label=f"{drawn.label} (raw)")
        handles.append(drawn.faint)
        shown = displayed_series(analysis, drawn.series, raw=True)
        halo = _low_confidence_halo(
            analysis, ax, shown, body.raw[shown], partial(_across_cuts, analysis), grey_label
        )
        if halo is not None:
            if grey_label != "_nolegend_":
                handles.append(halo)
            grey_label = "_nolegend_"
    old_legend = ax.get_legend()
    if old_legend is not None:
        old_legend.remove()
    if not handles:
        return
    legend = _best_place_searched_once(
        ax.legend(handles=handles, fontsize=FS_NOTE, loc="best", framealpha=0.8)
    )
    legend.set_in_layout(False)


class RepCurveTemplate:
    """One figure for the curves of any rep of ``analysis``: the series are plotted once; per rep
    (:meth:`figure`) only its shading, moments, limits, labels, title and x range are swapped.
    The layout is the one computed for the clip's first rep (constrained layout runs when that rep
    is drawn, or once beforehand when another rep comes first), so a rep's picture does not depend
    on which reps this figure showed before. A figure is valid until the next :meth:`figure` call
    (save it first). Keep one per process to draw many reps cheaply."""

    def __init__(self, analysis: Analysis, *, show_raw: bool = True, pad_s: float = 0.6, **kwargs) -> None:
        self.analysis = analysis
        self.pad_s = pad_s
        self.fig, self.axes, self.panels = _base_figure(
            analysis,
            raw=False,
            show_raw=show_raw,
            names_on_top=False,
            **_size_options(kwargs),
        )
        # drawn once per rep: the texts at the same place in every rep (y ticks, axis labels,
        # panel titles) are rasterised once and pasted after (byte-identical, :mod:`.agg_text`)
        GlyphCachingCanvas(self.fig)
        self._first = analysis.pulls[0].number if analysis.pulls else None
        self._added: list = []
        self._laid_out = False

    def _show(self, rep: int) -> None:
        for artist in self._added:
            artist.remove()
        for ax in self.axes:
            ax.relim()
            ax.autoscale(True)
        self._added = _decorate(
            self.analysis, self.fig, self.axes, self.panels, rep, raw=False, pad_s=self.pad_s
        )

    def figure(self, rep: int) -> Figure:
        """The figure showing rep ``rep`` (the "no body series" message figure without axes)."""
        if not self.axes:
            return self.fig
        if rep == self._first or self._first is None:
            self.fig.set_layout_engine("constrained")  # laid out when it is drawn
            self._laid_out = True
        else:
            if not self._laid_out:  # the first rep's layout, as when every rep is drawn in order
                self.fig.set_layout_engine("constrained")
                self._show(self._first)
                self.fig.draw_without_rendering()
                self._laid_out = True
            self.fig.set_layout_engine("none")  # keep the first rep's layout
        self._show(rep)
        return self.fig


def rep_curve_figures(
    analysis: Analysis,
    reps: Sequence[int] | None = None,
    *,
    show_raw: bool = True,
    pad_s: float = 0.6,
    **kwargs,
) -> Iterator[tuple[int, Figure]]:
    """``(rep number, figure)`` for each rep, like ``angle_curves_figure(analysis, rep=n)`` but from
    one :class:`RepCurveTemplate`. Each figure is valid until the next one is yielded (save it
    before advancing)."""
    numbers = [r.number for r in analysis.pulls] if reps is None else list(reps)
    if not numbers:
        return
    template = RepCurveTemplate(analysis, show_raw=show_raw, pad_s=pad_s, **kwargs)
    for n in numbers:
        yield n, template.figure(n)


class TimeCursor:
    """A vertical time line on every axes of a figure; :meth:`set_time` moves it (seconds).

    For notebook widgets: keep the figure, call ``set_time(t)`` from a slider callback, then
    redraw (``fig.canvas.draw_idle()`` for an interactive canvas, or re-save the PNG).
    """

    def __init__(self, fig: Figure, time_s: float = 0.0, *, colour: str = "#f03e3e") -> None:
        self.figure = fig
        self.lines = [ax.axvline(time_s, color=colour, lw=1.5, zorder=10) for ax in fig.axes if ax.axison]
        self.time_s = float(time_s)

    def set_time(self, time_s: float) -> None:
        """Move the cursor to ``time_s`` seconds (no redraw)."""
        self.time_s = float(time_s)
        for line in self.lines:
            line.set_xdata([self.time_s, self.time_s])


def angle_curves_with_cursor(analysis: Analysis, time_s: float = 0.0, **kwargs) -> tuple[Figure, TimeCursor]:
    """:func:`angle_curves_figure` plus a :class:`TimeCursor` at ``time_s``."""
    fig = angle_curves_figure(analysis, **kwargs)
    return fig, TimeCursor(fig, time_s)


def figure_bgr(fig: Figure) -> np.ndarray:
    """Render a figure with the Agg canvas (no pyplot) and return its pixels as BGR (white background)."""
    import cv2
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # a figure drawn again (a rep template, on a GlyphCachingCanvas) keeps its canvas and so its
    # renderer, text metrics and rasterised texts
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return cv2.cvtColor(np.asarray(canvas.buffer_rgba()), cv2.COLOR_RGBA2BGR)


def save_figure(fig: Figure, path, *, dpi: int | None = None) -> np.ndarray:
    """Write a figure as a 256-colour PNG (Agg, no pyplot; see :func:`~.images.write_png`); returns its BGR pixels.

    ``dpi`` other than the figure's own goes through ``savefig`` (full-colour PNG).
    """
    from pathlib import Path

    from .images import write_png

    if dpi is not None and dpi != fig.dpi:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi, facecolor="white")
        import cv2

        written = cv2.imread(str(path))
        if written is None:
            raise OSError(f"could not read back {path}")
        return written
    bgr = figure_bgr(fig)
    write_png(Path(path), bgr)
    return bgr
