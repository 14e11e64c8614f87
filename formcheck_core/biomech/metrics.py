"""Per-rep metrics: the numbers rules, the coach and the LLM read. Units are in the names.

Each built-in metric is one small function registered as a
:class:`~formcheck_core.biomech.metric_spec.MetricSpec` in :data:`BUILTIN_METRICS` (its description, LLM
glossary text, the series and joints a still highlights for it). :data:`METRICS` (name ->
description) derives from it. :func:`measure_rep` reads every metric of one rep, and at which
sample each value was read (an extreme over the pull happens at its own frame, not at a key
moment); :func:`with_metrics` stores both in the rep. NaN means "not measurable".

Long because each built-in metric's function and its spec (the one table every view derives from)
live side by side.

Angles come from the image series in a side view (or when the view is unknown) and from the 3D
world-landmark series in a front or oblique view. Bar drift is NaN in a front view (the drift is
along the camera axis). The pull runs from lift-off to lockout (to the rep's last sample when the
clip ends first; from the rep's first sample when it starts mid-pull).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from .back_series import BACK_MEDIAN_OVER, BACK_METRICS, BACK_NOT_MEASURED
from .body import BodySeries, Rep, ViewEstimate
from .metric_spec import MetricSpec, Reading, RepInput, Unmeasured
from .moments import stopped_short_of_lockout
from .rep_window import (
    BODY_LENGTH_PER_HEIGHT,
    BOTTOM_SEARCH_S,
    HOLD_S,
    LIFTOFF_BOTTOM_S,
    LOCKOUT_HIP_DEG,
    LOCKOUT_WINDOW_S,
    MAX_SETUP_S,
    angle_source,
    arg_extreme,
    at,
    at_lockout,
    bar_drift,
    early_pull,
    held_extreme,
    hold_samples,
    liftoff_bottom,
    median_around,
    no_moment,
    pull,
    px_per_cm,
    set_position_level,
)

#: How the lockout extremes are read, in the words of their definitions (from the constants).
_HELD_AT_LOCKOUT = f"held for {HOLD_S:g} s within {LOCKOUT_WINDOW_S:g} s from the lockout moment"

__all__ = [
    "BODY_LENGTH_PER_HEIGHT",
    "BOTTOM_SEARCH_S",
    "BUILTIN_METRICS",
    "HOLD_S",
    "LOCKOUT_HIP_DEG",
    "LOCKOUT_WINDOW_S",
    "METRICS",
    "METRIC_SPECS",
    "angle_source",
    "measure",
    "measure_rep",
    "px_per_cm",
    "rep_metrics",
    "with_metrics",
]

_NAN = float("nan")

# --------------------------------------------------------------------------------------------
# The built-in metrics, one function each


def _knee_near_floor(inp: RepInput, series: np.ndarray, center: int | None) -> Reading:
    """A knee reading near the floor: the median of ``series`` within :data:`HOLD_S` either side of
    sample ``center`` (inside the rep; :func:`median_around`), at the sample that holds it.

    Near the floor the plates hide the near knee, and the pose model places it differently from
    sample to sample and between byte-different copies of a clip (at the same source frame a
    median 2-3°, tail 7-40°; ``scripts/metamorphic.py``). The median of the five samples around
    the reading (at 10 samples/s) is the value at ``center`` wherever the knee moves one way, and
    leaves out a single misplaced sample. Hip and torso readings are not occluded there and stay
    at their sample."""
    p = pull(inp)
    return median_around(series, center, inp.rep.start_sample, inp.rep.end_sample, hold_samples(p.fs))


def hip_angle_setup(inp: RepInput) -> Reading:
    if pull(inp).setup is None:
        return no_moment(inp, "setup")
    return set_position_level(inp)


def hip_angle_liftoff(inp: RepInput) -> Reading:
    where = liftoff_bottom(inp)
    if where is None:
        return no_moment(inp, "liftoff")
    return at(pull(inp).hip, where), where


def hip_angle_lockout(inp: RepInput) -> Reading:
    return at_lockout(inp, "hip", largest=True)


#: The label of ``hip_angle_lockout_deg`` (its spec's), which :func:`hip_angle_top`'s reason names.
HIP_LOCKOUT_LABEL = "Hip angle held at lockout"


def hip_angle_top(inp: RepInput) -> Reading:
    if not stopped_short_of_lockout(inp.rep):  # a complete rep has its lockout reading instead
        return Unmeasured(
            "read only for a pull that stopped short of lockout (a complete rep: see "
            f"{HIP_LOCKOUT_LABEL[:1].lower()}{HIP_LOCKOUT_LABEL[1:]})"
            if inp.rep.complete
            else f"the pull did not stop short of lockout ({inp.rep.partial_reason})"
        )
    p = pull(inp)
    return arg_extreme(p.hip, p.a, p.b, largest=True)


def knee_angle_bottom(inp: RepInput) -> Reading:
    where = liftoff_bottom(inp)
    return no_moment(inp, "liftoff") if where is None else _knee_near_floor(inp, pull(inp).knee, where)


def knee_angle_lockout(inp: RepInput) -> Reading:
    return at_lockout(inp, "knee", largest=True)


def torso_lean_liftoff(inp: RepInput) -> Reading:
    # At lift-off's own sample: read at liftoff_bottom (more invariant) it cut excessive_torso_lean's LOCO accuracy 0.86->0.71.
    p = pull(inp)
    if p.lift is None:
        return no_moment(inp, "liftoff")
    return at(p.lean, p.lift), p.lift


def torso_lean_lockout(inp: RepInput) -> Reading:
    return at_lockout(inp, "lean", largest=False)


def max_bar_drift_px(inp: RepInput) -> Reading:
    return bar_drift(inp)


def max_bar_drift_rel(inp: RepInput) -> Reading:
    drift = bar_drift(inp)
    if isinstance(drift, Unmeasured):
        return drift
    return drift[0] / pull(inp).length, drift[1]


def max_bar_drift_cm(inp: RepInput) -> Reading:
    drift = bar_drift(inp)
    if isinstance(drift, Unmeasured):
        return drift
    scale = px_per_cm(inp.body.body_length_px, inp.height_cm)
    if not math.isfinite(scale):
        return Unmeasured("the lifter's height was not given (--height-cm)")
    return drift[0] / scale, drift[1]


def lockout_reached(inp: RepInput) -> Reading:
    """1.0 / 0.0 from the lockout hip angle (image series only: side view or unknown)."""
    if pull(inp).world:
        return Unmeasured(
            "judged in a side view only: the 3-D estimate reads a straight standing hip as 150-160°"
        )
    if stopped_short_of_lockout(inp.rep):  # no lockout, by the moments' own criteria
        return 0.0
    reading = hip_angle_lockout(inp)
    if isinstance(reading, Unmeasured):  # no lockout moment, and why
        return reading
    hip, _ = _as_pair(reading)
    return float(hip >= LOCKOUT_HIP_DEG) if math.isfinite(hip) else _NAN


def hip_rise_lead_rel(inp: RepInput) -> Reading:
    early = early_pull(inp)
    if early is None:
        return no_moment(inp, "liftoff")
    bottom, third = early
    s = inp.body.smoothed
    hip_y = np.asarray(s["hip_y_px"][bottom : third + 1], float)
    sh_y = np.asarray(s["shoulder_y_px"][bottom : third + 1], float)
    lead = (hip_y[0] - hip_y) - (sh_y[0] - sh_y)
    top_lead, where = arg_extreme(lead, 0, lead.size - 1, largest=True)
    if where is None:
        return _NAN
    return top_lead / pull(inp).length, bottom + where


def torso_lean_gain_deg(inp: RepInput) -> Reading:
    early = early_pull(inp)
    if early is None:
        return no_moment(inp, "liftoff")
    bottom, third = early
    lean = pull(inp).lean
    lean0 = at(lean, bottom)
    top_lean, where = arg_extreme(lean, bottom, third, largest=True)
    if where is None or not math.isfinite(lean0):
        return _NAN
    return max(0.0, top_lean - lean0), where


def min_elbow_angle_pull(inp: RepInput) -> Reading:
    # Tried: the smallest angle kept for a third of the pull (a near-straight 2D elbow is
    # ill-conditioned, and held for 0.2 s the value is the deepest of the pose noise): 18 -> 14 of
    # 49 metamorphic copies broken, but the labelled bent-arms dev clip then read at a confident
    # sample, nested LOCO switched bent_arms on in a fold and flagged a good front-oblique lift (set
    # verdict 0.82 -> 0.80, scripts/evaluate_rules.py). Dropped: fewer false alarms come first.
    p = pull(inp)
    return held_extreme(
        inp.body.smoothed["elbow_angle_deg"], p.a, p.b, largest=False, hold=hold_samples(p.fs)
    )


def heel_rise_rel(inp: RepInput) -> Reading:
    p = pull(inp)
    s = inp.body.smoothed
    tilt = np.asarray(s["toe_y_px"], float) - np.asarray(s["heel_y_px"], float)  # > 0: heel above toe
    tilt0 = at(tilt, p.setup if p.setup is not None else p.lift)
    top_tilt, where = arg_extreme(tilt, p.a, p.b, largest=True)
    if where is None or not math.isfinite(tilt0):
        return _NAN
    return max(0.0, top_tilt - tilt0) / p.length, where


def squat_index_setup(inp: RepInput) -> Reading:
    """Knee flexion (180 - knee angle) minus torso lean from vertical, at set-up (lift-off without
    one): the median of that index within HOLD_S either side (:func:`_knee_near_floor`: the knee
    is behind the plates there)."""
    p = pull(inp)
    where = p.setup if p.setup is not None else p.lift
    index = (180.0 - np.asarray(p.knee, float)) - np.asarray(p.lean, float)
    return _knee_near_floor(inp, index, where)


def rep_duration_s(inp: RepInput) -> Reading:
    p = pull(inp)
    if p.lift is None or p.lock is None or p.lock <= p.lift:
        return no_moment(inp, "liftoff" if p.lift is None else "lockout")
    return float(inp.body.time_s[p.lock] - inp.body.time_s[p.lift])


def _as_pair(reading: Reading) -> tuple[float, int | None]:
    if isinstance(reading, Unmeasured):
        return _NAN, None
    return reading if isinstance(reading, tuple) else (reading, None)


_HIP, _KNEE, _LEAN, _ELBOW = (
    ("hip_angle_deg",),
    ("knee_angle_deg",),
    ("torso_lean_deg",),
    ("elbow_angle_deg",),
)

#: Every built-in metric, in the order reps, tables and prompts list them.
BUILTIN_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "hip_angle_setup_deg",
        f"Hip angle (shoulder-hip-knee) in the set position: read at the sample where the hips hold their lowest "
        f"angle for {HOLD_S:g} s within {MAX_SETUP_S:g} s before lift-off (the level the set-up moment is placed "
        "from, found on the series segmentation reads; in a side view the value is that level); 180 = straight.",
        hip_angle_setup,
        short="hip angle in the set position (lowest held, shoulder-hip-knee, 180 = straight)",
        series=_HIP,
        label="Hip angle in the set position",
    ),
    MetricSpec(
        "hip_angle_liftoff_deg",
        f"Hip angle at lift-off: the deepest hip flexion within {LIFTOFF_BOTTOM_S:g} s of the lift-off moment.",
        hip_angle_liftoff,
        short="deepest hip angle near lift-off",
        series=_HIP,
        # read at the deepest bend within LIFTOFF_BOTTOM_S of lift-off, which may be the set-up's frame
        label="Deepest hip angle near lift-off",
    ),
    MetricSpec(
        "hip_angle_lockout_deg",
        f"Hip angle at lockout: the largest value {_HELD_AT_LOCKOUT}.",
        hip_angle_lockout,
        short="hip angle held at lockout",
        series=_HIP,
        # a level held from the lockout moment on, not the peak (which can come just before it)
        label=HIP_LOCKOUT_LABEL,
    ),
    MetricSpec(
        "hip_angle_top_deg",
        "Largest hip angle of a pull that stopped short of lockout (no lockout moment: it never "
        "reached lockout or was lowered first), from lift-off to the pull's last sample; NaN for a "
        "complete rep (see hip_angle_lockout_deg) and for a pull the clip cuts.",
        hip_angle_top,
        short="largest hip angle of a pull that never reached lockout",
        series=_HIP,
        label="Largest hip angle of the pull",
    ),
    MetricSpec(
        "knee_angle_bottom_deg",
        f"Knee angle (hip-knee-ankle) at lift-off: the median within {HOLD_S:g} s either side of the sample of "
        "hip_angle_liftoff_deg (the plates hide the knee there); 180 = straight.",
        knee_angle_bottom,
        short="knee angle near lift-off (180 = straight)",
        series=_KNEE,
        label="Knee angle near lift-off",
    ),
    MetricSpec(
        "knee_angle_lockout_deg",
        f"Knee angle at lockout: the largest value {_HELD_AT_LOCKOUT}.",
        knee_angle_lockout,
        short="knee angle held at lockout",
        series=_KNEE,
        label="Knee angle held at lockout",
    ),
    MetricSpec(
        "torso_lean_liftoff_deg",
        "Torso lean from vertical at lift-off (0 = upright).",
        torso_lean_liftoff,
        short="torso lean from vertical at lift-off (0 = upright)",
        series=_LEAN,
    ),
    MetricSpec(
        "torso_lean_lockout_deg",
        f"Torso lean at lockout: the smallest value {_HELD_AT_LOCKOUT}; "
        "negative = leaning back past vertical.",
        torso_lean_lockout,
        short="torso lean held at lockout (negative = leaning back)",
        series=_LEAN,
        label="Torso lean held at lockout",
    ),
    MetricSpec(
        "max_bar_drift_px",
        "Largest horizontal wrist (bar proxy) distance from its lift-off position during the "
        "pull, pixels (NaN in a front view).",
        max_bar_drift_px,
        short="largest horizontal bar (hands) drift from lift-off, pixels",
        joints=("bar",),
    ),
    MetricSpec(
        "max_bar_drift_rel",
        "max_bar_drift_px divided by the lifter's body length (shoulder-hip-knee-ankle).",
        max_bar_drift_rel,
        short="the same drift in body lengths",
        joints=("bar",),
    ),
    MetricSpec(
        "max_bar_drift_cm",
        "max_bar_drift_px in cm, if the lifter's height was given (else NaN).",
        max_bar_drift_cm,
        short="the same drift in cm",
        joints=("bar",),
    ),
    MetricSpec(
        "lockout_reached",
        "1.0 if hip_angle_lockout_deg >= 155 deg (LOCKOUT_HIP_DEG, the incomplete_lockout "
        "rule's default limit: one definition), else 0.0; 0.0 for a pull that stopped short of lockout; "
        "NaN outside a side view (the 3D estimate reads a straight standing hip as 150-160 deg).",
        lockout_reached,
        short="whether the hips reached full extension at the top (hip angle at or above the "
        "incomplete_lockout limit)",
        series=_HIP + _KNEE,
        kind="flag",
    ),
    MetricSpec(
        "hip_rise_lead_rel",
        "How far the hips rise before the shoulders from the bottom of the rep through "
        "the first third of the pull (hip rise minus shoulder rise, body lengths); large positive = hips "
        "shoot up first.",
        hip_rise_lead_rel,
        short="how far the hips rise ahead of the shoulders early in the pull, body lengths",
        joints=("hip", "shoulder"),
    ),
    MetricSpec(
        "min_elbow_angle_pull_deg",
        f"Smallest elbow angle held for {HOLD_S:g} s between lift-off and lockout (180 = straight arms).",
        min_elbow_angle_pull,
        short=f"smallest elbow angle held for {HOLD_S:g} s during the pull (180 = straight arms)",
        series=_ELBOW,
        # held, not the curve's minimum: a single-sample dip can read lower (gym1080_bad_03: 128° at
        # frame 66, held 131° at frame 69)
        label="Smallest elbow angle held in the pull",
    ),
    MetricSpec(
        "heel_rise_rel",
        "Largest rise of the heel relative to the toe above their setup difference during the "
        "pull, body lengths (the foot tipping onto the toes).",
        heel_rise_rel,
        short="largest heel rise during the pull, body lengths",
        joints=("heel", "foot_index"),
    ),
    MetricSpec(
        "rep_duration_s",
        "Seconds from lift-off to lockout.",
        rep_duration_s,
        short="seconds from lift-off to lockout",
    ),
    MetricSpec(
        "torso_lean_gain_deg",
        "Largest increase of torso lean from the bottom of the rep through the first "
        "third of the pull (deg); the torso tips forward when the hips rise before the bar.",
        torso_lean_gain_deg,
        series=_LEAN,
    ),
    MetricSpec(
        "squat_index_setup_deg",
        "Knee flexion (180 - knee angle) minus torso lean from vertical at set-up (at lift-off "
        f"when the rep has no set-up moment; the median within {HOLD_S:g} s either side), deg; a hinge "
        "reads below 0 (the torso tips more than the knees bend), a squat-pattern set-up (deep knees, upright torso) well above 0.",
        squat_index_setup,
        short="knee bend minus torso lean at set-up (large = squat-like set-up: deep knees, upright torso)",
        series=_KNEE + _LEAN,
    ),
)


def _by_back_pass(inp: RepInput) -> Reading:
    """Not measured here: the segmentation pass fills these (:func:`formcheck_core.biomech.back_series.rep_back_metrics`)."""
    return Unmeasured(BACK_NOT_MEASURED)


#: Back metrics: read from the person mask (analyze(back=True): in the main pose pass, or a targeted
#: second pass; :mod:`formcheck_core.pose.back_pass`), not from the body series; listed here so that every metric has one spec.
BACK_METRIC_SPECS: tuple[MetricSpec, ...] = tuple(
    MetricSpec(
        name,
        description,
        _by_back_pass,
        joints=("hip", "shoulder"),
        unit="torso_lengths" if name == "back_flexion_rel" else "",
        median_over=BACK_MEDIAN_OVER,
    )
    for name, description in BACK_METRICS.items()
)
BUILTIN_METRICS = BUILTIN_METRICS + BACK_METRIC_SPECS
#: Built-in metric name -> spec.
METRIC_SPECS: dict[str, MetricSpec] = {m.name: m for m in BUILTIN_METRICS}
#: Built-in metric name -> description (unit in the name; angles in degrees, drift in px / body
#: lengths / cm). Derived from :data:`BUILTIN_METRICS`.
METRICS: dict[str, str] = {m.name: m.description for m in BUILTIN_METRICS}


def measure(specs: Iterable[MetricSpec], inp: RepInput) -> tuple[dict[str, float], dict[str, int]]:
    """Values of ``specs`` for one rep and, for finite values read at one sample, that sample."""
    values, samples, _ = measure_all(specs, inp)
    return values, samples


def measure_all(
    specs: Iterable[MetricSpec], inp: RepInput
) -> tuple[dict[str, float], dict[str, int], dict[str, str]]:
    """:func:`measure`, and why each metric its function could not read is not measurable
    (``Unmeasured``; name -> reason)."""
    values: dict[str, float] = {}
    samples: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for spec in specs:
        value, sample, why = spec.reading(inp)
        values[spec.name] = value
        if sample is not None:
            samples[spec.name] = sample
        if not why and math.isnan(value):  # NaN without a reason: what it reads was not tracked there
            why = _untracked(spec)
        if why:
            reasons[spec.name] = why
    return values, samples, reasons


def _untracked(spec: MetricSpec) -> str:
    """Why a metric whose function gave NaN without a reason is not measurable: what it reads (its
    angle series or joints, from its spec) was not tracked where this value is read."""
    what = [s.removesuffix("_deg").replace("_", " ") for s in spec.series] or [
        "bar (wrists)" if j == "bar" else j.replace("_", " ") for j in spec.joints
    ]
    names = list(dict.fromkeys(what)) or ["pose"]
    return f"the {' and '.join(names)} {'were' if len(names) > 1 else 'was'} not tracked where this value is read"


def rep_metrics(
    body: BodySeries, rep: Rep, *, view: ViewEstimate | None = None, height_cm: float | None = None
) -> dict[str, float]:
    """Every built-in metric for one rep (NaN when not measurable); see :func:`measure_rep`."""
    return measure_rep(body, rep, view=view, height_cm=height_cm)[0]


def with_metrics(
    body: BodySeries, rep: Rep, *, view: ViewEstimate | None = None, height_cm: float | None = None
) -> Rep:
    """``rep`` with ``metrics`` and ``metric_samples`` filled by :func:`measure_rep`, and
    ``unmeasured`` with why each metric that could not be read is not measurable."""
    values, samples, reasons = measure_all(BUILTIN_METRICS, RepInput(body, rep, view, height_cm))
    return replace(rep, metrics=values, metric_samples=samples, unmeasured=reasons)


def measure_rep(
    body: BodySeries, rep: Rep, *, view: ViewEstimate | None = None, height_cm: float | None = None
) -> tuple[dict[str, float], dict[str, int]]:
    """Every built-in metric for one rep (NaN when not measurable), and where each was measured.

    The second mapping gives, per metric with a finite value, the sample index (into ``body``'s
    series) at which that value occurred: the key moment for values read at a moment, the sample
    of the extreme for extremes over a window (e.g. the smallest elbow angle of the pull). Metrics
    spanning several samples (``rep_duration_s``, ``lockout_reached``) have no entry.
    """
    return measure(BUILTIN_METRICS, RepInput(body, rep, view, height_cm))
