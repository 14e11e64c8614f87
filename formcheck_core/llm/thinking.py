"""Think first, then answer in JSON: two llama.cpp completions on one prompt.

A JSON-schema grammar constrains every token from the first, so a reasoning model (Qwen3/3.5 with
thinking on) given one can never open its think block: it must write ``{`` at once. Thinking
therefore runs in two phases on the same context:

1. **think** — no grammar, at most ``think_tokens`` tokens, stopped by ``</think>`` (or by the
   budget, after which the block is closed for the model);
2. **answer** — the prompt plus the thought plus ``</think>``, generated under the JSON grammar
   (when the vocabulary can spell JSON) with the answer's own token limit.

Only the answer is streamed to ``on_text``; the thought is returned but never shown. Pure
llama-cpp-python calls: the caller (:meth:`formcheck_core.llm.engine.Engine.chat`) holds the
engine's lock, prepares the prefix cache and turns the result into a ``ChatResult``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Default think budget in tokens (``--llm-thinking``).
THINK_BUDGET_TOKENS = 512
THINK_OPEN, THINK_CLOSE = "<think>\n", "</think>\n\n"


@dataclass(frozen=True)
class TwoPhaseAnswer:
    """What the two phases produced: the thought (never shown), the answer, token counts."""

    thought: str
    answer: str
    thought_tokens: int
    answer_tokens: int
    #: The model closed its think block itself (False: the budget closed it).
    think_finished: bool
    finish_reason: str | None
    #: Seconds from the start to the first answer token (None: no answer token).
    first_answer_token_s: float | None


def think_then_answer(
    llama: Any,
    prompt: str,
    *,
    schema: Mapping[str, Any] | None,
    think_tokens: int,
    max_tokens: int,
    temperature: float,
    seed: int | None,
    stops: Sequence[str],
    timeout_s: float,
    on_text: Callable[[str], None] | None,
    timeout_error: Callable[[str], Exception],
) -> TwoPhaseAnswer:
    """Run the think phase then the (grammar-constrained) answer phase on ``llama`` (a
    ``llama_cpp.Llama``) for the rendered chat ``prompt``; raises ``timeout_error(message)`` past
    ``timeout_s`` seconds in either phase."""
    from llama_cpp import LlamaGrammar

    t0 = time.perf_counter()

    def check_time() -> None:
        if time.perf_counter() - t0 > timeout_s:
            raise timeout_error(
                f"the model did not finish within {timeout_s:g} s (raise --llm-timeout or "
                "lower the think budget)"
            )

    if not prompt.rstrip().endswith("<think>"):
        prompt += THINK_OPEN
    thought: list[str] = []
    n_thought, finish = 0, None
    stream = llama.create_completion(
        prompt,
        max_tokens=think_tokens,
        temperature=temperature,
        seed=seed,
        stop=["</think>", *stops],
        stream=True,
    )
    try:
        for chunk in stream:
            choice = chunk["choices"][0]
            if choice.get("text"):
                thought.append(choice["text"])
                n_thought += 1
            finish = choice.get("finish_reason") or finish
            check_time()
    finally:
        getattr(stream, "close", lambda: None)()
    think_text = "".join(thought)
    think_finished = finish == "stop"

    prompt2 = prompt + think_text + ("" if think_text.endswith("\n") else "\n") + THINK_CLOSE
    room = llama.n_ctx() - len(llama.tokenize(prompt2.encode("utf-8"), add_bos=False, special=True)) - 1
    grammar = (
        LlamaGrammar.from_json_schema(json.dumps(dict(schema)), verbose=False) if schema is not None else None
    )
    answer: list[str] = []
    n_answer, finish, first = 0, None, None
    stream = llama.create_completion(
        prompt2,
        grammar=grammar,
        max_tokens=max(1, min(max_tokens, room)),
        temperature=temperature,
        seed=seed,
        stop=list(stops),
        stream=True,
    )
    try:
        for chunk in stream:
            choice = chunk["choices"][0]
            piece = choice.get("text") or ""
            if piece:
                if first is None:
                    first = time.perf_counter() - t0
                answer.append(piece)
                n_answer += 1
                if on_text is not None:
                    on_text(piece)
            finish = choice.get("finish_reason") or finish
            check_time()
    finally:
        getattr(stream, "close", lambda: None)()
    return TwoPhaseAnswer(think_text, "".join(answer), n_thought, n_answer, think_finished, finish, first)
