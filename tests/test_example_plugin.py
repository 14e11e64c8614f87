"""The docs' example plugin package, really installed: entry-point discovery, listing, evaluation.

The package is pip-installed (``--target``, no network, no build isolation) into a temporary
folder from a temporary copy of ``examples/formcheck-rule-example``, and every check runs in a
fresh interpreter that finds it on ``PYTHONPATH`` -- so the project venv is never modified and
discovery goes through ``importlib.metadata`` entry points exactly as for a user's install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "formcheck-rule-example"
DOCS = ROOT / "docs" / "writing-rules.md"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding the installed example distribution (module + dist-info with entry points)."""
    src = tmp_path_factory.mktemp("src") / EXAMPLE.name
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--disable-pip-version-check",
        "--target",
        str(target),
    ]
    # Offline with the venv's own setuptools when it can build wheels (setuptools >= 70.1 or `wheel`
    # installed); otherwise pip's isolated build fetches setuptools from PyPI (or its cache).
    proc = subprocess.run(
        [*pip, "--no-build-isolation", "--no-index", str(src)], capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0 and "bdist_wheel" in proc.stdout + proc.stderr:
        proc = subprocess.run([*pip, str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(target.glob("formcheck_rule_example-*.dist-info")), sorted(p.name for p in target.iterdir())
    return target


def run_py(site: Path, code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that sees the installed example (and tests/ for fixtures)."""
    environ = {k: v for k, v in os.environ.items() if k != "FORMCHECK_LOAD_PLUGINS"}
    environ["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT / "tests")])
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        cwd=ROOT,
    )


def rules_json(site: Path, *args: str, **env: str) -> dict:
    """``formcheck rules --json [args]`` in a fresh interpreter."""
    code = (
        "import sys; from formcheck_core.cli import main; sys.exit(main(['rules', '--json', *sys.argv[1:]]))"
    )
    proc = run_py(site, code, *args, **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_entry_point_is_discovered_and_listed(site):
    data = rules_json(site)
    by_id = {r["id"]: r for r in data["rules"]}
    assert by_id["slow_pull"]["plugin"] == "slow_pull"
    assert by_id["slow_pull"]["thresholds"] == {"max_duration_s": 3.0}
    assert "Can see" in by_id["slow_pull"]["doc"]
    plugin = next(p for p in data["plugins"] if p["name"] == "slow_pull")
    assert plugin["package"] == "formcheck-rule-example" and plugin["version"] == "0.1.0"
    assert plugin["hooks"] == ["register_rules"]
    assert "excessive_torso_lean" in by_id  # the built-ins are still there


def test_load_plugins_env_var_selects_or_excludes_it(site):
    assert "slow_pull" not in {r["id"] for r in rules_json(site, FORMCHECK_LOAD_PLUGINS="")["rules"]}
    named = rules_json(site, FORMCHECK_LOAD_PLUGINS="formcheck-rule-example")
    assert "slow_pull" in {r["id"] for r in named["rules"]}
    assert "slow_pull" in {r["id"] for r in rules_json(site, "--plugins", "slow_pull")["rules"]}
    assert "slow_pull" not in {r["id"] for r in rules_json(site, "--plugins", "")["rules"]}


def test_installed_rule_runs_in_the_analysis_with_thresholds_from_a_config(site, tmp_path):
    cfg = tmp_path / "thresholds.toml"
    cfg.write_text("[thresholds.slow_pull]\nmax_duration_s = 5.0\n")
    code = f"""
import json
from rule_fixtures import make_analysis, make_rep
from formcheck_core.rules import apply_rules, threshold_settings
from formcheck_core.coach import deterministic_cues
reps = (make_rep(1, rep_duration_s=1.5), make_rep(2, start=50, rep_duration_s=4.2),
        make_rep(3, start=100, complete=False))
out = {{}}
for name, thresholds in (("default", None), ("config", threshold_settings(config={str(cfg)!r}))):
    a = apply_rules(make_analysis(reps), thresholds)
    out[name] = [[f.rep, f.status, f.value, f.threshold, f.frame_index]
                 for f in a.findings if f.rule_id == "slow_pull"]
    out[name + "_errors"] = [e.error for e in a.rule_errors]
out["cue"] = deterministic_cues(apply_rules(make_analysis(reps)))[0].text
print(json.dumps(out))
"""
    proc = run_py(site, code)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["default"] == [
        [1, "ok", 1.5, 3.0, 90],
        [2, "fault", 4.2, 3.0, 240],
        [3, "not_measurable", None, None, None],
    ]
    assert [f[1] for f in out["config"]] == ["ok", "ok", "not_measurable"]
    assert out["default_errors"] == out["config_errors"] == []
    assert "4.2 s" in out["cue"]


def test_docs_show_the_example_package_verbatim():
    docs = DOCS.read_text()
    for name in ("pyproject.toml", "formcheck_rule_example.py"):
        body = (EXAMPLE / name).read_text().strip()
        assert body in docs, f"docs/writing-rules.md must include {name} exactly as in {EXAMPLE}"
