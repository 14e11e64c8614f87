"""Threshold rules vs LLM-only flags: per clip, agreement per flag and, where labels exist, the
accuracy of each against them.

The analysis core never imports this module (it needs the LLM layer). Clip-level flags: a rule
flag is a rule id with a "fault" finding in any rep; an LLM flag is a rule id the model named
(:func:`formcheck_core.llm.flagging.llm_flags`). Labels come from a ``labels_dev.json``-style file
(``faults``: true / false / "unclear"); "unclear" and missing labels are left out of accuracy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FormcheckError
from .plugins import collect_rules


def rule_vocabulary() -> tuple[str, ...]:
    """The flags compared by default: every loaded rule's id."""
    return tuple(collect_rules()[0])


def label_keys() -> dict[str, str]:
    """Rule id -> its fault key in a labels file (``Rule.label_key``), for every loaded rule."""
    return {rid: lr.rule.label_key for rid, lr in collect_rules()[0].items()}


@dataclass(frozen=True)
class ClipComparison:
    """One clip: flags from the rules and from the LLM, and the labels (True/False; None = unclear)."""

    clip: str
    rule_flags: frozenset[str]
    llm_flags: frozenset[str]
    labels: Mapping[str, bool | None] = field(default_factory=dict)
    #: Why there are no LLM flags (model trouble, no rep measured); None when the model answered.
    llm_error: str | None = None
    analysis_ok: bool = True
    llm_reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FlagAgreement:
    """Rules vs LLM on one flag over the clips both judged: counts, agreement share, Cohen's kappa."""

    flag: str
    n: int
    both: int
    rules_only: int
    llm_only: int
    neither: int

    @property
    def agreement(self) -> float:
        return (self.both + self.neither) / self.n if self.n else float("nan")

    @property
    def kappa(self) -> float:
        """Cohen's kappa (NaN when undefined: no clips, or both methods constant and equal)."""
        if not self.n:
            return float("nan")
        p_rule = (self.both + self.rules_only) / self.n
        p_llm = (self.both + self.llm_only) / self.n
        expected = p_rule * p_llm + (1 - p_rule) * (1 - p_llm)
        return (self.agreement - expected) / (1 - expected) if expected < 1 else float("nan")


@dataclass(frozen=True)
class FlagAccuracy:
    """One method ("rules" or "llm") on one flag against the labels."""

    flag: str
    method: str
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else float("nan")


@dataclass(frozen=True)
class ComparisonReport:
    """Everything the comparison found, per clip and per flag."""

    clips: tuple[ClipComparison, ...]
    vocabulary: tuple[str, ...]
    agreement: tuple[FlagAgreement, ...]
    accuracy: tuple[FlagAccuracy, ...]
    model: str | None = None
    is_test_model: bool = False


def rule_flags(analysis) -> frozenset[str]:
    """Rule ids with at least one "fault" finding in the analysis."""
    return frozenset(f.rule_id for f in analysis.findings if f.is_fault)


def clip_labels(entry: Mapping | None, vocabulary: Sequence[str]) -> dict[str, bool | None]:
    """Labels for the vocabulary from one labels-file entry: True/False, None for "unclear"/missing."""
    faults = (entry or {}).get("faults", {}) or {}
    keys = label_keys()
    out: dict[str, bool | None] = {}
    for flag in vocabulary:
        value = faults.get(keys.get(flag, flag))
        out[flag] = value if isinstance(value, bool) else None
    return out


def load_labels(path: str | Path) -> dict[str, dict]:
    """A labels file keyed by clip stem (file name without extension)."""
    p = Path(path).expanduser()
    try:
        raw = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise FormcheckError(f"Cannot read labels {p} ({exc}).") from None
    if not isinstance(raw, dict):
        raise FormcheckError(f"Labels {p} must be a JSON object keyed by clip name.")
    return {Path(k).stem: v for k, v in raw.items() if isinstance(v, dict)}


def summarize(clips: Sequence[ClipComparison], vocabulary: Sequence[str] | None = None,
              model: str | None = None, is_test_model: bool = False) -> ComparisonReport:  # fmt: skip
    """Agreement per flag (over clips where the LLM answered and the analysis measured a rep) and
    accuracy of each method per flag over clips with a True/False label (default flags: the
    loaded rules' ids)."""
    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary
    judged = [c for c in clips if c.analysis_ok and c.llm_error is None]
    agreement = []
    for flag in vocabulary:
        r = [flag in c.rule_flags for c in judged]
        m = [flag in c.llm_flags for c in judged]
        agreement.append(FlagAgreement(
            flag, len(judged), sum(a and b for a, b in zip(r, m)), sum(a and not b for a, b in zip(r, m)),
            sum(b and not a for a, b in zip(r, m)), sum(not a and not b for a, b in zip(r, m)),
        ))  # fmt: skip
    accuracy = []
    for flag in vocabulary:
        for method in ("rules", "llm"):
            counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
            for c in clips:
                label = c.labels.get(flag)
                if label is None or (method == "llm" and c.llm_error is not None):
                    continue
                said = flag in (c.rule_flags if method == "rules" else c.llm_flags)
                counts[("t" if said == label else "f") + ("p" if said else "n")] += 1
            accuracy.append(FlagAccuracy(flag, method, **counts))
    return ComparisonReport(tuple(clips), tuple(vocabulary), tuple(agreement), tuple(accuracy), model, is_test_model)


def compare_analysis(analysis, config=None, *, labels: Mapping | None = None, clip: str | None = None,
                     vocabulary: Sequence[str] | None = None, engine=None):  # fmt: skip
    """(:class:`ClipComparison`, :class:`~formcheck_core.llm.flagging.FlaggingResult`) for one analysis."""
    from .llm.flagging import llm_flags

    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary

    result = llm_flags(analysis, config, vocabulary=vocabulary, engine=engine)
    comp = ClipComparison(
        clip=clip or Path(analysis.video.path).stem,
        rule_flags=rule_flags(analysis) & frozenset(vocabulary),
        llm_flags=result.flag_ids,
        labels=clip_labels(labels, vocabulary) if labels is not None else {},
        llm_error=result.error,
        analysis_ok=analysis.ok,
        llm_reasons={f.flag: f.reason for f in result.flags},
    )  # fmt: skip
    return comp, result


def compare_videos(
    paths: Iterable[str | Path],
    config=None,
    *,
    labels: Mapping[str, Mapping] | None = None,
    vocabulary: Sequence[str] | None = None,
    analyze_options: Mapping | None = None,
    on_clip: Callable[[ClipComparison], None] | None = None,
) -> ComparisonReport:
    """Analyse each clip (rules on), ask the LLM for flags, and summarise. A clip that cannot be
    analysed (bad video) is reported with ``analysis_ok=False`` and its error as ``llm_error``."""
    from .analysis import analyze

    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary
    clips: list[ClipComparison] = []
    model, is_test = None, False
    for path in paths:
        stem = Path(path).stem
        entry = labels.get(stem) if labels is not None else None
        try:
            analysis = analyze(path, **dict(analyze_options or {}))
        except FormcheckError as exc:
            comp = ClipComparison(stem, frozenset(), frozenset(), clip_labels(entry, vocabulary) if entry else {},
                                  llm_error=f"not analysed: {exc}", analysis_ok=False)  # fmt: skip
        else:
            comp, result = compare_analysis(analysis, config, labels=entry, clip=stem, vocabulary=vocabulary)
            model = result.model_name or model
            is_test = is_test or result.is_test_model
        clips.append(comp)
        if on_clip is not None:
            on_clip(comp)
    return summarize(clips, vocabulary, model=model, is_test_model=is_test)


# --- text --------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "  n/a" if math.isnan(x) else f"{100 * x:4.0f}%"


def _kappa(x: float) -> str:
    return "  n/a" if math.isnan(x) else f"{round(x, 2) + 0.0:+.2f}"  # + 0.0: no "-0.00"


def format_report(report: ComparisonReport) -> str:
    """Per-clip flags, then the agreement table and the accuracy table, as plain text."""
    short = {f: f.replace("excessive_", "").replace("_at_lockout", "") for f in report.vocabulary}
    lines = []
    if report.is_test_model:
        lines.append("LLM: test model — not advice (its flags say nothing about form)")
    elif report.model:
        lines.append(f"LLM: {report.model}")
    lines.append("\nper clip (R = rules, L = LLM, * = labelled fault, ? = unclear):")
    for c in report.clips:
        if c.llm_error is not None and not c.analysis_ok:
            lines.append(f"  {c.clip}: {c.llm_error}")
            continue
        cells = []
        for f in report.vocabulary:
            mark = ("R" if f in c.rule_flags else "") + ("L" if f in c.llm_flags else "")
            lab = c.labels.get(f, False) if c.labels else False
            tag = "*" if lab is True else "?" if (c.labels and lab is None) else ""
            if mark or tag:
                cells.append(f"{short[f]}:{mark or '-'}{tag}")
        note = f"  [LLM: {c.llm_error}]" if c.llm_error else ""
        lines.append(f"  {c.clip}: {' '.join(cells) or 'no flags'}{note}")
    n = report.agreement[0].n if report.agreement else 0
    lines.append(f"\nagreement per flag over {n} clip(s) the LLM judged:")
    lines.append(f"  {'flag':28s} {'both':>5s} {'R only':>7s} {'L only':>7s} {'neither':>8s} {'agree':>6s} {'kappa':>6s}")
    for a in report.agreement:
        lines.append(f"  {a.flag:28s} {a.both:5d} {a.rules_only:7d} {a.llm_only:7d} {a.neither:8d} {_pct(a.agreement):>6s} {_kappa(a.kappa):>6s}")
    by = {(a.flag, a.method): a for a in report.accuracy}
    if any(a.n for a in report.accuracy):
        lines.append("\naccuracy against the labels (clips labelled true/false for the flag):")
        lines.append(f"  {'flag':28s} {'n':>3s} {'rules':>6s} {'(tp/fp/fn)':>11s} {'n':>3s} {'LLM':>6s} {'(tp/fp/fn)':>11s}")
        for f in report.vocabulary:
            r, m = by[(f, "rules")], by[(f, "llm")]
            lines.append(f"  {f:28s} {r.n:3d} {_pct(r.accuracy):>6s} {f'({r.tp}/{r.fp}/{r.fn})':>11s} "
                         f"{m.n:3d} {_pct(m.accuracy):>6s} {f'({m.tp}/{m.fp}/{m.fn})':>11s}")  # fmt: skip
    else:
        lines.append("\nno labels for these clips: accuracy not computed")
    return "\n".join(lines)


def report_to_dict(report: ComparisonReport) -> dict:
    """JSON-ready form of the report."""
    def nan(x):
        return None if isinstance(x, float) and math.isnan(x) else x

    return {
        "model": report.model,
        "is_test_model": report.is_test_model,
        "vocabulary": list(report.vocabulary),
        "clips": [{"clip": c.clip, "rule_flags": sorted(c.rule_flags), "llm_flags": sorted(c.llm_flags),
                   "labels": dict(c.labels), "llm_error": c.llm_error, "analysis_ok": c.analysis_ok,
                   "llm_reasons": dict(c.llm_reasons)} for c in report.clips],
        "agreement": [{"flag": a.flag, "n": a.n, "both": a.both, "rules_only": a.rules_only, "llm_only": a.llm_only,
                       "neither": a.neither, "agreement": nan(a.agreement), "kappa": nan(a.kappa)} for a in report.agreement],
        "accuracy": [{"flag": a.flag, "method": a.method, "n": a.n, "tp": a.tp, "fp": a.fp, "fn": a.fn, "tn": a.tn,
                      "accuracy": nan(a.accuracy)} for a in report.accuracy],
    }  # fmt: skip
