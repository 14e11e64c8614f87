"""Draw the dorsal outline read from the person mask: the outline, its chord and the largest bow.

Used on stills whose findings read a back metric (``rounded_back``). The outline points come from
:attr:`Analysis.back` (source pixels, measured by the segmentation pass); nothing is drawn for a
sample the pass did not measure.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..biomech.back_series import BACK_METRICS
from ..findings import Finding
from ..result import Analysis
from ..vocabulary import FAULT, OK
from . import style as st
from .layout import ViewBox
from .style import Style


def reads_back(findings: Sequence[Finding]) -> bool:
    """True if a finding is about the back outline (its metric is a back metric)."""
    return any(f.metric in BACK_METRICS for f in findings)


def draw_back_outline(
    img_bgr: np.ndarray, analysis: Analysis, sample: int, view: ViewBox, style: Style, *, fault: bool
) -> bool:
    """Draw on ``img_bgr`` (the ``view`` crop) the sample's dorsal outline; True if drawn.

    The outline is a polyline through the edge points, the chord a thin line between its ends,
    and the point furthest from the chord gets a bar to the chord in the fault (or ok) colour.
    """
    back = analysis.back
    row = back.row(sample) if back is not None else None
    if back is None or row is None:
        return False
    pts = view.map(back.edge_xy_px[row])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 3:
        return False
    colour = st.STATUS_COLOUR.get(FAULT if fault else OK, st.ANGLE)
    thick = max(1, style.line_px)
    a, b = pts[0], pts[-1]
    cv2.polylines(img_bgr, [np.round(pts).astype(np.int32)], False, colour, thick + 1, cv2.LINE_AA)
    cv2.line(
        img_bgr, tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int)), st.MUTED, thick, cv2.LINE_AA
    )
    chord = b - a
    n = np.array([-chord[1], chord[0]]) / max(float(np.hypot(*chord)), 1e-9)
    dist = (pts - a) @ n
    i = int(np.argmax(np.abs(dist)))
    foot = pts[i] - dist[i] * n
    cv2.line(
        img_bgr,
        tuple(np.round(pts[i]).astype(int)),
        tuple(np.round(foot).astype(int)),
        colour,
        thick + 2,
        cv2.LINE_AA,
    )
    cv2.circle(img_bgr, tuple(np.round(pts[i]).astype(int)), thick + 3, colour, -1, cv2.LINE_AA)
    return True
