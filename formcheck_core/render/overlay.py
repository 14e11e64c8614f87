"""Draw a pose on a BGR frame: skeleton (visible side emphasised), angle arcs with read-outs, bar.

The angle values come from the Analysis' series (never recomputed here); the keypoints only say
where to draw the arcs. Reusable by stills, the annotated clip and notebook widgets:
:func:`draw_pose` is the one-call entry point.

Long because skeleton, arcs, labels and the bar marker share one geometry and label-placement pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..analysis import Analysis
from ..biomech.metrics import angle_source
from ..biomech.quality import PoseQuality, low_confidence_samples
from ..findings import Finding
from ..plugins import metric_specs
from ..pose.landmarks import LANDMARK, SKELETON_EDGES
from ..rules.verdicts import verdict_role
from ..vocabulary import FAULT, LOW_CONFIDENCE_SUFFIX, NOTE, OK, WARNING, format_limit, format_value
from . import style as st
from .layout import ViewBox, keypoints_px, sample_for_frame, visible_side
from .style import BGR, Style, TextItem


@dataclass(frozen=True)
class AngleSpec:
    """How to draw one angle series: the joints of its arc (without side) and a short label.

    ``joints`` is (end A, vertex, end C); end C None means "from vertical" (a vertical reference
    ray pointing up from the vertex).
    """

    series: str
    label: str
    joints: tuple[str, str, str | None]


#: The angles drawn on frames, in drawing order.
ANGLES: tuple[AngleSpec, ...] = (
    AngleSpec("hip_angle_deg", "hip", ("shoulder", "hip", "knee")),
    AngleSpec("knee_angle_deg", "knee", ("hip", "knee", "ankle")),
    AngleSpec("torso_lean_deg", "lean", ("shoulder", "hip", None)),
    AngleSpec("elbow_angle_deg", "elbow", ("shoulder", "elbow", "wrist")),
)
ANGLE_BY_SERIES: dict[str, AngleSpec] = {a.series: a for a in ANGLES}


def series_for_metric(metric: str | None) -> tuple[str, ...]:
    """Angle series a metric is read from (its spec's ``series``; empty for e.g. bar drift)."""
    spec = metric_specs().get(metric) if metric else None
    return spec.series if spec is not None else ()


def joints_for_metric(metric: str | None) -> tuple[str, ...]:
    """Joints (without side, or "bar") to ring for a metric (its spec's ``joints``)."""
    spec = metric_specs().get(metric) if metric else None
    return spec.joints if spec is not None else ()


def is_bar_metric(metric: str | None) -> bool:
    """True for metrics about the bar path (drawn as the bar marker / bar path, not an arc)."""
    return "bar" in joints_for_metric(metric)


def threshold_on_series(
    analysis: Analysis, finding: Finding, *, at_frame: bool = False
) -> tuple[str, float] | None:
    """(series, limit) when a finding's threshold can be drawn on an angle series' own scale.

    Only when the finding is in degrees, its metric maps to exactly one series, and its value is
    the metric as the analysis measured it (a rule may compare a transformed value, e.g. the
    lean-back ``-torso_lean``; such a threshold is not on the series' scale). ``at_frame``: also
    require the series at the finding's frame to equal that value (within 0.5°), i.e. the finding
    is located where it was measured (a "smallest elbow angle during the pull" reported at the
    knee-pass frame is not, so its limit is not drawn at the elbow there).
    """
    series = series_for_metric(finding.metric)
    if len(series) != 1 or finding.unit not in ("deg", "°"):
        return None
    if finding.value is None or finding.threshold is None or not math.isfinite(finding.threshold):
        return None
    rep = next((r for r in analysis.pulls if r.number == finding.rep), None)
    measured = rep.metrics.get(finding.metric) if rep is not None and finding.metric else None
    if measured is None or not math.isfinite(measured):
        return None
    if abs(float(measured) - float(finding.value)) > 1e-6 * max(1.0, abs(measured)) + 1e-6:
        return None
    if at_frame:
        if finding.frame_index is None:
            return None
        here = series_value(analysis, series[0], sample_for_frame(analysis, finding.frame_index))
        if not math.isfinite(here) or abs(here - float(finding.value)) > 0.5:
            return None
    return series[0], float(finding.threshold)


@dataclass(frozen=True)
class Emphasis:
    """What findings highlight on a frame: arc colours, limits beside values, ringed joints."""

    #: series -> verdict role: "fault" / "note" / "warning" / "ok" (a counted fault wins).
    status: dict[str, str]
    #: series -> limit in degrees, on the series' scale (see :func:`threshold_on_series`).
    thresholds: dict[str, float]
    #: joint (without side) or "bar" -> verdict role.
    joints: dict[str, str]
    #: angle series the findings refer to (drawn even if not drawn by default, e.g. elbow).
    angles: tuple[str, ...]


#: Which role a highlight shows when several findings share it: a counted fault, then a note or
#: warning, then ok.
_ROLE_RANK: dict[str, int] = {FAULT: 3, NOTE: 2, WARNING: 2, OK: 1}


def _outranks(role: str, old: str | None) -> bool:
    return old is None or _ROLE_RANK.get(role, 0) > _ROLE_RANK.get(old, 0)


def emphasis_for(analysis: Analysis, findings: Sequence[Finding]) -> Emphasis:
    """Collect the highlights of ``findings`` (statuses other than fault/ok are ignored).

    Angle arcs are coloured, and limits shown, only for findings located at their frame
    (:func:`threshold_on_series` with ``at_frame``); other findings ring their joints (heel,
    hips and shoulders, bar) or are left to the caption.
    """
    status: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    joints: dict[str, str] = {}
    angles: list[str] = []
    for f in findings:
        if f.status not in (FAULT, OK):
            continue
        angles.extend(series_for_metric(f.metric))
        role = verdict_role(f)  # red only for a fault the verdict counts
        located = threshold_on_series(analysis, f, at_frame=True)
        if located is not None:
            series, limit = located
            if _outranks(role, status.get(series)):
                status[series] = role
            if f.is_fault or series not in thresholds:
                thresholds[series] = limit
        for joint in joints_for_metric(f.metric):
            if _outranks(role, joints.get(joint)):
                joints[joint] = role
    return Emphasis(status, thresholds, joints, tuple(dict.fromkeys(angles)))


def _finite(p: np.ndarray) -> bool:
    # scalar math: called tens of times per clip frame on 2-element points, where numpy's
    # per-call overhead dominated the drawing time
    return all(math.isfinite(v) for v in np.ravel(p).tolist())


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


@lru_cache(maxsize=2)
def _edge_groups(side: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """Skeleton edges of the ``side`` facing the camera ("near"), across the body ("centre"), and the rest ("far")."""
    near = f"{side}_"
    names = {i: n for n, i in LANDMARK.items()}
    groups: dict[str, list[tuple[int, int]]] = {"far": [], "centre": [], "near": []}
    for a, b in SKELETON_EDGES:
        na, nb = names[a], names[b]
        if na.startswith(near) and nb.startswith(near):
            groups["near"].append((a, b))
        elif na.split("_")[0] != nb.split("_")[0]:
            groups["centre"].append((a, b))
        else:
            groups["far"].append((a, b))
    return {k: tuple(v) for k, v in groups.items()}


def draw_skeleton(img_bgr: np.ndarray, kp_px: np.ndarray, side: str, style: Style) -> np.ndarray:
    """Draw the skeleton of one (33, 2) keypoint array in place: far side thin, near side bold.

    Edges with a NaN end are skipped. Returns ``img_bgr``.
    """
    groups = _edge_groups(side)
    finite = np.isfinite(kp_px).all(axis=1).tolist()
    specs = (
        ("far", st.FAR, max(1, style.line_px // 2), 0),
        ("centre", st.CENTRE, max(1, (2 * style.line_px) // 3), style.outline_px - style.line_px // 2),
        ("near", st.NEAR, style.line_px, style.outline_px),
    )
    for group, colour, width, outline in specs:
        segs = [(kp_px[a], kp_px[b]) for a, b in groups[group] if finite[a] and finite[b]]
        if outline > width:
            for p, q in segs:
                cv2.line(img_bgr, _pt(p), _pt(q), st.OUTLINE, outline, cv2.LINE_AA)
        for p, q in segs:
            cv2.line(img_bgr, _pt(p), _pt(q), colour, width, cv2.LINE_AA)
    for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index"):
        p = kp_px[LANDMARK[f"{side}_{joint}"]]
        if _finite(p):
            cv2.circle(img_bgr, _pt(p), style.joint_px + 2, st.OUTLINE, -1, cv2.LINE_AA)
            cv2.circle(img_bgr, _pt(p), style.joint_px, st.NEAR, -1, cv2.LINE_AA)
    return img_bgr


def _direction_deg(frm: np.ndarray, to: np.ndarray) -> float:
    return math.degrees(math.atan2(float(to[1] - frm[1]), float(to[0] - frm[0])))


@dataclass(frozen=True)
class ArcLabel:
    """Where an angle's read-out wants to go: the vertex, bisector direction and arc radius."""

    vertex: tuple[float, float]
    bisector_deg: float
    radius_px: int
    text: str
    colour: BGR


def draw_angle_arc(
    img_bgr: np.ndarray,
    vertex: np.ndarray,
    end_a: np.ndarray,
    end_c: np.ndarray | None,
    text: str,
    colour: BGR,
    style: Style,
    *,
    emphasise: bool = False,
) -> ArcLabel | None:
    """Draw the arc of the angle A-vertex-C (C None: from the upward vertical) in place.

    Returns where its label should go (drawn later by :func:`place_labels`), or None when a
    point is missing.
    """
    if not (_finite(vertex) and _finite(end_a)) or (end_c is not None and not _finite(end_c)):
        return None
    da = _direction_deg(vertex, end_a)
    seg = float(np.hypot(*(end_a - vertex)))
    if end_c is None:
        dc = -90.0  # straight up in image coordinates
        cv2.line(
            img_bgr,
            _pt(vertex),
            _pt(vertex + np.array([0.0, -0.8 * seg])),
            colour,
            max(1, style.arc_px // 2),
            cv2.LINE_AA,
        )
    else:
        dc = _direction_deg(vertex, end_c)
        seg = min(seg, float(np.hypot(*(end_c - vertex))))
    sweep = (dc - da) % 360.0
    start, stop = (da, da + sweep) if sweep <= 180 else (dc, dc + 360.0 - sweep)
    r = style.arc_radius_px(seg) * (1.5 if end_c is None else 1.0)
    r = int(r * (1.15 if emphasise else 1.0))
    width = style.arc_px * (2 if emphasise else 1)
    centre = _pt(vertex)
    cv2.ellipse(img_bgr, centre, (r, r), 0, start, stop, st.OUTLINE, width + 3, cv2.LINE_AA)
    cv2.ellipse(img_bgr, centre, (r, r), 0, start, stop, colour, width, cv2.LINE_AA)
    return ArcLabel((float(vertex[0]), float(vertex[1])), (start + stop) / 2.0, r, text, colour)


def place_labels(
    img_bgr: np.ndarray,
    labels: list[ArcLabel],
    style: Style,
    *,
    size_px: int | None = None,
    avoid_px: np.ndarray | None = None,
) -> None:
    """Draw angle read-outs beside their arcs (outside, along the bisector), avoiding each other
    and the points ``avoid_px`` (N, 2) (joints, the bar marker) where possible."""
    size = size_px or style.font_px
    h, w = img_bgr.shape[:2]
    placed: list[tuple[int, int, int, int]] = []
    obstacles: list[tuple[int, int, int, int]] = []
    r = style.joint_px + 4
    for p in [] if avoid_px is None else np.asarray(avoid_px, dtype=float).reshape(-1, 2):
        if _finite(p):
            obstacles.append((int(p[0]) - r, int(p[1]) - r, int(p[0]) + r, int(p[1]) + r))
    items: list[TextItem] = []
    pad = max(3, size // 6)
    for lab in labels:
        tw, th = st.text_size(lab.text, size, bold=True)
        ux, uy = math.cos(math.radians(lab.bisector_deg)), math.sin(math.radians(lab.bisector_deg))
        candidates = []
        for k in range(
            3
        ):  # inside the angle (along the bisector) first, then outside, a bit further each time
            for sign in (1.0, -1.0):
                candidates.append((sign * ux, sign * uy, lab.radius_px + (0.6 + 0.7 * k) * size))
        rects = []
        for dx, dy, dist in candidates:
            cx, cy = lab.vertex[0] + dx * dist, lab.vertex[1] + dy * dist
            # anchor the box so it grows away from the vertex
            x = cx - tw * (0.5 - 0.5 * dx)
            y = cy - th * (0.5 - 0.5 * dy)
            x = float(min(max(x, pad), max(pad, w - tw - pad)))
            y = float(min(max(y, pad), max(pad, h - th - pad)))
            rects.append((int(x) - pad, int(y) - pad, int(x) + tw + pad, int(y) + th + pad))
        best = next((r for r in rects if not any(_overlap(r, o) for o in placed + obstacles)), None)
        if best is None:  # may cover a joint, never another label
            best = next((r for r in rects if not any(_overlap(r, o) for o in placed)), rects[0])
        assert best is not None
        placed.append(best)
        items.append(
            TextItem(
                (best[0] + pad, best[1] + pad),
                lab.text,
                size,
                lab.colour,
                True,
                box=st.PANEL,
                box_alpha=0.72,
                pad_px=pad,
            )
        )
    st.draw_texts(img_bgr, items)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def format_angle(label: str, value_deg: float, threshold: float | None = None) -> str:
    """Read-out text, e.g. ``"hip 142°"`` or ``"lean 68° (limit 60°)"``."""
    if threshold is None or not math.isfinite(threshold):
        return f"{label} {format_value(value_deg, 'deg')}"
    return (
        f"{label} {format_value(value_deg, 'deg', limit=threshold)} (limit {format_limit(threshold, 'deg')})"
    )


def displayed_series(analysis: Analysis, series: str, *, raw: bool = False) -> str:
    """The series actually shown for an angle: its 3-D ``*_world_deg`` variant when the metrics
    read that one (front / oblique view, see :func:`formcheck_core.biomech.metrics.angle_source`) and it
    exists, else ``series`` itself. Keeps pictures consistent with the numbers the rules judged."""
    body = analysis.body
    if body is None or not series.endswith("_deg") or angle_source(analysis.view) != "world":
        return series
    world = series[: -len("_deg")] + "_world_deg"
    return world if world in (body.raw if raw else body.smoothed) else series


def uses_world_angles(analysis: Analysis) -> bool:
    """True when the angles shown are the 3-D (world) ones, i.e. the view is not a side view."""
    return displayed_series(analysis, "hip_angle_deg") != "hip_angle_deg"


def series_value(analysis: Analysis, series: str, sample: int, *, raw: bool = False) -> float:
    """Value at ``sample`` of the smoothed (or ``raw``) series shown for ``series`` (NaN when missing)."""
    body = analysis.body
    if body is None:
        return float("nan")
    table = body.raw if raw else body.smoothed
    series = displayed_series(analysis, series, raw=raw)
    if series not in table or not 0 <= sample < len(table[series]):
        return float("nan")
    return float(table[series][sample])


#: Angle series drawn by default (elbow only when a finding refers to it or when asked).
DEFAULT_ANGLES: tuple[str, ...] = ("hip_angle_deg", "knee_angle_deg", "torso_lean_deg")


def draw_pose(
    frame_bgr: np.ndarray,
    analysis: Analysis,
    sample: int,
    *,
    findings: Sequence[Finding] = (),
    view: ViewBox | None = None,
    keypoints: np.ndarray | None = None,
    angles: Sequence[str] | None = None,
    bar: bool = True,
    style: Style | None = None,
    copy: bool = True,
    raw: bool = False,
) -> np.ndarray:
    """The frame with the pose of ``sample`` drawn on it: skeleton, angle arcs and read-outs, bar.

    ``frame_bgr``: the source frame, or its crop ``view.apply(frame)`` when ``view`` is given
    (keypoints are then mapped through ``view``). ``keypoints`` (33, 2) in source pixels override
    the sample's (e.g. interpolated between samples for video). ``angles``: series to draw
    (default hip, knee, torso lean, plus any a finding refers to). ``findings`` to show: their
    arcs turn red (fault) / green (ok), limits are shown beside values, and non-angle metrics
    ring their joints (heel, hips and shoulders, bar). Values are read from
    ``analysis.body.smoothed`` (``raw=True``: ``analysis.body.raw``) at ``sample``; a NaN value or
    a missing joint draws nothing.
    """
    img = frame_bgr.copy() if copy else frame_bgr
    style = style or Style.for_width(img.shape[1])
    kp_all = keypoints_px(analysis)
    if keypoints is None:
        if kp_all is None or not 0 <= sample < kp_all.shape[0]:
            return img
        keypoints = kp_all[sample]
    kp = view.map(keypoints) if view is not None else np.asarray(keypoints, dtype=float)
    side = visible_side(analysis)
    emph = emphasis_for(analysis, findings)
    draw_skeleton(img, kp, side, style)
    wanted = tuple(angles) if angles is not None else DEFAULT_ANGLES + emph.angles
    labels: list[ArcLabel] = []
    for spec in ANGLES:
        if spec.series not in wanted:
            continue
        value = series_value(analysis, spec.series, sample, raw=raw)
        if not math.isfinite(value):
            continue
        a_name, v_name, c_name = spec.joints
        a, v = kp[LANDMARK[f"{side}_{a_name}"]], kp[LANDMARK[f"{side}_{v_name}"]]
        c = None if c_name is None else kp[LANDMARK[f"{side}_{c_name}"]]
        s = emph.status.get(spec.series)
        colour = st.STATUS_COLOUR.get(s, st.ANGLE) if s else st.ANGLE
        text = format_angle(spec.label, value, emph.thresholds.get(spec.series))
        if _low_confidence_at(analysis, spec.series, sample, raw=raw):  # as the curves grey it
            text += LOW_CONFIDENCE_SUFFIX
            colour = colour if s else st.MUTED
        lab = draw_angle_arc(img, v, a, c, text, colour, style, emphasise=s == FAULT)
        if lab is not None:
            labels.append(lab)
    avoid = [kp[LANDMARK[f"{side}_{j}"]] for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
    for joint, s in emph.joints.items():
        if joint != "bar":
            _ring(img, kp[LANDMARK[f"{side}_{joint}"]], st.STATUS_COLOUR.get(s, st.MUTED), style)
    if bar:
        p = draw_bar_marker(img, analysis, sample, style, view=view)
        if p is not None:
            avoid.append(p)
            if "bar" in emph.joints:
                _ring(img, p, st.STATUS_COLOUR.get(emph.joints["bar"], st.MUTED), style)
    place_labels(img, labels, style, avoid_px=np.array(avoid))
    return img


def _low_confidence_at(analysis: Analysis, series: str, sample: int, *, raw: bool) -> bool:
    """Whether the angle ``series`` shown at ``sample`` rests on a low-confidence joint
    (:func:`~formcheck_core.biomech.quality.low_confidence_samples`; False when unknown)."""
    body, q = analysis.body, analysis.pose_quality
    if body is None or q is None:
        return False
    low = _low_samples(q, body.side, displayed_series(analysis, series, raw=raw))
    return low is not None and 0 <= sample < low.shape[0] and bool(low[sample])


@lru_cache(maxsize=16)
def _low_samples(q: PoseQuality, side: str, series: str) -> np.ndarray | None:
    """:func:`~formcheck_core.biomech.quality.low_confidence_samples`, once per clip (``PoseQuality``
    is frozen and hashed by identity; the clip asks for every frame's three or four angles)."""
    return low_confidence_samples(q, side, series)


def _ring(img_bgr: np.ndarray, p: np.ndarray, colour: BGR, style: Style) -> None:
    if _finite(p):
        r = 3 * style.joint_px
        cv2.circle(img_bgr, _pt(p), r, st.OUTLINE, style.arc_px + 3, cv2.LINE_AA)
        cv2.circle(img_bgr, _pt(p), r, colour, style.arc_px, cv2.LINE_AA)


def bar_point_px(analysis: Analysis, sample: int, *, raw: bool = False) -> np.ndarray:
    """(2,) bar proxy position (wrist midpoint) at ``sample`` in source pixels (NaN if missing)."""
    body = analysis.body
    src = None if body is None else (body.raw if raw else body.smoothed)
    if src is None or "bar_x_px" not in src or not 0 <= sample < len(src["bar_x_px"]):
        return np.array([np.nan, np.nan])
    return np.array([float(src["bar_x_px"][sample]), float(src["bar_y_px"][sample])])


def draw_bar_marker(
    img_bgr: np.ndarray, analysis: Analysis, sample: int, style: Style, *, view: ViewBox | None = None
) -> np.ndarray | None:
    """A filled disc at the bar proxy (wrist midpoint) position of ``sample``, in place.

    Returns the disc centre in picture pixels, or None when the bar position is missing.
    """
    p = bar_point_px(analysis, sample)
    if not _finite(p):
        return None
    q = view.map(p) if view is not None else p
    r = style.joint_px + 3
    cv2.circle(img_bgr, _pt(q), r + 3, st.OUTLINE, -1, cv2.LINE_AA)
    cv2.circle(img_bgr, _pt(q), r, st.BAR, -1, cv2.LINE_AA)
    return q
