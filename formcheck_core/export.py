"""JSON export of an :class:`~formcheck_core.analysis.Analysis`. Units are in the field names.

NaN and infinities become ``null``. Series are included as lists aligned with ``time_s``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import Analysis
from .biomech.metrics import METRICS

SCHEMA_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy -> Python, NaN/inf -> None, dataclasses -> dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def to_dict(
    analysis: Analysis, *, include_series: bool = True, cues: Any = None, coaching: Any = None
) -> dict[str, Any]:
    """The analysis as plain JSON-ready data (see README "Reading the output").

    ``cues`` (a sequence of :class:`~formcheck_core.cues.Cue`) adds a ``cues`` list, each with its
    ``source`` and ``source_detail`` (rule / LLM model and quantisation / fallback and why);
    ``coaching`` (lines) adds how the cues were obtained."""
    body = analysis.body
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "video": {**_clean(analysis.video), "sha256": analysis.video_sha256},
        "lift": analysis.lift,
        "options": _clean(analysis.options),
        "ok": analysis.ok,
        "warnings": list(analysis.warnings),
        "pose": {
            "samples": analysis.pose.n_samples,
            "samples_with_pose": int(analysis.pose.detected.sum()),
            "model_id": analysis.pose.model_id,
            "running_mode": analysis.pose.running_mode,
        },
        "view": _clean(analysis.view),
        "side": body.side if body else None,
        "body_length_px": _clean(body.body_length_px) if body else None,
        "lifter_height_cm": analysis.lifter_height_cm,
        "reps_found": len(analysis.reps),
        "partial_pulls_found": len(analysis.partial_pulls),
        "reps": [_clean(rep) for rep in analysis.reps],
        "partial_pulls": [_clean(rep) for rep in analysis.partial_pulls],
        "findings": [_clean(f) for f in analysis.findings],
        "rule_errors": [_clean(e) for e in analysis.rule_errors],
        "verdicts": [_clean(v) for v in analysis.verdicts],
        "metric_definitions": {
            **METRICS,
            **{n: d["description"] for n, d in analysis.options.get("plugin_metrics", {}).items()},
        },
    }
    if cues is not None:
        out["cues"] = [_clean(c) for c in cues]
    if coaching is not None:
        out["coaching"] = list(coaching)
    if include_series and body is not None:
        out["series"] = {
            "time_s": _clean(body.time_s),
            "frame_index": _clean(body.frame_index),
            "filter": body.filter_note,
            "smoothed": _clean(dict(body.smoothed)),
            "raw": _clean(dict(body.raw)),
        }
    return out


def to_json(
    analysis: Analysis,
    *,
    include_series: bool = True,
    indent: int | None = 1,
    cues: Any = None,
    coaching: Any = None,
) -> str:
    """The analysis as a JSON string (``cues``/``coaching``: see :func:`to_dict`)."""
    data = to_dict(analysis, include_series=include_series, cues=cues, coaching=coaching)
    return json.dumps(data, indent=indent, allow_nan=False)


def write_json(
    analysis: Analysis,
    path: str | Path,
    *,
    include_series: bool = True,
    cues: Any = None,
    coaching: Any = None,
) -> Path:
    """Write :func:`to_json` to ``path`` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(analysis, include_series=include_series, cues=cues, coaching=coaching))
    return path
