"""Scene cuts: the pixel test (pure, on synthetic thumbnails), segmentation per shot (synthetic
lifter), and the real clips whose label notes give the cut frames (real decoding, no pose)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEV
from rep_contract import assert_rep_contract
from synthetic_lifter import deadlift_pose

from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.moments import segment_reps
from formcheck_core.scene_cuts import cut_samples, find_cuts, frame_changes

FPS = 30.0


def _scene(seed: int, n: int, drift_px: float = 0.3) -> np.ndarray:
    """(n, 18, 32) thumbnails of one shot: a smooth random scene panning slowly, with sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:18, 0:32].astype(float)
    waves = [(rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), rng.uniform(0, 6.3)) for _ in range(6)]
    frames = []
    for k in range(n):
        x = xx + k * drift_px
        img = sum(np.sin(fx * x + fy * yy + ph) for fx, fy, ph in waves)
        frames.append(128 + 20 * img + rng.normal(0, 2, (18, 32)))
    return np.stack(frames)


def test_a_splice_is_found_at_its_first_frame():
    thumbs = np.concatenate([_scene(0, 40), _scene(1, 30)])
    assert find_cuts(frame_changes(thumbs), FPS) == (40,)


def test_brightness_and_exposure_changes_are_not_cuts():
    shot = _scene(0, 40)
    shot[20:] = 0.6 * shot[20:] + 30  # the light dims in one frame (flicker, auto-exposure)
    assert find_cuts(frame_changes(shot), FPS) == ()


def test_fast_motion_over_several_frames_is_not_a_cut():
    shot = _scene(0, 60)
    for k in range(25, 31):  # a dropped bar: a big change spread over six frames
        shot[k] = shot[k - 1] + np.roll(shot[k] - shot[k - 1], 3, axis=0) + 40 * np.sin(k)
    change = frame_changes(shot)
    assert change[25:31].max() > 3 * np.median(change)  # the motion is real ...
    assert find_cuts(change, FPS) == ()  # ... and not a cut


def test_a_black_frame_and_a_short_clip():
    thumbs = np.concatenate([_scene(0, 30), np.zeros((1, 18, 32))])
    assert find_cuts(frame_changes(thumbs), FPS) == (30,)
    assert find_cuts(frame_changes(_scene(0, 2)), FPS) == ()
    assert frame_changes(np.zeros((0, 4, 4))).shape == (0,)


def test_repeated_frames_are_not_cuts():
    """A 10 fps source written at 30 fps: two of every three changes are (almost) zero, and every
    real change stands alone between them; only the splice is a cut."""
    rng = np.random.default_rng(1)
    shots = np.concatenate([_scene(0, 20, drift_px=1.0), _scene(1, 14, drift_px=1.0)])
    thumbs = np.repeat(shots, 3, axis=0) + rng.normal(0, 0.5, (shots.shape[0] * 3, 18, 32))
    assert find_cuts(frame_changes(thumbs), FPS) == (60,)


def test_cut_frames_map_to_the_first_sample_of_the_new_shot():
    frames = np.array([0, 3, 6, 9, 12, 15])
    assert cut_samples(frames, (7, 9, 0, 40)) == (3,)  # 7 and 9 both start at sample 3; 0 and 40 drop
    assert cut_samples(frames, (4,)) == (2,)


def test_no_rep_spans_a_cut():
    pose, truth = deadlift_pose(3, setup_s=1.0, rest_s=1.0)
    # a cut half-way through the second pull
    cut_t = 0.5 * (truth[1]["liftoff"] + truth[1]["lockout"])
    cut = int(np.searchsorted(pose.time_s, cut_t))
    body = compute_body_series(pose, cut_samples=(cut,))
    whole = segment_reps(compute_body_series(pose))
    reps = segment_reps(body, None, (cut,))
    assert sum(r.complete for r in whole) == 3
    assert_rep_contract(reps, pose.n_samples)
    assert all(r.end_sample < cut or r.start_sample >= cut for r in reps)
    assert sum(r.complete for r in reps) == 2  # the pull the cut splits is not a rep
    # the part before the cut is a pull the clip cuts (no lockout); the rest of it, after the cut,
    # starts with the bar above mid-thigh and is no pull at all (as at the start of a clip)
    partial = [r for r in reps if not r.complete]
    assert [r.partial_reason for r in partial] == ["cut by the clip: a scene cut comes before lockout"]
    assert partial[0].missing_moments["lockout"] == "a scene cut comes before lockout"
    assert partial[0].end_sample == cut - 1 and "lockout" not in partial[0].moments


@pytest.mark.parametrize(
    ("clip", "cuts"),
    [
        # from the label notes: "HARD CUTS at 157->158, 277->278 and 391->392"
        ("heavy_front_oblique_a", (158, 278, 392)),
        # "HARD CUT at 32->33 ... Frame 61 is black"
        ("posereader_good_bad", (33, 61)),
        ("gym1080_good_01", ()),
        ("kettlebell_correct_side", ()),
    ],
)
def test_cuts_of_real_clips(clip, cuts, tmp_path, monkeypatch):
    import formcheck_core.scene_cuts as sc
    from formcheck_core.scene_cuts import scene_cut_frames
    from formcheck_core.video import probe_video

    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path))  # decode, not the cache
    path = DEV / f"{clip}.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    assert scene_cut_frames(probe_video(path), clip) == cuts
    assert list(tmp_path.rglob("*.npz"))

    def no_second_decode(*_a, **_k):
        raise AssertionError("decoded the clip again: the stored frame changes were not read")

    monkeypatch.setattr(sc, "iter_thumbnails", no_second_decode)
    assert scene_cut_frames(probe_video(path), clip) == cuts  # from the cache now


@pytest.mark.parametrize("clip", ["gym1080_good_01", "reel_good_08"])
def test_real_clips_with_repeated_frames_have_no_cuts(clip):
    """Every third frame of a real one-shot clip, each shown three times (with a little noise, as
    re-encoding leaves): the real motion between the distinct frames is not a cut."""
    from formcheck_core.video import iter_thumbnails

    path = DEV / f"{clip}.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    thumbs = np.stack(list(iter_thumbnails(path, 32)))[::3]
    rng = np.random.default_rng(0)
    repeated = np.repeat(thumbs, 3, axis=0) + rng.normal(0, 0.5, (thumbs.shape[0] * 3, *thumbs.shape[1:]))
    assert find_cuts(frame_changes(repeated), 30.0) == ()


def test_a_spliced_clip_is_segmented_per_shot(pose_model):
    from formcheck_core.analysis import analyze
    from formcheck_core.export import to_dict

    a = analyze(DEV / "posereader_good_bad.mp4", rules=False, progress=False)
    assert a.scene_cut_frames[0] == 33
    assert to_dict(a, include_series=False)["scene_cut_frames"] == list(a.scene_cut_frames)
    assert any("scene cut" in w for w in a.warnings)
    pulls = sorted((*a.reps, *a.partial_pulls), key=lambda r: r.start_sample)
    frames = a.body.frame_index
    assert all(frames[r.end_sample] < 33 or frames[r.start_sample] >= 33 for r in pulls)
    # the good rep before the splice counts; the pull after it starts mid-pull (no lift-off)
    assert len(a.reps) == 1 and frames[a.reps[0].moments["lockout"].sample] < 33
    after = [r for r in a.partial_pulls if frames[r.start_sample] >= 33]
    assert after and "lockout" in after[0].moments and "liftoff" not in after[0].moments


def test_the_pose_pass_collects_the_same_thumbnails():
    """Thumbnails collected while the pose pass decodes equal a separate decode's, frame for frame."""
    from formcheck_core.video import Thumbnails, iter_frames, iter_thumbnails

    path = DEV / "posereader_good_bad.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    thumbs = Thumbnails(32)
    n_sampled = sum(1 for _ in iter_frames(path, 10.0, thumbnails=thumbs))
    separate = list(iter_thumbnails(path, 32))
    assert thumbs.complete and 0 < n_sampled < len(thumbs.frames) == len(separate)
    assert all(np.array_equal(a, b) for a, b in zip(thumbs.frames, separate, strict=True))
    partial = Thumbnails(32)
    next(iter(iter_frames(path, None, only_indices={3}, thumbnails=partial)))
    assert not partial.complete  # stopped early: not stored as the clip's


def test_a_fresh_analysis_finds_cuts_without_a_second_decode(pose_model, tmp_path, monkeypatch):
    """Empty cache: the pose pass's thumbnails are stored, so scene cuts need no decode of their own."""
    import formcheck_core.scene_cuts as sc
    from formcheck_core.analysis import analyze

    path = DEV / "posereader_good_bad.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path))

    def no_second_decode(*_a, **_k):
        raise AssertionError("decoded the clip a second time for its thumbnails")

    monkeypatch.setattr(sc, "iter_thumbnails", no_second_decode)
    a = analyze(path, rules=False, progress=False, back=False)
    assert a.scene_cut_frames == (33, 61)
