"""Test support for the render tests: a real-pose Analysis built by hand.

The pose is the real MediaPipe pose of a dev clip (from the cache, or extracted once). The body
series here are computed with plain 2-D geometry and the reps come from the hand labels in
labels_dev.json, so the render tests do not depend on the biomechanics modules (which have their
own tests). :func:`real_analysis` returns ``formcheck_core.analysis.analyze``'s result instead
when that pipeline is importable.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from formcheck_core.analysis import Analysis, load_or_extract_pose
from formcheck_core.biomech.body import BodySeries, Moment, Rep, ViewEstimate
from formcheck_core.config import shared_dir
from formcheck_core.cues import Cue
from formcheck_core.findings import Finding, Verdict
from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.video import probe_video


def shared_clip(name: str) -> Path:
    path = shared_dir() / "videos" / "dev" / name
    if not path.is_file():
        pytest.skip(f"shared dev clip {path} not found (set FORMCHECK_SHARED to the shared folder)")
    return path


def _labels(name: str) -> dict:
    return json.loads((shared_dir() / "videos" / "labels_dev.json").read_text())[f"dev/{name}"]


def _angle_deg(a: np.ndarray, v: np.ndarray, c: np.ndarray) -> np.ndarray:
    u, w = a - v, c - v
    cos = (u * w).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(w, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _smooth(x: np.ndarray, k: int = 3) -> np.ndarray:
    out = x.copy()
    for i in range(len(x)):
        win = x[max(0, i - k // 2) : i + k // 2 + 1]
        win = win[np.isfinite(win)]
        out[i] = win.mean() if win.size and np.isfinite(x[i]) else x[i]
    return out


def _series(kp: np.ndarray, side: str, facing: int) -> dict[str, np.ndarray]:
    j = {
        n: kp[:, LANDMARK[f"{side}_{n}"]]
        for n in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")
    }
    torso = j["shoulder"] - j["hip"]
    wrists = (kp[:, LANDMARK["left_wrist"]] + kp[:, LANDMARK["right_wrist"]]) / 2
    return {
        "hip_angle_deg": _angle_deg(j["shoulder"], j["hip"], j["knee"]),
        "knee_angle_deg": _angle_deg(j["hip"], j["knee"], j["ankle"]),
        "torso_lean_deg": np.degrees(np.arctan2(facing * torso[:, 0], -torso[:, 1])),
        "elbow_angle_deg": _angle_deg(j["shoulder"], j["elbow"], j["wrist"]),
        "bar_x_px": wrists[:, 0],
        "bar_y_px": wrists[:, 1],
        "hip_y_px": j["hip"][:, 1],
        "shoulder_y_px": j["shoulder"][:, 1],
        "heel_y_px": j["heel"][:, 1],
        "toe_y_px": j["foot_index"][:, 1],
    }


@lru_cache(maxsize=8)
def handmade_analysis(name: str) -> Analysis:
    """Analysis of a dev clip: real pose, simple 2-D angles, reps and moments from the labels."""
    path = shared_clip(name)
    lab = _labels(name)
    info = probe_video(path)
    pose, sha = load_or_extract_pose(info, progress=False)
    side = lab.get("near_side") if lab.get("near_side") in ("left", "right") else "left"
    facing = -1 if "left" in str(lab.get("facing")) else 1
    raw_kp = pose.image_xy_px.astype(float)
    kp = raw_kp.copy()
    for i in range(33):
        for d in (0, 1):
            kp[:, i, d] = _smooth(raw_kp[:, i, d])
    raw = _series(raw_kp, side, facing)
    smooth = _series(kp, side, facing)
    fi = pose.frame_index

    def sample(frame: int) -> int:
        return int(np.argmin(np.abs(fi - frame)))

    def moment(mname: str, frame: int) -> Moment:
        s = sample(frame)
        return Moment(mname, s, int(fi[s]), float(pose.time_s[s]))

    reps, findings, verdicts = [], [], []
    good = [r for r in lab["reps"] if r["liftoff_frame"] is not None and r["lockout_frame"] is not None]
    for n, r in enumerate(good, start=1):
        lo, lk = r["liftoff_frame"], r["lockout_frame"]
        setup = lab.get("setup_frame") if n == 1 and lab.get("setup_frame") is not None else lo - 6
        moments = {
            "setup": moment("setup", min(setup, lo - 3)),
            "liftoff": moment("liftoff", lo),
            "knee_pass": moment("knee_pass", (lo + lk) // 2),
            "lockout": moment("lockout", lk),
        }
        start = max(0, moments["setup"].sample - 3)
        end = min(len(fi) - 1, moments["lockout"].sample + round(float(1.0 * (pose.sample_fps or 10))))
        m = moments["liftoff"].sample
        lean = float(smooth["torso_lean_deg"][m])
        hip_lock = float(smooth["hip_angle_deg"][moments["lockout"].sample])
        bx = smooth["bar_x_px"][m : moments["lockout"].sample + 1]
        drift_px = (
            float(np.nanmax(np.abs(bx - smooth["bar_x_px"][m]))) if np.isfinite(bx).any() else float("nan")
        )
        metrics = {
            "torso_lean_liftoff_deg": lean,
            "hip_angle_lockout_deg": hip_lock,
            "max_bar_drift_px": drift_px,
            "max_bar_drift_rel": drift_px / 500.0,
        }
        # where the drift was read, as the analysis records it (the bar path's arrow ends there)
        drift_at = {}
        if np.isfinite(bx).any():
            k = m + int(np.nanargmax(np.abs(bx - smooth["bar_x_px"][m])))
            drift_at = {"max_bar_drift_px": k, "max_bar_drift_rel": k}
        reps.append(
            Rep(n, start, end, moments, metrics, complete=bool(r["complete"]), metric_samples=drift_at)
        )
        lean_fault = lean > 45
        f1 = Finding(
            "torso_lean",
            n,
            "fault" if lean_fault else "ok",
            "moderate" if lean_fault else "info",
            f"Torso lean at lift-off {lean:.0f}°",
            moment="liftoff",
            frame_index=moments["liftoff"].frame_index,
            time_s=moments["liftoff"].time_s,
            value=lean,
            threshold=45.0,
            unit="deg",
            metric="torso_lean_liftoff_deg",
            cue="Chest up before the bar leaves the floor" if lean_fault else "",
        )
        f2 = Finding(
            "lockout",
            n,
            "ok" if hip_lock >= 165 else "fault",
            "info",
            f"Hip angle at lockout {hip_lock:.0f}°",
            moment="lockout",
            frame_index=moments["lockout"].frame_index,
            time_s=moments["lockout"].time_s,
            value=hip_lock,
            threshold=165.0,
            unit="deg",
            metric="hip_angle_lockout_deg",
            cue="" if hip_lock >= 165 else "Squeeze the glutes to finish",
        )
        f3 = Finding(
            "bar_drift",
            n,
            "not_measurable",
            "info",
            "Bar drift needs a side view",
            metric="max_bar_drift_rel",
        )
        findings += [f1, f2, f3]
        verdicts.append(Verdict(n, "needs work" if lean_fault else "clean", f1 if lean_fault else None))
    body = BodySeries(
        time_s=pose.time_s,
        frame_index=fi,
        smoothed=smooth,
        raw=raw,
        keypoints_px=kp,
        side=side,
        facing_sign=facing,
        body_length_px=500.0,
        filter_note="test: 3-sample moving average",
    )
    view = ViewEstimate(str(lab.get("view", "side")).split("_")[0], 0.8, side, 0.2, ())
    return Analysis(
        video=info,
        video_sha256=sha,
        lift="deadlift",
        pose=pose,
        body=body,
        view=view,
        reps=tuple(reps),
        findings=tuple(findings),
        verdicts=tuple(verdicts),
        warnings=("test analysis built by hand",),
        options={"fps": 10.0},
    )


def cues_for(analysis: Analysis) -> list[Cue]:
    """Cues from the fault findings (a stand-in for formcheck_core.coach when it is absent)."""
    try:
        from formcheck_core.coach import deterministic_cues  # type: ignore[import-not-found]

        return list(deterministic_cues(analysis))
    except ImportError:
        pass
    faults = [f for f in analysis.findings if f.is_fault]
    return [
        Cue(
            i,
            f.cue or f.message,
            f.message,
            f.rule_id,
            f.rep,
            f.metric,
            f.value,
            f.unit,
            f.moment,
            f.frame_index,
            f.time_s,
        )
        for i, f in enumerate(faults, start=1)
    ]


@lru_cache(maxsize=8)
def real_analysis(name: str) -> Analysis:
    """``analyze()`` of a dev clip when the full pipeline is importable, else skip."""
    path = shared_clip(name)
    try:
        from formcheck_core.analysis import analyze

        return analyze(path, progress=False)
    except ImportError as exc:  # pipeline modules not written yet
        pytest.skip(f"analysis pipeline not available yet: {exc}")
