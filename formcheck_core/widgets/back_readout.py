"""The back's rounding in the frame explorer's read-out, at the samples where the back was read.

The label and unit come from the metric registry (``MetricSpec`` of ``back_flexion_rel``), the
numbers from :func:`~formcheck_core.vocabulary.format_value` / ``format_limit``; the limit is the
one the rule judged the rep with (its finding on that metric). Pure functions of the analysis.
"""

from __future__ import annotations

import html
import math

from ..analysis import Analysis
from ..biomech.metrics import METRIC_SPECS
from ..render.curves import BACK_METRIC
from ..vocabulary import format_limit, format_value


def back_reading(analysis: Analysis, sample: int, rep: int | None) -> tuple[float, float]:
    """(``back_flexion_rel`` at ``sample`` in torso lengths, the limit of ``rep``'s finding on it);
    NaN where the pass did not measure that sample / without such a finding."""
    back = analysis.back
    row = back.row(sample) if back is not None else None
    value = float(back.back_flexion_rel[row]) if back is not None and row is not None else math.nan
    limits = [
        f.threshold
        for f in analysis.findings
        if f.metric == BACK_METRIC and f.rep == rep and f.threshold is not None
    ]
    return value, float(limits[0]) if limits else math.nan


def back_cell(analysis: Analysis, value: float, limit: float) -> str:
    """The read-out's table cell ("" when the clip has no back series): the frame's own value,
    "back flexion at this frame: 1.4% ..." -- the pull's reading is a median over its window,
    listed apart from it ("median over frames 40–58")."""
    if analysis.back is None or not len(analysis.back.sample):
        return ""
    spec = METRIC_SPECS[BACK_METRIC]
    shown = format_value(value, spec.unit, limit=limit) if math.isfinite(value) else "not measured here"
    if math.isfinite(value) and math.isfinite(limit):
        shown += f" (limit {format_limit(limit, spec.unit)})"
    return (
        f"<td class='fc-v-{BACK_METRIC}' data-value='{value:.4f}' data-limit='{limit:.4f}' "
        f"style='padding:0 0 0 12px'>{html.escape(spec.sample_label.lower())} at this frame: <b>{html.escape(shown)}</b></td>"
    )
