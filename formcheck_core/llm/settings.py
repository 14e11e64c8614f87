"""LLM settings: one frozen :class:`LLMConfig`, filled from options > environment > config file.

Environment variables (all optional): ``FORMCHECK_LLM_MODEL`` (path, ``test``, ``recommended`` or
``hf:owner/repo/file.gguf``), ``FORMCHECK_LLM_THREADS``, ``FORMCHECK_LLM_CTX``,
``FORMCHECK_LLM_MAX_TOKENS``, ``FORMCHECK_LLM_TEMPERATURE``, ``FORMCHECK_LLM_SEED``,
``FORMCHECK_LLM_TIMEOUT_S``. The config file is TOML, ``$FORMCHECK_CONFIG`` or
``~/.config/formcheck/config.toml``, with an ``[llm]`` table using the field names below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..config import config_file, config_table
from ..errors import FormcheckError
from ..validate import check_llm_numbers, check_llm_threads


def default_threads() -> int:
    """Laptop default: half the logical CPUs (about the physical cores), 1 to 8.

    On a busy 2-core machine this is 1, which degrades far more gracefully than 2 when another
    process competes for the CPU (measured here: 2 threads slowed 3-10x under load).
    """
    return max(1, min(8, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class LLMConfig:
    """How the in-process model is loaded and sampled.

    ``model``: path to a ``.gguf``, ``"test"`` (the tiny provisioned test model), ``"recommended"``
    (Qwen3.5-9B Q4_K_M in ``models/``, downloaded if allowed) or ``"hf:owner/repo/file.gguf"``;
    None = ``$FORMCHECK_LLM_MODEL``, then the config file, then ``"recommended"``.
    ``n_ctx``: context window in tokens. ``max_tokens``: generation limit per answer.
    ``timeout_s``: wall-clock limit for one answer (checked while generating; the prompt
    evaluation itself cannot be interrupted). ``thinking``: let Qwen3/3.5 think first (off by
    default: slower, and the thoughts are stripped anyway). ``system_prompt``: replaces the
    built-in coaching prompt. ``download``: allow a Hugging Face download for ``hf:`` /
    ``recommended`` models.
    """

    model: str | None = None
    n_threads: int = 0
    n_ctx: int = 4096
    n_batch: int = 256
    max_tokens: int = 700
    temperature: float = 0.2
    seed: int = 0
    timeout_s: float = 300.0
    thinking: bool = False
    system_prompt: str | None = None
    download: bool = True
    max_cues: int = 5
    min_cues: int = 3

    def __post_init__(self) -> None:
        if self.n_threads <= 0:
            object.__setattr__(self, "n_threads", default_threads())
        else:  # the CLI's ranges (validate.py), named by this class's fields; NaN refused too
            check_llm_threads(self.n_threads, option="n_threads")
        check_llm_numbers(self.n_ctx, self.max_tokens, self.temperature, self.timeout_s, names=_NUMBER_FIELDS)
        if not 1 <= self.min_cues <= self.max_cues:
            raise FormcheckError("LLM cue counts need 1 <= min_cues <= max_cues.")

    def generation(self) -> dict[str, Any]:
        """The per-answer settings :meth:`~formcheck_core.llm.engine.Engine.chat` takes."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "timeout_s": self.timeout_s,
        }


#: LLMConfig's numbers that :func:`~formcheck_core.validate.check_llm_numbers` checks, in its order.
_NUMBER_FIELDS = ("n_ctx", "max_tokens", "temperature", "timeout_s")

_ENV: dict[str, tuple[str, type]] = {
    "model": ("FORMCHECK_LLM_MODEL", str),
    "n_threads": ("FORMCHECK_LLM_THREADS", int),
    "n_ctx": ("FORMCHECK_LLM_CTX", int),
    "max_tokens": ("FORMCHECK_LLM_MAX_TOKENS", int),
    "temperature": ("FORMCHECK_LLM_TEMPERATURE", float),
    "seed": ("FORMCHECK_LLM_SEED", int),
    "timeout_s": ("FORMCHECK_LLM_TIMEOUT_S", float),
}


def _file_values(path: Path) -> dict[str, object]:
    table = config_table("llm", path)
    known = {f.name for f in fields(LLMConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise FormcheckError(f"Config file {path}: unknown [llm] keys {unknown}; known: {sorted(known)}.")
    return table


def _env_values() -> dict[str, object]:
    values: dict[str, object] = {}
    for name, (var, kind) in _ENV.items():
        raw = os.environ.get(var)
        if raw in (None, ""):
            continue
        try:
            values[name] = kind(raw)
        except ValueError:
            raise FormcheckError(f"${var}={raw!r} is not a valid {kind.__name__}.") from None
    # the CLI's checks, each error naming the variable the number came from
    if "n_threads" in values:
        check_llm_threads(values["n_threads"], option=f"${_ENV['n_threads'][0]}")  # type: ignore[arg-type]
    ctx, max_tokens, temperature, timeout_s = (values.get(name) for name in _NUMBER_FIELDS)
    check_llm_numbers(
        ctx,  # type: ignore[arg-type]
        max_tokens,  # type: ignore[arg-type]
        temperature,  # type: ignore[arg-type]
        timeout_s,  # type: ignore[arg-type]
        names=tuple(f"${_ENV[name][0]}" for name in _NUMBER_FIELDS),  # type: ignore[arg-type]
    )
    return values


def load_config(**options: object) -> LLMConfig:
    """An :class:`LLMConfig` from ``options`` (None values ignored) > environment > config file."""
    values = _file_values(config_file())
    values.update(_env_values())
    values.update({k: v for k, v in options.items() if v is not None})
    try:
        return LLMConfig(**values)  # type: ignore[arg-type]
    except TypeError as exc:
        raise FormcheckError(f"Invalid LLM setting: {exc}") from None


def with_options(config: LLMConfig, **options: Any) -> LLMConfig:
    """``config`` with the non-None ``options`` replaced."""
    return replace(config, **{k: v for k, v in options.items() if v is not None})
