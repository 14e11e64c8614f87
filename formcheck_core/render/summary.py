"""Plain-text summary of an analysis for the terminal (presentation edge)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis import Analysis
from ..cues import Cue, fallback_reason
from ..readings import metric_readings
from ..vocabulary import FAULT, OK, format_value, unit_of

#: Metrics shown per rep in the summary, with a short label (units and digits: ``format_value``).
SUMMARY_METRICS: tuple[tuple[str, str], ...] = (
    ("hip_angle_setup_deg", "hip @setup"),
    ("hip_angle_liftoff_deg", "hip @lift-off"),
    ("hip_angle_lockout_deg", "hip @lockout"),
    ("knee_angle_bottom_deg", "knee @bottom"),
    ("knee_angle_lockout_deg", "knee @lockout"),
    ("torso_lean_liftoff_deg", "torso lean @lift-off"),
    ("max_bar_drift_rel", "max bar drift"),
    ("max_bar_drift_px", "max bar drift"),
    ("max_bar_drift_cm", "max bar drift"),
)


def summary_line(label: str, text: str) -> str:
    """One metric line of a rep: the label padded to a column, then the value's text."""
    return f"{label:22s} {text}"


def lockout_reached(analysis: Analysis, rep) -> bool | None:
    """Whether ``rep`` locked out, by the one definition: the ``incomplete_lockout`` finding when the
    rule ran (with whatever limit it ran with), else the ``lockout_reached`` metric (same default
    limit); None when neither could tell."""
    for f in analysis.findings:
        if f.rep == rep.number and f.rule_id == "incomplete_lockout" and f.status in (OK, FAULT):
            return f.status == OK
    value = rep.metrics.get("lockout_reached")
    return None if value is None or math.isnan(value) else value >= 0.5


def format_summary(analysis: Analysis, cues: Sequence[Cue] = ()) -> str:
    """Multi-line summary: clip, view, per-rep moments and metrics, findings, cues, warnings."""
    v = analysis.video
    lines = [
        f"{v.path}: {v.width_px}x{v.height_px}, {v.fps:.1f} fps, {analysis.pose.n_samples} samples "
        f"({int(analysis.pose.detected.sum())} with a pose)"
    ]
    if analysis.view:
        lines.append(
            f"view: {analysis.view.view} (confidence {analysis.view.confidence:.2f}), "
            f"near side: {analysis.view.side}"
        )
    n_partial = len(analysis.partial_pulls)
    extra = f" (+{n_partial} partial pull{'s' if n_partial != 1 else ''})" if n_partial else ""
    lines.append(f"reps found: {len(analysis.reps)}{extra}")
    verdicts = {vd.rep: vd for vd in analysis.verdicts}
    for rep in analysis.reps:
        moments = ", ".join(f"{m.name} {m.time_s:.2f}s (frame {m.frame_index})" for m in rep.moments.values())
        verdict = verdicts.get(rep.number)
        lines.append(f"\nrep {rep.number}: {verdict.label if verdict else ''}".rstrip())
        lines.append(f"  moments: {moments or 'none found'}")
        readings = {m.metric: m for m in metric_readings(analysis, rep.number)}
        for key, label in SUMMARY_METRICS:
            value = rep.metrics.get(key)
            if key == "max_bar_drift_cm" and (value is None or math.isnan(value)):
                continue
            quality = rep.metric_quality.get(key)
            mark = f"  ({quality.mark})" if quality is not None and quality.mark else ""
            reading = readings.get(key)  # the text every view shows (digits follow the limit)
            shown = reading.text if reading is not None else format_value(value, unit_of(key))
            lines.append(f"  {summary_line(label, shown)}{mark}")
        reached = lockout_reached(analysis, rep)
        if reached is not None:
            lines.append(f"  {summary_line('lockout reached', 'yes' if reached else 'no')}")
        for f in analysis.findings:
            if f.rep == rep.number and f.status != OK:
                lines.append(
                    f"  [{f.status}{'/' + f.severity if f.is_fault else ''}] {f.rule_id}: {f.message}"
                    + (f" ({f.quality})" if f.quality else "")
                )
    for pull in analysis.partial_pulls:
        moments = ", ".join(
            f"{m.name} {m.time_s:.2f}s (frame {m.frame_index})" for m in pull.moments.values()
        )
        lines.append(f"\npartial pull (not counted): {pull.partial_reason}")
        lines.append(f"  moments: {moments or 'none found'}")
        reached = lockout_reached(analysis, pull)
        if reached is not None:
            lines.append(f"  {summary_line('lockout reached', 'yes' if reached else 'no')}")
        for f in analysis.findings:  # rules judging the pull off the floor judge it too
            if f.rep == pull.number and f.is_fault:
                lines.append(f"  [{f.status}/{f.severity}] {f.rule_id}: {f.message}")
    set_verdict = verdicts.get(None)
    if set_verdict:
        lines.append(f"\nset: {set_verdict.label}")
    if cues:
        label = " (test model — not advice)" if any(c.source == "test-model" for c in cues) else ""
        reason = fallback_reason(cues)
        lines.append(f"\ncues{label}" + (f" (rules; LLM not used: {reason})" if reason else "") + ":")
        lines.extend(
            f"  {c.priority}. {c.text}  — {c.why}  [from: {c.source_detail or c.source}]" for c in cues
        )
    for e in analysis.rule_errors:
        lines.append(f"rule skipped: {e.rule_id} ({e.plugin}): {e.error}")
    for w in analysis.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
