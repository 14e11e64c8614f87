"""Back profile from a person segmentation mask: how far the dorsal outline bows away from straight.

MediaPipe's keypoints have no spine points, but the person mask has the outline of the back. For
one frame, :func:`back_profile` takes the mask and the shoulder, hip and knee positions (pixels of
the mask's frame) and samples the **dorsal edge**: at fixed fractions of the hip->shoulder line it
walks perpendicular to that line, on the side away from the knee (the back; arms, bar and plates
hang on the other side), to where the mask ends. From those edge points:

* ``back_flexion_rel``: how far the edge bows out of the back, in torso lengths (hip->shoulder
  distance): a parabola is fitted to the edge (least squares) and its largest distance from its
  chord (the straight line between its ends, at mid-span) is taken. 0 for a flat or arched
  back; about 0.05-0.07 for a visibly rounded one. (``deviation_rel`` keeps each raw edge
  point's distance from the raw chord, for drawing.)
* ``back_angle_deg``: the angle between straight lines fitted to the lower and upper halves of the
  edge; positive = bent like a rounded back (convex outline), negative = arched (concave).
* ``mask_confidence`` (0-1): the share of samples that found an edge times the mean contrast of
  the mask across it (1 = a crisp 0->1 step; loose clothing, motion blur and a person who blends
  into the background give soft, low-contrast edges).

Facing either way works: the back side is chosen from the knee, not from image left/right.
NaN handling: a sample whose start point is off the mask or that finds no edge within reach is
NaN and skipped; with fewer than :data:`MIN_VALID_SHARE` of the samples valid, or a torso shorter
than :data:`MIN_TORSO_PX`, every number is NaN. Pure numpy; the mask is never stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Fractions of the hip->shoulder line (0 = hip, 1 = shoulder) where the dorsal edge is sampled,
#: every 0.05. The span starts level with the hip joint so that it covers the whole lumbar spine
#: (lower-back rounding shows there first: the lordosis between sacrum and mid-back flattens and
#: turns convex); it stops below the shoulder blade/neck (above ~0.9 the outline turns toward the
#: head). A span starting at 0.2 missed most lower-back rounding: on the dev clips it read clearly
#: rounded backs at about half their bow (``scripts/evaluate_rules.py``).
FRACTIONS: tuple[float, ...] = tuple(round(float(f), 4) for f in np.linspace(0.0, 0.9, 19))
#: Mask probability taken as the body's edge.
EDGE_LEVEL = 0.5
#: Farthest the edge is searched from the hip->shoulder line, torso lengths.
MAX_REACH_REL = 0.6
#: The mask must stay below EDGE_LEVEL for this long (torso lengths) past a crossing for it to be
#: the edge: a thin gap between clothes and skin is stepped over.
MIN_GAP_REL = 0.04
#: Contrast is read this far (torso lengths) inside and outside the edge.
CONTRAST_REL = 0.04
#: Fewer valid samples than this share -> every number NaN.
MIN_VALID_SHARE = 0.6
#: Shorter torsos than this (pixels) are too small to read an outline from.
MIN_TORSO_PX = 20.0
#: Below this |knee offset| from the torso line (torso lengths) the knee cannot tell front from
#: back (standing upright); ``facing_sign`` decides instead.
MIN_KNEE_OFFSET_REL = 0.1


@dataclass(frozen=True, eq=False)
class BackProfile:
    """The dorsal outline of one frame and the numbers read from it (see the module docstring).

    ``edge_xy_px`` (K, 2) are the edge points in the mask's pixels (NaN where no edge was found),
    at ``fractions`` of the hip->shoulder line; ``deviation_rel`` (K,) is each point's signed
    distance from the chord, outward (away from the body) positive, in torso lengths.
    ``back_normal`` is the unit vector pointing out of the back.
    """

    fractions: np.ndarray
    edge_xy_px: np.ndarray
    deviation_rel: np.ndarray
    back_flexion_rel: float
    back_angle_deg: float
    mask_confidence: float
    torso_length_px: float
    back_normal: np.ndarray

    @property
    def valid(self) -> bool:
        return math.isfinite(self.back_flexion_rel)


def _bilinear(mask: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Mask values at float pixel positions ``xy`` (N, 2); 0 outside the frame."""
    h, w = mask.shape
    x, y = xy[:, 0], xy[:, 1]
    inside = (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1)
    xc, yc = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    x0, y0 = np.floor(xc).astype(int), np.floor(yc).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = xc - x0, yc - y0
    top = mask[y0, x0] * (1 - fx) + mask[y0, x1] * fx
    bot = mask[y1, x0] * (1 - fx) + mask[y1, x1] * fx
    return np.where(inside, top * (1 - fy) + bot * fy, 0.0)


def _nan_profile(fr: np.ndarray, length: float, normal: np.ndarray) -> BackProfile:
    k = fr.size
    return BackProfile(
        fr, np.full((k, 2), np.nan), np.full(k, np.nan), math.nan, math.nan, 0.0, length, normal
    )


def back_normal(
    shoulder_xy: np.ndarray, hip_xy: np.ndarray, knee_xy: np.ndarray, facing_sign: int | None = None
) -> np.ndarray | None:
    """Unit vector perpendicular to hip->shoulder, pointing out of the back; None if undecidable.

    The back is the side away from the knee. When the knee lies nearly on the torso line
    (standing tall), ``facing_sign`` (+1 = lifter faces image-right) decides: the back points
    against the facing direction.
    """
    axis = np.asarray(shoulder_xy, float) - np.asarray(hip_xy, float)
    length = float(np.hypot(*axis))
    if not math.isfinite(length) or length == 0:
        return None
    u = axis / length
    n = np.array([-u[1], u[0]])
    off = float(np.dot(np.asarray(knee_xy, float) - hip_xy, n)) / length
    if math.isfinite(off) and abs(off) >= MIN_KNEE_OFFSET_REL:
        return -n if off > 0 else n
    if facing_sign in (1, -1):
        return n if n[0] * facing_sign < 0 else -n
    return None


def back_profile(
    mask: np.ndarray,
    shoulder_xy: np.ndarray,
    hip_xy: np.ndarray,
    knee_xy: np.ndarray,
    *,
    facing_sign: int | None = None,
    fractions: tuple[float, ...] = FRACTIONS,
) -> BackProfile:
    """The dorsal outline of the person in ``mask`` (H, W float in [0, 1]) and its bend.

    ``shoulder_xy``, ``hip_xy``, ``knee_xy``: (x, y) in the mask's pixels (use the midpoint of the
    left and right landmarks, or the near side's). ``facing_sign`` breaks the tie when the knee is
    in line with the torso. Returns NaN numbers (``valid`` False) when the outline cannot be read.
    """
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    sh, hip, knee = (np.asarray(p, float).reshape(2) for p in (shoulder_xy, hip_xy, knee_xy))
    fr = np.asarray(fractions, float)
    length = float(np.hypot(*(sh - hip)))
    normal = back_normal(sh, hip, knee, facing_sign)
    if normal is None or not np.isfinite([*sh, *hip, *knee]).all() or length < MIN_TORSO_PX:
        return _nan_profile(fr, length if math.isfinite(length) else math.nan, np.full(2, np.nan))
    u = (sh - hip) / length
    step = np.arange(0.0, MAX_REACH_REL * length, 1.0)  # 1 px steps outward
    gap = max(2, round(MIN_GAP_REL * length))
    band = max(2, round(CONTRAST_REL * length))
    edges = np.full((fr.size, 2), np.nan)
    offsets = np.full(fr.size, np.nan)
    contrast = np.zeros(fr.size)
    # Every fraction's walk at once: (F, S) mask values along the F perpendiculars.
    starts = hip[None, :] + (fr * length)[:, None] * u[None, :]
    walks = starts[:, None, :] + (step[:, None] * normal[None, :])[None, :, :]
    all_vals = _bilinear(mask, walks.reshape(-1, 2)).reshape(fr.size, step.size)
    below_all = all_vals < EDGE_LEVEL
    # First crossing followed by `gap` samples outside the body (or the end of the reach): the
    # count of outside samples in the window [j, j + gap) equals the window's length.
    counts = np.concatenate([np.zeros((fr.size, 1), int), np.cumsum(below_all, axis=1)], axis=1)
    ends = np.minimum(np.arange(step.size) + gap, step.size)
    run = counts[:, ends] - counts[:, : step.size]
    hit_all = below_all & (run >= ends - np.arange(step.size))
    first = np.where(hit_all.any(axis=1), hit_all.argmax(axis=1), step.size)
    # Not off the mask at the torso line (where pose and mask disagree), and an edge within reach.
    rows = np.flatnonzero(~below_all[:, 0] & (first < step.size - 1))
    j = first[rows]
    a, b = all_vals[rows, j - 1], all_vals[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        offsets[rows] = np.where(a != b, step[j - 1] + (a - EDGE_LEVEL) / (a - b), step[j])
    edges[rows] = starts[rows] + offsets[rows][:, None] * normal[None, :]
    # Mean mask value just inside and just outside the edge (windows cut at the ends of the walk).
    whole = (j >= band) & (j + band <= step.size)
    if whole.any():
        at = j[whole][:, None] + np.arange(band)[None, :]
        r = rows[whole][:, None]
        inner = all_vals[r, at - band].mean(axis=1)
        outer = all_vals[r, at].mean(axis=1)
        contrast[rows[whole]] = np.clip(inner - outer, 0.0, 1.0)
    for i, k in zip(rows[~whole], j[~whole], strict=True):
        vals = all_vals[i]
        contrast[i] = float(np.clip(vals[max(0, k - band) : k].mean() - vals[k : k + band].mean(), 0.0, 1.0))
    ok = np.isfinite(offsets)
    if ok.sum() < max(3, MIN_VALID_SHARE * fr.size):
        return _nan_profile(fr, length, normal)
    # Torso coordinates of the edge: s along the torso, d out of the back (torso lengths).
    s, d = fr[ok], offsets[ok] / length
    chord = d[0] + (d[-1] - d[0]) * (s - s[0]) / (s[-1] - s[0])
    dev = np.full(fr.size, np.nan)
    dev[ok] = (d - chord) * math.cos(math.atan2(d[-1] - d[0], s[-1] - s[0]))  # perpendicular distance
    mid = 0.5 * (s[0] + s[-1])
    lower, upper = s <= mid, s >= mid
    if lower.sum() >= 2 and upper.sum() >= 2:
        slope_lo = np.polyfit(s[lower], d[lower], 1)[0]
        slope_hi = np.polyfit(s[upper], d[upper], 1)[0]
        angle = math.degrees(math.atan(slope_lo) - math.atan(slope_hi))
    else:
        angle = math.nan
    confidence = float(ok.mean() * contrast[ok].mean())
    # The bow of the least-squares parabola through the edge: its largest distance from its own
    # chord (at mid-span). Smoother than the largest single-point deviation: on the dev clips it
    # halves the frame-to-frame spread within a rep (relative to the spread between clips).
    a2, a1, _ = np.polyfit(s, d, 2)
    chord_slope = a2 * (s[0] + s[-1]) + a1
    bow = -a2 * (s[-1] - s[0]) ** 2 / 4 * math.cos(math.atan(chord_slope))
    return BackProfile(
        fractions=fr,
        edge_xy_px=edges,
        deviation_rel=dev,
        back_flexion_rel=float(max(0.0, bow)),
        back_angle_deg=angle,
        mask_confidence=confidence,
        torso_length_px=length,
        back_normal=normal,
    )
