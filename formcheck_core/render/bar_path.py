"""Bar path picture per pull (complete reps and partial pulls, named as every view names them):
the wrist (bar proxy) trajectory over a still of the setup (else the pull's first key moment).

Drawn: the pull (lift-off to lockout) as a thick line with a dot per sample, the rest of the rep
(setup, lowering) thin; a dashed vertical through the bar's lift-off position (where bar drift is
measured from; the pull's first sample for a pull the clip shows without its lift-off); an arrow to the bar at the drift metric's own sample (``metric_samples``) and the
rep's drift metrics with that frame and their pose-quality mark (as measured by the analysis,
``max_bar_drift_*``, or why it is not measurable); the key moments labelled. A partial
pull's picture says what it is in amber under the header, as its stills do. Values are read, never
recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..analysis import Analysis
from ..biomech.body import Rep
from ..biomech.rep_window import pull_end, pull_start
from ..metric_labels import metric_label
from ..readings import metric_text
from ..vocabulary import PARTIAL_PULL, moment_label, pull_file_stem
from . import style as st
from .frames import FrameConsumer, run_frame_pass
from .images import PHOTO_SUFFIX, write_photo
from .layout import ViewBox
from .overlay import is_bar_metric
from .stills import STILL_WIDTH_PX, rep_view_box
from .style import Style, TextItem

#: The dashed reference line's label: bar drift is measured from the bar's position at lift-off
#: (:func:`reference_label`; a pull the clip shows without its lift-off: where the pull starts).
REFERENCE_LABEL = "lift-off vertical"
PATH_COLOURS: tuple[st.BGR, ...] = ((255, 160, 30), (60, 220, 255), (255, 90, 220), (90, 255, 120))


@dataclass(frozen=True)
class BarPathPicture:
    """One pull's bar path picture (JPEG) and the source frame it is drawn over (``rep``: the pull's number)."""

    path: Path
    rep: int
    frame_index: int


def background_moment(rep: Rep) -> str | None:
    """The key moment whose frame the bar path is drawn over: the rep's setup (else lift-off, else
    its first moment; None without moments)."""
    for name in ("setup", "liftoff"):
        if name in rep.moments:
            return name
    return min(rep.moments, key=lambda n: rep.moments[n].frame_index) if rep.moments else None


def background_frame_index(rep: Rep) -> int:
    """Source frame the bar path is drawn over (:func:`background_moment`'s frame; -1 without one)."""
    name = background_moment(rep)
    return rep.moments[name].frame_index if name is not None else -1


def drift_origin(rep: Rep) -> str:
    """Where the pull's bar drift is measured from, in words: "lift-off", or for a pull the clip
    shows without its lift-off, where it starts (the analysis' decision, ``rep_window.pull_start``)."""
    return pull_start(rep).words


def reference_label(rep: Rep) -> str:
    """The dashed line's label: :data:`REFERENCE_LABEL`, or "start vertical" without a lift-off."""
    return REFERENCE_LABEL if pull_start(rep).liftoff else "start vertical"


def bar_path_caption(rep: Rep) -> str:
    """What the picture shows, for the report: its background moment and where drift is measured
    from -- or, where the drift metric is not measurable (a front view), why, as its footer says."""
    bg = background_moment(rep)
    over = f" over the {moment_label(bg)} frame ({background_frame_index(rep)})" if bg is not None else ""
    line = f"Bar path (wrist as bar proxy){over}; dashed: vertical through the bar at {drift_origin(rep)}"
    why = rep.unmeasured_mark("max_bar_drift_px")
    if why:  # no arrow is drawn: say why rather than describe it
        return f"{line}; drift {why}."
    return f"{line}, where drift is measured from; arrow: the largest drift, at its frame."


def _rep_bar(analysis: Analysis, rep: Rep) -> tuple[np.ndarray, np.ndarray]:
    """(N,) sample indices and (N, 2) bar positions (source px) of the rep; NaN where missing."""
    body = analysis.body
    n = 0 if body is None else len(body.time_s)
    idx = np.arange(max(rep.start_sample, 0), min(rep.end_sample, n - 1) + 1)
    if body is None or "bar_x_px" not in body.smoothed:
        return idx, np.full((len(idx), 2), np.nan)
    return idx, np.stack([body.smoothed["bar_x_px"][idx], body.smoothed["bar_y_px"][idx]], axis=1)


def _polyline(img: np.ndarray, pts: np.ndarray, colour: st.BGR, width: int, outline: int) -> None:
    """Draw the finite runs of ``pts`` (N, 2) as antialiased polylines with a dark outline."""
    ok = np.isfinite(pts).all(axis=1)
    runs, cur = [], []
    for p, good in zip(pts, ok, strict=False):
        if good:
            cur.append(p)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    for run in runs:
        if len(run) < 2:
            continue
        arr = np.round(np.array(run)).astype(np.int32).reshape(-1, 1, 2)
        if outline > width:
            cv2.polylines(img, [arr], False, st.OUTLINE, outline, cv2.LINE_AA)
        cv2.polylines(img, [arr], False, colour, width, cv2.LINE_AA)


def render_bar_path(frame_bgr: np.ndarray, analysis: Analysis, rep: Rep, view: ViewBox) -> np.ndarray:
    """The bar path picture (BGR) of ``rep`` over ``frame_bgr`` (the rep's setup frame)."""
    img = view.apply(frame_bgr)
    img = cv2.addWeighted(img, 0.7, np.zeros_like(img), 0.3, 0)  # dim the photo so the path stands out
    h, w = img.shape[:2]
    style = Style.for_width(w)
    colour = PATH_COLOURS[(rep.number - 1) % len(PATH_COLOURS)]
    idx, bar = _rep_bar(analysis, rep)
    pts = view.map(bar)
    lo = pull_start(rep).sample  # where drift is measured from, as the analysis decided
    lk = pull_end(rep)
    pull = (idx >= lo) & (idx <= lk)
    _polyline(img, pts, colour, max(1, style.line_px // 2), 0)
    _polyline(img, np.where(pull[:, None], pts, np.nan), colour, style.line_px, style.outline_px)
    for p in pts[pull]:
        if np.isfinite(p).all():
            cv2.circle(
                img,
                (round(float(p[0])), round(float(p[1]))),
                max(2, style.line_px - 1),
                (255, 255, 255),
                -1,
                cv2.LINE_AA,
            )
    lines: list[tuple[str, st.BGR, bool]] = []
    items: list[TextItem] = []
    placed: list[tuple[int, int, int, int]] = []
    moment_labels: list[tuple[tuple[int, int], str]] = []
    drift_label: tuple[tuple[float, float], str] | None = None
    # The reference is where the metric measures from: the bar at lift-off (the pull's first sample
    # when the clip starts mid-pull), and the arrow ends at the metric's own sample (the frame the
    # summary names), so the picture shows the one number the other views show.
    ref = pts[idx == lo][0] if np.any(idx == lo) else np.array([np.nan, np.nan])
    at = rep.metric_samples.get("max_bar_drift_px")
    if np.isfinite(ref).all():
        x = round(float(ref[0]))
        for y in range(0, h, 4 * style.line_px):
            cv2.line(
                img,
                (x, y),
                (x, min(h, y + 2 * style.line_px)),
                (255, 255, 255),
                max(1, style.arc_px // 2),
                cv2.LINE_AA,
            )
        ref_label = reference_label(rep)
        xy = st.place_near(
            (x, style.pad_px + style.small_font_px),
            ref_label,
            style.small_font_px,
            placed,
            (w, h),
            gap_px=style.pad_px,
        )
        items.append(TextItem(xy, ref_label, style.small_font_px, (255, 255, 255), box=st.PANEL))
        if at is not None and np.any(idx == at) and np.isfinite(pts[idx == at][0]).all():
            p = pts[idx == at][0]
            a, b = (x, round(float(p[1]))), (round(float(p[0])), round(float(p[1])))
            cv2.arrowedLine(img, a, b, st.OUTLINE, style.arc_px + 3, cv2.LINE_AA, tipLength=0.25)
            cv2.arrowedLine(img, a, b, st.FAULT, style.arc_px, cv2.LINE_AA, tipLength=0.25)
            cv2.circle(img, b, style.joint_px + 2, st.FAULT, -1, cv2.LINE_AA)
            placed.append((min(a[0], b[0]), b[1] - style.arc_px, max(a[0], b[0]), b[1] + style.arc_px))
            drift_label = (((a[0] + b[0]) / 2, b[1]), "max drift")
    for name in ("liftoff", "lockout"):
        if name in rep.moments and np.any(idx == rep.moments[name].sample):
            p = pts[idx == rep.moments[name].sample][0]
            if np.isfinite(p).all():
                q = (round(float(p[0])), round(float(p[1])))
                cv2.circle(img, q, style.joint_px + 3, st.OUTLINE, -1, cv2.LINE_AA)
                cv2.circle(img, q, style.joint_px + 1, colour, -1, cv2.LINE_AA)
                placed.append(
                    (
                        q[0] - style.joint_px,
                        q[1] - style.joint_px,
                        q[0] + style.joint_px,
                        q[1] + style.joint_px,
                    )
                )
                moment_labels.append((q, moment_label(name)))
    size = style.small_font_px
    if drift_label is not None:
        xy = st.place_near(
            drift_label[0],
            drift_label[1],
            size,
            placed,
            (w, h),
            gap_px=style.pad_px,
            bold=True,
            prefer=("above", "below"),
        )
        items.append(TextItem(xy, drift_label[1], size, st.FAULT, True, box=st.PANEL))
    for q, text in moment_labels:
        away = (
            ("left", "right") if drift_label is not None and drift_label[0][0] > q[0] else ("right", "left")
        )
        xy = st.place_near(
            q, text, size, placed, (w, h), gap_px=2 * style.pad_px, prefer=(*away, "below", "above")
        )
        items.append(TextItem(xy, text, size, (255, 255, 255), box=st.PANEL))
    st.draw_texts(img, items)
    drift = drift_texts(analysis, rep)
    lines.append((drift_line(analysis, rep), (255, 255, 255), True))
    for f in analysis.findings:
        if f.rep == rep.number and is_bar_metric(f.metric):
            lines.append(
                (
                    f"{st.finding_mark(f)} {f.message}",
                    st.finding_colour(f),
                    False,
                )
            )
    if drift and analysis.view is not None and analysis.view.view != "side":  # else: why, above
        caveat = (
            f"{analysis.view.view.capitalize()} view: horizontal drift is foreshortened; film from the side."
        )
        lines.append((caveat, st.MUTED, False))
    name = analysis.pull_label(rep.number)  # "rep 2", "partial pull 1"
    bg = background_moment(rep)
    over = f" · {moment_label(bg)} frame {background_frame_index(rep)}" if bg is not None else ""
    title = f"{name[0].upper()}{name[1:]} · bar path{over}"
    head: list[tuple[str, st.BGR, bool]] = [(title, (255, 255, 255), True)]
    if not rep.complete:  # what the pull is, in amber, as on its stills
        head.append(
            (
                f"{PARTIAL_PULL.capitalize()}, not counted as a rep: {rep.partial_reason}",
                st.PARTIAL_NOTE,
                True,
            )
        )
    header = st.panel(w, head, style.title_font_px, style.pad_px)
    footer = st.panel(w, lines, style.font_px, style.pad_px)
    return np.vstack([header, img, footer])


#: The drift metrics the picture's footer shows, in this order.
DRIFT_METRICS = ("max_bar_drift_cm", "max_bar_drift_rel", "max_bar_drift_px")


def drift_texts(analysis: Analysis, rep: Rep) -> list[str]:
    """The pull's measured drift values, each as every view shows it
    (:func:`~formcheck_core.readings.metric_text`: with the digits a finding's limit needs)."""
    return [metric_text(analysis, rep, n) for n in DRIFT_METRICS if _finite(rep.metrics.get(n))]


def drift_line(analysis: Analysis, rep: Rep) -> str:
    """The picture's footer line: the drift metric by its label, as the summary names it, from
    where it is measured, with its values, frame and pose-quality mark ("Max bar drift from
    lift-off: 0.037 body lengths · 20 px (frame 72)"); without a number, why, in the words of
    every view ("not measurable: the wrists (the bar) were not seen ...")."""
    drift = drift_texts(analysis, rep)
    why = (
        rep.unmeasured_mark("max_bar_drift_px") or rep.unmeasured_mark("max_bar_drift_rel") or "not measured"
    )
    shown = " · ".join(drift) if drift else why
    at = rep.metric_samples.get("max_bar_drift_px")
    if drift and at is not None and analysis.body is not None:  # its frame and mark, as in the summary
        shown += f" (frame {int(analysis.body.frame_index[at])})"
        mq = rep.metric_quality.get("max_bar_drift_px")
        shown += f" ({mq.mark})" if mq is not None and mq.mark else ""
    return f"{metric_label('max_bar_drift_px')} from {drift_origin(rep)}: {shown}"


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def plan_bar_paths(analysis: Analysis, out_dir: str | Path) -> tuple[BarPathPicture, ...]:
    """One picture per pull (complete reps, then partial pulls: ``rep2_bar_path.jpg``,
    ``partial1_bar_path.jpg``) that has a background frame (nothing is decoded)."""
    out = Path(out_dir)
    n_reps = len(analysis.reps)
    return tuple(
        BarPathPicture(
            out / f"{pull_file_stem(r.number, n_reps)}_bar_path{PHOTO_SUFFIX}",
            r.number,
            background_frame_index(r),
        )
        for r in analysis.pulls
        if background_frame_index(r) >= 0 and analysis.body is not None
    )


def bar_path_consumer(
    analysis: Analysis,
    pictures: Sequence[BarPathPicture],
    width_px: int = STILL_WIDTH_PX,
    sink: Callable[[Path, np.ndarray], object] | None = None,
) -> FrameConsumer:
    """A frame-pass consumer rendering each pull's bar path when its setup frame streams by and
    handing it to ``sink(path, bgr)`` (default: :func:`~.images.write_photo`)."""
    sink = sink or write_photo
    reps = {r.number: r for r in analysis.pulls}
    by_frame: dict[int, list[BarPathPicture]] = {}
    for p in pictures:
        by_frame.setdefault(p.frame_index, []).append(p)

    def handle(frame) -> None:
        for p in by_frame.get(frame.index, ()):
            rep = reps[p.rep]
            sink(p.path, render_bar_path(frame.bgr, analysis, rep, rep_view_box(analysis, rep, width_px)))

    return FrameConsumer(frozenset(by_frame), handle, "bar_paths")


def write_bar_paths(
    analysis: Analysis, out_dir: str | Path, *, width_px: int = STILL_WIDTH_PX
) -> tuple[BarPathPicture, ...]:
    """Render and write every pull's bar path picture into ``out_dir``; decodes only the setup frames."""
    pictures = plan_bar_paths(analysis, out_dir)
    run_frame_pass(analysis, [bar_path_consumer(analysis, pictures, width_px)])
    return tuple(p for p in pictures if p.path.is_file())
