"""Where lockout's sample lies: the sample nearest its interpolated crossing (as lift-off's), so a
copy whose samples fall at other instants reads the lockout window from the same instant within
half a sample. Synthetic series with known geometry, no clips."""

from __future__ import annotations

import numpy as np
from synthetic_lifter import deadlift_pose

from formcheck_core.biomech.kinematics import compute_body_series
from formcheck_core.biomech.moments import segment_reps

FPS = 10.0


def test_lockout_sample_is_the_one_nearest_its_sub_sample_estimate():
    estimated, later = [], 0
    for seed in range(6):
        for start_s in (0.0, 0.04, 0.07):  # the samples at other instants of the same lift
            pose, truth = deadlift_pose(2, fps=FPS, noise_px=1.0, seed=seed, start_s=start_s)
            reps = segment_reps(compute_body_series(pose))
            assert len(reps) == len(truth)
            for r in reps:
                m = r.moments.get("lockout")
                if m is not None and m.refined_time_s is not None:
                    estimated.append(m)
                    later += m.time_s > m.refined_time_s + 1e-9
    assert len(estimated) >= 20, "the crossings are interpolated"
    gaps = np.array([abs(m.time_s - m.refined_time_s) for m in estimated])
    assert np.all(gaps <= 0.5 / FPS + 1e-9), gaps.max()
    assert 0 < later < len(estimated), "rounded either way, not always the first sample past it"
