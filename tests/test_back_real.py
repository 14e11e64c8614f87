"""The back profile and the rounded_back rule on real dev clips (real MediaPipe masks).

One clip labelled rounded (side view, one rep) and one labelled clean with an overall "good" are
analysed; the rule must flag the first and pass the second, each with a margin of at least a
factor 1.5 from the limit (dev values: 0.069 and 0.000 against 0.028). Full accuracy over every
dev clip, cross-validated: ``scripts/evaluate_rules.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from formcheck_core.analysis import analyze
from formcheck_core.biomech.back_series import measured_samples

pytestmark = pytest.mark.slow

ROUNDED, CLEAN = "gym1080_bad_02", "posereader_good"


@pytest.fixture(scope="module")
def analysed(dev_clip, pose_model):
    return {stem: analyze(dev_clip(stem), pose_model=pose_model, progress=False) for stem in (ROUNDED, CLEAN)}


def test_the_clips_are_what_the_labels_say(dev_labels):
    assert dev_labels[ROUNDED]["faults"]["rounded_back"] is True and dev_labels[ROUNDED]["view"] == "side"
    clean = dev_labels[CLEAN]
    assert clean["faults"]["rounded_back"] is False and clean["overall"] == "good" and clean["view"] == "side"


def test_rounded_clip_flags_and_clean_clip_does_not(analysed):
    rounded = [f for f in analysed[ROUNDED].findings if f.rule_id == "rounded_back"]
    clean = [f for f in analysed[CLEAN].findings if f.rule_id == "rounded_back"]
    assert rounded and clean
    assert any(f.is_fault and f.value > 1.5 * f.threshold for f in rounded)
    assert all(f.status == "ok" and f.value < f.threshold / 1.5 for f in clean)
    fault = next(f for f in rounded if f.is_fault)
    assert "lower back flat" in fault.cue and fault.severity == "major"


def test_back_series_covers_each_pull_from_setup_to_knee_pass(analysed):
    """Read in the pose pass: every sample, so each pull's set-up..knee pass (the knee pass
    included), with a readable, confident outline on most of them, in source pixels."""
    for a in analysed.values():
        back = a.back
        assert back is not None and back.sample.tolist() == list(range(a.pose.n_samples))
        for rep in a.reps:
            assert set(measured_samples(rep)) <= set(back.sample.tolist())
            assert (
                rep.moments["setup"].sample <= measured_samples(rep)[0] <= rep.moments["liftoff"].sample + 1
            )
            assert measured_samples(rep)[-1] == rep.moments["knee_pass"].sample
        rows = [back.row(s) for rep in a.reps for s in measured_samples(rep)]
        ok = np.isfinite(back.back_flexion_rel[rows])
        assert ok.mean() >= 0.5 and (back.mask_confidence[rows][ok] > 0).all()
        edges = back.edge_xy_px[np.isfinite(back.back_flexion_rel)]
        finite = edges[np.isfinite(edges[..., 0])]
        assert ((finite >= 0) & (finite <= [a.video.width_px, a.video.height_px])).all()  # source pixels


def test_back_off_or_front_view_leaves_the_rule_not_measurable(dev_clip, pose_model):
    a = analyze(dev_clip(CLEAN), pose_model=pose_model, progress=False, back=False)
    assert a.back is None
    found = [f for f in a.findings if f.rule_id == "rounded_back"]
    assert found and all(f.status == "not_measurable" for f in found)


def test_rounded_back_still_draws_the_outline_where_it_was_measured(analysed, tmp_path):
    from formcheck_core.render import style as st
    from formcheck_core.render.back_outline import draw_back_outline
    from formcheck_core.render.layout import ViewBox
    from formcheck_core.render.stills import plan_stills
    from formcheck_core.render.style import Style

    a = analysed[ROUNDED]
    (still,) = [s for s in plan_stills(a, tmp_path) if any(f.rule_id == "rounded_back" for f in s.findings)]
    assert still.sample in a.back.sample.tolist()  # the still shows a frame the mask was read on
    view = ViewBox.full(a.video.width_px, a.video.height_px)
    img = np.zeros((a.video.height_px, a.video.width_px, 3), np.uint8)
    assert draw_back_outline(img, a, still.sample, view, Style.for_width(img.shape[1]), fault=True)
    red = np.all(img == st.FAULT, axis=2)
    assert red.sum() > 200
    ys, xs = np.nonzero(red)
    edges = a.back.edge_xy_px[a.back.row(still.sample)]
    edges = edges[np.isfinite(edges[:, 0])]
    lo, hi = edges.min(axis=0) - 40, edges.max(axis=0) + 40
    assert ((xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])).all()  # drawn on the back
    blank = np.zeros_like(img)
    unmeasured = next(s for s in range(a.pose.n_samples + 1) if a.back.row(s) is None)
    assert not draw_back_outline(blank, a, unmeasured, view, Style.for_width(100), fault=True)
    assert not blank.any()  # a sample the pass did not measure draws nothing


def test_a_pull_after_a_splice_is_measured_and_flagged(dev_clip, dev_labels, pose_model):
    """Two clips spliced at frame 33: a clean rep, then a rounded-back pull that starts at the
    splice. The shot after the cut is posed by a fresh tracker (:mod:`formcheck_core.pose.shots`),
    so its outline is read from its first samples: the rounded pull is measured and flagged, the
    clean rep before the splice passes. (With one tracker for the whole clip, the outline was not
    read on 2 of the pull's first 3 samples and the pull was "not measurable".)"""
    stem, cut = "posereader_good_bad", 33
    assert dev_labels[stem]["faults"]["rounded_back"] is True and dev_labels[stem]["overall"] == "bad"
    a = analyze(dev_clip(stem), pose_model=pose_model, progress=False)
    assert cut in a.scene_cut_frames
    after = [p for p in (*a.reps, *a.partial_pulls) if min(m.frame_index for m in p.moments.values()) >= cut]
    before = [p for p in a.reps if max(m.frame_index for m in p.moments.values()) < cut]
    assert after and before
    back = {f.rep: f for f in a.findings if f.rule_id == "rounded_back"}
    for pull in after:
        assert np.isfinite(pull.metrics["back_flexion_rel"]) and "back_flexion_rel" not in pull.unmeasured
        assert back[pull.number].is_fault
    assert all(back[r.number].status == "ok" for r in before)
