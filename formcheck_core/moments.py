"""Rep segmentation and key moments of a deadlift-style pull.

A rep is one hinge cycle of the hip angle: a bottom (a minimum with a prominence of at least
:data:`MIN_BOTTOM_PROMINENCE_DEG`) followed by a rise of at least :data:`MIN_RISE_DEG` to a top.
The hip angle comes from the image in a side view and from the pose model's 3D world landmarks
when the image angle barely moves (front view), see :func:`hinge_angle_deg`. A candidate counts
as a deadlift rep only if, at the bottom, the bar (wrists) is below mid-thigh (or, with no bar,
the knees are not squat-deep), the shoulders rise at least :data:`MIN_SHOULDER_RISE_REL` body
lengths (rejects pose glitches), and the bar is not raised above mid-torso within
:data:`AFTER_LOCKOUT_S` of the top (a clean or a press).

Key moments (sample indices into the :class:`~formcheck_core.body.BodySeries`). The seed
definitions (lift-off = deepest hip flexion, lockout = maximum hip extension) were refined on the
labelled dev clips: lifters often sit at the bottom for seconds with the hips at their deepest,
and keep opening the hip slowly after they stand, so both seeds were 0.3-2 s off.

* ``liftoff`` (first pull, the bar leaves the floor): the mean of two estimates, the sample from
  which the hip angle stays above :data:`LIFTOFF_HIP_FRAC` of its bottom-to-top rise and the one
  from which the shoulder height stays above :data:`LIFTOFF_SHOULDER_FRAC` of its rise.
* ``setup``: the last sample of the set position (hip angle within :data:`SETUP_TOL_DEG` of its
  lowest) before lift-off; the labels put it one frame before lift-off.
* ``knee_pass``: first sample after lift-off with the bar above the knee in the image, or, without
  a bar, with the knee angle above :data:`KNEE_PASS_DEG`.
* ``lockout``: the mean of the first samples where the hip angle and the shoulder height reach
  :data:`LOCKOUT_HIP_FRAC` / :data:`LOCKOUT_SHOULDER_FRAC` of their rise.

NaN handling: interior gaps of the signals are bridged linearly to find extrema and crossings;
a clip without a usable hip angle yields no reps.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from .body import MOMENT_NAMES, BodySeries, Moment, Rep

#: Smallest rise (deg) of the hip angle from a bottom to the following top that counts as a pull.
MIN_RISE_DEG = 25.0
#: Smallest prominence (deg) of a bottom of the hip angle.
MIN_BOTTOM_PROMINENCE_DEG = 25.0
#: The shoulders must rise at least this much (body lengths) from the bottom to the top: rejects
#: hip-angle swings of pose glitches and of lowering the bar.
MIN_SHOULDER_RISE_REL = 0.1
#: At the bottom, the bar (wrists) must be at least this far from the hip toward the knee
#: (0 = hip height, 1 = knee height): a deadlift starts with the bar below mid-thigh.
MIN_BAR_DEPTH_REL = 0.5
#: After lockout the bar of a deadlift stays below mid-torso; a bar raised above this share of
#: the way from hip to shoulder height within :data:`AFTER_LOCKOUT_S` means a clean or a press.
MAX_BAR_AFTER_REL = 0.5
AFTER_LOCKOUT_S = 1.5
#: Without a bar, the knee must be at least this open at the bottom (a deep squat is ~50 deg).
MIN_KNEE_AT_BOTTOM_DEG = 50.0
#: Lift-off: share of the rise of the hip angle / of the shoulder height left behind for good.
LIFTOFF_HIP_FRAC = 0.10
LIFTOFF_SHOULDER_FRAC = 0.15
#: Lockout: share of the rise of the hip angle / of the shoulder height first reached.
LOCKOUT_HIP_FRAC = 0.95
LOCKOUT_SHOULDER_FRAC = 0.95
#: A rep reached the top (complete) if the hip angle reached this.
TOP_HIP_DEG = 150.0
#: End of the rise: no gain of 1 deg for this long (s), or a drop of this many degrees.
HOLD_S = 1.0
DROP_DEG = 25.0
#: At the last sample, a pull still under way opens the hip faster than this (deg/s, below the
#: top) or raises the shoulders faster than this (body lengths/s).
END_RISE_DEG_S = 10.0
END_RISE_REL_S = 0.05
#: A clip whose first sample is a bottom already rising at this share of the top speed of the
#: rise starts mid-pull.
MID_PULL_SPEED_FRAC = 0.5
#: Knee-pass fallback: knee angle (deg) passed after lift-off.
KNEE_PASS_DEG = 140.0
#: Setup: the set position is where the hip angle is within this of its lowest before lift-off.
SETUP_TOL_DEG = 8.0
#: Longest set position searched before lift-off, seconds.
MAX_SETUP_S = 3.0


def _interp_nan(x: np.ndarray) -> np.ndarray:
    """Linear fill of interior NaN, edge NaN held at the nearest value (for extremum search only)."""
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    if ok.sum() == 0:
        return x.copy()
    idx = np.arange(x.size)
    return np.interp(idx, idx[ok], x[ok])


def _robust_range(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, 95) - np.percentile(x, 5)) if x.size >= 3 else 0.0


def hinge_angle_deg(body: BodySeries) -> np.ndarray:
    """(T,) hip angle used for segmentation: the image one unless it moves much less than the 3D one.

    In a side view both agree and the image angle is more precise; in a front view the image hip
    angle stays near 180 while the lifter hinges, and the world-landmark angle is used instead.
    """
    img = np.asarray(body.smoothed["hip_angle_deg"], float)
    world = body.smoothed.get("hip_angle_world_deg")
    if world is None:
        return img
    world = np.asarray(world, float)
    if (
        _robust_range(img) >= 0.6 * _robust_range(world)
        and np.isfinite(img).sum() >= 0.5 * np.isfinite(world).sum()
    ):
        return img
    return world


def _bottom_is_deadlift(body: BodySeries, i: int) -> bool:
    """True if the posture at sample ``i`` is a deadlift start (bar low, knees not squat-deep)."""
    s = body.smoothed
    bar, hip, knee = s["bar_y_px"][i], s["hip_y_px"][i], s["knee_y_px"][i]
    if np.isfinite(bar) and np.isfinite(hip) and np.isfinite(knee) and knee - hip > 0:
        return (bar - hip) / (knee - hip) >= MIN_BAR_DEPTH_REL
    knee_angle = s["knee_angle_deg"][i]
    return not (np.isfinite(knee_angle) and knee_angle < MIN_KNEE_AT_BOTTOM_DEG)


def _bar_raised_after(body: BodySeries, top: int, stop: int) -> bool:
    """True if the bar goes above mid-torso in [top, stop] (a clean or press, not a deadlift)."""
    s = body.smoothed
    bar, hip, sh = (
        np.asarray(s[k][top : stop + 1], float) for k in ("bar_y_px", "hip_y_px", "shoulder_y_px")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        height = (hip - bar) / (hip - sh)  # 0 = bar at hip height, 1 = at shoulder height
    height = height[np.isfinite(height) & (hip - sh > 0)]
    return bool(height.size and np.max(height) > MAX_BAR_AFTER_REL)


def _moment(body: BodySeries, name: str, i: int) -> Moment:
    return Moment(
        name=name, sample=int(i), frame_index=int(body.frame_index[i]), time_s=float(body.time_s[i])
    )


def _rise_start(x: np.ndarray, lo: int, hi: int, frac: float) -> float:
    """Sample where ``x`` last leaves ``frac`` of its rise over [lo, hi] before reaching its top.

    The rise goes from the minimum to the maximum of ``x`` in [lo, hi]; returns the first sample
    after which ``x`` stays above the threshold until its maximum (NaN if ``x`` has no data).
    """
    w = x[lo : hi + 1]
    if not np.isfinite(w).any():
        return float("nan")
    top = lo + int(np.nanargmax(w))
    low = float(np.nanmin(x[lo : top + 1]))
    thr = low + frac * (float(x[top]) - low)
    i = top
    while i - 1 >= lo and x[i - 1] > thr:
        i -= 1
    return float(i)


def _rise_end(x: np.ndarray, lo: int, hi: int, frac: float) -> float:
    """First sample in [lo, hi] where ``x`` reaches ``frac`` of its rise from its minimum (NaN if no data)."""
    w = x[lo : hi + 1]
    if not np.isfinite(w).any():
        return float("nan")
    top = lo + int(np.nanargmax(w))
    low = float(np.nanmin(x[lo : top + 1]))
    thr = low + frac * (float(x[top]) - low)
    return float(lo + int(np.flatnonzero(x[lo : top + 1] >= thr)[0]))


def _consensus(estimates: list[float], lo: int, hi: int) -> int:
    """Rounded mean of the finite sample estimates, clipped to [lo, hi]."""
    ok = [e for e in estimates if np.isfinite(e)]
    return int(np.clip(round(float(np.mean(ok))), lo, hi)) if ok else lo


def _setup(h: np.ndarray, liftoff: int, lo: int, max_samples: int) -> int:
    """Last sample of the set position before ``liftoff``: the latest sample in
    [max(lo, liftoff - max_samples), liftoff] whose hip angle is within :data:`SETUP_TOL_DEG` of the
    lowest there (the lifter is set at the bar, just before the pull)."""
    a = max(lo, liftoff - max_samples)
    w = h[a : liftoff + 1]
    if not np.isfinite(w).any():
        return liftoff
    set_ = np.flatnonzero(w <= np.nanmin(w) + SETUP_TOL_DEG)
    return a + int(set_[-1])


def _knee_pass(body: BodySeries, start: int, stop: int) -> int | None:
    s = body.smoothed
    bar, knee = s["bar_y_px"], s["knee_y_px"]
    for i in range(start, stop + 1):
        if np.isfinite(bar[i]) and np.isfinite(knee[i]) and bar[i] < knee[i]:
            return i
    knee_angle = s["knee_angle_deg"]
    for i in range(start, stop + 1):
        if np.isfinite(knee_angle[i]) and knee_angle[i] > KNEE_PASS_DEG:
            return i
    return None


def _find_top(h: np.ndarray, b: int, stop: int, fs: float) -> int:
    """End of the first rise after the bottom ``b`` (search up to ``stop``): the highest sample
    before the hip angle stops gaining (:data:`HOLD_S` without a gain of 1 deg) or drops by
    :data:`DROP_DEG`. Returns ``b`` when the angle never rises :data:`MIN_RISE_DEG` above it."""
    above = np.flatnonzero(h[b : stop + 1] >= h[b] + MIN_RISE_DEG)
    if above.size == 0:
        return b
    best = last_gain = b + int(above[0])
    ref = h[best]
    hold = max(1, round(HOLD_S * fs))
    for i in range(best, stop + 1):
        if h[i] > ref + 1.0:
            ref, last_gain = h[i], i
        if h[i] > h[best]:
            best = i
        if i - last_gain > hold or h[i] < h[best] - DROP_DEG:
            break
    return best


def _still_rising(h: np.ndarray, shoulder_up: np.ndarray, length_px: float, fs: float) -> bool:
    """True if the last samples show the pull still under way (hip opening below the top, or
    shoulders rising)."""
    if h.size < 2:
        return False
    dh = (h[-1] - h[-2]) * fs
    ds = (shoulder_up[-1] - shoulder_up[-2]) * fs / length_px if np.isfinite(length_px) else float("nan")
    return bool((dh > END_RISE_DEG_S and h[-1] < TOP_HIP_DEG) or (np.isfinite(ds) and ds > END_RISE_REL_S))


def segment_reps(body: BodySeries) -> tuple[Rep, ...]:
    """The reps of ``body`` in time order, with key moments keyed by :data:`MOMENT_NAMES`.

    A rep cut by the start of the clip (already rising at the first sample) has no ``setup`` /
    ``liftoff``; one cut by the end (still rising at the last sample) has no ``lockout``; both
    have ``complete=False``, and so has a rep whose hip angle never reached :data:`TOP_HIP_DEG`.
    ``metrics`` are left empty (see :func:`formcheck_core.metrics.rep_metrics`).
    """
    h_raw = hinge_angle_deg(body)
    n = h_raw.size
    if n < 3 or np.isfinite(h_raw).sum() < 3:
        return ()
    h = _interp_nan(h_raw)
    top_pad = float(np.nanmax(h)) + MIN_BOTTOM_PROMINENCE_DEG
    padded = np.concatenate(([top_pad], h, [top_pad]))
    valid = np.flatnonzero(np.isfinite(h_raw))
    first, last = int(valid[0]), int(valid[-1])
    # Bottoms on a flat stretch without data (before the lifter is found) snap to the first data.
    bottoms = sorted(
        {
            int(np.clip(b - 1, first, last))
            for b in find_peaks(-padded, prominence=MIN_BOTTOM_PROMINENCE_DEG)[0]
        }
    )
    step = np.diff(np.asarray(body.time_s, float))
    fs = 1.0 / float(np.median(step)) if step.size and np.median(step) > 0 else 10.0
    shoulder_up = -_interp_nan(body.smoothed["shoulder_y_px"])
    length = body.body_length_px
    reps: list[Rep] = []
    prev_top = 0
    for k, b in enumerate(bottoms):
        nxt = bottoms[k + 1] if k + 1 < len(bottoms) else n - 1
        top = _find_top(h, b, nxt, fs)
        if h[top] - h[b] < MIN_RISE_DEG or not _bottom_is_deadlift(body, b):
            continue
        rise = float(np.max(shoulder_up[b : top + 1]) - shoulder_up[b])
        if np.isfinite(rise) and np.isfinite(length) and rise < MIN_SHOULDER_RISE_REL * length:
            continue
        if _bar_raised_after(body, top, min(nxt, top + round(AFTER_LOCKOUT_S * fs))):
            continue
        lift = _consensus(
            [
                _rise_start(h, b, top, LIFTOFF_HIP_FRAC),
                _rise_start(shoulder_up, b, top, LIFTOFF_SHOULDER_FRAC),
            ],
            b,
            top,
        )
        lock = _consensus(
            [_rise_end(h, b, top, LOCKOUT_HIP_FRAC), _rise_end(shoulder_up, b, top, LOCKOUT_SHOULDER_FRAC)],
            lift,
            top,
        )
        # The rise already under way at the first sample (no still start, or already moving at
        # half its top speed): the setup and lift-off are not in the clip.
        speed = np.diff(h[b : top + 1])
        started_mid_pull = b == first and (
            lift == first or (speed.size > 1 and speed[0] >= MID_PULL_SPEED_FRAC * speed.max())
        )
        # Still rising at the last sample: the lockout is not in the clip.
        cut_at_end = top >= last - 1 and _still_rising(h[: last + 1], shoulder_up[: last + 1], length, fs)
        moments: dict[str, Moment] = {}
        if not started_mid_pull:
            moments["setup"] = _moment(body, "setup", _setup(h, lift, prev_top, int(MAX_SETUP_S * fs)))
            moments["liftoff"] = _moment(body, "liftoff", lift)
        kp = _knee_pass(body, lift, top if cut_at_end else lock)
        if kp is not None:
            moments["knee_pass"] = _moment(body, "knee_pass", kp)
        if not cut_at_end:
            moments["lockout"] = _moment(body, "lockout", lock)
        complete = not started_mid_pull and not cut_at_end and h[top] >= TOP_HIP_DEG
        reps.append(
            Rep(
                number=len(reps) + 1,
                start_sample=int(b),
                end_sample=int(nxt),
                moments={m: moments[m] for m in MOMENT_NAMES if m in moments},
                complete=complete,
            )
        )
        prev_top = top
    return tuple(reps)
