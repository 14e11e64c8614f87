"""What a new user meets first: ``formcheck --help``, the options README.md names, and the
folders the commands and notebooks write by default (never offered to git)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from formcheck_core.cli import COMMANDS, build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def test_top_level_help_speaks_to_users_and_points_at_the_commands_help(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck_core", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0 and not proc.stderr
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    for developer_words in ("add_arguments", "run(args)", "``", "subcommand lives"):
        assert developer_words not in text
    assert "deadlift" in text and "formcheck COMMAND --help" in text
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s+\S", proc.stdout, re.M), name


def _options(parser: argparse.ArgumentParser) -> set[str]:
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_every_command_option_readme_names_exists():
    """`formcheck analyze ... --x`: each --x README puts after a formcheck command is that command's."""
    text = README.read_text(encoding="utf-8")
    checked = 0
    for m in re.finditer(r"formcheck (analyze|batch|compare|rules|models)\b([^`\n]*)", text):
        known = _options(build_parser(m.group(1)))
        for option in re.findall(r"(?<![\w/-])(--[a-z][a-z0-9-]*)", m.group(2)):
            assert option in known, f"README: `formcheck {m.group(1)} ... {option}` is not an option"
            checked += 1
    assert checked >= 5


def test_default_output_folders_are_ignored_by_git(tmp_path):
    """analyze's formcheck-out/, batch's formcheck-batch/, notebooks 01/03's out/ and notebook
    05's dataset-out/ (beside the notebook, so its report links open in JupyterLab) hold
    analyses and pictures of the user's clips: `git add -A` must not pick them up."""
    import shutil

    if shutil.which("git") is None or not (README.parent / ".git").exists():
        import pytest

        pytest.skip("not a git checkout")
    paths = [
        "formcheck-out/clip-abc123/index.html",
        "formcheck-batch/clips.csv",
        "out/gym1080_bad_02/analysis.json",
        "notebooks/dataset-out/clips.csv",
    ]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], capture_output=True, text=True, cwd=README.parent
    )
    assert sorted(proc.stdout.split()) == sorted(paths), proc.stdout + proc.stderr


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "formcheck_core", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_analyse_spelled_the_british_way_is_analyze(tmp_path):
    """The help itself says "Analyse a lifting video": `formcheck analyse` was an invalid choice."""
    proc = _cli("analyse", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "usage: formcheck analyze" in proc.stdout, proc.stderr
    proc = _cli("analyse", str(tmp_path / "missing.mp4"), cwd=tmp_path)
    assert proc.returncode == 2 and "No such file" in proc.stderr  # analysed like analyze, not a usage error


def test_analyze_given_several_clips_points_at_batch(tmp_path):
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"")
    proc = _cli("analyze", "a.mp4", "b.mp4", cwd=tmp_path)
    assert proc.returncode == 64 and "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("formcheck: error")]
    assert "analyze takes one clip: for several, use `formcheck batch a.mp4 b.mp4`" in line


def test_the_run_command_names_a_missing_clip_before_the_set_up(tmp_path):
    """`bash scripts/analyze.sh typo.mp4` ran the whole set-up (minutes on a first run) before
    saying the clip is not there. Run on a copy whose set-up only leaves a mark."""
    import shutil

    scripts = tmp_path / "repo" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(README.parent / "scripts" / "analyze.sh", scripts / "analyze.sh")
    (scripts / "setup.sh").write_text(f"touch {tmp_path / 'set-up-ran'}\n")
    bin_dir = tmp_path / "repo" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "formcheck").write_text('#!/bin/sh\necho formcheck "$@"\n')
    (bin_dir / "formcheck").chmod(0o755)
    proc = subprocess.run(
        ["bash", str(scripts / "analyze.sh"), "typo.mp4", "--out", "r"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "No such file: typo.mp4" in proc.stderr
    assert not (tmp_path / "set-up-ran").exists()
    (tmp_path / "lift.mp4").write_bytes(b"x")  # an existing clip (or an option) goes through
    for args in (["lift.mp4", "--out", "r"], ["--help"]):
        proc = subprocess.run(
            ["bash", str(scripts / "analyze.sh"), *args], capture_output=True, text=True, cwd=tmp_path
        )
        assert proc.returncode == 0 and proc.stdout.strip() == "formcheck analyze " + " ".join(args), (
            proc.stderr
        )
        assert (tmp_path / "set-up-ran").exists()
