"""``--llm-thinking``: think first without the grammar, then answer under it (two phases).

On the random-weight Qwen3.5 GGUF (the Qwen path: its template opens the think block) and on the
tiny real SmolLM2 (a vocabulary that can spell JSON, so the answer phase runs under the grammar).
Random weights: structure only, never wording.
"""

from __future__ import annotations

import json

import pytest

from formcheck_core.llm.engine import get_engine
from formcheck_core.llm.schema import flag_schema

pytestmark = pytest.mark.slow

MESSAGES = [
    {"role": "system", "content": "You judge deadlift form from numbers."},
    {"role": "user", "content": "Torso lean at lift-off 67.3 deg. Which faults? Answer in JSON."},
]
SCHEMA = flag_schema(("excessive_torso_lean", "bar_drift"), [1])


@pytest.fixture(scope="module")
def qwen35(shared):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed")
    path = shared / "models" / "qwen35-dense.gguf"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return get_engine(path, n_ctx=1024, n_threads=1, thinking=True)


def test_qwen35_thinks_within_its_budget_then_answers(qwen35):
    shown: list[str] = []
    chat = qwen35.chat(MESSAGES, schema=SCHEMA, max_tokens=24, think_tokens=20, on_text=shown.append, seed=1)
    assert 1 <= chat.thought_tokens <= 20
    thought, _, answer = chat.raw_text.partition("</think>")
    assert thought.startswith("<think>") and "</think>" not in answer
    assert "".join(shown).strip() == chat.text  # only the answer is streamed, never the thought
    assert chat.completion_tokens >= chat.thought_tokens


def test_thinking_off_spends_no_tokens_thinking(shared):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed")
    engine = get_engine(shared / "models" / "qwen35-dense.gguf", n_ctx=1024, n_threads=1, thinking=False)
    chat = engine.chat(MESSAGES, schema=SCHEMA, max_tokens=8, seed=1)
    assert chat.thought_tokens == 0 and "<think>" not in chat.raw_text


def test_answer_phase_runs_under_the_json_grammar():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed")
    from formcheck_core.models.llm_model import install_test_llm

    engine = get_engine(install_test_llm(), n_ctx=2048, n_threads=1)
    assert engine.info.can_json
    chat = engine.chat(MESSAGES, schema=SCHEMA, max_tokens=200, think_tokens=16, seed=1)
    assert 1 <= chat.thought_tokens <= 16 and chat.schema_constrained
    if chat.finish_reason != "length":  # the grammar holds the answer to the schema
        answer = json.loads(chat.text)
        assert isinstance(answer.get("flags"), list)
    else:
        assert chat.text.lstrip().startswith("{")
