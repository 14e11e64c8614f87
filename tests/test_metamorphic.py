"""Metamorphic tests on real dev clips (no labels): a mirrored, re-timed (0.8x, 1.25x), cropped,
darkened, downscaled or rotation-tagged copy must give the same analysis.

Each (clip, transform) runs every check of :func:`metamorphic.compare`: the rep count (complete reps
and partial pulls), each key moment's time (within 0.1 s after scaling by the speed) and each angle
metric (within 3°). Every check not listed in :data:`KNOWN_BREAKS` is asserted (a hard failure).
The listed ones are the invariances broken today, each a bug and not a tolerance: the test fails if
an unlisted check breaks, warns when a listed one holds (update the list; on another CPU a check
within a fraction of a degree of its tolerance can also flip that way), and is reported as xfail
while listed checks break.

Why they break (``python scripts/metamorphic.py`` prints each difference and a breakdown by
transform, by check and by cause; measured on this machine, 95 of 588 single angle checks and 20
of 196 moment checks break; every rep count holds). Of the 95 angle breaks:
- 48 are the pose itself: at the very source instant the original was read, the copy's series
  differs by more than 3°. MediaPipe places a joint differently in a byte-different copy of the same
  frame -- the near knee at lift-off, hidden behind the plates, most (``knee_angle_bottom_deg`` 12
  of 49 break, ``squat_index_setup_deg`` 18, which uses it); at the same sample the knee differs by
  a median 2-3° after a crop, darkening or downscale and 8° after a mirror (the model is not
  mirror-symmetric: knee, elbow and hip of the mirrored lifter differ most);
- 22 are timing: the copy agrees at that instant but read its value at another one -- set-up and
  lift-off re-detected a sample or two away, the 10 fps grid of a 0.8x/1.25x copy landing on other
  source frames (the grid is in the copy's own time), another sample of a window extreme;
- 23 are not classified (the squat index, read from two series, and the segmentation pass's
  ``back_angle_deg``, which moves with the mask outline) and 2 are measurable in only one copy;
- 44 of the 95 are on a reading marked low confidence in one of the copies.
``back_angle_deg`` breaks in 3 of 49 checks (every sample of the pull measured; measuring every
other one, tried and dropped, broke 14: a median over half the samples moves more between copies).
Read in the main pose pass (the default for a clip posed now; the test poses the copies afresh and
CI the originals too) it also breaks in 3 of 49, other ones than the targeted pass's: listed here
are the main pass's (posereader_unoccluded half size and reel_bad_bar_far_12 at 0.8x in, phone_side_a
rep 2 in the mirror and at 1.25x out).
Readings changed this round, each for a stated reason (``formcheck_core/biomech/rep_window.py``):
window extremes are values held for 0.2 s (``HOLD_S``), and the knee near the floor is the median
within 0.2 s either side of its sample. That fixed 16 listed checks; it also moved the original's
own value of 9 checks, which now differ from the copy's by 3.3-7.5° (pose or timing, as printed)
and are listed: phone_side_a r1 hip at lockout (mirror, 1.25x), posereader_good knee at lift-off
and squat index (half size), its lockout lean (1.25x), posereader_unoccluded knee at lift-off
(mirror, 0.8x) and at lockout (mirror), reel_bad_bar_far_12 squat index (half size).
Scene cuts (``formcheck_core.scene_cuts``): reel_bad_bar_far_12 opens with a two-frame title card,
now a shot of its own; the original's lift-off moved one sample earlier (sample 10 -> 9, where the
lean changes 6 deg a sample), so its lift-off lean differs from the 1.25x and half-size copies'
(75.1 vs 62.3 / 68.8 deg, timing): 2 entries added.
Knee pass read at the grip when the wrists are above the knee at lift-off
(``formcheck_core.biomech.moments.knee_pass_bar_y_px``): phone_side_a's knee passes, missing in
some copies and not in others, now hold in 5 transforms (and with them its rep 2 back angle, read
set-up to knee pass), reel_bad_bar_far_12's in the mirror: 11 entries removed (``--cached``: moment
checks broken 20 -> 13 of 196, angle checks 96 -> 92 of 588; no check newly broken).

Regenerate the table with ``python scripts/metamorphic.py --known`` (same clips, same checks; the
copies are byte-identical from run to run). MediaPipe differs slightly between CPUs, so a check
within a degree of its tolerance may move across it on another machine: that shows here as a named
check to re-list, never silently.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

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
    ('posereader_good', 'speed_1.25'): ('r1:hip_angle_setup_deg', 'r1:torso_lean_lockout_deg'),
    ('posereader_good', 'crop_10'): ('r1:knee_angle_bottom_deg', 'r1:setup'),
    ('posereader_good', 'half_size'): ('r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'mirror'): ('r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:setup', 'r1:torso_lean_gain_deg'),
    ('posereader_unoccluded', 'speed_0.8'): ('r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'speed_1.25'): ('r1:min_elbow_angle_pull_deg', 'r1:setup', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'crop_10'): ('r1:hip_angle_liftoff_deg', 'r1:liftoff', 'r1:torso_lean_liftoff_deg'),
    ('posereader_unoccluded', 'dark_30'): ('r1:squat_index_setup_deg',),
    ('posereader_unoccluded', 'half_size'): ('r1:back_angle_deg', 'r1:squat_index_setup_deg'),
    ('posereader_unoccluded', 'rotation_meta'): ('r1:squat_index_setup_deg',),
    ('reel_good_15', 'mirror'): ('r1:hip_angle_lockout_deg', 'r1:hip_angle_setup_deg', 'r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg'),
    ('reel_good_15', 'speed_0.8'): ('r1:hip_angle_liftoff_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg', 'r1:torso_lean_liftoff_deg'),
    ('reel_good_15', 'speed_1.25'): ('r1:hip_angle_liftoff_deg', 'r1:knee_angle_bottom_deg'),
    ('reel_good_15', 'crop_10'): ('r1:hip_angle_setup_deg', 'r1:squat_index_setup_deg'),
    ('reel_good_15', 'dark_30'): ('r1:hip_angle_setup_deg', 'r1:knee_angle_lockout_deg', 'r1:squat_index_setup_deg'),
    ('reel_good_15', 'rotation_meta'): ('r1:hip_angle_setup_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'mirror'): ('r1:knee_angle_bottom_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'speed_0.8'): ('r1:knee_angle_bottom_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'crop_10'): ('r1:min_elbow_angle_pull_deg',),
    ('reel_bad_07', 'dark_30'): ('r1:min_elbow_angle_pull_deg',),
    ('reel_bad_07', 'half_size'): ('r1:knee_angle_bottom_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('reel_bad_07', 'rotation_meta'): ('r1:min_elbow_angle_pull_deg',),
    ('reel_bad_bar_far_12', 'mirror'): ('r1:back_angle_deg', 'r1:hip_angle_liftoff_deg', 'r1:hip_angle_lockout_deg', 'r1:hip_angle_setup_deg', 'r1:knee_angle_bottom_deg', 'r1:liftoff', 'r1:lockout', 'r1:min_elbow_angle_pull_deg', 'r1:setup', 'r1:squat_index_setup_deg', 'r1:torso_lean_liftoff_deg', 'r1:torso_lean_lockout_deg'),
    ('reel_bad_bar_far_12', 'speed_0.8'): ('r1:back_angle_deg', 'r1:hip_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg'),
    ('reel_bad_bar_far_12', 'speed_1.25'): ('r1:hip_angle_liftoff_deg', 'r1:hip_angle_lockout_deg', 'r1:hip_angle_setup_deg', 'r1:liftoff', 'r1:lockout', 'r1:min_elbow_angle_pull_deg', 'r1:setup', 'r1:squat_index_setup_deg', 'r1:torso_lean_liftoff_deg'),
    ('reel_bad_bar_far_12', 'crop_10'): ('r1:min_elbow_angle_pull_deg',),
    ('reel_bad_bar_far_12', 'dark_30'): ('r1:torso_lean_lockout_deg',),
    ('reel_bad_bar_far_12', 'half_size'): ('r1:hip_angle_liftoff_deg', 'r1:hip_angle_lockout_deg', 'r1:hip_angle_setup_deg', 'r1:lockout', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg', 'r1:torso_lean_liftoff_deg'),
    ('reel_bad_bar_far_12', 'rotation_meta'): ('r1:hip_angle_lockout_deg', 'r1:knee_angle_bottom_deg', 'r1:min_elbow_angle_pull_deg', 'r1:squat_index_setup_deg'),
    ('phone_side_a', 'mirror'): ('r1:hip_angle_lockout_deg', 'r1:knee_angle_lockout_deg', 'r1:min_elbow_angle_pull_deg', 'r2:knee_angle_lockout_deg', 'r2:min_elbow_angle_pull_deg'),
    ('phone_side_a', 'speed_0.8'): ('r2:hip_angle_lockout_deg',),
    ('phone_side_a', 'speed_1.25'): ('r1:hip_angle_lockout_deg', 'r1:knee_pass', 'r1:liftoff', 'r1:min_elbow_angle_pull_deg', 'r1:torso_lean_liftoff_deg'),
    ('phone_side_a', 'dark_30'): ('r1:knee_angle_lockout_deg',),
    ('phone_side_a', 'rotation_meta'): ('r2:torso_lean_liftoff_deg',),
}
# fmt: on


def _cases():
    for stem in metamorphic.DEFAULT_CLIPS:
        for t in metamorphic.TRANSFORMS:
            yield pytest.param(stem, t, id=f"{stem}-{t.name}")


def test_known_breaks_name_real_cases():
    names = {t.name for t in metamorphic.TRANSFORMS}
    for (stem, transform), checks in KNOWN_BREAKS.items():
        assert stem in metamorphic.DEFAULT_CLIPS and transform in names and checks


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
    broken = {b.check: str(b) for b in metamorphic.compare(orig, var, transform.speed)}
    known = set(KNOWN_BREAKS.get((stem, transform.name), ()))
    new = sorted(set(broken) - known)
    assert not new, "invariance broken: " + "; ".join(broken[c] for c in new)
    fixed = sorted(known - set(broken))
    if fixed:  # progress, or pose noise of another CPU near the tolerance: say so, don't fail
        warnings.warn(
            f"{stem}/{transform.name}: listed as broken but holds now (update KNOWN_BREAKS): {fixed}",
            stacklevel=1,
        )
    if broken:
        pytest.xfail("known broken invariances (listed in KNOWN_BREAKS): " + "; ".join(broken.values()))
