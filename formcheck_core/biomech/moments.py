"""Rep segmentation and key moments of a deadlift-style pull.

A rep is one hinge cycle of the hip angle: a bottom (a minimum with a prominence of at least
:data:`MIN_BOTTOM_PROMINENCE_DEG`) followed by a rise of at least :data:`MIN_RISE_DEG` to a top
(:func:`_find_top`: it ends where the hip angle stops gaining or drops, or where the shoulders stay
lowered: the bar was put down whatever the hip angle reads).
The hip angle comes from the image in a side view and from the pose model's 3D world landmarks
when the image angle barely moves (front view), see :func:`hinge_angle_deg`. A candidate counts
as a deadlift rep only if, at the bottom, the bar (wrists) is below mid-thigh (or, with no bar,
the knees are not squat-deep), the shoulders rise at least :data:`MIN_SHOULDER_RISE_REL` body
lengths (rejects pose glitches), and the bar is not raised above mid-torso within
:data:`AFTER_LOCKOUT_S` of the top (a clean or a press).
A pull starts from the floor only if the lifter could reach a bar there: knees bent, or the torso
near horizontal (:data:`STRAIGHT_KNEE_DEG`, :data:`FLOOR_REACH_LEAN_DEG`); otherwise it is a
partial pull, "cut by the clip" at the clip's first sample, else "not from the floor" (from the
hang or from blocks).
A pull whose bottom is the clip's (or shot's) first sample is cut by the clip, "starts mid-pull",
when its rise is already under way there: lift-off at that sample, or the hinge already opening at
:data:`MID_PULL_SPEED_FRAC` of its top speed -- unless the clip opens in the set position, held
(:func:`_opens_set`: the shoulders held low and still for :data:`MIN_SET_S`); then its lift-off is
in view, its setup is found as everywhere (here often the first sample) and it is a complete rep
if it reaches lockout.

Key moments (sample indices into the :class:`~formcheck_core.biomech.body.BodySeries`). The seed
definitions (lift-off = deepest hip flexion, lockout = maximum hip extension) were refined on the
labelled dev clips: lifters often sit at the bottom for seconds with the hips at their deepest,
and keep opening the hip slowly after they stand, so both seeds were 0.3-2 s off.

* ``liftoff`` (first pull, the bar leaves the floor): the sample nearest the hip angle's crossing
  of :data:`LIFTOFF_HIP_FRAC` of its rise (interpolated between samples), the rise measured from
  the lowest hip angle held for 0.2 s in the pull's dead stop (:func:`_dead_stop`: the last still
  stretch of the shoulders in the lower half of their rise, else the hinge's bottom) to its top,
  and no earlier than the first sample after that dead stop. Before it, bending down to the bar,
  dropping the hips and chest-up are set-up: measured from the deepest bend, a lifter who bends
  over, sits into the start and holds got a lift-off 1-1.5 s early.
* ``setup``: the last sample of the set position (hip angle within :data:`SETUP_TOL_DEG` of the
  lowest value it holds for 0.2 s) before lift-off (:func:`_setup`); the labels put it one frame
  before lift-off.
* ``knee_pass``: first sample after lift-off with the bar above the knee in the image, or, without
  a bar, with the knee angle above :data:`KNEE_PASS_DEG`.
* ``lockout``: the sample nearest where the shoulder height reaches :data:`LOCKOUT_SHOULDER_FRAC`
  of its rise from the bottom (interpolated crossing, as lift-off's) (the bar hangs from the shoulders on straight arms: they top out
  when the bar does), and no later than the torso lean first crosses vertical (0 deg; a lifter
  still opening the hip while leaning back is past lockout; this cap is not fitted: it moved one
  dev lockout from +0.33 s to +0.13 s and no other by more than 0.1 s). The hip angle is not
  used: it keeps opening slowly after the lifter stands (its 95 % share, averaged with the
  shoulders', cost two dev lockouts at +-0.2 s held out, and a fitted constant). The rise is
  measured to the shoulders' own top (:func:`_shoulder_top`), which can come after the hip angle's
  top (an oblique view's image hip angle tops out while the shoulders still rise).

A lifter lost over the top of a pull (no pose for longer than the series bridge) leaves the
lockout unmeasured; the pull still counts as a rep when it was seen rising into the gap fast
enough to stand within it and standing or lowered after it (:func:`_top_in_gap`).

Scene cuts (:mod:`formcheck_core.scene_cuts`) split the series into shots, each segmented on its
own (see :func:`segment_reps`).

NaN handling: interior gaps of the signals are bridged linearly to find extrema and crossings;
a clip without a usable hip angle yields no reps.

Long because the candidate filters and the four moment definitions share the bridged hinge signals
and their constants.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..config import DEFAULT_FPS
from ..pose.landmarks import LANDMARK
from .body import MOMENT_NAMES, BodySeries, Moment, Rep
from .rep_window import MAX_SETUP_S, held_extreme, hold_samples, set_position
from .series import finite_runs, sample_rate_hz, shot_bounds

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
#: ... or, measured on the standing body (the hip-to-knee height vanishes when the hips sit at knee
#: height, as in a squat-pattern pull): the bar at most this high above the ankles (body lengths:
#: the standing mid-thigh, shin 0.32 + half a thigh 0.16 of the shoulder-hip-knee-ankle length by
#: Winter's segment proportions), hanging on straight arms (elbow at least :data:`RACK_ELBOW_DEG`)
#: below the shoulders by at least half an arm (arm 0.43 body lengths: arms within 60 deg of
#: vertical, not racked or held forward). Set a priori.
MAX_BAR_ABOVE_ANKLE_REL = 0.47
MIN_BAR_BELOW_SHOULDER_REL = 0.21
#: After lockout the bar of a deadlift stays below mid-torso; a bar raised above this share of
#: the way from hip to shoulder height within :data:`AFTER_LOCKOUT_S` means a clean or a press.
MAX_BAR_AFTER_REL = 0.5
AFTER_LOCKOUT_S = 1.5
#: A racked bar (clean, front squat) sits on bent arms: elbow angle below this (deg; a front rack
#: is 30-80 deg, hanging arms 150-180).
RACK_ELBOW_DEG = 110.0
#: A pressed bar is above the shoulders by more than this share of the hip-to-shoulder height.
OVERHEAD_REL = 0.5
#: Without a bar, the knee must be at least this open at the bottom (a deep squat is ~50 deg).
MIN_KNEE_AT_BOTTOM_DEG = 50.0
#: Lift-off: share of the rise of the hip angle (from the pull's dead stop to its top) left behind
#: for good; the lift-off sample is the one nearest that crossing (interpolated between samples).
#: Fitted (``MomentParams``; leave-one-clip-out folds pick 0.10 or 0.12). With the first sample
#: past the crossing instead (a +0.05 s bias on average) the fit fell to 0.08, on the toe of the
#: rise, where transformed copies of a clip disagree more (``scripts/metamorphic.py``).
LIFTOFF_HIP_FRAC = 0.12
#: A deadlift starts from a dead stop with the bar on the floor: the lift-off rise is measured from
#: the last still stretch before the top (:func:`_dead_stop`), where the shoulders (which carry the
#: bar on straight arms) move at most this fast (body lengths/s; ~7 cm/s, several times the smoothed
#: pose jitter, far below a pull) while in the lower :data:`STILL_MAX_SHARE` of their rise (a bar on
#: the floor cannot be higher; a hitch or pause further up is not a start). Movement before that
#: stop (bending down to the bar, dropping the hips, chest up) is set-up, not pull. Set a priori,
#: not searched; the sensitivity on dev is in the README.
STILL_SPEED_REL_PER_S = 0.05
STILL_MAX_SHARE = 0.5
#: Lockout: share of the rise of the shoulder height (bottom to top) first reached. Fitted
#: (``MomentParams``).
LOCKOUT_SHOULDER_FRAC = 0.98
#: A pull reached lockout (a complete rep) if the bar rose to at least this share of the way from
#: knee to hip height (0 = knee, 1 = hip; a standing lifter holds it at the upper thigh whatever
#: the hip angle reads) or, when the bar or the legs are not measured, if its hinge angle reached
#: :data:`TOP_HIP_DEG` (the 3D angle of a front view reads a straight standing hip as 150-160 deg) ...
MIN_BAR_TOP_REL = 0.5
TOP_HIP_DEG = 150.0
#: ... and covered at least this share of the way from its bottom to the set's standing level
#: (the highest top of the clip's pulls): relative to the clip's own range, so an aborted pull
#: in a set of full ones is partial whatever the camera angle.
STANDING_SHARE = 0.8
#: ... and brought the torso within this many degrees of vertical (either way) within
#: :data:`UPRIGHT_WINDOW_S` of its top: a lifter who brings the bar to the hips but stays bent
#: over has not locked out, whatever the hip or bar reads. Set a priori, not fitted: a locked-out
#: torso is within about 10 deg of vertical and the pose model adds about 10 deg of noise (the
#: torso lean of the view's angle source: image in a side view, 3D world otherwise).
UPRIGHT_MAX_LEAN_DEG = 25.0
UPRIGHT_WINDOW_S = 0.5
#: How a partial pull's ``partial_reason`` starts when the lifter stopped short of lockout (as
#: opposed to a pull the clip cuts, one not from the floor or one the lifter is lost in): such a
#: pull *is* an incomplete lockout (see :func:`stopped_short_of_lockout`).
NEVER_REACHED_LOCKOUT = "never reached lockout"
ABORTED = "aborted: lowered before lockout"
#: End of the rise: no gain of 1 deg for this long (s), or a drop of this many degrees.
HOLD_S = 1.0
DROP_DEG = 25.0
#: ... or the shoulders back down by this share of their rise from the bottom (and by at least
#: :data:`MIN_SHOULDER_RISE_REL` body lengths): the bar hangs from them, so it has been lowered
#: at least half way (the same half as :data:`STILL_MAX_SHARE`). Set a priori, not fitted.
LOWERED_SHARE = 0.5
#: At the last sample, a pull still under way opens the hip faster than this (deg/s, below the
#: top) or raises the shoulders faster than this (body lengths/s).
END_RISE_DEG_S = 10.0
END_RISE_REL_S = 0.05
#: A clip (or shot) whose first sample is a bottom already rising at this share of the top speed
#: of the rise starts mid-pull ...
MID_PULL_SPEED_FRAC = 0.5
#: ... unless it opens in the set position, held: for its first :data:`MIN_SET_S` the shoulders
#: stay in the lower :data:`STILL_MAX_SHARE` of their rise and do not rise faster than
#: :data:`STILL_SPEED_REL_PER_S` (the dead stop of :func:`_dead_stop`; the speed is the slope of
#: a line fitted over that time, which averages out the sample-to-sample pose jitter of a cut's
#: fresh tracker). The bar hangs from the shoulders on straight arms: while they are held low, the
#: bar is on the floor whatever the hip angle does (hips settling into the start, or a fresh
#: tracker's first frames), so the lift-off is in view. Set a priori, not fitted: a lifter braces
#: at the bar for about half a second or more before a dead-stop pull; a pull under way raises the
#: shoulders at 0.2 body lengths/s or more (dev clips that start at lift-off: 0.2-0.5).
MIN_SET_S = 0.3
#: A pull from the floor starts with bent knees or a near-horizontal torso: with the legs straight
#: (knee angle at least :data:`STRAIGHT_KNEE_DEG` around the bottom, the more bent of the image
#: and 3D readings) and the torso less than :data:`FLOOR_REACH_LEAN_DEG` from vertical, the hands
#: hang at about knee height (hip height 0.63 body lengths + torso 0.37 cos(lean) - arm 0.43 = 0.41
#: body lengths at 56 deg; a bar on the floor is held at about 0.2), so the bar was not on the floor:
#: the clip starts mid-pull, or the pull starts from the hang or blocks. Set a priori, not fitted.
STRAIGHT_KNEE_DEG = 150.0
FLOOR_REACH_LEAN_DEG = 70.0
#: A pull the lifter is lost in (no hinge reading) counts as complete when the gap holds its top
#: (:func:`_top_in_gap`): the speed the rise enters the gap with is its mean over this long (s;
#: two samples at 10 fps, so one sample of pose noise is not a speed). Set a priori, not fitted.
GAP_ENTRY_S = 0.2
#: Seconds before the bottom searched for the bent knees / lean of the start position.
START_POSTURE_S = 0.3
#: Knee-pass fallback: knee angle (deg) passed after lift-off.
KNEE_PASS_DEG = 140.0
#: The bar lies across the base of the fingers, which the pose model's index and pinky knuckle
#: landmarks mark, 0.03-0.06 body lengths below the wrist joint on the dev clips (about half a hand,
#: 0.05 of the standing height, by Winter's proportions). The knee pass reads the bar at the wrists
#: (``bar_y_px``, the bar proxy everywhere) unless the wrists are already above the knee at
#: lift-off: then at the grip (:func:`grip_y_px`), which decides for a bar that starts near knee
#: height (a kettlebell handle: the wrists read "above the knees" at lift-off on half the dev
#: kettlebell reps). Reading every knee pass at the grip moves barbell knee passes later and the
#: set-up-to-knee-pass window of ``rounded_back`` with them (leave-one-clip-out F1 0.91 -> 0.77 on
#: dev), so the wrists stay the first reading.
GRIP_JOINTS = ("index", "pinky")
#: A bar starting at most this far below the knees (body lengths) starts "near knee height", as
#: the handle of a kettlebell on the floor does (a bell ~0.28 m tall: ~0.2 body lengths up, knees
#: ~0.3 up in the set-up); a barbell on 0.45 m plates is held ~0.16 up. Wording only: it changes
#: no moment.
KNEE_HEIGHT_START_REL = 0.1
#: Setup: the set position is where the hip angle is within this of its lowest held value before lift-off.
SETUP_TOL_DEG = 8.0


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


def _uses_world(body: BodySeries) -> bool:
    """True if the 3D world-landmark angles are used for segmentation (see :func:`hinge_angle_deg`)."""
    img = np.asarray(body.smoothed["hip_angle_deg"], float)
    world = body.smoothed.get("hip_angle_world_deg")
    if world is None:
        return False
    world = np.asarray(world, float)
    return not (
        _robust_range(img) >= 0.6 * _robust_range(world)
        and np.isfinite(img).sum() >= 0.5 * np.isfinite(world).sum()
    )


def hinge_angle_deg(body: BodySeries) -> np.ndarray:
    """(T,) hip angle used for segmentation: the image one unless it moves much less than the 3D one.

    In a side view both agree and the image angle is more precise; in a front view the image hip
    angle stays near 180 while the lifter hinges, and the world-landmark angle is used instead.
    """
    key = "hip_angle_world_deg" if _uses_world(body) else "hip_angle_deg"
    return np.asarray(body.smoothed[key], float)


def torso_lean_for_hinge_deg(body: BodySeries) -> np.ndarray | None:
    """(T,) torso lean from vertical (deg) from the same source as :func:`hinge_angle_deg` (None if
    the series has none)."""
    key = "torso_lean_world_deg" if _uses_world(body) else "torso_lean_deg"
    lean = body.smoothed.get(key)
    return None if lean is None else np.asarray(lean, float)


def stopped_short_of_lockout(rep: Rep) -> bool:
    """True for a partial pull that left the floor and was measured to its top, but never reached
    lockout (stopped or aborted): the lifter's doing, not the clip's."""
    return not rep.complete and rep.partial_reason.startswith((NEVER_REACHED_LOCKOUT, ABORTED))


def _upright_near(lean: np.ndarray | None, top: int, fs: float) -> float:
    """Smallest |torso lean| (deg) within :data:`UPRIGHT_WINDOW_S` of sample ``top`` (NaN if unmeasured)."""
    if lean is None:
        return float("nan")
    w = max(1, round(UPRIGHT_WINDOW_S * fs))
    seg = np.abs(lean[max(0, top - w) : top + w + 1])
    return float(np.nanmin(seg)) if np.isfinite(seg).any() else float("nan")


def _bar_hangs_low(body: BodySeries, i: int) -> bool:
    """True if at sample ``i`` the bar hangs on the arms near the floor, on the standing body's scale:
    at most :data:`MAX_BAR_ABOVE_ANKLE_REL` above the ankles and :data:`MIN_BAR_BELOW_SHOULDER_REL`
    or more below the shoulders (body lengths, image y), the elbows straight (at least
    :data:`RACK_ELBOW_DEG`). False when any of them is missing."""
    s, length = body.smoothed, body.body_length_px
    ankle = s.get("ankle_y_px")
    bar, sh, elbow = s["bar_y_px"][i], s["shoulder_y_px"][i], s["elbow_angle_deg"][i]
    if ankle is None or not (np.isfinite(length) and length > 0):
        return False
    above_ankle, below_shoulder = (ankle[i] - bar) / length, (bar - sh) / length
    return bool(
        above_ankle <= MAX_BAR_ABOVE_ANKLE_REL
        and below_shoulder >= MIN_BAR_BELOW_SHOULDER_REL
        and elbow >= RACK_ELBOW_DEG
    )


def _bottom_is_deadlift(body: BodySeries, i: int) -> bool:
    """True if the posture at sample ``i`` is a deadlift start (bar low, knees not squat-deep):
    the bar below mid-thigh, or hanging low on the standing body's scale (:func:`_bar_hangs_low`:
    a squat-pattern pull, hips at knee height, is a pull from the floor too)."""
    s = body.smoothed
    bar, hip, knee = s["bar_y_px"][i], s["hip_y_px"][i], s["knee_y_px"][i]
    if np.isfinite(bar) and np.isfinite(hip) and np.isfinite(knee) and knee - hip > 0:
        return (bar - hip) / (knee - hip) >= MIN_BAR_DEPTH_REL or _bar_hangs_low(body, i)
    knee_angle = s["knee_angle_deg"][i]
    return not (np.isfinite(knee_angle) and knee_angle < MIN_KNEE_AT_BOTTOM_DEG)


def _bar_raised_after(body: BodySeries, top: int, stop: int) -> bool:
    """True if the bar is racked or pressed in [top, stop] (a clean or press, not a deadlift): above
    mid-torso with the elbows bent under it (< :data:`RACK_ELBOW_DEG`), or above the shoulders by
    :data:`OVERHEAD_REL` torso lengths. A wrist read high with the arms nearly straight is a
    pose-model slip (a straight arm cannot hold the bar at the chest), not a clean."""
    s = body.smoothed
    bar, hip, sh, elbow = (
        np.asarray(s[k][top : stop + 1], float)
        for k in ("bar_y_px", "hip_y_px", "shoulder_y_px", "elbow_angle_deg")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        height = (hip - bar) / (hip - sh)  # 0 = bar at hip height, 1 = at shoulder height
    ok = np.isfinite(height) & (hip - sh > 0)
    racked = ok & (height > MAX_BAR_AFTER_REL) & ~(np.isfinite(elbow) & (elbow >= RACK_ELBOW_DEG))
    overhead = ok & (height > 1.0 + OVERHEAD_REL)
    return bool(np.any(racked | overhead))


def _bar_height_rel(body: BodySeries, i: int) -> float:
    """Bar (wrist) height at sample ``i`` between knee (0) and hip (1) height in the image; NaN if
    any of them is missing or the hip is not above the knee."""
    s = body.smoothed
    bar, hip, knee = s["bar_y_px"][i], s["hip_y_px"][i], s["knee_y_px"][i]
    if not (np.isfinite(bar) and np.isfinite(hip) and np.isfinite(knee) and knee - hip > 0):
        return float("nan")
    return float((knee - bar) / (knee - hip))


def _moment(body: BodySeries, name: str, i: int) -> Moment:
    return Moment(
        name=name, sample=int(i), frame_index=int(body.frame_index[i]), time_s=float(body.time_s[i])
    )


def _low(x: np.ndarray, lo: int, top: int, hold: int) -> float:
    """The level a rise over [lo, top] starts from: the smallest value ``x`` keeps there for
    ``hold`` samples (:func:`~formcheck_core.biomech.rep_window.held_extreme`; ``hold`` 1: its
    minimum)."""
    level, _ = held_extreme(x, lo, top, largest=False, hold=hold)
    return level if np.isfinite(level) else float(np.nanmin(x[lo : top + 1]))


def _rise_start(x: np.ndarray, lo: int, hi: int, frac: float, hold: int = 1) -> tuple[float, float]:
    """(sample, threshold): where ``x`` last leaves ``frac`` of its rise over [lo, hi] before
    reaching its top, and that threshold.

    The rise goes from the level of :func:`_low` (``hold`` samples) to the maximum of ``x`` in
    [lo, hi]; the sample is the first after which ``x`` stays above the threshold until its
    maximum (both NaN if ``x`` has no data).
    """
    w = x[lo : hi + 1]
    if not np.isfinite(w).any():
        return float("nan"), float("nan")
    top = lo + int(np.nanargmax(w))
    low = _low(x, lo, top, hold)
    thr = low + frac * (float(x[top]) - low)
    i = top
    while i - 1 >= lo and x[i - 1] > thr:
        i -= 1
    return float(i), thr


def _crossing(x: np.ndarray, i: int, thr: float) -> float:
    """Fractional sample in [i - 1, i] where ``x`` crosses ``thr`` between samples i - 1 and i
    (linear interpolation); ``i`` when i - 1 has no data or the step is flat."""
    if i < 1 or not (np.isfinite(x[i - 1]) and np.isfinite(x[i])) or x[i] == x[i - 1]:
        return float(i)
    return float(np.clip(i - 1 + (thr - x[i - 1]) / (x[i] - x[i - 1]), i - 1, i))


def _crossing_after(x: np.ndarray, sample: float, thr: float, lo: int) -> float:
    """The fractional sample of the crossing whose sample estimate is ``sample`` (:func:`_crossing`);
    NaN when there is none or it is the window's first sample ``lo`` (nothing before it to
    interpolate from)."""
    return _crossing(x, int(sample), thr) if np.isfinite(sample) and int(sample) > lo else float("nan")


def _refine_moment(body: BodySeries, m: Moment, pos: float) -> Moment:
    """``m`` with its sub-sample estimate: the fractional sample ``pos`` as a time and the nearest
    source frame (frame indices interpolated over the samples' times)."""
    if not np.isfinite(pos):
        return m
    idx = np.arange(body.time_s.size, dtype=float)
    t = float(np.interp(pos, idx, np.asarray(body.time_s, float)))
    f = int(round(float(np.interp(pos, idx, np.asarray(body.frame_index, float)))))
    return replace(m, refined_time_s=t, refined_frame_index=f, refined_by="interpolated")


def _rise_end(x: np.ndarray, lo: int, hi: int, frac: float) -> tuple[float, float]:
    """(sample, threshold): the first sample in [lo, hi] where ``x`` reaches ``frac`` of its rise
    from its minimum, and that threshold (both NaN if no data)."""
    w = x[lo : hi + 1]
    if not np.isfinite(w).any():
        return float("nan"), float("nan")
    top = lo + int(np.nanargmax(w))
    low = _low(x, lo, top, 1)
    thr = low + frac * (float(x[top]) - low)
    return float(lo + int(np.flatnonzero(x[lo : top + 1] >= thr)[0])), thr


def _start_above_floor(body: BodySeries, lean: np.ndarray | None, b: int, lift: int, fs: float) -> str:
    """Words saying why the pull at bottom ``b`` cannot have started from the floor ("" if it can):
    the knees stayed straight (:data:`STRAIGHT_KNEE_DEG`) and the torso upright-ish
    (:data:`FLOOR_REACH_LEAN_DEG`) from :data:`START_POSTURE_S` before ``b`` to sample ``lift``:
    the end of the start position (the dead stop's last sample, else the bottom), not the lift-off
    moment, so the decision does not move with where lift-off is placed. NaN
    readings are skipped; with no knee or lean reading the pull gets the benefit of the doubt."""
    a = max(0, b - round(START_POSTURE_S * fs))
    knees = [
        np.asarray(body.smoothed[k][a : lift + 1], float)
        for k in ("knee_angle_deg", "knee_angle_world_deg")
        if k in body.smoothed
    ]
    knee = np.concatenate(knees) if knees else np.array([])
    knee = knee[np.isfinite(knee)]
    tilt = np.abs(lean[a : lift + 1]) if lean is not None else np.array([])
    tilt = tilt[np.isfinite(tilt)]
    if knee.size == 0 or tilt.size == 0:
        return ""
    most_bent, most_tilted = float(knee.min()), float(tilt.max())
    if most_bent >= STRAIGHT_KNEE_DEG and most_tilted < FLOOR_REACH_LEAN_DEG:
        return (
            f"the knees stayed straight ({most_bent:.0f}°) with the torso {most_tilted:.0f}° from "
            "vertical: the hands were above the floor"
        )
    return ""


def _first_upright(lean: np.ndarray | None, lo: int, hi: int) -> float:
    """Fractional sample in (lo, hi] where the torso lean first reaches vertical (crosses from
    forward, > 0, to <= 0); NaN if it never does or is unmeasured."""
    if lean is None:
        return float("nan")
    for i in range(lo + 1, hi + 1):
        if np.isfinite(lean[i]) and np.isfinite(lean[i - 1]) and lean[i - 1] > 0 >= lean[i]:
            return _crossing(lean, i, 0.0)
    return float("nan")


def _longest_gap_s(h_raw: np.ndarray, lo: int, hi: int, fs: float) -> float:
    """Longest run (s) without a hinge reading in [lo, hi] (0.0 if none). The series' gap filling
    already bridged short gaps, so any run left is one the pull cannot be measured across."""
    runs = finite_runs(~np.isfinite(np.asarray(h_raw[lo : hi + 1], float)))
    return max((b - a) / fs for a, b in runs) if runs else 0.0


def _gap(h_raw: np.ndarray, lo: int, hi: int) -> tuple[int, int] | None:
    """Half-open [start, stop) of the longest run without a hinge reading in [lo, hi] (None if
    there is none; the first of equally long runs)."""
    runs = finite_runs(~np.isfinite(np.asarray(h_raw[lo : hi + 1], float)))
    if not runs:
        return None
    a, b = max(runs, key=lambda r: r[1] - r[0])
    return lo + a, lo + b


def _top_in_gap(
    h: np.ndarray,
    h_raw: np.ndarray,
    shoulder_up: np.ndarray,
    length_px: float,
    lift: int,
    top: int,
    end: int,
    fs: float,
) -> bool:
    """Whether the pull lifting off at ``lift`` finished its rise while the lifter was not found:
    the longest gap of hinge readings in [lift, top] (:func:`_gap`) was entered still rising
    (:func:`_still_rising` on the samples up to the gap: the definition of a pull under way at a
    clip's end), fast enough to reach a standing hip (:data:`TOP_HIP_DEG`) within the gap at its
    mean speed over the last :data:`GAP_ENTRY_S`, and after the gap (up to sample ``end``, the
    next pull's bottom or the shot's end) the hinge angle reads standing (:data:`TOP_HIP_DEG`) or
    at most its level entering the gap (the bar was lowered: the top was in the gap). A lifter
    lost over the lockout (standing up out of the picture) is then a complete rep whose lockout
    moment is absent ("not measurable"): the rep count and the lockout time are separate claims.
    False when the gap starts at lift-off, or nothing is read after it."""
    gap = _gap(h_raw, lift, top)
    if gap is None or gap[0] - 1 <= lift:
        return False
    entry, gap_s = gap[0] - 1, (gap[1] - gap[0]) / fs
    if not _still_rising(h[: entry + 1], shoulder_up[: entry + 1], length_px, fs):
        return False
    k = max(1, min(round(GAP_ENTRY_S * fs), entry - lift))
    speed_deg_s = (h[entry] - h[entry - k]) * fs / k
    if not (speed_deg_s > 0 and h[entry] + speed_deg_s * gap_s >= TOP_HIP_DEG):
        return False
    after = np.asarray(h_raw[gap[1] : end + 1], float)
    after = after[np.isfinite(after)][: hold_samples(fs)]  # as found again, not any later lowering
    return bool(after.size and (np.any(after >= TOP_HIP_DEG) or np.any(after <= h[entry])))


def _sample_in(estimate: float, lo: int, hi: int) -> int:
    """A sample estimate rounded and clipped to [lo, hi]; ``lo`` when it is NaN."""
    return int(np.clip(round(estimate), lo, hi)) if np.isfinite(estimate) else lo


def _setup(
    body: BodySeries, h: np.ndarray, liftoff: Moment, lo: int, fs: float
) -> tuple[Moment | None, int | None]:
    """(the set-up moment before ``liftoff``, the sample holding the set position's level -- where
    the rep's span starts at the latest, so that the set position's readings belong to the rep;
    recorded as ``Rep.set_position_sample``, where ``hip_angle_setup_deg`` is read).
    The set-up: the last sample of the set position, the samples of
    [max(lo, lift-off - :data:`MAX_SETUP_S`), lift-off - 1] whose hip angle ``h`` (the hinge
    series) is within :data:`SETUP_TOL_DEG` of the set position's level
    (:func:`~formcheck_core.biomech.rep_window.set_position`: the lowest value the hips hold there
    for :data:`~formcheck_core.biomech.rep_window.HOLD_S`; a single sample's pose noise is not the
    set position's level; a one-sample low moved the threshold, and with it the set-up, a sample on
    the copies of ``scripts/metamorphic.py``). Sub-sample: where the hip angle crosses that level + SETUP_TOL_DEG
    after it, kept only while it is earlier than lift-off's own estimate, so the set-up never
    takes lift-off's estimate away (:func:`ordered_refinements` drops both of a pair out of time
    order). (None, None) when the
    window is empty or has no data (the clip, or the previous rep, ends at lift-off)."""
    lift = liftoff.sample
    a = max(lo, lift - int(MAX_SETUP_S * fs))
    level, level_at = set_position(h, lift, lo, fs)
    if not np.isfinite(level) or level_at is None:
        return None, None
    thr = level + SETUP_TOL_DEG
    w = h[a:lift]
    sample = a + int(np.flatnonzero(w <= thr)[-1])
    m = _moment(body, "setup", sample)
    refined = _refine_moment(body, m, min(_crossing(h, sample + 1, thr), sample + 0.999))
    return (refined if _effective_t(refined) < _effective_t(liftoff) else m), level_at


def grip_y_px(xy: np.ndarray, side: str) -> np.ndarray:
    """(...,) image y (px) of the grip of the ``side`` hand from (..., 33, 2) keypoints: the mean
    of its :data:`GRIP_JOINTS` knuckles, the wrist where they are missing (NaN if both are)."""
    xy = np.asarray(xy, float)
    knuckles = np.mean([xy[..., LANDMARK[f"{side}_{j}"], 1] for j in GRIP_JOINTS], axis=0)
    return np.where(np.isfinite(knuckles), knuckles, xy[..., LANDMARK[f"{side}_wrist"], 1])


def knee_pass_uses_grip(body: BodySeries, lift: int) -> bool:
    """True if the knee pass of the pull lifting off at sample ``lift`` is read at the grip: the
    bar proxy (``bar_y_px``, wrists) is already above the knee at lift-off (see :data:`GRIP_JOINTS`)."""
    bar, knee = body.smoothed["bar_y_px"][lift], body.smoothed["knee_y_px"][lift]
    return bool(np.isfinite(bar) and np.isfinite(knee) and bar < knee)


def knee_pass_bar_y_px(body: BodySeries, lift: int) -> np.ndarray:
    """(T,) image y (px) of the bar the knee pass of the pull lifting off at ``lift`` is read with:
    ``bar_y_px`` (wrists), or, when :func:`knee_pass_uses_grip`, moved by the near hand's
    wrist-to-grip offset (:func:`grip_y_px`; unmoved where the hand is not seen)."""
    bar = np.asarray(body.smoothed["bar_y_px"], float)
    if not knee_pass_uses_grip(body, lift):
        return bar
    kp = np.asarray(body.keypoints_px, float)
    offset = grip_y_px(kp, body.side) - kp[:, LANDMARK[f"{body.side}_wrist"], 1]
    return bar + np.where(np.isfinite(offset), offset, 0.0)


def _knee_pass(body: BodySeries, start: int, lift: int, stop: int) -> tuple[int | None, str]:
    """First sample strictly between ``lift`` and ``stop`` from which the bar
    (:func:`knee_pass_bar_y_px`) stays above the knee in the image (a knee read low for a sample,
    hidden behind the plates near the floor, does not end the search), or, with no bar, the knee
    angle exceeds :data:`KNEE_PASS_DEG`; (None, reason) if none. ``start``: the set-up (or bottom)
    sample, for the reason when the bar is above the knees from lift-off on."""
    s = body.smoothed
    bar, knee = knee_pass_bar_y_px(body, lift), s["knee_y_px"]
    under = [
        i for i in range(lift, stop) if np.isfinite(bar[i]) and np.isfinite(knee[i]) and bar[i] >= knee[i]
    ]
    if not under and np.isfinite(bar[lift]) and np.isfinite(knee[lift]):
        below = (bar[start] - knee[start]) / body.body_length_px
        if not (np.isfinite(below) and round(float(below), 2) > 0):
            return None, "the bar starts at or above knee height (hands held high, e.g. a squat-deep start)"
        return None, (
            f"the bar passed the knees by the lift-off sample: it started only {below:.2f} body "
            "lengths below them (near knee height, as a kettlebell handle does)"
            if below <= KNEE_HEIGHT_START_REL
            else f"the bar passed the knees by the lift-off sample (it started {below:.2f} body lengths below them)"
        )
    for i in range(max(under, default=lift) + 1, stop):
        if np.isfinite(bar[i]) and np.isfinite(knee[i]) and bar[i] < knee[i]:
            return i, ""
    knee_angle = s["knee_angle_deg"]
    for i in range(lift + 1, stop):
        if np.isfinite(knee_angle[i]) and knee_angle[i] > KNEE_PASS_DEG:
            return i, ""
    return None, NO_KNEE_PASS_FOUND


#: :func:`_knee_pass`'s reason when its search ran out (the only one a cut can explain).
NO_KNEE_PASS_FOUND = (
    "the bar did not pass the knees between lift-off and lockout (samples too sparse or joints hidden)"
)


def knee_pass_missing(why: str, cut_by: str | None, after_s: float) -> str:
    """The knee pass's missing reason: ``why`` from :func:`_knee_pass`, except that a search a cut
    (or the clip's end) stopped says so when ``cut_by`` ("a scene cut comes" / "the clip ends")
    is given, ``after_s`` (s) after lift-off. A reason fixed before the cut (the bar above the knees
    by lift-off) is kept."""
    if cut_by is not None and why == NO_KNEE_PASS_FOUND:
        return f"{cut_by} {after_s:.1f} s after lift-off"
    return why


def _lowered(up: np.ndarray, b: int, stop: int, length_px: float) -> np.ndarray:
    """(stop - b + 1,) bool for samples b..stop: the shoulders (``up``: image height, up = larger,
    NaN where not seen) are back down from their highest since the bottom ``b`` by
    :data:`LOWERED_SHARE` of that rise and by at least :data:`MIN_SHOULDER_RISE_REL` body lengths
    (False where unmeasured, or the bottom is)."""
    w = np.asarray(up[b : stop + 1], float)
    if not (w.size and np.isfinite(w[0]) and np.isfinite(length_px) and length_px > 0):
        return np.zeros(w.size, bool)
    high = np.fmax.accumulate(w)  # NaN-skipping running maximum
    drop = high - w
    with np.errstate(invalid="ignore"):
        return (drop >= MIN_SHOULDER_RISE_REL * length_px) & (drop >= LOWERED_SHARE * (high - w[0]))


def _find_top(
    h: np.ndarray,
    b: int,
    stop: int,
    fs: float,
    shoulder_up: np.ndarray | None = None,
    length_px: float = float("nan"),
) -> int:
    """End of the first rise after the bottom ``b`` (search up to ``stop``): the highest sample
    before the hip angle stops gaining (:data:`HOLD_S` without a gain of 1 deg) or drops by
    :data:`DROP_DEG`, or before the shoulders (``shoulder_up``: image height, up = larger, NaN
    where not seen; scale ``length_px``) stay lowered (:func:`_lowered`) for
    :func:`~formcheck_core.biomech.rep_window.hold_samples` (0.2 s: one sample of pose noise is not
    a lowering): the bar hangs from them, so it was put down and the pull is over whatever the
    hip angle reads (an image hip angle foreshortened in an oblique view can miss the bend that
    sets the bar down). Returns ``b`` when the angle never rises :data:`MIN_RISE_DEG` above it."""
    above = np.flatnonzero(h[b : stop + 1] >= h[b] + MIN_RISE_DEG)
    if above.size == 0:
        return b
    best = last_gain = b + int(above[0])
    ref = h[best]
    hold = max(1, round(HOLD_S * fs))
    held = hold_samples(fs)
    lowered = (
        _lowered(shoulder_up, b, stop, length_px) if shoulder_up is not None else np.zeros(stop - b + 1, bool)
    )
    for i in range(best, stop + 1):
        if lowered[i - b : i - b + held].sum() == held:
            break
        if h[i] > ref + 1.0:
            ref, last_gain = h[i], i
        if h[i] > h[best]:
            best = i
        if i - last_gain > hold or h[i] < h[best] - DROP_DEG:
            break
    return best


def _shoulder_top(shoulder_up: np.ndarray, length_px: float, top: int, stop: int, fs: float) -> int:
    """The sample where the shoulders (``shoulder_up``: image height, up = larger, gaps bridged;
    scale ``length_px``) stop rising at or after the hinge's ``top`` (no later than ``stop``): the
    last sample of the run of steps from ``top`` on that rise faster than
    :data:`STILL_SPEED_REL_PER_S` body lengths/s (the dead stop's "still"); ``top`` itself when
    the next step does not, or the scale is unknown."""
    i = top
    if not (np.isfinite(length_px) and length_px > 0):
        return i
    while i + 1 <= stop and (shoulder_up[i + 1] - shoulder_up[i]) * fs / length_px > STILL_SPEED_REL_PER_S:
        i += 1
    return i


def _still_rising(h: np.ndarray, shoulder_up: np.ndarray, length_px: float, fs: float) -> bool:
    """True if the last samples show the pull still under way (hip opening below the top, or
    shoulders rising)."""
    if h.size < 2:
        return False
    dh = (h[-1] - h[-2]) * fs
    ds = (shoulder_up[-1] - shoulder_up[-2]) * fs / length_px if np.isfinite(length_px) else float("nan")
    return bool((dh > END_RISE_DEG_S and h[-1] < TOP_HIP_DEG) or (np.isfinite(ds) and ds > END_RISE_REL_S))


def _effective_t(m: Moment) -> float:
    return m.refined_time_s if m.refined_time_s is not None else m.time_s


def _effective_frame(m: Moment) -> int:
    return m.refined_frame_index if m.refined_frame_index is not None else m.frame_index


def ordered_refinements(moments: dict[str, Moment]) -> dict[str, Moment]:
    """``moments`` (in :data:`MOMENT_NAMES` order) with sub-sample estimates that keep the order of
    times and of source frames. Estimates out of time order are dropped (both of a clashing pair
    fall back to their samples, which are ordered). Two estimates in time order less than a frame
    apart round to one source frame (two names on one frame): the later one takes the next frame,
    still at or before its own sample's frame (its time is kept); where there is no such frame,
    both are dropped."""
    out = dict(moments)
    changed = True
    while changed:
        changed = False
        names = [n for n in MOMENT_NAMES if n in out]
        for a, b in itertools.pairwise(names):
            ma, mb = out[a], out[b]
            if _effective_t(ma) < _effective_t(mb) and _effective_frame(ma) < _effective_frame(mb):
                continue
            if _effective_t(ma) < _effective_t(mb) and mb.refined_frame_index is not None:
                nxt = _effective_frame(ma) + 1
                if nxt <= mb.frame_index:
                    out[b] = replace(mb, refined_frame_index=nxt)
                    changed = True
                    continue
            for n in (a, b):
                if out[n].refined_time_s is not None:
                    out[n] = replace(out[n], refined_time_s=None, refined_frame_index=None, refined_by=None)
                    changed = True
    return out


@dataclass(frozen=True)
class MomentParams:
    """The constants of moment placement that were fitted to the labelled dev clips (shares of a
    rise, 0-1). ``scripts/evaluate_dev.py`` re-fits them leave-one-clip-out to report honest
    accuracy; everything else in this module is fixed a priori (degrees, seconds, body lengths)."""

    liftoff_hip_frac: float = LIFTOFF_HIP_FRAC
    lockout_shoulder_frac: float = LOCKOUT_SHOULDER_FRAC


@dataclass
class _Pull:
    """A candidate pull while segmenting (sample indices)."""

    bottom: int
    top: int
    lift: int
    lock: int
    #: Sub-sample (fractional) positions of lift-off and lockout (NaN if not estimated).
    lift_pos: float
    lock_pos: float
    started_mid_pull: bool
    cut_at_end: bool
    #: Why the bar cannot have started on the floor ("" if it can), see :func:`_start_above_floor`.
    above_floor: str = ""


#: Why a bottom-to-top rise of the hinge angle is not a pull (see :func:`no_pull_reason`).
NOT_A_HINGE = "no hip hinge: the hip angle never bent and straightened again by 25° or more"
HANDS_NOT_LOW = (
    "the hands were not low at the bottom of any hinge (above mid-thigh, or not hanging on straight "
    "arms near the floor), so no weight was picked up from the floor"
)
NO_SHOULDER_RISE = "the shoulders did not rise with the hips (a pose-model slip, not a pull)"
RAISED_AFTER = "the weight was raised to the chest or overhead after the top (a clean or a press)"


def _pull_candidates(
    body: BodySeries,
    h: np.ndarray,
    h_raw: np.ndarray,
    fs: float,
    p: MomentParams,
    rejected: list[str] | None = None,
) -> list[_Pull]:
    """Every bottom-to-top rise of the hinge angle that passes the deadlift checks, in time order
    (the reason each other rise failed is appended to ``rejected`` when given)."""
    from scipy.signal import find_peaks  # here: importing scipy.signal costs ~0.6 CPU s (render worker)

    rejected = [] if rejected is None else rejected
    n = h.size
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
    shoulder_up = -_interp_nan(body.smoothed["shoulder_y_px"])
    lean = torso_lean_for_hinge_deg(body)
    length = body.body_length_px
    out: list[_Pull] = []
    for k, b in enumerate(bottoms):
        nxt = bottoms[k + 1] if k + 1 < len(bottoms) else n - 1
        top = _find_top(h, b, nxt, fs, -np.asarray(body.smoothed["shoulder_y_px"], float), length)
        if h[top] - h[b] < MIN_RISE_DEG:
            rejected.append(NOT_A_HINGE)
            continue
        if not _bottom_is_deadlift(body, b):
            rejected.append(HANDS_NOT_LOW)
            continue
        rise = float(np.max(shoulder_up[b : top + 1]) - shoulder_up[b])
        if np.isfinite(rise) and np.isfinite(length) and rise < MIN_SHOULDER_RISE_REL * length:
            rejected.append(NO_SHOULDER_RISE)
            continue
        if _bar_raised_after(body, top, min(nxt, top + round(AFTER_LOCKOUT_S * fs))):
            rejected.append(RAISED_AFTER)
            continue
        stop = _dead_stop(shoulder_up, length, b, top, fs)
        s0 = b if stop is None else stop[0]
        # The rise starts from the lowest hip angle held for rep_window.HOLD_S (0.2 s, as the
        # set-up's level; this module's HOLD_S is the top's 1 s): a single low sample of pose
        # noise (or a cut's first sample) would move the threshold.
        lift_est, lift_thr = _rise_start(h, s0, top, p.liftoff_hip_frac, hold_samples(fs))
        # The shoulders' own top: they may still be rising at the hip angle's top (an oblique
        # view's image hip angle peaks early); the lockout is read on their rise to it.
        sh_top = _shoulder_top(shoulder_up, length, top, nxt, fs)
        lock_est, lock_thr = _rise_end(shoulder_up, b, sh_top, p.lockout_shoulder_frac)
        # The first sample at or past the crossing: "already lifting at the first sample" is read
        # from it (a crossing between the first two samples is still in view).
        past = _sample_in(lift_est, s0, top)
        lift_pos = _crossing_after(h, lift_est, lift_thr, s0)
        lock_pos = _crossing_after(shoulder_up, lock_est, lock_thr, b)
        # The lift-off sample is the one nearest the interpolated crossing, not the first past it:
        # within half a sample of the event either way, so the sample and its sub-sample estimate
        # agree, and the fitted share sits on the steeper part of the rise (see LIFTOFF_HIP_FRAC).
        lift = int(np.clip(round(lift_pos), s0, top)) if np.isfinite(lift_pos) else past
        # The bar hangs from the shoulders: while they are held still in the set position it is on
        # the floor, so the lift-off is no earlier than the first sample after the dead stop
        # (whatever the hip angle does there, e.g. a fresh tracker's first samples swinging it).
        if stop is not None and lift <= stop[1] < top:
            lift, lift_pos = stop[1] + 1, float(stop[1] + 1)
            past = max(past, lift)
        # Lockout's sample likewise: nearest its interpolated crossing (was the first past it), so the
        # lockout window starts within half a sample of the same instant wherever the samples fall.
        lock = _sample_in(lock_pos if np.isfinite(lock_pos) else lock_est, min(lift + 1, sh_top), sh_top)
        upright_at = _first_upright(lean, lift, sh_top)
        if np.isfinite(upright_at) and upright_at < lock_pos:
            lock_pos = upright_at
            lock = max(min(lock, int(np.ceil(upright_at))), min(lift + 1, top))
        # The rise already under way at the first sample (lift-off there, or the hinge already
        # opening at half its top speed, the shoulders not held in the set position): the setup
        # and lift-off are not in the clip / shot. One definition for a clip's and a shot's start.
        speed = np.diff(h[b : top + 1])
        under_way = speed.size > 1 and speed[0] >= MID_PULL_SPEED_FRAC * speed.max()
        started_mid_pull = b == first and (
            past == first or (under_way and not _opens_set(shoulder_up, length, b, top, fs))
        )
        above = _start_above_floor(body, lean, b, b if stop is None else stop[1], fs)
        # At the clip's first sample, a start above the floor means the clip cut the pull.
        started_mid_pull = started_mid_pull or (b == first and bool(above))
        # Still rising at the last sample: the lockout is not in the clip.
        cut_at_end = top >= last - 1 and _still_rising(h[: last + 1], shoulder_up[: last + 1], length, fs)
        out.append(_Pull(b, top, lift, lock, lift_pos, lock_pos, started_mid_pull, cut_at_end, above))
    return out


def _dead_stop(
    shoulder_up: np.ndarray, length_px: float, b: int, top: int, fs: float
) -> tuple[int, int] | None:
    """(first, last) sample of the dead stop the pull at bottom ``b`` starts from: the last run of
    still samples in [b, top) (shoulder speed at most :data:`STILL_SPEED_REL_PER_S` body lengths/s,
    shoulders no higher than :data:`STILL_MAX_SHARE` of their rise from their lowest in [b, top] to
    their highest); None when there is none (a touch-and-go or kettlebell turnaround) or the scale
    is unknown."""
    if top - b < 2 or not (np.isfinite(length_px) and length_px > 0):
        return None
    w = np.asarray(shoulder_up[b : top + 1], float)
    speed = np.abs(np.gradient(w)) * fs / length_px
    low, high = float(np.nanmin(w)), float(np.nanmax(w))
    with np.errstate(invalid="ignore"):
        still = (speed <= STILL_SPEED_REL_PER_S) & (w <= low + STILL_MAX_SHARE * (high - low))
    idx = np.flatnonzero(still[:-1])
    if not idx.size:
        return None
    last = i = int(idx[-1])
    while i > 0 and still[i - 1]:
        i -= 1
    return b + i, b + last


def _opens_set(shoulder_up: np.ndarray, length_px: float, b: int, top: int, fs: float) -> bool:
    """Whether the pull whose bottom ``b`` is the first sample of its clip / shot opens in the set
    position: over its first :data:`MIN_SET_S` (at least 3 samples) the shoulders stay within the
    lower :data:`STILL_MAX_SHARE` of their rise in [b, top] and the slope of a line fitted to their
    height is at most :data:`STILL_SPEED_REL_PER_S` body lengths/s upward. False when the rise is
    shorter than that or the scale is unknown; NaN samples are skipped."""
    n = max(3, int(round(MIN_SET_S * fs)) + 1)
    if top - b < n or not (np.isfinite(length_px) and length_px > 0):
        return False
    w = np.asarray(shoulder_up[b : top + 1], float)
    low, high = float(np.nanmin(w)), float(np.nanmax(w))
    head = w[:n]
    ok = np.isfinite(head)
    if ok.sum() < 3 or not np.all(head[ok] <= low + STILL_MAX_SHARE * (high - low)):
        return False
    slope_px_per_s = float(np.polyfit(np.flatnonzero(ok) / fs, head[ok], 1)[0])
    return slope_px_per_s / length_px <= STILL_SPEED_REL_PER_S


def _standing_deg(h: np.ndarray, pulls: list[_Pull]) -> float:
    """The set's standing (lockout) level of the hinge angle: the highest top of its pulls."""
    return max(float(h[p.top]) for p in pulls)


def _shot(body: BodySeries, a: int, b: int) -> BodySeries:
    """Samples [a, b) of ``body`` as a series of their own (frame indices and times kept)."""
    return replace(
        body,
        time_s=body.time_s[a:b],
        frame_index=body.frame_index[a:b],
        smoothed={k: v[a:b] for k, v in body.smoothed.items()},
        raw={k: v[a:b] for k, v in body.raw.items()},
        keypoints_px=body.keypoints_px[a:b],
    )


def _shifted(rep: Rep, offset: int) -> Rep:
    """``rep`` found in a shot starting at sample ``offset``, with sample indices of the whole series."""
    return replace(
        rep,
        start_sample=rep.start_sample + offset,
        end_sample=rep.end_sample + offset,
        moments={k: replace(m, sample=m.sample + offset) for k, m in rep.moments.items()},
        set_position_sample=None if rep.set_position_sample is None else rep.set_position_sample + offset,
    )


def segment_reps(
    body: BodySeries, params: MomentParams | None = None, cut_samples: Sequence[int] = ()
) -> tuple[Rep, ...]:
    """Every pull of ``body`` in time order (complete reps and partial pulls), with key moments.

    ``cut_samples``: samples that start a new shot (scene cuts, see
    :mod:`formcheck_core.scene_cuts`). Each shot is segmented on its own, as if it were a clip: no
    pull spans a cut, a pull under way at a cut is cut by the clip ("a scene cut comes before
    lockout"), and the set's standing level
    is the shot's own. Complete reps are numbered over the whole clip.

    Contract: a rep's span [``start_sample``, ``end_sample``] runs from its set position's level
    (the sample :func:`_setup` reads it at), its setup or its bottom, whichever is first,
    through its lockout hold and lowering, up to the sample before the next pull's span; spans
    never overlap; every moment lies in its rep's span; moments present are strictly ordered
    setup < liftoff < knee_pass < lockout; a moment that could not be placed is absent and
    ``Rep.missing_moments`` says why.

    A pull is *partial* (``complete=False``, ``partial_reason`` in words) when the clip cuts it
    (already rising at the first sample: no setup / lift-off; still rising at the last sample: no
    lockout; a clip starting with the legs straight and the bar above the floor), when it did not
    start from the floor (legs straight, torso upright-ish at its bottom: from the hang or blocks,
    see :func:`_start_above_floor`) or when it never reached lockout: its hinge angle stayed
    below :data:`TOP_HIP_DEG` or covered less than :data:`STANDING_SHARE` of the way from its
    bottom to the set's standing level (the highest top of the clip's pulls), e.g. a pull aborted
    and lowered, or when the lifter is not found for part of it ("not measurable") -- unless the
    gap holds the pull's top (:func:`_top_in_gap`: seen rising into it, standing or lowered after
    it): then it is a complete rep whose lockout is absent, "not measurable". Complete reps
    are numbered 1..N in time order; partial pulls N+1.. (numbers are ids, unique per clip).
    ``metrics`` are left empty (see :func:`formcheck_core.biomech.metrics.rep_metrics`).
    """
    bounds = shot_bounds(body.time_s.size, cut_samples)
    if len(bounds) > 2:
        pulls = [
            _shifted(r, a)
            for a, b in itertools.pairwise(bounds)
            for r in _segment_shot(_shot(body, a, b), params, ends_at_cut=b < body.time_s.size)
        ]
        n_complete = sum(r.complete for r in pulls)
        numbers = iter(range(1, n_complete + 1))
        partial_numbers = iter(range(n_complete + 1, len(pulls) + 1))
        return tuple(replace(r, number=next(numbers) if r.complete else next(partial_numbers)) for r in pulls)
    return _segment_shot(body, params)


def with_set_positions(body: BodySeries, reps: Sequence[Rep]) -> tuple[Rep, ...]:
    """``reps`` (e.g. a plugin's ``detect_reps``) with ``Rep.set_position_sample`` filled where it
    is missing and the rep has a lift-off: segmentation's one definition
    (:func:`~formcheck_core.biomech.rep_window.set_position` on :func:`hinge_angle_deg`, gaps
    interpolated), searched from the rep's first sample (so the sample lies in the rep) to
    lift-off - 1. Left None when that window holds no data; a rep that has one is kept as is."""
    h_raw = hinge_angle_deg(body)
    if h_raw.size < 3 or np.isfinite(h_raw).sum() < 3:
        return tuple(reps)
    h = _interp_nan(h_raw)
    fs = sample_rate_hz(body.time_s, default=DEFAULT_FPS)
    out = []
    for rep in reps:
        lift = rep.moments.get("liftoff")
        if rep.set_position_sample is None and lift is not None:
            _, at = set_position(h, lift.sample, rep.start_sample, fs)
            rep = replace(rep, set_position_sample=at)
        out.append(rep)
    return tuple(out)


def no_pull_reason(body: BodySeries, cut_samples: Sequence[int] = ()) -> str:
    """Why :func:`segment_reps` finds no pull in ``body``, in words: the most frequent reason its
    hinge rises were rejected (:data:`NOT_A_HINGE` when there was none); "" if a pull is found."""
    bounds = shot_bounds(body.time_s.size, cut_samples)
    rejected: list[str] = []
    for a, b in itertools.pairwise(bounds):
        shot = _shot(body, a, b) if len(bounds) > 2 else body
        h_raw = hinge_angle_deg(shot)
        if h_raw.size < 3 or np.isfinite(h_raw).sum() < 3:
            continue
        fs = sample_rate_hz(shot.time_s, default=DEFAULT_FPS)
        if _pull_candidates(shot, _interp_nan(h_raw), h_raw, fs, MomentParams(), rejected):
            return ""
    real = [r for r in rejected if r != NOT_A_HINGE]
    return max(real, key=real.count) if real else NOT_A_HINGE


def _segment_shot(
    body: BodySeries, params: MomentParams | None, *, ends_at_cut: bool = False
) -> tuple[Rep, ...]:
    """:func:`segment_reps` of one shot (no scene cut inside); ``ends_at_cut``: a scene cut, not
    the clip's end, ends the shot (said in the words of a pull it cuts)."""
    p = params or MomentParams()
    h_raw = hinge_angle_deg(body)
    n = h_raw.size
    if n < 3 or np.isfinite(h_raw).sum() < 3:
        return ()
    h = _interp_nan(h_raw)
    fs = sample_rate_hz(body.time_s, default=DEFAULT_FPS)
    pulls = _pull_candidates(body, h, h_raw, fs, p)
    if not pulls:
        return ()

    first = int(np.flatnonzero(np.isfinite(h_raw))[0])
    standing = _standing_deg(h, pulls)
    lean = torso_lean_for_hinge_deg(body)
    drafts: list[dict] = []
    prev_top = first - 1
    shoulder_up = -_interp_nan(body.smoothed["shoulder_y_px"])
    for k, pull in enumerate(pulls):
        b, top, lift, lock = pull.bottom, pull.top, pull.lift, pull.lock
        bar_top = max(
            (v for v in (_bar_height_rel(body, i) for i in range(b, top + 1)) if np.isfinite(v)),
            default=float("nan"),
        )
        stood = bar_top >= MIN_BAR_TOP_REL if np.isfinite(bar_top) else h[top] >= TOP_HIP_DEG
        upright = _upright_near(lean, top, fs)
        bent_over = bool(np.isfinite(upright) and upright > UPRIGHT_MAX_LEAN_DEG)
        reached = stood and not bent_over and h[top] - h[b] >= STANDING_SHARE * (standing - h[b])
        lost_s = _longest_gap_s(h_raw, lift, top, fs)
        # Lost over its top (e.g. standing up out of the picture) but seen rising into the gap and
        # standing or lowered after it: a complete rep, its lockout moment not measurable.
        end = pulls[k + 1].bottom if k + 1 < len(pulls) else n - 1
        top_unseen = bool(lost_s) and _top_in_gap(
            h, h_raw, shoulder_up, body.body_length_px, lift, top, end, fs
        )
        moments: dict[str, Moment] = {}
        missing: dict[str, str] = {}
        level_at: int | None = None
        if pull.started_mid_pull:
            missing["setup"] = missing["liftoff"] = "the clip starts mid-pull"
        elif pull.above_floor:
            missing["setup"] = missing["liftoff"] = "the bar did not start from the floor"
        else:
            moments["liftoff"] = _refine_moment(body, _moment(body, "liftoff", lift), pull.lift_pos)
            setup, level_at = _setup(body, h, moments["liftoff"], prev_top + 1, fs)
            if setup is None:
                missing["setup"] = "no sample of the set position before lift-off"
            else:
                moments["setup"] = setup
        lost = f"the lifter was not found for {lost_s:.1f} s of the pull (out of frame or hidden)"
        lock_ok = not pull.cut_at_end and not lost_s and reached and lock > lift
        ends = "a scene cut comes" if ends_at_cut else "the clip ends"
        if pull.cut_at_end:
            missing["lockout"] = f"{ends} before lockout"
        elif lost_s:
            missing["lockout"] = f"not measurable: {lost}"
        elif bent_over:
            missing["lockout"] = f"the torso stayed {upright:.0f}° from vertical"
        elif not reached:
            missing["lockout"] = f"the hips opened only to {h[top]:.0f}° (standing reads {standing:.0f}°)"
        elif lock <= lift:
            missing["lockout"] = "no rise after lift-off"
        if pull.started_mid_pull:
            missing["knee_pass"] = "the clip starts mid-pull"
        elif pull.above_floor:
            missing["knee_pass"] = "the bar did not start from the floor"
        else:
            start = moments["setup"].sample if "setup" in moments else b
            kp, why = _knee_pass(body, start, lift, lock if lock_ok else top + 1)
            if kp is None:  # a cut (or the clip's end) may have ended the search, not the bar
                after_s = float(
                    body.time_s[-1] + 1.0 / fs - body.time_s[lift]
                )  # where the next sample would be
                missing["knee_pass"] = knee_pass_missing(why, ends if pull.cut_at_end else None, after_s)
            else:
                # Sub-sample: where the bar crosses the knee height (or the knee angle KNEE_PASS_DEG).
                gap = np.asarray(body.smoothed["knee_y_px"], float) - knee_pass_bar_y_px(body, lift)
                if not (np.isfinite(gap[kp]) and gap[kp] > 0):
                    gap, thr = np.asarray(body.smoothed["knee_angle_deg"], float), KNEE_PASS_DEG
                else:
                    thr = 0.0
                moments["knee_pass"] = _refine_moment(
                    body, _moment(body, "knee_pass", kp), _crossing(gap, kp, thr)
                )
        if lock_ok:
            moments["lockout"] = _refine_moment(body, _moment(body, "lockout", lock), pull.lock_pos)
        if pull.started_mid_pull:
            reason = "cut by the clip: it starts mid-pull" + (
                f" ({pull.above_floor})" if pull.above_floor else ""
            )
        elif pull.above_floor:
            reason = f"not from the floor ({pull.above_floor}): a pull from the hang or from blocks"
        elif pull.cut_at_end:
            reason = f"cut by the clip: {'a scene cut comes' if ends_at_cut else 'it ends'} before lockout"
        elif lost_s:
            reason = "" if top_unseen else f"not measurable: {lost}"
        elif not reached:
            lowered = bool(np.nanmin(h[top:]) <= h[top] - DROP_DEG)
            verb = ABORTED if lowered else NEVER_REACHED_LOCKOUT
            why = (
                f"the torso stayed {upright:.0f}° from vertical"
                if bent_over
                else f"the hips opened only to {h[top]:.0f}°, standing reads {standing:.0f}°"
            )
            reason = f"{verb} ({why})"
        else:
            reason = ""
        first_sample = min(
            [b, *(m.sample for m in moments.values()), *([level_at] if level_at is not None else [])]
        )
        drafts.append(
            dict(
                start=max(prev_top + 1, first_sample),
                bottom=b,
                top=top,
                moments=moments,
                missing=missing,
                reason=reason,
                level_at=level_at if "setup" in moments else None,
            )
        )
        prev_top = top
    reps: list[Rep] = []
    n_complete = sum(not d["reason"] for d in drafts)
    numbers = iter(range(1, n_complete + 1))
    partial_numbers = iter(range(n_complete + 1, len(drafts) + 1))
    for k, d in enumerate(drafts):
        end = drafts[k + 1]["start"] - 1 if k + 1 < len(drafts) else n - 1
        complete = not d["reason"]
        reps.append(
            Rep(
                number=next(numbers) if complete else next(partial_numbers),
                start_sample=int(d["start"]),
                end_sample=int(end),
                moments=ordered_refinements({m: d["moments"][m] for m in MOMENT_NAMES if m in d["moments"]}),
                complete=complete,
                partial_reason=d["reason"],
                missing_moments={m: d["missing"][m] for m in MOMENT_NAMES if m in d["missing"]},
                set_position_sample=d["level_at"],
            )
        )
    return tuple(reps)
