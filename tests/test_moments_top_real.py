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
def test_no_pull_rises_across_a_set_down(stem, pose_model):
    from formcheck_core.analysis import analyze

    a = analyze(DEV / f"{stem}.mp4", rules=False, progress=False)
    if a.body is None:
        return
    up = -np.asarray(a.body.smoothed["shoulder_y_px"], float)
    sink = MIN_SHOULDER_RISE_REL * a.body.body_length_px
    for r in (*a.reps, *a.partial_pulls):
        if "liftoff" not in r.moments or "lockout" not in r.moments:
            continue
        lift, lock = r.moments["liftoff"].sample, r.moments["lockout"].sample
        seg = up[lift : lock + 1]
        assert lift < lock
        assert not np.any(seg[np.isfinite(seg)] <= up[lift] - sink), (r.number, lift, lock)
