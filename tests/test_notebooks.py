"""Every notebook runs top to bottom, headless (nbclient), on clips from the shared folder.

Parameters are overridden the papermill way: a cell tagged "injected-parameters" is inserted
after the cell tagged "parameters" (short clips, a temporary output folder, the tiny real test
LLM). Check cells appended after the notebook drive its widgets in the same kernel and print
JSON, which the tests read: the notebooks themselves stay free of test code. Also checks that
the committed notebooks carry no outputs (frames of third-party clips must never be committed).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest

from formcheck_core.config import REPO_ROOT

pytestmark = pytest.mark.slow

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: Marks the JSON a check cell prints.
RESULT = "FORMCHECK-RESULT:"
CELL_TIMEOUT_S = 900


def _params_index(nb) -> int:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


def run_notebook(name: str, workdir: Path, overrides: str = "", checks: str = "") -> tuple[object, dict]:
    """Execute notebook ``name`` with ``overrides`` after its parameters and ``checks`` appended.

    Returns the executed notebook and the JSON the check cell printed after :data:`RESULT`.
    Raises nbclient's CellExecutionError (with the cell and traceback) if any cell fails.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    i = _params_index(nb)
    if overrides:
        cell = nbformat.v4.new_code_cell(overrides)
        cell.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(i + 1, cell)
    if checks:
        nb.cells.append(nbformat.v4.new_code_cell(checks))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        store_widget_state=False,
    )
    client.execute()
    result: dict = {}
    if checks:
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
        lines = [line for line in text.splitlines() if line.startswith(RESULT)]
        assert lines, f"the check cell printed no result:\n{text[-2000:]}"
        result = json.loads(lines[-1][len(RESULT) :])
    return nb, result


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            parts.append(o.get("text", ""))
            data = o.get("data", {})
            parts.append(data.get("text/plain", ""))
            parts.append(data.get("text/html", ""))
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# The committed notebooks


def test_there_are_five_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_analyse_a_deadlift.ipynb",
        "02_explore_frame_by_frame.ipynb",
        "03_write_your_own_rule.ipynb",
        "04_thresholds_vs_llm.ipynb",
        "05_dataset.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} has outputs: clear them before committing (they may show frames of third-party clips)"
            )
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state (pictures of frames): clear it"
    i = _params_index(nb)
    first_code = next(j for j, c in enumerate(nb.cells) if c.cell_type == "code")
    assert i == first_code, "the parameters cell must be the first code cell"
    assert "shared_dir()" in nb.cells[i].source, "clip paths come from formcheck_core.config.shared_dir()"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


# --------------------------------------------------------------------------------------------
# Executed


def test_01_analyse_a_deadlift(shared, pose_model, tmp_path):
    out = tmp_path / "out"
    overrides = f"""
CLIP = shared_dir() / "videos" / "dev" / "posereader_good.mp4"  # one complete rep (posereader_arm_bend is a partial pull)
OUT_DIR = {str(out)!r}
LLM_MODEL = "test"
STILLS_SHOWN = 2
"""
    checks = f"""
import json
print({RESULT!r} + json.dumps({{
    "reps": len(analysis.reps), "source": result.source, "label": result.label,
    "n_cues": len(result.cues), "cue_sources": sorted({{c.source for c in result.cues}}),
    "panel_cues": panel.cues.value, "status": panel.status.value, "grounding": panel.grounding.value,
    "stills": [str(s.path) for s in outputs.stills],
    "lockout_cells": [metric_cell(analysis, rep, "lockout_reached") for rep in analysis.reps],
    "summary": format_summary(analysis),
}}))
"""
    nb, r = run_notebook("01_analyse_a_deadlift.ipynb", tmp_path, overrides, checks)
    # the metrics table says whether each rep locked out in the summary's words ("yes" / "no (…)", not 0/1)
    said = [
        line.split("lockout reached", 1)[1].strip()
        for line in r["summary"].splitlines()
        if "lockout reached" in line
    ]
    assert said and r["lockout_cells"] == said, (r["lockout_cells"], said)
    assert r["reps"] >= 1
    assert r["stills"] and all(Path(p).is_file() and Path(p).parent.parent == out for p in r["stills"])
    assert (out / "analysis.json").is_file()
    data = json.loads((out / "analysis.json").read_text())
    assert len(data["reps"]) == r["reps"]
    # the tiny model's text never passes as advice: either its grounded cues are labelled, or the rules'
    assert r["source"] in ("test-model", "rules")
    assert 1 <= r["n_cues"] <= 5
    if r["source"] == "test-model":
        assert r["label"] == "test model — not advice" and "not coaching" in r["panel_cues"]
    else:
        assert "Cues from the rules" in r["status"]
    assert "Grounding check" in r["grounding"]
    text = _outputs_text(nb)
    assert "Hip angle" in text or "hip_angle" in text  # the metrics table rendered
    pictures = sum(
        bool({"image/png", "image/jpeg"} & o.get("data", {}).keys())
        for c in nb.cells
        for o in c.get("outputs", [])
    )
    assert pictures >= 3, "curves (PNG), stills and bar path pictures (JPEG) are displayed"


EXPLORER_CHECKS = f"""
import json
import numpy as np
from formcheck_core.render.overlay import displayed_series

a, ex = multi, explorer
out = {{"n_samples": ex.n_samples, "reps": len(a.reps), "single_samples": single_explorer.n_samples}}
# move the slider the way the browser does (setting its value) and read what is shown
frames, xs = [], []
for s in (5, ex.n_samples // 2, ex.n_samples - 3):
    img_before = ex.image.value
    ex.slider.value = s
    st = ex.state()
    assert ex.readout.value.count(f"data-sample='{{s}}'") == 1
    assert ex.image.value != img_before
    want = float(a.body.smoothed[displayed_series(a, "hip_angle_deg")][s])
    assert (np.isnan(want) and np.isnan(st.values["hip_angle_deg"])) or abs(st.values["hip_angle_deg"] - want) < 1e-9
    frames.append(st.frame_index)
    xs.append(ex.cursor_x_px())
out["frames"] = frames
out["expected_frames"] = [int(a.body.frame_index[s]) for s in (5, ex.n_samples // 2, ex.n_samples - 3)]
out["cursor_x"] = xs
# rep and moment buttons
ex.rep_buttons[len(a.reps) - 1].click()  # the last complete rep's button (partial pulls' follow)
last = a.reps[-1]
out["rep_jump"] = [ex.slider.value, last.moments["liftoff"].sample if "liftoff" in last.moments else last.start_sample]
if "lockout" in last.moments:
    ex.moment_buttons["lockout"].click()
    out["lockout_jump"] = [ex.slider.value, last.moments["lockout"].sample, ex.state().moment]
# raw / smoothed
ex.mode.value = "raw"
st = ex.state()
want = float(a.body.raw[displayed_series(a, "torso_lean_deg", raw=True)][st.sample])
out["raw"] = [st.mode, st.values["torso_lean_deg"], want, "raw" in ex.readout.value]
ex.mode.value = "smoothed"
out["renders"] = ex.renders
out["render_ms_median"] = 1000 * float(np.median(list(ex.render_times_s)))
out["cache_frames"] = ex.frames.cached_frames
out["cache_mb"] = ex.frames.cached_bytes / 1e6
ex.close(); single_explorer.close()
print({RESULT!r} + json.dumps(out))
"""


def test_02_explore_frame_by_frame(shared, pose_model, tmp_path):
    nb, r = run_notebook("02_explore_frame_by_frame.ipynb", tmp_path, checks=EXPLORER_CHECKS)
    assert r["reps"] >= 2 and r["n_samples"] > 50 and r["single_samples"] > 5
    # the moments table speaks as the explorer does: moment names for people, "–" for a joint not tracked
    table = "".join(
        o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "sm/raw" in o.get("text", "")
    )
    assert "lift-off" in table and "lockout" in table
    assert not {"liftoff", "knee_pass", "nan"} & set(table.split()), table
    assert r["frames"] == r["expected_frames"]
    x = r["cursor_x"]
    assert x[0] < x[1] < x[2], "the curves' cursor follows the slider"
    slider, want = r["rep_jump"]
    assert slider == want
    if "lockout_jump" in r:
        slider, want, moment = r["lockout_jump"]
        assert slider == want and moment == "lockout"
    mode, got, want, shown = r["raw"]
    assert mode == "raw" and shown
    assert (math.isnan(got) and math.isnan(want)) or abs(got - want) < 1e-9
    assert r["cache_mb"] <= 48.5


def test_03_write_your_own_rule(shared, pose_model, tmp_path):
    plugin_dir = tmp_path / "formcheck-stiff-legs"
    overrides = f"PLUGIN_DIR = {str(plugin_dir)!r}\n"
    checks = f"""
import json
from formcheck_core.plugins import get_plugin_manager
from formcheck_core.rules import collect_rules
mine = {{name: [[f.rep, f.status, f.value, f.threshold] for f in a.findings if f.rule_id == "stiff_legged_pull"]
        for name, a in ruled.items()}}
sweep = [[p.value, p.faults, p.measured] for p in tuner.sweep("max_knee_deg", [0, 60, 120, 179.9])]
print({RESULT!r} + json.dumps({{
    "mine": mine, "sweep": sweep, "installed": answer,
    "still_registered": "stiff_legged_pull" in collect_rules(get_plugin_manager())[0],
}}))
"""
    _, r = run_notebook("03_write_your_own_rule.ipynb", tmp_path, overrides, checks)
    # the runtime rule ran on every rep of every clip and compared the metric with its limit
    assert r["mine"] and all(r["mine"].values())
    for findings in r["mine"].values():
        for _rep, status, value, threshold in findings:
            assert status in ("fault", "ok", "not_measurable")
            if status != "not_measurable":
                assert threshold == 150.0
                assert (status == "fault") == (value > threshold)
    # a lower limit never flags fewer reps
    faults = [f for _, f, _ in r["sweep"]]
    assert faults == sorted(faults, reverse=True)
    assert r["sweep"][0][1] == r["sweep"][0][2], "at 0° every measured rep is flagged"
    # the tutorial's clips show the rule at work: every rep has its knee angle measured
    n_reps = sum(len(findings) for findings in r["mine"].values())
    assert r["sweep"][0][2] == n_reps >= 2, "a clip whose knee angle is not measurable teaches nothing here"
    # the installed package was found through its entry point by a fresh interpreter
    by_id = {x["id"]: x for x in r["installed"]["rules"]}
    assert by_id["stiff_legged_pull"]["plugin"] == "stiff_legged_pull"
    assert by_id["stiff_legged_pull"]["thresholds"] == {"max_knee_deg": 150.0}
    assert r["installed"]["findings"], "the installed rule ran in the fresh interpreter"
    assert (plugin_dir / "pyproject.toml").is_file() and (plugin_dir / "formcheck_stiff_legs.py").is_file()
    assert not r["still_registered"], "the notebook unregisters its run-time rule"


def test_04_thresholds_vs_llm(shared, pose_model, tmp_path):
    overrides = """
DEV = shared_dir() / "videos" / "dev"
CLIPS = [DEV / "gym1080_bad_02.mp4", DEV / "posereader_arm_bend.mp4", DEV / "reel_bad_bar_far_12.mp4"]
LLM_MODEL = "test"
N_BOOT = 200
SWEEP_VALUES = [30, 45, 60, 75, 90]
"""
    checks = f"""
import json
from formcheck_core.compare import report_to_dict
print({RESULT!r} + json.dumps({{
    "report": report_to_dict(report),
    "sweep": [[p.value, p.faults, p.measured, p.clips_flagged, p.labelled, p.agree] for p in points],
    "summary": tuner.summary.value,
}}))
"""
    nb, r = run_notebook("04_thresholds_vs_llm.ipynb", tmp_path, overrides, checks)
    rep = r["report"]
    assert [c["clip"] for c in rep["clips"]] == [
        "gym1080_bad_02",
        "posereader_arm_bend",
        "reel_bad_bar_far_12",
    ]
    assert rep["is_test_model"] is True and rep["label"] == "test model — not meaningful"
    assert len(rep["vocabulary"]) >= 5
    # both methods on the same clips: every scored clip has reps, excluded ones are listed with a reason
    assert set(rep["scored_clips"]) | {e["clip"] for e in rep["excluded"]} == {
        c["clip"] for c in rep["clips"]
    }
    methods = {m["method"] for s in rep["scores"] for m in s["methods"]}
    assert {"never-flag baseline", "always-flag baseline", "rules (shipped thresholds, in-sample)"} <= methods
    if rep["scored_clips"]:
        assert "LLM-only" in methods
    text = _outputs_text(nb)
    assert "test model — not meaningful" in text and "never-flag baseline" in text and "in-sample" in text
    # sweep: a higher lean limit never flags more reps; labels exist for all three clips
    faults = [s[1] for s in r["sweep"]]
    assert faults == sorted(faults, reverse=True)
    assert all(s[4] == 3 for s in r["sweep"]), "all three clips have a true/false torso-lean label"
    assert "labelled clips" in r["summary"]


def test_05_dataset(shared, pose_model, tmp_path):
    pytest.importorskip("pandas")
    overrides = f"""
DEV = shared_dir() / "videos" / "dev"
CLIPS = [DEV / f"posereader_{{n}}.mp4" for n in ("good", "bad", "arm_bend", "rdl", "heellift")]
OUT = {str(tmp_path / "out")!r}
WORKERS = 1
"""
    checks = f"""
import json
print({RESULT!r} + json.dumps({{
    "clips": ds.clips["clip"].tolist(), "statuses": ds.clips["status"].tolist(), "pulls": len(ds.reps),
    "labelled": sorted(ds.labels["clip"].unique()), "roc": {{k: v["clips"] for k, v in roc.items()}},
    "disagreements": int(len(disagree)), "links": links,
}}))
"""
    _, r = run_notebook("05_dataset.ipynb", tmp_path, overrides, checks)
    assert r["clips"] == [f"posereader_{n}" for n in ("good", "bad", "arm_bend", "rdl", "heellift")]
    assert "error" not in r["statuses"] and r["pulls"] >= 4
    assert r["labelled"] == sorted(r["clips"])
    assert r["roc"] and all(n >= 2 for n in r["roc"].values())  # a curve needs a positive and a negative
    assert len(r["links"]) == len({c for c in r["links"]}) and (r["disagreements"] > 0) == bool(r["links"])
    for page in r["links"].values():  # each disagreeing clip's report with its stills
        html = Path(page).read_text()
        assert "<img" in html


def test_05_dataset_with_no_roc_curve_says_so(shared, pose_model, tmp_path):
    """Three clips where no rule has both a measured, labelled fault and a measured, labelled clean
    clip: the ROC cell says so in words, and no cell writes a warning (it drew an empty plot with
    matplotlib's "No artists with labels found" warning)."""
    pytest.importorskip("pandas")
    overrides = f"""
DEV = shared_dir() / "videos" / "dev"
CLIPS = [DEV / f"{{n}}.mp4" for n in ("bench_oblique", "gym1080_bad_02", "gym1080_bad_03")]
OUT = {str(tmp_path / "out")!r}
WORKERS = 1
"""
    checks = f"""
import json
print({RESULT!r} + json.dumps({{"roc": sorted(roc)}}))
"""
    nb, r = run_notebook("05_dataset.ipynb", tmp_path, overrides, checks)
    assert r["roc"] == []
    assert (
        "No ROC curve: no rule measured both a clip labelled with its fault and a clip labelled clean"
        in _outputs_text(nb)
    )
    assert "could not measure (a front view, say) and count it in not_measured" in _outputs_text(nb)
    stderr = [o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not [t for t in stderr if "Warning" in t], stderr
