"""The follow guard on a real clip where the bystander is followed longest in one stretch, and
the native-rate pass (:mod:`formcheck_core.pose.refine`) keeping the same person.

The clip (``clipmaker.SWITCH_FADES["switch back"]``, made in pytest's tmp folder, never kept): two
dev lifters side by side. The left one is alone for 0.2 s (the tracker starts on them), goes dark
at 0.7-0.9 s and comes back at 1.5 s; the tracker picks up the right one meanwhile and keeps them
until the right one goes dark at 2.4-2.7 s, when it finds the left one again. So the raw series
follows left, right, left, and the right person's stretch is its longest part, while the left
lifter is followed longer over the shot.
"""

from __future__ import annotations

import numpy as np
import pytest

from formcheck_core.pose.identity import identity_breaks, joint_mid_px


@pytest.fixture(scope="module")
def switch_back(dev_clip, pose_model, tmp_path_factory):
    """(analysis, raw whole-clip pose, notes) of the clip, posed into a cache of its own."""
    from clipmaker import switch_clip

    from formcheck_core.analysis import analyze, pose_key
    from formcheck_core.cache import load_pose
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.video import file_sha256

    folder = tmp_path_factory.mktemp("switch_back")
    clip = switch_clip(dev_clip("posereader_good").parent, folder, "switch back")
    notes: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORMCHECK_CACHE", str(folder / "cache"))
        a = analyze(clip, rules=False, progress=False, notes=notes.append)
        raw = load_pose(pose_key(file_sha256(clip), model_id(pose_model), DEFAULT_FPS, "video", 1))
    assert raw is not None
    return a, raw, notes, folder / "cache"


def test_the_lifter_followed_longest_over_the_shot_is_kept_not_the_longest_part(switch_back):
    a, raw, notes, _ = switch_back
    pose, half = a.pose, a.video.width_px / 2
    assert a.scene_cut_frames == ()
    raw_hip = joint_mid_px(raw.image_xy_px, "hip")[:, 0]
    breaks = identity_breaks(raw.image_xy_px, raw.time_s)
    assert len(breaks) == 2, "the tracker switched to the right lifter and back"
    b1, b2 = (b.sample for b in breaks)
    lefts = [np.isfinite(raw_hip[:b1]).sum(), np.isfinite(raw_hip[b2:]).sum()]
    right = np.isfinite(raw_hip[b1:b2]).sum()
    assert np.all(raw_hip[b1:b2][np.isfinite(raw_hip[b1:b2])] > half)
    assert right > max(lefts) and sum(lefts) > right, "the longest part is the wrong person"
    assert any("continues the lifter's track" in n for n in notes)

    hip = joint_mid_px(pose.image_xy_px, "hip")[:, 0]
    seen = np.isfinite(hip)
    assert identity_breaks(pose.image_xy_px, pose.time_s) == ()
    assert np.all(hip[seen] < half), "the left lifter only"
    assert seen[b1:b2].any(), "the lifter found again in the stretch posed again"
    for part in (slice(0, b1), slice(b2, None)):  # the lifter's own parts are the whole-clip pass's
        assert np.array_equal(pose.image_xy_px[part], raw.image_xy_px[part], equal_nan=True)
    assert a.back is not None
    edge_x = a.back.edge_xy_px[..., 0]
    assert np.all(edge_x[np.isfinite(edge_x)] < half), "the back outline is the lifter's too"


def test_the_native_rate_pass_keeps_the_lifter_not_whoever_its_tracker_holds(switch_back, pose_model):
    """On frames where both lifters are in view, the native-rate pass's single-person tracker
    holds the right lifter (the detector finds them first); with the guard, each row is the left
    lifter's or nobody's, and the second landmarker finds the left lifter once the detector sees
    them."""
    from formcheck_core.pose.refine import run_native_frames
    from formcheck_core.pose.tracks import LifterTrack

    a, _, _, _ = switch_back
    half = a.video.width_px / 2
    frames = [(f, f / a.video.fps) for f in range(64, 80)]  # both in view; the left lifter mid-pull
    size = (a.video.width_px, a.video.height_px)
    plain = joint_mid_px(run_native_frames(a.video.path, frames, pose_model, size)["image_xy_px"], "hip")[
        :, 0
    ]
    assert (plain[np.isfinite(plain)] > half).any(), "without the guard the right lifter is measured"
    guarded = run_native_frames(a.video.path, frames, pose_model, size, lifter=LifterTrack.of(a.body))
    hip = joint_mid_px(guarded["image_xy_px"], "hip")[:, 0]
    assert np.isfinite(hip).any() and np.all(hip[np.isfinite(hip)] < half)
    assert np.array_equal(guarded["frame_index"], [f for f, _ in frames])


def test_refined_moments_are_measured_on_the_lifter(switch_back, monkeypatch):
    from formcheck_core.cache import load_table
    from formcheck_core.models.pose_model import model_id, resolve_pose_model
    from formcheck_core.pose.refine import refine_moments

    a, _, _, cache = switch_back
    monkeypatch.setenv("FORMCHECK_CACHE", str(cache))
    pulls = (*a.reps, *a.partial_pulls)
    assert pulls
    model = resolve_pose_model(None)
    measured: list[int] = []
    out = refine_moments(
        a.video,
        a.body,
        pulls,
        model,
        model_id=model_id(model),
        video_sha256=a.video_sha256,
        on_frame=lambda f, rgb, person: measured.append(f),
    )
    assert measured
    tables = [load_table("refine", p.stem) for p in (cache / "refine").glob("*.npz")]
    assert len(tables) == 1 and tables[0] is not None
    hip = joint_mid_px(tables[0]["image_xy_px"], "hip")[:, 0]
    assert np.all(hip[np.isfinite(hip)] < a.video.width_px / 2)
    fi, native = a.body.frame_index, 0
    for before, after in zip(pulls, out, strict=True):
        for name, m in after.moments.items():
            if m.refined_by == "native frames":  # placed between the samples around it
                native += 1
                s = before.moments[name].sample
                assert fi[max(s - 1, 0)] <= m.refined_frame_index <= fi[min(s + 1, fi.size - 1)]
            else:  # not refined, or no lifter on its frames: the interpolated estimate is kept
                assert m.refined_by in (None, "interpolated")
    assert native, "a moment was placed on frames showing the lifter"
