"""In-process LLM coaching with llama.cpp (``pip install formcheck[llm]``).

The analysis core never imports this package. Nothing here loads a model at import time;
llama-cpp-python is imported on first use.

- :func:`llm_cues` — 3-5 prioritised, grounding-checked cues (falls back to the rule cues).
- :func:`llm_flags` — LLM-only fault flags from raw metrics (for :mod:`formcheck_core.compare`).
- :func:`print_cues_live` / :func:`show_cues_live` — stream checked cues to a terminal / notebook.
- :class:`LLMConfig`, :func:`load_config` — settings (options > environment > config file).
- :func:`get_engine` — the loaded model, once per process.
"""

from __future__ import annotations

from .coaching import TEST_MODEL_LABEL, CoachingResult, RejectedCue, llm_cues
from .engine import Engine, get_engine, strip_think, unload_all
from .flagging import FlaggingResult, LLMFlag, llm_flags
from .live import print_cues_live, show_cues_live
from .settings import LLMConfig, load_config

__all__ = [
    "TEST_MODEL_LABEL",
    "CoachingResult",
    "Engine",
    "FlaggingResult",
    "LLMConfig",
    "LLMFlag",
    "RejectedCue",
    "get_engine",
    "llm_cues",
    "llm_flags",
    "load_config",
    "print_cues_live",
    "show_cues_live",
    "strip_think",
    "unload_all",
]
