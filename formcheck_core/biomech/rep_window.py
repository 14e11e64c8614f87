"""What the built-in metrics share for one rep: the view's angle series, the pull's samples, extremes.

:func:`pull` reads them once per rep (memoised on the :class:`~formcheck_core.biomech.metric_spec.RepInput`).
Angles come from the image series in a side view (or when the view is unknown) and from the 3D
world-landmark series in a front or oblique view. The pull runs from lift-off to lockout (to the
rep's last sample when the clip ends first; from the rep's first sample when it starts mid-pull).
NaN marks a value that cannot be read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import DEFAULT_FPS
from ..vocabulary import moment_label
from .body import NOT_MEASURABLE_PREFIX, Rep, ViewEstimate
from .metric_spec import Reading, RepInput, Unmeasured
from .series import sample_rate_hz

#: Shoulder-to-ankle length (shoulder-hip + hip-knee + knee-ankle, what
#: :attr:`BodySeries.body_length_px` measures) as a share of standing height. From the segment
#: proportions of Drillis & Contini (1966) as given in Winter, *Biomechanics and Motor Control of
#: Human Movement* (4th ed., 2009, fig. 4.1): shoulder 0.818 H, hip 0.530 H, knee 0.285 H, ankle
#: 0.039 H, so (0.818 - 0.530) + (0.530 - 0.285) + (0.285 - 0.039) = 0.779 H. An average adult
#: proportion: builds differ by a few percent, and so does a cm figure derived from it; it also
#: assumes the segments lie in the image plane (side view).
BODY_LENGTH_PER_HEIGHT = 0.78

#: The one definition of a locked-out hip (deg): ``lockout_reached`` and the default limit of the
#: ``incomplete_lockout`` rule (which imports it), so the summary and the cue cannot disagree.
#: Dev clips (``scripts/evaluate_rules.py --sweep``): clean side-view lockouts read 163.5-180 deg;
#: every limit from 145 to 163 deg scores the same on dev; 155 sits in the middle of that gap.
LOCKOUT_HIP_DEG = 155.0
#: Lockout values are the extreme within this many seconds from the lockout moment.
LOCKOUT_WINDOW_S = 0.5
#: An extreme over a window (a lockout maximum, the smallest elbow angle of the pull) is a value the
#: series keeps for at least this long, seconds (2 samples at the default 10 samples/s; see
#: :func:`held_extreme`); a knee reading near the floor is the median within this long either side
#: (:func:`median_around`). The smoothed series still carries pose noise of a few degrees that varies
#: from sample to sample and between byte-different copies of a clip (``scripts/metamorphic.py``); a
#: plain maximum picks the largest of it, while a body that holds a position holds it for longer
#: than one sample. Set a priori: a lockout or a bend of the arms lasts well over 0.2 s.
HOLD_S = 0.2
#: Longest set position searched before lift-off, seconds (the set-up moment,
#: :func:`formcheck_core.biomech.moments._setup`, and the set position's level, :func:`set_position`).
MAX_SETUP_S = 3.0
#: The bottom of a rep (for the hip-rise metrics) is searched this long before lift-off.
BOTTOM_SEARCH_S = 2.0
#: The hip and knee lift-off metrics are read at the deepest hip flexion within this many seconds
#: either side of the lift-off moment (:func:`liftoff_bottom`): a minimum barely moves when
#: lift-off shifts by a sample or two, while the angles at the moment's own sample move with it (on
#: the dev clips a lift-off two samples off moved the hip angle 6-8°; ``scripts/metamorphic.py``).
LIFTOFF_BOTTOM_S = 0.2

_NAN = float("nan")


def at(series: np.ndarray | None, sample: int | None) -> float:
    if series is None or sample is None:
        return _NAN
    v = float(series[sample])
    return v if math.isfinite(v) else _NAN


def arg_extreme(
    series: np.ndarray, a: int | None, b: int | None, *, largest: bool
) -> tuple[float, int | None]:
    """(largest or smallest finite value of ``series[a..b]`` (inclusive), its sample index).

    NaN values are skipped; (NaN, None) when the window is empty or all NaN. Ties: the first.
    """
    if a is None or b is None or b < a:
        return _NAN, None
    w = np.asarray(series[a : b + 1], float)
    ok = np.isfinite(w)
    if not ok.any():
        return _NAN, None
    i = int(np.argmax(np.where(ok, w, -np.inf)) if largest else np.argmin(np.where(ok, w, np.inf)))
    return float(w[i]), a + i


def held_extreme(
    series: np.ndarray, a: int | None, b: int | None, *, largest: bool, hold: int
) -> tuple[float, int | None]:
    """(largest or smallest value that ``series[a..b]`` (inclusive) keeps for ``hold`` consecutive
    samples, the sample that holds it).

    The largest held value is the maximum over every run of ``hold`` samples of the run's minimum
    (the smallest held value: the minimum of the runs' maxima), so a single-sample spike of pose
    noise is not a reading; the value is that of the sample in the best run that holds it, so
    ``series[sample] == value``. Runs with a NaN are skipped; a window with no run of ``hold``
    finite samples falls back to :func:`arg_extreme` (the plain extreme of what is measured).
    Ties: the first.
    """
    if a is None or b is None or b < a:
        return _NAN, None
    w = np.asarray(series[a : b + 1], float)
    if hold <= 1 or w.size < hold:
        return arg_extreme(series, a, b, largest=largest)
    runs = np.lib.stride_tricks.sliding_window_view(w, hold)
    full = np.isfinite(runs).all(axis=1)
    if not full.any():
        return arg_extreme(series, a, b, largest=largest)
    keep = np.where(full, runs.min(axis=1) if largest else runs.max(axis=1), -np.inf if largest else np.inf)
    start = int(np.argmax(keep) if largest else np.argmin(keep))
    inside = int(np.argmin(runs[start]) if largest else np.argmax(runs[start]))
    return float(runs[start, inside]), a + start + inside


def angle_source(view: ViewEstimate | None) -> str:
    """ "image" (side view or unknown) or "world" (front / oblique: the image angles are distorted)."""
    return "image" if view is None or view.view == "side" else "world"


def px_per_cm(body_length_px: float, height_cm: float | None) -> float:
    """Image scale from the body length and the lifter's height (NaN without a height)."""
    if height_cm is None or not (height_cm > 0) or not math.isfinite(body_length_px):
        return _NAN
    return body_length_px / (BODY_LENGTH_PER_HEIGHT * height_cm)


@dataclass(frozen=True)
class PullStart:
    """Where a pull starts for its metrics (the pull's window, the bar drift's origin): its
    ``sample``; ``liftoff``: it is the lift-off moment (else the rep's first sample: the clip
    shows the pull without its lift-off); ``words``: that in words, as the views say it."""

    sample: int
    liftoff: bool
    words: str


def pull_start(rep: Rep) -> PullStart:
    """The one decision of where ``rep``'s pull starts: its lift-off moment, else (a clip that
    starts mid-pull) the rep's first sample. :func:`pull` and :func:`bar_drift` measure from it;
    the bar path picture draws and names it."""
    lift = rep.moments.get("liftoff")
    if lift is not None:
        return PullStart(lift.sample, True, moment_label("liftoff"))
    return PullStart(rep.start_sample, False, "where the pull starts in the clip (no lift-off)")


def pull_end(rep: Rep) -> int:
    """The last sample of ``rep``'s pull: its lockout moment, else (a clip that ends or loses the
    lifter first) the rep's last sample. :func:`pull` reads to it; the bar path draws it thick."""
    lock = rep.moments.get("lockout")
    return lock.sample if lock is not None else rep.end_sample


@dataclass(frozen=True)
class Pull:
    """The series (image or world, by view) and the samples of one rep that the metrics read."""

    hip: np.ndarray
    knee: np.ndarray
    lean: np.ndarray
    world: bool
    setup: int | None
    lift: int | None
    lock: int | None
    #: First and last sample of the pull (lift-off to lockout, or the rep's ends).
    a: int
    b: int
    #: Samples per second and the lifter's body length in pixels (NaN when unknown).
    fs: float
    length: float


def pull(inp: RepInput) -> Pull:
    def compute(inp: RepInput) -> Pull:
        body, rep = inp.body, inp.rep
        s = body.smoothed
        world = angle_source(inp.view) == "world"
        hip = s.get("hip_angle_world_deg", s["hip_angle_deg"]) if world else s["hip_angle_deg"]
        knee = s.get("knee_angle_world_deg", s["knee_angle_deg"]) if world else s["knee_angle_deg"]
        lean = s.get("torso_lean_world_deg", s["torso_lean_deg"]) if world else s["torso_lean_deg"]
        m = {name: mo.sample for name, mo in rep.moments.items()}
        lift, lock = m.get("liftoff"), m.get("lockout")
        fs = sample_rate_hz(body.time_s, default=DEFAULT_FPS)
        return Pull(
            hip=hip,
            knee=knee,
            lean=lean,
            world=world,
            setup=m.get("setup"),
            lift=lift,
            lock=lock,
            a=pull_start(rep).sample,
            b=pull_end(rep),
            fs=fs,
            length=body.body_length_px if body.body_length_px > 0 else _NAN,
        )

    return inp.shared("pull", compute)


def median_around(
    series: np.ndarray, center: int | None, lo: int, hi: int, half: int
) -> tuple[float, int | None]:
    """(median of ``series`` over the samples within ``half`` of ``center``, the sample that holds it).

    The window stays symmetric about ``center``: near ``lo`` or ``hi`` (the rep's ends) it narrows
    on both sides, down to ``center`` alone. The median is an order statistic of the window's
    finite samples (the lower middle one when their number is even), so ``series[sample] ==
    value``. Along a monotone stretch it is the value at ``center`` itself; where pose noise moves
    single samples up and down it is not moved by them. NaN samples are skipped; (NaN, None)
    without a centre, with ``center`` outside [lo, hi] or without a finite sample.
    """
    if center is None or not lo <= center <= hi:
        return _NAN, None
    half = max(0, min(half, center - lo, hi - center))
    a, b = center - half, center + half
    if b < a:
        return _NAN, None
    w = np.asarray(series[a : b + 1], float)
    idx = np.flatnonzero(np.isfinite(w))
    if idx.size == 0:
        return _NAN, None
    order = idx[np.argsort(w[idx], kind="stable")]
    i = int(order[(order.size - 1) // 2])
    return float(w[i]), a + i


def hold_samples(fs: float) -> int:
    """Samples spanning :data:`HOLD_S` at ``fs`` samples/s (at least 1)."""
    return max(1, round(HOLD_S * fs)) if math.isfinite(fs) else 1


def no_moment(inp: RepInput, name: str) -> Unmeasured:
    """Why a metric read at key moment ``name`` is not measurable: the moment is missing, with the
    rep's own reason for it ("no lockout moment: never reached lockout ..."); a reason that is
    itself "not measurable: ..." loses that head, which every view puts in front of the whole."""
    label = moment_label(name)
    why = inp.rep.missing_moments.get(name) or inp.rep.partial_reason or "it was not found"
    return Unmeasured(f"no {label} moment: {why.removeprefix(NOT_MEASURABLE_PREFIX)}")


def at_lockout(inp: RepInput, series: str, *, largest: bool) -> Reading:
    """Extreme of a series held for :data:`HOLD_S` (:func:`held_extreme`) within LOCKOUT_WINDOW_S
    from the lockout moment (the moment's sample onward, not past the rep's last sample);
    :func:`no_moment` without one."""
    p = pull(inp)
    if p.lock is None:
        return no_moment(inp, "lockout")
    lock_end = min(inp.rep.end_sample, p.lock + round(LOCKOUT_WINDOW_S * p.fs))
    return held_extreme(getattr(p, series), p.lock, lock_end, largest=largest, hold=hold_samples(p.fs))


def set_position(hinge: np.ndarray, lift: int, lo: int, fs: float) -> tuple[float, int | None]:
    """(the set position's level, the sample that holds it) before a lift-off at sample ``lift``:
    the lowest value the hinge angle ``hinge`` (deg) holds for :data:`HOLD_S` (:func:`held_extreme`)
    in [max(``lo``, lift - :data:`MAX_SETUP_S`), lift - 1]; (NaN, None) when that window is empty
    or has no data. The one definition: segmentation places the set-up moment from this level
    (:func:`formcheck_core.biomech.moments._setup`: its last sample within ``SETUP_TOL_DEG`` of it)
    and records its sample (``Rep.set_position_sample``), which :func:`set_position_level` reads.

    A level the hips hold, not a single sample: one low sample of pose noise is not the set
    position, and the set-up moment ends the set position where the hips already rise (on the dev
    clips up to 100°/s), so a value read there depends on where the 10 samples/s fall -- a copy
    played at 0.8x or 1.25x read it 3-5° apart (``scripts/metamorphic.py``); a held level does not
    move with the samples' phase."""
    a = max(lo, lift - int(MAX_SETUP_S * fs))
    return held_extreme(hinge, a, lift - 1, largest=False, hold=hold_samples(fs))


def set_position_level(inp: RepInput) -> Reading:
    """The hip angle in the set position: the view's hip angle (:func:`pull`) at the sample that
    holds the set position's level (``Rep.set_position_sample``, found once by segmentation on
    the hinge series, :func:`set_position`), so the reading and the set-up moment rest on one
    sample whatever series each reads. In a side view both are the image angle and the value is
    the level itself; in a front or oblique view the segmentation's hinge series can be the image
    angle while the readings are the 3D one. :func:`no_moment` without a set-up moment; without a
    recorded sample (a rep not made by segmentation) not measurable, saying so."""
    if inp.rep.moments.get("setup") is None:
        return no_moment(inp, "setup")
    at_sample = inp.rep.set_position_sample
    if at_sample is None:
        return Unmeasured("the set position was not located (a rep not made by segmentation)")
    return at(pull(inp).hip, at_sample), at_sample


def liftoff_bottom(inp: RepInput) -> int | None:
    """The sample the lift-off metrics read: the smallest hip angle within LIFTOFF_BOTTOM_S of
    the lift-off moment (inside the rep, before lockout, not before the set-up); the lift-off sample itself when the hip
    angle is NaN there; None without a lift-off."""

    def compute(inp: RepInput) -> int | None:
        p = pull(inp)
        if p.lift is None:
            return None
        k = round(LIFTOFF_BOTTOM_S * p.fs)
        hi = p.lift + k if p.lock is None else min(p.lift + k, p.lock - 1)
        lo = max(inp.rep.start_sample, p.lift - k, p.setup if p.setup is not None else 0)
        _, where = arg_extreme(p.hip, lo, min(hi, inp.rep.end_sample), largest=False)
        return p.lift if where is None else where

    return inp.shared("liftoff_bottom", compute)


def early_pull(inp: RepInput) -> tuple[int, int] | None:
    """(bottom, end of the first third of the pull): the bottom is the deepest hip flexion within
    BOTTOM_SEARCH_S before lift-off. None without a lift-off."""

    def compute(inp: RepInput) -> tuple[int, int] | None:
        p = pull(inp)
        if p.lift is None:
            return None
        lo = max(inp.rep.start_sample, p.lift - round(BOTTOM_SEARCH_S * p.fs))
        w = np.asarray(p.hip[lo : p.lift + 1], float)
        bottom = lo + int(np.nanargmin(w)) if np.isfinite(w).any() else p.lift
        third = p.lift + max(1, round((p.b - p.lift) / 3)) if p.b > p.lift else p.lift
        return bottom, third

    return inp.shared("early_pull", compute)


#: Why bar drift is not read in a front view (``Unmeasured``).
FRONT_VIEW_DRIFT = "front view: the bar's drift toward or away from the body is along the camera axis"


def bar_drift(inp: RepInput) -> tuple[float, int | None] | Unmeasured:
    """Largest horizontal wrist distance from its position where the pull starts (:func:`pull_start`:
    lift-off, or the rep's first sample) over the pull, px, and its sample; :class:`Unmeasured`
    with why in a front view or when the wrists were not seen there."""

    def compute(inp: RepInput) -> tuple[float, int | None] | Unmeasured:
        if inp.view is not None and inp.view.view == "front":
            return Unmeasured(FRONT_VIEW_DRIFT)
        p = pull(inp)
        bar_x = inp.body.smoothed["bar_x_px"]
        x0 = at(bar_x, p.a)
        if not math.isfinite(x0):
            start = pull_start(inp.rep)
            return Unmeasured(f"the wrists (the bar) were not seen {'at ' * start.liftoff}{start.words}")
        return arg_extreme(np.abs(np.asarray(bar_x, float) - x0), p.a, p.b, largest=True)

    return inp.shared("bar_drift", compute)
