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
from .rules.verdicts import verdict_role

SCHEMA_VERSION = 1


def json_safe(value: Any) -> Any:
    """JSON-safe copy: numpy -> Python, NaN/inf -> None (null), dataclasses -> dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
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
        "video": {**json_safe(analysis.video), "sha256": analysis.video_sha256},
        "lift": analysis.lift,
        "options": json_safe(analysis.options),
        "ok": analysis.ok,
        "warnings": list(analysis.warnings),
        "pose": {
            "samples": analysis.pose.n_samples,
            "samples_with_pose": int(analysis.pose.detected.sum()),
            "model_id": analysis.pose.model_id,
            "running_mode": analysis.pose.running_mode,
        },
        "view": json_safe(analysis.view),
        "scene_cut_frames": list(analysis.scene_cut_frames),
        "side": body.side if body else None,
        "body_length_px": json_safe(body.body_length_px) if body else None,
        "lifter_height_cm": analysis.lifter_height_cm,
        "status": analysis.status,
        "reps_found": len(analysis.reps),
        "partial_pulls_found": len(analysis.partial_pulls),
        # each pull with its name in words ("rep 2", "partial pull 1"), as every view names it
        "reps": [{"name": analysis.pull_label(rep.number), **json_safe(rep)} for rep in analysis.reps],
        "partial_pulls": [
            {"name": analysis.pull_label(rep.number), **json_safe(rep)} for rep in analysis.partial_pulls
        ],
        # each finding with how it counts toward the verdict (derived: rules.verdicts.verdict_role)
        "findings": [{**json_safe(f), "verdict_role": verdict_role(f)} for f in analysis.findings],
        "rule_errors": [json_safe(e) for e in analysis.rule_errors],
        "verdicts": [json_safe(v) for v in analysis.verdicts],
        "metric_definitions": {
            **METRICS,
            **{n: d["description"] for n, d in analysis.options.get("plugin_metrics", {}).items()},
        },
    }
    if cues is not None:
        out["cues"] = [json_safe(c) for c in cues]
    if coaching is not None:
        out["coaching"] = list(coaching)
    if include_series and body is not None:
        out["series"] = {
            "time_s": json_safe(body.time_s),
            "frame_index": json_safe(body.frame_index),
            "filter": body.filter_note,
            "smoothed": json_safe(dict(body.smoothed)),
            "raw": json_safe(dict(body.raw)),
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
