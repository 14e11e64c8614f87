"""Annotated stills: one picture (JPEG) per key moment of every rep and per finding, legible on a phone.

Each still is the source frame cropped around the lifter (the same crop for every still of a
rep), with the skeleton, the joint angles drawn at the joints, a header (rep, moment, time,
frame) and a footer with each finding at that frame: measured value against its threshold and
the cue. A finding whose frame is a key moment shares that moment's still.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis import Analysis
from ..biomech.body import Rep
from ..biomech.metrics import METRIC_SPECS
from ..findings import Finding
from ..readings import frame_value, lockout_hip_reading, lockout_text, metric_readings
from ..rules.verdicts import verdict_role
from ..vocabulary import (
    FAULT,
    MOMENT_HELP,
    MOMENT_NAMES,
    NOT_MEASURABLE,
    NOTE,
    OK,
    PARTIAL_PULL,
    ROLE_WORDS,
    WARNING,
    format_limit,
    format_value,
    moment_label,
    pull_file_stem,
)
from . import style as st
from .back_outline import draw_back_outline, reads_back
from .frames import FrameConsumer, run_frame_pass
from .images import PHOTO_SUFFIX, write_photo
from .layout import ViewBox, lifter_box, sample_for_frame, view_box
from .overlay import draw_pose, uses_world_angles
from .style import Style

#: Output width of a still in pixels (text is sized for this width shown ~360 px wide).
STILL_WIDTH_PX = 720


@dataclass(frozen=True)
class Still:
    """One annotated still: which frame it shows, why, and where the picture is written."""

    path: Path
    rep: int | None
    sample: int
    frame_index: int
    time_s: float
    moments: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=())
    #: The pull in words ("rep 2", "partial pull 1"; :meth:`~formcheck_core.result.Analysis.pull_label`).
    pull: str = ""
    #: Lines under the header that say what the pull is: a partial pull's reason ("Partial pull,
    #: not counted: never reached lockout (...)"), a doubted lockout ("Lockout reached: no (low
    #: confidence: ...)"), in the words the summary uses.
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """Header text, e.g. ``"Rep 2 · lift-off · 3.13 s · frame 94"``, ``"Partial pull 1 · setup · ..."``."""
        name = self.pull or (f"rep {self.rep}" if self.rep is not None else "clip")
        parts = [name[0].upper() + name[1:]]
        if self.moments:
            parts.append(" + ".join(moment_label(m) for m in self.moments))
        elif self.findings:
            parts.append(self.findings[0].name)
        parts += [f"{self.time_s:.2f} s", f"frame {self.frame_index}"]
        return " · ".join(parts)


def _ordered_moments(rep: Rep) -> list[str]:
    known = [m for m in MOMENT_NAMES if m in rep.moments]
    others = sorted(
        (m for m in rep.moments if m not in MOMENT_NAMES), key=lambda m: rep.moments[m].frame_index
    )
    return known + others


def plan_stills(analysis: Analysis, out_dir: str | Path) -> tuple[Still, ...]:
    """The stills to render (nothing is decoded): every key moment of every rep, then every
    fault at a frame that is not already on a moment's still (findings within their limits only
    join a still that exists, so a clean lift does not double its pictures). Sorted by frame."""
    out = Path(out_dir)
    by_key: dict[tuple[int | None, int], dict] = {}

    def slot(rep: int | None, frame: int, time_s: float | None) -> dict:
        key = (rep, int(frame))
        if key not in by_key:
            s = sample_for_frame(analysis, frame)
            t = time_s if time_s is not None else float(analysis.pose.time_s[s]) if s >= 0 else 0.0
            by_key[key] = {
                "rep": rep,
                "frame": int(frame),
                "sample": s,
                "time": float(t),
                "moments": [],
                "findings": [],
            }
        return by_key[key]

    for r in analysis.pulls:  # partial pulls too: their moments, and the faults judged on them
        for name in _ordered_moments(r):
            m = r.moments[name]
            slot(r.number, m.frame_index, m.time_s)["moments"].append(name)
    reps = {r.number: r for r in analysis.pulls}
    for f in analysis.findings:
        frame, t = f.frame_index, f.time_s
        if frame is None and f.moment and f.rep in reps and f.moment in reps[f.rep].moments:
            m = reps[f.rep].moments[f.moment]
            frame, t = m.frame_index, m.time_s
        if frame is None or (not f.is_fault and (f.rep, int(frame)) not in by_key):
            continue
        slot(f.rep, frame, t)["findings"].append(f)
    stills = []
    for (rep, frame), d in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0)):
        if d["sample"] < 0:
            continue
        tag = "_".join(d["moments"]) or "_".join(dict.fromkeys(f.rule_id for f in d["findings"]))
        pull = reps.get(rep) if rep is not None else None
        stem = pull_file_stem(rep, len(analysis.reps)) if rep is not None else "clip"
        name = f"{stem}_f{frame:05d}_{tag}".replace("/", "-")[:80]
        stills.append(
            Still(
                out / f"{name}{PHOTO_SUFFIX}",
                rep,
                d["sample"],
                frame,
                d["time"],
                tuple(d["moments"]),
                tuple(d["findings"]),
                analysis.pull_label(rep) if rep is not None else "",
                _pull_notes(analysis, pull, d["moments"], frame, d["sample"], d["findings"])
                if pull is not None
                else (),
            )
        )
    return tuple(stills)


def _pull_notes(
    analysis: Analysis,
    pull: Rep,
    moments: Sequence[str],
    frame: int,
    sample: int,
    findings: Sequence[Finding] = (),
) -> tuple[str, ...]:
    """What a still says about its pull: a partial pull's reason on each of its stills; on a
    lockout still, "Lockout reached: no (...)" when the summary marks it (the same text), and,
    when the hip reading it is judged by was read at another frame, that reading ("Hip angle held
    at lockout: 130° at frame 84"), so the angle drawn at the moment's own frame is not taken
    for it. A finding on a median (the back's, from set-up to knee pass) is no frame's value: the
    still names it a median over its frames and gives this frame's own value apart ("Back
    flexion at this frame: 1.4% of torso length"), the one its drawn outline shows."""
    notes = []
    judged = {f.metric for f in findings if f.metric}
    for m in metric_readings(analysis, pull.number):
        if m.metric not in judged or m.at_one_frame:
            continue
        spec = METRIC_SPECS.get(m.metric)
        own = frame_value(analysis, m, sample)
        notes.append(f"{m.label}: {m.text} ({m.where})")
        limit = next((f.threshold for f in findings if f.metric == m.metric), None)
        if spec is not None and math.isfinite(own):
            notes.append(f"{spec.sample_label} at this frame: {format_value(own, m.unit, limit=limit)}")
    if not pull.complete:
        notes.append(f"{PARTIAL_PULL.capitalize()}, not counted as a rep: {pull.partial_reason}")
    reached = lockout_text(analysis, pull) if "lockout" in moments else None
    if reached is not None and reached != "yes":
        notes.append(f"Lockout reached: {reached}")
        hip = lockout_hip_reading(analysis, pull)
        if hip is not None and hip.frame_index != frame:
            notes.append(f"{hip.label}: {hip.text} at frame {hip.frame_index}")
    return tuple(notes)


def finding_line(f: Finding) -> str:
    """Short still/caption line: ``"✗ Excessive torso lean: 81° (limit 62°)"`` (message if no numbers);
    a fault the verdict does not count reads ``"! Excessive torso lean (note): 77° (limit 75°)"``; a
    finding that could not be measured says why in its message's words."""
    role = verdict_role(f)
    mark = st.finding_mark(f)  # "✗" only for a fault the verdict counts
    name = f.name
    if role in (NOTE, WARNING):  # a fault the verdict does not count says so: "(note)"
        name = f"{name} ({ROLE_WORDS[role].word})"
    if f.status == NOT_MEASURABLE:  # why, in the finding's words (a bare "not measurable here" sat
        return f"{mark} {name}: {f.message}"  # beside an angle drawn on the same still)
    if f.value is None and f.threshold is None:
        return f"{mark} {name}: {f.message}"
    measured = format_value(f.value, f.unit, limit=f.threshold)
    line = f"{mark} {name}: {measured} (limit {format_limit(f.threshold, f.unit)})"
    return f"{line} ({f.quality})" if f.quality else line


def _finding_lines(findings: Sequence[Finding]) -> list[tuple[str, st.BGR, bool]]:
    lines: list[tuple[str, st.BGR, bool]] = []
    order = {FAULT: 0, OK: 1, NOT_MEASURABLE: 2}
    for f in sorted(findings, key=lambda f: order.get(f.status, 3)):
        lines.append((finding_line(f), st.finding_colour(f), f.is_fault))
        if f.is_fault and f.cue:
            lines.append((f"Cue: {f.cue}", (255, 255, 255), False))
    return lines


def rep_view_box(analysis: Analysis, rep: Rep | None, width_px: int = STILL_WIDTH_PX) -> ViewBox:
    """The crop shared by all stills of ``rep`` (whole clip when None), including the bar path."""
    samples = range(rep.start_sample, rep.end_sample + 1) if rep is not None else None
    extra = None
    body = analysis.body
    if body is not None and "bar_x_px" in body.smoothed:
        idx = np.arange(len(body.time_s)) if samples is None else np.asarray(samples)
        idx = idx[(idx >= 0) & (idx < len(body.time_s))]
        extra = np.stack([body.smoothed["bar_x_px"][idx], body.smoothed["bar_y_px"][idx]], axis=1)
    return view_box(lifter_box(analysis, samples, extra_xy_px=extra), width_px)


def render_still(frame_bgr: np.ndarray, analysis: Analysis, still: Still, view: ViewBox) -> np.ndarray:
    """The annotated still picture (BGR): header band, annotated crop, footer with findings."""
    img = view.apply(frame_bgr)
    w = img.shape[1]
    style = Style.for_width(w)
    if reads_back(still.findings):  # rounded back: the dorsal outline, its chord and the largest bow
        fault = any(f.is_fault and reads_back([f]) for f in still.findings)
        draw_back_outline(img, analysis, still.sample, view, style, fault=fault)
    # the pose and its angle labels on top: the outline drawn after them hid a label's unit ("lean 54")
    img = draw_pose(img, analysis, still.sample, findings=still.findings, view=view, style=style, copy=False)
    header = st.panel(w, [(still.title, (255, 255, 255), True)], style.title_font_px, style.pad_px)
    lines = [(note, st.PARTIAL_NOTE, True) for note in still.notes]
    lines += _finding_lines(still.findings) or [
        (MOMENT_HELP.get(m, m), (220, 220, 220), False) for m in still.moments
    ]
    if uses_world_angles(analysis):
        view_name = analysis.view.view if analysis.view is not None else "non-side"
        lines.append(
            (
                f"{view_name.capitalize()} view: angles are 3-D estimates, the picture is foreshortened.",
                st.MUTED,
                False,
            )
        )
    parts = [header, img]
    if lines:
        parts.append(st.panel(w, lines, style.font_px, style.pad_px))
    return np.vstack(parts)


def still_consumer(
    analysis: Analysis,
    stills: Sequence[Still],
    width_px: int = STILL_WIDTH_PX,
    sink: Callable[[Path, np.ndarray], object] | None = None,
) -> FrameConsumer:
    """A frame-pass consumer that renders ``stills`` as their frames stream by and hands each
    picture to ``sink(path, bgr)`` (default: :func:`~.images.write_photo`)."""
    sink = sink or write_photo
    reps = {r.number: r for r in analysis.pulls}
    views: dict[int | None, ViewBox] = {}
    by_frame: dict[int, list[Still]] = {}
    for s in stills:
        by_frame.setdefault(s.frame_index, []).append(s)

    def handle(frame) -> None:
        for s in by_frame.get(frame.index, ()):
            if s.rep not in views:
                views[s.rep] = rep_view_box(
                    analysis, reps.get(s.rep) if s.rep is not None else None, width_px
                )
            sink(s.path, render_still(frame.bgr, analysis, s, views[s.rep]))

    return FrameConsumer(frozenset(by_frame), handle, "stills")


def write_stills(
    analysis: Analysis, out_dir: str | Path, *, width_px: int = STILL_WIDTH_PX
) -> tuple[Still, ...]:
    """Render and write every planned still into ``out_dir``; decodes only the frames needed."""
    stills = plan_stills(analysis, out_dir)
    run_frame_pass(analysis, [still_consumer(analysis, stills, width_px)])
    return tuple(s for s in stills if s.path.is_file())


__all__ = ["Still", "plan_stills", "render_still", "still_consumer", "write_stills"]


def annotated_frame(
    analysis: Analysis,
    sample: int,
    *,
    findings: Sequence[Finding] | None = None,
    crop: bool = True,
    width_px: int = STILL_WIDTH_PX,
) -> np.ndarray:
    """One sample's source frame, decoded by seeking, cropped like the stills and annotated (BGR).

    For notebook widgets (a slider over samples). ``findings``: to highlight (default: the rule
    findings at this sample's frame). ``crop``: frame the lifter (the crop of the rep containing
    the sample, else of the whole clip); False keeps the whole frame at ``width_px`` wide.
    """
    from ..video import read_frame
    from .layout import frame_indices

    fi = frame_indices(analysis)
    if not 0 <= sample < fi.size:
        raise IndexError(f"sample {sample} is outside 0..{fi.size - 1}")
    frame_index = int(fi[sample])
    if findings is None:
        findings = [f for f in analysis.findings if f.frame_index == frame_index]
    rep = next((r for r in analysis.pulls if r.start_sample <= sample <= r.end_sample), None)
    if crop:
        view = rep_view_box(analysis, rep, width_px)
    else:
        view = ViewBox.full(analysis.video.width_px, analysis.video.height_px, width_px)
    img = view.apply(read_frame(analysis.video.path, frame_index))
    return draw_pose(img, analysis, sample, findings=findings, view=view, copy=False)
