"""Honest calibration of every form rule against the dev labels (never the eval clips).

Usage: ``python scripts/evaluate_rules.py [--clips STEM ...] [--boot N] [--values] [--back]
[--setup-heights] [--json OUT] [--shared DIR]``

Runs :func:`formcheck_core.analysis.analyze` (lift "deadlift", pose and back profile from the
cache when present) on every clip of ``labels_dev.json``, then every rule with all rules switched
on (preset "all"). One row per clip: a clip is *flagged* by a rule when the rule reports a fault
on any rep, and its *value* is its worst rep's (highest for "fault above" rules, lowest for
"fault below"). Clips labelled "unclear" are left out; a clip the rule could not measure (wrong
view, no rep, keypoints or mask missing) counts as not flagged.

A clip counts as *flagged* by a rule when the rule reports a fault that was not read at low pose
confidence (a low-confidence fault is a "warning": shown, but it does not judge the rep; the
script counts those apart, per rule, so none is gained or lost quietly). Its value is its worst
confident reading.

For each rule with a label field it prints sensitivity, specificity, F1 and balanced accuracy,
each with a 95 % bootstrap CI (clips resampled, seeded), next to the never-flag and always-flag
baselines on the same clips, for

- **in-sample**: the rule's default threshold (chosen on these same clips: optimistic, unless
  the threshold is fixed);
- **LOCO**: leave-one-clip-out -- each clip judged with the threshold
  :func:`formcheck_core.scoring.choose_threshold` picks on the other clips (best balanced
  accuracy; ties: fewer false alarms on good lifts, then the wider margin);
- for a threshold the rule declares *fixed* (``Rule.fixed``: a definition or a stated source,
  not chosen on dev), **held out (fixed)**: nothing is fitted, so each held-out clip is judged
  with the default itself; the refitted LOCO row is printed beside it for comparison.

Fault fields the labels file lacks (``squat_pattern``) are derived from the labelling notes
(:data:`DERIVED_FROM_NOTES`); each rule's header line gives the positive clips that yields.

Only the rule's first threshold is cross-validated; others stay at their defaults. A rule whose
LOCO balanced accuracy does not beat never-flag (0.5) should be off by default (its ``enabled``
threshold 0; ``--preset all`` switches it on): the last column says whether the default agrees.

Finally the set verdict ("needs work" vs label overall "bad") on every clip labelled good or
bad, with the default thresholds and with nested LOCO: for each held-out clip every calibrated
threshold *and* its rule's on/off decision are made from the other clips only (fixed thresholds
stay as they are, with their rule on or off as by default), then the rules are re-applied to the
held-out clip; a strict row also refits the fixed ones and decides their on/off per fold. A clip
where no deadlift pull is found (the labels include a bench press, a squat and an overhead press)
has no "needs work" verdict: it is scored as not flagged -- a miss where it is labelled bad --
and never dropped; each row is printed next to the same figure on the deadlift-labelled clips
only. Ablation rows show what the verdict's use of severity and confidence changes
(:func:`formcheck_core.rules.verdicts.counts_as_fault`), and every miss and false alarm is listed
with what the tool said.
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
from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.rules import reevaluate
from formcheck_core.rules.engine import judged_pulls
from formcheck_core.rules.thresholds import threshold_settings
from formcheck_core.rules.verdicts import flags_rule, serious_fault, verdict_role, verdicts
from formcheck_core.scoring import (
    Confusion,
    baselines,
    choose_threshold,
    confusion,
    loco_thresholds,
    metrics_with_ci,
)
from formcheck_core.vocabulary import NEEDS_WORK, NO_COMPLETE_LIFT, WARNING

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
    """One rule's clip rows (labelled true/false only): stems, labels, worst confident values,
    direction, default flags (confident faults) and low-confidence warnings; ``fixed``: the
    threshold is declared fixed (``Rule.fixed``), not calibrated."""

    rule_id: str
    threshold_name: str
    direction: Literal["above", "below"]
    stems: list[str]
    truth: np.ndarray
    values: np.ndarray
    flagged_default: np.ndarray
    unclear: list[str]
    warned: np.ndarray
    fixed: bool


def rule_rows(rid: str, labels: dict, done: dict, defaults: dict, fixed: bool = False) -> RuleRows | None:
    """Rows of rule ``rid`` from analyses with every rule on (``done``: stem -> Analysis).

    A reading at low pose confidence is left out of the clip's value and flag (the verdict does
    not count it either) and recorded in ``warned``."""
    field = LABEL_FIELD[rid]
    found = [f for a in done.values() for f in a.findings if f.rule_id == rid and f.value is not None]
    if not found:
        return None
    above = any(
        (f.is_fault and f.value > f.threshold) or (not f.is_fault and f.value <= f.threshold) for f in found
    )
    stems, truth, values, flagged, unclear, warned = [], [], [], [], [], []
    for stem, a in done.items():
        t = labels[stem]["faults"].get(field)
        if t == "unclear":
            unclear.append(stem)
        if t not in (True, False):
            continue
        mine = [f for f in a.findings if f.rule_id == rid]
        sure = [f for f in mine if not f.low_confidence]
        vals = [f.value for f in sure if f.value is not None and f.status in ("fault", "ok")]
        stems.append(stem)
        truth.append(bool(t))
        values.append((max if above else min)(vals) if vals else math.nan)
        flagged.append(any(flags_rule(f) for f in mine))
        warned.append(any(f.is_fault and f.low_confidence for f in mine))
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
        np.array(warned, bool),
        fixed,
    )


def _cells(c: Confusion, truth: np.ndarray, pred: np.ndarray, boot: int) -> str:
    ci = metrics_with_ci(truth, pred, metrics=SHOWN, n_boot=boot, seed=0)
    return "  ".join(f"{ci[m]!s:17s}" for m in SHOWN) + f"  TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}"


def report_rule(rows: RuleRows, default_on: bool, boot: int) -> dict:
    """Print one rule's table; return its numbers."""
    t, v = rows.truth, rows.values
    loco = loco_thresholds(v, t, rows.stems, direction=rows.direction)
    c_in, c_refit = confusion(t, rows.flagged_default), loco.confusion(t)
    # A fixed threshold is not fitted: held out, each clip is judged with the default itself.
    held_pred = rows.flagged_default if rows.fixed else loco.predictions
    c_cv = confusion(t, held_pred)
    base = baselines(t)
    beats = c_cv.balanced_accuracy > base["never_flag"].balanced_accuracy
    ths = [x for x in loco.thresholds.values() if math.isfinite(x)]
    th_range = f"{min(ths):.4g}..{max(ths):.4g}" if ths else "never flags"
    verdict = "ON" if beats else "OFF"
    agree = "agrees" if beats == default_on else f"DISAGREES (default {'on' if default_on else 'off'})"
    kind = "fixed threshold, not fitted" if rows.fixed else "calibrated threshold"
    print(
        f"\n{rows.rule_id}  ({rows.threshold_name}, fault if {rows.direction}; {kind}; {int(t.sum())} positive, "
        f"{int((~t).sum())} negative clips, {int(np.isnan(v).sum())} not measured, {len(rows.unclear)} unclear)"
    )
    print(f"    {'':26s}{'sensitivity':19s}{'specificity':19s}{'F1':19s}{'balanced acc.':19s}")
    in_name = "in-sample (default)" if not rows.fixed else "default (fixed)"
    print(f"    {in_name:26s}{_cells(c_in, t, rows.flagged_default, boot)}")
    if rows.fixed:
        print(f"    {'held out (fixed)':26s}{_cells(c_cv, t, held_pred, boot)}")
        print(f"    {'LOCO if refitted (' + th_range + ')':26s} {_cells(c_refit, t, loco.predictions, boot)}")
    else:
        print(f"    {'LOCO (' + th_range + ')':26s}{_cells(c_cv, t, held_pred, boot)}")
    for name, c in base.items():
        pred = np.zeros_like(t) if name == "never_flag" else np.ones_like(t)
        print(f"    {name.replace('_', '-'):26s}{_cells(c, t, pred, boot)}")
    held = "held out (fixed)" if rows.fixed else "LOCO"
    print(
        f"    {held} beats never-flag: {'yes' if beats else 'no'} -> {verdict} by default; current default {agree}; "
        f"threshold on all clips {loco.in_sample_threshold:.4g}"
    )
    warn_pos = [s for s, w, x in zip(rows.stems, rows.warned, t, strict=True) if w and x]
    warn_neg = [s for s, w, x in zip(rows.stems, rows.warned, t, strict=True) if w and not x]
    print(
        f"    low-confidence warnings (shown, not counted as flags): {len(warn_neg)} negative clips"
        f"{' (' + ', '.join(warn_neg) + ')' if warn_neg else ''}, {len(warn_pos)} positive"
        f"{' (' + ', '.join(warn_pos) + ')' if warn_pos else ''}"
    )
    return {
        "threshold_name": rows.threshold_name,
        "direction": rows.direction,
        "fixed": rows.fixed,
        "in_sample": c_in.__dict__,
        "loco": c_cv.__dict__,
        "loco_refitted": c_refit.__dict__,
        "loco_balanced_accuracy": c_cv.balanced_accuracy,
        "loco_f1": c_cv.f1,
        "beats_never_flag": bool(beats),
        "default_on": default_on,
        "threshold_all_clips": loco.in_sample_threshold,
        "warnings_negative": warn_neg,
        "warnings_positive": warn_pos,
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


def needs_work_with(a, counts) -> bool:
    """The set verdict of ``a`` (rules applied) when ``counts`` decides which faults count."""
    pulls = judged_pulls(a.reps, a.partial_pulls, a.findings)
    return (
        next((v.label for v in verdicts(a.findings, pulls, counts=counts) if v.rep is None), "none")
        == NEEDS_WORK
    )


#: Ablations of the verdict's use of severity and confidence: row name -> which faults count.
ABLATIONS = {
    "low-confidence faults count too": serious_fault,
    "notes (minor) count too": lambda f: f.is_fault and not f.low_confidence,
    "every fault counts": lambda f: f.is_fault,
}


def said(a) -> str:
    """What the tool said about a clip, in a few words: the set verdict and its faults by role."""
    label = next((v.label for v in a.verdicts if v.rep is None), None)
    if label is None:
        why = next((w for w in a.warnings if w.startswith(NO_COMPLETE_LIFT)), "")
        return "no verdict: no deadlift pull found" + (
            f" ({why.partition('(')[2].rstrip(').')})" if why else ""
        )
    roles = sorted({f"{f.rule_id} {verdict_role(f)}" for f in a.findings if f.is_fault})
    return f"{label}" + (f" ({', '.join(roles)})" if roles else "")


def _nested(
    analyses: dict, stems: list[str], all_rows: dict[str, RuleRows], defaults: dict, strict: bool
) -> np.ndarray:
    """Nested LOCO set verdicts: per held-out clip, calibrated thresholds and on/off decisions
    from the other clips; fixed thresholds kept with their default on/off unless ``strict``."""
    out = []
    for s in stems:
        over = {rid: dict(v) for rid, v in defaults.items()}
        for rid, rows in all_rows.items():
            if rows.fixed and not strict:
                continue
            keep = np.array([x != s for x in rows.stems], bool)
            th, on = _keep_on(rows, keep)
            if math.isfinite(th):
                over[rid][rows.threshold_name] = th
            if ENABLED in over[rid]:
                over[rid][ENABLED] = 1.0 if on else 0.0
            elif not on:
                over[rid][rows.threshold_name] = math.inf if rows.direction == "above" else -math.inf
        out.append(verdict_of(reevaluate(analyses[s], over)))
    return np.array(out, bool)


def report_verdict(
    labels: dict, analyses: dict, all_rows: dict[str, RuleRows], defaults: dict, boot: int
) -> dict:
    """Set verdict vs overall label: default thresholds, nested leave-one-clip-out, ablations;
    each on every labelled clip and, next to it, on the deadlift-labelled clips only."""
    stems = [s for s, a in analyses.items() if labels[s].get("overall") in ("good", "bad")]
    truth = np.array([labels[s]["overall"] == "bad" for s in stems], bool)
    lifts = np.array(["deadlift" in str(labels[s].get("lift", "")) for s in stems], bool)
    judged = {s: reevaluate(analyses[s], defaults) for s in stems}
    default = np.array([verdict_of(judged[s]) for s in stems], bool)
    rows: dict[str, np.ndarray] = {
        "defaults": default,
        "nested LOCO": _nested(analyses, stems, all_rows, defaults, strict=False),
        "nested LOCO, strict": _nested(analyses, stems, all_rows, defaults, strict=True),
    }
    for name, counts in ABLATIONS.items():
        rows[f"ablation: {name}"] = np.array([needs_work_with(judged[s], counts) for s in stems], bool)
    t_dl = truth[lifts]
    print(
        f"\nset verdict 'needs work' vs overall 'bad': all {len(stems)} clips labelled good/bad "
        f"({int(truth.sum())} bad, {int((~truth).sum())} good); next line: the {int(lifts.sum())} deadlift-labelled "
        f"clips only ({int(t_dl.sum())} bad, {int((~t_dl).sum())} good)"
    )
    others = [s for s, d in zip(stems, lifts, strict=True) if not d]
    if others:
        print(
            "    not deadlifts (scored, never dropped: the tool finds no deadlift pull, so no 'needs work' "
            "verdict -- counted as not flagged, a miss where labelled bad): "
            + "; ".join(
                f"{s} ({labels[s]['lift']}, labelled {labels[s]['overall']}: {said(judged[s]).partition(' (')[0]})"
                for s in others
            )
        )
    print(
        "    nested LOCO: calibrated thresholds and their rules' on/off from the other clips, fixed thresholds "
        "as by default; strict: fixed ones refitted and on/off decided per fold too"
    )
    print(f"    {'':44s}{'sensitivity':19s}{'specificity':19s}{'F1':19s}{'balanced acc.':19s}")
    out: dict = {"clips": len(stems), "deadlift_clips": int(lifts.sum())}
    for name, pred in rows.items():
        c, c_dl = confusion(truth, pred), confusion(t_dl, pred[lifts])
        print(f"    {name:44s}{_cells(c, truth, pred, boot)}")
        print(f"    {'  deadlift clips only':44s}{_cells(c_dl, t_dl, pred[lifts], boot)}")
        out[name] = {
            "all": {**c.__dict__, "balanced_accuracy": c.balanced_accuracy},
            "deadlift_only": {**c_dl.__dict__, "balanced_accuracy": c_dl.balanced_accuracy},
        }
    for name, c in baselines(truth).items():
        pred = np.zeros_like(truth) if name == "never_flag" else np.ones_like(truth)
        print(f"    {name.replace('_', '-'):44s}{_cells(c, truth, pred, boot)}")
    for label in ("defaults", "nested LOCO", "nested LOCO, strict"):
        pred = rows[label]
        fp = [s for s, t, p in zip(stems, truth, pred, strict=True) if p and not t]
        fn = [s for s, t, p in zip(stems, truth, pred, strict=True) if t and not p]
        print(
            f"    {label}: false alarms on good lifts: {', '.join(fp) or '-'}; missed bad lifts: {', '.join(fn) or '-'}"
        )
    print("    what the tool said (defaults) on each miss and false alarm:")
    for s, t, p in zip(stems, truth, default, strict=True):
        if t != p:
            print(f"      {'missed' if t else 'false alarm'} {s}: {said(judged[s])}")
    warned = [
        s
        for s, t in zip(stems, truth, strict=True)
        if not t and any(verdict_role(f) == WARNING for f in judged[s].findings)
    ]
    print(f"    good lifts with a low-confidence warning (shown, not counted): {', '.join(warned) or '-'}")
    out["defaults_balanced_accuracy"] = confusion(truth, default).balanced_accuracy
    out["nested_loco_balanced_accuracy"] = confusion(truth, rows["nested LOCO"]).balanced_accuracy
    return out


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
    parser.add_argument(
        "--setup-heights",
        action="store_true",
        help="list each side-view clip's lowest hip height above the knee before lift-off (squat pattern)",
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
        fixed = next(k for k in everything[rid] if k != ENABLED) in rules[rid].rule.fixed
        rows = rule_rows(rid, labels, done, everything, fixed)
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
    if args.setup_heights:
        print_setup_heights(labels, analyses)
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


#: How far before set-up (or lift-off) :func:`print_setup_heights` looks for the lowest hip, s.
SETUP_LOOKBACK_S = 0.5


def lowest_hip_above_knee_rel(a, pull) -> float:
    """Lowest height of the near hip above the near knee (image y, body lengths; negative = hip
    below knee) from :data:`SETUP_LOOKBACK_S` before set-up (lift-off when there is none) to
    lift-off: the issue's squat-pattern definition ("hips at or below knee height at set-up")
    read on the smoothed keypoints. NaN without a lift-off or a tracked hip and knee."""
    lift, setup = pull.moments.get("liftoff"), pull.moments.get("setup")
    if lift is None or a.body is None:
        return math.nan
    b = a.body
    first = (setup or lift).time_s - SETUP_LOOKBACK_S
    idx = [i for i in range(pull.start_sample, lift.sample + 1) if b.time_s[i] >= first]
    kp = b.keypoints_px
    hip, knee = LANDMARK[f"{b.side}_hip"], LANDMARK[f"{b.side}_knee"]
    rise = (kp[idx, knee, 1] - kp[idx, hip, 1]) / b.body_length_px  # image y grows downward
    return float(np.nanmin(rise)) if idx and np.isfinite(rise).any() else math.nan


def print_setup_heights(labels: dict, analyses: dict) -> None:
    """Per side-view deadlift-family clip: squat-pattern label, overall label and the lowest hip
    height above the knee before lift-off over its pulls (:func:`lowest_hip_above_knee_rel`),
    sorted."""
    print(
        f"\nlowest hip height above the knee, {SETUP_LOOKBACK_S:g} s before set-up to lift-off (body lengths)"
    )
    rows = []
    for stem, a in analyses.items():
        if a.view is None or a.view.view != "side" or "deadlift" not in str(labels[stem].get("lift", "")):
            continue
        vals = [lowest_hip_above_knee_rel(a, p) for p in (*a.reps, *a.partial_pulls)]
        vals = [v for v in vals if math.isfinite(v)]
        if vals:
            rows.append((min(vals), stem))
    for v, stem in sorted(rows):
        lab = labels[stem]
        print(
            f"    {v:7.3f}  squat_pattern={lab['faults'].get('squat_pattern')!s:5s}  {lab.get('overall'):7s} {stem}"
        )


def _has_all(rules: dict) -> bool:
    return any("all" in lr.rule.presets for lr in rules.values())


if __name__ == "__main__":
    sys.exit(main())
