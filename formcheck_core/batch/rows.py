"""One clip -> its rows of the three tidy tables (:class:`ClipRows`), read from the analysis export.

The rows are derived from the very JSON ``formcheck analyze`` writes (:func:`formcheck_core.export.to_json`),
so a table cell and the clip's ``analysis.json`` can never disagree. Column names carry units like
the export's fields (``_deg``, ``_s``, ``_px``, ``_rel``); null / NaN = not measured, and beside
each metric ``<metric>_reason`` says why (the words every view uses, from ``Rep.unmeasured``).

Tables (one row per): ``clips`` -- clip (failed clips too, with their error); ``reps`` -- rep
(every metric and why it is missing, key-moment frames and times, the rep's verdict); ``findings`` -- rule x rep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..biomech.body import MOMENT_NAMES, NOT_MEASURABLE_PREFIX, MetricQuality, not_measurable_mark
from ..biomech.metrics import METRICS
from ..vocabulary import CLIP_STATUSES, FAULT, NOT_MEASURABLE, PARTIAL_PULL, clip_status
from .options import ClipOptions

#: Clip status (:data:`~formcheck_core.vocabulary.CLIP_STATUSES`): analysed with at least one
#: complete rep / only partial pulls (judged on what was seen) / no pull at all / could not be analysed.
STATUSES = CLIP_STATUSES
#: The error text of a clip with no usable lift (``formcheck analyze`` prints the same and exits 1).
NO_LIFT_ERROR = "no usable lift was measured (see warnings)"
#: ... and of a clip with only partial pulls (exit code 1 too: no complete rep was measured).
PARTIAL_ONLY_ERROR = f"no complete rep was measured (only {PARTIAL_PULL}s: judged on what was seen)"
#: Separator of several warnings in one cell.
WARNING_SEP = " | "

#: Column -> pandas dtype, in table order. ``reps`` also gets one float column per metric.
CLIP_COLUMNS: dict[str, str] = {
    "clip": "string",
    "path": "string",
    "sha256": "string",
    "status": "string",
    "error": "string",
    "error_type": "string",
    "exit_code": "Int64",
    "warnings": "string",
    "n_warnings": "Int64",
    "lift": "string",
    "view": "string",
    "view_confidence": "float64",
    "side": "string",
    "video_fps": "float64",
    "width_px": "Int64",
    "height_px": "Int64",
    "frames_header": "Int64",
    "rotation_deg": "Int64",
    "sample_fps": "float64",
    "pose_model": "string",
    "samples": "Int64",
    "samples_with_pose": "Int64",
    "reps": "Int64",
    "partial_pulls": "Int64",
    "faults": "Int64",
    "not_measurable": "Int64",
    "rule_errors": "Int64",
    "verdict": "string",
    "top_fault": "string",
    "elapsed_s": "float64",
}
REP_COLUMNS: dict[str, str] = {
    "clip": "string",
    "rep": "Int64",
    "complete": "boolean",
    "partial_reason": "string",
    "start_sample": "Int64",
    "end_sample": "Int64",
    **{c: t for m in MOMENT_NAMES for c, t in ((f"{m}_frame", "Int64"), (f"{m}_time_s", "float64"))},
    "verdict": "string",
    "top_fault": "string",
}
FINDING_COLUMNS: dict[str, str] = {
    "clip": "string",
    "rep": "Int64",
    "rule_id": "string",
    "status": "string",
    "severity": "string",
    # how the finding counts toward the verdict: fault / note / warning / ok / not_measurable
    "verdict_role": "string",
    "value": "float64",
    "threshold": "float64",
    "unit": "string",
    "metric": "string",
    "moment": "string",
    "frame_index": "Int64",
    "time_s": "float64",
    "message": "string",
    "cue": "string",
    "confidence": "float64",
    "quality": "string",
}
#: Metric columns of ``reps`` always present (plugin metrics add more).
METRIC_COLUMNS: tuple[str, ...] = tuple(METRICS)
#: Beside each metric column ``m``, ``m + REASON_SUFFIX``: why it has no value (null when it has one).
REASON_SUFFIX = "_reason"


def reason_column(metric: str) -> str:
    """The ``reps`` column that says why ``metric`` has no value ("left knee not visible")."""
    return f"{metric}{REASON_SUFFIX}"


#: ``reps`` metric columns in table order: each built-in metric, then why it is missing.
METRIC_AND_REASON_COLUMNS: tuple[str, ...] = tuple(c for m in METRIC_COLUMNS for c in (m, reason_column(m)))


@dataclass(frozen=True)
class ClipRows:
    """One clip's rows: ``clip`` (a row of ``clips``), ``reps`` and ``findings`` rows, the clip's
    ``analysis.json`` text (None when it failed) and ``runtime`` facts of the worker that ran it
    (``pid``, ``peak_rss_mib``: the worker process's peak resident memory so far, ``cpu_s``: CPU
    seconds of the worker process, all its threads, spent on this clip) and the ``notes`` the
    analysis gave on its pose pass (why a cached clip was posed again; the batch says them)."""

    clip: Mapping[str, Any]
    reps: tuple[Mapping[str, Any], ...] = ()
    findings: tuple[Mapping[str, Any], ...] = ()
    analysis_json: str | None = field(default=None, repr=False)
    runtime: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return self.clip["status"]

    def to_record(self) -> dict[str, Any]:
        """JSON-ready rows (without the analysis text)."""
        return {
            "clip": dict(self.clip),
            "reps": [dict(r) for r in self.reps],
            "findings": [dict(f) for f in self.findings],
            "runtime": dict(self.runtime),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ClipRows:
        return cls(
            clip=record["clip"],
            reps=tuple(record["reps"]),
            findings=tuple(record["findings"]),
            runtime=record.get("runtime", {}),
        )


def _only(columns: Mapping[str, str], row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row.get(c) for c in columns}


def clip_row(export: Mapping[str, Any], *, clip: str, path: str) -> dict[str, Any]:
    """The ``clips`` row of an analysed clip from its export (``analysis.json`` as a dict)."""
    video, pose, view, options = export["video"], export["pose"], export["view"] or {}, export["options"]
    set_verdict = next((v for v in export["verdicts"] if v["rep"] is None), None)
    status = [f["status"] for f in export["findings"]]
    row = {
        "clip": clip,
        "path": path,
        "sha256": video.get("sha256"),
        "status": (st := clip_status(len(export["reps"]), len(export.get("partial_pulls", ())))),
        "error": {"ok": None, "partial_only": PARTIAL_ONLY_ERROR}.get(st, NO_LIFT_ERROR),
        "exit_code": 0 if export["ok"] else 1,
        "warnings": WARNING_SEP.join(export["warnings"]) or None,
        "n_warnings": len(export["warnings"]),
        "lift": export["lift"],
        "view": view.get("view"),
        "view_confidence": view.get("confidence"),
        "side": export["side"],
        "video_fps": video["fps"],
        "width_px": video["width_px"],
        "height_px": video["height_px"],
        "frames_header": video["frame_count_header"],
        "rotation_deg": video["rotation_deg"],
        "sample_fps": options.get("fps"),
        "pose_model": pose["model_id"],
        "samples": pose["samples"],
        "samples_with_pose": pose["samples_with_pose"],
        "reps": len(export["reps"]),
        "partial_pulls": len(export.get("partial_pulls", ())),
        "faults": status.count(FAULT),
        "not_measurable": status.count(NOT_MEASURABLE),
        "rule_errors": len(export["rule_errors"]),
        "verdict": set_verdict["label"] if set_verdict else None,
        "top_fault": (set_verdict["top_finding"] or {}).get("rule_id") if set_verdict else None,
    }
    return _only(CLIP_COLUMNS, row)


def rep_rows(export: Mapping[str, Any], *, clip: str) -> list[dict[str, Any]]:
    """The ``reps`` rows: one per pull, complete reps (numbered 1..N) then partial pulls (N+1..,
    ``complete`` False, judged only by rules with ``Rule.partial_pulls``); fixed columns, then every metric (plugin metrics
    after the built-in ones)."""
    verdicts = {v["rep"]: v for v in export["verdicts"] if v["rep"] is not None}
    out = []
    pulls = sorted([*export["reps"], *export.get("partial_pulls", ())], key=lambda r: r["number"])
    for rep in pulls:
        verdict = verdicts.get(rep["number"])
        row: dict[str, Any] = {
            "clip": clip,
            "rep": rep["number"],
            "complete": rep["complete"],
            "partial_reason": rep.get("partial_reason") or None,
            "start_sample": rep["start_sample"],
            "end_sample": rep["end_sample"],
            "verdict": verdict["label"] if verdict else None,
            "top_fault": (verdict["top_finding"] or {}).get("rule_id") if verdict else None,
        }
        for name, moment in rep["moments"].items():
            row[f"{name}_frame"] = moment["frame_index"]
            row[f"{name}_time_s"] = moment["time_s"]
        row = {**_only(REP_COLUMNS, row), **{k: v for k, v in row.items() if k not in REP_COLUMNS}}
        metrics = rep["metrics"]
        plugin_metrics = sorted(m for m in metrics if m not in row and m not in METRIC_COLUMNS)
        for m in (*METRIC_COLUMNS, *plugin_metrics):
            row[m] = metrics.get(m)
            row[reason_column(m)] = unmeasured_reason(rep, m)
        out.append(row)
    return out


def unmeasured_reason(rep: Mapping[str, Any], metric: str) -> str | None:
    """Why ``metric`` of an exported rep (``reps[]`` of ``analysis.json``) has no value, as
    :meth:`~formcheck_core.biomech.body.Rep.unmeasured_mark` says it without "not measurable: "
    (read back from the rep's ``unmeasured`` and ``metric_quality``); None when it has a value or
    no reason is known."""
    if rep["metrics"].get(metric) is not None:
        return None
    q = (rep.get("metric_quality") or {}).get(metric)
    quality = MetricQuality(**{k: v for k, v in q.items() if k != "mark"}) if q else None
    mark = not_measurable_mark(quality, (rep.get("unmeasured") or {}).get(metric) or "")
    return mark.removeprefix(NOT_MEASURABLE_PREFIX) or None


def finding_rows(export: Mapping[str, Any], *, clip: str) -> list[dict[str, Any]]:
    """The ``findings`` rows: one per rule x rep, in the analysis's order."""
    return [_only(FINDING_COLUMNS, {**f, "clip": clip}) for f in export["findings"]]


def rows_from_export(export: Mapping[str, Any], *, clip: str, path: str) -> ClipRows:
    """All three row sets of an analysed clip from its export (``json.loads`` of ``analysis.json``)."""
    return ClipRows(
        clip=clip_row(export, clip=clip, path=path),
        reps=tuple(rep_rows(export, clip=clip)),
        findings=tuple(finding_rows(export, clip=clip)),
    )


def error_rows(exc: BaseException, *, clip: str, path: str, sha256: str | None = None) -> ClipRows:
    """The ``clips`` row of a clip that could not be analysed; ``error`` is the message
    ``formcheck analyze`` prints for the same failure, ``exit_code`` the code it exits with."""
    from ..errors import FormcheckError

    if isinstance(exc, FormcheckError):
        message, code = str(exc), exc.exit_code
    else:
        message, code = f"internal error: {type(exc).__name__}: {exc}", 70
    row = {
        "clip": clip,
        "path": path,
        "sha256": sha256,
        "status": "error",
        "error": message,
        "error_type": type(exc).__name__,
        "exit_code": code,
        "n_warnings": 0,
    }
    return ClipRows(clip=_only(CLIP_COLUMNS, row))


def analyze_clip_rows(
    path: str | Path,
    options: ClipOptions | None = None,
    *,
    clip: str | None = None,
    report_dir: str | Path | None = None,
) -> ClipRows:
    """Analyse one clip and return its rows of the three tables; never raises for a bad clip.

    A clip that cannot be analysed gives one ``clips`` row with the error (``status`` "error");
    one with only partial pulls "partial_only", one with no usable lift "no_lift". ``clip``: its name in the tables (default:
    the file stem). ``report_dir``: also render the HTML report there (the rule cues; a failure
    to render is added to the warnings). ``elapsed_s`` in the row is this call's wall time.
    """
    from ..analysis import analyze
    from ..coach import deterministic_cues
    from ..export import to_json

    options = options or ClipOptions()
    clip = clip or Path(path).stem
    start, cpu0 = time.perf_counter(), time.process_time()
    notes: list[str] = []
    try:
        analysis = analyze(path, **options.analyze_kwargs(), progress=False, notes=notes.append)
        cues = deterministic_cues(analysis)
        text = to_json(analysis, cues=cues)  # as `formcheck analyze` without an LLM: the rule cues
        rows = rows_from_export(json.loads(text), clip=clip, path=str(path))
    except Exception as exc:  # every failure becomes the clip's row; KeyboardInterrupt still stops
        rows = error_rows(exc, clip=clip, path=str(path))
        return _finished(rows, start, cpu0, notes)
    if report_dir is not None:
        try:
            from ..render.report import write_report

            write_report(analysis, cues, report_dir, clip=False)
        except Exception as exc:
            note = f"report not rendered: {type(exc).__name__}: {exc}"
            warnings = WARNING_SEP.join(w for w in (rows.clip["warnings"], note) if w)
            rows = ClipRows(
                clip={**rows.clip, "warnings": warnings, "n_warnings": rows.clip["n_warnings"] + 1},
                reps=rows.reps,
                findings=rows.findings,
            )
    return _finished(
        ClipRows(clip=rows.clip, reps=rows.reps, findings=rows.findings, analysis_json=text),
        start,
        cpu0,
        notes,
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB: ``VmHWM`` from ``/proc/self/status`` (the
    high-water mark of this process image), else ``ru_maxrss`` (which on Linux also carries a
    spawning parent's peak over into the child, so a big parent inflates it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _finished(rows: ClipRows, start: float, cpu0: float, notes: Sequence[str] = ()) -> ClipRows:
    import os

    rss = peak_rss_mib()
    return ClipRows(
        clip={**rows.clip, "elapsed_s": round(time.perf_counter() - start, 3)},
        reps=rows.reps,
        findings=rows.findings,
        analysis_json=rows.analysis_json,
        runtime={
            "pid": os.getpid(),
            "peak_rss_mib": round(rss, 1),
            "cpu_s": round(time.process_time() - cpu0, 3),
        },
        notes=tuple(notes),
    )
