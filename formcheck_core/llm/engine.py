"""The in-process llama.cpp engine: load a GGUF once per process, format chats, stream answers.

* One :class:`Engine` per (file, size, mtime, context, threads, batch, thinking): a notebook that
  analyses ten clips loads the model once (:func:`get_engine`).
* Chat formatting: the GGUF's own Jinja template, rendered with ``enable_thinking`` (off by
  default), or a built-in ChatML template when the file has none (Qwen files get the empty
  ``<think></think>`` block that turns thinking off). ``<think>…</think>`` is stripped from output.
  The handler is installed as ``llama.chat_handler``, so plain ``create_chat_completion`` calls on
  :attr:`Engine.llama` are formatted the same way.
* Prefix cache: the llama.cpp state after the system prompt is saved once per system prompt and
  restored when another prompt (or a Qwen3.5 hybrid model, whose recurrent state cannot be
  trimmed) would otherwise force re-evaluating it.
* Structured output: ``response_format={"type": "json_object", "schema": …}`` (llama.cpp grammar).

Nothing here imports llama_cpp at module import time.

Long because the model, its chat handler and its prefix cache share one ``Llama`` object's
lifetime and locking; they are kept together rather than split across modules.
"""

from __future__ import annotations

import ctypes
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormcheckError, ModelInvalidError
from .settings import LLMConfig
from .thinking import THINK_BUDGET_TOKENS, think_then_answer

#: Generic ChatML (SmolLM2, Qwen2 and most small chat models use it).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
#: Qwen3 / Qwen3.5 ChatML with the thinking switch (used when the GGUF carries no template).
QWEN_CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}"
    "{% else %}{{ '<think>\\n' }}{% endif %}{% endif %}"
)
QWEN_ARCHS = ("qwen2", "qwen3", "qwen3moe", "qwen35", "qwen35moe", "qwen3next")
EMPTY_THINK = "<think>\n\n</think>\n\n"
CHATML_STOPS = ("<|im_end|>", "<|endoftext|>")
_SENTINEL = "\u2063FORMCHECK-USER-CONTENT\u2063"
#: Prefix states kept per engine (one per distinct system prompt).
MAX_PREFIX_STATES = 4


class LLMUnavailableError(FormcheckError):
    """llama-cpp-python is not installed."""

    exit_code = 3


class LLMTimeoutError(FormcheckError):
    """The model did not finish within the configured time."""


def import_llama_cpp():
    """``llama_cpp``, or :class:`LLMUnavailableError` with the install command."""
    try:
        import llama_cpp
    except ImportError:
        raise LLMUnavailableError(
            "llama-cpp-python is not installed: `pip install formcheck[llm]` (compiles llama.cpp, ~5 min)."
        ) from None
    return llama_cpp


# --- <think> stripping -------------------------------------------------------------------------


def strip_think(text: str) -> str:
    """Remove ``<think>…</think>`` blocks (and an unterminated trailing ``<think>…``) from ``text``."""
    out = ThinkFilter()
    return (out.feed(text) + out.flush()).strip()


class ThinkFilter:
    """Streaming version of :func:`strip_think`: :meth:`feed` pieces, get the visible text back."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._buf = ""
        self._inside = False

    def feed(self, piece: str) -> str:
        self._buf += piece
        visible = []
        while self._buf:
            tag = self.CLOSE if self._inside else self.OPEN
            i = self._buf.find(tag)
            if i >= 0:
                if not self._inside:
                    visible.append(self._buf[:i])
                self._buf = self._buf[i + len(tag) :]
                self._inside = not self._inside
                continue
            # keep a possible partial tag at the end
            keep = next(
                (
                    k
                    for k in range(min(len(tag) - 1, len(self._buf)), 0, -1)
                    if tag.startswith(self._buf[-k:])
                ),
                0,
            )
            if not self._inside:
                visible.append(self._buf[: len(self._buf) - keep])
            self._buf = self._buf[len(self._buf) - keep :]
            break
        return "".join(visible)

    def flush(self) -> str:
        rest, self._buf = ("" if self._inside else self._buf), ""
        return rest


# --- chat formatting ---------------------------------------------------------------------------


class ChatTemplate:
    """Render messages with a Jinja chat template, thinking on or off (a llama-cpp ``ChatFormatter``)."""

    def __init__(
        self,
        template: str,
        *,
        eos_token: str,
        bos_token: str,
        qwen: bool,
        thinking: bool,
        stop_token_ids: Sequence[int] = (),
        source: str = "gguf",
    ) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.template = template
        self.qwen = qwen
        self.thinking = thinking
        self.source = source
        self._jinja = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
        stops = [eos_token] if eos_token else []
        if "<|im_start|>" in template or "<|im_end|>" in template:
            stops += [s for s in CHATML_STOPS if s not in stops]
        self.stops = stops
        self.stop_token_ids = frozenset(i for i in stop_token_ids if i >= 0)

    def render(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The prompt text for ``messages`` followed by the assistant's turn."""
        prompt = self._jinja(messages=list(messages), enable_thinking=self.thinking).prompt  # type: ignore[arg-type]
        if self.qwen and not self.thinking:
            # templates that ignore enable_thinking (or open a think block anyway): close it empty
            if prompt.endswith("<think>\n"):
                prompt += "\n</think>\n\n"
            elif not prompt.rstrip().endswith("</think>"):
                prompt += EMPTY_THINK
        return prompt

    def __call__(self, *, messages, **_kwargs):  # the llama-cpp ChatFormatter protocol
        from llama_cpp import llama as llama_mod
        from llama_cpp.llama_chat_format import ChatFormatterResponse

        criteria = None
        if self.stop_token_ids:
            ids = self.stop_token_ids
            criteria = llama_mod.StoppingCriteriaList([lambda tokens, _logits: int(tokens[-1]) in ids])
        return ChatFormatterResponse(
            prompt=self.render(messages),
            stop=list(self.stops),
            stopping_criteria=criteria,
            added_special=True,
        )


# --- engine ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """What the loaded GGUF is: architecture, size, template source and whether JSON output works."""

    path: str
    name: str
    architecture: str
    n_params: int
    size_bytes: int
    tokenizer: str
    template_source: str
    #: The vocabulary can spell JSON and the model has an end-of-sequence token, so a JSON-schema
    #: grammar can run (llama.cpp aborts the process otherwise: checked before every grammar use).
    can_json: bool
    is_test_model: bool


@dataclass(frozen=True)
class ChatResult:
    """One answer: visible text (think-stripped), raw text, and timings/token counts."""

    text: str
    raw_text: str
    finish_reason: str | None
    prompt_tokens: int
    #: Prompt tokens actually evaluated (the rest came from the prefix cache).
    prompt_tokens_evaluated: int
    completion_tokens: int
    time_to_first_token_s: float
    total_s: float
    prompt_eval_s: float
    generation_s: float
    schema_constrained: bool
    #: Tokens spent thinking before the answer (``--llm-thinking``; 0 without it).
    thought_tokens: int = 0

    @property
    def prompt_tokens_per_s(self) -> float:
        return self.prompt_tokens_evaluated / self.prompt_eval_s if self.prompt_eval_s > 0 else float("nan")

    @property
    def generation_tokens_per_s(self) -> float:
        return self.completion_tokens / self.generation_s if self.generation_s > 0 else float("nan")


@dataclass
class EngineStats:
    """Counters over the engine's life (for tests, benchmarks and the report)."""

    calls: int = 0
    prefix_evals: int = 0
    prefix_restores: int = 0
    prefix_kv_reuse: int = 0
    history: list[ChatResult] = field(default_factory=list)


@dataclass
class _PrefixState:
    n_tokens: int
    input_ids: Any
    data: bytes


class Engine:
    """A loaded model plus its chat template, prefix cache and a lock (one answer at a time)."""

    def __init__(
        self, path: Path, *, n_ctx: int, n_threads: int, n_batch: int, thinking: bool, seed: int = 0
    ):
        llama_cpp = import_llama_cpp()
        from ..models.llm_model import check_gguf, is_test_model

        path = Path(path)
        #: :data:`~formcheck_core.models.llm_model.VERIFIED` or ``UNVERIFIED`` (a user's own GGUF).
        self.integrity = check_gguf(path)
        t0 = time.perf_counter()
        try:
            self.llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=n_batch,
                seed=seed,
                verbose=False,
            )
        except ValueError as exc:  # llama.cpp: "Failed to load model from file"
            raise ModelInvalidError(
                f"llama.cpp could not load {path}: the GGUF is corrupt, truncated or of an architecture "
                f"this llama-cpp-python does not know ({str(exc).splitlines()[0][:120]})."
            ) from None
        self.load_s = time.perf_counter() - t0
        self.path = path
        self.lock = threading.RLock()
        self.stats = EngineStats()
        self._prefix_states: OrderedDict[tuple[int, ...], _PrefixState] = OrderedDict()
        meta = dict(self.llama.metadata)
        arch = meta.get("general.architecture", "unknown")
        qwen = arch in QWEN_ARCHS or "qwen" in meta.get("general.name", "").lower()
        eos_id, bos_id = self.llama.token_eos(), self.llama.token_bos()
        model = self.llama._model
        eos = model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = model.token_get_text(bos_id) if bos_id != -1 else ""
        template = meta.get("tokenizer.chat_template")
        source = "gguf"
        if not template:
            template, source = (
                (QWEN_CHATML_TEMPLATE, "builtin-qwen-chatml") if qwen else (CHATML_TEMPLATE, "builtin-chatml")
            )
        stop_ids = [eos_id]
        im_end = self.llama.tokenize(b"<|im_end|>", add_bos=False, special=True)
        if len(im_end) == 1 and "<|im_end|>" in template:
            stop_ids.append(im_end[0])
        self.template = ChatTemplate(
            template,
            eos_token=eos,
            bos_token=bos,
            qwen=qwen,
            thinking=thinking,
            stop_token_ids=stop_ids,
            source=source,
        )
        n_params = int(llama_cpp.llama_model_n_params(self.llama.model))
        tokenizer = meta.get("tokenizer.ggml.model", "")
        self.info = ModelInfo(
            path=str(path),
            name=meta.get("general.name") or path.stem,
            architecture=arch,
            n_params=n_params,
            size_bytes=path.stat().st_size,
            tokenizer=tokenizer,
            template_source=source,
            can_json=eos_id != -1 and self._vocab_spells_json(),
            is_test_model=is_test_model(path, n_params, tokenizer),
        )
        self._hybrid = bool(
            getattr(self.llama, "_is_recurrent", False) or getattr(self.llama, "_is_hybrid", False)
        )
        self._install_chat_handler()

    # -- setup helpers

    def _vocab_spells_json(self) -> bool:
        sample = '{"cues": [{"a": -1.5, "b": "Keep the bar close"}], "c": null, "d": true}\n'
        try:
            tokens = self.llama.tokenize(sample.encode(), add_bos=False, special=False)
            return self.llama.detokenize(tokens).decode("utf-8", "replace") == sample
        except Exception:
            return False

    def _install_chat_handler(self) -> None:
        from llama_cpp.llama_chat_format import chat_formatter_to_chat_completion_handler

        inner = chat_formatter_to_chat_completion_handler(self.template)
        engine = self

        def handler(*, llama, messages, **kwargs):
            if llama is engine.llama:
                engine._prepare_prefix(messages)
            rf = kwargs.get("response_format")
            if rf is not None and not engine.info.can_json:
                kwargs["response_format"] = None  # a grammar would abort the process on this vocabulary
            return inner(llama=llama, messages=messages, **kwargs)

        self.llama.chat_handler = handler

    # -- prefix cache

    def _tokenize(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _prepare_prefix(self, messages: Sequence[Mapping[str, str]]) -> None:
        """Make the llama.cpp state hold exactly the system-prompt prefix when that saves work."""
        if len(messages) < 2 or messages[0].get("role") != "system":
            return
        probe = self.template.render([messages[0], {"role": "user", "content": _SENTINEL}])
        cut = probe.find(_SENTINEL)
        if cut <= 0:
            return
        prefix = self._tokenize(probe[:cut])
        full = self._tokenize(self.template.render(messages))
        n = 0
        for a, b in zip(prefix, full, strict=False):
            if a != b:
                break
            n += 1
        if n < 4 or n >= len(full):
            return
        key = tuple(full[:n])
        current = self.llama.input_ids[: self.llama.n_tokens]
        holds_prefix = len(current) >= n and tuple(int(t) for t in current[:n]) == key
        state = self._prefix_states.get(key)
        if holds_prefix and (not self._hybrid or len(current) == n):
            self.stats.prefix_kv_reuse += 1  # llama.cpp's own prefix matching reuses the KV cache
            if state is None and len(current) == n:
                self._remember(key)
            return
        if state is None:
            self.llama.reset()
            self.llama.eval(list(key))
            self._remember(key)
            self.stats.prefix_evals += 1
        else:
            self._restore(state)
            self._prefix_states.move_to_end(key)
            self.stats.prefix_restores += 1

    def _remember(self, key: tuple[int, ...]) -> None:
        llama_cpp = import_llama_cpp()
        ctx = self.llama.ctx
        size = int(llama_cpp.llama_state_get_size(ctx))
        buf = (ctypes.c_uint8 * size)()
        used = int(llama_cpp.llama_state_get_data(ctx, buf, size))
        self._prefix_states[key] = _PrefixState(
            self.llama.n_tokens,
            self.llama.input_ids[: self.llama.n_tokens].copy(),
            bytes(memoryview(buf)[:used]),
        )
        while len(self._prefix_states) > MAX_PREFIX_STATES:
            self._prefix_states.popitem(last=False)

    def _restore(self, state: _PrefixState) -> None:
        llama_cpp = import_llama_cpp()
        buf = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        if int(llama_cpp.llama_state_set_data(self.llama.ctx, buf, len(state.data))) != len(state.data):
            self.llama.reset()
            return
        self.llama.input_ids[: state.n_tokens] = state.input_ids
        self.llama.n_tokens = state.n_tokens
        self.llama._requires_eval = True  # logits are not those of a live decode

    # -- answering

    def count_tokens(self, messages: Sequence[Mapping[str, str]]) -> int:
        with self.lock:
            self._check_open()
            return len(self._tokenize(self.template.render(messages)))

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 700,
        temperature: float = 0.2,
        seed: int | None = 0,
        timeout_s: float = 300.0,
        on_text: Callable[[str], None] | None = None,
        think_tokens: int | None = None,
    ) -> ChatResult:
        """Answer ``messages``, streaming visible (think-stripped) text pieces to ``on_text``.

        With ``schema`` (and a vocabulary that can spell JSON) the output is constrained to it.
        ``think_tokens`` > 0 (default: :data:`~formcheck_core.llm.thinking.THINK_BUDGET_TOKENS`
        for a Qwen engine loaded with thinking on, else 0) thinks first without the grammar, then
        answers under it (:func:`~formcheck_core.llm.thinking.think_then_answer`).
        Raises :class:`LLMTimeoutError` when generation runs past ``timeout_s`` seconds, and
        :class:`FormcheckError` when the prompt does not fit the context window.
        """
        llama_cpp = import_llama_cpp()
        with self.lock:
            self._check_open()
            prompt_tokens = self.count_tokens(messages)
            if prompt_tokens + 16 > self.llama.n_ctx():
                raise FormcheckError(
                    f"The prompt has {prompt_tokens} tokens but the LLM context is {self.llama.n_ctx()}: "
                    "raise --llm-ctx or shorten the system prompt."
                )
            max_tokens = max(1, min(max_tokens, self.llama.n_ctx() - prompt_tokens))
            constrained = schema is not None and self.info.can_json
            response_format = {"type": "json_object", "schema": dict(schema or {})} if constrained else None
            if think_tokens is None:
                think_tokens = THINK_BUDGET_TOKENS if self.template.thinking and self.template.qwen else 0
            if think_tokens > 0:
                return self._think_then_answer(
                    messages,
                    prompt_tokens,
                    response_format,
                    think_tokens,
                    max_tokens,
                    temperature,
                    seed,
                    timeout_s,
                    on_text,
                )
            llama_cpp.llama_perf_context_reset(self.llama.ctx)
            t0 = time.perf_counter()
            stream = self.llama.create_chat_completion(
                messages=[dict(m) for m in messages],
                response_format=response_format,
                stream=True,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
            )
            raw: list[str] = []
            visible = ThinkFilter()
            first: float | None = None
            finish = None
            try:
                for chunk in stream:
                    choice = chunk["choices"][0]
                    piece = choice.get("delta", {}).get("content") or ""
                    if piece:
                        if first is None:
                            first = time.perf_counter() - t0
                        raw.append(piece)
                        shown = visible.feed(piece)
                        if shown and on_text is not None:
                            on_text(shown)
                    finish = choice.get("finish_reason") or finish
                    if time.perf_counter() - t0 > timeout_s:
                        raise LLMTimeoutError(
                            f"the model did not finish within {timeout_s:g} s (raise --llm-timeout or use a smaller model)"
                        )
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            total = time.perf_counter() - t0
            perf = llama_cpp.llama_perf_context(self.llama.ctx)
            raw_text = "".join(raw)
            result = ChatResult(
                text=strip_think(raw_text),
                raw_text=raw_text,
                finish_reason=finish,
                prompt_tokens=prompt_tokens,
                prompt_tokens_evaluated=int(perf.n_p_eval),
                completion_tokens=int(perf.n_eval),
                time_to_first_token_s=first if first is not None else total,
                total_s=total,
                prompt_eval_s=perf.t_p_eval_ms / 1000.0,
                generation_s=perf.t_eval_ms / 1000.0,
                schema_constrained=constrained,
            )
            self.stats.calls += 1
            self.stats.history.append(result)
            del self.stats.history[:-50]
            return result

    def _think_then_answer(
        self,
        messages,
        prompt_tokens,
        response_format,
        think_tokens,
        max_tokens,
        temperature,
        seed,
        timeout_s,
        on_text,
    ) -> ChatResult:
        llama_cpp = import_llama_cpp()
        self._prepare_prefix(messages)
        llama_cpp.llama_perf_context_reset(self.llama.ctx)
        t0 = time.perf_counter()
        two = think_then_answer(
            self.llama,
            self.template.render(messages),
            schema=response_format["schema"] if response_format else None,
            think_tokens=think_tokens,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            stops=self.template.stops,
            timeout_s=timeout_s,
            on_text=on_text,
            timeout_error=LLMTimeoutError,
        )
        total = time.perf_counter() - t0
        perf = llama_cpp.llama_perf_context(self.llama.ctx)
        result = ChatResult(
            text=two.answer.strip(),
            raw_text=f"<think>\n{two.thought}</think>\n\n{two.answer}",
            finish_reason=two.finish_reason,
            prompt_tokens=prompt_tokens,
            prompt_tokens_evaluated=int(perf.n_p_eval),
            completion_tokens=int(perf.n_eval),
            time_to_first_token_s=two.first_answer_token_s or total,
            total_s=total,
            prompt_eval_s=perf.t_p_eval_ms / 1000.0,
            generation_s=perf.t_eval_ms / 1000.0,
            schema_constrained=response_format is not None,
            thought_tokens=two.thought_tokens,
        )
        self.stats.calls += 1
        self.stats.history.append(result)
        del self.stats.history[:-50]
        return result

    closed = False

    def _check_open(self) -> None:
        if self.closed:  # using a freed llama.cpp model would crash the process (or kernel)
            raise FormcheckError(
                f"This LLM engine ({self.path.name}) was closed (unload_all); get a new one with get_engine()."
            )

    def close(self) -> None:
        """Free the model. Later calls on this engine raise a clear error instead of crashing."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self._prefix_states.clear()
            self.llama.close()


# --- one engine per process and settings --------------------------------------------------------

_ENGINES: dict[tuple, Engine] = {}
_LOAD_LOCK = threading.Lock()


def engine_for(config: LLMConfig) -> Engine:
    """The engine for ``config``: its model resolved (and downloaded only if ``config.download``
    allows) and loaded with its settings through :func:`get_engine`."""
    from ..models.llm_model import resolve_llm_model

    path = resolve_llm_model(config.model, download=config.download)
    return get_engine(
        path,
        n_ctx=config.n_ctx,
        n_threads=config.n_threads,
        n_batch=config.n_batch,
        thinking=config.thinking,
        seed=config.seed,
    )


def get_engine(
    path: str | Path,
    *,
    n_ctx: int = 4096,
    n_threads: int = 1,
    n_batch: int = 256,
    thinking: bool = False,
    seed: int = 0,
) -> Engine:
    """The engine for ``path`` with these settings, loading it on first use and reusing it after.

    The cache key includes the file's size and modification time, so replacing the file reloads it.
    An engine with other settings (or an older file) is dropped from the registry but never closed
    here: a caller may still hold it, and it is freed when the last holder lets go of it.
    """
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        from ..errors import ModelMissingError

        raise ModelMissingError(f"LLM file {p} does not exist.") from None
    key = (str(p), st.st_size, st.st_mtime_ns, n_ctx, n_threads, n_batch, thinking)
    with _LOAD_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            for old in [
                k for k in _ENGINES if k[0] == key[0]
            ]:  # a changed file or settings: forget the old one
                del _ENGINES[old]  # (closing it would crash a holder still using it)
            engine = Engine(
                p, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch, thinking=thinking, seed=seed
            )
            _ENGINES[key] = engine
        return engine


def loaded_engines() -> list[Engine]:
    """Engines currently held by this process."""
    return list(_ENGINES.values())


def unload_all() -> None:
    """Free every loaded model (e.g. to reclaim memory in a long notebook session). An engine a
    caller still holds raises a clear error if used afterwards (never a crash)."""
    with _LOAD_LOCK:
        while _ENGINES:
            _ENGINES.popitem()[1].close()


def dumps_compact(value: Any) -> str:
    """JSON for prompts: compact separators, UTF-8 kept."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
