"""Real llama.cpp in process: the tiny PyPI chat model (SmolLM2-135M) and the random-weight
Qwen3 / Qwen3.5 GGUFs from the shared folder. Structure only: never exact wording."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from formcheck_core.errors import FormcheckError, ModelInvalidError
from formcheck_core.llm.engine import (
    ChatTemplate,
    LLMTimeoutError,
    ThinkFilter,
    get_engine,
    loaded_engines,
    strip_think,
)
from formcheck_core.llm.schema import validate_items

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install formcheck[llm])")

SYSTEM = "You are a strength coach. Answer briefly. " * 6
SMALL_SCHEMA = {
    "type": "object",
    "properties": {
        "cues": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "cue": {"type": "string", "minLength": 3, "maxLength": 60},
                    "rep": {"enum": [1, 2, None]},
                },
                "required": ["cue", "rep"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["cues"],
    "additionalProperties": False,
}


def msgs(user: str, system: str = SYSTEM) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@pytest.fixture(scope="module")
def smol_path() -> Path:
    from formcheck_core.models.llm_model import install_test_llm

    return install_test_llm()


@pytest.fixture(scope="module")
def smol(smol_path):
    return get_engine(smol_path, n_ctx=2048, n_threads=1)


def _shared_gguf(shared: Path, name: str) -> Path:
    path = shared / "models" / name
    if not path.is_file():
        pytest.skip(f"{path} not found (shared models folder)")
    sums = dict(
        line.split()[::-1]
        for line in (shared / "models" / "SHA256SUMS").read_text().splitlines()
        if line.strip()
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[name], f"{name} differs from SHA256SUMS"
    return path


@pytest.fixture(scope="module", params=["qwen35-dense.gguf", "qwen3-dense.gguf"])
def qwen(request, shared):
    return get_engine(_shared_gguf(shared, request.param), n_ctx=1024, n_threads=1)


# --- formatting --------------------------------------------------------------------------------


def test_qwen_gguf_without_template_gets_qwen_chatml_with_thinking_off(qwen):
    assert qwen.info.architecture in ("qwen35", "qwen3")
    assert qwen.info.template_source == "builtin-qwen-chatml"
    assert qwen.info.is_test_model and not qwen.info.can_json  # random weights, hex-digit vocabulary
    prompt = qwen.template.render(msgs("hello"))
    assert prompt.startswith("<|im_start|>system\n") and "<|im_start|>user\nhello<|im_end|>\n" in prompt
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "<|im_end|>" in qwen.template.stops


def test_thinking_on_opens_the_think_block(shared):
    engine = get_engine(_shared_gguf(shared, "qwen35-dense.gguf"), n_ctx=512, n_threads=1, thinking=True)
    assert engine.template.render(msgs("hi")).endswith("<|im_start|>assistant\n<think>\n")


def test_template_that_ignores_enable_thinking_is_closed_empty():
    always_thinks = (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
        "{% endfor %}{{ '<|im_start|>assistant\\n<think>\\n' }}"
    )
    t = ChatTemplate(always_thinks, eos_token="<|im_end|>", bos_token="", qwen=True, thinking=False)
    assert t.render(msgs("x")).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    never_mentions = "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ '<|im_start|>assistant\\n' }}"
    t = ChatTemplate(never_mentions, eos_token="", bos_token="", qwen=True, thinking=False)
    assert t.render(msgs("x")).endswith("assistant\n<think>\n\n</think>\n\n")


def test_smol_uses_its_gguf_template_and_is_labelled_a_test_model(smol):
    assert smol.info.template_source == "gguf" and smol.info.can_json
    assert smol.info.is_test_model and smol.info.n_params < 500_000_000
    prompt = smol.template.render(msgs("hi"))
    assert prompt.endswith("<|im_start|>assistant\n") and "<think>" not in prompt


# --- generation --------------------------------------------------------------------------------


def test_random_qwen_generates_and_a_schema_request_does_not_abort(qwen):
    # a JSON grammar on this vocabulary would abort the whole process inside llama.cpp
    result = qwen.chat(msgs("data: 1 2 3"), schema=SMALL_SCHEMA, max_tokens=12, temperature=0.0)
    assert not result.schema_constrained
    assert result.completion_tokens > 0 and result.finish_reason == "length"
    assert result.prompt_tokens == qwen.count_tokens(msgs("data: 1 2 3"))


def test_smol_output_is_schema_valid_json(smol):
    result = smol.chat(
        msgs("Rep 1: torso lean 48.2 deg. Give one cue as JSON."),
        schema=SMALL_SCHEMA,
        max_tokens=200,
        temperature=0.2,
    )
    assert result.schema_constrained and result.finish_reason == "stop"
    items, invalid = validate_items(json.loads(result.text), "cues", SMALL_SCHEMA)
    assert items and not invalid
    assert result.prompt_tokens_per_s > 0 and result.generation_tokens_per_s > 0


def test_engine_is_loaded_once_and_the_system_prefix_is_reused(smol, smol_path):
    assert get_engine(smol_path, n_ctx=2048, n_threads=1) is smol
    first = smol.chat(msgs("Rep 1: lean 50 deg."), max_tokens=4)
    second = smol.chat(msgs("Rep 2: lean 61 deg, drift 0.1."), max_tokens=4)
    system_tokens = len(smol._tokenize(SYSTEM))
    assert first.prompt_tokens > system_tokens
    assert (
        second.prompt_tokens_evaluated <= second.prompt_tokens - system_tokens
    )  # the prefix came from the cache
    # another system prompt in between, then back: the saved prefix state is restored
    smol.chat(msgs("x", system="Different system prompt."), max_tokens=2)
    before = smol.stats.prefix_restores
    third = smol.chat(msgs("Rep 3: lean 55 deg."), max_tokens=4)
    assert smol.stats.prefix_restores == before + 1
    assert third.prompt_tokens_evaluated <= third.prompt_tokens - system_tokens


def test_hybrid_qwen35_reuses_the_prefix_through_saved_state(shared):
    engine = get_engine(_shared_gguf(shared, "qwen35-dense.gguf"), n_ctx=1024, n_threads=1)
    assert engine._hybrid  # recurrent state cannot be trimmed: needs the saved-state path
    engine.chat(msgs("first"), max_tokens=3)
    restores = engine.stats.prefix_restores
    result = engine.chat(msgs("second question"), max_tokens=3)
    assert engine.stats.prefix_restores == restores + 1
    assert result.prompt_tokens_evaluated < result.prompt_tokens / 2


def test_plain_create_chat_completion_goes_through_our_handler(smol):
    out = smol.llama.create_chat_completion(messages=msgs("Say hi."), max_tokens=6)
    assert out["choices"][0]["message"]["role"] == "assistant"
    assert smol.llama.chat_handler is not None


def test_timeout_stops_generation(smol):
    with pytest.raises(LLMTimeoutError, match="did not finish"):
        smol.chat(msgs("Tell me a long story about deadlifts."), max_tokens=200, timeout_s=1e-6)
    assert smol.chat(msgs("ok?"), max_tokens=2).completion_tokens >= 1  # the engine still works after


def test_prompt_longer_than_the_context_is_a_clear_error(shared):
    engine = get_engine(_shared_gguf(shared, "qwen3-dense.gguf"), n_ctx=256, n_threads=1)
    with pytest.raises(FormcheckError, match="context"):
        engine.chat(msgs("word " * 400), max_tokens=4)


def test_streamed_text_equals_final_text(smol):
    pieces: list[str] = []
    result = smol.chat(msgs("Name one deadlift cue."), max_tokens=24, on_text=pieces.append)
    assert "".join(pieces).strip() == result.text


def test_engines_listed_for_the_process(smol):
    assert smol in loaded_engines()


# --- corrupt files -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["garbage", "truncated", "not_gguf"])
def test_corrupt_gguf_is_a_clear_error(tmp_path, smol_path, kind):
    path = tmp_path / f"{kind}.gguf"
    if kind == "garbage":
        path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00garbage" * 100)
    elif kind == "truncated":
        path.write_bytes(smol_path.read_bytes()[:2_000_000])
    else:
        path.write_text("this is not a model")
    with pytest.raises(ModelInvalidError) as err:
        get_engine(path, n_ctx=512, n_threads=1)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


# --- think stripping (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        ('<think>\nplan\n</think>\n\n{"a": 1}', '{"a": 1}'),
        ("<think>\n\n</think>\n\nPush the floor away.", "Push the floor away."),
        ("no tags here", "no tags here"),
        ("answer <think>unfinished thoughts", "answer"),
        ("a<think>x</think>b<think>y</think>c", "abc"),
    ],
)
def test_strip_think(raw, visible):
    assert strip_think(raw) == visible


def test_think_filter_handles_tags_split_across_pieces():
    raw = "<think>\nlet me see\n</think>\n\nKeep the bar close."
    for size in (1, 2, 3, 7):
        f = ThinkFilter()
        out = "".join(f.feed(raw[i : i + size]) for i in range(0, len(raw), size)) + f.flush()
        assert out.strip() == "Keep the bar close.", size


def test_long_sets_get_a_shorter_prompt_that_fits(smol):
    from test_llm_data import REP1, REP2, make_analysis

    from formcheck_core.llm.prompts import (
        FLAG_DETAIL_LEVELS,
        answer_budget,
        fit_prompt,
        flag_vocabulary,
        flagging_messages,
    )

    DEFAULT_FLAG_IDS = tuple(flag_vocabulary())

    ten = make_analysis(rep_metrics=(REP1, REP2) * 5)
    budget = answer_budget(2048, 700)
    full, full_data = flagging_messages(ten, DEFAULT_FLAG_IDS)
    assert smol.count_tokens(full) > budget
    messages, data = fit_prompt(
        lambda d: flagging_messages(ten, DEFAULT_FLAG_IDS, d), FLAG_DETAIL_LEVELS, smol.count_tokens, budget
    )
    assert smol.count_tokens(messages) <= budget
    assert [r["metrics"] for r in data["reps"]] == [
        r["metrics"] for r in full_data["reps"]
    ]  # metrics always kept
