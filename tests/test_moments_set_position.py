"""The set position is located once: the set-up moment's level (``moments._setup``) and the
``hip_angle_setup_deg`` reading (``rep_window.set_position_level``) rest on one sample,
``Rep.set_position_sample``, whatever series each reads.

In a front or oblique view segmentation can read the image hinge angle while the readings read the
3D one; before, each found its own held minimum on its own series, and on the dev clips
heavy_front_oblique_a and kettlebell_correct_front the two sat 1-2 samples apart in 9 pulls."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import DEV, dev_clip_stems
from synthetic_lifter import deadlift_pose

from formcheck_core.biomech.body import ViewEstimate
from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.metrics import with_metrics
from formcheck_core.biomech.moments import SETUP_TOL_DEG, hinge_angle_deg, segment_reps
from formcheck_core.biomech.rep_window import HOLD_S, set_position

OBLIQUE = ViewEstimate(view="oblique", confidence=1.0, side="right", shoulder_ratio=0.4)


def _assert_one_set_position(body, rep) -> None:
    """The reading sits on the recorded sample, which holds the hinge series' set-position level
    (the held minimum before lift-off, within the rep, no later than the set-up)."""
    setup, lift = rep.moments["setup"].sample, rep.moments["liftoff"].sample
    at = rep.set_position_sample
    assert at is not None, (rep.number, "a set-up without its set position's sample")
    assert rep.start_sample <= at <= setup, (rep.number, rep.start_sample, at, setup)
    assert rep.metric_samples.get("hip_angle_setup_deg") == at, (
        "the reading and the set-up moment's level sit on different samples",
        rep.number,
        rep.metric_samples.get("hip_angle_setup_deg"),
        at,
    )
    hinge = hinge_angle_deg(body)
    level, where = set_position(hinge, lift, rep.start_sample, float(1.0 / np.median(np.diff(body.time_s))))
    assert where == at and hinge[at] == level
    assert hinge[setup] <= level + SETUP_TOL_DEG


def test_reading_and_set_up_share_the_sample_when_the_series_differ():
    """An oblique view whose 3D hip angle dips for 0.2 s after the image one's lowest held value:
    segmentation (image series) and the reading (3D series) would each find another minimum; the
    reading is taken at the one sample segmentation found, in the view's series."""
    pose, _ = deadlift_pose(1)
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    at = rep.set_position_sample
    assert at is not None
    world = np.asarray(body.smoothed["hip_angle_deg"], float).copy()
    hold = round(HOLD_S * 10)  # samples at 10 samples/s
    assert at + hold <= rep.moments["setup"].sample
    world[at + 1 : at + 1 + hold] -= 15.0  # a held dip the image angle does not show, before the set-up
    body = replace(body, smoothed={**body.smoothed, "hip_angle_world_deg": world})
    (rep,) = segment_reps(body)  # the image angle still moves: segmentation reads it
    assert rep.set_position_sample == at
    rep = with_metrics(body, rep, view=OBLIQUE)
    assert rep.metric_samples["hip_angle_setup_deg"] == at, "read at its own series' minimum"
    assert rep.metrics["hip_angle_setup_deg"] == pytest.approx(world[at])
    _assert_one_set_position(body, rep)


def test_a_rep_without_its_set_position_sample_says_why():
    pose, _ = deadlift_pose(1)
    body = compute_body_series(pose)
    (rep,) = segment_reps(body)
    rep = with_metrics(body, replace(rep, set_position_sample=None), view=OBLIQUE)
    assert np.isnan(rep.metrics["hip_angle_setup_deg"])
    assert "set position was not located" in rep.unmeasured["hip_angle_setup_deg"]


@pytest.mark.parametrize("stem", dev_clip_stems())
def test_one_set_position_on_real_clips(stem, pose_model):
    """Every pull with a set-up on every dev clip (cached MediaPipe pose), side, front and oblique."""
    from formcheck_core.analysis import analyze

    a = analyze(DEV / f"{stem}.mp4", rules=False, progress=False)
    assert a.body is not None, f"{stem}: every labelled dev clip has a lifter posed"
    for rep in (*a.reps, *a.partial_pulls):
        if "setup" in rep.moments:
            _assert_one_set_position(a.body, rep)
        else:
            assert rep.set_position_sample is None
