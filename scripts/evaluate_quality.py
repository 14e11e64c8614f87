"""Does the pose confidence mark the readings that cannot be trusted? Validated without labels.

Usage: ``python scripts/evaluate_quality.py [--boot N] [--no-labels] [CLIP_STEM ...]``

Ground truth without labels: the metamorphic copies of ``scripts/metamorphic.py`` (mirrored,
re-timed, cropped, darkened, downscaled, rotation-tagged; made in a temporary folder, poses from
the cache when present). A **reading** is one angle metric (``*_deg``) of one pull of the
original clip that has a pose confidence (:mod:`formcheck_core.biomech.quality`); against each
copy it is **unstable** when the copy's value differs by more than 3° (the metamorphic tolerance)
or is measurable in only one of the two. The confidence should be low on the unstable ones.

Printed, over clips x transforms (95 % bootstrap CIs resampling whole clips, seeded):

- AUC of (1 - confidence) for unstable vs stable, and the same **within metric** (unstable and
  stable readings of the same metric compared only: is it more than "knees are worse than the
  torso"?);
- share of unstable readings marked low (below 0.5) and share of stable readings marked low;
- the same for each ingredient alone (visibility score, jitter score), for the visibility-only
  mark of the previous version (visibility below 0.5) and for left/right bone-length disagreement
  (measured, not part of the confidence);
- per transform;
- per sample: every sample within a pull of the hip, knee, torso-lean and elbow curves, original
  against each copy that keeps the frames' timing, at the same source frame (no moment placement
  involved: the cleanest test of the per-sample confidence the curves grey); "within metric"
  there means within one series;
- leave-one-clip-out: the visibility and jitter ranges re-chosen on the other clips (best Youden
  J = share of unstable marked low - share of stable marked low; ties, i.e. the same marks: the
  better AUC), applied to the held-out clip; and the choice on all clips (the shipped thresholds
  should be it);
- against the labels' ``full_body_visible`` ("all" / "mostly" / "no"; every dev clip): the share
  of each clip's readings marked low, for clips with the whole body visible and the others, and
  the clip-level AUC.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metamorphic

from formcheck_core.analysis import analyze
from formcheck_core.biomech.quality import (
    JITTER_BAD_REL,
    JITTER_OK_REL,
    METRIC_JOINTS,
    SERIES_JOINTS,
    VIS_CLEAR,
    VIS_HIDDEN,
    metric_quality,
    pose_quality,
    series_confidence,
)
from formcheck_core.config import shared_dir
from formcheck_core.findings import LOW_CONFIDENCE
from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.scoring import bootstrap_ci

#: Angle series compared sample by sample (the curves the explorer and the figures grey).
SAMPLE_SERIES = ("hip_angle_deg", "knee_angle_deg", "torso_lean_deg", "elbow_angle_deg")
#: Candidate ranges for the leave-one-clip-out refit: (visibility score 0 .. 1), (jitter score 1 .. 0).
VIS_GRID = [(VIS_HIDDEN, hi) for hi in (0.7, 0.8, 0.9, 0.95)]
JITTER_GRID = [(lo, hi) for lo, hi in itertools.product((0.005, 0.01, 0.015), (0.02, 0.03, 0.05)) if lo < hi]


@dataclass(frozen=True)
class Pair:
    """One reading of the original clip against one transformed copy."""

    clip: str
    transform: str
    rep: int
    metric: str
    diff_deg: float
    unstable: bool


def auc(unstable: np.ndarray, score: np.ndarray) -> float:
    """P(score of an unstable reading > score of a stable one), ties count half (NaN if one class is empty)."""
    u, s = score[unstable], score[~unstable]
    if not len(u) or not len(s):
        return math.nan
    greater = (u[:, None] > s[None, :]).sum() + 0.5 * (u[:, None] == s[None, :]).sum()
    return float(greater / (len(u) * len(s)))


def auc_within(unstable: np.ndarray, score: np.ndarray, metric: np.ndarray) -> float:
    """:func:`auc` over unstable/stable pairs of the same metric only."""
    num = den = 0.0
    for m in np.unique(metric):
        k = metric == m
        n = int(unstable[k].sum()) * int((~unstable[k]).sum())
        if n:
            num += auc(unstable[k], score[k]) * n
            den += n
    return num / den if den else math.nan


def collect(stems: Sequence[str], dev_dir: Path) -> tuple[list[Pair], dict, dict]:
    """Readings of each clip against each copy, the original analyses by clip and the analyses of
    the copies that keep the frames' timing (every transform but the re-timed ones) by (clip, transform)."""
    pairs: list[Pair] = []
    originals = {}
    same_timing = {}
    with tempfile.TemporaryDirectory(prefix="formcheck-quality-") as tmp:
        for stem in stems:
            src = dev_dir / f"{stem}.mp4"
            orig = analyze(src, rules=False, progress=False)
            originals[stem] = orig
            for t in metamorphic.TRANSFORMS:
                path = metamorphic.make_variant(src, t, Path(tmp))
                var = analyze(path, rules=False, progress=False)
                path.unlink(missing_ok=True)
                if t.speed == 1.0:
                    same_timing[(stem, t.name)] = var
                pa, pb = metamorphic._pulls(orig), metamorphic._pulls(var)
                if len(pa) != len(pb):
                    print(f"  {stem}/{t.name}: pull count differs, left out")
                    continue
                for a, b in zip(pa, pb, strict=True):
                    for key, va in a.metrics.items():
                        if not key.endswith("_deg") or key not in a.metric_quality or math.isnan(va):
                            continue
                        vb = b.metrics.get(key, math.nan)
                        diff = abs(va - vb) if not math.isnan(vb) else math.inf
                        pairs.append(
                            Pair(stem, t.name, a.number, key, diff, diff > metamorphic.ANGLE_TOL_DEG)
                        )
            print(f"  {stem}: {sum(p.clip == stem for p in pairs)} reading-copy pairs", flush=True)
    return pairs, originals, same_timing


def per_sample(originals: dict, same_timing: dict) -> tuple[np.ndarray, ...]:
    """Every sample within a pull of every angle series, original against a copy at the same
    source frame: (unstable: more than 3° apart, the original's series confidence, series, clip)."""
    out: list[list[np.ndarray]] = [[], [], [], []]
    for (stem, _t), var in same_timing.items():
        o = originals[stem]
        if o.body is None or var.body is None or not np.array_equal(o.body.frame_index, var.body.frame_index):
            continue
        span = np.zeros(len(o.body.time_s), bool)
        for r in metamorphic._pulls(o):
            span[r.start_sample : r.end_sample + 1] = True
        for series in SAMPLE_SERIES:
            a, b = o.body.smoothed[series], var.body.smoothed[series]
            ok = span & np.isfinite(a) & np.isfinite(b)
            conf = series_confidence(o.pose_quality, o.body.side, SERIES_JOINTS[series])
            for i, x in enumerate((np.abs(a - b)[ok] > metamorphic.ANGLE_TOL_DEG, conf[ok])):
                out[i].append(x)
            out[2].append(np.full(int(ok.sum()), series))
            out[3].append(np.full(int(ok.sum()), stem))
    return tuple(np.concatenate(x) for x in out)


def _rep(analysis, number: int):
    return next(r for r in metamorphic._pulls(analysis) if r.number == number)


def confidences(pairs: Sequence[Pair], originals: dict, **options) -> np.ndarray:
    """Each pair's original-reading confidence with the given :func:`pose_quality` options."""
    cache: dict[tuple[str, int], dict] = {}
    out = []
    for p in pairs:
        key = (p.clip, p.rep)
        if key not in cache:
            a = originals[p.clip]
            cache[key] = metric_quality(pose_quality(a.pose, a.body, **options), a.body.side, _rep(a, p.rep))
        out.append(cache[key][p.metric].confidence)
    return np.asarray(out, float)


def ingredient(pairs: Sequence[Pair], originals: dict, field: str) -> np.ndarray:
    """The smallest per-joint value of one PoseQuality array (``visibility_score`` ...) at the reading."""
    out = []
    for p in pairs:
        a = originals[p.clip]
        q = pose_quality(a.pose, a.body)
        s = _rep(a, p.rep).metric_samples[p.metric]
        ks = [LANDMARK[f"{a.body.side}_{j}"] for j in METRIC_JOINTS[p.metric]]
        out.append(float(np.min(getattr(q, field)[s, ks])))
    return np.asarray(out, float)


_BONES = {"hip": ("shoulder", "knee"), "knee": ("hip", "ankle"), "elbow": ("shoulder", "wrist")}


def bone_disagreement(pairs: Sequence[Pair], originals: dict) -> np.ndarray:
    """Largest |log(near bone / far bone)| of the reading's joints' bones at its sample (image lengths)."""
    out = []
    for p in pairs:
        a = originals[p.clip]
        s = _rep(a, p.rep).metric_samples[p.metric]
        xy = a.pose.image_xy_px[s]
        near, far = a.body.side, "right" if a.body.side == "left" else "left"
        worst = 0.0
        for j in METRIC_JOINTS[p.metric]:
            for end in _BONES.get(j, ()):
                ln = np.linalg.norm(xy[LANDMARK[f"{near}_{j}"]] - xy[LANDMARK[f"{near}_{end}"]])
                lf = np.linalg.norm(xy[LANDMARK[f"{far}_{j}"]] - xy[LANDMARK[f"{far}_{end}"]])
                r = abs(math.log(ln / lf)) if ln > 0 and lf > 0 else math.inf
                worst = max(worst, r if math.isfinite(r) else 10.0)
        out.append(worst)
    return np.asarray(out, float)


def _share(flag: np.ndarray, where: np.ndarray) -> float:
    return float(flag[where].mean()) if where.any() else math.nan


def _ci(stat: Callable[..., float], *arrays, groups, boot: int) -> str:
    iv = bootstrap_ci(stat, *arrays, groups=groups, n_boot=boot)
    return f"{iv.estimate:.2f} [{iv.low:.2f}, {iv.high:.2f}]"


def report_row(name: str, unstable, low, score, metric, groups, boot: int) -> None:
    """AUC, within-metric AUC and the two low shares of one signal (``score``: higher = less trusted)."""
    print(
        f"  {name:30s} AUC {_ci(auc, unstable, score, groups=groups, boot=boot)}"
        f"  within-metric AUC {_ci(auc_within, unstable, score, metric, groups=groups, boot=boot)}"
        + (
            f"  unstable marked low {_ci(lambda u, f: _share(f, u), unstable, low, groups=groups, boot=boot)}"
            f"  stable marked low {_ci(lambda u, f: _share(f, ~u), unstable, low, groups=groups, boot=boot)}"
            if low is not None
            else ""
        )
    )


def youden(unstable: np.ndarray, low: np.ndarray) -> float:
    return _share(low, unstable) - _share(low, ~unstable)


def loco(pairs: Sequence[Pair], originals: dict, unstable: np.ndarray, clips: np.ndarray) -> np.ndarray:
    """Confidence of each held-out clip's readings with the ranges chosen on the other clips (and,
    printed, the choice on all clips: what the module's thresholds should be)."""
    grid = list(itertools.product(VIS_GRID, JITTER_GRID))
    conf = {g: confidences(pairs, originals, visibility_range=g[0], jitter_range_rel=g[1]) for g in grid}

    def best(train: np.ndarray) -> tuple:  # ties (same marks): the better ranking (AUC)
        return max(
            grid,
            key=lambda g: (
                round(youden(unstable[train], conf[g][train] < LOW_CONFIDENCE), 9),
                auc(unstable[train], 1 - conf[g][train]),
            ),
        )

    out = np.zeros(len(pairs))
    for clip in np.unique(clips):
        train = clips != clip
        g = best(train)
        out[~train] = conf[g][~train]
        print(
            f"    held out {clip:24s} visibility {g[0][0]:g}..{g[0][1]:g}, jitter {g[1][0]:g}..{g[1][1]:g} body lengths"
        )
    g = best(np.ones(len(pairs), bool))
    print(
        f"    all clips                    visibility {g[0][0]:g}..{g[0][1]:g}, jitter {g[1][0]:g}..{g[1][1]:g} body lengths"
    )
    return out


def labels_check(dev_dir: Path, labels_path: Path, boot: int) -> None:
    labels = json.loads(labels_path.read_text())
    rows = []
    for key, entry in sorted(labels.items()):
        src = dev_dir.parent / key
        if not src.exists() or entry.get("full_body_visible") is None:
            continue
        a = analyze(src, rules=False, progress=False)
        qs = [q for r in a.reps for q in r.metric_quality.values()]
        if not qs:
            continue
        share_low = float(np.mean([q.low or not q.measurable for q in qs]))
        share_old = float(np.mean([q.visibility < VIS_HIDDEN for q in qs]))
        rows.append((Path(key).stem, entry["full_body_visible"], share_low, share_old, len(qs)))
    if not rows:
        print("  no labelled clip with readings")
        return
    hidden = np.array([r[1] != "all" for r in rows])
    low = np.array([r[2] for r in rows])
    old = np.array([r[3] for r in rows])
    print(
        f"  {len(rows)} clips with readings ({int((~hidden).sum())} 'all', {int(hidden.sum())} 'mostly'/'no'; "
        f"{sum(r[4] for r in rows)} readings)"
    )
    for name, share in (("confidence below 0.5", low), ("visibility below 0.5 (before)", old)):
        print(
            f"  {name:30s} share of a clip's readings marked low: whole body visible "
            f"{_ci(lambda s, h: float(s[~h].mean()) if (~h).any() else math.nan, share, hidden, groups=None, boot=boot)}, "
            f"partly hidden {_ci(lambda s, h: float(s[h].mean()) if h.any() else math.nan, share, hidden, groups=None, boot=boot)}; "
            f"clip AUC {_ci(auc, hidden, share, groups=None, boot=boot)}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "clips", nargs="*", help=f"dev clip stems (default: {', '.join(metamorphic.DEFAULT_CLIPS)})"
    )
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    ap.add_argument("--no-labels", action="store_true", help="skip the full_body_visible check")
    args = ap.parse_args(argv)
    dev_dir = shared_dir() / "videos" / "dev"
    stems = args.clips or list(metamorphic.DEFAULT_CLIPS)
    print(f"metamorphic copies of {len(stems)} dev clips x {len(metamorphic.TRANSFORMS)} transforms ...")
    pairs, originals, same_timing = collect(stems, dev_dir)
    unstable = np.array([p.unstable for p in pairs])
    clips = np.array([p.clip for p in pairs])
    metric = np.array([p.metric for p in pairs])
    transform = np.array([p.transform for p in pairs])
    conf = confidences(pairs, originals)
    low = conf < LOW_CONFIDENCE
    print(
        f"\n{len(pairs)} reading-copy pairs, {int(unstable.sum())} unstable (> {metamorphic.ANGLE_TOL_DEG:g}° apart); "
        f"thresholds: visibility {VIS_HIDDEN:g}..{VIS_CLEAR:g}, jitter {JITTER_OK_REL:g}..{JITTER_BAD_REL:g} body lengths, "
        f"low below {LOW_CONFIDENCE:g}"
    )
    b = args.boot
    report_row("confidence (shipped)", unstable, low, 1 - conf, metric, clips, b)
    vis = ingredient(pairs, originals, "visibility_score")
    jit = ingredient(pairs, originals, "jitter_score")
    raw_vis = ingredient(pairs, originals, "visibility")
    report_row("  visibility score alone", unstable, vis < LOW_CONFIDENCE, 1 - vis, metric, clips, b)
    report_row("  jitter score alone", unstable, jit < LOW_CONFIDENCE, 1 - jit, metric, clips, b)
    report_row("visibility < 0.5 (before)", unstable, raw_vis < VIS_HIDDEN, 1 - raw_vis, metric, clips, b)
    report_row(
        "L/R bone-length disagreement", unstable, None, bone_disagreement(pairs, originals), metric, clips, b
    )
    print("\nper transform (confidence as shipped):")
    for t in metamorphic.TRANSFORMS:
        k = transform == t.name
        if k.any():
            print(
                f"  {t.name:14s} n {int(k.sum()):3d}  unstable {unstable[k].mean():.0%}  AUC {auc(unstable[k], 1 - conf[k]):.2f}"
                f"  unstable marked low {_share(low[k], unstable[k]):.0%}  stable marked low {_share(low[k], ~unstable[k]):.0%}"
            )
    print("\nper metric (confidence as shipped):")
    for m in sorted(set(metric)):
        k = metric == m
        print(
            f"  {m:26s} n {int(k.sum()):3d}  unstable {unstable[k].mean():.0%}  marked low {low[k].mean():.0%}"
            f"  unstable marked low {_share(low[k], unstable[k]):.0%}  stable marked low {_share(low[k], ~unstable[k]):.0%}"
        )
    su, sc, ss, sg = per_sample(originals, same_timing)
    print(
        f"\nper sample within the pulls, same source frame (copies that keep the timing; {len(su)} samples "
        f"of {len(SAMPLE_SERIES)} angle series, {su.mean():.0%} more than {metamorphic.ANGLE_TOL_DEG:g}° apart):"
    )
    report_row("series confidence", su, sc < LOW_CONFIDENCE, 1 - sc, ss, sg, b)
    for series in SAMPLE_SERIES:
        k = ss == series
        print(
            f"  {series:26s} n {int(k.sum()):4d}  unstable {su[k].mean():.0%}  AUC {auc(su[k], 1 - sc[k]):.2f}"
            f"  unstable marked low {_share(sc[k] < LOW_CONFIDENCE, su[k]):.0%}"
            f"  stable marked low {_share(sc[k] < LOW_CONFIDENCE, ~su[k]):.0%}"
        )
    print("\nleave-one-clip-out (visibility and jitter ranges chosen on the other clips, best Youden J):")
    held = loco(pairs, originals, unstable, clips)
    report_row("confidence (LOCO ranges)", unstable, held < LOW_CONFIDENCE, 1 - held, metric, clips, b)
    if not args.no_labels:
        print("\nagainst the labels' full_body_visible (every dev clip, pulls' readings):")
        labels_check(dev_dir, shared_dir() / "videos" / "labels_dev.json", b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
