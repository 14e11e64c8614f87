"""Per-rep metrics: the numbers rules, the coach and the LLM read. Units are in the names.

:data:`METRICS` is the schema: name -> description. :func:`rep_metrics` computes them from a
:class:`~formcheck_core.body.BodySeries` and a rep's key moments. NaN means "not measurable".
"""

from __future__ import annotations

#: Metric name -> description (unit in the name; angles in degrees, drift in px / body lengths / cm).
METRICS: dict[str, str] = {
    "hip_angle_setup_deg": "Hip angle (shoulder-hip-knee) at setup; 180 = straight.",
    "hip_angle_liftoff_deg": "Hip angle at lift-off / first pull (the deepest hip flexion).",
    "hip_angle_lockout_deg": "Hip angle at lockout (maximum hip extension).",
    "knee_angle_bottom_deg": "Knee angle (hip-knee-ankle) at lift-off; 180 = straight.",
    "knee_angle_lockout_deg": "Knee angle at lockout.",
    "torso_lean_liftoff_deg": "Torso lean from vertical at lift-off (0 = upright).",
    "torso_lean_lockout_deg": "Torso lean at lockout; negative = leaning back past vertical.",
    "max_bar_drift_px": "Largest horizontal wrist (bar proxy) distance from its lift-off position, pixels.",
    "max_bar_drift_rel": "max_bar_drift_px divided by the lifter's body length (shoulder-hip-knee-ankle).",
    "max_bar_drift_cm": "max_bar_drift_px in cm, if the lifter's height was given (else NaN).",
    "lockout_reached": "1.0 if the hip reached >= 165 deg and the knee >= 160 deg at lockout, else 0.0.",
    "hip_rise_lead_rel": "How far the hips rise before the shoulders in the first third of the pull "
    "(hip rise minus shoulder rise, body lengths); large positive = hips shoot up first.",
    "min_elbow_angle_pull_deg": "Smallest elbow angle between lift-off and lockout (180 = straight arms).",
    "heel_rise_rel": "Largest rise of the heel above its setup height during the pull, body lengths.",
    "rep_duration_s": "Seconds from lift-off to lockout.",
}
