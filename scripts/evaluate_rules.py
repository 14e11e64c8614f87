"""Confusion table of each form rule against the dev labels (never the eval clips).

Usage: ``python scripts/evaluate_rules.py [--preset calibrated|seed|all] [--clips STEM ...]
[--metrics] [--json OUT] [--shared DIR]``

Runs :func:`formcheck_core.analysis.analyze` (lift "deadlift", as ``formcheck analyze`` does by
default; pose from the cache when present) on every clip of ``labels_dev.json``, then the rules
with each preset. A clip is *flagged* by a rule when the rule reports a fault on any rep. For each
rule with a label field: TP/FP/TN/FN over the clips whose label is true/false ("unclear" is
excluded and counted separately). A clip where the rule measured nothing (no rep found, wrong
view, keypoints missing) counts as not flagged and is listed as "not measured". ``--metrics``
prints each rep's metric values for the rule, the raw material for calibrating its thresholds.
Also compares the set verdict ("needs work") with the label's ``overall`` ("bad").

``--sweep`` is the calibration aid: for each rule it lists every labelled clip's worst per-rep
value (highest for "fault above" rules, lowest for "fault below") and the confusion counts of
every threshold between them, and names two candidates: the best balanced accuracy (ties: fewer
false positives, then the middle of the widest gap) and the fewest errors (TP - FP). The defaults
in ``formcheck_rules/`` were chosen from this output (each module's docstring says why).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from formcheck_core.analysis import analyze
from formcheck_core.config import shared_dir
from formcheck_core.plugins import get_plugin_manager
from formcheck_core.rules import apply_rules, collect_rules, preset_names, threshold_settings

#: Rule id -> label fault name.
LABEL_FIELD = {
    "excessive_torso_lean": "excessive_torso_lean_at_liftoff",
    "incomplete_lockout": "incomplete_lockout",
    "bar_drift": "bar_drift",
    "hips_rise_first": "hips_rise_first",
    "hyperextension_at_lockout": "hyperextension_at_lockout",
    "bent_arms": "bent_arms",
    "heel_lift": "heel_lift",
    "rounded_back": "rounded_back",
}


def analyse_clips(shared: Path, stems: list[str] | None) -> tuple[dict, dict]:
    """Labels and rules-off analyses (or an error string) by clip stem."""
    labels = {
        Path(k).stem: v for k, v in json.loads((shared / "videos" / "labels_dev.json").read_text()).items()
    }
    out = {}
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


def evaluate(labels: dict, analyses: dict, thresholds: dict) -> dict:
    """Per-rule confusion counts and per-clip outcomes, plus the overall-verdict comparison."""
    rules, _ = collect_rules(get_plugin_manager())
    per_rule = {
        rid: {"TP": [], "FP": [], "TN": [], "FN": [], "unclear": [], "not_measured": []} for rid in rules
    }
    overall = {"TP": [], "FP": [], "TN": [], "FN": [], "excluded": []}
    details: dict[str, dict] = {}
    errors: list[str] = []
    for stem, a in analyses.items():
        lab = labels[stem]
        if isinstance(a, str):
            errors.append(f"{stem}: {a}")
            continue
        a = apply_rules(a, thresholds)
        errors += [f"{stem}: {e.rule_id} ({e.plugin}): {e.error}" for e in a.rule_errors]
        details[stem] = {
            "view": a.view.view if a.view else None,
            "label_view": lab["view"],
            "reps": len(a.reps),
            "verdict": next((v.label for v in a.verdicts if v.rep is None), "none"),
        }
        for rid in rules:
            mine = [f for f in a.findings if f.rule_id == rid]
            flagged = any(f.is_fault for f in mine)
            measured = any(f.status in ("fault", "ok") for f in mine)
            values = [None if f.value is None else round(f.value, 3) for f in mine]
            details[stem][rid] = {"flagged": flagged, "measured": measured, "values": values}
            field = LABEL_FIELD.get(rid)
            truth = lab["faults"].get(field) if field else None
            if field is None or truth is None:
                continue
            if truth == "unclear":
                per_rule[rid]["unclear"].append(stem)
                continue
            key = ("TP" if flagged else "FN") if truth else ("FP" if flagged else "TN")
            per_rule[rid][key].append(stem)
            if not measured:
                per_rule[rid]["not_measured"].append(stem)
        truth = lab.get("overall")
        if truth in ("good", "bad"):
            bad = details[stem]["verdict"] == "needs work"
            overall[("TP" if bad else "FN") if truth == "bad" else ("FP" if bad else "TN")].append(stem)
        else:
            overall["excluded"].append(stem)
    return {"rules": per_rule, "overall": overall, "clips": details, "errors": errors}


def sweep(labels: dict, analyses: dict, thresholds: dict) -> None:
    """Print, per rule, clip-level worst values and the confusion of each candidate threshold."""
    rules, _ = collect_rules(get_plugin_manager())
    done = {stem: apply_rules(a, thresholds) for stem, a in analyses.items() if not isinstance(a, str)}
    for rid, field in LABEL_FIELD.items():
        if rid not in rules:
            continue
        found = [f for a in done.values() for f in a.findings if f.rule_id == rid and f.value is not None]
        above = any(
            (f.is_fault and f.value > f.threshold) or (not f.is_fault and f.value <= f.threshold)
            for f in found
        )
        worst: dict[str, tuple[float, object]] = {}
        for stem, a in done.items():
            values = [f.value for f in a.findings if f.rule_id == rid and f.value is not None]
            truth = labels[stem]["faults"].get(field)
            if values and truth in (True, False):
                worst[stem] = ((max if above else min)(values), truth)
        if not worst:
            continue
        vals = sorted({v for v, _ in worst.values()})
        cands = [(a + b) / 2 for a, b in zip(vals, vals[1:], strict=False)] + [
            vals[0] - 1e-6,
            vals[-1] + 1e-6,
        ]
        n_pos = sum(t for _, t in worst.values())
        n_neg = len(worst) - n_pos
        rows = []
        for c in sorted(cands):
            tp = sum(t and (v > c if above else v < c) for v, t in worst.values())
            fp = sum((not t) and (v > c if above else v < c) for v, t in worst.values())
            bal = ((tp / n_pos if n_pos else 1.0) + ((n_neg - fp) / n_neg if n_neg else 1.0)) / 2
            gap = min((abs(v - c) for v in vals), default=0.0)
            rows.append((bal, -fp, gap, c, tp, fp))
        best = max(rows)
        fewest = max(rows, key=lambda r: (r[4] - r[5], -r[5], r[2]))
        name = next(iter(thresholds[rid]))
        print(
            f"\n{rid} ({name}, fault if value {'>' if above else '<'} threshold; {n_pos} positive, "
            f"{n_neg} negative clips measured; current {thresholds[rid][name]:g})"
        )
        for stem, (v, t) in sorted(worst.items(), key=lambda kv: kv[1][0]):
            print(f"    {v:9.3f}  {'FAULT' if t else 'ok   '}  {stem}")
        print(
            f"    best balanced accuracy: {best[3]:.4g} (TP {best[4]}/{n_pos}, FP {best[5]}/{n_neg}, "
            f"balanced accuracy {best[0]:.2f})"
        )
        print(f"    fewest errors:          {fewest[3]:.4g} (TP {fewest[4]}/{n_pos}, FP {fewest[5]}/{n_neg})")


def print_report(preset: str, result: dict, thresholds: dict, labels: dict, show_metrics: bool) -> None:
    print(f"\n== preset: {preset}")
    print(
        f"{'rule':28s} {'threshold':34s} {'TP':>3s} {'FP':>3s} {'TN':>3s} {'FN':>3s} {'uncl':>4s} {'n/m':>4s}"
    )
    for rid, c in result["rules"].items():
        if rid not in LABEL_FIELD:
            continue
        th = ", ".join(f"{k}={v:g}" for k, v in thresholds[rid].items() if math.isfinite(v))
        print(
            f"{rid:28s} {th:34s} {len(c['TP']):3d} {len(c['FP']):3d} {len(c['TN']):3d} {len(c['FN']):3d} "
            f"{len(c['unclear']):4d} {len(c['not_measured']):4d}"
        )
        for key in ("TP", "FP", "FN", "unclear"):
            for stem in c[key]:
                d = result["clips"].get(stem, {})
                info = d.get(rid, {})
                print(
                    f"    {key:7s} {stem:32s} view {d.get('view')}/{labels[stem]['view']:14s} "
                    f"reps {d.get('reps')}  values {info.get('values')}"
                )
    o = result["overall"]
    print(
        f"\nset verdict 'needs work' vs label overall 'bad': TP {len(o['TP'])} FP {len(o['FP'])} "
        f"TN {len(o['TN'])} FN {len(o['FN'])} (excluded {len(o['excluded'])}: unclear overall)"
    )
    for key in ("FP", "FN"):
        if o[key]:
            print(f"    {key}: {', '.join(o[key])}")
    if show_metrics:
        print("\nper-clip values (one per rep; None = not measurable):")
        for stem, d in result["clips"].items():
            faults = labels[stem]["faults"]
            print(f"  {stem} [{d['view']}] reps={d['reps']}")
            for rid in LABEL_FIELD:
                print(f"      {rid:28s} label={str(faults.get(LABEL_FIELD[rid])):8s} {d[rid]['values']}")
    for e in result["errors"]:
        print(f"error: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="all", help="calibrated, seed or all (default)")
    parser.add_argument("--clips", nargs="*", help="clip stems (default: all dev clips)")
    parser.add_argument("--metrics", action="store_true", help="print each clip's per-rep values per rule")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument(
        "--sweep", action="store_true", help="calibration aid: confusion per candidate threshold"
    )
    parser.add_argument("--shared", type=Path, default=shared_dir())
    args = parser.parse_args(argv)
    labels, analyses = analyse_clips(args.shared, args.clips)
    rules, _ = collect_rules(get_plugin_manager())
    presets = preset_names(rules) if args.preset == "all" else [args.preset]
    if args.sweep:
        sweep(labels, analyses, threshold_settings(preset=presets[0]))
        return 0
    out = {}
    for preset in presets:
        thresholds = threshold_settings(preset=preset)
        result = evaluate(labels, analyses, thresholds)
        print_report(preset, result, thresholds, labels, args.metrics and preset == presets[0])
        out[preset] = {"thresholds": thresholds, **result}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=lambda x: None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
