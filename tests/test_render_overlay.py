"""Overlay drawing: skeleton where the keypoints are, angle arcs and read-outs, emphasis rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from render_support import handmade_analysis

from formcheck_core.pose.landmarks import LANDMARK
from formcheck_core.render import style as st
from formcheck_core.render.layout import ViewBox, lifter_box, sample_for_frame, view_box
from formcheck_core.render.overlay import draw_pose, emphasis_for, threshold_on_series
from formcheck_core.render.style import Style

CLIP = "phone_side_a.mp4"


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


def _black(analysis) -> np.ndarray:
    return np.zeros((analysis.video.height_px, analysis.video.width_px, 3), np.uint8)


def _colour_near(img: np.ndarray, xy, colour, radius: int, tol: int = 40) -> bool:
    x, y = round(float(xy[0])), round(float(xy[1]))
    patch = img[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1].astype(int)
    return bool((np.abs(patch - np.array(colour)).max(axis=2) <= tol).any())


def _liftoff_sample(analysis) -> int:
    return analysis.reps[0].moments["liftoff"].sample


def test_skeleton_pixels_are_at_the_keypoints(analysis):
    sample = _liftoff_sample(analysis)
    img = draw_pose(_black(analysis), analysis, sample, angles=(), bar=False)
    kp = analysis.body.keypoints_px[sample]
    side = analysis.body.side
    style = Style.for_width(img.shape[1])
    for joint in ("shoulder", "hip", "knee", "ankle"):
        assert _colour_near(img, kp[LANDMARK[f"{side}_{joint}"]], st.NEAR, style.joint_px), joint
    # nothing is drawn far from the lifter: the corners of the frame stay black
    x0, y0, x1, y1 = lifter_box(analysis, [sample], margin=0.3)
    mask = np.ones(img.shape[:2], bool)
    mask[y0:y1, x0:x1] = False
    assert img[mask].max() == 0
    assert img.sum() > 0


def test_near_side_is_bolder_than_far_side(analysis):
    sample = _liftoff_sample(analysis)
    img = draw_pose(_black(analysis), analysis, sample, angles=(), bar=False)
    near = np.all(np.abs(img.astype(int) - st.NEAR) <= 30, axis=2).sum()
    far = np.all(np.abs(img.astype(int) - st.FAR) <= 30, axis=2).sum()
    assert near > 2 * far > 0


def test_angle_readouts_render_text(analysis):
    sample = _liftoff_sample(analysis)
    plain = draw_pose(_black(analysis), analysis, sample, angles=(), bar=False)
    with_angles = draw_pose(_black(analysis), analysis, sample, bar=False)
    diff = np.abs(with_angles.astype(int) - plain.astype(int)).max(axis=2) > 0
    # arcs + three labels (about 30 px tall text boxes at this width) add thousands of pixels
    assert diff.sum() > 3000
    # white text pixels exist (labels are white on dark boxes for neutral angles)
    assert (with_angles.min(axis=2) > 230).sum() > 200


def test_fault_located_at_its_frame_turns_arc_red(analysis):
    rep = analysis.reps[0]
    f = next(f for f in analysis.findings if f.rule_id == "torso_lean" and f.rep == rep.number)
    fault = dataclasses.replace(f, status="fault", severity="moderate", confidence=None)
    assert threshold_on_series(analysis, fault, at_frame=True) == ("torso_lean_deg", fault.threshold)
    sample = sample_for_frame(analysis, fault.frame_index)
    img = draw_pose(_black(analysis), analysis, sample, findings=[fault], bar=False)
    red = np.all(np.abs(img.astype(int) - st.FAULT) <= 30, axis=2).sum()
    assert red > 200
    neutral = draw_pose(_black(analysis), analysis, sample, bar=False)
    assert np.all(np.abs(neutral.astype(int) - st.FAULT) <= 30, axis=2).sum() == 0
    # a fault the verdict does not count (minor: a note; low confidence: a warning) is not red
    for uncounted in (
        dataclasses.replace(fault, severity="minor"),
        dataclasses.replace(fault, confidence=0.2, quality="low confidence: right hip hidden"),
    ):
        img = draw_pose(_black(analysis), analysis, sample, findings=[uncounted], bar=False)
        assert np.all(np.abs(img.astype(int) - st.FAULT) <= 30, axis=2).sum() == 0
        assert np.all(np.abs(img.astype(int) - st.NOTE) <= 30, axis=2).sum() > 200


def test_transformed_value_threshold_is_not_drawn_on_the_series(analysis):
    f = next(f for f in analysis.findings if f.rule_id == "torso_lean")
    flipped = dataclasses.replace(f, value=-f.value, status="fault")  # e.g. a lean-back rule
    assert threshold_on_series(analysis, flipped) is None
    assert emphasis_for(analysis, [flipped]).thresholds == {}
    elsewhere = dataclasses.replace(f, frame_index=analysis.reps[0].moments["lockout"].frame_index)
    assert threshold_on_series(analysis, elsewhere) is not None  # on the scale ...
    assert threshold_on_series(analysis, elsewhere, at_frame=True) is None  # ... but not measured there


def test_view_box_maps_keypoints_into_the_crop(analysis):
    sample = _liftoff_sample(analysis)
    frame = _black(analysis)
    vb = view_box(lifter_box(analysis, [sample]), 720)
    crop = vb.apply(frame)
    assert crop.shape[1] == 720 and crop.shape[0] % 2 == 0
    img = draw_pose(crop, analysis, sample, view=vb, angles=(), bar=False)
    hip = vb.map(analysis.body.keypoints_px[sample, LANDMARK[f"{analysis.body.side}_hip"]])
    assert 0 <= hip[0] < img.shape[1] and 0 <= hip[1] < img.shape[0]
    assert _colour_near(img, hip, st.NEAR, Style.for_width(720).joint_px)


def test_missing_keypoints_draw_nothing(analysis):
    nan_kp = np.full((33, 2), np.nan)
    img = draw_pose(_black(analysis), analysis, 0, keypoints=nan_kp, bar=False)
    assert img.max() == 0


def test_draw_pose_does_not_modify_input_by_default(analysis):
    frame = _black(analysis)
    draw_pose(frame, analysis, _liftoff_sample(analysis))
    assert frame.max() == 0


def test_style_scales_with_width():
    small, large = Style.for_width(360), Style.for_width(1440)
    assert large.font_px > small.font_px >= 12
    assert large.line_px > small.line_px


def test_full_view_box_is_identity():
    vb = ViewBox.full(640, 360)
    pts = np.array([[10.0, 20.0], [np.nan, 5.0]])
    out = vb.map(pts)
    assert out[0].tolist() == [10.0, 20.0] and np.isnan(out[1, 0])


def test_an_angle_read_from_a_low_confidence_joint_is_marked_on_the_picture(analysis):
    """Where the curves grey a stretch (a joint of the angle at low pose confidence), the still's
    angle label carries LOW_CONFIDENCE_SUFFIX in the muted colour; elsewhere it is unchanged."""
    from formcheck_core.biomech.quality import PoseQuality
    from formcheck_core.render.overlay import _low_confidence_at
    from formcheck_core.vocabulary import LOW_CONFIDENCE_SUFFIX

    sample = _liftoff_sample(analysis)
    n = analysis.pose.n_samples
    ones = np.ones((n, 33))
    confidence = ones.copy()
    confidence[sample, LANDMARK[f"{analysis.body.side}_knee"]] = 0.1  # the near knee, hidden here
    q = PoseQuality(confidence, ones, ones, np.zeros((n, 33)), ones, ones.astype(bool))
    doubted = dataclasses.replace(analysis, pose_quality=q)
    clear = dataclasses.replace(
        analysis, pose_quality=PoseQuality(ones, ones, ones, np.zeros((n, 33)), ones, ones.astype(bool))
    )
    assert _low_confidence_at(doubted, "knee_angle_deg", sample, raw=False)
    assert not _low_confidence_at(doubted, "knee_angle_deg", sample + 1, raw=False)
    assert not _low_confidence_at(clear, "knee_angle_deg", sample, raw=False)
    assert LOW_CONFIDENCE_SUFFIX.strip()
    marked = draw_pose(_black(analysis), doubted, sample, angles=("knee_angle_deg",))
    plain = draw_pose(_black(analysis), clear, sample, angles=("knee_angle_deg",))
    assert not np.array_equal(marked, plain)  # the label (text and colour) differs
    assert np.array_equal(
        draw_pose(_black(analysis), doubted, sample + 1, angles=("knee_angle_deg",)),
        draw_pose(_black(analysis), clear, sample + 1, angles=("knee_angle_deg",)),
    )


@pytest.mark.parametrize("scale", [1.0, 1.37, 0.62, 0.3])
def test_view_box_drawn_into_rows_of_a_bigger_picture_is_its_copy(scale):
    """The clip copies or resizes each crop straight into the middle rows of its output picture:
    the same pixels as the crop on its own, and nothing outside those rows touched."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    vb = ViewBox(37, 21, 311, 263, scale)
    w, h = vb.out_size
    picture = np.full((h + 30, w, 3), 7, np.uint8)
    rows = picture[10 : 10 + h]
    assert vb.apply(frame, out=rows) is rows
    np.testing.assert_array_equal(rows, vb.apply(frame))
    assert (picture[:10] == 7).all() and (picture[10 + h :] == 7).all()
