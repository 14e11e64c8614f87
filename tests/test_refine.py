"""The native-rate refinement pass on real dev clips: frames in the right bracket, order kept,
the per-frame callback API, and the cache (numbers only)."""

from __future__ import annotations

import numpy as np
import pytest

CLIP = "reel_good_14"


def refine_plain(dev_clip, plain, **kwargs):
    """``refine_moments`` on CLIP's plain analysis, with the shipped pose model."""
    from formcheck_core.models.pose_model import model_id, resolve_pose_model
    from formcheck_core.pose.refine import refine_moments
    from formcheck_core.video import file_sha256, probe_video

    path = dev_clip(CLIP)
    model = resolve_pose_model(None)
    return refine_moments(
        probe_video(path),
        plain.body,
        plain.reps,
        model,
        model_id=model_id(model),
        video_sha256=file_sha256(path),
        **kwargs,
    )


@pytest.fixture(scope="module")
def refined(dev_clip, pose_model):
    from formcheck_core.analysis import analyze

    plain = analyze(dev_clip(CLIP), rules=False, progress=False)
    seen: list[tuple[int, tuple[int, ...], bool]] = []
    reps = refine_plain(
        dev_clip,
        plain,
        cache=False,
        on_frame=lambda f, rgb, person: seen.append((f, rgb.shape, person is not None)),
    )
    return plain, reps, seen


def test_refined_moments_sit_on_source_frames_between_their_samples(refined):
    plain, reps, _ = refined
    fi = plain.body.frame_index
    assert len(reps) == len(plain.reps) >= 1, "every pull comes back, refined"
    for before, after in zip(plain.reps, reps, strict=True):
        for name in ("liftoff", "lockout"):
            m = after.moments[name]
            assert m.refined_by == "native frames"
            assert (m.sample, m.frame_index, m.time_s) == (
                before.moments[name].sample,
                before.moments[name].frame_index,
                before.moments[name].time_s,
            ), "what metrics and stills read is unchanged"
            s0 = int(
                np.searchsorted(plain.body.time_s, before.moments[name].refined_time_s, side="right") - 1
            )
            assert fi[s0] <= m.refined_frame_index <= fi[s0 + 1]
            assert abs(m.refined_time_s - before.moments[name].refined_time_s) <= 0.1 + 1e-6
        assert after.moments["liftoff"].refined_frame_index < after.moments["lockout"].refined_frame_index


def test_the_callback_sees_each_measured_frame_once_in_time_order(refined):
    plain, _, seen = refined
    frames = [f for f, _, _ in seen]
    assert frames == sorted(set(frames)) and 1 <= len(frames) <= 2 * 2 * len(plain.reps)
    sampled = set(plain.body.frame_index.tolist())
    assert not sampled & set(frames), "only frames the 10 fps pass did not measure"
    assert all(len(shape) == 3 and shape[2] == 3 for _, shape, _ in seen) and any(p for *_, p in seen)


def test_rows_are_cached_and_reused(dev_clip, pose_model, tmp_path, monkeypatch):
    from formcheck_core.analysis import analyze

    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path))
    a = analyze(dev_clip("reel_good_14"), rules=False, progress=False, refine=True)
    assert list((tmp_path / "refine").glob("*.npz")), "rows stored in the pose cache"
    b = analyze(dev_clip("reel_good_14"), rules=False, progress=False, refine=True)
    assert len(a.reps) == len(b.reps) >= 1
    for ra, rb in zip(a.reps, b.reps, strict=True):
        assert ra.moments["liftoff"].refined_by == ra.moments["lockout"].refined_by == "native frames"
        assert {n: m.refined_frame_index for n, m in ra.moments.items()} == {
            n: m.refined_frame_index for n, m in rb.moments.items()
        }


def test_a_second_pass_measures_no_frame_the_cache_holds(refined, dev_clip, tmp_path, monkeypatch):
    """Reused, not only stored: the second call reads every frame it needs from the cache (its
    callback sees none) and places the moments where the uncached pass did."""
    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path))
    plain, uncached, seen = refined
    runs: list[list[int]] = []
    for _ in range(2):
        runs.append([])
        out = refine_plain(dev_clip, plain, on_frame=lambda f, rgb, person, run=runs[-1]: run.append(f))
        assert [r.moments for r in out] == [r.moments for r in uncached]
    assert list((tmp_path / "refine").glob("*.npz")), "rows stored in the pose cache"
    assert runs == [[f for f, _, _ in seen], []], "the first call measured, the second only read"


def test_a_frame_whose_answer_is_bracketed_is_not_measured():
    """An event is the first crossing among [f0, a, b, f1]: b is needed only after a was measured
    and did not cross; nothing is needed when sample f0 already crosses."""
    from formcheck_core.pose.refine import _Event

    def crossed(f, row):
        return row[0] > 0

    e = _Event(rep=0, name="lockout", frames=(11, 12), crossed=crossed, start=None, fallback=13)
    no, yes = (np.array(-1.0), None, None), (np.array(1.0), None, None)
    assert e.needs(11, {}) and not e.needs(12, {}) and e.resolve({}) is None
    assert e.resolve({11: yes}) == 11 and not e.needs(12, {11: yes})
    assert e.needs(12, {11: no}) and e.resolve({11: no}) is None
    assert e.resolve({11: no, 12: yes}) == 12 and e.resolve({11: no, 12: no}) == 13
    at_start = _Event(rep=0, name="lockout", frames=(11, 12), crossed=crossed, start=10, fallback=13)
    assert at_start.resolve({}) == 10 and not at_start.needs(11, {})


def test_the_cache_key_follows_the_windows_measured():
    """Rows of a run over other candidate frames are never reused (tracking makes them differ)."""
    from formcheck_core.pose.refine import refine_cache_key

    key = refine_cache_key("sha", "model", [(10, 11, 12), (40, 41)])
    assert key == refine_cache_key("sha", "model", [(10, 11, 12), (40, 41)])
    assert key != refine_cache_key("sha", "model", [(10, 11, 12)])
    assert key != refine_cache_key("sha", "model", [(9, 10, 11, 12), (40, 41)])


def test_the_cache_key_follows_the_followed_track_and_its_version(monkeypatch):
    """Review: the guard keeps who continues the followed series, so rows of a run against
    another track (another followed pose) or another FOLLOW_VERSION are not reused."""
    import numpy as np

    from formcheck_core.pose import refine
    from formcheck_core.pose.tracks import LifterTrack

    t = np.arange(5) / 10.0
    a = LifterTrack(t, np.tile([100.0, 500.0], (5, 1)), 300.0)
    b = LifterTrack(t, np.tile([400.0, 500.0], (5, 1)), 300.0)
    w = [(10, 11)]
    key = refine.refine_cache_key("sha", "model", w, a)
    assert key == refine.refine_cache_key("sha", "model", w, LifterTrack(t, a.hip_px.copy(), 300.0))
    assert key != refine.refine_cache_key("sha", "model", w, b)
    assert key != refine.refine_cache_key("sha", "model", w, LifterTrack(t, a.hip_px, 250.0))
    assert key != refine.refine_cache_key("sha", "model", w)
    monkeypatch.setattr(refine, "FOLLOW_VERSION", refine.FOLLOW_VERSION + 1)
    assert key != refine.refine_cache_key("sha", "model", w, a)
