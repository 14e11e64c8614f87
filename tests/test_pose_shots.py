"""Each shot after a scene cut is posed by a fresh tracker (:mod:`formcheck_core.pose.shots`).

Contract on a real spliced dev clip (``posereader_good_bad``: a clean rep, a hard cut at frame 33,
then a rounded pull that starts at the splice): shot 2 of the analysed pose equals shot 2 posed
alone by a fresh landmarker on the same frames, shot 1 equals the whole-clip pass, the whole-clip
pass (one tracker) differs in the first samples after the cut, and the back outline is read there.
The cached pose and a cold pose are identical; a one-shot clip is never posed twice.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from formcheck_core.pose.shots import per_shot_cache_key, shot_bounds

SPLICED, CUT = "posereader_good_bad", 33


def test_shot_bounds_are_the_shots_after_the_first():
    assert shot_bounds(10, ()) == []
    assert shot_bounds(10, (4,)) == [(4, 10)]
    assert shot_bounds(10, (7, 4, 4, 0, 10)) == [(4, 7), (7, 10)]  # sorted, repeats and ends dropped
    assert per_shot_cache_key("k", (4,)) != per_shot_cache_key("k", (5,)) != per_shot_cache_key("j", (5,))


def _pose_alone(path, frames, times, pose_model):
    """Landmarks of ``frames`` posed by a fresh landmarker (masks on), as a clip of their own."""
    from formcheck_core.pose.feed import prefetch
    from formcheck_core.pose.mediapipe_backend import MediaPipePose
    from formcheck_core.video import iter_frames

    out = []
    with MediaPipePose(pose_model, running_mode="video", segmentation=True) as backend:
        for frame in prefetch(iter_frames(path, 10.0, only_indices={int(f) for f in frames})):
            found = backend.detect(frame.bgr, frame.time_s)
            out.append(found[0].image_xyzv if found else np.full((33, 4), np.nan))
            assert frame.time_s == pytest.approx(times[len(out) - 1])
    return np.stack(out)


@pytest.fixture(scope="module")
def spliced(dev_clip, pose_model, tmp_path_factory):
    """The spliced clip analysed cold (a temporary cache), then again from that cache."""
    from formcheck_core.analysis import analyze

    mp = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("cache")
    mp.setenv("FORMCHECK_CACHE", str(cache))
    try:
        cold = analyze(dev_clip(SPLICED), pose_model=pose_model, progress=False)
        warm = analyze(dev_clip(SPLICED), pose_model=pose_model, progress=False)
        yield cold, warm, cache
    finally:
        mp.undo()


def test_shot_2_is_posed_as_a_clip_of_its_own(spliced, dev_clip, pose_model):
    from formcheck_core.analysis import pose_key
    from formcheck_core.cache import load_pose
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id

    a, _warm, cache = spliced
    pose = a.pose
    assert CUT in a.scene_cut_frames
    start = int(np.searchsorted(pose.frame_index, CUT))
    end = (
        int(np.searchsorted(pose.frame_index, a.scene_cut_frames[-1]))
        if len(a.scene_cut_frames) > 1
        else None
    )
    end = end if end and end < pose.n_samples else pose.n_samples
    alone = _pose_alone(dev_clip(SPLICED), pose.frame_index[start:end], pose.time_s[start:end], pose_model)
    xy = alone[:, :, :2] * (pose.width_px, pose.height_px)
    np.testing.assert_allclose(pose.image_xy_px[start:end], xy, atol=1e-3)  # MediaPipe is deterministic here
    np.testing.assert_allclose(pose.visibility[start:end], alone[:, :, 3], atol=1e-6)

    # the whole-clip pass (one tracker) is cached apart, unchanged, and is shot 1 as it stands
    whole = load_pose(pose_key(a.video_sha256, model_id(pose_model), DEFAULT_FPS, "video", 1), root=cache)
    assert whole is not None
    np.testing.assert_array_equal(whole.frame_index, pose.frame_index)
    np.testing.assert_array_equal(whole.image_xy_px[:start], pose.image_xy_px[:start])
    # ... and its tracker still followed the previous shot's person on the first samples after the cut
    moved = np.nanmax(
        np.abs(whole.image_xy_px[start : start + 3] - pose.image_xy_px[start : start + 3]), axis=(1, 2)
    )
    assert (moved > 5.0).any(), moved


def test_shot_2_matches_the_same_frames_in_their_own_clip(spliced, dev_clip, dev_labels, pose_model):
    """Shot 2 of the spliced clip is, per its label, frame for frame ``posereader_bad`` (re-encoded:
    pixels differ by under 1 grey level, so MediaPipe places joints up to ~15 px apart). Posed by a
    fresh tracker it agrees with that clip's own pose within such a copy's spread; the whole-clip
    pass, whose tracker followed shot 1's person, was several times farther off just after the cut."""
    from formcheck_core.analysis import load_or_extract_pose, pose_key
    from formcheck_core.cache import load_pose
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.video import probe_video

    a, _warm, cache = spliced
    assert "frame-identical to dev posereader_bad frames 0-27" in dev_labels[SPLICED]["notes"]
    own, _ = load_or_extract_pose(
        probe_video(dev_clip("posereader_bad")), pose_model=pose_model, progress=False
    )
    start = int(np.searchsorted(a.pose.frame_index, CUT))
    k = min(a.pose.n_samples - start, own.n_samples)
    np.testing.assert_array_equal(a.pose.frame_index[start : start + k] - CUT, own.frame_index[:k])
    whole = load_pose(pose_key(a.video_sha256, model_id(pose_model), DEFAULT_FPS, "video", 1), root=cache)

    def off_px(pose):  # (k,) largest landmark distance from the own clip's pose, per sample
        d = np.linalg.norm(pose.image_xy_px[start : start + k] - own.image_xy_px[:k], axis=-1)
        return np.nanmax(d, axis=1)

    per_shot, one_tracker = off_px(a.pose), off_px(whole)
    assert (per_shot < 25.0).all(), per_shot  # 25 px: 4 % of the 600 px frame
    assert (one_tracker[:3] > 2 * per_shot[:3]).all(), (one_tracker, per_shot)


def test_the_back_is_read_on_the_first_samples_after_the_cut(spliced, dev_labels):
    a = spliced[0]
    start = int(np.searchsorted(a.pose.frame_index, CUT))
    assert a.back is not None
    assert np.isfinite(a.back.back_flexion_rel[start : start + 3]).all()
    after = [p for p in (*a.reps, *a.partial_pulls) if a.pose.frame_index[p.start_sample] >= CUT]
    assert after and all(np.isfinite(p.metrics["back_flexion_rel"]) for p in after)
    assert (
        dev_labels[SPLICED]["faults"]["rounded_back"] is True
    )  # the pull after the splice is the rounded one
    flagged = {f.rep for f in a.findings if f.rule_id == "rounded_back" and f.is_fault}
    assert {p.number for p in after} <= flagged


def test_the_cached_pose_is_the_cold_pose(spliced):
    cold, warm, _cache = spliced
    np.testing.assert_equal(warm.pose.arrays(), cold.pose.arrays())
    assert warm.pose.meta() == cold.pose.meta()
    for name in ("back_flexion_rel", "back_angle_deg", "mask_confidence", "edge_xy_px"):
        np.testing.assert_equal(getattr(warm.back, name), getattr(cold.back, name))


def test_a_cache_with_only_the_whole_clip_pass_poses_the_later_shots_again(
    spliced, dev_clip, pose_model, tmp_path, monkeypatch, capfd
):
    """A cache from before this pass (the whole-clip entries only): only the shots after the cut are
    posed again (a note on stderr says why), and the result is the cold one."""
    import formcheck_core.pose.shots as shots
    from formcheck_core.analysis import analyze, pose_key
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.pose.back_pass import main_back_cache_key
    from formcheck_core.scene_cuts import cut_samples

    cold, _warm, cache = spliced
    shutil.copytree(cache, tmp_path / "c")
    key = pose_key(cold.video_sha256, model_id(pose_model), DEFAULT_FPS, "video", 1)
    per_shot = per_shot_cache_key(key, cut_samples(cold.pose.frame_index, cold.scene_cut_frames))
    for entry in (f"pose/{per_shot}.npz", f"back/{main_back_cache_key(per_shot)}.npz"):
        (tmp_path / "c" / entry).unlink()  # as a cache from before the per-shot pass
    assert (tmp_path / "c" / f"pose/{key}.npz").is_file()
    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path / "c"))
    posed = []
    real = shots.repose_shots

    def counting(info, pose, starts, *args, **kwargs):
        posed.append(sum(b - a for a, b in shot_bounds(pose.n_samples, starts)))
        return real(info, pose, starts, *args, **kwargs)

    monkeypatch.setattr(shots, "repose_shots", counting)
    capfd.readouterr()
    again = analyze(dev_clip(SPLICED), pose_model=pose_model, progress=True)
    assert "fresh tracker" in capfd.readouterr().err
    start = int(np.searchsorted(cold.pose.frame_index, CUT))
    assert posed == [cold.pose.n_samples - start]  # the later shot only, once
    np.testing.assert_equal(again.pose.arrays(), cold.pose.arrays())
    np.testing.assert_equal(again.back.back_flexion_rel, cold.back.back_flexion_rel)


def test_a_one_shot_clip_is_posed_once(dev_clip, pose_model, monkeypatch):
    """A clip without cuts never reaches the per-shot pass (from the shared cache, read only)."""
    import formcheck_core.pose.shots as shots
    from formcheck_core.analysis import load_or_extract_pose
    from formcheck_core.pose.back_pass import MainPassBack
    from formcheck_core.video import probe_video

    def no_second_pass(*_a, **_k):
        raise AssertionError("a one-shot clip was posed again")

    monkeypatch.setattr(shots, "repose_shots", no_second_pass)
    info = probe_video(dev_clip("posereader_good"))
    back = MainPassBack((info.width_px, info.height_px))
    pose, _sha = load_or_extract_pose(info, pose_model=pose_model, progress=False, back=back)
    assert pose.n_samples > 0 and len(back) == pose.n_samples


def test_ctrl_c_in_the_per_shot_pass_exits_130_and_caches_nothing_half(dev_clip, pose_model, tmp_path):
    """Ctrl-C while the shots after a cut are posed again works as in the pose pass: exit 130, no
    traceback, no per-shot entry written, the whole-clip entries left as they were."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from formcheck_core.analysis import load_or_extract_pose, pose_key
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.pose.back_pass import MainPassBack, main_back_cache_key
    from formcheck_core.video import file_sha256, probe_video

    stem = "heavy_front_oblique_a"  # three cuts, 153 of 206 samples after the first: a few seconds
    info = probe_video(dev_clip(stem))
    key = pose_key(file_sha256(info.path), model_id(pose_model), DEFAULT_FPS, "video", 1)
    cache = tmp_path / "c"
    mp = pytest.MonkeyPatch()
    mp.setenv("FORMCHECK_CACHE", str(cache))
    try:  # the whole-clip entries only, as a cache from before the per-shot pass
        import formcheck_core.pose.shots as shots

        mp.setattr(shots, "repose_shots", lambda _i, pose, *_a, **_k: pose)
        load_or_extract_pose(info, pose_model=pose_model, progress=False, back=MainPassBack((1, 1)))
    finally:
        mp.undo()
    whole = {Path("pose", f"{key}.npz"), Path("back", f"{main_back_cache_key(key)}.npz")}
    for folder in ("pose", "back"):  # the stand-in per-shot entries go
        for entry in (cache / folder).glob("*.npz"):
            if entry.relative_to(cache) not in whole:
                entry.unlink()
    before = sorted(p.relative_to(cache) for p in cache.rglob("*.npz"))
    assert Path("pose", f"{key}.npz") in before and Path("back", f"{main_back_cache_key(key)}.npz") in before
    err_path = tmp_path / "err.txt"
    with open(err_path, "w") as err_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "formcheck_core",
                "analyze",
                str(info.path),
                "--no-report",
                "--out",
                str(tmp_path / "o"),
            ],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            env={**os.environ, "FORMCHECK_CACHE": str(cache), "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
            and proc.poll() is None
            and "fresh tracker" not in err_path.read_text()
        ):
            time.sleep(0.1)
        time.sleep(0.8)  # the fresh landmarker is loading or running
        assert proc.poll() is None, "finished before Ctrl-C"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    err = err_path.read_text()
    assert "fresh tracker" in err
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err and "Fatal Python" not in err, err[-2000:]
    assert sorted(p.relative_to(cache) for p in cache.rglob("*.npz")) == before  # nothing half-written
