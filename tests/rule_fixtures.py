"""Hand-built analyses for rule, plugin and coach tests: real value types, no video needed."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import pytest

from formcheck_core.analysis import Analysis
from formcheck_core.biomech.body import BodySeries, Moment, Rep, ViewEstimate
from formcheck_core.pose.series import PoseSeries
from formcheck_core.video import VideoInfo

#: Metrics of a clean conventional pull (side view), as rep_metrics would report them.
CLEAN = {
    "hip_angle_setup_deg": 75.0,
    "hip_angle_liftoff_deg": 80.0,
    "hip_angle_lockout_deg": 176.0,
    "knee_angle_bottom_deg": 110.0,
    "knee_angle_lockout_deg": 175.0,
    "torso_lean_liftoff_deg": 48.0,
    "torso_lean_lockout_deg": -2.0,
    "max_bar_drift_px": 20.0,
    "max_bar_drift_rel": 0.03,
    "max_bar_drift_cm": math.nan,
    "lockout_reached": 1.0,
    "hip_rise_lead_rel": 0.01,
    "min_elbow_angle_pull_deg": 172.0,
    "heel_rise_rel": 0.005,
    "rep_duration_s": 1.6,
    "squat_index_setup_deg": -10.0,
    "back_flexion_rel": 0.01,
    "back_angle_deg": -3.0,
    "back_mask_confidence": 0.8,
}


def make_rep(number: int = 1, *, complete: bool = True, start: int = 0, **metrics: float) -> Rep:
    """A rep with four moments 10 samples apart (10 fps, frame = 3 x sample), CLEAN metrics + overrides."""
    names = ("setup", "liftoff", "knee_pass", "lockout") if complete else ("setup", "liftoff", "knee_pass")
    moments = {
        n: Moment(n, start + 10 * i, 3 * (start + 10 * i), (start + 10 * i) / 10) for i, n in enumerate(names)
    }
    return Rep(
        number=number,
        start_sample=start,
        end_sample=start + 40,
        moments=moments,
        metrics={**CLEAN, **metrics},
        complete=complete,
    )


def make_analysis(
    reps: tuple[Rep, ...] = (), *, view: str = "side", lift: str = "deadlift", body: bool = True
) -> Analysis:
    """An Analysis around ``reps`` with tiny but well-formed pose/body series."""
    t = 60
    nan2 = np.full((t, 33, 2), np.nan)
    pose = PoseSeries(
        frame_index=np.arange(t) * 3,
        time_s=np.arange(t) / 10.0,
        image_xy_px=nan2,
        image_z=np.full((t, 33), np.nan),
        world_xyz_m=np.full((t, 33, 3), np.nan),
        visibility=np.zeros((t, 33)),
        people_count=np.ones(t, int),
        width_px=1920,
        height_px=1080,
        source_fps=30.0,
        sample_fps=10.0,
        model_id="test",
        running_mode="video",
    )
    series = (
        BodySeries(
            time_s=pose.time_s,
            frame_index=pose.frame_index,
            smoothed={},
            raw={},
            keypoints_px=nan2,
            side="left",
            facing_sign=1,
            body_length_px=600.0,
            filter_note="none",
        )
        if body
        else None
    )
    info = VideoInfo(
        path="test.mp4",
        width_px=1920,
        height_px=1080,
        fps=30.0,
        frame_count_header=180,
        rotation_deg=0,
        size_bytes=1,
    )
    vw = ViewEstimate(view=view, confidence=0.9, side="left", shoulder_ratio=0.2)
    return Analysis(
        video=info, video_sha256="0" * 64, lift=lift, pose=pose, body=series, view=vw, reps=tuple(reps)
    )


@contextlib.contextmanager
def lockout_without_torso_criterion() -> Iterator[None]:
    """Moments placed without the lockout's torso criterion (``UPRIGHT_MAX_LEAN_DEG`` = inf): what
    they were before it. ``posereader_arm_bend`` (whose torso stays 33° from vertical: a partial
    pull that never reached lockout, as labelled) then has one *complete* rep with bent_arms and
    incomplete_lockout faults (hips 144° at its top), for tests of views that show only complete
    reps (stills, the LLM's coaching data) and need such a rep from a real clip."""
    from formcheck_core.biomech import moments

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(moments, "UPRIGHT_MAX_LEAN_DEG", math.inf)
        yield


def all_rules_on(pm=None, overrides=None) -> dict:
    """Thresholds with every rule switched on (preset "all"), then ``overrides`` on top.

    The default preset switches off rules that do not beat never-flag in cross-validation; tests
    of rule mechanics exercise them all.
    """
    from formcheck_core.rules.thresholds import threshold_settings

    out = threshold_settings(preset="all", pm=pm)
    for rid, values in (overrides or {}).items():
        if isinstance(values, dict) and rid in out:
            out[rid] = {**out[rid], **values}
        else:
            out[rid] = values  # unknown rule or malformed table: apply_rules reports it
    return out
