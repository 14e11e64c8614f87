"""Metamorphic tests on real dev clips (no labels): a mirrored, re-timed (0.8x, 1.25x), cropped,
darkened, downscaled or rotation-tagged copy must give the same analysis.

Each (clip, transform) runs every check of :func:`metamorphic.compare`: the rep count (complete reps
and partial pulls), each key moment's time (within 0.1 s after scaling by the speed) and each angle
metric (within 3°). Every check not listed in :data:`KNOWN_BREAKS` is asserted (a hard failure).
The listed ones are the invariances broken today, each a bug and not a tolerance: the test fails if
an unlisted check breaks or a listed one holds with a wide margin (fixed: unlist it), warns when a
listed one holds narrowly (on another CPU a check near its tolerance can flip that way), and is
reported as xfail while listed checks break.

Why they break (``python scripts/metamorphic.py --cached`` prints each difference with its cause
and evidence, and a breakdown by transform, by check and by cause; measured on this machine, 69 of
588 single angle checks and 6 of 196 moment checks break; every rep count holds). Every break is
classified (``metamorphic.CAUSES``, ``angle_cause``, ``moment_cause``) by whose it is, from the raw
landmark series (``kinematics.landmark_series``: no visibility mask, gap filling or smoothing, so
before any formcheck processing) compared at source frames; where only one copy sampled a frame (a
re-timed copy samples other source frames) its value is compared with the range of the other
copy's samples either side (``metamorphic.raw_differences``; until the sixth round such frames were
skipped, and a re-timed copy with no common frame near the reading "agreed" for want of evidence:
3 "re-timing" breaks were MediaPipe's):
- MediaPipe, 57 angle checks: "pose model" 40 (16 of them mirror copies: the model is not
  mirror-symmetric), "nearby frame" 14, "visibility" 2, the segmentation pass's
  ``back_angle_deg`` 1; and 3 moment checks (the raw hip angle or torso lean placing the moment);
- formcheck, 12 angle checks: "moment timing" 6 (the moment a reading is tied to moved a sample:
  lift-off 3, lockout 3), "re-timing" 5 (a re-timed copy reads another instant of the motion: the
  hip near lift-off read at the set-up sample on a fast rise 1, and the knee near the floor 4, where MediaPipe puts the ankle up behind the plates -- knee
  angles of 2-20 deg -- and the filter spreads that dip differently over other samples), "smoothing"
  1; and 3 moment checks "threshold" (set-up and lockout at 1.25x, a darkened lockout);
- 32 of the 69 angle breaks are on a reading marked low confidence in one of the copies.
The set position's level (sixth round; since the seventh found once, ``rep_window.set_position``,
and read at ``Rep.set_position_sample``: these side-view clips unchanged): the hip angle at set-up
is the lowest value held for 0.2 s before lift-off, not the set-up sample's value on the
hips' rise: reel_good_15's 0.8x and 1.25x and posereader_good's 1.25x set-up breaks are fixed (the
strict check below fails if they are listed), phone_side_a's mirror copy breaks in both reps,
MediaPipe's by the evidence (raw 3.6 and 6.3 deg apart at the level's source frame): 516 -> 517.
Lockout's sample is the one nearest its interpolated crossing (sixth round, as lift-off's): the
lockout window starts within half a sample of the same instant in every copy: 517 -> 519 (4 fixed:
reel_bad_bar_far_12's hip at lockout in the mirror and 1.25x copies and its darkened lean at
lockout, phone_side_a's mirrored elbow; 2 new, both MediaPipe's by the evidence: the knee at
lockout at 1.25x and cropped, raw 4.1 and 3.5 deg apart).
Checked and not a cause: the analysed side follows the mirror in every copy ("side choice" would
flag it), heights are compared in body lengths above the ankles (crop and scale drop out).
Facing canonicalised before posing, tried as a measurement and not landed: posing the mirror copy
flipped back (what posing every clip with the lifter facing one way would do, one pose pass, a
flip per frame) holds 77 of the 84 mirror angle checks instead of 58 and 27 of 28 moments as now
(``python scripts/metamorphic.py --mirror-back --cached``); it changes the pose of every left-facing clip, so every
dev figure would have to be re-measured, and was left for a round that can.
The set-up moment (fifth round, ``moments._setup``): its level is the lowest hip angle held for
0.2 s, not one sample, and its sub-sample estimate no longer takes lift-off's away: moments
188 -> 190, angles 507 -> 511 (514 with the shoulder lockout); reel_good_15's four set-up breaks
in the mirror, cropped, darkened and rotation-tagged copies are gone.
Checked and not a cause here: every window is in seconds (the filter's cut-off in Hz, holds and
medians in seconds at the copy's own rate), the near side follows the mirror (left <-> right with
the facing sign), and angles are taken in pixels of the upright frame at its true size (crop,
downscale and rotation metadata keep the aspect). A lower or higher filter cut-off (1.5, 2, 3 Hz)
broke as many or more checks.
Readings changed for invariance in earlier rounds (``formcheck_core/biomech/rep_window.py``): window
extremes are values held for 0.2 s (``HOLD_S``); the knee near the floor is the median within 0.2 s
either side of its sample. Tried this round and dropped (measured with the fast harness on the same
copies): the smallest elbow angle kept for a third of the pull (elbow breaks 18 -> 14, but the
labelled bent-arms clip then read at a confident sample, nested LOCO switched bent_arms on in a fold
and flagged a good lift: set-verdict balanced accuracy 0.82 -> 0.80); the squat index as the median
over the whole set position (18 -> 14, but the one squat-pattern dev clip fell under the rule's
limit); the set-up hip angle as the set position's lowest or median value (as many breaks); longer
holds (0.3 s: +3 checks, 0.4 s: -22).
``back_angle_deg`` breaks in 3 of 49 checks (every sample of the pull measured; measuring every
other one, tried and dropped, broke 14: a median over half the samples moves more between copies).
Read in the main pose pass (the default for a clip posed now; the test poses the copies afresh and
CI the originals too) it also breaks in 3 of 49, other ones than the targeted pass's: listed here
are the main pass's (posereader_unoccluded half size and reel_bad_bar_far_12 at 0.8x in, phone_side_a
rep 2 in the mirror and at 1.25x out).
Scene cuts (``formcheck_core.scene_cuts``): reel_bad_bar_far_12 opens with a two-frame title card,
now a shot of its own, so its lift-off lean differs from the 1.25x copy's (timing). Its main shot
is posed by a fresh tracker (``formcheck_core.pose.shots``), in the original and in every copy
alike: its listed breaks fell from 36 to 22 checks (mirror 12 -> 5), re-listed from
``scripts/metamorphic.py --known``.
Knee pass read at the grip when the wrists are above the knee at lift-off: phone_side_a's knee
passes hold in 5 transforms (11 entries removed last round).
Lift-off measured from the pull's dead stop (``moments.py``, this round): posereader_unoccluded's
cropped copy now agrees on lift-off and its torso lean (2 % and 20 % of the tolerance used; the
strict check below flagged both listed entries): 2 entries removed.
Lockout read from the shoulders alone (``moments.py``, fifth round): re-listed from
``scripts/metamorphic.py --known``; 188/196 moment and 510/588 angle checks hold (507 before): the
smallest elbow angle of reel_bad_bar_far_12's pull now holds in four copies, posereader_unoccluded's
lockout at 1.25x and reel_bad_07's knee at lockout at 1.25x now break.
Lift-off at the sample nearest the hip angle's crossing, from its lowest level held for 0.2 s
(``moments.py``, fifth round): re-listed from ``scripts/metamorphic.py --known``; 190/196 moment and
516/588 angle checks hold (514 before): the torso lean at lift-off holds in three copies and the
1.25x knee pass holds; phone_side_a's 1.25x set-up and posereader_good's darkened knee near
lift-off now break, both MediaPipe's by the script's evidence (raw landmarks 9.5 and 9.2 deg apart
at the source frame).

A listed check that now holds with under half its tolerance used (``metamorphic.tolerance_used``)
fails the test: it is fixed and must come off the list, so that it fails if it comes back. One that
holds narrowly only warns: MediaPipe differs slightly between CPUs.

Regenerate the table with ``python scripts/metamorphic.py --known`` (same clips, same checks; the
copies are byte-identical from run to run). MediaPipe differs slightly between CPUs, so a check
within a degree of its tolerance may move across it on another machine: that shows here as a named
check to re-list, never silently.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import metamorphic


@pytest.fixture(scope="module")
def variants_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("metamorphic")


#: Invariances known broken (clip, transform) -> the broken checks (``count``, ``r<rep>:<moment>``,
#: ``r<rep>:<metric>``), from ``python scripts/metamorphic.py --known``.
# fmt: off
KNOWN_BREAKS: dict[tuple[str, str], tuple[str, ...]] = {
    ('posereader_good', 'mirror'): ('r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:squat_index_setup_deg'),
    ('posereader_good', 'speed_1.25'): ('r1:torso_lean_lockout_deg',),
    ('posereader_good', 'crop_10'): ('r1:knee_angle_bottom_deg',),
    ('posereader_good', 'dark_30'): ('r1:knee_angle_bottom_deg',),
    ('posereader_good', 'half_size'): ('r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'mirror'): ('r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:setup', 'r1:torso_lean_gain_deg'),
    ('posereader_unoccluded', 'speed_0.8'): ('r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'speed_1.25'): ('r1:knee_angle_lockout_deg', 'r1:lockout', 'r1:min_elbow_angle_pull_deg', 'r1:setup', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'crop_10'): ('r1:hip_angle_liftoff_deg',),
    ('posereader_unoccluded', 'dark_30'): ('r1:squat_index_setup_deg',),
    ('posereader_unoccluded', 'half_size'): ('r1:back_angle_deg', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'rotation_meta'): ('r1:squat_index_setup_deg',),
    ('reel_good_15', 'mirror'): ('r1:hip_angle_lockout_deg', 'r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('reel_good_15', 'speed_0.8'): ('r1:hip_angle_liftoff_deg', 'r1:min_elbow_angle_pull_deg'),
    ('reel_good_15', 'speed_1.25'): ('r1:hip_angle_liftoff_deg', 'r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('reel_good_15', 'dark_30'): ('r1:knee_angle_lockout_deg',),
    ('reel_bad_07', 'mirror'): ('r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'speed_0.8'): ('r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'speed_1.25'): ('r1:knee_angle_lockout_deg',),
    ('reel_bad_07', 'crop_10'): ('r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg'),
    ('reel_bad_07', 'dark_30'): ('r1:min_elbow_angle_pull_deg',),
    ('reel_bad_07', 'half_size'): ('r1:knee_angle_bottom_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'rotation_meta'): ('r1:min_elbow_angle_pull_deg',),
    ('reel_bad_bar_far_12', 'mirror'): ('r1:knee_angle_bottom_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg', 'r1:torso_lean_lockout_deg'),
    ('reel_bad_bar_far_12', 'speed_1.25'): ('r1:lockout', 'r1:min_elbow_angle_pull_deg', 'r1:torso_lean_liftoff_deg'),
    ('reel_bad_bar_far_12', 'crop_10'): ('r1:hip_angle_lockout_deg',),
    ('reel_bad_bar_far_12', 'dark_30'): ('r1:hip_angle_lockout_deg', 'r1:lockout', 'r1:squat_index_setup_deg'),
    ('reel_bad_bar_far_12', 'half_size'): ('r1:hip_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('phone_side_a', 'mirror'): ('r1:hip_angle_lockout_deg', 'r1:hip_angle_setup_deg', 'r1:knee_angle_lockout_deg', 'r2:hip_angle_setup_deg', 'r2:knee_angle_lockout_deg', 'r2:min_elbow_angle_pull_deg'),
    ('phone_side_a', 'speed_0.8'): ('r2:hip_angle_lockout_deg',),
    ('phone_side_a', 'speed_1.25'): ('r1:hip_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:setup'),
    ('phone_side_a', 'dark_30'): ('r1:knee_angle_lockout_deg',),
}
# fmt: on


#: A listed break that now holds using at most this share of its tolerance (1.5°, 0.05 s) is a
#: fix, not CPU noise: the test fails until it is unlisted (strict). Between this and the tolerance
#: it only warns.
STRICT_SHARE = 0.5


def _cases():
    for stem in metamorphic.DEFAULT_CLIPS:
        for t in metamorphic.TRANSFORMS:
            yield pytest.param(stem, t, id=f"{stem}-{t.name}")


def test_known_breaks_name_real_cases():
    names = {t.name for t in metamorphic.TRANSFORMS}
    for (stem, transform), checks in KNOWN_BREAKS.items():
        assert stem in metamorphic.DEFAULT_CLIPS and transform in names and checks


def test_raw_differences_of_a_re_timed_copy_count_only_what_its_samples_cannot_reach():
    """Evidence for "pose model" on a re-timed copy (it samples other source frames): a frame one
    copy did not sample is compared with the range of the other's samples either side, so a
    motion sampled at other instants is no difference, and a value outside that range is."""
    frames_o = np.arange(0, 61, 3)  # the original: every 3rd source frame (10 of 30 fps)
    frames_v = np.arange(0, 61, 4)  # a 1.25x copy: every 4th

    def angle(f):  # a moving, turning joint (deg) at source frame f
        return 90.0 + 60.0 * np.sin(np.asarray(f, float) / 12.0)

    ro, rv = angle(frames_o), angle(frames_v)
    all_frames = np.union1d(frames_o, frames_v)
    diffs = metamorphic.raw_differences(frames_o, ro, frames_v, rv, all_frames)
    assert {f for f, _, _ in diffs} == set(all_frames.tolist()), "every frame is compared"
    # a smooth motion is within the other copy's neighbours (a turn by at most its curvature)
    assert max(d for _, d, _ in diffs) < 0.5
    assert all(how == "" for f, _, how in diffs if f % 12 == 0), "frames both sampled compare directly"
    # the pose model puts one joint 25 deg off at frame 21 in the original only: found there
    ro_bad = ro.copy()
    ro_bad[frames_o == 21] += 25.0
    (hit,) = [(f, d, how) for f, d, how in metamorphic.raw_differences(frames_o, ro_bad, frames_v, rv, [21])]
    assert hit[0] == 21 and hit[1] > 20.0 and hit[2] == "20-24"
    # no evidence either way beyond the other copy's samples or across a NaN
    rv_gap = rv.copy()
    rv_gap[frames_v == 24] = np.nan
    assert metamorphic.raw_differences(frames_o, ro, frames_v, rv_gap, [21, 99]) == []


def test_tolerance_used_covers_every_check_and_scales_with_the_difference(dev_clip, pose_model):
    """The strict fixed-break check reads :func:`metamorphic.tolerance_used`: one entry per check,
    0 for an identical analysis, the difference over the tolerance for a moved reading, inf for a
    value measurable in one copy only."""
    import dataclasses

    from formcheck_core.analysis import analyze

    orig = analyze(dev_clip("posereader_good"), rules=False, progress=False)
    same = metamorphic.tolerance_used(orig, orig)
    assert set(same) == {c for _, c in metamorphic.checks(orig)}
    assert all(v == 0.0 for v in same.values())
    rep = orig.reps[0]
    key = "hip_angle_lockout_deg"
    moved = {**rep.metrics, key: rep.metrics[key] + 1.5, "knee_angle_lockout_deg": float("nan")}
    other = dataclasses.replace(orig, reps=(dataclasses.replace(rep, metrics=moved), *orig.reps[1:]))
    used = metamorphic.tolerance_used(orig, other)
    assert used[f"r{rep.number}:{key}"] == pytest.approx(1.5 / metamorphic.ANGLE_TOL_DEG)
    assert used[f"r{rep.number}:knee_angle_lockout_deg"] == float("inf")
    assert not {b.check for b in metamorphic.compare(orig, other)} - {f"r{rep.number}:knee_angle_lockout_deg"}


@pytest.mark.parametrize(("stem", "transform"), list(_cases()))
def test_transformed_clip_gives_the_same_analysis(stem, transform, dev_clip, pose_model, variants_dir):
    from formcheck_core.analysis import analyze

    src = dev_clip(stem)
    orig = analyze(src, rules=False, progress=False)
    assert orig.reps, "the metamorphic clips have complete reps"
    path = metamorphic.make_variant(src, transform, variants_dir)
    try:
        var = analyze(path, rules=False, progress=False, cache=False)
    finally:
        path.unlink(missing_ok=True)
    broken = {
        b.check: str(b)
        for b in metamorphic.compare(orig, var, transform.speed, mirrored=transform.name == "mirror")
    }
    known = set(KNOWN_BREAKS.get((stem, transform.name), ()))
    new = sorted(set(broken) - known)
    assert not new, "invariance broken: " + "; ".join(broken[c] for c in new)
    fixed = sorted(known - set(broken))
    if fixed:
        used = metamorphic.tolerance_used(orig, var, transform.speed)
        stale = [c for c in fixed if c not in used]
        assert not stale, f"KNOWN_BREAKS names checks this clip-transform does not have: {stale}"
        clearly = [f"{c} ({used[c]:.0%} of its tolerance)" for c in fixed if used[c] <= STRICT_SHARE]
        assert not clearly, (
            "fixed: listed as broken but holds with a wide margin (remove from KNOWN_BREAKS): "
            + ("; ".join(clearly))
        )
        # holds narrowly: progress, or pose noise of another CPU near the tolerance; say so
        warnings.warn(
            f"{stem}/{transform.name}: listed as broken but holds now (update KNOWN_BREAKS): {fixed}",
            stacklevel=1,
        )
    if broken:
        pytest.xfail("known broken invariances (listed in KNOWN_BREAKS): " + "; ".join(broken.values()))
