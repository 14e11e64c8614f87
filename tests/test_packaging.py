"""environment.yml installs what pyproject declares; the README's commands are what CI runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_installs_the_project_with_every_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = set(pyproject["project"]["optional-dependencies"])
    env = (ROOT / "environment.yml").read_text()
    python = re.search(r"^\s*-\s*python=(\d+\.\d+)", env, re.M)
    assert python, "environment.yml must pin a python version"
    required = pyproject["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.group(1).split("."))) >= tuple(map(int, required.split(".")))
    pip_line = re.search(r"^\s*-\s*-e \.\[([a-z,]+)\]\s*$", env, re.M)
    assert pip_line, "environment.yml must pip-install the project itself (-e .[extras])"
    assert set(pip_line.group(1).split(",")) == extras


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert test_cmd, "README must mark its test command with <!-- test-command -->"
    assert test_cmd.group(1).strip() in ci


def test_console_script_points_at_the_cli():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["formcheck"] == "formcheck_core.cli:main"
