"""LLM-only flagging: the model sees raw metrics and series summaries (no rule findings, no
thresholds) and names faults from the rule-id vocabulary, with a reason each.

Used by :mod:`formcheck_core.compare` to set the model's judgement beside the threshold rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import FormcheckError
from .grounding import GroundingIssue, check_reason, reference_values
from .jsonstream import parse_answer
from .prompts import FLAG_DETAIL_LEVELS, answer_budget, fit_prompt, flag_vocabulary, flagging_messages
from .schema import flag_schema, validate_items
from .settings import LLMConfig, load_config


@dataclass(frozen=True)
class LLMFlag:
    """One fault the model named: rule id, rep (None = whole set), its reason, and whether every
    number in the reason is a measured value."""

    flag: str
    rep: int | None
    reason: str
    grounded: bool = True
    issues: tuple[GroundingIssue, ...] = ()


@dataclass(frozen=True)
class FlaggingResult:
    """The model's flags for one analysis, or ``error`` (one line) when it produced none usable."""

    flags: tuple[LLMFlag, ...]
    vocabulary: tuple[str, ...]
    error: str | None = None
    rejected: tuple[tuple[str, str], ...] = ()
    model_name: str | None = None
    is_test_model: bool = False
    chat: Any = None
    #: The model process died (a native abort in llama.cpp): the model is unusable, not just
    #: unsure about this clip.
    crashed: bool = False

    @property
    def flag_ids(self) -> frozenset[str]:
        """The set of rule ids flagged anywhere in the clip."""
        return frozenset(f.flag for f in self.flags)


def llm_flags(
    analysis,
    config: LLMConfig | None = None,
    *,
    vocabulary: Sequence[str] | None = None,
    on_token: Callable[[str], None] | None = None,
    engine=None,
    isolated: bool = False,
) -> FlaggingResult:
    """Ask the model which faults of ``vocabulary`` (default: every loaded rule's id) ``analysis``
    shows. Never raises for model trouble: returns a result with ``error`` set instead.

    ``isolated``: load the model and generate in a forked child process (as
    :func:`~formcheck_core.llm.coaching.llm_cues` does), so a native abort in llama.cpp returns a
    result with ``crashed=True`` and the reason instead of ending this process. Each isolated
    call loads the model anew (``engine`` is ignored)."""
    config = config or load_config()
    vocab = tuple(flag_vocabulary() if vocabulary is None else vocabulary)
    if not analysis.ok or not any(r.metrics for r in analysis.reps):
        return FlaggingResult((), vocab, error="no measured rep to judge")
    if isolated:
        return _llm_flags_in_child(analysis, config, vocab, on_token)
    try:
        if engine is None:
            from .engine import engine_for

            engine = engine_for(config)
        messages, data = fit_prompt(
            lambda d: flagging_messages(analysis, vocab, d),
            FLAG_DETAIL_LEVELS,
            engine.count_tokens,
            answer_budget(engine.llama.n_ctx(), config.max_tokens),
        )
        reps = [r["rep"] for r in data["reps"]]
        schema = flag_schema(vocab, reps)
        chat = engine.chat(messages, schema=schema, on_text=on_token, **config.generation())
    except FormcheckError as exc:
        return FlaggingResult((), vocab, error=" ".join(str(exc).split()))
    except Exception as exc:
        return FlaggingResult((), vocab, error=f"LLM failed ({type(exc).__name__}: {str(exc)[:160]})")

    base = {"model_name": engine.info.name, "is_test_model": engine.info.is_test_model, "chat": chat}
    try:
        items, invalid = validate_items(parse_answer(chat.text), "flags", schema)
    except ValueError as exc:
        why = "it ran out of tokens" if chat.finish_reason == "length" else str(exc)
        return FlaggingResult((), vocab, error=f"the model's answer was not valid JSON ({why})", **base)
    refs = reference_values(data)  # measurements only: not the glossary's "180 = straight"
    flags, seen = [], set()
    for item in items:
        key = (item["flag"], item["rep"])
        if key in seen:
            continue
        seen.add(key)
        issues = tuple(check_reason(item["reason"], data, refs))
        flags.append(LLMFlag(item["flag"], item["rep"], item["reason"], grounded=not issues, issues=issues))
    rejected = tuple((str(i), reason) for i, reason in invalid)
    return FlaggingResult(tuple(flags), vocab, rejected=rejected, **base)


def _llm_flags_in_child(analysis, config: LLMConfig, vocab: tuple[str, ...], on_token) -> FlaggingResult:
    """:func:`llm_flags` in a forked child (:func:`~formcheck_core.isolation.run_in_child`);
    answer text is relayed to ``on_token`` as it is generated."""
    from ..isolation import PluginAbort, PluginTimeout, run_in_child

    def work(send):
        on_text = (lambda piece: send(piece)) if on_token is not None else None
        return llm_flags(analysis, config, vocabulary=vocab, on_token=on_text)

    budget = 2 * config.timeout_s + 120.0  # generation has its own timeout; this is the backstop
    try:
        return run_in_child(work, timeout_s=budget, name="llm", on_event=on_token, capture_stderr=True)
    except PluginAbort as exc:
        why = f"the LLM crashed: {exc}; the model file may be damaged"
        return FlaggingResult((), vocab, error=why, crashed=True)
    except PluginTimeout:
        return FlaggingResult((), vocab, error=f"the LLM process did not finish within {budget:g} s")
    except Exception as exc:
        return FlaggingResult((), vocab, error=f"LLM failed ({type(exc).__name__}: {str(exc)[:160]})")
