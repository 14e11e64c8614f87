"""llm_cues end to end on the real tiny model, and every failure path falling back to the rule
cues with a one-line reason (never a traceback). Never asserts wording."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_llm_data import FAULTY_SET, REP1, REP2, make_analysis

from formcheck_core.llm import LLMConfig, llm_cues, print_cues_live
from formcheck_core.llm.grounding import check_cue, reference_values
from formcheck_core.llm.prompts import coaching_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol_path() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (pip install formcheck[llm])")
    from formcheck_core.models.llm_model import install_test_llm

    return install_test_llm()


def config(path, **kw) -> LLMConfig:
    return LLMConfig(model=str(path), n_threads=1, n_ctx=kw.pop("n_ctx", 2048), **kw)


def assert_rule_fallback(result, reason_part: str):
    assert result.source == "rules", result
    assert reason_part in result.fallback_reason, result.fallback_reason
    assert "\n" not in result.fallback_reason and "Traceback" not in result.fallback_reason
    assert result.cues and all(c.source == "rules" for c in result.cues)  # the set has faults to cue


# --- the real path -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smol_result(smol_path):
    streamed = []
    tokens = []
    result = llm_cues(
        FAULTY_SET, config(smol_path, max_cues=3, min_cues=1), on_token=tokens.append, on_cue=streamed.append
    )
    return result, streamed, tokens


def test_tiny_model_answer_is_checked_before_it_is_shown(smol_result):
    result, streamed, tokens = smol_result
    assert tokens and result.chat is not None and result.chat.schema_constrained
    assert result.chat.prompt_tokens > 300 and result.load_s is not None
    data = coaching_data(FAULTY_SET)
    refs = reference_values(data)
    if result.source == "test-model":  # some cues passed: each one is grounded and labelled
        assert result.label == "test model — not advice"
        for cue in result.cues:
            if cue.source == "test-model":
                item = {
                    "cue": cue.text,
                    "why": cue.why,
                    "metric": cue.metric,
                    "rep": cue.rep,
                    "rule_id": cue.rule_id,
                }
                assert check_cue(item, data, refs) == []
    else:  # nothing passed (the usual case for a 135M model): rule cues and the dropped ones listed
        assert result.fallback_reason
        assert result.rejected or "JSON" in result.fallback_reason
        assert all(r.issues for r in result.rejected)
    # only checked cues were streamed, and each is in the final answer
    assert {c.text for c in streamed} <= {c.text for c in result.cues}


def test_the_model_is_reused_across_analyses(smol_path, smol_result):
    from formcheck_core.llm.engine import loaded_engines

    n = len(loaded_engines())
    other = make_analysis(rep_metrics=(REP2, REP1, REP2))
    result = llm_cues(other, config(smol_path, max_cues=3, min_cues=1, max_tokens=40))
    assert len(loaded_engines()) == n
    chat = result.chat
    assert chat is not None and chat.prompt_tokens_evaluated < chat.prompt_tokens  # system prefix cached


def test_cli_printer_labels_test_model_output(smol_path):
    out, err = io.StringIO(), io.StringIO()
    result = print_cues_live(FAULTY_SET, config(smol_path, max_cues=2, min_cues=1), out=out, err=err)
    text = out.getvalue()
    assert "coaching cues" in text and "Traceback" not in text
    if result.source == "test-model":
        assert "test model — not advice" in text
    else:
        assert result.fallback_reason in text
    assert len(
        [line for line in text.splitlines() if line.strip()[:2] in {f"{i}." for i in range(1, 6)}]
    ) == len(result.cues)


# --- every failure path ------------------------------------------------------------------------


def test_missing_model_file(tmp_path):
    assert_rule_fallback(llm_cues(FAULTY_SET, config(tmp_path / "absent.gguf")), "does not exist")


def test_not_a_gguf(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("not a model")
    assert_rule_fallback(llm_cues(FAULTY_SET, config(path)), "not a GGUF")


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_gguf(tmp_path, smol_path, kind):
    path = tmp_path / f"{kind}.gguf"
    data = (
        b"GGUF\x03\x00\x00\x00" + b"\xff" * 4096 if kind == "garbage" else smol_path.read_bytes()[:3_000_000]
    )
    path.write_bytes(data)
    assert_rule_fallback(llm_cues(FAULTY_SET, config(path)), "could not load")


def test_timeout(smol_path):
    assert_rule_fallback(llm_cues(FAULTY_SET, config(smol_path, timeout_s=1e-6)), "did not finish within")


def test_answer_cut_off_is_invalid_json(smol_path):
    assert_rule_fallback(llm_cues(FAULTY_SET, config(smol_path, max_tokens=16)), "ran out of tokens")


def test_non_json_model_output(shared):
    path = shared / "models" / "qwen35-dense.gguf"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    pytest.importorskip("llama_cpp")
    result = llm_cues(FAULTY_SET, config(path, n_ctx=2048, max_tokens=24))
    assert_rule_fallback(result, "not valid JSON")
    assert any("cannot be constrained to JSON" in n for n in result.notes)


def test_prompt_does_not_fit_the_context(smol_path):
    assert_rule_fallback(llm_cues(FAULTY_SET, config(smol_path, n_ctx=256)), "context")


def test_no_measured_rep():
    empty = make_analysis(rep_metrics=(), findings=())
    result = llm_cues(empty, LLMConfig(model="never-loaded.gguf"))
    assert result.source == "rules" and result.fallback_reason == "no measured rep to coach"
    # nothing to coach on the lift: the rule coach's one filming cue, not an empty list
    assert [(c.source, c.source_detail) for c in result.cues] == [
        ("rules", "rules (filming advice) (fallback)")
    ]


def test_no_model_configured_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMCHECK_MODELS", str(tmp_path))
    monkeypatch.setenv("FORMCHECK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("FORMCHECK_LLM_MODEL", raising=False)
    result = llm_cues(FAULTY_SET, LLMConfig())  # downloads allowed, but nothing asked for one
    assert_rule_fallback(result, "recommended model")


def test_llama_cpp_python_missing(tmp_path):
    """A fresh interpreter where ``import llama_cpp`` fails, as without the [llm] extra."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["llama_cpp"] = None  # makes `import llama_cpp` raise ImportError
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_llm_data import FAULTY_SET
        from formcheck_core.llm import LLMConfig, llm_cues
        r = llm_cues(FAULTY_SET, LLMConfig(model={str(tmp_path / "m.gguf")!r}))
        print(r.source, "|", r.fallback_reason)
    """)
    (tmp_path / "m.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("rules | llama-cpp-python is not installed: `pip install formcheck[llm]`")
    assert "Traceback" not in proc.stderr


def test_notebook_display_falls_back_cleanly(tmp_path, capsys):
    pytest.importorskip("IPython")
    from formcheck_core.llm import show_cues_live

    result = show_cues_live(FAULTY_SET, config(tmp_path / "absent.gguf"))
    assert result.source == "rules" and "does not exist" in result.fallback_reason
    assert "Traceback" not in capsys.readouterr().err
