"""Angle curves over time: hip and knee angle, torso lean, elbow angle.

Built on :class:`matplotlib.figure.Figure` (no pyplot, no global state), so figures can be made
from widget callbacks on any thread. Key moments are labelled vertical lines, rule thresholds
horizontal lines, reps shaded. :class:`TimeCursor` adds a movable time line (for widgets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from ..analysis import Analysis
from ..body import MOMENT_NAMES
from .overlay import displayed_series, threshold_on_series

#: Panels: (title, y label, [(series, legend label, colour)]).
PANELS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("Hip and knee angle", "angle (°), 180 = straight", (
        ("hip_angle_deg", "hip", "#d9480f"), ("knee_angle_deg", "knee", "#1c7ed6"))),
    ("Torso lean from vertical", "lean (°), 0 = upright", (("torso_lean_deg", "torso lean", "#2b8a3e"),)),
    ("Elbow angle", "angle (°), 180 = straight", (("elbow_angle_deg", "elbow", "#7048e8"),)),
)  # fmt: skip

#: Key moment -> (short label, colour, line style).
MOMENT_STYLE: dict[str, tuple[str, str, str]] = {
    "setup": ("setup", "#868e96", ":"),
    "liftoff": ("lift-off", "#212529", "--"),
    "knee_pass": ("knee", "#495057", "-."),
    "lockout": ("lockout", "#212529", "-"),
}
_FALLBACK_MOMENT = ("", "#495057", ":")
REP_SHADES = ("#fff3bf", "#e7f5ff")
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
        label = f"limit {key[1]:g}° ({(f.metric or f.rule_id).replace('_deg', '').replace('_', ' ')})"
        lines[key] = ThresholdLine(key[0], key[1], label, broken)
    return list(lines.values())


def _has_data(analysis: Analysis, series: str) -> bool:
    body = analysis.body
    series = displayed_series(analysis, series)
    return body is not None and series in body.smoothed and bool(np.isfinite(body.smoothed[series]).any())


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
    legible on a phone. Never touches pyplot.
    """
    body = analysis.body
    panels = [p for p in PANELS if any(_has_data(analysis, s) for s, _, _ in p[2])]
    if not elbow:
        panels = [p for p in panels if p[2][0][0] != "elbow_angle_deg"]
    fig = Figure(
        figsize=(width_in, panel_height_in * max(len(panels), 1) + 0.6), dpi=dpi, layout="constrained"
    )
    if body is None or not panels:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "No body series: too little pose data to draw angle curves.",
                ha="center", va="center", wrap=True, transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
        return fig
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    t = np.asarray(body.time_s, dtype=float)
    reps = [r for r in analysis.reps if rep is None or r.number == rep]
    lines = threshold_lines(analysis, rep)
    source = body.raw if raw else body.smoothed
    for ax, (title, ylabel, series_list) in zip(axes, panels):
        for i, r in enumerate(reps):
            t0, t1 = t[r.start_sample], t[min(r.end_sample, len(t) - 1)]
            ax.axvspan(t0, t1, color=REP_SHADES[i % 2] if rep is None else REP_SHADES[0], zorder=0, lw=0)
            if rep is None and ax is axes[-1]:
                ax.text((t0 + t1) / 2, 0.03, f"rep {r.number}", transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=FS_NOTE, color="#5c5f66", bbox=_NOTE_BOX,
                        zorder=6)  # fmt: skip
        for series, label, colour in series_list:
            shown = displayed_series(analysis, series, raw=raw)
            if show_raw and not raw and displayed_series(analysis, series, raw=True) in body.raw:
                ax.plot(t, body.raw[displayed_series(analysis, series, raw=True)], color=colour, lw=0.8,
                        alpha=0.35, zorder=2)  # fmt: skip
            if shown in source:
                ax.plot(
                    t, source[shown], color=colour, lw=1.8, label=label + (" (raw)" if raw else ""), zorder=3
                )
        for line in lines:
            if line.series in {s for s, _, _ in series_list}:
                ax.axhline(
                    line.value, color="#e03131" if line.broken else "#868e96", ls="--", lw=1.1, zorder=2
                )
                ax.text(0.99, line.value, line.label, transform=ax.get_yaxis_transform(), ha="right",
                        va="bottom", fontsize=FS_NOTE, color="#e03131" if line.broken else "#5c5f66",
                        bbox=_NOTE_BOX, zorder=6)  # fmt: skip
        for r in reps:
            for name, m in sorted(r.moments.items(), key=lambda kv: kv[1].time_s):
                label, colour, ls = MOMENT_STYLE.get(name, _FALLBACK_MOMENT)
                ax.axvline(m.time_s, color=colour, ls=ls, lw=1.0, zorder=4)
        world = any(displayed_series(analysis, sr) != sr for sr, _, _ in series_list)
        ax.set_title(title + (" (3-D estimate)" if world else ""), fontsize=FS_TITLE, loc="left")
        ax.set_ylabel(ylabel, fontsize=FS_LABEL)
        ax.tick_params(labelsize=FS_TICK)
        ax.grid(True, color="#e9ecef", lw=0.6, zorder=1)
        if len(series_list) > 1 or raw:
            ax.legend(fontsize=FS_NOTE, loc="best", framealpha=0.8)
    axes[-1].set_xlabel("time (s)", fontsize=FS_LABEL)
    if rep is not None and reps:
        r = reps[0]
        lo = t[r.start_sample] - pad_s
        hi = t[min(r.end_sample, len(t) - 1)] + pad_s
        axes[0].set_xlim(max(lo, t[0]), min(hi, t[-1]))
        for name, m in r.moments.items():
            label = MOMENT_STYLE.get(name, (name,))[0] or name
            axes[0].text(m.time_s, 1.02, label, transform=axes[0].get_xaxis_transform(), rotation=60,
                         ha="left", va="bottom", fontsize=FS_NOTE)  # fmt: skip
    else:
        present = [n for n in MOMENT_NAMES if any(n in r.moments for r in reps)]
        handles = []
        for n in present:
            label, colour, ls = MOMENT_STYLE[n]
            handles.append(axes[0].plot([], [], color=colour, ls=ls, lw=1.0, label=label)[0])
        if handles:
            fig.legend(
                handles=handles,
                loc="outside upper center",
                ncols=len(handles),
                fontsize=FS_NOTE,
                frameon=False,
            )
    if rep is not None:
        fig.suptitle(f"Rep {rep}: angles{' (raw)' if raw else ''}", fontsize=FS_TITLE)
    return fig


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


def save_figure(fig: Figure, path, *, dpi: int | None = None) -> None:
    """Write a figure as PNG (Agg, no pyplot)."""
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi or fig.dpi, facecolor="white")
