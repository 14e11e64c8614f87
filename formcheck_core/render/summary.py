"""Plain-text summary of an analysis for the terminal (presentation edge)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis import Analysis
from ..cues import Cue, fallback_reason
from ..findings import Finding
from ..metric_labels import metric_label
from ..pulls import pull_heading, set_verdict_text
from ..readings import lockout_reached, lockout_text, metric_readings, metric_text
from ..rules.verdicts import verdict_role
from ..vocabulary import (
    FAULT,
    MOMENT_NAMES,
    OK,
    PARTIAL_PULL,
    ROLE_WORDS,
    counted,
    moment_label,
    unit_of,
)
from .overlay import uses_world_angles

#: Metrics shown per rep in the summary, in this order, each by its label for people (its spec's,
#: (:func:`~formcheck_core.metric_labels.metric_label`; units and digits: ``format_value``).
SUMMARY_METRIC_NAMES: tuple[str, ...] = (
    "hip_angle_setup_deg",
    "hip_angle_liftoff_deg",
    "hip_angle_lockout_deg",
    "knee_angle_bottom_deg",
    "knee_angle_lockout_deg",
    "torso_lean_liftoff_deg",
    "max_bar_drift_rel",
    "max_bar_drift_px",
    "max_bar_drift_cm",
)


def summary_label(name: str) -> str:
    """Metric ``name`` as the summary labels it: its label for people, lower case ("deepest hip
    angle near lift-off", "torso lean at lift-off")."""
    label = metric_label(name)  # built-in metrics: their spec's label
    return label[:1].lower() + label[1:]


#: (metric, label) of every metric line of a rep (:data:`SUMMARY_METRIC_NAMES`).
SUMMARY_METRICS: tuple[tuple[str, str], ...] = tuple((n, summary_label(n)) for n in SUMMARY_METRIC_NAMES)
#: The label column: as wide as the longest label.
LABEL_WIDTH = max(len(label) for _, label in SUMMARY_METRICS)


def summary_line(label: str, text: str) -> str:
    """One metric line of a rep: the label padded to a column, then the value's text."""
    return f"{label:{LABEL_WIDTH}s} {text}"


def finding_tag(f: Finding) -> str:
    """A finding's tag in the summary, the word of its verdict role: "fault/moderate" (with its
    severity) only for a fault the verdict counts; "note", "warning", "not measurable" else."""
    role = verdict_role(f)
    return f"{ROLE_WORDS[role].word}/{f.severity}" if role == FAULT else ROLE_WORDS[role].word


def format_summary(analysis: Analysis, cues: Sequence[Cue] = ()) -> str:
    """Multi-line summary: clip, view, per-rep moments and metrics, findings, cues, warnings. Partial
    pulls follow the reps, named "partial pull 1 (not counted): <reason>" (:mod:`formcheck_core.pulls`)."""
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
    extra = f" (+{counted(n_partial, PARTIAL_PULL)})" if n_partial else ""
    lines.append(f"reps found: {len(analysis.reps)}{extra}")
    verdicts = {vd.rep: vd for vd in analysis.verdicts}
    for rep in analysis.pulls:  # complete reps, then partial pulls (named and judged the same way)
        moments = ", ".join(
            f"{moment_label(m.name)} {m.time_s:.2f}s (frame {m.frame_index})" for m in rep.moments.values()
        )
        verdict = verdicts.get(rep.number)
        if rep.complete:
            lines.append(f"\n{pull_heading(analysis, rep)}: {verdict.label if verdict else ''}".rstrip())
        else:  # "partial pull 1 (not counted): never reached lockout (the torso stayed 33° from vertical)"
            lines.append(f"\n{analysis.pull_label(rep.number)} (not counted): {rep.partial_reason}")
        lines.append(f"  moments: {moments or 'none found'}")
        for name in MOMENT_NAMES:  # a moment not found says why, once ("no knee pass: the bar ...")
            why = rep.missing_moments.get(name)
            if why and name not in rep.moments and (rep.complete or name != "lockout"):
                lines.append(f"  no {moment_label(name)}: {why}")
        read_at = {m.metric: m.frame_index for m in metric_readings(analysis, rep.number)}
        world = uses_world_angles(analysis)
        for key, label in SUMMARY_METRICS:
            value = rep.metrics.get(key)
            quality = rep.metric_quality.get(key)
            measurable = not rep.unmeasured_mark(key)
            if key == "max_bar_drift_cm" and analysis.lifter_height_cm is None:
                continue  # cm only when the lifter's height was given (the JSON says why)
            hidden = quality is not None and not quality.measurable  # a joint not seen at its frame
            if not rep.complete and not hidden and (value is None or math.isnan(value)):
                continue  # a partial pull lacks what its missing moments hold (said once, above)
            # the text every view shows (digits follow the limit; "not measurable: <reason>", no number)
            shown = metric_text(analysis, rep, key)
            mark = f"  ({quality.mark})" if quality is not None and quality.mark and measurable else ""
            if measurable and world and unit_of(key) == "deg":  # as the stills say: not a side view
                mark += "  (3-D estimate)"
            # the frame it was read at: "deepest hip angle near lift-off" may not be the lift-off
            # still's frame (drawn at the moment's own frame)
            where = f"  (frame {read_at[key]})" if key in read_at and measurable else ""
            line = f"  {summary_line(label, shown)}{where}{mark}"
            if not measurable and lines[-1] == line:
                continue  # "max bar drift  not measurable: ..." once, not per unit
            lines.append(line)
        reached = lockout_text(analysis, rep)
        if reached is not None:
            lines.append(f"  {summary_line('lockout reached', reached)}")
        for f in analysis.findings:
            if f.rep == rep.number and f.status != OK:
                lines.append(
                    f"  [{finding_tag(f)}] {f.name}: {f.message}" + (f" ({f.quality})" if f.quality else "")
                )
    set_text = set_verdict_text(analysis)
    if set_text:
        lines.append(f"\nset: {set_text}")
    if cues:
        label = " (test model — not advice)" if any(c.source == "test-model" for c in cues) else ""
        reason = fallback_reason(cues)
        # why the LLM was not used is the coaching note after the summary (summary.txt), said once
        lines.append(f"\ncues{label}" + (" (rules; LLM not used)" if reason else "") + ":")
        lines.extend(
            f"  {c.priority}. "
            + (f"[{c.role_tag}] " if c.role_tag else "")
            + f"{c.text}  — {c.why}  [from: {c.source_detail or c.source}]"
            for c in cues
        )
    for e in analysis.rule_errors:
        lines.append(f"rule skipped: {e.rule_id} ({e.plugin}): {e.error}")
    for w in analysis.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


__all__ = [
    "SUMMARY_METRICS",
    "SUMMARY_METRIC_NAMES",
    "finding_tag",
    "format_summary",
    "lockout_reached",
    "summary_label",
    "summary_line",
]
