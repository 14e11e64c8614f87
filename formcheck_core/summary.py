"""Plain-text summary of an analysis for the terminal (presentation edge)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .analysis import Analysis
from .cues import Cue

#: Metrics shown per rep in the summary, with a short label and unit.
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("hip_angle_setup_deg", "hip @setup", "°"),
    ("hip_angle_liftoff_deg", "hip @lift-off", "°"),
    ("hip_angle_lockout_deg", "hip @lockout", "°"),
    ("knee_angle_bottom_deg", "knee @bottom", "°"),
    ("knee_angle_lockout_deg", "knee @lockout", "°"),
    ("torso_lean_liftoff_deg", "torso lean @lift-off", "°"),
    ("max_bar_drift_rel", "max bar drift", " body lengths"),
    ("max_bar_drift_px", "max bar drift", " px"),
    ("max_bar_drift_cm", "max bar drift", " cm"),
)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    digits = 2 if unit.strip() == "body lengths" else 0
    return f"{value:.{digits}f}{unit}"


def format_summary(analysis: Analysis, cues: Sequence[Cue] = ()) -> str:
    """Multi-line summary: clip, view, per-rep moments and metrics, findings, cues, warnings."""
    v = analysis.video
    lines = [f"{v.path}: {v.width_px}x{v.height_px}, {v.fps:.1f} fps, {analysis.pose.n_samples} samples "
             f"({int(analysis.pose.detected.sum())} with a pose)"]  # fmt: skip
    if analysis.view:
        lines.append(f"view: {analysis.view.view} (confidence {analysis.view.confidence:.2f}), "
                     f"near side: {analysis.view.side}")  # fmt: skip
    lines.append(f"reps found: {len(analysis.reps)}")
    verdicts = {vd.rep: vd for vd in analysis.verdicts}
    for rep in analysis.reps:
        moments = ", ".join(f"{m.name} {m.time_s:.2f}s (frame {m.frame_index})" for m in rep.moments.values())
        verdict = verdicts.get(rep.number)
        cut_off = "lockout" not in rep.moments or "liftoff" not in rep.moments
        head = f"rep {rep.number}{' (cut off by the clip)' if cut_off else ''}"
        lines.append(f"\n{head}: {verdict.label if verdict else ''}".rstrip())
        lines.append(f"  moments: {moments or 'none found'}")
        for key, label, unit in SUMMARY_METRICS:
            value = rep.metrics.get(key)
            if key == "max_bar_drift_cm" and (value is None or math.isnan(value)):
                continue
            lines.append(f"  {label:22s} {_fmt(value, unit)}")
        lockout = rep.metrics.get("lockout_reached")
        if lockout is not None and not math.isnan(lockout):
            lines.append(f"  {'lockout reached':22s} {'yes' if lockout >= 0.5 else 'no'}")
        for f in analysis.findings:
            if f.rep == rep.number and f.status != "ok":
                lines.append(f"  [{f.status}{'/' + f.severity if f.is_fault else ''}] {f.rule_id}: {f.message}")
    set_verdict = verdicts.get(None)
    if set_verdict:
        lines.append(f"\nset: {set_verdict.label}")
    if cues:
        label = " (test model — not advice)" if any(c.source == "test-model" for c in cues) else ""
        lines.append(f"\ncues{label}:")
        lines.extend(f"  {c.priority}. {c.text}  — {c.why}  [from: {c.source_detail or c.source}]" for c in cues)
    for e in analysis.rule_errors:
        lines.append(f"rule skipped: {e.rule_id} ({e.plugin}): {e.error}")
    for w in analysis.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
