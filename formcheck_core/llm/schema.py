"""JSON schemas the model's answers are constrained to (llama.cpp grammar), and their validators.

The schemas use only what llama-cpp-python 0.3.36's schema-to-grammar converter supports: enums
(it ignores ``minimum``/``maximum``), ``maxLength`` (bounds every string, so an answer always
ends) and ``minItems``/``maxItems``. The validators re-check everything, because a model without
a JSON-capable vocabulary runs unconstrained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CUE_MAX_CHARS = 140
WHY_MAX_CHARS = 220
REASON_MAX_CHARS = 160


def cue_schema(
    metrics: Sequence[str], rule_ids: Sequence[str], reps: Sequence[int], max_cues: int = 5
) -> dict:
    """Schema of a coaching answer: ``{"cues": [{priority, cue, why, metric, rep, rule_id}, …]}``.

    ``metric`` must be one of the measured ``metrics``; ``rep`` one of ``reps`` or null (whole set);
    ``rule_id`` one of ``rule_ids`` or null.
    """
    item = {
        "type": "object",
        "properties": {
            "priority": {"enum": list(range(1, max_cues + 1))},
            "cue": {"type": "string", "minLength": 3, "maxLength": CUE_MAX_CHARS},
            "why": {"type": "string", "minLength": 3, "maxLength": WHY_MAX_CHARS},
            "metric": {"enum": list(metrics)},
            "rep": {"enum": [*reps, None]},
            "rule_id": {"enum": [*rule_ids, None]},
        },
        "required": ["priority", "cue", "why", "metric", "rep", "rule_id"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"cues": {"type": "array", "items": item, "minItems": 1, "maxItems": max_cues}},
        "required": ["cues"],
        "additionalProperties": False,
    }


def flag_schema(vocabulary: Sequence[str], reps: Sequence[int], max_flags: int | None = None) -> dict:
    """Schema of an LLM-only flagging answer: ``{"flags": [{flag, rep, reason}, …]}`` (may be empty).

    At most ``max_flags`` items (default: vocabulary size + number of reps), so that even a model
    that repeats itself finishes well within the token limit."""
    max_flags = max_flags or len(vocabulary) + len(reps)
    item = {
        "type": "object",
        "properties": {
            "flag": {"enum": list(vocabulary)},
            "rep": {"enum": [*reps, None]},
            "reason": {"type": "string", "minLength": 3, "maxLength": REASON_MAX_CHARS},
        },
        "required": ["flag", "rep", "reason"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"flags": {"type": "array", "items": item, "maxItems": max_flags}},
        "required": ["flags"],
        "additionalProperties": False,
    }


def _check_value(value: Any, spec: Mapping[str, Any]) -> str | None:
    """Why ``value`` does not satisfy the (small subset of JSON schema) ``spec``; None if it does."""
    if "enum" in spec:
        # bool is an int in Python: 1 == True must not pass for an integer enum
        ok = any(value == e and type(value) is type(e) for e in spec["enum"]) or (
            isinstance(value, float) and value.is_integer() and int(value) in spec["enum"]
        )
        return None if ok else f"{value!r} is not one of {spec['enum']}"
    if spec.get("type") == "string":
        if not isinstance(value, str):
            return f"{value!r} is not a string"
        text = value.strip()
        if len(text) < spec.get("minLength", 0):
            return "empty text"
        if len(value) > spec.get("maxLength", 10**9):
            return f"text longer than {spec['maxLength']} characters"
    return None


def validate_items(
    answer: Any, key: str, schema: Mapping[str, Any]
) -> tuple[list[dict], list[tuple[Any, str]]]:
    """Split ``answer[key]`` into items valid against ``schema``'s item schema and (item, reason) rejects.

    Raises ``ValueError`` when the answer is not an object with a ``key`` list at all.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get(key), list):
        raise ValueError(f'the answer is not a JSON object with a "{key}" list')
    item_schema = schema["properties"][key]["items"]
    props: Mapping[str, Mapping[str, Any]] = item_schema["properties"]
    good, bad = [], []
    for item in answer[key]:
        if not isinstance(item, dict):
            bad.append((item, "not an object"))
            continue
        missing = [p for p in item_schema["required"] if p not in item]
        if missing:
            bad.append((item, f"missing {', '.join(missing)}"))
            continue
        errors = [
            f"{p}: {e}" for p, spec in props.items() if p in item and (e := _check_value(item[p], spec))
        ]
        if errors:
            bad.append((item, "; ".join(errors)))
            continue
        clean = {p: item[p] for p in props if p in item}
        for p, v in clean.items():
            if isinstance(v, float) and v.is_integer() and "enum" in props[p]:
                clean[p] = int(v)
            elif isinstance(v, str):
                clean[p] = v.strip()
        good.append(clean)
    return good, bad
