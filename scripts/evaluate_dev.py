"""Accuracy of rep counting and key moments on the labelled dev clips.

Usage: ``python scripts/evaluate_dev.py [--json OUT] [--clips NAME ...] [--shared DIR]``

Runs :func:`formcheck_core.analysis.analyze` (rules off; pose from the cache when present) on
every clip of ``labels_dev.json`` and compares with the hand labels:

* rep count exact, on the deadlift-family clips whose label has at least one rep
  (target: >= 90 %);
* lift-off and lockout within +-0.25 s of the label, over all labelled (non-null) events of
  those reps (target: >= 80 % each). A labelled rep without a matching detected rep counts as a
  miss for each of its labelled events.

Predicted and labelled reps are matched in time order by their anchors (lockout, else lift-off),
nearest first, within :data:`MATCH_WINDOW_S`. Misses are listed with the clip's view, visibility
and label notes so the reason can be read off.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formcheck_core.analysis import analyze
from formcheck_core.config import shared_dir
from formcheck_core.pose.landmarks import LANDMARK, LANDMARK_NAMES

DEADLIFT_FAMILY = {"conventional_deadlift", "sumo_deadlift", "romanian_deadlift", "kettlebell_deadlift"}
TOLERANCE_S = 0.25
MATCH_WINDOW_S = 1.5
TARGET_COUNT = 0.90
TARGET_EVENTS = 0.80


@dataclass
class ClipResult:
    clip: str
    lift: str
    label_view: str
    view: str = "?"
    view_confidence: float = float("nan")
    expected: int = 0
    found: int = 0
    liftoff_err_s: list[float | None] = field(default_factory=list)
    lockout_err_s: list[float | None] = field(default_factory=list)
    error: str | None = None
    warnings: tuple[str, ...] = ()
    #: Measured facts that explain misses (view, pose coverage, visibility, people, jumps).
    diagnosis: tuple[str, ...] = ()

    @property
    def family(self) -> bool:
        return self.lift in DEADLIFT_FAMILY


def _anchor(frames: dict[str, int | None]) -> int | None:
    return frames["lockout"] if frames["lockout"] is not None else frames["liftoff"]


def match_reps(labelled: list[dict], predicted: list[dict], fps: float) -> list[tuple[int, int | None]]:
    """Pairs (label index, predicted index or None): nearest anchors first, one-to-one, in window."""
    pairs = []
    for i, lab in enumerate(labelled):
        la = _anchor({"liftoff": lab["liftoff_frame"], "lockout": lab["lockout_frame"]})
        for j, pred in enumerate(predicted):
            # Compare like with like when possible: lockout with lockout, else lift-off with lift-off.
            if lab["lockout_frame"] is not None and pred["lockout"] is not None:
                d = abs(pred["lockout"] - lab["lockout_frame"])
            elif lab["liftoff_frame"] is not None and pred["liftoff"] is not None:
                d = abs(pred["liftoff"] - lab["liftoff_frame"])
            else:
                pa = _anchor(pred) if _anchor(pred) is not None else pred["any"]
                d = abs(pa - la)
            pairs.append((d / fps, i, j))
    used_l, used_p, out = set(), set(), {}
    for d, i, j in sorted(pairs):
        if d <= MATCH_WINDOW_S and i not in used_l and j not in used_p:
            used_l.add(i)
            used_p.add(j)
            out[i] = j
    return [(i, out.get(i)) for i in range(len(labelled))]


def diagnose(a, label: dict) -> tuple[str, ...]:
    """Measured reasons a clip may be hard: view, pose coverage, visibility, people, keypoint jumps."""
    pose, out = a.pose, []
    if a.view is not None and a.view.view != "side":
        out.append(f"{a.view.view} view (confidence {a.view.confidence:.2f})")
    share = float(pose.detected.mean()) if pose.n_samples else 0.0
    if share < 0.9:
        out.append(f"pose found in {share:.0%} of samples")
    if a.body is not None:
        side = a.body.side
        idx = [LANDMARK[f"{side}_{j}"] for j in ("shoulder", "hip", "knee", "ankle", "wrist")]
        vis = np.nan_to_num(pose.visibility[:, idx][pose.detected], nan=0.0)
        low = (
            {LANDMARK_NAMES[i]: float(v) for i, v in zip(idx, vis.mean(axis=0)) if v < 0.6}
            if vis.size
            else {}
        )
        if low:
            out.append("occluded / cut-off landmarks: " + ", ".join(f"{k} {v:.2f}" for k, v in low.items()))
        hip = pose.image_xy_px[:, LANDMARK[f"{side}_hip"]]
        jump = np.linalg.norm(np.diff(hip, axis=0), axis=1) / a.body.body_length_px
        n_jumps = int(np.sum(jump > 0.3))
        if n_jumps:
            out.append(
                f"{n_jumps} keypoint jump(s) over 0.3 body lengths between samples "
                "(hard cut or tracking switch)"
            )
    multi = float(np.mean(pose.people_count >= 2)) if pose.n_samples else 0.0
    if multi > 0.2:
        out.append(f"several people in {multi:.0%} of samples")
    if label.get("full_body_visible") not in (None, "all"):
        out.append(f"labelled full body visible: {label['full_body_visible']}")
    return tuple(out)


def evaluate_clip(path: Path, label: dict) -> ClipResult:
    res = ClipResult(
        clip=path.name, lift=label["lift"], label_view=label.get("view", "?"), expected=len(label["reps"])
    )
    try:
        a = analyze(path, rules=False, progress=False)
    except Exception as exc:  # noqa: BLE001 - report and carry on: one bad clip must not hide the others
        res.error = f"{type(exc).__name__}: {exc}"
        res.liftoff_err_s = [None for r in label["reps"] if r["liftoff_frame"] is not None]
        res.lockout_err_s = [None for r in label["reps"] if r["lockout_frame"] is not None]
        return res
    res.warnings = a.warnings
    res.diagnosis = diagnose(a, label)
    if a.view is not None:
        res.view, res.view_confidence = a.view.view, a.view.confidence
    res.found = len(a.reps)
    fps = float(label["fps"])
    predicted = []
    for rep in a.reps:
        m = {name: mo.frame_index for name, mo in rep.moments.items()}
        predicted.append(
            {
                "liftoff": m.get("liftoff"),
                "lockout": m.get("lockout"),
                "any": int(a.body.frame_index[rep.start_sample]),
            }
        )
    for i, j in match_reps(label["reps"], predicted, fps):
        lab = label["reps"][i]
        pred = predicted[j] if j is not None else None
        for key, errs in (("liftoff", res.liftoff_err_s), ("lockout", res.lockout_err_s)):
            if lab[f"{key}_frame"] is None:
                continue
            if pred is None or pred[key] is None:
                errs.append(None)
            else:
                errs.append((pred[key] - lab[f"{key}_frame"]) / fps)
    return res


def _fmt_errs(errs: list[float | None]) -> str:
    return " ".join("miss" if e is None else f"{e:+.2f}" for e in errs) or "-"


def _ok(e: float | None) -> bool:
    return e is not None and abs(e) <= TOLERANCE_S + 1e-9


def summarise(results: list[ClipResult]) -> dict:
    fam = [r for r in results if r.family and r.expected > 0]
    count_ok = [r for r in fam if r.found == r.expected]
    lift = [e for r in fam for e in r.liftoff_err_s]
    lock = [e for r in fam for e in r.lockout_err_s]
    negatives = [r for r in results if r.expected == 0]

    def share(xs: list) -> float:
        return len(xs) / max(1, len(fam)) if xs is count_ok else float("nan")

    lift_ok = sum(_ok(e) for e in lift)
    lock_ok = sum(_ok(e) for e in lock)
    abs_lift = [abs(e) for e in lift if e is not None]
    abs_lock = [abs(e) for e in lock if e is not None]
    return {
        "rep_count": {
            "clips": len(fam),
            "exact": len(count_ok),
            "share": share(count_ok),
            "target": TARGET_COUNT,
        },
        "liftoff": {
            "events": len(lift),
            "within_tol": lift_ok,
            "share": lift_ok / max(1, len(lift)),
            "median_abs_err_s": float(np.median(abs_lift)) if abs_lift else float("nan"),
            "target": TARGET_EVENTS,
            "tolerance_s": TOLERANCE_S,
        },
        "lockout": {
            "events": len(lock),
            "within_tol": lock_ok,
            "share": lock_ok / max(1, len(lock)),
            "median_abs_err_s": float(np.median(abs_lock)) if abs_lock else float("nan"),
            "target": TARGET_EVENTS,
            "tolerance_s": TOLERANCE_S,
        },
        "negatives": {"clips": len(negatives), "zero_reps": sum(r.found == 0 for r in negatives)},
        "view": {
            "clips": len(results),
            "agree": sum(r.view == r.label_view.split("_")[0] for r in results if r.error is None),
        },
    }


def misses(results: list[ClipResult], labels: dict) -> list[str]:
    out = []
    for r in results:
        why = "; ".join(r.diagnosis) or "no visibility, view or tracking problem measured"
        if r.error:
            out.append(f"{r.clip}: error {r.error}")
            continue
        if r.expected != r.found and (r.family and r.expected > 0 or r.expected == 0):
            out.append(f"{r.clip}: reps {r.found} found, {r.expected} labelled ({why})")
        for key, errs in (("lift-off", r.liftoff_err_s), ("lockout", r.lockout_err_s)):
            bad = [e for e in errs if not _ok(e)]
            if bad and r.family:
                out.append(f"{r.clip}: {key} off {_fmt_errs(bad)} s ({why})")
    return out


def _finite(obj):
    """NaN -> None recursively, so the JSON file is strict JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the summary and per-clip numbers to this file")
    ap.add_argument("--clips", nargs="*", help="only these clip names (e.g. gym1080_good_01.mp4)")
    ap.add_argument(
        "--shared", type=Path, default=None, help="shared folder (default: formcheck's shared_dir())"
    )
    args = ap.parse_args(argv)
    root = (args.shared or shared_dir()) / "videos"
    labels_path = root / "labels_dev.json"
    if not labels_path.is_file():
        print(f"No labels at {labels_path}: set FORMCHECK_SHARED or pass --shared.", file=sys.stderr)
        return 2
    raw = json.loads(labels_path.read_text())
    labels = {Path(k).name: v for k, v in raw.items()}
    names = sorted(labels) if not args.clips else [Path(c).name for c in args.clips]
    results = []
    print(f"{'clip':34s} {'lift':22s} {'view (label)':24s} reps exp/found  lift-off err s | lockout err s")
    for name in names:
        r = evaluate_clip(root / "dev" / name, labels[name])
        results.append(r)
        view = f"{r.view} {r.view_confidence:.2f} ({r.label_view})"
        flag = "" if r.expected == r.found else " *"
        print(
            f"{name:34s} {r.lift:22s} {view:24s} {r.expected:4d}/{r.found:<4d}{flag:2s}  "
            f"{_fmt_errs(r.liftoff_err_s)} | {_fmt_errs(r.lockout_err_s)}"
            + (f"  ERROR {r.error}" if r.error else ""),
            flush=True,
        )
    s = summarise(results)
    rc, lo, lk = s["rep_count"], s["liftoff"], s["lockout"]
    print()
    print(
        f"rep count exact: {rc['exact']}/{rc['clips']} deadlift-family clips with reps = {rc['share']:.0%} "
        f"(target {rc['target']:.0%}) {'MET' if rc['share'] >= rc['target'] else 'NOT MET'}"
    )
    for name, d in (("lift-off", lo), ("lockout", lk)):
        print(
            f"{name} within +-{d['tolerance_s']} s: {d['within_tol']}/{d['events']} = {d['share']:.0%} "
            f"(target {d['target']:.0%}) {'MET' if d['share'] >= d['target'] else 'NOT MET'}; "
            f"median |error| {d['median_abs_err_s']:.2f} s"
        )
    ng = s["negatives"]
    print(f"clips labelled with no rep giving 0 reps: {ng['zero_reps']}/{ng['clips']}")
    print(f"view class agrees with the label: {s['view']['agree']}/{s['view']['clips']}")
    ms = misses(results, labels)
    if ms:
        print("\nmisses:")
        for m in ms:
            print("  " + m)
    if args.json:
        per_clip = [
            {
                "clip": r.clip,
                "lift": r.lift,
                "label_view": r.label_view,
                "view": r.view,
                "view_confidence": r.view_confidence,
                "reps_expected": r.expected,
                "reps_found": r.found,
                "liftoff_err_s": r.liftoff_err_s,
                "lockout_err_s": r.lockout_err_s,
                "error": r.error,
                "diagnosis": list(r.diagnosis),
            }
            for r in results
        ]
        doc = {"summary": s, "clips": per_clip, "misses": ms}
        args.json.write_text(json.dumps(_finite(doc), indent=1, allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
