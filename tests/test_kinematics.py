"""Angles, lean, bar path, body length and the BodySeries of a synthetic lifter with known geometry."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_lifter import BODY_LENGTH, pose_from_angles, skeleton

from formcheck_core.biomech.kinematics import (
    bar_point,
    body_length_px,
    compute_body_series,
    facing_sign,
    joint_angle_deg,
    lean_from_vertical_deg,
    torso_lean_deg,
    uses_both_wrists,
    visible_side,
    world_lean_deg,
)
from formcheck_core.pose.landmarks import LANDMARK

NAN = np.nan

#: Every series name the BodySeries docstring promises.
DOCUMENTED = (
    "hip_angle_deg",
    "knee_angle_deg",
    "torso_lean_deg",
    "elbow_angle_deg",
    "bar_x_px",
    "bar_y_px",
    "hip_y_px",
    "shoulder_y_px",
    "heel_y_px",
    "toe_y_px",
)


def test_joint_angle_exact_values():
    b = np.zeros((4, 2))
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    c = np.array([[0.0, 1.0], [-1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(joint_angle_deg(a, b, c), [90.0, 180.0, 45.0, 0.0], atol=1e-9)


def test_joint_angle_nan_and_degenerate():
    a = np.array([[1.0, 0.0], [NAN, 0.0], [0.0, 0.0]])
    b = np.zeros((3, 2))
    c = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    out = joint_angle_deg(a, b, c)
    assert out[0] == pytest.approx(90.0)
    assert np.isnan(out[1]), "a missing point gives NaN"
    assert np.isnan(out[2]), "a zero-length segment gives NaN"
    assert joint_angle_deg(np.array([1.0, 0, 0]), np.zeros(3), np.array([0, 0, 1.0])) == pytest.approx(90.0)


def test_lean_from_vertical_signs():
    hip = np.array([[0.0, 0.0]] * 4)
    shoulder = np.array([[0.0, -10.0], [10.0, -10.0], [-10.0, -10.0], [10.0, 0.0]])
    np.testing.assert_allclose(lean_from_vertical_deg(hip, shoulder, 1), [0.0, 45.0, -45.0, 90.0])
    np.testing.assert_allclose(torso_lean_deg(hip, shoulder, -1), [0.0, -45.0, 45.0, -90.0])


def test_world_lean_forward_and_back():
    lh, rh = np.array([[-0.1, 0.0, 0.0]] * 3), np.array([[0.1, 0.0, 0.0]] * 3)
    # up x (right - left) = (0,-1,0) x (0.2,0,0) = (0, 0, +0.2): forward is +z.
    shoulders = np.array([[0.0, -0.5, 0.0], [0.0, -0.5, 0.5], [0.0, -0.5, -0.5]])
    np.testing.assert_allclose(
        world_lean_deg(np.zeros((3, 3)), shoulders, lh, rh), [0.0, 45.0, -45.0], atol=1e-9
    )


def test_body_length_and_bar_point():
    sh = np.array([[0.0, 0.0], [0.0, 0.0], [NAN, NAN]])
    hip = np.array([[0.0, 3.0], [0.0, 3.0], [0.0, 3.0]])
    knee = np.array([[4.0, 6.0], [0.0, 8.0], [0.0, 8.0]])
    ankle = np.array([[4.0, 10.0], [0.0, 10.0], [0.0, 10.0]])
    assert body_length_px(sh, hip, knee, ankle) == pytest.approx((12.0 + 10.0) / 2)
    assert np.isnan(body_length_px(sh[2:], hip[2:], knee[2:], ankle[2:]))
    near = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]])
    np.testing.assert_allclose(bar_point(near, near + 2.0), near + 1.0)
    far = np.full((3, 2), NAN)
    far[0] = [9.0, 9.0]
    np.testing.assert_allclose(
        bar_point(near, far), near, err_msg="far wrist mostly missing: near wrist only"
    )
    assert not uses_both_wrists(near, far) and uses_both_wrists(near, near + 2.0)
    np.testing.assert_allclose(bar_point(near, far, both=True)[0], [4.5, 4.5])


def test_synthetic_posture_has_the_constructed_angles():
    phi_s, phi_t, lam = np.full(20, 20.0), np.full(20, 50.0), np.full(20, 40.0)
    body = compute_body_series(pose_from_angles(phi_s, phi_t, lam))
    s = body.smoothed
    np.testing.assert_allclose(s["knee_angle_deg"], 180 - (50 + 20), atol=1e-6)
    np.testing.assert_allclose(s["hip_angle_deg"], 180 - (40 + 50), atol=1e-6)
    np.testing.assert_allclose(s["torso_lean_deg"], 40.0, atol=1e-6)
    np.testing.assert_allclose(s["elbow_angle_deg"], 180.0, atol=1e-6)
    np.testing.assert_allclose(s["hip_angle_world_deg"], 90.0, atol=1e-6)
    np.testing.assert_allclose(s["torso_lean_world_deg"], 40.0, atol=1.0)
    wrist = skeleton(20.0, 50.0, 40.0)["wrist"][0]
    np.testing.assert_allclose(s["bar_x_px"], wrist[0], atol=1e-6)
    np.testing.assert_allclose(s["bar_y_px"], wrist[1], atol=1e-6)
    assert body.body_length_px == pytest.approx(BODY_LENGTH)
    assert body.side == "right" and body.facing_sign == 1
    assert set(DOCUMENTED) <= set(s) and set(s) == set(body.raw)
    assert body.keypoints_px.shape == (20, 33, 2)
    assert "2.5 Hz" in body.filter_note and "visibility" in body.filter_note


def test_mirrored_lifter_faces_left_with_the_same_angles():
    args = (np.full(10, 20.0), np.full(10, 50.0), np.full(10, 40.0))
    body = compute_body_series(pose_from_angles(*args, mirror=True))
    assert body.facing_sign == -1
    np.testing.assert_allclose(body.smoothed["torso_lean_deg"], 40.0, atol=1e-6)
    np.testing.assert_allclose(body.smoothed["hip_angle_deg"], 90.0, atol=1e-6)
    assert body.side == "left"
    np.testing.assert_allclose(body.smoothed["torso_lean_world_deg"], 40.0, atol=1.0)
    assert facing_sign(body.keypoints_px, "left") == -1


def test_side_chosen_by_visibility():
    pose = pose_from_angles(np.zeros(5), np.zeros(5), np.zeros(5), near_visibility=0.2, far_visibility=0.9)
    assert visible_side(pose) == "left"
    assert compute_body_series(pose).side == "left"
    with pytest.raises(ValueError):
        compute_body_series(pose, side="up")


def test_changing_angles_are_tracked_through_the_filter():
    t = np.arange(60) / 10.0
    lam = 30.0 + 20.0 * np.sin(2 * np.pi * 0.25 * t)  # slow 0.25 Hz motion
    body = compute_body_series(pose_from_angles(np.full(60, 10.0), np.full(60, 30.0), lam))
    np.testing.assert_allclose(body.smoothed["torso_lean_deg"][5:-5], lam[5:-5], atol=1.0)
    np.testing.assert_allclose(body.raw["torso_lean_deg"], lam, atol=1e-6)


def test_low_visibility_is_missing_short_gaps_filled_long_gaps_kept():
    n = 40
    pose = pose_from_angles(np.full(n, 20.0), np.full(n, 50.0), np.full(n, 40.0))
    knee = LANDMARK["right_knee"]
    pose.visibility[10:12, knee] = 0.1  # 0.2 s: filled
    pose.visibility[25:31, knee] = 0.1  # 0.6 s: stays missing
    body = compute_body_series(pose, side="right")
    raw, sm = body.raw["knee_angle_deg"], body.smoothed["knee_angle_deg"]
    assert np.isnan(raw[10:12]).all() and np.isnan(raw[25:31]).all()
    np.testing.assert_allclose(sm[10:12], 110.0, atol=1e-6)
    assert np.isnan(sm[25:31]).all()
    assert np.isfinite(body.smoothed["torso_lean_deg"]).all(), "other joints are unaffected"


def test_no_pose_at_all_gives_nan_series_not_an_error():
    pose = pose_from_angles(np.zeros(8), np.zeros(8), np.zeros(8))
    pose.image_xy_px[:] = NAN
    pose.world_xyz_m[:] = NAN
    pose.visibility[:] = 0.0
    body = compute_body_series(pose)
    assert np.isnan(body.body_length_px)
    assert all(np.isnan(v).all() for v in body.smoothed.values())
