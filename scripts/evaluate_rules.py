"""Honest calibration of every form rule against the dev labels (never the eval clips).

Usage: ``python scripts/evaluate_rules.py [--clips STEM ...] [--boot N] [--values] [--back]
[--json OUT] [--shared DIR]``

Runs :func:`formcheck_core.analysis.analyze` (lift "deadlift", pose and back profile from the
cache when present) on every clip of ``labels_dev.json``, then every rule with all rules switched
on (preset "all"). One row per clip: a clip is *flagged* by a rule when the rule reports a fault
on any rep, and its *value* is its worst rep's (highest for "fault above" rules, lowest for
"fault below"). Clips labelled "unclear" are left out; a clip the rule could not measure (wrong
view, no rep, keypoints or mask missing) counts as not flagged.

For each rule with a label field it prints sensitivity, specificity, F1 and balanced accuracy,
each with a 95 % bootstrap CI (clips resampled, seeded), next to the never-flag and always-flag
baselines on the same clips, for

- **in-sample**: the rule's default threshold (chosen on these same clips: optimistic);
- **LOCO**: leave-one-clip-out -- each clip judged with the threshold
  :func:`formcheck_core.scoring.choose_threshold` picks on the other clips (best balanced
  accuracy; ties: fewer false alarms on good lifts, then the wider margin).

Fault fields the labels file lacks (``squat_pattern``) are derived from the labelling notes
(:data:`DERIVED_FROM_NOTES`); each rule's header line gives the positive clips that yields.

Only the rule's first threshold is cross-validated; others stay at their defaults. A rule whose
LOCO balanced accuracy does not beat never-flag (0.5) should be off by default (its ``enabled``
threshold 0; ``--preset all`` switches it on): the last column says whether the default agrees.

Finally the set verdict ("needs work" vs label overall "bad"), with the default thresholds and
with nested LOCO: for each held-out clip every rule's threshold *and* its on/off decision are
made from the other clips only, then the rules are re-applied to the held-out clip.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from formcheck_core.analysis import analyze
from formcheck_core.biomech.back_series import pull_samples
from formcheck_core.config import shared_dir
from formcheck_core.plugins import collect_rules, get_plugin_manager
from formcheck_core.rules.reevaluate import reevaluate
from formcheck_core.rules.thresholds import threshold_settings
from formcheck_core.scoring import (
    Confusion,
    baselines,
    choose_threshold,
    confusion,
    loco_thresholds,
    metrics_with_ci,
)

#: Rule id -> label fault name: each loaded rule's ``label_key`` that the labels file uses
#: (filled by :func:`main`).
LABEL_FIELD: dict[str, str] = {}


def label_fields(rules: dict, labels: dict) -> dict[str, str]:
    """Rule id -> ``Rule.label_key`` for the loaded rules whose key appears in the labels' faults."""
    used = {k for lab in labels.values() for k in lab.get("faults", {})}
    return {rid: lr.rule.label_key for rid, lr in rules.items() if lr.rule.label_key in used}


#: Fault fields the labels file lacks, derived from each clip's labelling notes: field -> the notes'
#: wording that marks it. Only for deadlift-family clips; every other clip reads False, as the
#: labelled faults do on non-deadlifts.
DERIVED_FROM_NOTES: dict[str, re.Pattern[str]] = {
    "squat_pattern": re.compile(r"squatting deadlift|squat position|hips (?:far )?too low", re.I),
}


def with_derived_faults(labels: dict) -> dict:
    """``labels`` with each :data:`DERIVED_FROM_NOTES` field added where the file lacks it."""
    out = {}
    for stem, lab in labels.items():
        faults = dict(lab.get("faults", {}))
        for name, pattern in DERIVED_FROM_NOTES.items():
            if name not in faults:
                deadlift = "deadlift" in str(lab.get("lift", ""))
                faults[name] = deadlift and bool(pattern.search(str(lab.get("notes", ""))))
        out[stem] = {**lab, "faults": faults}
    return out


#: The threshold that switches a rule on (1) or off (0); ``--preset all`` switches every rule on.
ENABLED = "enabled"
SHOWN = ("sensitivity", "specificity", "f1", "balanced_accuracy")


def analyse_clips(shared: Path, stems: list[str] | None) -> tuple[dict, dict]:
    """Labels and rules-off analyses (or an error string) by clip stem."""
    labels = with_derived_faults(
        {Path(k).stem: v for k, v in json.loads((shared / "videos" / "labels_dev.json").read_text()).items()}
    )
    out: dict = {}
    for stem in sorted(labels):
        if stems and stem not in stems:
            continue
        try:
            out[stem] = analyze(shared / "videos" / "dev" / f"{stem}.mp4", rules=False, progress=False)
        except Exception as exc:  # report and go on: one bad clip must not hide the others
            out[stem] = f"{type(exc).__name__}: {exc}"
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return labels, out


@dataclass(frozen=True)
class RuleRows:
    """One rule's clip rows (labelled true/false only): stems, labels, worst values, direction."""

    rule_id: str
    threshold_name: str
    direction: Literal["above", "below"]
    stems: list[str]
    truth: np.ndarray
    values: np.ndarray
    flagged_default: np.ndarray
    unclear: list[str]


def rule_rows(rid: str, labels: dict, done: dict, defaults: dict) -> RuleRows | None:
    """Rows of rule ``rid`` from analyses with every rule on (``done``: stem -> Analysis)."""
    field = LABEL_FIELD[rid]
    found = [f for a in done.values() for f in a.findings if f.rule_id == rid and f.value is not None]
    if not found:
        return None
    above = any(
        (f.is_fault and f.value > f.threshold) or (not f.is_fault and f.value <= f.threshold) for f in found
    )
    stems, truth, values, flagged, unclear = [], [], [], [], []
    for stem, a in done.items():
        t = labels[stem]["faults"].get(field)
        if t == "unclear":
            unclear.append(stem)
        if t not in (True, False):
            continue
        mine = [f for f in a.findings if f.rule_id == rid]
        vals = [f.value for f in mine if f.value is not None and f.status in ("fault", "ok")]
        stems.append(stem)
        truth.append(bool(t))
        values.append((max if above else min)(vals) if vals else math.nan)
        flagged.append(any(f.is_fault for f in mine))
    name = next(k for k in defaults[rid] if k != ENABLED)
    return RuleRows(
        rid,
        name,
        "above" if above else "below",
        stems,
        np.array(truth, bool),
        np.array(values, float),
        np.array(flagged, bool),
        unclear,
    )


def _cells(c: Confusion, truth: np.ndarray, pred: np.ndarray, boot: int) -> str:
    ci = metrics_with_ci(truth, pred, metrics=SHOWN, n_boot=boot, seed=0)
    return "  ".join(f"{ci[m]!s:17s}" for m in SHOWN) + f"  TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}"


def report_rule(rows: RuleRows, default_on: bool, boot: int) -> dict:
    """Print one rule's table; return its numbers."""
    t, v = rows.truth, rows.values
    loco = loco_thresholds(v, t, rows.stems, direction=rows.direction)
    c_in, c_cv = confusion(t, rows.flagged_default), loco.confusion(t)
    base = baselines(t)
    beats = c_cv.balanced_accuracy > base["never_flag"].balanced_accuracy
    ths = [x for x in loco.thresholds.values() if math.isfinite(x)]
    th_range = f"{min(ths):.4g}..{max(ths):.4g}" if ths else "never flags"
    verdict = "ON" if beats else "OFF"
    agree = "agrees" if beats == default_on else f"DISAGREES (default {'on' if default_on else 'off'})"
    print(
        f"\n{rows.rule_id}  ({rows.threshold_name}, fault if {rows.direction}; {int(t.sum())} positive, "
        f"{int((~t).sum())} negative clips, {int(np.isnan(v).sum())} not measured, {len(rows.unclear)} unclear)"
    )
    print(f"    {'':26s}{'sensitivity':19s}{'specificity':19s}{'F1':19s}{'balanced acc.':19s}")
    print(f"    {'in-sample (default)':26s}{_cells(c_in, t, rows.flagged_default, boot)}")
    print(f"    {'LOCO (' + th_range + ')':26s}{_cells(c_cv, t, loco.predictions, boot)}")
    for name, c in base.items():
        pred = np.zeros_like(t) if name == "never_flag" else np.ones_like(t)
        print(f"    {name.replace('_', '-'):26s}{_cells(c, t, pred, boot)}")
    print(
        f"    LOCO beats never-flag: {'yes' if beats else 'no'} -> {verdict} by default; current default {agree}; "
        f"threshold on all clips {loco.in_sample_threshold:.4g}"
    )
    return {
        "threshold_name": rows.threshold_name,
        "direction": rows.direction,
        "in_sample": c_in.__dict__,
        "loco": c_cv.__dict__,
        "loco_balanced_accuracy": c_cv.balanced_accuracy,
        "loco_f1": c_cv.f1,
        "beats_never_flag": bool(beats),
        "default_on": default_on,
        "threshold_all_clips": loco.in_sample_threshold,
        "clips": {
            s: {"truth": bool(a), "value": None if math.isnan(b) else b}
            for s, a, b in zip(rows.stems, t, v, strict=True)
        },
    }


def _keep_on(rows: RuleRows, mask: np.ndarray) -> tuple[float, bool]:
    """Threshold and on/off decision made from the rows in ``mask`` only (inner LOCO)."""
    t, v, stems = rows.truth[mask], rows.values[mask], [s for s, m in zip(rows.stems, mask, strict=True) if m]
    th = choose_threshold(v, t, rows.direction)
    if t.all() or (~t).all():
        return th, False
    inner = loco_thresholds(v, t, stems, direction=rows.direction).confusion(t)
    return th, bool(inner.balanced_accuracy > 0.5)


def verdict_of(a) -> bool:
    return next((v.label for v in a.verdicts if v.rep is None), "none") == "needs work"


def report_verdict(
    labels: dict, analyses: dict, all_rows: dict[str, RuleRows], defaults: dict, boot: int
) -> dict:
    """Set verdict vs overall label: default thresholds, and nested leave-one-clip-out."""
    stems = [s for s, a in analyses.items() if labels[s].get("overall") in ("good", "bad")]
    truth = np.array([labels[s]["overall"] == "bad" for s in stems], bool)
    default = np.array([verdict_of(reevaluate(analyses[s], defaults)) for s in stems], bool)
    nested = []
    for s in stems:
        over = {rid: dict(v) for rid, v in defaults.items()}
        for rid, rows in all_rows.items():
            keep = np.array([x != s for x in rows.stems], bool)
            th, on = _keep_on(rows, keep)
            if math.isfinite(th):
                over[rid][rows.threshold_name] = th
            if ENABLED in over[rid]:
                over[rid][ENABLED] = 1.0 if on else 0.0
            elif not on:
                over[rid][rows.threshold_name] = math.inf if rows.direction == "above" else -math.inf
        nested.append(verdict_of(reevaluate(analyses[s], over)))
    nested_arr = np.array(nested, bool)
    print(
        f"\nset verdict 'needs work' vs overall 'bad' ({int(truth.sum())} bad, {int((~truth).sum())} good clips)"
    )
    print(f"    {'':26s}{'sensitivity':19s}{'specificity':19s}{'F1':19s}{'balanced acc.':19s}")
    print(f"    {'defaults':26s}{_cells(confusion(truth, default), truth, default, boot)}")
    print(f"    {'nested LOCO':26s}{_cells(confusion(truth, nested_arr), truth, nested_arr, boot)}")
    for name, c in baselines(truth).items():
        pred = np.zeros_like(truth) if name == "never_flag" else np.ones_like(truth)
        print(f"    {name.replace('_', '-'):26s}{_cells(c, truth, pred, boot)}")
    for label, pred in (("defaults", default), ("nested LOCO", nested_arr)):
        fp = [s for s, t, p in zip(stems, truth, pred, strict=True) if p and not t]
        fn = [s for s, t, p in zip(stems, truth, pred, strict=True) if t and not p]
        print(
            f"    {label}: false alarms on good lifts: {', '.join(fp) or '-'}; missed bad lifts: {', '.join(fn) or '-'}"
        )
    return {
        "defaults": confusion(truth, default).__dict__,
        "nested_loco": confusion(truth, nested_arr).__dict__,
        "defaults_balanced_accuracy": confusion(truth, default).balanced_accuracy,
        "nested_loco_balanced_accuracy": confusion(truth, nested_arr).balanced_accuracy,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="*", help="clip stems (default: all dev clips)")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--values", action="store_true", help="print each rule's clip values, sorted")
    parser.add_argument(
        "--back",
        action="store_true",
        help="list each side-view clip's rounded_back label and per-pull back numbers",
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--shared", type=Path, default=shared_dir())
    args = parser.parse_args(argv)
    labels, analyses = analyse_clips(args.shared, args.clips)
    errors = [f"{s}: {a}" for s, a in analyses.items() if isinstance(a, str)]
    analyses = {s: a for s, a in analyses.items() if not isinstance(a, str)}
    rules, _ = collect_rules(get_plugin_manager())
    LABEL_FIELD.update(label_fields(rules, labels))
    everything = threshold_settings(preset="all") if _has_all(rules) else threshold_settings()
    defaults = threshold_settings()
    done = {stem: reevaluate(a, everything) for stem, a in analyses.items()}
    out: dict = {"rules": {}, "errors": errors}
    all_rows: dict[str, RuleRows] = {}
    for rid in LABEL_FIELD:
        if rid not in rules:
            continue
        rows = rule_rows(rid, labels, done, everything)
        if rows is None:
            print(f"\n{rid}: no measured values")
            continue
        all_rows[rid] = rows
        default_on = defaults[rid].get(ENABLED, 1.0) != 0.0
        out["rules"][rid] = report_rule(rows, default_on, args.boot)
        if args.values:
            for i in np.argsort(np.nan_to_num(rows.values, nan=-np.inf)):
                print(
                    f"        {rows.values[i]:9.4g}  {'FAULT' if rows.truth[i] else 'ok   '}  {rows.stems[i]}"
                )
    if args.back:
        print_back_table(labels, analyses)
    out["verdict"] = report_verdict(labels, analyses, all_rows, defaults, args.boot)
    for e in errors:
        print(f"error: {e}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=lambda x: None))
    return 0


def print_back_table(labels: dict, analyses: dict) -> None:
    """Per clip with a back series: the ``rounded_back`` label, then per rep / partial pull its
    ``back_flexion_rel``, ``back_angle_deg``, mask confidence, and where in the pull the median
    sample lies (samples after set-up, and the pull's length in samples)."""
    print("\nback profile per pull (value at the median sample; 'at' = samples after set-up / pull length)")
    for stem, a in analyses.items():
        if a.back is None:
            continue
        lab = labels[stem]
        print(
            f"  {stem:28s} rounded_back={lab['faults'].get('rounded_back')!s:7s} overall={lab.get('overall')}"
        )
        for pull in (*a.reps, *a.partial_pulls):
            m = pull.metrics
            samples = pull_samples(pull)
            at = pull.metric_samples.get("back_flexion_rel")
            where = f"{at - samples[0]}/{len(samples)}" if at is not None and samples else "-"
            kind = "rep" if pull.complete else "partial"
            print(
                f"      {kind:7s} {pull.number:2d}  flexion {m.get('back_flexion_rel', math.nan):6.3f}  "
                f"angle {m.get('back_angle_deg', math.nan):6.1f}°  confidence "
                f"{m.get('back_mask_confidence', math.nan):4.2f}  at {where}"
            )


def _has_all(rules: dict) -> bool:
    return any("all" in lr.rule.presets for lr in rules.values())


if __name__ == "__main__":
    sys.exit(main())
