"""Threshold rules vs LLM-only flags, scored fairly against labels.

The analysis core never imports this module (it needs the LLM layer). Fairness rules:

* **Same rows.** Both methods are scored on exactly the same (clip, rep) set: the reps the
  analysis measured on clips where every method in the run gave an answer. A clip that could not
  be analysed, or that the LLM did not judge (timeout, invalid answer), is excluded from *both*
  and counted in :attr:`ComparisonReport.excluded` with the reason.
* **Clip-level calls.** Labels are per clip (``labels_dev.json``: ``faults`` true / false /
  "unclear"; "unclear" and missing labels are left out of the scores for that fault). A method
  flags a clip when it flags any scored rep (or, for the LLM, the whole set). A rule flags a rep
  with a fault read at a confident pose (``rules.verdicts.flags_rule``): a low-confidence
  "warning" is shown by ``analyze`` but is not a flag here either.
* **Ungrounded LLM flags** (a reason citing a number the model was never shown) do not count as
  flags; they are counted separately per fault.
* **Rules in-sample and cross-validated.** The shipped thresholds were calibrated on the dev
  clips, so scoring them there is in-sample; each rule is also scored with leave-one-clip-out
  thresholds (:func:`formcheck_core.scoring.loco_thresholds` over the clip's most extreme
  finding value; the direction is read from the findings). Both are labelled as such.
* **Baselines and uncertainty.** Per fault: sensitivity, specificity, balanced accuracy and F1
  with 95 % clip-bootstrap intervals for each method and for the never-flag / always-flag
  baselines on the same rows, and Cohen's kappa between rules and LLM.
* A run on a test model is labelled :data:`TEST_MODEL_NOTE` in every output.

Long because the scoring rows, the per-method scores and the text and JSON reports share one set of
fairness rules; split it when a second comparison appears.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import scoring
from .clip_warnings import is_insufficient
from .errors import FormcheckError
from .plugins import collect_rules
from .rules.verdicts import flags_rule
from .vocabulary import FAULT, NO_COMPLETE_LIFT, OK


def rule_vocabulary() -> tuple[str, ...]:
    """The flags compared by default: every loaded rule's id."""
    return tuple(collect_rules()[0])


def rules_off_by_default() -> tuple[str, ...]:
    """Loaded rules whose default thresholds switch them off (``enabled = 0``)."""
    from .rules.engine import ENABLED_THRESHOLD

    return tuple(
        rid for rid, lr in collect_rules()[0].items() if lr.rule.thresholds.get(ENABLED_THRESHOLD, 1.0) == 0.0
    )


def every_rule_on() -> dict[str, dict[str, float]]:
    """Default thresholds with every rule switched on (preset "all"): what the comparison analyses
    with, so that rules off by default are scored too (and can be cross-validated)."""
    from .rules.thresholds import threshold_settings

    return threshold_settings(preset="all")


def label_keys() -> dict[str, str]:
    """Rule id -> its fault key in a labels file (``Rule.label_key``), for every loaded rule."""
    return {rid: lr.rule.label_key for rid, lr in collect_rules()[0].items()}


#: The label on every output of a run with a tiny test model.
TEST_MODEL_NOTE = "test model — not meaningful"
#: Metrics reported per method, with bootstrap intervals.
SCORED_METRICS: tuple[str, ...] = ("sensitivity", "specificity", "balanced_accuracy", "f1")
#: Method names, in report order.
RULES_IN_SAMPLE = "rules (shipped thresholds, in-sample)"
RULES_LOCO = "rules (leave-one-clip-out thresholds)"
LLM = "LLM-only"
NEVER, ALWAYS = "never-flag baseline", "always-flag baseline"


@dataclass(frozen=True)
class RuleEvidence:
    """One rule on one clip: the values it compared on the scored reps it could measure, the
    threshold it used and which side of it is a fault on this clip (None: not inferable)."""

    values: tuple[float, ...]
    threshold: float
    direction: str | None

    def worst(self, direction: str) -> float:
        """The most extreme value in the fault ``direction`` (NaN: nothing measured)."""
        if not self.values:
            return math.nan
        return max(self.values) if direction == "above" else min(self.values)


@dataclass(frozen=True)
class ClipComparison:
    """One clip: flags from the rules and from the LLM over the scored reps, and the labels.

    ``reps``: the reps both methods are scored on (empty when the clip is excluded).
    ``llm_error``: why the LLM gave no flags (the clip is then excluded when the LLM was run).
    ``ungrounded_flags``: LLM flags whose reasons failed the grounding check (not counted).
    """

    clip: str
    rule_flags: frozenset[str]
    llm_flags: frozenset[str]
    labels: Mapping[str, bool | None] = field(default_factory=dict)
    llm_error: str | None = None
    analysis_ok: bool = True
    llm_reasons: Mapping[str, str] = field(default_factory=dict)
    reps: tuple[int, ...] = ()
    ungrounded_flags: frozenset[str] = frozenset()
    evidence: Mapping[str, RuleEvidence] = field(default_factory=dict)
    #: The LLM was asked about this clip (False in a rules-only run).
    llm_used: bool = True
    #: Why the analysis measured nothing usable (the warning that says so, or the error).
    analysis_error: str | None = None
    #: False when the clip could not be analysed at all (``analysis_error`` is the error).
    analysed: bool = True
    #: The LLM that judged this clip is a tiny test model (its flags are not meaningful).
    llm_is_test_model: bool = False

    def excluded_because(self) -> str | None:
        """Why this clip is left out of the scores (None: it is scored)."""
        if not self.analysis_ok:
            if not self.analysed:
                return f"not analysed: {self.analysis_error}"
            return f"no complete rep: {self.analysis_error or 'no usable lift measured'}"
        if not self.reps:
            return "no rep measured"
        if self.llm_used and self.llm_error is not None:
            return f"LLM gave no answer: {self.llm_error}"
        return None


@dataclass(frozen=True)
class MethodScore:
    """One method (or baseline) on one fault over the labelled scored clips."""

    method: str
    confusion: scoring.Confusion
    intervals: Mapping[str, scoring.Interval]


@dataclass(frozen=True)
class FlagScores:
    """Everything scored for one fault: methods and baselines on the same labelled clips, kappa
    between rules and LLM over every scored clip, the ungrounded LLM flags, LOCO thresholds."""

    flag: str
    labelled: int
    positives: int
    methods: tuple[MethodScore, ...]
    kappa: float
    agree: int
    judged: int
    ungrounded: int
    loco_thresholds: Mapping[str, float] = field(default_factory=dict)
    shipped_threshold: float | None = None
    direction: str | None = None

    def method(self, name: str) -> MethodScore | None:
        return next((m for m in self.methods if m.method == name), None)


@dataclass(frozen=True)
class ComparisonReport:
    """The comparison: clips (scored and excluded), per-fault scores, model and labels."""

    clips: tuple[ClipComparison, ...]
    vocabulary: tuple[str, ...]
    scores: tuple[FlagScores, ...]
    model: str | None = None
    is_test_model: bool = False
    llm_used: bool = True
    n_boot: int = 1000
    #: Rules off by default (``enabled = 0``) that were switched on to be scored.
    off_by_default: tuple[str, ...] = ()
    #: Why the LLM was dropped from the whole comparison (its process crashed), else None.
    llm_failure: str | None = None

    @property
    def scored(self) -> tuple[ClipComparison, ...]:
        return tuple(c for c in self.clips if c.excluded_because() is None)

    @property
    def excluded(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.clip, why) for c in self.clips if (why := c.excluded_because()) is not None)

    @property
    def label(self) -> str:
        """:data:`TEST_MODEL_NOTE` for a test-model run, else ""."""
        return TEST_MODEL_NOTE if self.is_test_model else ""


# --- per clip ----------------------------------------------------------------------------------


def rule_flags(analysis, reps: Iterable[int] | None = None) -> frozenset[str]:
    """Rule ids with a finding in ``reps`` (None: any rep) of the analysis that flags its rule
    (:func:`~formcheck_core.rules.verdicts.flags_rule`: a fault read at a confident pose; a
    low-confidence "warning" is not a rule flag)."""
    wanted = None if reps is None else set(reps)
    return frozenset(
        f.rule_id for f in analysis.findings if flags_rule(f) and (wanted is None or f.rep in wanted)
    )


def _direction(findings) -> str | None:
    """ "above" / "below" (which side of the threshold is a fault), read from the findings."""
    votes = {"above": 0, "below": 0}
    for f in findings:
        if (
            f.value is None
            or f.threshold is None
            or not math.isfinite(f.value)
            or not math.isfinite(f.threshold)
        ):
            continue
        if f.value == f.threshold:
            continue
        above = f.value > f.threshold
        if f.status == FAULT:
            votes["above" if above else "below"] += 1
        elif f.status == OK:
            votes["below" if above else "above"] += 1
    if votes["above"] == votes["below"]:
        return None
    return "above" if votes["above"] > votes["below"] else "below"


def rule_evidence(analysis, vocabulary: Sequence[str], reps: Iterable[int]) -> dict[str, RuleEvidence]:
    """Per rule: the values its findings compared on ``reps`` (measured ones only; a reading at low
    pose confidence is left out, as the verdict does not count it and ``scripts/evaluate_rules.py``
    leaves it out of a clip's value)."""
    wanted = set(reps)
    out = {}
    for rule_id in vocabulary:
        fs = [f for f in analysis.findings if f.rule_id == rule_id and f.rep in wanted]
        vals = tuple(
            float(f.value)
            for f in fs
            if f.status in (FAULT, OK)
            and not f.low_confidence
            and f.value is not None
            and math.isfinite(f.value)
        )
        thr = next((f.threshold for f in fs if f.threshold is not None), None)
        out[rule_id] = RuleEvidence(vals, float(thr) if thr is not None else math.nan, _direction(fs))
    return out


def pooled_direction(clips: Iterable[ClipComparison], flag: str) -> str | None:
    """The fault direction of rule ``flag`` agreed by the clips that show it (None: none or split)."""
    seen = {e.direction for c in clips if (e := c.evidence.get(flag)) is not None and e.direction}
    return seen.pop() if len(seen) == 1 else None


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
    except OSError as exc:  # the reason in words, without "[Errno 2]" and the path again
        raise FormcheckError(f"Cannot read labels {p} ({exc.strerror or type(exc).__name__}).") from None
    except ValueError as exc:
        raise FormcheckError(f"Cannot read labels {p}: it is not JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise FormcheckError(f"Labels {p} must be a JSON object keyed by clip name.")
    return {Path(k).stem: v for k, v in raw.items() if isinstance(v, dict)}


def rules_only(
    analysis,
    *,
    labels: Mapping | None = None,
    clip: str | None = None,
    vocabulary: Sequence[str] | None = None,
) -> ClipComparison:
    """The rules' side of one clip (no LLM): what a run without a model scores (default flags:
    the loaded rules' ids)."""
    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary
    reps = tuple(r.number for r in analysis.reps if r.metrics) if analysis.ok else ()
    return ClipComparison(
        clip=clip or Path(analysis.video.path).stem,
        rule_flags=rule_flags(analysis, reps) & frozenset(vocabulary),
        llm_flags=frozenset(),
        labels=clip_labels(labels, vocabulary) if labels is not None else {},
        analysis_ok=analysis.ok,
        reps=reps,
        evidence=rule_evidence(analysis, vocabulary, reps),
        llm_used=False,
        analysis_error=None if analysis.ok else why_no_usable_lift(analysis.warnings),
    )


def why_no_usable_lift(warnings: Sequence[str]) -> str | None:
    """The warning that says why a clip gave no usable lift ("No complete lift was found: …",
    "Insufficient pose data: …"), else the first warning (a caveat like "Clip is short" only
    when nothing says more)."""
    said = [w for w in warnings if w.startswith(NO_COMPLETE_LIFT) or is_insufficient(w)]
    return next(iter(said or warnings), None)


def compare_analysis(
    analysis,
    config=None,
    *,
    labels: Mapping | None = None,
    clip: str | None = None,
    vocabulary: Sequence[str] | None = None,
    engine=None,
    isolated: bool = False,
):
    """(:class:`ClipComparison`, :class:`~formcheck_core.llm.flagging.FlaggingResult`) for one
    analysis: the rules' flags and the LLM's grounded flags over the same reps (``isolated``:
    the LLM runs in a child process, see :func:`~formcheck_core.llm.flagging.llm_flags`)."""
    from .llm.flagging import llm_flags

    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary
    base = rules_only(analysis, labels=labels, clip=clip, vocabulary=vocabulary)
    result = llm_flags(analysis, config, vocabulary=vocabulary, engine=engine, isolated=isolated)
    reps = set(base.reps)
    in_scope = [f for f in result.flags if f.rep is None or f.rep in reps]
    comp = ClipComparison(
        clip=base.clip,
        rule_flags=base.rule_flags,
        llm_flags=frozenset(f.flag for f in in_scope if f.grounded),
        labels=base.labels,
        llm_error=result.error,
        analysis_ok=analysis.ok,
        llm_reasons={f.flag: f.reason for f in in_scope},
        reps=base.reps,
        ungrounded_flags=frozenset(f.flag for f in in_scope if not f.grounded)
        - frozenset(f.flag for f in in_scope if f.grounded),
        evidence=base.evidence,
        llm_used=True,
        analysis_error=base.analysis_error,
        llm_is_test_model=result.is_test_model,
    )
    return comp, result


# --- scoring -----------------------------------------------------------------------------------


def _method(name: str, y: np.ndarray, pred: np.ndarray, n_boot: int, seed: int) -> MethodScore:
    intervals = scoring.metrics_with_ci(y, pred, None, SCORED_METRICS, n_boot=n_boot, seed=seed)
    return MethodScore(name, scoring.confusion(y, pred), intervals)


def summarize(
    clips: Sequence[ClipComparison],
    vocabulary: Sequence[str] | None = None,
    model: str | None = None,
    is_test_model: bool = False,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    off_by_default: Sequence[str] = (),
    llm_failure: str | None = None,
) -> ComparisonReport:
    """Score every method per fault on the scored clips (see the module docstring; default flags:
    the loaded rules' ids)."""
    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary
    clips = tuple(clips)
    llm_used = any(c.llm_used for c in clips)
    scored = [c for c in clips if c.excluded_because() is None]
    out = []
    for flag in vocabulary:
        rows = [c for c in scored if c.labels.get(flag) is not None]
        y = np.array([bool(c.labels[flag]) for c in rows], dtype=bool)
        methods = [
            _method(RULES_IN_SAMPLE, y, np.array([flag in c.rule_flags for c in rows], bool), n_boot, seed)
        ]
        ev = [c.evidence.get(flag) for c in rows]
        direction = pooled_direction(scored, flag)
        loco: dict[str, float] = {}
        if direction is not None and rows:
            values = np.array([e.worst(direction) if e is not None else math.nan for e in ev], dtype=float)
            result = scoring.loco_thresholds(values, y, [c.clip for c in rows], direction)  # type: ignore[arg-type]
            loco = {str(k): float(v) for k, v in result.thresholds.items()}
            methods.append(_method(RULES_LOCO, y, result.predictions, n_boot, seed))
        if llm_used:
            methods.append(_method(LLM, y, np.array([flag in c.llm_flags for c in rows], bool), n_boot, seed))
        base = scoring.baselines(y)
        methods.append(_method(NEVER, y, np.zeros(len(y), bool), n_boot, seed))
        methods.append(_method(ALWAYS, y, np.ones(len(y), bool), n_boot, seed))
        assert methods[-2].confusion == base["never_flag"] and methods[-1].confusion == base["always_flag"]
        r = [flag in c.rule_flags for c in scored]
        m = [flag in c.llm_flags for c in scored]
        kappa = scoring.cohen_kappa(r, m) if llm_used else math.nan
        shipped = next(
            (e.threshold for c in scored if (e := c.evidence.get(flag)) and math.isfinite(e.threshold)), None
        )
        out.append(
            FlagScores(
                flag,
                len(rows),
                int(y.sum()),
                tuple(methods),
                kappa,
                sum(a == b for a, b in zip(r, m, strict=True)) if llm_used else 0,
                len(scored) if llm_used else 0,
                sum(flag in c.ungrounded_flags for c in scored),
                loco,
                shipped,
                direction,
            )
        )
    return ComparisonReport(
        clips,
        tuple(vocabulary),
        tuple(out),
        model,
        is_test_model,
        llm_used,
        n_boot,
        tuple(off_by_default),
        llm_failure,
    )


def roc_points(
    report: ComparisonReport, flag: str, thresholds: Sequence[float] | None = None
) -> list[tuple[float, float, float]]:
    """(threshold, 1 − specificity, sensitivity) of one rule over the labelled scored clips, at
    each of ``thresholds`` (default: every distinct measured value and one beyond each end);
    empty without both faulty and clean labelled clips.

    Uses each clip's most extreme finding value (:class:`RuleEvidence`), so a threshold change
    needs no re-analysis; NaN values never flag."""
    rows = [c for c in report.scored if c.labels.get(flag) is not None and flag in c.evidence]
    direction = next((s.direction for s in report.scores if s.flag == flag), None)
    if not rows or direction is None:
        return []
    values = np.array([c.evidence[flag].worst(direction) for c in rows], dtype=float)
    y = np.array([bool(c.labels[flag]) for c in rows], dtype=bool)
    if y.all() or not y.any():
        return []  # no curve without both faulty and clean clips
    if thresholds is None:
        finite = np.unique(values[np.isfinite(values)])
        if finite.size == 0:
            return []
        pad = 0.05 * (float(finite[-1] - finite[0]) or 1.0)
        thresholds = [float(finite[0] - pad), *((finite[:-1] + finite[1:]) / 2), float(finite[-1] + pad)]
    out = []
    for t in thresholds:
        conf = scoring.confusion(y, scoring.flag(values, float(t), direction))  # type: ignore[arg-type]
        out.append((float(t), 1 - conf.specificity, conf.sensitivity))
    return sorted(out, key=lambda p: (p[1], p[2]))


# --- running it over clips ---------------------------------------------------------------------


def compare_videos(
    paths: Iterable[str | Path],
    config=None,
    *,
    labels: Mapping[str, Mapping] | None = None,
    vocabulary: Sequence[str] | None = None,
    analyze_options: Mapping | None = None,
    on_clip: Callable[[ClipComparison], None] | None = None,
    use_llm: bool = True,
    n_boot: int = 1000,
    isolated: bool = False,
) -> ComparisonReport:
    """Analyse each clip with every rule on (:func:`every_rule_on`, unless ``analyze_options``
    gives ``thresholds``), ask the LLM for flags (unless ``use_llm`` is False), and score. A clip
    that cannot be analysed is kept with ``analysis_ok=False`` (excluded, counted).

    ``isolated``: the LLM runs in a child process per clip, so a native abort in llama.cpp (a
    damaged GGUF) cannot end this process; the LLM is then dropped from the whole comparison
    (``llm_failure`` says why) and the rules are scored alone on every clip."""
    from .analysis import analyze

    vocabulary = rule_vocabulary() if vocabulary is None else vocabulary
    options = dict(analyze_options or {})
    off = () if "thresholds" in options else rules_off_by_default()
    options.setdefault("thresholds", every_rule_on())
    clips: list[ClipComparison] = []
    model, is_test = None, False
    llm_failure: str | None = None
    for path in paths:
        stem = Path(path).stem
        entry = labels.get(stem) if labels is not None else None
        try:
            analysis = analyze(path, **options)
        except FormcheckError as exc:
            comp = ClipComparison(
                stem,
                frozenset(),
                frozenset(),
                clip_labels(entry, vocabulary) if entry else {},
                analysis_ok=False,
                llm_used=use_llm,
                analysis_error=" ".join(str(exc).split()),
                analysed=False,
            )
        else:
            if use_llm and llm_failure is None:
                comp, result = compare_analysis(
                    analysis, config, labels=entry, clip=stem, vocabulary=vocabulary, isolated=isolated
                )
                model = result.model_name or model
                is_test = is_test or result.is_test_model
                if result.crashed:
                    llm_failure = f"{stem}: {result.error}"
                    comp = rules_only(analysis, labels=entry, clip=stem, vocabulary=vocabulary)
            else:
                comp = rules_only(analysis, labels=entry, clip=stem, vocabulary=vocabulary)
        clips.append(comp)
        if on_clip is not None:
            on_clip(comp)
    if llm_failure is not None:  # a crashed model judges nothing: score the rules alone
        clips = [
            replace(
                c,
                llm_used=False,
                llm_flags=frozenset(),
                llm_error=None,
                llm_reasons={},
                ungrounded_flags=frozenset(),
            )
            for c in clips
        ]
    return summarize(
        clips,
        vocabulary,
        model=model,
        is_test_model=is_test,
        n_boot=n_boot,
        off_by_default=off,
        llm_failure=llm_failure,
    )


# --- text --------------------------------------------------------------------------------------


def _ci(iv: scoring.Interval) -> str:
    if math.isnan(iv.estimate):
        return "   n/a          "
    if math.isnan(iv.low):
        return f"{iv.estimate:4.2f} [n/a]     "
    return f"{iv.estimate:4.2f} [{iv.low:.2f}-{iv.high:.2f}]"


def _kappa(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{round(x, 2) + 0.0:+.2f}"  # + 0.0: no "-0.00"


def header_lines(report: ComparisonReport) -> list[str]:
    """Who was compared, on how many clips, and the test-model label."""
    if report.llm_failure is not None:
        who = f"LLM: dropped, rules scored alone ({report.llm_failure})"
    elif not report.llm_used:
        who = (
            "LLM: not run (rules only). To add a model: --llm-model PATH.gguf (or LLM_MODEL in notebook 04)."
        )
    elif report.is_test_model:
        who = f"LLM: {report.model or 'test model'} — {TEST_MODEL_NOTE.upper()}: its flags say nothing about form"
    else:
        who = f"LLM: {report.model or 'unknown model'}"
    lines = [who]
    excluded = report.excluded
    lines.append(
        f"scored: {len(report.scored)} clip(s), the same (clip, rep) set for every method; "
        f"excluded from all methods: {len(excluded)}"
    )
    lines += [f"  excluded {clip}: {why}" for clip, why in excluded]
    return lines


def llm_flags_text(flags: Iterable[Any], analysis) -> str:
    """The LLM's flags for one clip in a line: each with the pull it names ("hips_rise_first (rep 2)";
    a set-wide flag bare), ungrounded ones marked; "-" for none. ``flags``: its ``LLMFlag``s."""
    said = [
        f"{f.flag}{'' if f.rep is None else f' ({analysis.pull_label(f.rep)})'}"
        f"{'' if f.grounded else ' (ungrounded reason: not counted)'}"
        for f in flags
    ]
    return ", ".join(dict.fromkeys(said)) or "-"


def format_report(report: ComparisonReport) -> str:
    """Per-clip flags, then per fault the scores of every method and baseline with 95 % CIs."""
    short = {f: f.replace("excessive_", "").replace("_at_lockout", "") for f in report.vocabulary}
    lines = header_lines(report)
    lines.append(
        "\nper clip (R = rules, L = LLM, u = LLM flag with an ungrounded reason, * = labelled fault, ? = unclear):"
    )
    for c in report.clips:
        why = c.excluded_because()
        if why is not None:
            lines.append(f"  {c.clip}: EXCLUDED ({why})")
            continue
        cells = []
        for f in report.vocabulary:
            mark = (
                ("R" if f in c.rule_flags else "")
                + ("L" if f in c.llm_flags else "")
                + ("u" if f in c.ungrounded_flags else "")
            )
            lab = c.labels.get(f, False) if c.labels else False
            tag = "*" if lab is True else "?" if (c.labels and lab is None) else ""
            if mark or tag:
                cells.append(f"{short[f]}:{mark or '-'}{tag}")
        lines.append(f"  {c.clip} (reps {','.join(map(str, c.reps))}): {' '.join(cells) or 'no flags'}")
    lines.append(
        f"\nper fault, over the scored clips labelled true/false for it (95 % clip-bootstrap CIs, {report.n_boot} "
        "resamples):"
    )
    head = f"    {'method':40s} {'tp/fp/fn/tn':>12s}  " + "  ".join(
        f"{m:16s}" for m in ("sensitivity", "specificity", "balanced acc.", "F1")
    )
    for s in report.scores:
        extra = []
        if report.llm_used:
            extra.append(f"kappa rules vs LLM {_kappa(s.kappa)} (agree on {s.agree}/{s.judged} clips)")
            extra.append(f"ungrounded LLM flags {s.ungrounded}")
        if s.loco_thresholds:
            vals = sorted(set(round(v, 3) for v in s.loco_thresholds.values()))
            extra.append(
                f"LOCO thresholds {vals[0]:g}–{vals[-1]:g} (shipped {s.shipped_threshold:g}, fault {s.direction})"
            )
        off = " (off by default; switched on to be scored)" if s.flag in report.off_by_default else ""
        lines.append(
            f"\n  {s.flag}{off}: {s.labelled} labelled clip(s), {s.positives} positive"
            + (f"; {'; '.join(extra)}" if extra else "")
        )
        if not s.labelled:
            lines.append("    no labels: not scored")
            continue
        lines.append(head)
        for m in s.methods:
            k = m.confusion
            lines.append(
                f"    {m.method:40s} {f'{k.tp}/{k.fp}/{k.fn}/{k.tn}':>12s}  "
                + "  ".join(_ci(m.intervals[name]) for name in SCORED_METRICS)
            )
    if report.is_test_model:
        lines.append(f"\n[{TEST_MODEL_NOTE}]")
    return "\n".join(lines)


def _num(x: float) -> float | None:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def report_to_dict(report: ComparisonReport) -> dict[str, Any]:
    """JSON-ready form of the report (NaN -> null)."""

    def interval(iv: scoring.Interval) -> dict:
        return {"estimate": _num(iv.estimate), "low": _num(iv.low), "high": _num(iv.high), "level": iv.level}

    return {
        "label": report.label or None,
        "model": report.model,
        "is_test_model": report.is_test_model,
        "llm_used": report.llm_used,
        "llm_failure": report.llm_failure,
        "rules_off_by_default": list(report.off_by_default),
        "vocabulary": list(report.vocabulary),
        "scored_clips": [c.clip for c in report.scored],
        "excluded": [{"clip": clip, "reason": why} for clip, why in report.excluded],
        "clips": [
            {
                "clip": c.clip,
                "reps": list(c.reps),
                "rule_flags": sorted(c.rule_flags),
                "llm_flags": sorted(c.llm_flags),
                "ungrounded_llm_flags": sorted(c.ungrounded_flags),
                "labels": dict(c.labels),
                "llm_error": c.llm_error,
                "analysis_ok": c.analysis_ok,
                "llm_reasons": dict(c.llm_reasons),
            }
            for c in report.clips
        ],
        "scores": [
            {
                "flag": s.flag,
                "labelled": s.labelled,
                "positives": s.positives,
                "kappa": _num(s.kappa),
                "agree": s.agree,
                "judged": s.judged,
                "ungrounded_llm_flags": s.ungrounded,
                "shipped_threshold": s.shipped_threshold,
                "direction": s.direction,
                "loco_thresholds": dict(s.loco_thresholds),
                "methods": [
                    {
                        "method": m.method,
                        "tp": m.confusion.tp,
                        "fp": m.confusion.fp,
                        "fn": m.confusion.fn,
                        "tn": m.confusion.tn,
                        **{k: interval(v) for k, v in m.intervals.items()},
                    }
                    for m in s.methods
                ],
            }
            for s in report.scores
        ],
    }
