"""Where a cue came from, in words: the model's name and quantisation, or the rule and why.

The quantisation is read from the GGUF's ``general.file_type`` (llama.cpp's ``LLAMA_FTYPE_*``
numbers, named through llama-cpp-python's own constants) or, failing that, from a ``Q4_K_M``-style
part of the file name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_FTYPE_PREFIXES = ("LLAMA_FTYPE_MOSTLY_", "LLAMA_FTYPE_ALL_")
_QUANT_IN_NAME = re.compile(r"(?:^|[._-])((?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|F16|F32)(?:$|[._-])", re.IGNORECASE)


def quantization(metadata: Mapping[str, Any], path: str | Path | None = None) -> str | None:
    """ "Q4_K_M", "F16", … from GGUF ``metadata`` (or the file name); None when unknown."""
    raw = metadata.get("general.file_type")
    try:
        code = int(raw) if raw is not None else None
    except (TypeError, ValueError):
        code = None
    if code is not None:
        try:
            import llama_cpp

            names = {getattr(llama_cpp, n): n for n in dir(llama_cpp) if n.startswith(_FTYPE_PREFIXES)}
        except ImportError:
            names = {}
        if code in names:
            return names[code].split("_", 3)[-1]
    m = _QUANT_IN_NAME.search(Path(path).stem) if path else None
    return m.group(1).upper() if m else None


def model_label(name: str | None, quant: str | None, is_test_model: bool = False) -> str:
    """ "LLM Qwen3.5 9B (Q4_K_M)" or "test model SmolLM2 135M Instruct (Q4_1)"."""
    head = "test model" if is_test_model else "LLM"
    return f"{head} {name or 'unknown model'}" + (f" ({quant})" if quant else "")
