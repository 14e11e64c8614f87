"""Identity breaks: where the person a pose series follows may change inside a shot.

In VIDEO mode the landmarker follows one person from frame to frame and runs its detector again
only when it loses them, so it can pick up someone else there (a bystander walking through). A
scene cut moves everyone at once; each shot is posed by its own tracker
(:mod:`~formcheck_core.pose.shots`) and only steps *inside* a shot are checked here.

A person's hips cannot move faster than the person does. Between two consecutive detected
samples of a shot, the hip midpoint (mean of the left and right hip: a left/right swap of the
model moves each hip but not their midpoint) may move at most
``JITTER_REL + MAX_SPEED_REL_PER_S * dt`` body lengths; a larger step is an identity break (or a
gross slip of the pose model: either way the series does not describe one body across it).
At 10 fps that allowance is 0.3 body lengths.

Measured (``python scripts/evaluate_dev.py`` lists them as misses' causes): none on the 36 dev
clips or the 24 held-out clips, whose largest step inside a shot is 0.23 body lengths at 10 fps;
steps across the dev clips' scene cuts reach 0.36. Only positions are checked: a second person
standing where the first stood, at another depth, is not found (body size in the image changes
too much with posture to tell, up to 1.55x between samples of one lifter on the dev clips).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .landmarks import LANDMARK

#: Body lengths per second: faster than a person moves their hips while lifting or walking (a
#: brisk walk, about 1.5 m/s, is about 1.2 body lengths/s for a shoulder-to-ankle length of
#: about 1.3 m; the hips of a pull move well under 1 body length/s).
MAX_SPEED_REL_PER_S = 2.0
#: Body lengths: the pose model's own jitter of the hip midpoint between two samples, however
#: close in time (a few pixels at the dev clips' sizes, rounded up generously).
JITTER_REL = 0.1


@dataclass(frozen=True)
class IdentityBreak:
    """One step of the hip midpoint faster than a person moves, inside a shot."""

    #: Sample index (into the series) of the first sample after the step.
    sample: int
    #: Detected sample before it (samples between had no pose).
    previous_sample: int
    #: Length of the step, body lengths.
    step_rel: float
    #: The most a person could move in the time between the two samples, body lengths.
    allowed_rel: float


def joint_mid_px(image_xy_px: np.ndarray, joint: str) -> np.ndarray:
    """(..., 2) midpoint of the left and right ``joint`` (e.g. "hip") of (..., 33, 2) landmarks."""
    xy = np.asarray(image_xy_px, float)
    return (xy[..., LANDMARK[f"left_{joint}"], :] + xy[..., LANDMARK[f"right_{joint}"], :]) / 2.0


def body_length_mid_px(image_xy_px: np.ndarray) -> float:
    """Median over samples of shoulder-hip + hip-knee + knee-ankle, each between the left/right
    midpoints, pixels (NaN if never measurable): the scale of the person followed, from both
    sides (the analysed side is not known at the pose stage)."""
    xy = np.asarray(image_xy_px, float)
    joints = [joint_mid_px(xy, j) for j in ("shoulder", "hip", "knee", "ankle")]
    total = sum(np.linalg.norm(a - b, axis=-1) for a, b in itertools.pairwise(joints))
    total = np.asarray(total)[np.isfinite(total)]
    return float(np.median(total)) if total.size else float("nan")


def identity_breaks(
    image_xy_px: np.ndarray, time_s: np.ndarray, shot_starts: Sequence[int] = ()
) -> tuple[IdentityBreak, ...]:
    """The identity breaks of a pose series, in time order.

    ``image_xy_px``: (T, 33, 2) landmarks in pixels (NaN where no pose); ``time_s``: (T,) sample
    times in seconds; ``shot_starts``: sample indices where a shot starts after a scene cut
    (:func:`~formcheck_core.scene_cuts.cut_samples`): a step into a shot's first sample is not
    checked, and each shot is scaled by its own body length (:func:`body_length_mid_px`). A
    shot with fewer than two detected samples or no scale has no break.
    """
    xy = np.asarray(image_xy_px, float)
    t = np.asarray(time_s, float)
    n = xy.shape[0]
    bounds = sorted({0, *(int(s) for s in shot_starts if 0 < s < n), n})
    hip = joint_mid_px(xy, "hip")
    out: list[IdentityBreak] = []
    for a, b in itertools.pairwise(bounds):
        scale = body_length_mid_px(xy[a:b])
        seen = a + np.flatnonzero(np.isfinite(hip[a:b]).all(axis=1))
        if seen.size < 2 or not (np.isfinite(scale) and scale > 0):
            continue
        step = np.linalg.norm(np.diff(hip[seen], axis=0), axis=1) / scale
        allowed = JITTER_REL + MAX_SPEED_REL_PER_S * np.diff(t[seen])
        for k in np.flatnonzero(step > allowed):
            out.append(IdentityBreak(int(seen[k + 1]), int(seen[k]), float(step[k]), float(allowed[k])))
    return tuple(out)
