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
from formcheck_core.biomech.back_series import back_samples, measured_samples
from formcheck_core.pose import back_pass

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
    """Read in the main pose pass (a clip posed now): every sample. Read by the targeted pass (the
    pose was cached without back rows): each pull's set-up..knee pass only. Either way each pull's
    set-up..knee pass (at MEASURE_STRIDE) is there, the knee pass included."""
    for a in analysed.values():
        back = a.back
        assert back is not None
        every = back.sample.tolist() == list(range(a.pose.n_samples))
        if not every:  # the targeted pass
            assert back.sample.tolist() == back_samples(a.reps)
            assert len(back.sample) < a.pose.n_samples / 2
        for rep in a.reps:
            assert set(measured_samples(rep)) <= set(back.sample.tolist())
            assert (
                rep.moments["setup"].sample <= measured_samples(rep)[0] <= rep.moments["liftoff"].sample + 1
            )
            assert measured_samples(rep)[-1] == rep.moments["knee_pass"].sample
            assert every or rep.moments["lockout"].sample not in back.sample
        rows = [back.row(s) for rep in a.reps for s in measured_samples(rep)]
        ok = np.isfinite(back.back_flexion_rel[rows])
        assert ok.mean() >= 0.5 and (back.mask_confidence[rows][ok] > 0).all()
        edges = back.edge_xy_px[np.isfinite(back.back_flexion_rel)]
        finite = edges[np.isfinite(edges[..., 0])]
        assert ((finite >= 0) & (finite <= [a.video.width_px, a.video.height_px])).all()  # source pixels


def test_rows_are_cached_without_masks_and_reused(analysed, pose_model, tmp_path, monkeypatch):
    import formcheck_core.cache as cache

    a = analysed[CLEAN]
    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path)
    first = back_pass.back_series(
        a.video, a.body, a.reps, pose_model, model_id=a.pose.model_id, video_sha256=a.video_sha256
    )
    files = list((tmp_path / "back").glob("*.npz"))
    assert len(files) == 1
    with np.load(files[0]) as table:
        assert set(table.files) == {
            "frame_index",
            "back_flexion_rel",
            "back_angle_deg",
            "mask_confidence",
            "edge_xy_px",
        }
        assert all(table[k].ndim <= 3 and table[k].size <= 64 * len(first.sample) for k in table.files)

    def no_model(*args, **kwargs):
        raise AssertionError("the second run must read the cache, not run the model")

    monkeypatch.setattr(back_pass, "measure_frames", no_model)
    again = back_pass.back_series(
        a.video, a.body, a.reps, pose_model, model_id=a.pose.model_id, video_sha256=a.video_sha256
    )
    np.testing.assert_array_equal(again.back_flexion_rel, first.back_flexion_rel)
    np.testing.assert_array_equal(again.frame_index, first.frame_index)


def test_a_cached_run_over_other_frames_is_measured_afresh(analysed, pose_model, tmp_path, monkeypatch):
    """The landmarker tracks from frame to frame, so rows of a run over other frames (an earlier
    frame first) are not reused: the needed frames are measured as one run and replace the table."""
    import formcheck_core.cache as cache

    a = analysed[CLEAN]
    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path)
    args = (a.video, a.body, a.reps, pose_model)
    ids = {"model_id": a.pose.model_id, "video_sha256": a.video_sha256}
    cold = back_pass.back_series(*args, **ids, cache=False)
    needed = [(int(f), float(a.body.time_s[s])) for s, f in zip(cold.sample, cold.frame_index, strict=True)]
    assert needed and needed[0][0] > 0
    other = back_pass.measure_frames(
        a.video.path,
        [(0, 0.0), *needed],
        pose_model,
        a.body.facing_sign,
        (a.video.width_px, a.video.height_px),
    )
    cache.save_table("back", back_pass.back_cache_key(a.video_sha256, a.pose.model_id), other)
    calls = []
    measure = back_pass.measure_frames
    monkeypatch.setattr(
        back_pass,
        "measure_frames",
        lambda path, frames, *rest: calls.append(list(frames)) or measure(path, frames, *rest),
    )
    warm = back_pass.back_series(*args, **ids)
    assert calls == [needed]  # the whole needed run, not just the frames missing from the table
    np.testing.assert_array_equal(warm.back_flexion_rel, cold.back_flexion_rel)
    np.testing.assert_array_equal(warm.back_angle_deg, cold.back_angle_deg)
    stored = cache.load_table("back", back_pass.back_cache_key(a.video_sha256, a.pose.model_id))
    assert stored["frame_index"].tolist() == [f for f, _ in needed]


def test_no_frames_to_measure_opens_neither_the_clip_nor_the_model(tmp_path):
    table = back_pass.measure_frames(tmp_path / "missing.mp4", [], tmp_path / "missing.task", 1, (640, 480))
    assert set(table) == {
        "frame_index",
        "back_flexion_rel",
        "back_angle_deg",
        "mask_confidence",
        "edge_xy_px",
    }
    assert all(len(v) == 0 for v in table.values())


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


def test_a_rounded_pull_that_never_locks_out_is_judged(dev_clip, dev_labels, pose_model):
    """Two clips spliced at frame 33: a clean rep, then a rounded-back pull whose lockout the labels
    do not count (it starts above the floor). Whether formcheck counts that pull as a rep or as a
    partial pull, its rounded back is flagged and the clean rep is not."""
    stem, cut = "posereader_good_bad", 33
    assert dev_labels[stem]["faults"]["rounded_back"] is True and dev_labels[stem]["overall"] == "bad"
    a = analyze(dev_clip(stem), pose_model=pose_model, progress=False)
    pulls = {p.number: p for p in (*a.reps, *a.partial_pulls)}
    faults = [f for f in a.findings if f.rule_id == "rounded_back" and f.is_fault]
    assert faults
    assert all(min(m.frame_index for m in pulls[f.rep].moments.values()) >= cut for f in faults)
    assert next(v for v in a.verdicts if v.rep is None).label == "needs work"
