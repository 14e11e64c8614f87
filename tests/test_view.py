"""View estimate (side / front / oblique) and near side, on synthetic lifters with known geometry."""

from __future__ import annotations

import numpy as np
from synthetic_lifter import deadlift_pose

from formcheck_core.biomech.view import body_yaw_deg, classify_view, estimate_view
from formcheck_core.pose.landmarks import LANDMARK


def test_side_view_and_near_side():
    pose, _ = deadlift_pose(1)
    v = estimate_view(pose)
    assert v.view == "side" and v.side == "right"
    assert v.confidence > 0.9
    assert v.shoulder_ratio < 0.3
    assert v.notes == ()
    mirrored, _ = deadlift_pose(1, mirror=True)
    assert estimate_view(mirrored).side == "left"


def test_front_view_says_which_metrics_are_unreliable():
    pose, _ = deadlift_pose(1, view="front")
    assert body_yaw_deg(pose) < 5
    v = estimate_view(pose)
    assert v.view == "front"
    assert any("bar drift" in n and "Front view" in n for n in v.notes)


def test_oblique_between_side_and_front():
    pose, _ = deadlift_pose(1)
    w = pose.world_xyz_m
    for name in ("shoulder", "hip"):
        left, right = LANDMARK[f"left_{name}"], LANDMARK[f"right_{name}"]
        mid = 0.5 * (w[:, left] + w[:, right])
        # Turn the left-right axis to 45 deg between the image plane and the depth axis.
        w[:, left] = mid + np.array([-0.1, 0.0, -0.1])
        w[:, right] = mid + np.array([0.1, 0.0, 0.1])
    v = estimate_view(pose)
    assert v.view == "oblique"
    assert any("Oblique" in n for n in v.notes)


def test_confidence_drops_near_a_boundary_and_with_missing_frames():
    assert classify_view(88.0, 0.1) == ("side", 1.0)
    view, conf = classify_view(64.0, 0.1)
    assert view == "side" and conf < 0.7
    assert classify_view(64.0, 0.9)[1] < conf, "an image ratio that disagrees lowers the confidence"
    assert classify_view(float("nan"), float("nan")) == ("side", 0.0)
    pose, _ = deadlift_pose(1)
    full = estimate_view(pose).confidence
    pose.image_xy_px[::2] = np.nan
    pose.world_xyz_m[::2] = np.nan
    assert estimate_view(pose).confidence < full


def test_poorly_visible_lifter_is_noted():
    pose, _ = deadlift_pose(1, near_visibility=0.3, far_visibility=0.1)
    v = estimate_view(pose)
    assert any("poorly visible" in n for n in v.notes)
