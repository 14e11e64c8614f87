"""The pull's top on real clips (cached MediaPipe pose): no pull's lift-off-to-lockout span holds
the bar being set down, i.e. the shoulders never sink below their height at lift-off by
MIN_SHOULDER_RISE_REL body lengths or more between the two (before the top ended at a lowering of
the shoulders, heavy_front_oblique_a's third pull was read on the empty-handed re-stand after the
bar was set down: its lift-off and lockout 0.1 s apart with the shoulders dropping 0.14 body
lengths between them). A contract over every dev clip, not a pose-exact frame."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEV, dev_clip_stems

from formcheck_core.biomech.moments import MIN_SHOULDER_RISE_REL


@pytest.mark.parametrize("stem", dev_clip_stems())
def test_no_pull_rises_across_a_set_down(stem, pose_model, dev_labels):
    from formcheck_core.analysis import analyze

    a = analyze(DEV / f"{stem}.mp4", rules=False, progress=False)
    assert a.body is not None, (
        f"{stem}: every labelled dev clip has a lifter posed (no pose: nothing checked)"
    )
    up = -np.asarray(a.body.smoothed["shoulder_y_px"], float)
    sink = MIN_SHOULDER_RISE_REL * a.body.body_length_px
    checked = 0
    for r in (*a.reps, *a.partial_pulls):
        if "liftoff" not in r.moments or "lockout" not in r.moments:
            continue
        checked += 1
        lift, lock = r.moments["liftoff"].sample, r.moments["lockout"].sample
        seg = up[lift : lock + 1]
        assert lift < lock
        assert not np.any(seg[np.isfinite(seg)] <= up[lift] - sink), (r.number, lift, lock)
    # A clip labelled with a complete pull whose lift-off and lockout are both in view must have
    # one checked here: a segmentation that lost every such pull would otherwise pass silently.
    labelled = [
        r
        for r in dev_labels[stem]["reps"]
        if r["complete"] and None not in (r["liftoff_frame"], r["lockout_frame"])
    ]
    if stem in LOCKOUT_NOT_PLACED:
        assert not checked, (stem, "its lockout is placed now: unlist it so that losing it again fails")
    elif labelled:
        assert checked, (stem, "no pull with both lift-off and lockout", len(labelled))


#: Dev clips whose labelled pulls formcheck leaves without a lockout moment, each for a stated
#: reason (README, "Rep and key-moment accuracy"): the lifter leaves the picture over the lockout
#: (its lockout is "not measurable"). A clip listed here that gains a lockout fails, to be unlisted.
LOCKOUT_NOT_PLACED = frozenset({"gym1080_bad_partial_01"})
