"""The LLM options shared by ``formcheck analyze`` and ``formcheck compare``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FormcheckError, ModelMissingError
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
        "hf:owner/repo/file.gguf; a model named here that is not there is an error before any clip is "
        "read (default: $FORMCHECK_LLM_MODEL, config file, recommended; missing: the rule cues)",
    )
    g.add_argument(
        "--llm-threads",
        type=int,
        metavar="N",
        help="CPU threads, from 1 to the CPUs of this machine (default: half the CPUs)",
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
    """The :class:`LLMConfig` the options ask for (options > env > config file); None with ``--no-llm``.
    Raises a one-line :class:`FormcheckError` for a bad ``--llm-*`` number or a ``--llm-model`` that
    is not there (see :func:`check_named_model`), before any clip is read."""
    if getattr(args, "no_llm", False):
        return None
    from ..validate import check_llm_numbers, check_llm_threads

    check_llm_threads(args.llm_threads)
    check_llm_numbers(args.llm_ctx, args.llm_max_tokens, args.llm_temperature, args.llm_timeout)
    prompt = None
    if getattr(args, "llm_system_prompt", None):
        try:
            prompt = args.llm_system_prompt.read_text()
        except OSError as exc:
            raise FormcheckError(
                f"Cannot read the system prompt file {args.llm_system_prompt} ({exc.strerror})."
            ) from None
    config = load_config(
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
    check_named_model(args.llm_model, download=config.download)
    return config


def check_named_model(spec: str | None, *, download: bool) -> None:
    """Raise :class:`ModelMissingError` (exit 3) when ``spec``, a model named with ``--llm-model``,
    is not there and will not be downloaded: a user who names a file means it, so a typo is an
    error, not a quiet fall-back to the rule cues. A model that may still be downloaded
    (``recommended``, ``hf:``), the default one (no ``--llm-model``) and a named file that is there
    but corrupt keep falling back to the rule cues with the reason, as the README says."""
    if spec in (None, ""):
        return
    from ..models.llm_model import parse_hf_ref, resolve_llm_model

    if download and (spec == "recommended" or parse_hf_ref(spec) is not None):
        return
    try:
        resolve_llm_model(spec, download=False)
    except ModelMissingError:
        raise
    except FormcheckError:
        return  # there but unusable: the LLM step falls back to the rule cues and says why
