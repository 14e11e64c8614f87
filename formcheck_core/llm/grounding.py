"""Grounding check: every number a model's cue cites must be one the analysis measured.

Pure functions over the data block the model saw (:func:`formcheck_core.llm.prompts.coaching_data`)
and the model's cue items (dicts with ``cue``, ``why``, ``metric``, ``rep``, ``rule_id``).

A cited number matches a reference value "within rounding": ``48`` or ``48.2`` match 48.2, ``48.5``
does not (the tolerance is half a unit of the last digit the model wrote). Units narrow the match
(``48°`` only matches angles; ``12%`` matches body-length ratios × 100 and confidences × 100).
Reference values are the data's numbers plus a few derived ones a coach would say: ``|value −
threshold|`` of a finding, ``180 − angle`` ("15° short of straight"), differences of one metric
between reps, and ratios in percent. Rep references ("rep 4") must name a rep that exists.

A cue is rejected (:class:`GroundingIssue`) when it cites a number not in the data, gives a target
equal to the measured value it is about, contradicts a finding (asks to fix an "ok" measurement,
cues a "not_measurable" one, or praises a fault), names a rep or metric that was not measured,
repeats an earlier cue, or quotes no number at all (every cue must be tied to a measurement).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# --- numbers in text ---------------------------------------------------------------------------

_UNIT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("deg", r"\s*(?:°|º|deg(?:ree)?s?\b)"),
    ("pct", r"\s*(?:%|percent\b|per\s*cent\b)"),
    ("body", r"\s*(?:body[\s_-]?lengths?\b|BL\b|x\s+body\s+length\b)"),
    ("cm", r"\s*(?:cm\b|centimet(?:er|re)s?\b)"),
    ("px", r"\s*(?:px\b|pixels?\b)"),
    ("s", r"\s*(?:s\b|secs?\b|seconds?\b)"),
    ("in", r"\s*(?:in\b|inch(?:es)?\b|\")"),
    ("mm", r"\s*(?:mm\b|millimet(?:er|re)s?\b)"),
)
_NUMBER = re.compile(r"(?<![\w.])([-−+]?\d+(?:\.\d+)?)(?![\w])|(?<![\w.])([-−+]?\d+(?:\.\d+)?)(?=[°º%\"a-zA-Z])")
_REP_REF = re.compile(r"\breps?\s*#?\s*(\d+)((?:\s*(?:,|and|&|or|-|–|to|through)\s*#?\s*\d+)*)", re.IGNORECASE)
_REP_COUNT = re.compile(r"\b(\d+)\s+(?:of\s+(?:the|your|all)\s+)?(?:\w+\s+)?reps?\b", re.IGNORECASE)
_ORDINAL_REP = re.compile(r"\b(\d+)(?:st|nd|rd|th)\s+(?:rep|set|pull)\b", re.IGNORECASE)
_FRAME_REF = re.compile(r"\bframes?\s*#?\s*$", re.IGNORECASE)
_COMPARATOR = r"(?:under|below|above|over|within|to|at|near|around|at\s+least|at\s+most|less\s+than|more\s+than|no\s+more\s+than)"
_TARGET_BEFORE = re.compile(
    r"(?:\b(?:aim(?:ing)?\s+(?:for|at)|target(?:ing)?(?:\s+of)?|goal\s+(?:of|is)|get\s+(?:it|that|this|your\s+\w+)?|"
    r"bring\s+(?:it|that|your\s+\w+)?\s*(?:down|up|back)?|keep\s+(?:it|that|this|the\s+\w+|your\s+\w+)?|stay|"
    r"reach(?:ing)?|closer)(?:\s+" + _COMPARATOR + r")?|\bat\s+most|\bno\s+more\s+than|\bup\s+to|\bdown\s+to)"
    r"\s+(?:about\s+|around\s+|roughly\s+|approximately\s+|~\s*)?$",
    re.IGNORECASE,
)
_PRAISE = re.compile(r"\b(?:good|great|nice|solid|excellent|perfect|well\s+done|keep\s+(?:it\s+)?up|keep\s+doing|spot[\s-]on)\b", re.IGNORECASE)

UNIT_OF_FINDING = {"deg": "deg", "body_lengths": "body", "px": "px", "cm": "cm", "s": "s", "": "none"}
#: Which reference classes a cited unit may match.
CITED_UNIT_MATCHES: dict[str, tuple[str, ...]] = {
    "deg": ("deg",),
    "pct": ("pct",),
    "body": ("body",),
    "cm": ("cm",),
    "px": ("px",),
    "s": ("s",),
    "frame": ("frame",),
    "in": (),  # no measurement is in inches: any inch figure is invented
    "mm": (),
    "none": ("deg", "body", "cm", "px", "s", "pct", "frame", "count", "none"),
}


@dataclass(frozen=True)
class CitedNumber:
    """A number written in a cue: its value, decimals written, unit class and role."""

    value: float
    decimals: int
    unit: str
    text: str
    #: The number follows a target phrase ("aim for", "keep it under", …).
    is_target: bool = False


@dataclass(frozen=True)
class ReferenceValue:
    """A number the model may cite: value, unit class, where it comes from."""

    value: float
    unit: str
    #: "metric", "threshold", "finding_value", "moment", "derived", "text", "count", "other"
    kind: str
    metric: str | None = None
    rep: int | None = None


@dataclass(frozen=True)
class GroundingIssue:
    """Why a cue was rejected. ``kind``: ungrounded_number, restated_target, contradicts_finding,
    unknown_rep, unmeasured_metric, duplicate, no_number (the cue quotes no measurement at all),
    schema (the item did not match the answer schema)."""

    kind: str
    detail: str


def _unit_after(text: str, end: int) -> tuple[str, int]:
    rest = text[end:]
    for unit, pattern in _UNIT_PATTERNS:
        m = re.match(pattern, rest, re.IGNORECASE)
        if m:
            return unit, end + m.end()
    return "none", end


def extract_numbers(text: str) -> list[CitedNumber]:
    """Numbers cited in ``text`` with units, skipping rep references, rep counts and ordinals.

    Rep references are returned by :func:`rep_references`; frame references get unit "frame".
    """
    skip: list[tuple[int, int]] = []
    for m in (*_REP_REF.finditer(text), *_REP_COUNT.finditer(text), *_ORDINAL_REP.finditer(text)):
        skip.append(m.span())
    out = []
    for m in _NUMBER.finditer(text):
        start, end = m.span()
        if any(a <= start < b for a, b in skip):
            continue
        raw = (m.group(1) or m.group(2)).replace("−", "-")
        try:
            value = float(raw)
        except ValueError:
            continue
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        unit, _ = _unit_after(text, end)
        if _FRAME_REF.search(text[:start]):
            unit = "frame"
        is_target = bool(_TARGET_BEFORE.search(text[:start]))
        out.append(CitedNumber(value, decimals, unit, text[start:end], is_target))
    return out


def rep_references(text: str) -> list[int]:
    """Rep numbers named in ``text`` ("rep 2", "reps 1 and 3", "reps 1-3", "2nd rep")."""
    reps: list[int] = []
    for m in _REP_REF.finditer(text):
        nums = [int(m.group(1))] + [int(n) for n in re.findall(r"\d+", m.group(2) or "")]
        if re.search(r"-|–|to|through", m.group(2) or "") and len(nums) == 2 and nums[0] < nums[1] <= 1000:
            nums = list(range(nums[0], nums[1] + 1))
        reps.extend(nums)
    reps.extend(int(m.group(1)) for m in _ORDINAL_REP.finditer(text))
    return reps


def rep_counts(text: str) -> list[int]:
    """Counts of reps stated in ``text`` ("3 reps", "2 of the reps")."""
    return [int(m.group(1)) for m in _REP_COUNT.finditer(text)]


# --- reference values from the data block ------------------------------------------------------


def _unit_of_metric(name: str) -> str:
    for suffix, unit in (("_deg", "deg"), ("_rel", "body"), ("_px", "px"), ("_cm", "cm"), ("_s", "s")):
        if name.endswith(suffix):
            return unit
    return "none"


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def reference_values(data: Mapping[str, Any], extra_text: Sequence[str] = ()) -> list[ReferenceValue]:
    """Every number the model saw in ``data`` (and ``extra_text``, e.g. the metric glossary),
    with unit classes, plus the derived values a coach may legitimately quote."""
    refs: list[ReferenceValue] = []
    reps = data.get("reps", ())
    by_metric: dict[str, list[tuple[int, float]]] = {}
    for rep in reps:
        n = rep.get("rep")
        for name, value in rep.get("metrics", {}).items():
            v = _num(value)
            if v is None:
                continue
            unit = _unit_of_metric(name)
            refs.append(ReferenceValue(v, unit, "metric", name, n))
            by_metric.setdefault(name, []).append((n, v))
            if unit == "body":
                refs.append(ReferenceValue(v * 100, "pct", "derived", name, n))
            if unit == "deg" and "angle" in name:
                refs.append(ReferenceValue(180 - v, "deg", "derived", name, n))
            if unit == "deg":
                refs.append(ReferenceValue(abs(v), "deg", "derived", name, n))
        for name, m in rep.get("moments", {}).items():
            if (f := _num(m.get("frame"))) is not None:
                refs.append(ReferenceValue(f, "frame", "moment", None, n))
            if (t := _num(m.get("t_s"))) is not None:
                refs.append(ReferenceValue(t, "s", "moment", None, n))
        for series in rep.get("series", {}).values():
            for key in ("min", "max"):
                if (v := _num(series.get(key))) is not None:
                    refs.append(ReferenceValue(v, "none", "series", None, n))
            for v in series.get("at", {}).values():
                if (v := _num(v)) is not None:
                    refs.append(ReferenceValue(v, "none", "series", None, n))
    for rep_findings, n in [(r.get("findings", ()), r.get("rep")) for r in reps] + [(data.get("set_findings", ()), None)]:
        for f in rep_findings:
            unit = UNIT_OF_FINDING.get(f.get("unit", ""), "none")
            value, threshold = _num(f.get("value")), _num(f.get("threshold"))
            if value is not None:
                refs.append(ReferenceValue(value, unit, "finding_value", f.get("metric"), n))
            if threshold is not None:
                refs.append(ReferenceValue(threshold, unit, "threshold", f.get("metric"), n))
                refs.append(ReferenceValue(abs(threshold), unit, "threshold", f.get("metric"), n))
                if unit == "body":
                    refs.append(ReferenceValue(threshold * 100, "pct", "threshold", f.get("metric"), n))
            if value is not None and threshold is not None:
                refs.append(ReferenceValue(abs(value - threshold), unit, "derived", f.get("metric"), n))
    for name, values in by_metric.items():  # change of one metric between reps
        for i, (_, a) in enumerate(values):
            for _, b in values[i + 1 :]:
                refs.append(ReferenceValue(abs(a - b), _unit_of_metric(name), "derived", name, None))
    view = data.get("view") or {}
    if (c := _num(view.get("confidence"))) is not None:
        refs += [ReferenceValue(c, "none", "other"), ReferenceValue(c * 100, "pct", "other")]
    if (h := _num(data.get("lifter_height_cm"))) is not None:
        refs.append(ReferenceValue(h, "cm", "other"))
    refs.append(ReferenceValue(float(len(reps)), "count", "count"))
    for text in [*_strings(data), *extra_text]:
        for c in extract_numbers(text):
            refs.append(ReferenceValue(c.value, c.unit if c.unit != "none" else "none", "text"))
    return refs


# --- matching ----------------------------------------------------------------------------------


def matches(cited: CitedNumber, ref: ReferenceValue) -> bool:
    """``cited`` equals ``ref`` to the precision the model wrote (half a unit of the last digit)."""
    allowed = CITED_UNIT_MATCHES.get(cited.unit, ())
    if ref.unit not in allowed and not (ref.unit == "none" and cited.unit != "frame" and allowed):
        return False
    tol = 0.5 * 10 ** (-cited.decimals) + 1e-9
    return abs(cited.value - ref.value) <= tol or abs(abs(cited.value) - abs(ref.value)) <= tol


def _finding_status(data: Mapping[str, Any], rule_id: str, rep: int | None) -> list[str]:
    out = []
    for r in data.get("reps", ()):
        if rep is None or r.get("rep") == rep:
            out += [f.get("status", "") for f in r.get("findings", ()) if f.get("rule_id") == rule_id]
    out += [f.get("status", "") for f in data.get("set_findings", ()) if f.get("rule_id") == rule_id]
    return out


def _metric_values(data: Mapping[str, Any], metric: str, rep: int | None) -> list[float]:
    vals = []
    for r in data.get("reps", ()):
        if rep is None or r.get("rep") == rep:
            v = _num(r.get("metrics", {}).get(metric))
            if v is not None:
                vals.append(v)
    return vals


def check_cue(item: Mapping[str, Any], data: Mapping[str, Any], refs: Sequence[ReferenceValue],
              seen_texts: Iterable[str] = ()) -> list[GroundingIssue]:  # fmt: skip
    """Issues that make ``item`` (a model cue) unfit to show; empty when it is grounded."""
    issues: list[GroundingIssue] = []
    text = f"{item.get('cue', '')}\n{item.get('why', '')}"
    metric, rep, rule_id = item.get("metric"), item.get("rep"), item.get("rule_id")
    rep_numbers = {r.get("rep") for r in data.get("reps", ())}

    norm = re.sub(r"\W+", " ", str(item.get("cue", ""))).strip().lower()
    if norm and norm in {re.sub(r"\W+", " ", s).strip().lower() for s in seen_texts}:
        issues.append(GroundingIssue("duplicate", "repeats an earlier cue"))
    if rep is not None and rep not in rep_numbers:
        issues.append(GroundingIssue("unknown_rep", f"refers to rep {rep}, but only reps {sorted(rep_numbers)} were measured"))
    for n in rep_references(text):
        if n not in rep_numbers:
            issues.append(GroundingIssue("unknown_rep", f"mentions rep {n}, which does not exist"))
    for n in rep_counts(text):
        if n > len(rep_numbers):
            issues.append(GroundingIssue("ungrounded_number", f"speaks of {n} reps, but {len(rep_numbers)} were measured"))
    own_values = _metric_values(data, metric, rep) if metric else []
    if metric and not own_values:
        issues.append(GroundingIssue("unmeasured_metric", f"{metric} was not measured{f' in rep {rep}' if rep else ''}"))

    rule_metrics = {f.get("metric") for r in data.get("reps", ()) for f in r.get("findings", ()) if f.get("rule_id") == rule_id}
    own_metrics = {metric, *rule_metrics} - {None}
    mentioned = set(rep_references(text)) | ({rep} if rep is not None else set())

    def relevant(r: ReferenceValue) -> bool:
        if r.kind == "derived" and r.metric not in own_metrics:
            return False  # 180 - x, differences and percentages only for the cue's own metric
        if r.rep is None or not mentioned:
            return True
        return r.rep in mentioned or r.metric in own_metrics

    cited = extract_numbers(text)
    if not cited:
        issues.append(GroundingIssue("no_number", "quotes no measured number"))
    for c in cited:
        hits = [r for r in refs if relevant(r) and matches(c, r)]
        if c.is_target:
            own = [v for v in own_values if matches(c, ReferenceValue(v, _unit_of_metric(metric or ""), "metric"))]
            if own and not any(r.kind == "threshold" for r in hits):
                issues.append(GroundingIssue("restated_target", f"target {c.text} is the measured {metric} restated"))
                continue
        if not hits:
            unit = {"none": "", "frame": " (frame)"}.get(c.unit, f" {c.unit}")
            issues.append(GroundingIssue("ungrounded_number", f"{c.text}{unit} is not a measured value"))

    if rule_id:
        statuses = _finding_status(data, rule_id, rep)
        praise = bool(_PRAISE.search(str(item.get("cue", ""))))
        if statuses and all(s == "not_measurable" for s in statuses):
            issues.append(GroundingIssue("contradicts_finding", f"{rule_id} was not measurable{f' in rep {rep}' if rep else ''}"))
        elif statuses and all(s == "ok" for s in statuses) and not praise:
            issues.append(GroundingIssue("contradicts_finding", f"asks to fix {rule_id}, but it was within threshold"))
        elif statuses and any(s == "fault" for s in statuses) and praise and all(s == "fault" for s in statuses):
            issues.append(GroundingIssue("contradicts_finding", f"praises {rule_id}, which is a fault"))
    return list(dict.fromkeys(issues))  # the same number in "cue" and "why" is one issue


def check_cues(items: Sequence[Mapping[str, Any]], data: Mapping[str, Any],
               extra_text: Sequence[str] = ()) -> list[tuple[Mapping[str, Any], list[GroundingIssue]]]:  # fmt: skip
    """:func:`check_cue` for each item in order (duplicates judged against earlier accepted cues)."""
    refs = reference_values(data, extra_text)
    accepted: list[str] = []
    out = []
    for item in items:
        issues = check_cue(item, data, refs, accepted)
        if not issues:
            accepted.append(str(item.get("cue", "")))
        out.append((item, issues))
    return out


def check_reason(text: str, data: Mapping[str, Any], refs: Sequence[ReferenceValue]) -> list[GroundingIssue]:
    """Number and rep checks for a free-text reason (LLM-only flags)."""
    issues = []
    rep_numbers = {r.get("rep") for r in data.get("reps", ())}
    for n in rep_references(text):
        if n not in rep_numbers:
            issues.append(GroundingIssue("unknown_rep", f"mentions rep {n}, which does not exist"))
    for c in extract_numbers(text):
        if not any(matches(c, r) for r in refs):
            issues.append(GroundingIssue("ungrounded_number", f"{c.text} is not a measured value"))
    return issues
