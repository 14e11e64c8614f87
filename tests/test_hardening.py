"""The bad-input suite, part two: broken caches, bad options, unwritable outputs, damaged models,
truncated clips, native log noise — each a clear one-line message (or a warning) and nothing lost.

Every broken file is made here, in a temporary folder, from the real dev clips and models; the
shared pose cache and the models folder are never touched (temporary copies are used).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from formcheck_core.config import REPO_ROOT

CLIP = "posereader_good"  # 62 frames: the cheapest real clip to run MediaPipe on
NATIVE_LOG_PATTERNS = (
    "Logging before InitGoogle",
    "inference_runner",
    "landmark_projection_calculator",
    "DestroyAccelerator",
    "absl::InitializeLog",
    "W0000 ",
    "I0000 ",
)


def cli(
    *args: str, cwd: Path, env: dict | None = None, timeout: float = 600, prefix: tuple = ()
) -> subprocess.CompletedProcess:
    """``formcheck`` in a subprocess, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    cmd = [*prefix, sys.executable, "-m", "formcheck_core", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout)


def error_line(proc: subprocess.CompletedProcess, code: int, *phrases: str) -> str:
    """The one ``formcheck: error`` line of a clean failure with exit ``code``, containing ``phrases``."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert "Traceback" not in out
    errors = [line for line in proc.stderr.splitlines() if line.startswith("formcheck: error")]
    assert len(errors) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


def no_pose_work(cache: Path) -> bool:
    """True when nothing was written to the pose cache (the error came before pose extraction)."""
    return not (cache / "pose").exists() or not any((cache / "pose").iterdir())


@pytest.fixture(scope="session")
def seeded_cache(tmp_path_factory, dev_clip, pose_model) -> Path:
    """A private pose cache holding the CLIP's entry (copied from the shared cache, else computed)."""
    from formcheck_core.analysis import load_or_extract_pose
    from formcheck_core.video import probe_video

    root = tmp_path_factory.mktemp("seeded-cache")
    old = os.environ.get("FORMCHECK_CACHE")
    os.environ["FORMCHECK_CACHE"] = str(root)
    try:
        load_or_extract_pose(probe_video(dev_clip(CLIP)), progress=False)
    finally:
        if old is None:
            del os.environ["FORMCHECK_CACHE"]
        else:
            os.environ["FORMCHECK_CACHE"] = old
    return root


@pytest.fixture
def cache(tmp_path, seeded_cache) -> Path:
    root = tmp_path / "cache"
    shutil.copytree(seeded_cache, root)
    return root


def entry(cache: Path) -> Path:
    (path,) = (cache / "pose").glob("*.npz")
    return path


# ------------------------------------------------------------------ the pose cache heals


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _zero(p: Path) -> None:
    p.write_bytes(b"")


def _bitflip(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x10  # inside an array: the zip CRC no longer matches
    p.write_bytes(bytes(data))


def _mismatched_shapes(p: Path) -> None:
    with np.load(p) as d:
        arrays = {k: d[k] for k in d.files}
    arrays["image_z"] = arrays["image_z"][:-1]  # one sample short
    with p.open("wb") as f:
        np.savez(f, **arrays)


CORRUPTIONS = {
    "truncated": _truncate,
    "zero-byte": _zero,
    "bit-flipped": _bitflip,
    "mismatched-shapes": _mismatched_shapes,
}


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_broken_cache_entry_is_discarded_with_one_warning(kind, cache, capsys):
    from formcheck_core.cache import load_pose

    path = entry(cache)
    assert load_pose(path.stem, cache) is not None
    CORRUPTIONS[kind](path)
    assert load_pose(path.stem, cache) is None
    warnings = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("formcheck: warning")
    ]
    assert len(warnings) == 1 and path.name in warnings[0] and "recomputing" in warnings[0]
    assert not path.exists()  # discarded, so the next run rewrites it


def test_the_cli_recomputes_a_bit_flipped_entry_and_rewrites_it(tmp_path, cache, dev_clip):
    from formcheck_core.cache import load_pose

    path = entry(cache)
    _bitflip(path)
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--quiet",
        "--no-report",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert sum(line.startswith("formcheck: warning") for line in proc.stderr.splitlines()) == 1
    assert load_pose(path.stem, cache) is not None  # healed
    assert not [line for line in proc.stderr.splitlines() if any(p in line for p in NATIVE_LOG_PATTERNS)]


def test_no_cache_recomputes_and_rewrites_the_entry(tmp_path, cache, dev_clip):
    from formcheck_core.cache import load_pose

    path = entry(cache)
    _bitflip(path)
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--quiet",
        "--no-report",
        "--no-cache",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "formcheck: warning" not in proc.stderr  # not even read
    assert load_pose(path.stem, cache) is not None


def test_an_unwritable_cache_warns_and_the_report_is_still_written(tmp_path, dev_clip, pose_model):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = tmp_path / "o"
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--quiet",
        "--no-clip",
        "--out",
        str(out),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(blocker / "cache")},
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("formcheck: warning")]
    assert len(warnings) == 1 and "could not write the pose cache" in warnings[0]
    assert (out / "analysis.json").is_file() and (out / "index.html").is_file()


def test_a_failed_cache_write_leaves_no_temporary_file(tmp_path, seeded_cache):
    """A real full disk (a 16 kB tmpfs in a private mount namespace) under the cache."""
    from formcheck_core.cache import load_pose

    series = load_pose(entry(seeded_cache).stem, seeded_cache)
    script = tmp_path / "write.py"
    script.write_text(
        "import sys, numpy as np\nfrom pathlib import Path\nfrom formcheck_core.cache import save_pose, load_pose\n"
        f"s = load_pose({entry(seeded_cache).stem!r}, Path({str(seeded_cache)!r}))\n"
        "print('saved' if save_pose('k' * 32, s, Path(sys.argv[1])) else 'not saved')\n"
        "print(sorted(p.name for p in (Path(sys.argv[1]) / 'pose').iterdir()))\n"
    )
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    sh = f"mount -t tmpfs -o size=16k tmpfs {mnt} && exec {sys.executable} {script} {mnt}"
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", sh],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    if proc.returncode != 0 and "mount" in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    assert series is not None and proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["not saved", "[]"]  # warned, nothing left behind
    assert "could not write the pose cache" in proc.stderr and "No space left" in proc.stderr


# ------------------------------------------------------------------ options checked before pose work


BAD_OPTIONS = [
    (["--people", "0"], "--people 0"),
    (["--height-cm", "nan"], "--height-cm nan"),
    (["--height-cm", "0"], "--height-cm 0"),
    (["--height-cm", "-180"], "--height-cm -180"),
    (["--fps", "-5"], "--fps -5"),
    (["--fps", "nan"], "--fps nan"),
    (["--llm-threads", "0"], "--llm-threads 0"),
    (["--llm-threads", "-2"], "--llm-threads -2"),
    (["--llm-threads", "9999"], "--llm-threads 9999"),  # ran for minutes without an answer
    (["--llm-timeout", "nan"], "--llm-timeout nan"),  # never timed out
    (["--llm-ctx", "0"], "--llm-ctx 0"),
    (["--llm-temperature", "inf"], "--llm-temperature inf"),
]


@pytest.mark.parametrize("options, phrase", BAD_OPTIONS, ids=[" ".join(o) for o, _ in BAD_OPTIONS])
def test_bad_numbers_exit_1_before_any_pose_work(options, phrase, tmp_path, dev_clip):
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        *options,
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    assert phrase.split()[0] in error_line(proc, 1, "give")
    assert no_pose_work(tmp_path / "cache")


BAD_COMPARE_BATCH_OPTIONS = [
    (["compare", "--fps", "-5"], "--fps -5"),
    (["compare", "--fps", "nan"], "--fps nan"),
    (["compare", "--bootstrap", "5"], "--bootstrap 5"),
    (["batch", "--fps", "inf"], "--fps inf"),
    (["batch", "--workers", "0"], "--workers 0"),
    (["batch", "--people", "0"], "--people 0"),
    (["compare", "--llm-threads", "0", "--llm-model", "test"], "--llm-threads 0"),
]


@pytest.mark.parametrize(
    "options, phrase", BAD_COMPARE_BATCH_OPTIONS, ids=[" ".join(o) for o, _ in BAD_COMPARE_BATCH_OPTIONS]
)
def test_compare_and_batch_numbers_are_checked_like_analyze(options, phrase, tmp_path, dev_clip):
    """compare and batch range-check their numbers with validate.py, before any pose work."""
    command, *rest = options
    llm = ["--no-llm"] if "--llm-threads" not in rest else []
    out = ["--out", str(tmp_path / "o")] if command == "batch" else [*llm, "--no-labels"]
    proc = cli(
        command,
        str(dev_clip(CLIP)),
        *rest,
        *out,
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    assert error_line(proc, 1, "give").startswith(f"formcheck: error: {phrase}"), proc.stderr
    assert no_pose_work(tmp_path / "cache")


@pytest.mark.parametrize("threads", ["9999", "0", "-2"])
def test_llm_threads_from_the_environment_are_capped_like_the_option(threads, tmp_path, dev_clip):
    """$FORMCHECK_LLM_THREADS=9999 was passed to llama.cpp while --llm-threads 9999 was refused: the
    same check (validate.check_llm_threads) now names the variable and its range, exit 1."""
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--llm-model",
        "test",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache"), "FORMCHECK_LLM_THREADS": threads},
    )
    line = error_line(proc, 1, "give", "from 1 to")
    assert line.startswith(f"formcheck: error: $FORMCHECK_LLM_THREADS {threads}"), line
    assert no_pose_work(tmp_path / "cache")


@pytest.mark.parametrize(
    "variable, value",
    [
        ("FORMCHECK_LLM_CTX", "100000000"),
        ("FORMCHECK_LLM_MAX_TOKENS", "10000000"),
        ("FORMCHECK_LLM_TIMEOUT_S", "nan"),
    ],
)
def test_llm_numbers_from_the_environment_are_checked_like_the_options(variable, value, monkeypatch):
    """Review: $FORMCHECK_LLM_CTX=100000000 and $FORMCHECK_LLM_MAX_TOKENS=10000000 were accepted while
    --llm-ctx / --llm-max-tokens refuse them: one check (validate.check_llm_numbers) names the variable."""
    from formcheck_core.errors import FormcheckError
    from formcheck_core.llm.settings import load_config

    monkeypatch.setenv(variable, value)
    with pytest.raises(FormcheckError, match=rf"^\${variable} {value}"):
        load_config()


@pytest.mark.parametrize(
    "field, value",
    [("n_ctx", 10**8), ("max_tokens", 10**7), ("n_threads", 9999), ("timeout_s", float("nan"))],
)
def test_an_llm_config_made_in_a_notebook_takes_the_options_ranges(field, value):
    """LLMConfig (what a notebook builds) had its own, looser limits: no upper bound on the context,
    the answer length or the threads. It now checks the CLI's ranges, named by its field."""
    from formcheck_core.errors import FormcheckError
    from formcheck_core.llm.settings import LLMConfig

    with pytest.raises(FormcheckError, match=rf"^{field} "):
        LLMConfig(**{field: value})


@pytest.mark.parametrize("command", ["analyze", "compare"])
def test_a_named_llm_model_that_is_not_there_exits_3_before_any_pose_work(command, tmp_path, dev_clip):
    """A file named with --llm-model that does not exist is a typo to fix, not a quiet fall-back to
    the rule cues with exit 0 (the default model being absent still falls back: nobody named it)."""
    absent = tmp_path / "qwen.gguf"
    extra = ["--out", str(tmp_path / "o")] if command == "analyze" else ["--no-labels"]
    proc = cli(
        command,
        str(dev_clip(CLIP)),
        "--llm-model",
        str(absent),
        *extra,
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    error_line(proc, 3, f"LLM file {absent} does not exist")
    assert no_pose_work(tmp_path / "cache") and not (tmp_path / "o").exists()


def test_a_folder_named_as_the_llm_model_is_called_a_folder_with_its_ggufs(tmp_path, dev_clip):
    """`--llm-model ../shared/models`: the folder exists, so "does not exist" misled; the error
    names the .gguf files in it."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "a.gguf").write_bytes(b"GGUF")
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--llm-model",
        str(folder),
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    error_line(proc, 3, f"LLM file {folder} is a folder", "(a.gguf)")
    assert no_pose_work(tmp_path / "cache") and not (tmp_path / "o").exists()


def _out_is_a_file(tmp: Path) -> Path:
    (tmp / "report.txt").write_text("x")
    return tmp / "report.txt"


def _out_under_a_file(tmp: Path) -> Path:
    (tmp / "report.txt").write_text("x")
    return tmp / "report.txt" / "out"


BAD_OUTS = {
    "a file": (_out_is_a_file, "is a file"),
    "under a file": (_out_under_a_file, "is a file"),
    "/proc": (lambda tmp: Path("/proc/formcheck-out"), "cannot be written"),
}


@pytest.mark.parametrize("kind", BAD_OUTS)
def test_an_unusable_out_exits_1_before_any_pose_work(kind, tmp_path, dev_clip):
    make, phrase = BAD_OUTS[kind]
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--out",
        str(make(tmp_path)),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    error_line(proc, 1, phrase, "--out")
    assert no_pose_work(tmp_path / "cache")


def _in_tmpfs(tmp_path: Path, options: str, args: list[str], cache: Path) -> subprocess.CompletedProcess:
    """Run the CLI with ``--out`` on a private tmpfs mounted with ``options`` (a user+mount namespace)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    quoted = " ".join(
        f"'{a}'" for a in [sys.executable, "-m", "formcheck_core", *args, "--out", str(mnt / "out")]
    )
    prep = f"mkdir {mnt}/out 2>/dev/null; " if "ro" in options.split(",") else ""
    sh = f"mount -t tmpfs -o {options} tmpfs {mnt} && {prep}exec {quoted}"
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", sh],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "FORMCHECK_CACHE": str(cache)},
    )
    if proc.returncode != 0 and "mount:" in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    return proc


def test_a_read_only_out_exits_1_before_any_pose_work(tmp_path, dev_clip):
    proc = _in_tmpfs(tmp_path, "ro,size=1m", ["analyze", str(dev_clip(CLIP))], tmp_path / "cache")
    error_line(proc, 1, "cannot be written", "Read-only")
    assert no_pose_work(tmp_path / "cache")


def test_a_full_disk_under_out_exits_1_with_what_to_do(tmp_path, cache, dev_clip):
    proc = _in_tmpfs(tmp_path, "size=64k", ["analyze", str(dev_clip(CLIP)), "--quiet", "--no-clip"], cache)
    error_line(proc, 1, "disk is full")
    assert not list(tmp_path.glob("**/.*formcheck-*"))


def test_a_non_utf8_llm_config_exits_1_before_any_pose_work(tmp_path, dev_clip):
    config = tmp_path / "config.toml"
    config.write_bytes(b'[llm]\nmodel = "\xff\xfe caf\xe9"\n')
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache"), "FORMCHECK_CONFIG": str(config)},
    )
    error_line(proc, 1, "not UTF-8", str(config))
    assert no_pose_work(tmp_path / "cache")


@pytest.mark.parametrize(
    "args", [["analyze", "--bogus"], ["analyze", "x.mp4", "--fps", "abc"], ["frobnicate"]]
)
def test_command_line_errors_exit_64_not_2(args, tmp_path):
    proc = cli(*args, cwd=tmp_path)
    error_line(proc, 64, "--help")


# ------------------------------------------------------------------ models


def test_a_clip_named_like_an_option_gets_told_how_to_name_it(tmp_path, dev_clip):
    """`formcheck analyze -lift.mp4`: argparse takes the name for an option; the error says what to type."""
    shutil.copy(dev_clip(CLIP), tmp_path / "-lift.mp4")
    proc = cli("analyze", "-lift.mp4", cwd=tmp_path)
    error_line(proc, 64, "-lift.mp4 is a file whose name starts with '-': write ./-lift.mp4")


def test_a_task_zip_with_the_right_names_but_garbage_exits_3_without_cpp_text(tmp_path, dev_clip):
    bad = tmp_path / "garbage.task"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("pose_detector.tflite", b"TFL3" + os.urandom(4096))
        zf.writestr("pose_landmarks_detector.tflite", os.urandom(4096))
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--pose-model",
        str(bad),
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    error_line(proc, 3, "could not load the pose model", "--pose-model")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # no C++ status text or stack trace


@pytest.fixture
def models_copy(tmp_path, pose_model, monkeypatch) -> Path:
    """A temporary models folder holding a copy of the pose model and its record."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy2(pose_model, folder / pose_model.name)
    shutil.copy2(pose_model.parent / "checksums.json", folder / "checksums.json")
    monkeypatch.setenv("FORMCHECK_MODELS", str(folder))
    return folder


def test_pose_model_checksums_fail_closed(models_copy):
    from formcheck_core.errors import ModelInvalidError
    from formcheck_core.models.pose_model import resolve_pose_model

    record = models_copy / "checksums.json"
    task = models_copy / "pose_landmarker_full.task"
    assert resolve_pose_model() == task
    record.unlink()  # missing record: re-verified against the known hash of the reproducible build
    assert resolve_pose_model() == task
    record.write_text("{not json")  # corrupt record: the same
    assert resolve_pose_model() == task
    with task.open("ab") as f:  # a changed file with no usable record: refused, with the fix
        f.write(b"\0")
    with pytest.raises(ModelInvalidError, match=r"does not match .*formcheck models install --force"):
        resolve_pose_model()
    other = models_copy / "pose_landmarker_heavy.task"  # no record and no known hash: refused
    shutil.copy2(task, other)
    with pytest.raises(ModelInvalidError, match=r"cannot be verified.*is corrupt.*--force"):
        resolve_pose_model("heavy")


def test_llm_checksums_fail_closed_for_provisioned_ggufs(tmp_path, monkeypatch):
    """The test/recommended GGUFs are verified (record, else known hash) or refused; a user's own
    GGUF has no known hash: header checked, reported unverified."""
    from formcheck_core.errors import ModelInvalidError
    from formcheck_core.models import llm_model
    from formcheck_core.models.llm_model import UNVERIFIED, VERIFIED, check_gguf, test_llm_path

    src = test_llm_path()
    if not src.is_file():
        pytest.skip("the test LLM is not provisioned (formcheck models install --llm-test)")
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("FORMCHECK_MODELS", str(folder))
    smol = folder / src.name
    shutil.copyfile(src, smol)
    record = folder / "checksums.json"
    record.write_text(json.dumps({smol.name: llm_model.TEST_LLM_SHA256}))
    assert check_gguf(smol) == VERIFIED
    record.unlink()  # missing record: re-verified against the known hash
    assert check_gguf(smol) == VERIFIED
    record.write_text("{not json")  # corrupt record: the same
    assert check_gguf(smol) == VERIFIED
    with smol.open("r+b") as f:  # one byte changed: refused with the fix
        f.seek(smol.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelInvalidError, match=r"does not match .*--llm-test --force"):
        check_gguf(smol)

    header = b"GGUF\x03\x00\x00\x00" + bytes(64)
    recommended = folder / llm_model.RECOMMENDED_FILE  # provisioned name, no record, no known hash
    recommended.write_bytes(header)
    with pytest.raises(ModelInvalidError, match=r"cannot be verified: .*checksums.json is corrupt"):
        check_gguf(recommended)
    record.write_text("{}")
    with pytest.raises(
        ModelInvalidError, match=r"cannot be verified: .*has no entry.*--llm-model recommended"
    ):
        check_gguf(recommended)

    mine = folder / "mine.gguf"  # a user's file in the models folder, no record: unverified
    mine.write_bytes(header)
    assert check_gguf(mine) == UNVERIFIED
    record.write_text("[1, 2")  # ... but with a corrupt record we cannot tell it was never recorded
    with pytest.raises(ModelInvalidError, match="cannot be verified"):
        check_gguf(mine)
    elsewhere = tmp_path / "mine.gguf"  # a user's file elsewhere: header checked only
    elsewhere.write_bytes(header)
    assert check_gguf(elsewhere) == UNVERIFIED
    elsewhere.write_bytes(b"GGUF\xff\xff\x00\x00" + bytes(64))  # damaged header: refused
    with pytest.raises(ModelInvalidError, match="damaged GGUF header"):
        check_gguf(elsewhere)


def test_models_list_shows_the_files_actual_hash(models_copy, tmp_path):
    from formcheck_core.video import file_sha256

    task = models_copy / "pose_landmarker_full.task"
    proc = cli("models", "list", cwd=tmp_path)
    assert proc.returncode == 0 and file_sha256(task)[:16] in proc.stdout and " ok" in proc.stdout, (
        proc.stdout
    )
    with task.open("ab") as f:
        f.write(b"\0")
    proc = cli("models", "list", cwd=tmp_path)
    assert proc.returncode == 3 and file_sha256(task)[:16] in proc.stdout and "MISMATCH" in proc.stdout


# ------------------------------------------------------------------ clips and outputs


def test_a_truncated_clip_is_analysed_with_a_warning_everywhere(tmp_path, dev_clip, pose_model):
    data = dev_clip("squat_side").read_bytes()  # its index is at the front: a cut copy still opens
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 8 // 10])
    out = tmp_path / "o"
    proc = cli(
        "analyze",
        str(cut),
        "--quiet",
        "--no-clip",
        "--out",
        str(out),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert "looks truncated" in proc.stdout
    assert any("looks truncated" in w for w in json.loads((out / "analysis.json").read_text())["warnings"])
    assert "looks truncated" in (out / "index.html").read_text()
    assert "looks truncated" in (out / "summary.txt").read_text()


def test_intact_dev_clips_are_not_called_truncated(shared):
    """Including clips whose container discards packets (their header counts more frames than decode)."""
    from formcheck_core.analysis import truncation_warnings
    from formcheck_core.video import probe_video

    clips = sorted((shared / "videos" / "dev").glob("*.mp4"))
    assert [c.name for c in clips if truncation_warnings(probe_video(c))] == []


def test_reusing_out_replaces_previous_outputs_and_keeps_other_files(tmp_path, cache, dev_clip):
    out = tmp_path / "o"
    (out / "stills").mkdir(parents=True)
    (out / "analysis.json").write_text('{"schema_version": 1, "video": {"path": "previous.mp4"}}')
    (out / "stills" / "rep9_lockout.png").write_bytes(b"previous clip")
    (out / "annotated.mp4").write_bytes(b"previous clip")
    (out / "index.html").write_text("previous clip")
    (out / "my-notes.txt").write_text("mine")
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--quiet",
        "--no-clip",
        "--out",
        str(out),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert proc.returncode == 0, proc.stderr
    assert not (out / "stills" / "rep9_lockout.png").exists() and list((out / "stills").glob("*.jpg"))
    assert not (out / "annotated.mp4").exists()  # not made this time: the old one would lie
    assert "previous clip" not in (out / "index.html").read_text()
    assert (out / "my-notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if "formcheck-" in p.name]  # no staging folders left


@pytest.mark.parametrize(
    "theirs",
    [
        {"index.html": "my own web page", "plots/budget.png": "my plot"},
        {"summary.txt": "my notes", "analysis.json": "{not formcheck's"},
        {"analysis.json": '{"mine": true}'},
    ],
)
def test_an_out_holding_the_users_own_report_names_is_refused_and_kept(theirs, tmp_path, dev_clip):
    """Files named like formcheck's outputs that formcheck did not write are the user's: no run may
    replace them (before, a user's own plots/ folder was deleted by the report's plots/)."""
    out = tmp_path / "my folder"
    for name, text in theirs.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--out",
        str(out),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    line = error_line(proc, 1, "formcheck did not write", "new or empty folder")
    assert all(name.split("/")[0] in line for name in theirs)
    assert all((out / name).read_text() == text for name, text in theirs.items())
    assert no_pose_work(tmp_path / "cache")


def test_the_clip_itself_inside_out_under_an_output_name_is_never_replaced(tmp_path, cache, dev_clip):
    """Analysing a previous report's annotated.mp4 into the same folder would replace the clip."""
    out = tmp_path / "o"
    out.mkdir()
    (out / "analysis.json").write_text('{"schema_version": 1, "video": {"path": "previous.mp4"}}')
    shutil.copy(dev_clip(CLIP), out / "annotated.mp4")
    before = (out / "annotated.mp4").read_bytes()
    proc = cli(
        "analyze",
        str(out / "annotated.mp4"),
        "--out",
        str(out),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    error_line(proc, 1, "would replace the clip being analysed")
    assert (out / "annotated.mp4").read_bytes() == before
    ok = cli(
        "analyze",
        str(out / "annotated.mp4"),
        "--quiet",
        "--no-report",
        "--no-llm",
        "--out",
        str(tmp_path / "elsewhere"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_default_out_folders_do_not_collide_for_same_named_clips(tmp_path):
    from formcheck_core.outdir import default_out_dir

    a, b = tmp_path / "day1" / "IMG_0001.mov", tmp_path / "day2" / "IMG_0001.mov"
    assert default_out_dir(a) != default_out_dir(b)
    assert default_out_dir(a) == default_out_dir(a) and default_out_dir(a).name.startswith("IMG_0001-")


def test_an_uncached_run_prints_no_native_log_lines(tmp_path, dev_clip, pose_model):
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--no-report",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "empty-cache")},
    )
    assert proc.returncode == 0, proc.stderr
    noisy = [line for line in proc.stderr.splitlines() if any(p in line for p in NATIVE_LOG_PATTERNS)]
    assert noisy == [] and "pose " in proc.stderr  # the progress bar is still shown


# ------------------------------------------------------------------ the LLM cannot take the run down


@pytest.fixture(scope="session")
def damaged_gguf(tmp_path_factory) -> Path:
    """The test GGUF with a valid header and damaged weights (the issue's recipe)."""
    import random

    from formcheck_core.models.llm_model import test_llm_path

    src = test_llm_path()
    if not src.is_file():
        pytest.skip("the test LLM is not provisioned (formcheck models install --llm-test)")
    data = bytearray(src.read_bytes())
    rng = random.Random(0)
    for pos in range(max(0, len(data) - 40 * 2**20), len(data), 997):
        data[pos] = rng.randrange(256)
    path = tmp_path_factory.mktemp("gguf") / "damaged.gguf"
    path.write_bytes(bytes(data))
    return path


def test_a_llama_cpp_abort_costs_only_the_llm_cues(tmp_path, cache, dev_clip, damaged_gguf):
    out = tmp_path / "o"
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--quiet",
        "--no-clip",
        "--out",
        str(out),
        "--llm-model",
        str(damaged_gguf),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    summary = (out / "summary.txt").read_text()
    assert "Cues from the rules" in summary and re.search(r"crashed|LLM failed|could not be loaded", summary)
    assert (out / "analysis.json").is_file() and (out / "index.html").is_file()


def test_a_llama_cpp_abort_in_the_notebook_panel_costs_only_the_llm_cues(
    cache, dev_clip, damaged_gguf, monkeypatch
):
    """The coaching panel generates in a child: the abort must not take this process (the kernel) down."""
    from formcheck_core.analysis import analyze
    from formcheck_core.widgets import CoachingPanel

    monkeypatch.setenv("FORMCHECK_CACHE", str(cache))
    analysis = analyze(dev_clip(CLIP), progress=False)
    result = CoachingPanel(analysis, model=str(damaged_gguf)).run(block=True)
    assert result.source == "rules" and "crashed" in (result.fallback_reason or ""), result.fallback_reason
    assert result.cues  # the rule cues are there


def test_a_llama_cpp_abort_in_compare_costs_only_the_llm_rows(tmp_path, cache, dev_clip, damaged_gguf):
    """compare flags in a child process: the abort drops the LLM with the reason, the rules are
    scored alone and the run exits 0 (before isolation it died with SIGABRT, exit 134)."""
    proc = cli(
        "compare",
        str(dev_clip(CLIP)),
        "--json",
        "--quiet",
        "--llm-model",
        str(damaged_gguf),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["llm_used"] is False and "crashed" in report["llm_failure"], report["llm_failure"]
    assert report["scored_clips"] == [CLIP] and not report["excluded"]
    methods = {m["method"] for s in report["scores"] for m in s["methods"]}
    assert any(m.startswith("rules") for m in methods) and not any("LLM" in m for m in methods), methods


def test_an_engine_is_never_closed_under_a_holder():
    from formcheck_core.errors import FormcheckError
    from formcheck_core.llm.engine import get_engine, unload_all
    from formcheck_core.models.llm_model import test_llm_path

    path = test_llm_path()
    if not path.is_file():
        pytest.skip("the test LLM is not provisioned (formcheck models install --llm-test)")
    messages = [{"role": "user", "content": "Say OK."}]
    held = get_engine(path, n_ctx=512)
    other = get_engine(path, n_ctx=1024)  # other settings: the held one stays usable
    assert other is not held
    assert held.chat(messages, max_tokens=4).completion_tokens >= 1
    unload_all()  # frees the registered engine even though `other` still holds it
    with pytest.raises(FormcheckError, match="closed"):
        other.chat(messages, max_tokens=4)  # a clear error, not a segfault
    assert held.chat(messages, max_tokens=4).completion_tokens >= 1  # was never closed: still fine


# ------------------------------------------------------------------ the README's exit-code table


def test_a_reader_that_leaves_early_costs_no_output_files(tmp_path, cache, dev_clip):
    """`formcheck analyze clip.mp4 | head -1`: the pipe closes after one line; the run still writes
    every file and says nothing about "reading or writing files" (it used to stop there)."""
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "formcheck_core", "analyze", str(dev_clip(CLIP)), "--quiet", "--no-clip"]
    proc = subprocess.Popen(
        [*cmd, "--no-llm", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "FORMCHECK_CACHE": str(cache)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # the first line of the summary ...
    proc.stdout.close()  # ... and the reader is gone, as `head -1` goes
    stderr = proc.stderr.read()
    assert proc.wait(timeout=600) == 0, stderr
    assert "Traceback" not in stderr and "error" not in stderr, stderr
    assert {"analysis.json", "summary.txt", "index.html", "stills", "plots"} <= {
        p.name for p in out.iterdir()
    }
    assert json.loads((out / "analysis.json").read_text())["reps_found"] == 1


def test_json_on_stdout_is_the_analysis_json_with_its_cues(tmp_path, cache, dev_clip):
    """--json prints what analysis.json holds, cues included (it used to print before the cues)."""
    out = tmp_path / "o"
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--json",
        "--quiet",
        "--no-report",
        "--no-llm",
        "--out",
        str(out),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(cache)},
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed == json.loads((out / "analysis.json").read_text())
    assert printed["cues"] and printed["coaching"]
    assert "report:" in proc.stderr


def test_no_llm_configured_never_says_asking_and_reads_cleanly(tmp_path, cache, dev_clip, pose_model):
    """A new user's first run: no model file, no --no-llm. No "asking the LLM" for a model that is
    not there, and the reason is printed once, without a doubled full stop."""
    out, models = tmp_path / "o", tmp_path / "models"
    models.mkdir()
    for name in ("pose_landmarker_full.task", "checksums.json"):  # the pose model, and no LLM
        (models / name).symlink_to(pose_model.parent / name)
    env = {
        "FORMCHECK_CACHE": str(cache),
        "FORMCHECK_MODELS": str(models),
        "FORMCHECK_CONFIG": str(tmp_path / "none.toml"),
        "FORMCHECK_LLM_MODEL": "",
    }
    proc = cli(
        "analyze", str(dev_clip(CLIP)), "--quiet", "--no-report", "--out", str(out), cwd=tmp_path, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "asking the LLM" not in proc.stdout
    assert "No LLM configured" in proc.stdout and "--no-llm" in proc.stdout
    summary = (out / "summary.txt").read_text()
    assert "Cues from the rules (no LLM): No LLM configured" in summary
    assert ".." not in summary


@pytest.mark.parametrize("delay_s", [0.0, 0.5, 2.0])  # while MediaPipe loads, and while it runs
def test_interrupt_exits_130(delay_s, tmp_path, dev_clip, pose_model):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "formcheck_core",
            "analyze",
            str(dev_clip("kettlebell_correct_side")),
            "--no-report",
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FORMCHECK_CACHE": str(tmp_path / "c")},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not (tmp_path / "o").exists():
        time.sleep(0.2)  # --out is created up front, just before pose work starts
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # 130, or killed by SIGINT itself (-2; a shell shows that as 130 too) when the signal lands in
    # interpreter start-up or shut-down; never an internal error, a traceback or an abort
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err and "Fatal Python" not in err, err[-2000:]


def test_an_internal_bug_exits_70_with_one_line(tmp_path, dev_clip, monkeypatch, capsys):
    import formcheck_core.analysis as analysis
    from formcheck_core.cli import main

    def bug(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(analysis, "analyze", bug)
    assert main(["analyze", str(dev_clip(CLIP)), "--out", str(tmp_path / "o")]) == 70
    assert "internal error: RuntimeError: simulated bug" in capsys.readouterr().err


#: README exit code -> the tests in the suite that produce it.
EXIT_CODE_TESTS = {
    0: [
        "test_an_unwritable_cache_warns_and_the_report_is_still_written",
        "test_a_llama_cpp_abort_costs_only_the_llm_cues",
    ],
    1: [
        "test_bad_numbers_exit_1_before_any_pose_work",
        "test_an_unusable_out_exits_1_before_any_pose_work",
        "test_a_full_disk_under_out_exits_1_with_what_to_do",
        "test_a_non_utf8_llm_config_exits_1_before_any_pose_work",
    ],
    2: ["test_bad_input.py::test_missing_file", "test_bad_input.py::test_zero_byte_file"],
    3: [
        "test_a_task_zip_with_the_right_names_but_garbage_exits_3_without_cpp_text",
        "test_bad_input.py::test_missing_pose_model_names_the_command",
        "test_a_named_llm_model_that_is_not_there_exits_3_before_any_pose_work",
    ],
    4: ["test_a_bad_threshold_exits_4", "test_a_threshold_out_of_its_range_exits_4_naming_it_and_the_range"],
    64: ["test_command_line_errors_exit_64_not_2"],
    70: ["test_an_internal_bug_exits_70_with_one_line"],
    130: ["test_interrupt_exits_130"],
}


def test_a_bad_threshold_exits_4(tmp_path, dev_clip):
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--threshold",
        "no_such_rule.x=1",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    error_line(proc, 4)
    assert no_pose_work(tmp_path / "cache")


def test_a_threshold_out_of_its_range_exits_4_naming_it_and_the_range(tmp_path, dev_clip):
    """--threshold rounded_back.max_flexion_rel=-1 was accepted and flagged every rep."""
    proc = cli(
        "analyze",
        str(dev_clip(CLIP)),
        "--threshold",
        "rounded_back.max_flexion_rel=-1",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
        env={"FORMCHECK_CACHE": str(tmp_path / "cache")},
    )
    error_line(proc, 4, "rounded_back.max_flexion_rel=-1", "out of range", "at least 0")
    assert no_pose_work(tmp_path / "cache")


def test_the_readme_exit_code_table_is_walked_by_tests():
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme[readme.index("**Exit codes**") :].split("\n\n")[1]
    codes = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert codes == set(EXIT_CODE_TESTS)
    here = Path(__file__).read_text()
    for names in EXIT_CODE_TESTS.values():
        for name in names:
            file, _, test = name.rpartition("::")
            source = (Path(__file__).parent / file).read_text() if file else here
            assert f"def {test}(" in source, name
    from formcheck_core.cli import EXIT_INTERNAL, EXIT_USAGE
    from formcheck_core.errors import ModelInvalidError, PluginError, VideoError

    assert {
        EXIT_INTERNAL,
        EXIT_USAGE,
        VideoError.exit_code,
        ModelInvalidError.exit_code,
        PluginError.exit_code,
    } <= codes
