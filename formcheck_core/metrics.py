"""Per-rep metrics: the numbers rules, the coach and the LLM read. Units are in the names.

:data:`METRICS` is the schema: name -> description. :func:`rep_metrics` computes them from a
:class:`~formcheck_core.body.BodySeries` and a rep's key moments. NaN means "not measurable".
:func:`measure_rep` also says at which sample each value was measured (an extreme over the pull
happens at its own frame, not at a key moment), and :func:`with_metrics` stores both in the rep.
"""

from __future__ import annotations

from .back_series import BACK_METRICS

#: Metric name -> description (unit in the name; angles in degrees, drift in px / body lengths / cm).
METRICS: dict[str, str] = {
    "hip_angle_setup_deg": "Hip angle (shoulder-hip-knee) at setup; 180 = straight.",
    "hip_angle_liftoff_deg": "Hip angle at lift-off / first pull (the deepest hip flexion).",
    "hip_angle_lockout_deg": "Hip angle at lockout: the maximum within 0.5 s from the lockout moment.",
    "knee_angle_bottom_deg": "Knee angle (hip-knee-ankle) at lift-off; 180 = straight.",
    "knee_angle_lockout_deg": "Knee angle at lockout: the maximum within 0.5 s from the lockout moment.",
    "torso_lean_liftoff_deg": "Torso lean from vertical at lift-off (0 = upright).",
    "torso_lean_lockout_deg": "Torso lean at lockout: the minimum within 0.5 s from the lockout moment; "
    "negative = leaning back past vertical.",
    "max_bar_drift_px": "Largest horizontal wrist (bar proxy) distance from its lift-off position during the "
    "pull, pixels (NaN in a front view).",
    "max_bar_drift_rel": "max_bar_drift_px divided by the lifter's body length (shoulder-hip-knee-ankle).",
    "max_bar_drift_cm": "max_bar_drift_px in cm, if the lifter's height was given (else NaN).",
    "lockout_reached": "1.0 if hip_angle_lockout_deg >= 155 deg (LOCKOUT_HIP_DEG, the incomplete_lockout "
    "rule's default limit: one definition), else 0.0; NaN outside a side view (the 3D estimate reads a "
    "straight standing hip as 150-160 deg).",
    "hip_rise_lead_rel": "How far the hips rise before the shoulders from the bottom of the rep through "
    "the first third of the pull (hip rise minus shoulder rise, body lengths); large positive = hips "
    "shoot up first.",
    "min_elbow_angle_pull_deg": "Smallest elbow angle held for two samples between lift-off and lockout "
    "(180 = straight arms).",
    "heel_rise_rel": "Largest rise of the heel relative to the toe above their setup difference during the "
    "pull, body lengths (the foot tipping onto the toes).",
    "rep_duration_s": "Seconds from lift-off to lockout.",
    "torso_lean_gain_deg": "Largest increase of torso lean from the bottom of the rep through the first "
    "third of the pull (deg); the torso tips forward when the hips rise before the bar.",
    **BACK_METRICS,
}

import math
from dataclasses import replace

import numpy as np

from .body import BodySeries, Rep, ViewEstimate

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
#: The bottom of a rep (for the hip-rise metrics) is searched this long before lift-off.
BOTTOM_SEARCH_S = 2.0

_NAN = float("nan")


def _at(series: np.ndarray | None, sample: int | None) -> float:
    if series is None or sample is None:
        return _NAN
    v = float(series[sample])
    return v if math.isfinite(v) else _NAN


def _arg_extreme(
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


def angle_source(view: ViewEstimate | None) -> str:
    """ "image" (side view or unknown) or "world" (front / oblique: the image angles are distorted)."""
    return "image" if view is None or view.view == "side" else "world"


def px_per_cm(body_length_px: float, height_cm: float | None) -> float:
    """Image scale from the body length and the lifter's height (NaN without a height)."""
    if height_cm is None or not (height_cm > 0) or not math.isfinite(body_length_px):
        return _NAN
    return body_length_px / (BODY_LENGTH_PER_HEIGHT * height_cm)


def rep_metrics(
    body: BodySeries, rep: Rep, *, view: ViewEstimate | None = None, height_cm: float | None = None
) -> dict[str, float]:
    """Every :data:`METRICS` entry for one rep (NaN when not measurable); see :func:`measure_rep`."""
    return measure_rep(body, rep, view=view, height_cm=height_cm)[0]


def with_metrics(
    body: BodySeries, rep: Rep, *, view: ViewEstimate | None = None, height_cm: float | None = None
) -> Rep:
    """``rep`` with ``metrics`` and ``metric_samples`` filled by :func:`measure_rep`."""
    values, samples = measure_rep(body, rep, view=view, height_cm=height_cm)
    return replace(rep, metrics=values, metric_samples=samples)


def measure_rep(
    body: BodySeries, rep: Rep, *, view: ViewEstimate | None = None, height_cm: float | None = None
) -> tuple[dict[str, float], dict[str, int]]:
    """Every :data:`METRICS` entry for one rep (NaN when not measurable), and where each was measured.

    The second mapping gives, per metric with a finite value, the sample index (into ``body``'s
    series) at which that value occurred: the key moment for values read at a moment, the sample
    of the extreme for extremes over a window (e.g. the smallest elbow angle of the pull). Metrics
    spanning several samples (``rep_duration_s``, ``lockout_reached``) have no entry.

    Angles come from the image series in a side view (or when ``view`` is None) and from the 3D
    world-landmark series in a front or oblique view. Bar drift is NaN in a front view (the drift
    is along the camera axis). The pull runs from lift-off to lockout (to the rep's last sample
    when the clip ends first; from the rep's first sample when it starts mid-pull).
    """
    s = body.smoothed
    world = angle_source(view) == "world"
    hip = s.get("hip_angle_world_deg", s["hip_angle_deg"]) if world else s["hip_angle_deg"]
    knee = s.get("knee_angle_world_deg", s["knee_angle_deg"]) if world else s["knee_angle_deg"]
    lean = s.get("torso_lean_world_deg", s["torso_lean_deg"]) if world else s["torso_lean_deg"]
    m = {name: mo.sample for name, mo in rep.moments.items()}
    setup, lift, lock = m.get("setup"), m.get("liftoff"), m.get("lockout")
    pull_a = lift if lift is not None else rep.start_sample
    pull_b = lock if lock is not None else rep.end_sample
    step = np.diff(np.asarray(body.time_s, float))
    fs = 1.0 / float(np.median(step)) if step.size and np.median(step) > 0 else 10.0
    length = body.body_length_px if body.body_length_px > 0 else _NAN
    out: dict[str, float] = dict.fromkeys(METRICS, _NAN)
    at: dict[str, int | None] = {}

    for name, series, sample in (
        ("hip_angle_setup_deg", hip, setup),
        ("hip_angle_liftoff_deg", hip, lift),
        ("knee_angle_bottom_deg", knee, lift),
        ("torso_lean_liftoff_deg", lean, lift),
    ):
        out[name], at[name] = _at(series, sample), sample
    if lock is not None:
        lock_end = min(rep.end_sample, lock + round(LOCKOUT_WINDOW_S * fs))
        for name, series, largest in (
            ("hip_angle_lockout_deg", hip, True),
            ("knee_angle_lockout_deg", knee, True),
            ("torso_lean_lockout_deg", lean, False),
        ):
            out[name], at[name] = _arg_extreme(series, lock, lock_end, largest=largest)
        h_lock = out["hip_angle_lockout_deg"]
        if not world and math.isfinite(h_lock):
            out["lockout_reached"] = float(h_lock >= LOCKOUT_HIP_DEG)

    x0 = _at(s["bar_x_px"], pull_a)
    if math.isfinite(x0) and (view is None or view.view != "front"):
        bar_dx = np.abs(np.asarray(s["bar_x_px"], float) - x0)
        drift, where = _arg_extreme(bar_dx, pull_a, pull_b, largest=True)
        if where is not None:
            out["max_bar_drift_px"] = drift
            out["max_bar_drift_rel"] = drift / length
            out["max_bar_drift_cm"] = drift / px_per_cm(body.body_length_px, height_cm)
            for name in ("max_bar_drift_px", "max_bar_drift_rel", "max_bar_drift_cm"):
                at[name] = where

    if lift is not None:
        # From the bottom of the rep (deepest hip flexion shortly before lift-off) through the
        # first third of the pull.
        lo = max(rep.start_sample, lift - round(BOTTOM_SEARCH_S * fs))
        w = np.asarray(hip[lo : lift + 1], float)
        bottom = lo + int(np.nanargmin(w)) if np.isfinite(w).any() else lift
        third = lift + max(1, round((pull_b - lift) / 3)) if pull_b > lift else lift
        hip_y = np.asarray(s["hip_y_px"][bottom : third + 1], float)
        sh_y = np.asarray(s["shoulder_y_px"][bottom : third + 1], float)
        lead = (hip_y[0] - hip_y) - (sh_y[0] - sh_y)
        top_lead, where = _arg_extreme(lead, 0, lead.size - 1, largest=True)
        if where is not None:
            out["hip_rise_lead_rel"], at["hip_rise_lead_rel"] = top_lead / length, bottom + where
        lean0 = _at(lean, bottom)
        top_lean, where = _arg_extreme(lean, bottom, third, largest=True)
        if where is not None and math.isfinite(lean0):
            out["torso_lean_gain_deg"], at["torso_lean_gain_deg"] = max(0.0, top_lean - lean0), where

    elbow = np.asarray(s["elbow_angle_deg"][pull_a : pull_b + 1], float)
    if elbow.size >= 2:
        paired = np.isfinite(elbow).sum() >= 2
        # "Held for two samples": the larger of each pair of neighbours; it is the value of the
        # sample that holds it (the first of the pair on a tie or when the second is NaN).
        held = np.fmax(elbow[:-1], elbow[1:]) if paired else elbow
        low, i = _arg_extreme(held, 0, held.size - 1, largest=False)
        if i is not None:
            if paired and elbow[i] != low:
                i += 1
            out["min_elbow_angle_pull_deg"], at["min_elbow_angle_pull_deg"] = low, pull_a + i

    tilt = np.asarray(s["toe_y_px"], float) - np.asarray(s["heel_y_px"], float)  # > 0: heel above toe
    tilt0 = _at(tilt, setup if setup is not None else lift)
    top_tilt, where = _arg_extreme(tilt, pull_a, pull_b, largest=True)
    if where is not None and math.isfinite(tilt0):
        out["heel_rise_rel"], at["heel_rise_rel"] = max(0.0, top_tilt - tilt0) / length, where

    if lift is not None and lock is not None and lock > lift:
        out["rep_duration_s"] = float(body.time_s[lock] - body.time_s[lift])
    samples = {name: int(i) for name, i in at.items() if i is not None and math.isfinite(out[name])}
    return out, samples
