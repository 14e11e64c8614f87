"""When the CLI starts its render worker: once the pose is known, not before the pose pass.

The worker's start-up (imports, warm-up) should run beside the analysis that follows the pose
pass (one core busy), not beside the pose pass itself (both busy): ``analyze(on_pose=...)``.
"""

from __future__ import annotations

import pytest

import formcheck_core.analysis as analysis_module
import formcheck_core.render.outputs as outputs_module
from formcheck_core.analysis import analyze
from formcheck_core.cli import main

CLIP = "posereader_good"


def test_on_pose_is_called_once_with_the_pose_known_before_the_rest(dev_clip, pose_model, monkeypatch):
    events: list[str] = []
    real = analysis_module.load_or_extract_pose

    def pose(*args, **kwargs):
        result = real(*args, **kwargs)
        events.append("pose")
        return result

    def body(*args, **kwargs):  # the first step of the analysis after the pose
        events.append("body")
        return real_body(*args, **kwargs)

    import formcheck_core.biomech.kinematics as kinematics

    real_body = kinematics.compute_body_series
    monkeypatch.setattr(analysis_module, "load_or_extract_pose", pose)
    monkeypatch.setattr(kinematics, "compute_body_series", body)
    a = analyze(dev_clip(CLIP), progress=False, on_pose=lambda: events.append("on_pose"))
    assert a.reps  # a real analysis ran to the end
    assert events == ["pose", "on_pose", "body"]


@pytest.mark.parametrize("no_report", [False, True])
def test_the_cli_starts_its_render_worker_after_the_pose_and_only_for_a_report(
    no_report, dev_clip, pose_model, tmp_path, monkeypatch
):
    events: list[str] = []
    real_pose = analysis_module.load_or_extract_pose
    real_start = outputs_module.start_render_worker
    real_render = outputs_module.render_all
    workers = []

    def pose(*args, **kwargs):
        result = real_pose(*args, **kwargs)
        events.append("pose")
        return result

    def start():
        events.append("worker")
        workers.append(real_start())
        return workers[-1]

    def render(*args, **kwargs):
        events.append("render")
        assert kwargs.get("worker") is workers[0]  # the early worker is the one the render uses
        return real_render(*args, **kwargs)

    import formcheck_core.render.report as report_module

    monkeypatch.setattr(analysis_module, "load_or_extract_pose", pose)
    monkeypatch.setattr(outputs_module, "start_render_worker", start)
    monkeypatch.setattr(report_module, "render_all", render)
    argv = ["analyze", str(dev_clip(CLIP)), "--out", str(tmp_path / "out"), "--quiet", "--no-clip"]
    assert main([*argv, "--no-report"] if no_report else argv) == 0
    if no_report:
        assert events == ["pose"] and not (tmp_path / "out" / "index.html").exists()
    else:
        assert events == ["pose", "worker", "render"]
        assert (tmp_path / "out" / "index.html").is_file()
        if workers[0] is not None:  # closed by the CLI when it is done
            assert not workers[0].alive
