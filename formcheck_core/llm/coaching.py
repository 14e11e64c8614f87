"""LLM coaching: analysis -> prompt -> in-process model -> schema-checked, grounded cues.

:func:`llm_cues` never raises for model trouble: no model, llama-cpp-python missing, a corrupt
GGUF, a timeout or an invalid answer all fall back to the deterministic rule cues
(:func:`formcheck_core.coach.deterministic_cues`) with a one-line ``fallback_reason``. No model
text reaches the caller unchecked: every cue passes the schema and the grounding check first,
and streamed cues (``on_cue``) are checked one by one as they complete.

Long because in-process and child-process generation, streaming, the grounding pass and the
fallback are one flow whose outcomes (cues, withdrawn cues, reason) must agree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..cues import Cue
from ..errors import FormcheckError
from ..rules.context import nearest_moment
from ..rules.verdicts import verdict_role
from .grounding import GroundingIssue, check_cue, check_cues, cue_key
from .jsonstream import ItemStream, parse_answer
from .prompts import (
    COACH_DETAIL_LEVELS,
    answer_budget,
    coaching_messages,
    fit_prompt,
    flag_vocabulary,
    metric_unit,
)
from .provenance import model_label, quantization
from .schema import cue_schema, validate_items
from .settings import LLMConfig, load_config

TEST_MODEL_LABEL = "test model — not advice"


@dataclass(frozen=True)
class RejectedCue:
    """A model cue that was not shown, and why."""

    text: str
    why: str
    metric: str | None
    rep: int | None
    issues: tuple[GroundingIssue, ...]

    def describe(self) -> str:
        return f"{self.text!r}: " + "; ".join(i.detail for i in self.issues)


@dataclass(frozen=True)
class WithdrawnCue:
    """A cue shown while the answer streamed in that the final answer does not keep, and why."""

    cue: Cue
    reason: str

    def describe(self) -> str:
        return f"withdrawn: {self.cue.text!r} ({self.reason})"


@dataclass(frozen=True)
class CoachingResult:
    """Cues to show plus how they were obtained.

    ``source``: "llm" (model cues that passed the checks), "test-model" (same, from a tiny test
    model: never advice), "rules" (deterministic fallback). ``fallback_reason`` is one line when
    the rules' cues were used instead of the model's. ``rejected`` lists model cues dropped by
    the grounding check; ``notes`` says what else happened (top-ups, skipped schema).
    """

    cues: tuple[Cue, ...]
    source: str
    fallback_reason: str | None = None
    rejected: tuple[RejectedCue, ...] = ()
    notes: tuple[str, ...] = ()
    model_name: str | None = None
    model_path: str | None = None
    chat: Any = None  # engine.ChatResult (timings and token counts) when the model answered
    load_s: float | None = None
    #: Seconds from the call to the first cue that passed the checks (streaming with ``on_cue``).
    time_to_first_cue_s: float | None = None
    #: Seconds from the call to the first complete cue object the model wrote (checked or not).
    time_to_first_item_s: float | None = None
    #: "Q4_K_M", "F16", … of the model file (None: unknown or no model).
    quantization: str | None = None
    #: Cues streamed to ``on_cue`` that the final answer does not keep (the caller showed them:
    #: it must show them withdrawn).
    withdrawn: tuple[WithdrawnCue, ...] = ()

    @property
    def source_line(self) -> str:
        """One line on where the cues came from: the model (name, quantisation) or the rules and why."""
        if self.source == "rules":
            return f"Cues from the rules (no LLM): {(self.fallback_reason or 'LLM not used').rstrip('.')}."
        label = model_label(self.model_name, self.quantization, self.source == "test-model")
        return (
            f"Cues from the {label}"
            + (f" [{self.label}]" if self.label else "")
            + ", checked against the measurements."
        )

    @property
    def label(self) -> str:
        """ "test model — not advice" for test-model output, else ""."""
        return TEST_MODEL_LABEL if self.source == "test-model" else ""

    def report_lines(self) -> list[str]:
        """Plain lines for a report: where the cues came from and what was dropped and why."""
        lines = [self.source_line]
        lines += [w.describe() for w in self.withdrawn]
        if self.rejected:
            lines.append(f"{len(self.rejected)} model cue(s) dropped by the grounding check:")
            lines += [f"  - {r.describe()}" for r in self.rejected]
        lines += list(self.notes)
        return lines


# --- helpers ----------------------------------------------------------------------------------


def _placed(analysis, rep, metric: str | None, finding) -> tuple[str | None, int | None, float | None]:
    """(moment, frame, time) of the number an LLM cue cites, where it was read, as every view
    places it: the rule finding's own place (its metric's sample, its nearest key moment); else
    the metric's recorded sample (``Rep.metric_samples``) and its nearest key moment; else, as
    a finding without a sample is placed, its moment's own frame; else nowhere."""
    if finding is not None and finding.frame_index is not None:
        return finding.moment, finding.frame_index, finding.time_s
    sample = rep.metric_samples.get(metric) if rep is not None and metric else None
    body = analysis.body
    if sample is None or body is None or not 0 <= sample < len(body.frame_index):
        m = (
            rep.moments.get(finding.moment)
            if rep is not None and finding is not None and finding.moment
            else None
        )
        return (m.name, m.frame_index, m.time_s) if m is not None else (None, None, None)
    near = nearest_moment(rep, int(sample))
    return (
        (near.name if near is not None else None),
        int(body.frame_index[sample]),
        float(body.time_s[sample]),
    )


def rule_cues(analysis, max_cues: int = 5) -> tuple[Cue, ...]:
    """The deterministic cues (the fallback), from :func:`formcheck_core.coach.deterministic_cues`."""
    from ..coach import deterministic_cues

    return tuple(deterministic_cues(analysis, max_cues=max_cues))


def _fallback(analysis, config: LLMConfig, reason: str, **extra: Any) -> CoachingResult:
    reason = " ".join(str(reason).split())
    cues = tuple(
        replace(c, source_detail=f"{c.source_detail or 'rules'} (fallback)", fallback_reason=reason)
        for c in rule_cues(analysis, config.max_cues)
    )
    return CoachingResult(cues=cues, source="rules", fallback_reason=reason, **extra)


def _to_cue(item: Mapping[str, Any], analysis, priority: int, source: str, detail: str = "") -> Cue:
    metric, rep_no, rule_id = item.get("metric"), item.get("rep"), item.get("rule_id")
    rep = next((r for r in analysis.pulls if r.number == rep_no), None)
    value = None
    if rep is not None and metric in rep.metrics:
        v = rep.metrics[metric]
        value = float(v) if v is not None and math.isfinite(float(v)) else None
    finding = (
        next((f for f in analysis.findings if f.rule_id == rule_id and f.rep == rep_no), None)
        if rule_id
        else None
    )
    moment, frame_index, time_s = _placed(analysis, rep, metric, finding)
    unit = metric_unit(metric or "")  # its spec's: the back's is torso lengths, not body lengths
    return Cue(
        priority=priority,
        text=str(item["cue"]),
        why=str(item["why"]),
        rule_id=rule_id,
        rep=rep_no,
        metric=metric,
        value=value,
        unit=unit,
        moment=moment,
        frame_index=frame_index,
        time_s=time_s,
        source=source,
        source_detail=detail,
        pull=analysis.pull_label(rep.number) if rep is not None else "",
        role=verdict_role(finding) if finding is not None else "",
        rule_title=finding.name if finding is not None else "",
    )


def _vocab(analysis) -> list[str]:
    ids = list(dict.fromkeys([*flag_vocabulary(), *(f.rule_id for f in analysis.findings)]))
    return ids


# --- entry point ------------------------------------------------------------------------------


def llm_cues(
    analysis,
    config: LLMConfig | None = None,
    *,
    on_token: Callable[[str], None] | None = None,
    on_cue: Callable[[Cue], None] | None = None,
    engine=None,
    isolated: bool = False,
) -> CoachingResult:
    """3-5 prioritised cues for ``analysis`` from the in-process LLM, grounded in its numbers.

    ``isolated``: load the model and generate in a forked child process (cues and tokens still
    stream to the callbacks here), so a native abort in llama.cpp (e.g. a GGUF with a valid
    header and damaged weights) costs only the LLM's cues: the result is then the rule cues with
    the reason. Each isolated call loads the model anew (``engine`` is ignored).

    ``on_token(piece)`` receives raw answer text as it is generated (for progress only: it is not
    checked, do not show it as advice). ``on_cue(cue)`` receives each cue that passed the schema
    and grounding checks as soon as the model finishes writing it. ``engine``: an already loaded
    :class:`~formcheck_core.llm.engine.Engine` (else the one for ``config.model``, loaded once per
    process). Falls back to the rule cues, with ``fallback_reason``, on any model failure.
    """
    config = config or load_config()
    if not analysis.ok or not any(r.metrics for r in analysis.reps):
        return _fallback(analysis, config, "no measured rep to coach")
    if isolated:
        return _llm_cues_in_child(analysis, config, on_token=on_token, on_cue=on_cue)
    try:
        from .engine import engine_for

        if engine is None:
            engine = engine_for(config)
    except FormcheckError as exc:
        return _fallback(analysis, config, str(exc))
    except Exception as exc:
        return _fallback(analysis, config, f"the LLM could not be loaded ({type(exc).__name__}: {exc})")

    info = engine.info
    source = "test-model" if info.is_test_model else "llm"
    messages, data, schema = _context(analysis, config, engine)
    quant = quantization(getattr(engine.llama, "metadata", None) or {}, info.path)
    detail = model_label(info.name, quant, info.is_test_model)
    extra: dict[str, Any] = {
        "model_name": info.name,
        "model_path": info.path,
        "load_s": engine.load_s,
        "quantization": quant,
    }

    stream = ItemStream()
    streamed: list[dict] = []
    shown: list[Cue] = []
    first_cue: list[float] = []
    first_item: list[float] = []
    t0 = time.perf_counter()

    def on_text(piece: str) -> None:
        if on_token is not None:
            on_token(piece)
        for item in stream.feed(piece):
            if not first_item:
                first_item.append(time.perf_counter() - t0)
            if on_cue is None:
                continue
            try:
                good, _bad = validate_items({"cues": [item]}, "cues", schema)
            except ValueError:
                continue
            if (
                good
                and not check_cue(good[0], data, None, [str(i["cue"]) for i in streamed])
                and cue_key(good[0]) not in {cue_key(i) for i in streamed}
            ):
                streamed.append(good[0])
                if not first_cue:
                    first_cue.append(time.perf_counter() - t0)
                shown.append(_to_cue(good[0], analysis, len(streamed), source, detail))
                on_cue(shown[-1])

    try:
        chat = engine.chat(messages, schema=schema, on_text=on_text, **config.generation())
    except FormcheckError as exc:
        return _withdraw(_fallback(analysis, config, f"LLM failed: {exc}", **extra), shown)
    except Exception as exc:
        return _withdraw(
            _fallback(analysis, config, f"LLM failed ({type(exc).__name__}: {str(exc)[:160]})", **extra),
            shown,
        )
    extra["chat"] = chat
    extra["time_to_first_cue_s"] = first_cue[0] if first_cue else None
    extra["time_to_first_item_s"] = first_item[0] if first_item else None

    notes = (
        []
        if chat.schema_constrained
        else ["The model's vocabulary cannot be constrained to JSON; its answer was checked after the fact."]
    )
    result = review_answer(
        chat.text, analysis, config, source=source, finish_reason=chat.finish_reason, notes=notes, **extra
    )
    return _withdraw(result, shown)


def _withdraw(result: CoachingResult, shown: list[Cue]) -> CoachingResult:
    """``result`` with the streamed cues it does not keep listed as withdrawn (with the reason)."""
    kept = {(c.text, c.rep) for c in result.cues if c.source != "rules"}
    withdrawn = []
    for cue in shown:
        if (cue.text, cue.rep) in kept:
            continue
        why = next(
            ("; ".join(i.detail for i in r.issues) for r in result.rejected if r.text == cue.text), None
        )
        if why is None:
            why = (
                f"the LLM answer was not used: {result.fallback_reason}"
                if result.source == "rules"
                else "not in the final answer"
            )
        withdrawn.append(WithdrawnCue(cue, why))
    return replace(result, withdrawn=tuple(withdrawn)) if withdrawn else result


def _llm_cues_in_child(analysis, config: LLMConfig, *, on_token, on_cue) -> CoachingResult:
    """:func:`llm_cues` in a forked child; tokens and checked cues are relayed as events."""
    from ..isolation import IsolatedError, PluginAbort, PluginTimeout, run_in_child

    def work(send):
        return llm_cues(
            analysis,
            config,
            on_token=(lambda piece: send(("token", piece))) if on_token else None,
            on_cue=lambda cue: send(("cue", cue)),
        )

    def relay(event) -> None:
        kind, value = event
        if kind == "token" and on_token is not None:
            on_token(value)
        elif kind == "cue" and on_cue is not None:
            on_cue(value)

    budget = 2 * config.timeout_s + 120.0  # generation has its own timeout; this is the backstop
    try:
        result = run_in_child(work, timeout_s=budget, name="llm", on_event=relay, capture_stderr=True)
    except PluginAbort as exc:
        return _fallback(analysis, config, f"the LLM crashed: {exc}; the model file may be damaged")
    except PluginTimeout:
        return _fallback(analysis, config, f"the LLM process did not finish within {budget:g} s")
    except (IsolatedError, Exception) as exc:
        return _fallback(analysis, config, f"LLM failed ({type(exc).__name__}: {str(exc)[:160]})")
    return result


def _context(analysis, config: LLMConfig, engine=None):
    if engine is None:
        messages, data = coaching_messages(analysis, config.system_prompt)
    else:
        messages, data = fit_prompt(
            lambda d: coaching_messages(analysis, config.system_prompt, d),
            COACH_DETAIL_LEVELS,
            engine.count_tokens,
            answer_budget(engine.llama.n_ctx(), config.max_tokens),
        )
    measured = sorted({m for r in data["reps"] for m in r["metrics"]})
    schema = cue_schema(measured, _vocab(analysis), [r["rep"] for r in data["reps"]], config.max_cues)
    return messages, data, schema


def review_answer(
    text: str,
    analysis,
    config: LLMConfig | None = None,
    *,
    source: str = "llm",
    finish_reason: str | None = None,
    notes: list[str] | tuple[str, ...] = (),
    **extra: Any,
) -> CoachingResult:
    """Turn a model's answer ``text`` into checked cues: parse the JSON, validate it against the
    cue schema, run the grounding check, drop what fails (listed in ``rejected``), renumber, fill
    each cue's value/moment/frame from the analysis, add the rule's own cue for every fault no
    kept cue covers (marked as added), and top up with rule cues to ``min_cues``. A second cue on
    the same (rule or metric, rep) is merged into the first (rejected as ``duplicate``). Falls
    back to the rule cues (``fallback_reason``) if nothing usable remains. Pure."""
    config = config or LLMConfig(model="unused")
    _messages, data, schema = _context(analysis, config)
    model_detail = model_label(extra.get("model_name"), extra.get("quantization"), source == "test-model")
    notes = list(notes)
    try:
        items, invalid = validate_items(parse_answer(text), "cues", schema)
    except ValueError as exc:
        why = "it ran out of tokens" if finish_reason == "length" else str(exc)
        complete = ItemStream().feed(text)  # the cues the model finished before the answer broke off
        if not complete:
            return _fallback(
                analysis,
                config,
                f"the model's answer was not valid JSON ({why})",
                notes=tuple(notes),
                **extra,
            )
        items, invalid = validate_items({"cues": complete}, "cues", schema)
        notes.append(
            f"The model's answer was cut off ({why}); its {len(complete)} complete cue(s) were checked."
        )

    rejected = [
        RejectedCue(
            str(i.get("cue", i)) if isinstance(i, dict) else str(i),
            "",
            None,
            None,
            (GroundingIssue("schema", reason),),
        )
        for i, reason in invalid
    ]
    kept: list[dict] = []
    for item, issues in check_cues(sorted(items, key=lambda i: i["priority"]), data):
        if issues:
            rejected.append(
                RejectedCue(item["cue"], item["why"], item.get("metric"), item.get("rep"), tuple(issues))
            )
        else:
            kept.append(dict(item))
    kept = kept[: config.max_cues]
    if not kept:
        n = len(items) + len(invalid)
        return _fallback(
            analysis,
            config,
            f"none of the model's {n} cue(s) passed the grounding check",
            rejected=tuple(rejected),
            notes=tuple(notes),
            **extra,
        )

    cues = [_to_cue(item, analysis, i + 1, source, model_detail) for i, item in enumerate(kept)]
    all_rule_cues = rule_cues(analysis, max(len(analysis.findings), config.max_cues))
    covered = {str(c.rule_id) for c in cues if c.rule_id}
    faulted = list(dict.fromkeys(f.rule_id for f in analysis.findings if f.is_fault))
    missing = [c for c in all_rule_cues if c.rule_id in faulted and c.rule_id not in covered]
    if missing:  # every fault keeps at least one cue, even past max_cues
        notes.append(
            f"Rule cue(s) added for {', '.join(c.rule_title or str(c.rule_id) for c in missing)}: no model cue covered "
            f"{'that fault' if len(missing) == 1 else 'those faults'}."
        )
        cues += [
            replace(
                c,
                priority=len(cues) + i + 1,
                source_detail=f"{c.source_detail} (added: no model cue covered this fault)",
            )
            for i, c in enumerate(missing)
        ]
        covered |= {str(c.rule_id) for c in missing}
    if len(cues) < config.min_cues:
        extra_cues = [c for c in all_rule_cues if c.rule_id not in covered][: config.min_cues - len(cues)]
        if extra_cues:
            notes.append(f"{len(extra_cues)} rule-based cue(s) added to reach {config.min_cues}.")
            cues += [
                replace(
                    c,
                    priority=len(cues) + i + 1,
                    source_detail=f"{c.source_detail} (added to reach {config.min_cues} cues)",
                )
                for i, c in enumerate(extra_cues)
            ]
    return CoachingResult(
        cues=tuple(cues), source=source, rejected=tuple(rejected), notes=tuple(notes), **extra
    )
