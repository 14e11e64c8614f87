"""The LLM options shared by ``formcheck analyze`` and ``formcheck compare``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FormcheckError
from .settings import LLMConfig, load_config


def add_llm_arguments(parser: argparse.ArgumentParser, *, allow_disable: bool = True) -> None:
    """Add ``--llm-model``, ``--llm-threads``, … (and ``--no-llm``) to ``parser``."""
    g = parser.add_argument_group("coaching LLM (in process, llama.cpp)")
    if allow_disable:
        g.add_argument("--no-llm", action="store_true", help="rule-based cues only; do not load a model")
    g.add_argument(
        "--llm-model",
        metavar="SPEC",
        help="GGUF path, 'test' (tiny test model, not advice), 'recommended' (Qwen3.5-9B Q4_K_M) or "
        "hf:owner/repo/file.gguf (default: $FORMCHECK_LLM_MODEL, config file, recommended)",
    )
    g.add_argument(
        "--llm-threads", type=int, metavar="N", help="CPU threads (default: half the CPUs, at least 1)"
    )
    g.add_argument("--llm-ctx", type=int, metavar="TOKENS", help="context size (default 4096)")
    g.add_argument("--llm-max-tokens", type=int, metavar="N", help="answer length limit (default 700)")
    g.add_argument("--llm-temperature", type=float, metavar="T", help="sampling temperature (default 0.2)")
    g.add_argument("--llm-seed", type=int, metavar="N", help="sampling seed (default 0)")
    g.add_argument(
        "--llm-timeout",
        type=float,
        metavar="SECONDS",
        help="give up and use rule cues after this (default 300)",
    )
    g.add_argument(
        "--llm-thinking",
        action="store_true",
        default=None,
        help="let Qwen3/3.5 think (up to 512 tokens, no grammar) before the JSON answer "
        "(slower; thoughts are never shown)",
    )
    g.add_argument(
        "--llm-system-prompt", type=Path, metavar="FILE", help="replace the built-in coaching system prompt"
    )
    g.add_argument("--llm-no-download", action="store_true", help="never download a model from Hugging Face")


def llm_config_from_args(args: argparse.Namespace) -> LLMConfig | None:
    """The :class:`LLMConfig` the options ask for (options > env > config file); None with ``--no-llm``."""
    if getattr(args, "no_llm", False):
        return None
    prompt = None
    if getattr(args, "llm_system_prompt", None):
        try:
            prompt = args.llm_system_prompt.read_text()
        except OSError as exc:
            raise FormcheckError(
                f"Cannot read the system prompt file {args.llm_system_prompt} ({exc.strerror})."
            ) from None
    return load_config(
        model=args.llm_model,
        n_threads=args.llm_threads,
        n_ctx=args.llm_ctx,
        max_tokens=args.llm_max_tokens,
        temperature=args.llm_temperature,
        seed=args.llm_seed,
        timeout_s=args.llm_timeout,
        thinking=args.llm_thinking,
        system_prompt=prompt,
        download=False if getattr(args, "llm_no_download", False) else None,
    )
