"""Prompts: the system prompts and the structured data blocks built from an :class:`Analysis`.

Each data block is a dict (:func:`coaching_data`, :func:`flagging_data`) with every number rounded
the way the model sees it, in the unit every view shows (angles 0.1°, body-length ratios 0.001,
pixels 1, seconds 0.01, the back's flexion 0.1 % of torso length: 7.4, never 0.074), rendered
as compact text (:func:`render_data_block`: a metric table with one row per metric and one column
per rep, then findings or series summaries). The grounding check compares the model's numbers
with exactly the dict's values (:func:`formcheck_core.llm.grounding.reference_values`). Long sets
get a shorter rendering (:func:`fit_prompt`) so the answer still fits the context window.

Long because the coaching and the flagging prompts share their data blocks and rounding, which
the grounding check relies on; splitting them would let the two drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pluggy

from ..biomech.body import NOT_MEASURABLE_PREFIX
from ..biomech.metric_spec import MetricSpec
from ..plugins import collect_rules, metric_specs
from ..rules.verdicts import verdict_role
from ..vocabulary import (
    FAULT,
    NOT_MEASURABLE,
    NOTE,
    OK,
    ROLE_WORDS,
    WARNING,
    data_decimals,
    display_scale,
    offset_from,
    relative_to_moment,
    unit_of,
    with_unit,
)

COACH_SYSTEM_PROMPT = """\
You are an experienced strength coach. You receive measurements of one lifter's set, taken from \
a video by pose estimation, and you give the lifter 3 to 5 coaching cues, the most important first.

How to write each cue:
- One short instruction in plain gym language the lifter can use on the next set \
(like "Push the floor away", "Keep the bar against your legs", "Squeeze your glutes to finish"). \
No anatomy lectures, no jargon.
- Tie it to one measured number: set "metric" to the metric it is about and "rep" to the rep \
(null if it is about the whole set), and quote that number in "why" exactly as it appears in the data, \
with its unit.
- Quote only numbers that appear in the data. Never invent measurements, percentages, distances or targets. \
If you give a target, use a threshold from the findings; never give the lifter's own measured value as the target.
- Every number in a cue belongs to that cue's metric and rep (its value, its threshold, or the gap between \
them), with the sign shown; never put another metric's number in it. The advice must fix the finding \
(a bent-arms fault needs straighter arms), and a fault is never "fine".
- If the cue is about a rule finding, set "rule_id" to it; otherwise null.

How to choose and order the cues:
- Findings with status "fault" come first, highest severity first; a fault seen in several reps \
before a one-off.
- Never contradict the findings: do not ask the lifter to fix something whose finding is "ok", \
and do not cue anything marked "not_measurable".
- If the view notes say a number is unreliable from this camera angle, do not build a cue on it.
- If there is no fault, give cues that keep what works, each still tied to a number.

Answer only with JSON: {"cues": [{"priority": 1, "cue": "...", "why": "...", "metric": "...", \
"rep": 1, "rule_id": "..."}]}"""

FLAG_SYSTEM_PROMPT_HEAD = """\
You are an experienced strength coach judging deadlift form from measurements taken from a video \
by pose estimation. You receive raw per-rep measurements and summaries of the body-angle series. \
Decide which of these faults are present:
"""
FLAG_SYSTEM_PROMPT_TAIL = """
Use your own judgement of what is normal for the lift; there are no thresholds. Flag a fault only \
when the numbers show it; if a number is missing or the view makes it unreliable, do not flag it. \
For each fault give the rep (null if it is about the whole set) and a one-sentence reason quoting \
the numbers you used, exactly as they appear in the data. If nothing is wrong, answer with an empty list.
Answer only with JSON: {"flags": [{"flag": "...", "rep": 1, "reason": "..."}]}"""


def flag_vocabulary(pm: pluggy.PluginManager | None = None) -> dict[str, str]:
    """The faults the LLM may flag: every loaded rule's id -> its ``flag_description``."""
    return {rid: lr.rule.flag_description for rid, lr in collect_rules(pm)[0].items()}


def flag_system_prompt(vocabulary: Sequence[str]) -> str:
    """The LLM-only flagging prompt for ``vocabulary`` (rule ids; described by the loaded rules)."""
    described = flag_vocabulary()
    lines = [f"- {v}: {described.get(v, v.replace('_', ' '))}" for v in vocabulary]
    return FLAG_SYSTEM_PROMPT_HEAD + "\n".join(lines) + "\n" + FLAG_SYSTEM_PROMPT_TAIL


# --- rounding --------------------------------------------------------------------------------


def rounded(value: Any, decimals: int) -> float | int | None:
    """``value`` rounded for the prompt; None for missing/NaN/inf."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    r = round(v, decimals)
    return int(r) if decimals == 0 else (0.0 if r == 0 else r)


def metric_unit(name: str, specs: Mapping[str, MetricSpec] | None = None) -> str:
    """A metric's unit: its spec's (``torso_lengths`` for the back; ``specs`` default: every
    registered metric's), else from its name's suffix."""
    spec = (metric_specs() if specs is None else specs).get(name)
    return spec.unit if spec is not None else unit_of(name)


def _shown(value: Any, unit: str, decimals: int) -> float | int | None:
    """``value`` in ``unit``'s display scale (a percentage for torso lengths: 0.074 -> 7.4, as every
    view shows it), rounded to ``decimals``."""
    v = _num_or_none(value)
    return None if v is None else rounded(v * display_scale(unit), decimals)


def _num_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _metric_value(name: str, value: Any, specs: Mapping[str, MetricSpec]) -> Any:
    spec = specs.get(name)
    if spec is not None and spec.kind == "flag":
        v = rounded(value, 0)
        return None if v is None else bool(v)
    unit = metric_unit(name, specs)
    return _shown(value, unit, spec.data_decimals if spec is not None else data_decimals(unit))


def _metric_units(analysis, specs: Mapping[str, MetricSpec]) -> dict[str, str]:
    """Metrics whose unit is not the one their name's suffix says (``back_flexion_rel``:
    ``torso_lengths``, shown as % of torso length), name -> unit: the data block names their unit,
    and the grounding check reads it from here."""
    names = dict.fromkeys(n for r in analysis.pulls for n in r.metrics)
    return {n: u for n in names if (u := metric_unit(n, specs)) != unit_of(n)}


# --- data blocks -----------------------------------------------------------------------------


def _view(analysis) -> dict | None:
    view = analysis.view
    if view is None:
        return None
    return {"view": view.view, "confidence": rounded(view.confidence, 2), "notes": list(view.notes)}


def _metrics(rep, specs: Mapping[str, MetricSpec]) -> dict:
    out = {}
    for name, value in rep.metrics.items():
        v = _metric_value(name, value, specs)
        if v is not None:
            out[name] = v
    return out


def _measures(rep, specs: Mapping[str, MetricSpec]) -> dict:
    """A pull's ``metrics`` (the values) and, when some have none, ``not_measurable``: why, per
    metric, in the words every view uses (``Rep.unmeasured_reasons``)."""
    d: dict[str, Any] = {"metrics": _metrics(rep, specs)}
    if why := {n: w for n, w in rep.unmeasured_reasons().items() if n not in d["metrics"]}:
        d["not_measurable"] = why
    return d


def _finding(f, rep=None) -> dict:
    """One finding in the data; ``rep`` (its pull) tells a value read at its moment's own frame
    from one read off it: ``"moment_offset_s"`` (the reading's seconds from the moment, negative =
    before; :func:`~formcheck_core.vocabulary.moment_offset_s`), shown "near liftoff" or "0.6 s
    before lockout" rather than "at liftoff", as every view tags it."""
    decimals = data_decimals(f.unit)
    d: dict[str, Any] = {"rule_id": f.rule_id, "status": f.status, "severity": f.severity}
    if f.metric:
        d["metric"] = f.metric
    if f.moment:
        d["moment"] = f.moment
        if f.status == FAULT and (t := rounded(f.time_s, 2)) is not None:
            d["t_s"] = t  # when the fault was measured: the only time a cue may cite
            own = rep.moments.get(f.moment) if rep is not None else None
            if (offset := offset_from(own, f.frame_index, f.time_s)) is not None:
                d["moment_offset_s"] = offset
    for key in ("value", "threshold") if f.status != OK else ():  # ok: the metric table has the value
        v = _shown(getattr(f, key), f.unit, decimals)  # in the unit every view shows
        if v is not None:
            d[key] = v
    if f.unit:
        d["unit"] = f.unit
    if f.message and f.status == NOT_MEASURABLE:
        d["message"] = f.message
    if f.cue and f.is_fault:
        d["rule_cue"] = f.cue
    if f.quality and f.is_fault:  # a reading on a hidden or jittering joint: a warning, not a verdict
        d["pose_quality"] = f.quality
    if (role := verdict_role(f)) in (NOTE, WARNING):  # a fault the verdict does not count
        d["verdict_role"] = role
    return d


def _pull(analysis, rep) -> dict:
    """A pull's identity in the data: ``rep`` (its number), ``complete``, ``name`` ("rep 2",
    "partial pull 1") and, for a partial pull, ``partial_reason`` -- the words every view uses."""
    d: dict[str, Any] = {
        "rep": rep.number,
        "complete": bool(rep.complete),
        "name": analysis.pull_label(rep.number),
    }
    if not rep.complete:
        d["partial_reason"] = rep.partial_reason
    return d


def coaching_data(analysis) -> dict:
    """The data block for coaching: view, per pull (complete reps, then partial pulls, named as
    such) metrics + findings, set findings, warnings."""
    specs = metric_specs()
    reps = []
    for rep in analysis.pulls:
        reps.append(
            {
                **_pull(analysis, rep),
                **_measures(rep, specs),
                "findings": [_finding(f, rep) for f in analysis.findings if f.rep == rep.number],
            }
        )
    data: dict[str, Any] = {"lift": analysis.lift, "view": _view(analysis), "reps_found": len(analysis.reps)}
    if analysis.lifter_height_cm:
        data["lifter_height_cm"] = rounded(analysis.lifter_height_cm, 1)
    data["reps"] = reps
    if units := _metric_units(analysis, specs):
        data["metric_units"] = units
    set_findings = [_finding(f) for f in analysis.findings if f.rep is None]
    if set_findings:
        data["set_findings"] = set_findings
    if analysis.warnings:
        data["warnings"] = list(analysis.warnings)
    return data


def _series_summary(values: np.ndarray, rep, index: Mapping[str, int], decimals: int) -> dict | None:
    """min/max over the rep and the value at each key moment (NaN samples ignored)."""
    seg = values[rep.start_sample : rep.end_sample + 1]
    if seg.size == 0 or not np.isfinite(seg).any():
        return None
    out: dict[str, Any] = {"min": rounded(np.nanmin(seg), decimals), "max": rounded(np.nanmax(seg), decimals)}
    at = {name: rounded(values[i], decimals) for name, i in index.items() if 0 <= i < len(values)}
    at = {k: v for k, v in at.items() if v is not None}
    if at:
        out["at"] = at
    return out


def series_summaries(analysis, rep) -> dict:
    """Per-rep summaries of the smoothed body series (angles in deg; positions in body lengths).

    Positions are converted to body lengths relative to the lift-off moment (setup if no lift-off):
    ``bar_forward_rel`` is positive toward the direction the lifter faces, ``*_rise_rel`` positive up.
    """
    body = analysis.body
    if body is None:
        return {}
    index = {name: int(m.sample) for name, m in rep.moments.items()}
    ref = index.get("liftoff", index.get("setup", rep.start_sample))
    bl = float(body.body_length_px) if body.body_length_px and body.body_length_px > 0 else float("nan")
    out: dict[str, Any] = {}
    for name, values in body.smoothed.items():
        values = np.asarray(values, dtype=float)
        if name.endswith("_deg"):
            summary = _series_summary(values, rep, index, 1)
            key = name
        elif name in ("bar_x_px", "hip_y_px", "shoulder_y_px", "heel_y_px") and 0 <= ref < len(values):
            if name == "bar_x_px":
                rel, key = (values - values[ref]) * body.facing_sign / bl, "bar_forward_rel"
            else:
                rel, key = (values[ref] - values) / bl, name.replace("_y_px", "_rise_rel")
            summary = _series_summary(rel, rep, index, 3)
        else:
            continue
        if summary:
            out[key] = summary
    return out


#: Detail levels of the prompts, most detailed first; a long set falls back to a shorter one
#: when the prompt would not leave room for the answer in the context window.
COACH_DETAIL_LEVELS = (0, 1)
FLAG_DETAIL_LEVELS = (0, 1, 2)


def _reduce_series(series: dict, detail: int) -> dict:
    """detail 0: everything; 1: min/max and the value at lift-off and lockout; 2: no series."""
    if detail >= 2:
        return {}
    if detail == 1:
        return {
            k: {**v, "at": {m: x for m, x in v.get("at", {}).items() if m in ("liftoff", "lockout")}}
            for k, v in series.items()
        }
    return series


def flagging_data(analysis, detail: int = 0) -> dict:
    """The data block for LLM-only flagging: raw metrics and series summaries, no rule findings.

    ``detail`` (see :data:`FLAG_DETAIL_LEVELS`) trims the series summaries for long sets."""
    specs = metric_specs()
    reps = []
    for rep in analysis.pulls:
        reps.append(
            {
                **_pull(analysis, rep),
                **_measures(rep, specs),
                "series": _reduce_series(series_summaries(analysis, rep), detail),
            }
        )
    data: dict[str, Any] = {"lift": analysis.lift, "view": _view(analysis), "reps_found": len(analysis.reps)}
    if analysis.lifter_height_cm:
        data["lifter_height_cm"] = rounded(analysis.lifter_height_cm, 1)
    data["reps"] = reps
    if units := _metric_units(analysis, specs):
        data["metric_units"] = units
    return data


SERIES_GLOSSARY = (
    "Series columns: min / max over the rep, then the value at setup / liftoff / knee_pass / lockout. "
    "*_deg are angles; bar_forward_rel is the bar's horizontal position relative to lift-off in body "
    "lengths (positive = away from the lifter, toward the toes); *_rise_rel are heights above lift-off in body lengths."
)


def metric_glossary(data: Mapping[str, Any]) -> dict[str, str]:
    """Short meanings of the metrics that appear in ``data``: each metric spec's ``short`` text."""
    specs = metric_specs()
    reps = data.get("reps", ())
    names = list(
        dict.fromkeys(m for rep in reps for key in ("metrics", "not_measurable") for m in rep.get(key, {}))
    )
    return {m: specs[m].short if m in specs else m.replace("_", " ") for m in names}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cell(rep: Mapping[str, Any], metric: str) -> str:
    """A pull's metric in the table: its value, else "not measurable: <why>", else "-"."""
    why = rep.get("not_measurable", {}).get(metric)
    value = rep.get("metrics", {}).get(metric)
    return f"{NOT_MEASURABLE_PREFIX}{why}" if value is None and why else _fmt(value)


def _header(data: Mapping[str, Any]) -> list[str]:
    view = data.get("view") or {}
    lines = [
        f"Lift: {data.get('lift')}. Camera view: {view.get('view', 'unknown')}"
        + (f" (confidence {view['confidence']})" if view.get("confidence") is not None else "")
        + f". Reps found: {data.get('reps_found', 0)}."
    ]
    if data.get("lifter_height_cm"):
        lines.append(f"Lifter height: {data['lifter_height_cm']} cm.")
    lines += [f"View note: {n}" for n in view.get("notes", ())]
    lines += [f"Warning: {w}" for w in data.get("warnings", ())]
    for r in data.get("reps", ()):
        if not r.get("complete", True):  # named as every view names it, with its reason
            lines.append(
                f'{_name(r).capitalize()} (not counted as a rep; "rep": {r["rep"]} in a cue): '
                + (r.get("partial_reason") or "incomplete")
                + "."
            )
    return lines


def _name(r: Mapping[str, Any]) -> str:
    """A pull's column and row name: its ``name`` ("partial pull 1"), else "rep N"."""
    return r.get("name") or f"rep {r['rep']}"


def _metric_table(data: Mapping[str, Any], meanings: bool = True) -> list[str]:
    reps = data.get("reps", ())
    glossary = metric_glossary(data)
    cols = " | ".join(_name(r) for r in reps)
    lines = [f"Metrics (values for {cols}; not measurable: why; - = not measured):"]
    for name, meaning in glossary.items():
        cells = [_cell(r, name) for r in reps]
        same = len(reps) > 1 and len(set(cells)) == 1 and cells[0].startswith(NOT_MEASURABLE_PREFIX)
        values = f"{cells[0]} (every pull)" if same else " | ".join(cells)  # one reason said once
        read = any(c != "-" and not c.startswith(NOT_MEASURABLE_PREFIX) for c in cells)
        unit = data.get("metric_units", {}).get(name)  # "back_flexion_rel (% of torso length)"
        shown = f"{name} ({with_unit('', unit).strip()})" if unit else name
        lines.append(f"{shown} = {values}" + (f"  — {meaning}" if meanings and read else ""))
    return lines


def _finding_line(f: Mapping[str, Any], where: str) -> str:
    def shown(v: Any) -> str:  # "7.4% of torso length", "67.3°": the unit as every view writes it
        return with_unit(str(v), f.get("unit") or "")

    line = f"- {where} {f['rule_id']}: {f['status'].upper().replace('_', ' ')}"
    if f["status"] == FAULT:
        line += f" ({f['severity']})"
        if (
            role := f.get("verdict_role")
        ) in ROLE_WORDS:  # "note: past the limit, but not counted as a fault"
            line += f" [{ROLE_WORDS[role].word}: {ROLE_WORDS[role].help}]"
        if f.get("moment") and f.get("t_s") is not None:
            line += f" {relative_to_moment(f['moment'], f.get('moment_offset_s'), at='at ')} ({f['t_s']} s)"
    if f.get("metric") and f.get("value") is not None:
        line += f": {f['metric']} {shown(f['value'])}"
    if f.get("threshold") is not None:
        line += f", threshold {shown(f['threshold'])}"
    if f.get("message"):
        line += f". {f['message']}"
    if f.get("rule_cue"):
        line += f'. Rule\'s cue: "{f["rule_cue"]}"'
    if f.get("pose_quality"):
        line += f" ({f['pose_quality']}: the camera barely saw it, so say it may be off)"
    return line


def _findings_block(data: Mapping[str, Any]) -> list[str]:
    rows: list[tuple[str, Mapping[str, Any]]] = [
        (_name(r), f) for r in data.get("reps", ()) for f in r.get("findings", ())
    ] + [("whole set", f) for f in data.get("set_findings", ())]
    if not rows:
        return ["Rule findings: none."]
    lines = ["Rule findings (faults first):"]
    order = {FAULT: 0, NOT_MEASURABLE: 1}
    for where, f in sorted(rows, key=lambda wf: order.get(wf[1]["status"], 2)):
        if f["status"] != OK:
            lines.append(_finding_line(f, where))
    ok: dict[str, list[str]] = {}
    for where, f in rows:
        if f["status"] == OK:
            ok.setdefault(f["rule_id"], []).append(where)
    if ok:
        lines.append(
            "- within threshold (ok, do not correct): "
            + "; ".join(f"{rule} ({', '.join(w)})" for rule, w in ok.items())
        )
    return lines


def _series_block(data: Mapping[str, Any]) -> list[str]:
    reps = data.get("reps", ())
    moments = [
        m
        for m in ("setup", "liftoff", "knee_pass", "lockout")
        if any(m in s.get("at", {}) for r in reps for s in r.get("series", {}).values())
    ]
    lines = [SERIES_GLOSSARY.replace("setup / liftoff / knee_pass / lockout", " / ".join(moments))]
    for r in reps:
        lines.append(f"{_name(r).capitalize()} series:")
        for name, s in r.get("series", {}).items():
            at = s.get("at", {})
            cells = [s.get("min"), s.get("max"), *(at.get(m) for m in moments)]
            lines.append(f"{name} = " + " / ".join(_fmt(c) for c in cells))
    return lines


def render_data_block(data: Mapping[str, Any], meanings: bool = True) -> str:
    """The data block as compact text: header, metric table (one row per metric, one column per
    rep, with each metric's meaning unless ``meanings`` is False or no pull has a value for it;
    a missing value says why), then rule findings (coaching) or series summaries (flagging). Every number in it is in ``data``, rounded as there."""
    lines = _header(data) + _metric_table(data, meanings)
    if any("findings" in r for r in data.get("reps", ())) or "set_findings" in data:
        lines += _findings_block(data)
    if any(r.get("series") for r in data.get("reps", ())):
        lines += _series_block(data)
    return "\n".join(lines)


def user_message(data: Mapping[str, Any], task: str, meanings: bool = True) -> str:
    """The user turn: the task in one line, then the data block."""
    return f"{task}\n\n{render_data_block(data, meanings)}"


def coaching_messages(analysis, system_prompt: str | None = None, detail: int = 0) -> tuple[list[dict], dict]:
    """(chat messages, data block) for coaching ``analysis``; ``detail`` 1 leaves out the metric
    meanings (see :data:`COACH_DETAIL_LEVELS`)."""
    data = coaching_data(analysis)
    task = f"Give {'3 to 5' if any(r['findings'] for r in data['reps']) else '1 to 3'} prioritised cues for this set."
    messages = [
        {"role": "system", "content": system_prompt or COACH_SYSTEM_PROMPT},
        {"role": "user", "content": user_message(data, task, meanings=detail < 1)},
    ]
    return messages, data


def flagging_messages(analysis, vocabulary: Sequence[str], detail: int = 0) -> tuple[list[dict], dict]:
    """(chat messages, data block) for LLM-only flagging of ``analysis`` at ``detail`` (see
    :data:`FLAG_DETAIL_LEVELS`: 1 trims the series summaries and the metric meanings, 2 drops the
    series)."""
    data = flagging_data(analysis, detail)
    messages = [
        {"role": "system", "content": flag_system_prompt(vocabulary)},
        {
            "role": "user",
            "content": user_message(data, "Which faults does this set show?", meanings=detail < 1),
        },
    ]
    return messages, data


def fit_prompt(build, levels: Sequence[int], count_tokens, budget_tokens: int):
    """The first ``build(detail)`` -> (messages, data) over ``levels`` whose messages take at most
    ``budget_tokens`` (``count_tokens(messages)``); the last level if none does (the engine then
    reports that the prompt is too long)."""
    result = None
    for detail in levels:
        result = build(detail)
        if count_tokens(result[0]) <= budget_tokens:
            return result
    return result


def answer_budget(n_ctx: int, max_tokens: int) -> int:
    """Prompt tokens allowed so that an answer of up to ``max_tokens`` (at most 512) still fits."""
    return n_ctx - min(max_tokens, 512) - 16
