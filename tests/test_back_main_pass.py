"""The back profile read in the pose pass and its contracts: the same call's landmarks and mask,
every sample, both facings where the knee cannot tell, the landmark cache unchanged, and one
reading whatever the cache holds (a pose cached without back rows is posed again, once)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from rule_fixtures import make_rep
from test_back_profile import H, W, lifter_mask

from formcheck_core.biomech.back_profile import FRACTIONS, back_profile
from formcheck_core.biomech.back_series import BACK_METRICS, pull_samples, rep_back_metrics
from formcheck_core.pose import back_pass
from formcheck_core.pose.back_pass import FACINGS, MainPassBack, main_back_cache_key, series_from_main
from formcheck_core.pose.backend import PoseResult
from formcheck_core.pose.landmarks import LANDMARK

SOURCE = (2 * W, 2 * H)  # the source frame is twice the model image: outlines are scaled back


def person(mask, shoulder, hip, knee) -> PoseResult:
    """A PoseResult whose left and right shoulder/hip/knee sit at the given mask pixels."""
    xyzv = np.full((33, 4), 0.5)
    for joint, xy in (("shoulder", shoulder), ("hip", hip), ("knee", knee)):
        for side in ("left", "right"):
            xyzv[LANDMARK[f"{side}_{joint}"], :2] = np.asarray(xy, float) / (W, H)
    return PoseResult(image_xyzv=xyzv, world_xyz_m=np.zeros((33, 3)), mask=mask)


def body(frames, facing: int):
    return SimpleNamespace(
        frame_index=np.asarray(frames, np.int64), time_s=np.asarray(frames, float) / 30, facing_sign=facing
    )


def test_a_sample_is_read_from_the_same_calls_mask_and_landmarks():
    mask, sh, hip, knee = lifter_mask(0.06)
    rows = MainPassBack(SOURCE)
    rows(7, person(mask, sh, hip, knee))
    table = rows.table()
    expected = back_profile(mask, sh, hip, knee)
    assert table["frame_index"].tolist() == [7] and not table["facing_decides"][0]
    for f in range(len(FACINGS)):  # the knee decided: one reading, whatever the facing
        assert table["back_flexion_rel"][0, f] == pytest.approx(expected.back_flexion_rel)
        assert table["back_angle_deg"][0, f] == pytest.approx(expected.back_angle_deg)
        np.testing.assert_allclose(table["edge_xy_px"][0, f], expected.edge_xy_px * 2)  # source pixels
    assert expected.back_flexion_rel > 0.03


def test_a_standing_sample_is_read_both_ways_and_the_bodys_facing_picks():
    mask, sh, hip, _ = lifter_mask(0.06, facing=1)
    in_line = hip - 0.8 * (sh - hip)  # the knee on the torso line: it cannot tell the back side
    rows = MainPassBack(SOURCE)
    rows(3, person(mask, sh, hip, in_line))
    table = rows.table()
    assert table["facing_decides"].tolist() == [True]
    for facing in FACINGS:
        got = series_from_main(table, body([3], facing))
        want = back_profile(mask, sh, hip, in_line, facing_sign=facing)
        assert got is not None and got.sample.tolist() == [0]
        assert got.back_flexion_rel[0] == pytest.approx(want.back_flexion_rel, nan_ok=True)
        assert got.mask_confidence[0] == pytest.approx(want.mask_confidence)
    assert series_from_main(table, body([3], 1)).mask_confidence[0] > 0.5  # facing right: the real back
    unknown = series_from_main(table, body([3], 0))
    assert math.isnan(unknown.back_flexion_rel[0]) and unknown.mask_confidence[0] == 0.0


def test_no_person_or_no_mask_leaves_a_nan_row():
    mask, sh, hip, knee = lifter_mask(0.0)
    rows = MainPassBack(SOURCE)
    rows(0, None)
    rows(3, person(None, sh, hip, knee))
    rows(6, person(mask, sh, hip, knee))
    got = series_from_main(rows.table(), body([0, 3, 6], 1))
    assert got is not None and len(rows) == 3
    assert np.isnan(got.back_flexion_rel[:2]).all() and np.isfinite(got.back_flexion_rel[2])
    assert got.edge_xy_px.shape == (3, len(FRACTIONS), 2)


def test_rows_of_other_samples_or_a_malformed_table_are_not_used():
    mask, sh, hip, knee = lifter_mask(0.0)
    rows = MainPassBack(SOURCE)
    for f in (0, 3, 6):
        rows(f, person(mask, sh, hip, knee))
    table = rows.table()
    assert series_from_main(table, body([0, 3, 6], 1)) is not None
    assert series_from_main(table, body([0, 3], 1)) is None  # another sampling
    assert series_from_main(table, body([0, 3, 9], 1)) is None
    assert (
        series_from_main({k: v for k, v in table.items() if k != "facing_decides"}, body([0, 3, 6], 1))
        is None
    )
    targeted_shape = {**table, "back_flexion_rel": table["back_flexion_rel"][:, 0]}
    assert series_from_main(targeted_shape, body([0, 3, 6], 1)) is None


def _main_table(n: int, flexion: np.ndarray) -> dict[str, np.ndarray]:
    k = len(FRACTIONS)
    return {
        "frame_index": 3 * np.arange(n, dtype=np.int64),
        "facing_decides": np.zeros(n, bool),
        "back_flexion_rel": np.repeat(flexion[:, None], 2, axis=1),
        "back_angle_deg": np.repeat(10 * flexion[:, None], 2, axis=1),
        "mask_confidence": np.full((n, 2), 0.8),
        "edge_xy_px": np.zeros((n, 2, k, 2)),
    }


def test_cached_rows_are_used_only_for_exactly_the_poses_samples(tmp_path, monkeypatch):
    """Rows cached under the pose key are restored when they hold exactly the pose's samples;
    rows of another sampling, another pose key or a malformed table are not (the caller poses again)."""
    import formcheck_core.cache as cache

    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path)
    n = 100
    flexion = np.linspace(0.0, 0.05, n)
    cache.save_table("back", main_back_cache_key("pose-key"), _main_table(n, flexion))
    frames = 3 * np.arange(n)
    table = back_pass.load_main_rows("pose-key", frames)
    assert table is not None
    rows = MainPassBack(SOURCE)
    rows.restore(table)
    assert len(rows) == n
    got = back_pass.back_series(body(frames, 1), rows)
    assert got is not None and got.sample.tolist() == list(range(n))
    np.testing.assert_array_equal(got.back_flexion_rel, flexion)
    assert back_pass.load_main_rows("pose-key", frames[:-1]) is None  # another sampling
    assert back_pass.load_main_rows("another-key", frames) is None
    broken = {k: v for k, v in _main_table(n, flexion).items() if k != "facing_decides"}
    cache.save_table("back", main_back_cache_key("pose-key"), broken)
    assert back_pass.load_main_rows("pose-key", frames) is None
    with pytest.raises(ValueError, match="already"):  # rows read in a pass are never overwritten
        read = MainPassBack(SOURCE)
        read(0, None)
        read.restore(table)


def test_a_pull_the_pass_read_no_outline_for_is_not_measurable():
    """One reading per clip: a pull whose outline the pose pass did not read on two confident
    samples (e.g. just after a scene cut) has no back value and says why; no other pass fills it."""
    good, bad = make_rep(1, start=10), make_rep(2, start=60)
    n = 100
    flexion = np.full(n, 0.01)
    flexion[pull_samples(bad)[:-1]] = np.nan  # one readable sample of the pull is not enough
    rows = MainPassBack(SOURCE)
    rows.restore(_main_table(n, flexion))
    back = back_pass.back_series(body(3 * np.arange(n), 1), rows)
    assert rep_back_metrics(good, back).metrics["back_flexion_rel"] == pytest.approx(0.01)
    unread = rep_back_metrics(bad, back)
    assert math.isnan(unread.metrics["back_flexion_rel"])
    assert "not read on 2 samples" in unread.unmeasured["back_flexion_rel"]


def test_the_back_is_read_in_one_process_only(dev_clip):
    """The multi-process pose path cannot read the back: asking for both is refused up front."""
    from functools import partial

    from formcheck_core.pose.extract import extract_pose
    from formcheck_core.pose.mediapipe_backend import MediaPipePose

    factory = partial(MediaPipePose, "never-opened.task", segmentation=True)
    with pytest.raises(ValueError, match="one process only"):
        extract_pose(dev_clip(CLEAN), factory, workers=2, on_person=MainPassBack(SOURCE), progress=False)


# --- real clips -------------------------------------------------------------------------------

ROUNDED, CLEAN = "gym1080_bad_02", "posereader_good"


@pytest.fixture(scope="module")
def cold(dev_clip, pose_model, tmp_path_factory):
    """Each clip analysed on an empty cache (posed now), the rows it cached, and its pose key."""
    from formcheck_core.analysis import analyze, pose_key
    from formcheck_core.config import DEFAULT_FPS

    root = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("FORMCHECK_CACHE", str(root))
    try:
        out = {}
        for stem in (ROUNDED, CLEAN):
            main = analyze(dev_clip(stem), pose_model=pose_model, progress=False)
            key = pose_key(main.video_sha256, main.pose.model_id, DEFAULT_FPS, "video", 1)
            rows = root / "back" / f"{main_back_cache_key(key)}.npz"
            assert rows.is_file()
            with np.load(rows) as table:
                stored = {k: table[k] for k in table.files}
            out[stem] = SimpleNamespace(main=main, table=stored, key=key, root=root)
        yield out
    finally:
        mp.undo()


@pytest.mark.slow
def test_masks_leave_the_landmarks_unchanged(dev_clip, pose_model, cold):
    """The mask comes out of the same model call: the pose cached by a pass with masks is the pose
    of a pass without them (so the landmark cache keeps its keys and contents)."""
    from formcheck_core.pose.extract import extract_pose
    from formcheck_core.pose.mediapipe_backend import MediaPipePose

    a = cold[CLEAN].main
    with MediaPipePose(pose_model) as backend:
        plain = extract_pose(dev_clip(CLEAN), backend, progress=False, model_id=a.pose.model_id)
    for name, values in plain.arrays().items():
        np.testing.assert_allclose(a.pose.arrays()[name], values, atol=1e-6, err_msg=name)
    assert plain.meta() == a.pose.meta()


@pytest.mark.slow
def test_a_clip_posed_now_has_the_back_on_every_sample_cached_without_masks(cold):
    for c in cold.values():
        back, n = c.main.back, c.main.pose.n_samples
        assert back is not None and back.sample.tolist() == list(range(n))
        np.testing.assert_array_equal(back.frame_index, c.main.pose.frame_index)
        assert c.table["frame_index"].tolist() == c.main.pose.frame_index.tolist()
        assert all(v.size <= 4 * 2 * len(FRACTIONS) * n for v in c.table.values())  # numbers, not masks
        assert np.isfinite(back.back_flexion_rel).mean() > 0.5
        edges = back.edge_xy_px[np.isfinite(back.edge_xy_px[..., 0])]
        assert ((edges >= 0) & (edges <= [c.main.video.width_px, c.main.video.height_px])).all()


def _readings(a) -> dict:
    """Every back number of an analysis: the series and each pull's back metrics and their samples."""
    pulls = (*a.reps, *a.partial_pulls)
    return {
        "series": {name: getattr(a.back, name) for name in a.back.ROW_FIELDS},
        "pulls": [
            (
                p.number,
                {k: p.metrics[k] for k in BACK_METRICS},
                {k: p.metric_samples.get(k) for k in BACK_METRICS},
            )
            for p in pulls
        ],
        "findings": [
            (f.rule_id, f.rep, f.status, f.value) for f in a.findings if f.rule_id == "rounded_back"
        ],
    }


@pytest.mark.slow
@pytest.mark.parametrize("stem", [ROUNDED, CLEAN])
def test_a_pose_cached_without_back_rows_gets_the_same_reading(
    stem, dev_clip, pose_model, tmp_path, monkeypatch, capfd
):
    """One measurement, one number: a clip whose cached pose has no back rows (a cache from before
    them) is posed again once, with masks, and gets exactly the back readings of a clip whose rows
    are cached; the rows are cached again and the next run reads them. Runs on a temporary copy
    of the clip's cache entries: the shared cache is never modified."""
    import shutil

    from formcheck_core.analysis import analyze, pose_key
    from formcheck_core.cache import cache_dir
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.scene_cuts import cuts_cache_key
    from formcheck_core.video import file_sha256

    path = dev_clip(stem)
    sha = file_sha256(path)
    key = pose_key(sha, model_id(pose_model), DEFAULT_FPS, "video", 1)
    entries = (f"pose/{key}.npz", f"back/{main_back_cache_key(key)}.npz", f"cuts/{cuts_cache_key(sha)}.npz")
    for entry in entries:  # whichever the shared cache holds; the first run below makes the rest
        if (cache_dir() / entry).is_file():
            (tmp_path / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cache_dir() / entry, tmp_path / entry)
    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path))
    with_rows = analyze(path, pose_model=pose_model, progress=False)
    rows = tmp_path / entries[1]
    assert rows.is_file() and (tmp_path / entries[0]).is_file()
    rows.unlink()
    capfd.readouterr()
    without = analyze(path, pose_model=pose_model, progress=True)
    assert "one-time pose pass" in capfd.readouterr().err  # the user is told why the pass runs
    assert rows.is_file()  # cached again
    again = analyze(path, pose_model=pose_model, progress=True)
    assert "one-time pose pass" not in capfd.readouterr().err
    for a in (without, again):
        np.testing.assert_equal(_readings(a), _readings(with_rows))  # bit for bit; NaN equals NaN
        np.testing.assert_equal(a.pose.arrays(), with_rows.pose.arrays())
    assert any(np.isfinite(p.metrics["back_flexion_rel"]) for p in with_rows.reps)  # a reading to compare
