"""The frame explorer: step, drag or play through the analysed frames of a clip.

One widget shows, for the sample under the slider: the frame with the pose drawn on it, the
angle curves with a time cursor, and the values at that instant (frame, time, rep, key moment,
joint angles, bar position, back rounding: :mod:`.back_readout`). Rep and key-moment buttons
jump, a toggle switches between the smoothed and the raw (unfiltered) series. Frames are decoded on demand through a bounded cache
(:mod:`.frames`); the curves are drawn once and only the cursor is redrawn (:mod:`.pictures`).

Widget callbacks can run on a kernel thread other than the main one and overlap (JupyterLab 4 +
ipykernel 7), so every redraw happens under one lock and always draws the slider's *latest*
value: fast dragging coalesces instead of queueing stale frames.

Long because the state, the read-out and the locked redraw loop share one widget's slider,
figures and frame cache; the back read-out's formatting lives in :mod:`.back_readout`.
"""

from __future__ import annotations

import html
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..analysis import Analysis
from ..biomech.body import MOMENT_NAMES, Rep
from ..biomech.rep_window import pull_start
from ..errors import FormcheckError
from ..metric_labels import metric_label
from ..pulls import partial_note, pull_heading
from ..readings import metric_readings, series_mark
from ..render.curves import MOMENT_STYLE, angle_curves_with_cursor
from ..render.layout import ViewBox, frame_indices, lifter_box, view_box
from ..render.overlay import displayed_series, draw_pose, uses_world_angles
from ..vocabulary import FAULT, OK, PARTIAL_PULL, counted, format_value, moment_label
from ._ipywidgets import widgets
from .back_readout import back_cell, back_reading
from .frames import FrameSource
from .pictures import CursorFigure, jpeg_bytes

#: Series shown in the read-out: (series, label, unit name of :data:`~formcheck_core.vocabulary.UNITS`).
READOUT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("hip_angle_deg", "hip angle", "deg"),
    ("knee_angle_deg", "knee angle", "deg"),
    ("torso_lean_deg", "torso lean", "deg"),
    ("elbow_angle_deg", "elbow angle", "deg"),
)
MODES = ("smoothed", "raw")


@dataclass(frozen=True)
class ExplorerState:
    """What the explorer shows: the sample, its source frame and time, rep, moment and values.

    ``values`` maps a series name to its value at the sample in the current mode (NaN = missing;
    for front and oblique views the 3-D ``*_world_deg`` variant the rules read, as in the pictures);
    ``bar_drift_px`` is the horizontal bar (wrist) offset from where the analysis measures the rep's drift
    (``rep_window.pull_start``: its lift-off, else where the pull starts), signed
    toward the lifter's facing direction (NaN outside a rep or when missing). ``back_flexion_rel``,
    ``back_limit_rel``: :func:`.back_readout.back_reading`.
    """

    sample: int
    frame_index: int
    time_s: float
    mode: str
    rep: int | None
    moment: str | None
    values: dict[str, float]
    bar_drift_px: float
    back_flexion_rel: float = float("nan")
    back_limit_rel: float = float("nan")
    #: Why the rep's bar drift is not measurable ("not measurable: front view: ..."; "" when it is):
    #: the read-out says it instead of a number (``Rep.unmeasured_mark``, as the summary does).
    bar_note: str = ""


def _fmt(value: float, unit: str) -> str:
    """A read-out value with the one formatter (:func:`~formcheck_core.vocabulary.format_value`)."""
    return format_value(value, unit) if math.isfinite(value) else "–"


def _measured_cells(readings) -> str:
    """Cells for the metrics read at this sample: the same text as the finding, JSON and curves."""
    return "".join(
        f"<td class='fc-metric' data-metric='{html.escape(m.metric)}' data-metric-value='{m.value!r}' "
        f"data-quality='{html.escape(m.quality)}' "
        f"style='padding:0 12px 0 0'>{html.escape(m.label)}: <b>{html.escape(m.text)}</b>"
        + (
            f" <span class='fc-quality' style='color:#868e96'>({html.escape(m.quality)})</span>"
            if m.quality
            else ""
        )
        + "</td>"
        for m in readings
    )


class FrameExplorer:
    """Frame-by-frame explorer of an :class:`~formcheck_core.analysis.Analysis` (display it in a notebook).

    ``width_px`` / ``max_height_px``: largest size of the frame picture. ``crop``: frame the lifter instead of the whole
    picture. ``curves_width_in`` / ``curves_dpi``: size of the curves picture. ``prefetch``:
    decode the analysed frames in the background (low priority) so jumps rarely wait.
    ``play_interval_ms``: delay between samples when playing (default: real time).
    """

    def __init__(
        self,
        analysis: Analysis,
        *,
        width_px: int = 480,
        max_height_px: int = 560,
        crop: bool = True,
        curves_width_in: float = 5.6,
        curves_panel_height_in: float = 1.45,
        curves_dpi: int = 100,
        prefetch: bool = True,
        cache_bytes: int = 48 << 20,
        play_interval_ms: int | None = None,
    ) -> None:
        if analysis.pose.n_samples == 0:
            raise FormcheckError("Nothing to explore: the analysis has no sampled frames.")
        self.analysis = analysis
        self.frame_index = np.asarray(frame_indices(analysis), dtype=int)
        body = analysis.body
        self.time_s = np.asarray(body.time_s if body is not None else analysis.pose.time_s, dtype=float)
        self.n_samples = int(self.frame_index.shape[0])
        info = analysis.video
        box = lifter_box(analysis) if crop else (0, 0, info.width_px, info.height_px)
        box_w, box_h = box[2] - box[0], box[3] - box[1]
        # portrait pictures: narrower, so the frame is not much taller than the curves beside it
        width_px = int(min(width_px, max_height_px * box_w / max(box_h, 1)))
        self.view: ViewBox = view_box(box, width_px)
        self.frames = FrameSource(
            info,
            self.view,
            budget_bytes=cache_bytes,
            prefetch=self.frame_index.tolist() if prefetch else None,
        )
        self._curves_kwargs = {
            "width_in": curves_width_in,
            "panel_height_in": curves_panel_height_in,
            "dpi": curves_dpi,
        }
        self._figures: dict[str, CursorFigure] = {}
        self._lock = threading.RLock()
        self._shown: tuple[int, str] | None = None
        self._world = uses_world_angles(analysis)
        #: Seconds each redraw took (frame decode + drawing + encoding), most recent last.
        self.render_times_s: deque[float] = deque(maxlen=500)
        self.renders = 0
        self._build_widgets(play_interval_ms)
        self.refresh()

    # -- widgets -------------------------------------------------------------------------------
    def _build_widgets(self, play_interval_ms: int | None) -> None:
        a = self.analysis
        last = self.n_samples - 1
        if play_interval_ms is None:
            dt = np.diff(self.time_s)
            dt = dt[np.isfinite(dt) & (dt > 0)]
            play_interval_ms = round(1000 * float(np.median(dt))) if dt.size else 100
        self.slider = widgets.IntSlider(
            value=0,
            min=0,
            max=last,
            step=1,
            description="sample",
            continuous_update=True,
            layout=widgets.Layout(width="100%", flex="1 1 auto"),
        )
        self.slider.add_class("fc-slider")
        self.play = widgets.Play(
            value=0,
            min=0,
            max=last,
            step=1,
            interval=max(int(play_interval_ms), 20),
            description="Play",
            tooltip="play the analysed frames",
        )
        self.play.add_class("fc-play")
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.mode = widgets.ToggleButtons(
            options=list(MODES),
            value="smoothed",
            tooltips=["low-pass filtered series (what the rules read)", "unfiltered keypoints and angles"],
            style={"button_width": "96px"},
        )
        self.mode.add_class("fc-mode")
        self.rep_buttons = []
        for rep in a.pulls:  # complete reps, then partial pulls ("Partial pull 1", its reason as tooltip)
            name = a.pull_label(rep.number)
            b = widgets.Button(
                description=name[0].upper() + name[1:],
                tooltip=f"jump to {name}"
                + (f" (not counted: {rep.partial_reason})" if not rep.complete else ""),
                layout=widgets.Layout(width="auto"),
            )
            b.add_class("fc-rep" if rep.complete else "fc-partial")
            b.on_click(lambda _b, r=rep: self.go_to_rep(r.number))
            self.rep_buttons.append(b)
        self.moment_buttons = {}
        for name in MOMENT_NAMES:
            label = MOMENT_STYLE.get(name, (name,))[0] or name
            b = widgets.Button(
                description=label,
                tooltip=f"jump to {label} of the current rep",
                layout=widgets.Layout(width="auto"),
            )
            b.add_class("fc-moment")
            b.on_click(lambda _b, n=name: self.go_to_moment(n))
            self.moment_buttons[name] = b
        frame_w = self.view.out_size[0]
        curves_w = round(self._curves_kwargs["width_in"] * self._curves_kwargs["dpi"])
        # side by side when there is room, each shrinking to fit; stacked on narrow screens
        self.image = widgets.Image(
            format="jpeg",
            layout=widgets.Layout(
                flex=f"{frame_w} 1 {min(frame_w, 280)}px",
                max_width=f"{frame_w}px",
                height="auto",
                min_width="0",
            ),
        )
        self.image.add_class("fc-frame")
        self.curves = widgets.Image(
            format="png",
            layout=widgets.Layout(
                flex=f"{curves_w} 1 {min(curves_w, 360)}px",
                max_width=f"{curves_w}px",
                height="auto",
                min_width="0",
            ),
        )
        self.curves.add_class("fc-curves")
        self.readout = widgets.HTML()
        self.readout.add_class("fc-readout")
        self.message = widgets.HTML()
        self.message.add_class("fc-message")
        header = widgets.HTML(self._header_html())
        jumps = (
            [widgets.Label("Jump:")]
            + self.rep_buttons
            + [widgets.Label("│")]
            + list(self.moment_buttons.values())
        )
        self.widget = widgets.VBox(
            [
                header,
                widgets.HBox(
                    [self.play, self.slider, self.mode],
                    layout=widgets.Layout(width="100%", align_items="center"),
                ),
                widgets.HBox(jumps, layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
                widgets.HBox(
                    [self.image, self.curves],
                    layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
                self.readout,
                self.message,
            ]
        )
        self.widget.add_class("formcheck-explorer")
        self.slider.observe(self._on_change, names="value")
        self.mode.observe(self._on_change, names="value")

    def _header_html(self) -> str:
        a = self.analysis
        view = f"{a.view.view} view ({a.view.side} side)" if a.view is not None else "view unknown"
        bits = [
            f"<b>{html.escape(a.video.path.rsplit('/', 1)[-1])}</b>",
            view,
            # "4 reps + 1 partial pull (cut by the clip)": no parentheses inside parentheses
            counted(len(a.reps), "rep") + (f" + {html.escape(partial_note(a))}" if a.partial_pulls else ""),
            f"{self.n_samples} analysed frames",
        ]
        warn = "".join(f"<div style='color:#a61e4d'>⚠ {html.escape(w)}</div>" for w in a.warnings)
        return "<div class='fc-header'>" + " · ".join(bits) + warn + "</div>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- navigation ----------------------------------------------------------------------------
    def show(self, sample: int, mode: str | None = None) -> ExplorerState:
        """Move to ``sample`` (and ``mode``), redraw, and return what is shown."""
        if mode is not None:
            if mode not in MODES:
                raise FormcheckError(f"mode must be one of {MODES}, got {mode!r}")
            self.mode.value = mode
        self.slider.value = int(np.clip(sample, 0, self.n_samples - 1))
        self.refresh()
        return self.state()

    def go_to_rep(self, number: int) -> None:
        """Jump to pull ``number``'s lift-off (or its first sample when lift-off is unknown): a rep,
        or a partial pull (numbered after the reps)."""
        rep = self._rep_by_number(number)
        m = rep.moments.get("liftoff")
        self.slider.value = m.sample if m is not None else rep.start_sample

    def go_to_moment(self, name: str, rep: int | None = None) -> None:
        """Jump to key moment ``name`` of rep ``rep`` (default: the rep under the slider)."""
        r = self._rep_by_number(rep) if rep is not None else self.current_rep()
        if r is None or name not in r.moments:
            self.message.value = (
                f"<span style='color:#a61e4d'>No {html.escape(name)} moment in this rep.</span>"
            )
            return
        self.slider.value = r.moments[name].sample

    def _rep_by_number(self, number: int) -> Rep:
        for rep in self.analysis.pulls:
            if rep.number == number:
                return rep
        a = self.analysis
        raise FormcheckError(
            f"There is no rep {number} (nor a partial pull numbered so); this clip has {counted(len(a.reps), 'rep')} "
            f"and {counted(len(a.partial_pulls), PARTIAL_PULL)}, numbered after the reps."
        )

    def current_rep(self, sample: int | None = None) -> Rep | None:
        """The pull (rep or partial pull) containing ``sample`` (default: the slider's), else the
        nearest one, else None."""
        s = self.slider.value if sample is None else sample
        reps = self.analysis.pulls
        if not reps:
            return None
        inside = [r for r in reps if r.start_sample <= s <= r.end_sample]
        if inside:  # consecutive reps can share a boundary sample: the later one has started
            return max(inside, key=lambda r: r.start_sample)
        return min(reps, key=lambda r: min(abs(s - r.start_sample), abs(s - r.end_sample)))

    # -- state ---------------------------------------------------------------------------------
    def state(self, sample: int | None = None, mode: str | None = None) -> ExplorerState:
        """The values the explorer shows for ``sample`` in ``mode`` (defaults: the current ones)."""
        s = self.slider.value if sample is None else int(sample)
        mode = self.mode.value if mode is None else mode
        body = self.analysis.body
        src = None if body is None else (body.raw if mode == "raw" else body.smoothed)
        values = {}
        for series, _, _ in READOUT_SERIES:  # the 3-D variant where the rules read that one
            name = displayed_series(self.analysis, series, raw=mode == "raw")
            values[series] = float(src[name][s]) if src is not None and name in src else float("nan")
        rep = self.current_rep(s)
        if rep is not None and not rep.start_sample <= s <= rep.end_sample:
            rep = None  # between reps
        moment = None
        if rep is not None:  # the first key moment at this sample (several can share one at 10 fps)
            here = [name for name in MOMENT_NAMES if name in rep.moments and rep.moments[name].sample == s]
            here += [n for n, m in rep.moments.items() if m.sample == s and n not in here]
            moment = here[0] if here else None
        drift = float("nan")
        bar_note = rep.unmeasured_mark("max_bar_drift_px") if rep is not None else ""
        if (
            not bar_note and rep is not None and body is not None and src is not None and "bar_x_px" in src
        ):  # from where the analysis measures the drift (lift-off, else where the pull starts)
            x0 = float(src["bar_x_px"][pull_start(rep).sample])
            drift = (float(src["bar_x_px"][s]) - x0) * body.facing_sign
        back, limit = back_reading(self.analysis, s, rep.number if rep is not None else None)
        return ExplorerState(
            sample=s,
            frame_index=int(self.frame_index[s]),
            time_s=float(self.time_s[s]),
            mode=mode,
            rep=rep.number if rep is not None else None,
            moment=moment,
            values=values,
            bar_drift_px=drift,
            bar_note=bar_note,
            back_flexion_rel=back,
            back_limit_rel=limit,
        )

    # -- drawing -------------------------------------------------------------------------------
    def _figure(self, mode: str) -> CursorFigure:
        fig = self._figures.get(mode)
        if fig is None:
            f, cursor = angle_curves_with_cursor(
                self.analysis, float(self.time_s[0]), raw=mode == "raw", **self._curves_kwargs
            )
            fig = self._figures[mode] = CursorFigure(f, cursor)
        return fig

    def _frame_picture(self, st: ExplorerState) -> np.ndarray:
        picture = self.frames.get(st.frame_index)
        a = self.analysis
        # the findings a rule judged at this very frame: their angles take the colour of their verdict
        # role (red only for a fault the verdict counts, orange for a note or warning, green for ok)
        here = [
            f
            for f in a.findings
            if f.rep == st.rep and f.frame_index == st.frame_index and f.status in (FAULT, OK)
        ]
        if st.mode == "raw":
            kp = a.pose.image_xy_px[st.sample]  # unfilled, unsmoothed keypoints and raw angles
            return draw_pose(
                picture,
                a,
                st.sample,
                view=self.view,
                keypoints=kp,
                findings=here,
                raw=True,
                bar=False,
                copy=False,
            )
        return draw_pose(picture, a, st.sample, view=self.view, findings=here, copy=False)

    def _readout_html(self, st: ExplorerState) -> str:
        moment = MOMENT_STYLE.get(st.moment, (st.moment,))[0] if st.moment else ""
        where = (
            pull_heading(self.analysis, self._rep_by_number(st.rep)) if st.rep is not None else "between reps"
        )
        if moment:
            where += f" · at {moment}"
        marks = {
            s: series_mark(self.analysis, displayed_series(self.analysis, s), st.sample)
            for s, _, _ in READOUT_SERIES
        }
        cells = "".join(
            f"<td class='fc-v-{s}' data-value='{v:.3f}' data-quality='{html.escape(marks[s])}' "
            f"style='padding:0 12px 0 0{';color:#868e96' if marks[s] else ''}' title='{html.escape(marks[s])}'>"
            f"{html.escape(label)}: <b>{_fmt(v, unit)}</b>{'*' if marks[s] else ''}</td>"
            for (s, label, unit), v in ((spec, st.values[spec[0]]) for spec in READOUT_SERIES)
        )
        bar = html.escape(st.bar_note) if st.bar_note else _fmt(st.bar_drift_px, "px")
        rep = self._rep_by_number(st.rep) if st.rep is not None else None
        origin = pull_start(rep).words if rep is not None else moment_label("liftoff")
        cells += (
            f"<td class='fc-v-bar_drift_px' data-value='{st.bar_drift_px:.3f}' "
            f"data-quality='{html.escape(st.bar_note)}'>bar from {html.escape(origin)}: <b>{bar}</b></td>"
        )
        cells += back_cell(self.analysis, st.back_flexion_rel, st.back_limit_rel)
        readings = metric_readings(self.analysis, st.rep) if st.rep is not None else []
        here = [m for m in readings if m.at_one_frame and m.sample == st.sample]
        # a median over a window is no frame's value: shown at every frame of its window, as a median
        medians = [m for m in readings if m.window is not None and m.window[0] <= st.sample <= m.window[1]]
        # a metric read at this frame whose joint was not seen: why, no number (as in the summary)
        pull = self._rep_by_number(st.rep) if st.rep is not None else None
        unread = (
            [
                (name, q.mark)
                for name, q in pull.metric_quality.items()
                if not q.measurable and pull.metric_samples.get(name) == st.sample
            ]
            if pull is not None
            else []
        )
        at_frame = _measured_cells(here) + "".join(
            f"<td class='fc-metric' data-metric='{html.escape(name)}' data-quality='{html.escape(mark)}' "
            f"style='padding:0 12px 0 0;color:#868e96'>{html.escape(metric_label(name, self.analysis.options.get('plugin_metrics')))}: "
            f"<b>{html.escape(mark)}</b></td>"
            for name, mark in unread
        )
        # its own table: its long cells would otherwise widen the value columns above them
        measured = (
            "<table class='fc-measured' style='margin-top:2px'><tr><td colspan='9' style='color:#5c5f66'>"
            f"measured at this frame:</td></tr><tr>{at_frame}</tr></table>"
            if (here or unread) and st.mode == "smoothed"
            else ""
        )
        by_window: dict[str, list] = {}
        for m in medians:  # metrics that are medians over one window share a table
            by_window.setdefault(m.where, []).append(m)
        measured += "".join(
            "<table class='fc-median' style='margin-top:2px'><tr><td colspan='9' style='color:#5c5f66'>"
            f"{html.escape(where)} (this frame among them):</td></tr><tr>{_measured_cells(ms)}</tr></table>"
            for where, ms in by_window.items()
            if st.mode == "smoothed"
        )
        shown_marks = "; ".join(sorted({m for m in marks.values() if m}))
        # the greyed stretch of the curves, in words; the line is always there (one line, blank when
        # nothing is marked) so the slider below does not jump while it is dragged
        note = (
            f"<tr><td colspan='9' class='fc-quality-note' title='{html.escape(shown_marks)}' "
            f"style='color:#868e96;white-space:nowrap'>{'* ' + html.escape(shown_marks) if shown_marks else '&nbsp;'}"
            "</td></tr>"
        )
        return (
            f"<div class='fc-state' data-sample='{st.sample}' data-frame='{st.frame_index}' "
            f"data-time='{st.time_s:.4f}' data-mode='{st.mode}'>"
            f"<b class='fc-frame-label'>frame {st.frame_index}</b> · <span class='fc-time'>{st.time_s:.2f} s</span> · "
            f"sample {st.sample} of 0–{self.n_samples - 1} · <span class='fc-where'>{html.escape(where)}</span> · "
            f"<i>{st.mode}{', 3-D angles' if self._world else ''}</i><table style='margin-top:4px'><tr>{cells}</tr>{note}</table>{measured}</div>"
        )

    def _on_change(self, _change=None) -> None:
        self.refresh()

    def refresh(self, force: bool = False) -> bool:
        """Redraw for the slider's current value unless it is already shown; True if it redrew."""
        with self._lock:
            key = (int(self.slider.value), str(self.mode.value))
            if key == self._shown and not force:
                return False
            t0 = time.perf_counter()
            try:
                st = self.state(*key)
                self.image.value = jpeg_bytes(self._frame_picture(st))
                self.curves.value = self._figure(st.mode).png(st.time_s)
                self._update_buttons(st)
                self.readout.value = self._readout_html(st)
                if self.message.value:
                    self.message.value = ""
            except Exception as exc:  # a callback's traceback would vanish: show it in the widget
                self.message.value = (
                    f"<span style='color:#c92a2a'>Could not draw sample {key[0]}: "
                    f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>"
                )
                raise
            self._shown = key
            self.renders += 1
            self.render_times_s.append(time.perf_counter() - t0)
            return True

    def _update_buttons(self, st: ExplorerState) -> None:
        rep = self.current_rep(st.sample)
        for b, r in zip(self.rep_buttons, self.analysis.pulls, strict=False):
            style = "info" if r.number == st.rep else ""  # highlighted while inside that rep
            if b.button_style != style:
                b.button_style = style
        for name, b in self.moment_buttons.items():
            disabled = rep is None or name not in rep.moments
            if b.disabled != disabled:
                b.disabled = disabled
            style = "warning" if st.moment == name else ""
            if b.button_style != style:
                b.button_style = style

    def cursor_x_px(self, time_s: float | None = None, mode: str | None = None) -> float:
        """Pixel column of the curves' time cursor for ``time_s`` (default: the current time)."""
        t = float(self.time_s[self.slider.value]) if time_s is None else float(time_s)
        return self._figure(mode or self.mode.value).cursor_x_px(t)

    def close(self) -> None:
        """Stop background decoding, release the clip and close the widgets."""
        self.frames.close()
        self.widget.close()


def explore(clip_or_analysis, **kwargs) -> FrameExplorer:
    """A :class:`FrameExplorer` for a clip path (analysed with defaults, cached) or an Analysis."""
    if isinstance(clip_or_analysis, Analysis):
        return FrameExplorer(clip_or_analysis, **kwargs)
    from ..analysis import analyze

    return FrameExplorer(analyze(clip_or_analysis, progress=False), **kwargs)
