"""Grounding check: a model's cue must be about what its schema fields say, in numbers and in meaning.

Pure functions over the data block the model saw (:func:`formcheck_core.llm.prompts.coaching_data`)
and the model's cue items (dicts with ``cue``, ``why``, ``metric``, ``rep``, ``rule_id``; see
:func:`formcheck_core.llm.schema.cue_schema`). Each item is tied through those fields to one
metric of one rep (``rep`` null: the whole set) and, optionally, one rule. :func:`check_cue`
rejects it (:class:`GroundingIssue`, ``kind`` in :data:`ISSUE_KINDS`) when:

* **structure** — the rep does not exist (``unknown_rep``; also reps named in the text or "all 4
  reps" when 3 were measured), the metric was not measured there (``unmeasured_metric``), the
  rule has no finding there (``no_finding``) or reads another metric (``metric_mismatch``);
* **numbers** — every number, in digits or words ("forty-five", "ninety-nine degrees",
  "minus 3.8"), must be one of the cue's *own* references (:func:`cue_references`): the metric's
  value in the cue's rep (and in reps the text names), the rule's threshold there, the distance
  to it, ``180 − angle`` ("15° short of straight"), a body-length ratio × 100 as a percentage,
  the change between reps, the time of the finding's moment. It must match in the unit written
  (no unit: any), with the sign shown in the data, within display rounding: half a unit of the
  last digit written, widened for a hedge ("about 100°" = 95–105, "about 67°" = 66–68). A number
  that is another metric's value is ``wrong_metric``, the right magnitude with the sign dropped
  is ``wrong_sign`` (unless "back"/"behind"/"past vertical" follows it), anything else is
  ``ungrounded_number``; a right number next to another body part ("elbows 144°" on a hip
  cue) is ``wrong_metric``. A target ("aim for", "keep it under") equal to the measured value
  it is about is ``restated_target``. No number at all is ``no_number``;
* **meaning** — praise ("fine", "is good", "solid", …) of a fault, a fix asked for a finding
  that is ok, or a cue on a not-measurable one is ``contradicts_finding``; advice that pushes
  the metric the wrong way for its fault ("bend your arms more" for ``bent_arms``) is
  ``wrong_direction`` (negated advice, "don't lean back", is fine);
* **repetition** (:func:`check_cues`) — a second cue on the same (rule or metric, rep), or one
  whose words nearly equal an earlier cue's, is ``duplicate`` (merged into the first).

Faults left without any surviving cue are covered by the caller
(:func:`formcheck_core.llm.coaching.review_answer` adds the rule's own cue, marked as such).
Free-text reasons of LLM-only flags (no schema fields) get the looser :func:`check_reason`.

Long because number extraction (digits and words), the per-cue references and the structure and
meaning checks share one set of unit and wording patterns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..metric_labels import metric_label
from ..vocabulary import FAULT, NOT_MEASURABLE, OK, rule_title, unit_of

ISSUE_KINDS: tuple[str, ...] = (
    "schema",
    "unknown_rep",
    "unmeasured_metric",
    "no_finding",
    "metric_mismatch",
    "no_number",
    "ungrounded_number",
    "wrong_metric",
    "wrong_sign",
    "restated_target",
    "contradicts_finding",
    "wrong_direction",
    "duplicate",
)

# --- numbers in text ---------------------------------------------------------------------------

_UNIT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("deg", r"\s*(?:°|º|deg(?:ree)?s?\b)"),
    ("pct", r"\s*(?:%|percent\b|per\s*cent\b)"),
    ("body", r"\s*(?:(?:of\s+(?:your|the)\s+)?body[\s_-]?lengths?\b|BL\b|x\s+body\s+length\b)"),
    ("cm", r"\s*(?:cm\b|centimet(?:er|re)s?\b)"),
    ("px", r"\s*(?:px\b|pixels?\b)"),
    ("s", r"\s*(?:s\b|secs?\b|seconds?\b)"),
    ("in", r"\s*(?:in\b|inch(?:es)?\b|\")"),
    ("mm", r"\s*(?:mm\b|millimet(?:er|re)s?\b)"),
)
_NUMBER = re.compile(
    r"(?<![\w.])([-−+]?\d+(?:\.\d+)?)(?![\w])|(?<![\w.])([-−+]?\d+(?:\.\d+)?)(?=[°º%\"a-zA-Z])"
)
_REP_REF = re.compile(
    r"\breps?\s*#?\s*(\d+)((?:\s*(?:,|and|&|or|-|–|to|through)\s*#?\s*\d+(?![\d.]|\s*(?:°|%|deg|s\b)))*)",
    re.IGNORECASE,
)
_REP_COUNT = re.compile(r"\b(\d+)\s+(?:of\s+(?:the|your|all)\s+)?(?:\w+\s+)?reps?\b", re.IGNORECASE)
_ORDINAL_REP = re.compile(r"\b(\d+)(?:st|nd|rd|th)\s+(?:rep|set|pull)\b", re.IGNORECASE)
_FRAME_REF = re.compile(r"\bframes?\s*#?\s*$", re.IGNORECASE)
_HEDGE_BEFORE = re.compile(
    r"(?:\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|circa|some|close\s+to)|~|≈)\s*$",
    re.IGNORECASE,
)
_COMPARATOR = r"(?:under|below|above|over|within|to|at|near|around|at\s+least|at\s+most|less\s+than|more\s+than|no\s+more\s+than)"
_TARGET_BEFORE = re.compile(
    r"(?:\b(?:aim(?:ing)?\s+(?:for|at)|target(?:ing)?(?:\s+of)?|goal\s+(?:of|is)|get\s+(?:it|that|this|your\s+\w+)?|"
    r"bring\s+(?:it|that|your\s+\w+)?\s*(?:down|up|back)?|keep\s+(?:it|that|this|the\s+\w+|your\s+\w+)?|stay|"
    r"reach(?:ing)?|closer)(?:\s+" + _COMPARATOR + r")?|\bat\s+most|\bno\s+more\s+than|\bup\s+to|\bdown\s+to)"
    r"\s+(?:about\s+|around\s+|roughly\s+|approximately\s+|~\s*)?$",
    re.IGNORECASE,
)
#: A negative value may be cited without its sign when the words after it say which way.
_SIGN_IN_WORDS_AFTER = re.compile(
    r"^\s*(?:°|º|deg(?:ree)?s?)?\s*(?:\w+\s+){0,2}?(?:back(?:wards?)?|behind|past\s+vertical)\b",
    re.IGNORECASE,
)
_SIGN_IN_WORDS_BEFORE = re.compile(r"\b(?:back(?:wards?)?|behind)\s+(?:by\s+)?(?:about\s+)?$", re.IGNORECASE)

# number words -> digits ("forty-five" -> "45", "minus 3.8" -> "-3.8")
_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_WORD = r"(?:" + "|".join([*_TENS, *sorted(_SMALL, key=len, reverse=True)]) + r"|hundred|a\s+hundred)"
_WORD_NUMBER = re.compile(
    r"\b(?:minus\s+|negative\s+)?" + _WORD + r"(?:(?:[\s-]+(?:and[\s-]+)?)" + _WORD + r")*"
    r"(?:\s+point(?:\s+(?:" + "|".join(_SMALL) + r"))+)?\b",
    re.IGNORECASE,
)
_UNIT_AHEAD = re.compile(
    r"^\s*(?:°|º|%|deg(?:ree)?s?\b|percent\b|per\s*cent\b|body|cm\b|centimet|pixels?\b|px\b|seconds?\b|secs?\b)",
    re.IGNORECASE,
)
_REP_BEHIND = re.compile(r"\breps?\s*#?\s*$", re.IGNORECASE)


def _word_value(words: str) -> tuple[float, int] | None:
    """(value, decimals) of number words ("forty five", "one hundred and two point five")."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t not in ("and", "a")]
    total, decimals, after_point = 0.0, 0, False
    for t in tokens:
        if t == "point":
            after_point = True
        elif after_point and t in _SMALL and _SMALL[t] < 10:
            decimals += 1
            total += _SMALL[t] * 10.0**-decimals
        elif t in _SMALL:
            total += _SMALL[t]
        elif t in _TENS:
            total += _TENS[t]
        elif t == "hundred":
            total = (total or 1) * 100
        else:
            return None
    return round(total, decimals), decimals


def normalize_numbers(text: str) -> str:
    """``text`` with numbers written in words turned into digits, where they are numbers: several
    words ("forty five"), a value of ten or more ("twelve"), a word followed by a unit ("five
    degrees") or after "rep" ("rep two"). A lone "one" in prose stays a word. "minus"/"negative"
    before a number become a sign."""
    text = text.replace("−", "-")
    out, pos = [], 0
    for m in _WORD_NUMBER.finditer(text):
        raw = m.group(0)
        sign = "-" if re.match(r"(?:minus|negative)\s", raw, re.IGNORECASE) else ""
        body = re.sub(r"^(?:minus|negative)\s+", "", raw, flags=re.IGNORECASE)
        parsed = _word_value(body)
        if parsed is None:
            continue
        value, decimals = parsed
        several = len([t for t in re.split(r"[\s-]+", body) if t.lower() not in ("and", "a")]) > 1
        if not (
            several
            or value >= 10
            or _UNIT_AHEAD.match(text[m.end() :])
            or _REP_BEHIND.search(text[: m.start()])
        ):
            continue
        out.append(text[pos : m.start()] + sign + (f"{value:.{decimals}f}" if decimals else str(int(value))))
        pos = m.end()
    out.append(text[pos:])
    text = "".join(out)
    return re.sub(r"\b(?:minus|negative)\s+(?=\d)", "-", text, flags=re.IGNORECASE)


@dataclass(frozen=True)
class CitedNumber:
    """A number written in a cue: its value, decimals written, unit class and role."""

    value: float
    decimals: int
    unit: str
    text: str
    #: The number follows a target phrase ("aim for", "keep it under", …).
    is_target: bool = False
    #: The number follows a hedge ("about", "around", "~"): matched more loosely.
    hedged: bool = False
    #: Offsets of the number in the (normalised) text.
    start: int = 0
    end: int = 0
    #: Words right after it say the direction of a negative value ("3.8° back").
    sign_in_words: bool = False


@dataclass(frozen=True)
class ReferenceValue:
    """A number a cue may cite: value, unit class, what it is and which metric/rep it belongs to.

    ``kind``: "metric", "threshold", "excess" (|value − threshold|), "short_of_straight"
    (180 − angle), "percent" (ratio × 100), "change" (between reps), "moment_time", "finding_value",
    "text", "count", "other"."""

    value: float
    unit: str
    kind: str
    metric: str | None = None
    rep: int | None = None


@dataclass(frozen=True)
class GroundingIssue:
    """Why a cue was rejected: ``kind`` (one of :data:`ISSUE_KINDS`) and a one-line ``detail``."""

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
    """Numbers cited in ``text`` (digits or words) with units, skipping rep references, rep counts
    and ordinals. Frame references ("frame 123") get unit "frame"."""
    text = normalize_numbers(text)
    skip = [
        m.span() for m in (*_REP_REF.finditer(text), *_REP_COUNT.finditer(text), *_ORDINAL_REP.finditer(text))
    ]
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
        before = text[:start]
        out.append(
            CitedNumber(
                value,
                decimals,
                unit,
                text[start:end],
                bool(_TARGET_BEFORE.search(before)),
                bool(_HEDGE_BEFORE.search(before)),
                start,
                end,
                bool(_SIGN_IN_WORDS_AFTER.match(text[end:]) or _SIGN_IN_WORDS_BEFORE.search(before)),
            )
        )
    return out


def rep_references(text: str) -> list[int]:
    """Rep numbers named in ``text`` ("rep 2", "reps 1 and 3", "reps 1-3", "2nd rep", "rep two")."""
    text = normalize_numbers(text)
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
    return [int(m.group(1)) for m in _REP_COUNT.finditer(normalize_numbers(text))]


# --- matching ----------------------------------------------------------------------------------

#: Which reference unit classes a cited unit may match ("none": written without a unit).
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
    "none": ("deg", "body", "cm", "px", "s", "frame", "count", "none"),
}


def tolerance(cited: CitedNumber) -> float:
    """How far a reference may be from ``cited``: half a unit of the last digit written; a hedged
    round number ("about 100") ±5, another hedged number ±1 unit of its last digit."""
    tol = 0.5 * 10 ** (-cited.decimals)
    if cited.hedged:
        if cited.decimals == 0 and cited.value != 0 and cited.value % 10 == 0:
            tol = 5.0
        else:
            tol = 2 * tol
    return tol + 1e-9


def matches(cited: CitedNumber, ref: ReferenceValue, *, signless: bool = False) -> bool:
    """``cited`` equals ``ref`` in a compatible unit, to the precision written (``signless``:
    compare magnitudes only)."""
    if ref.unit not in CITED_UNIT_MATCHES.get(cited.unit, ()):
        return False
    a, b = (abs(cited.value), abs(ref.value)) if signless else (cited.value, ref.value)
    return abs(a - b) <= tolerance(cited)


# --- what the data says ------------------------------------------------------------------------

#: Unit of a finding or metric (``vocabulary.UNITS``) -> the class of units a cue may write for it.
#: A torso-length ratio is in the data as a percentage (as every view shows it), so a cue writes "%".
UNIT_OF_FINDING = {
    "deg": "deg",
    "body_lengths": "body",
    "torso_lengths": "pct",
    "px": "px",
    "cm": "cm",
    "s": "s",
    "": "none",
}


def unit_of_metric(name: str, units: Mapping[str, str] | None = None) -> str:
    """Unit class of a metric ("deg", "body", "pct", "px", "cm", "s", "none"): from the data's
    ``metric_units`` when it names one (``back_flexion_rel``: torso lengths, in the data as %),
    else from its name's suffix."""
    return UNIT_OF_FINDING.get((units or {}).get(name) or unit_of(name), "none")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _reps(data: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {r.get("rep"): r for r in data.get("reps", ())}


def _pull_name(data: Mapping[str, Any], rep: int) -> str:
    """Pull ``rep`` as every view names it ("rep 2", "partial pull 1": the data's ``name``)."""
    return str(_reps(data).get(rep, {}).get("name") or f"rep {rep}")


def findings_in(
    data: Mapping[str, Any], reps: Iterable[int] | None
) -> list[tuple[int | None, Mapping[str, Any]]]:
    """(rep, finding dict) for the findings of ``reps`` (None: every rep) plus the set findings."""
    wanted = None if reps is None else set(reps)
    out = [
        (r.get("rep"), f)
        for r in data.get("reps", ())
        if wanted is None or r.get("rep") in wanted
        for f in r.get("findings", ())
    ]
    return out + [(None, f) for f in data.get("set_findings", ())]


def metric_values(
    data: Mapping[str, Any], metric: str, reps: Iterable[int] | None
) -> list[tuple[int, float]]:
    """(rep, value) of ``metric`` in ``reps`` (None: every rep), as the data shows it."""
    wanted = None if reps is None else set(reps)
    out = []
    for r in data.get("reps", ()):
        if wanted is None or r.get("rep") in wanted:
            v = _num(r.get("metrics", {}).get(metric))
            if v is not None:
                out.append((r.get("rep"), v))
    return out


def _metric_refs(
    name: str, rep: int | None, v: float, units: Mapping[str, str] | None = None
) -> list[ReferenceValue]:
    unit = unit_of_metric(name, units)
    refs = [ReferenceValue(v, unit, "metric", name, rep)]
    if unit == "body":
        refs.append(ReferenceValue(v * 100, "pct", "percent", name, rep))
    if unit == "deg" and "angle" in name:
        refs.append(ReferenceValue(180 - v, "deg", "short_of_straight", name, rep))
    return refs


def cue_references(
    data: Mapping[str, Any], metric: str | None, rule_id: str | None, reps: Iterable[int] | None
) -> list[ReferenceValue]:
    """The numbers a cue tied to ``metric`` (and ``rule_id``) in ``reps`` (None: the whole set)
    may cite: see the module docstring."""
    refs: list[ReferenceValue] = []
    values = metric_values(data, metric, reps) if metric else []
    units = data.get("metric_units")
    for rep_no, v in values:
        refs += _metric_refs(metric or "", rep_no, v, units)
    for i, (_, a) in enumerate(values):  # the change of the metric between reps
        for _, b in values[i + 1 :]:
            refs.append(
                ReferenceValue(abs(a - b), unit_of_metric(metric or "", units), "change", metric, None)
            )
    for n, f in findings_in(data, reps):
        if not (f.get("rule_id") == rule_id if rule_id else (metric and f.get("metric") == metric)):
            continue
        unit = UNIT_OF_FINDING.get(f.get("unit", ""), "none")
        value, threshold = _num(f.get("value")), _num(f.get("threshold"))
        if value is not None:
            refs.append(ReferenceValue(value, unit, "finding_value", f.get("metric"), n))
        if threshold is not None:
            refs.append(ReferenceValue(threshold, unit, "threshold", f.get("metric"), n))
            if unit == "body":
                refs.append(ReferenceValue(threshold * 100, "pct", "threshold", f.get("metric"), n))
        if value is not None and threshold is not None:
            refs.append(ReferenceValue(abs(value - threshold), unit, "excess", f.get("metric"), n))
            if unit == "body":
                refs.append(ReferenceValue(abs(value - threshold) * 100, "pct", "excess", f.get("metric"), n))
        if (t := _num(f.get("t_s"))) is not None:
            refs.append(ReferenceValue(t, "s", "moment_time", f.get("metric"), n))
        if (o := _num(f.get("moment_offset_s"))) is not None:  # "0.6 s before lockout"
            refs.append(ReferenceValue(abs(o), "s", "moment_offset", f.get("metric"), n))
        if rule_id and f.get("rule_id") == rule_id:  # the rule's own cue and message are data too
            for text in (f.get("rule_cue"), f.get("message")):
                refs += [
                    ReferenceValue(c.value, c.unit, "rule_text", f.get("metric"), n)
                    for c in extract_numbers(text or "")
                ]
    return refs


def other_metric_references(
    data: Mapping[str, Any], metric: str | None, reps: Iterable[int] | None
) -> list[ReferenceValue]:
    """Values of every *other* metric in ``reps`` (to name the metric a misattributed number is from)."""
    refs = []
    wanted = None if reps is None else set(reps)
    for r in data.get("reps", ()):
        if wanted is not None and r.get("rep") not in wanted:
            continue
        for name, value in r.get("metrics", {}).items():
            if name != metric and (v := _num(value)) is not None:
                refs += _metric_refs(name, r.get("rep"), v, data.get("metric_units"))
    view = data.get("view") or {}
    if (c := _num(view.get("confidence"))) is not None:
        refs += [
            ReferenceValue(c, "none", "view confidence"),
            ReferenceValue(c * 100, "pct", "view confidence"),
        ]
    return refs


# --- what the words say ------------------------------------------------------------------------

#: Body-part words per metric family (a family applies to a metric whose name contains its key).
BODY_WORDS: tuple[tuple[str, str], ...] = (
    ("elbow", r"elbows?|arms?"),
    ("hip_angle", r"hips?|glutes?"),
    ("knee", r"knees?|legs?"),
    ("torso_lean", r"torso|chest|trunk|lean(?:ing|ed)?"),
    ("bar_drift", r"bar|drift(?:ed|s)?|hands?"),
    ("heel", r"heels?|toes?"),
    ("hip_rise", r"hips?|shoulders?"),
)
_BODY_RE = re.compile(
    r"\b(" + "|".join(f"(?P<f{i}>{w})" for i, (_, w) in enumerate(BODY_WORDS)) + r")\b", re.IGNORECASE
)

#: Advice that pushes a metric up / down, per metric family (the key is a part of the metric
#: name). A fault whose value is below its threshold needs "up"; advice matching "down" for it
#: (not negated) contradicts the finding, and the other way round.
PUSHES: dict[str, dict[str, str]] = {
    "elbow": {
        "up": r"straighten (?:your |the )?(?:arms?|elbows?)|lock (?:your |the )?(?:arms?|elbows?)|long arms",
        "down": r"bend (?:your |the )?(?:arms?|elbows?)|bend (?:them )?more|(?:arms?|elbows?) bent|pull with (?:your )?(?:arms|biceps)"
        r"|curl (?:the bar|it)|row (?:the bar|it)",
    },
    "hip_angle": {
        "up": r"stand tall|lock ?out|finish (?:the|your|each) (?:rep|lift|pull)|squeeze (?:your |the )?glutes|"
        r"(?:push|drive|thrust) (?:your |the )?hips (?:through|forward)",
        "down": r"bend (?:more )?(?:at |your |the )?hips? (?:more|further)|stay (?:bent|short)|stop short|hinge (?:more|further) at the top"
        r"|(?:don'?t|do not) (?:lock ?out|stand (?:tall|up)|finish)",
    },
    "knee": {
        "up": r"straighten (?:your |the )?(?:knees?|legs?)|lock (?:your |the )?knees",
        "down": r"bend (?:your |the )?knees? (?:more|further)|soft(?:er)? knees|keep (?:your |the )?knees bent",
    },
    "torso_lean_liftoff": {
        "up": r"lean (?:more |further )?(?:forward|over)|chest (?:down|over)|(?:shoulders|chest) (?:further |more )?(?:over|forward)"
        r"|more horizontal",
        "down": r"chest up|lift (?:your |the )?chest|(?:more|stay) upright|hips? (?:down|lower)",
    },
    "torso_lean_lockout": {
        "up": r"lean (?:more |further )?forward",
        "down": r"lean (?:further |more )?back|arch (?:more|back|your back)|(?:push|drive|thrust) (?:your |the )?hips (?:further |more )?"
        r"(?:forward|through)|over-?extend",
    },
    "bar_drift": {
        "up": r"(?:let|allow) (?:the )?bar (?:drift|swing|move|travel)|(?:push|move|swing|hold|keep) (?:the )?bar (?:away|out|forward|further)"
        r"|bar (?:further|farther) (?:from|away)",
        "down": r"(?:keep|pull) (?:the )?bar (?:close|in|tight)|bar against",
    },
    "hip_rise": {
        "up": r"(?:hips?|butt) (?:up |rise |shoot (?:up )?)?first|raise (?:your )?hips (?:first|before)|lead with (?:your )?hips"
        r"|shoot (?:your |the )?hips",
        "down": r"(?:hips and shoulders|chest and hips) (?:rise )?together",
    },
    "heel": {
        "up": r"(?:on|onto) (?:your )?toes|lift (?:your )?heels|heels? (?:up|off)|rise on",
        "down": r"heels? (?:down|planted|on the floor)|(?:whole|full|flat) foot",
    },
}
_NEGATION_BEFORE = re.compile(
    r"\b(?:don'?t|do not|never|avoid|stop|no|not|without|instead of|rather than|less)\s+(?:\w+\s+){0,2}$",
    re.IGNORECASE,
)
_PRAISE = re.compile(
    r"\b(?:good|great|nice|solid|excellent|perfect|fine|ok(?:ay)?|well\s+done|keep\s+(?:it\s+)?up|keep\s+doing|"
    r"spot[\s-]on|on\s+point|no\s+(?:need|problem|issue)s?|nothing\s+to\s+(?:fix|change))\b",
    re.IGNORECASE,
)
_NOT_BEFORE = re.compile(
    r"\b(?:not|isn'?t|wasn'?t|aren'?t|weren'?t|never|no longer)\s+(?:\w+\s+)?$", re.IGNORECASE
)


def _family(metric: str | None, table: Iterable[str]) -> list[str]:
    return [k for k in table if metric and k in metric]


def advice_pushes(text: str, metric: str | None) -> set[str]:
    """Which ways ("up"/"down") the advice in ``text`` pushes ``metric``; negated advice is ignored."""
    found = set()
    for fam in _family(metric, PUSHES):
        for way, pattern in PUSHES[fam].items():
            for m in re.finditer(r"\b(?:" + pattern + r")\b", text, re.IGNORECASE):
                if not _NEGATION_BEFORE.search(text[: m.start()]):
                    found.add(way)
    return found


def praises(text: str) -> bool:
    """``text`` praises (not "not good")."""
    return any(not _NOT_BEFORE.search(text[: m.start()]) for m in _PRAISE.finditer(text))


def _body_word_before(text: str, start: int) -> tuple[str, list[str]] | None:
    """The last body-part word in the clause before offset ``start`` and the families it names."""
    clause = re.split(r"[.;:,!?\n]|\band\b|\bbut\b|\bwhile\b", text[:start])[-1][-40:]
    hits = list(_BODY_RE.finditer(clause))
    if not hits:
        return None
    m = hits[-1]
    fams = [
        BODY_WORDS[i][0]
        for i in range(len(BODY_WORDS))
        if re.fullmatch(BODY_WORDS[i][1], m.group(0), re.IGNORECASE)
    ]
    return m.group(0), fams


# --- the check ---------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return f"{v:g}"


def check_cue(
    item: Mapping[str, Any],
    data: Mapping[str, Any],
    refs: Sequence[ReferenceValue] | None = None,
    seen_texts: Iterable[str] = (),
) -> list[GroundingIssue]:
    """Issues that make ``item`` (one model cue) unfit to show; empty when it is grounded.

    ``refs`` is accepted for compatibility and ignored (a cue's references depend on its own
    fields: :func:`cue_references`). ``seen_texts``: earlier accepted cue texts (near-duplicates
    are rejected; duplicates by (rule, rep) are :func:`check_cues`' job)."""
    del refs
    issues: list[GroundingIssue] = []
    cue_text = normalize_numbers(str(item.get("cue", "")))
    text = normalize_numbers(f"{item.get('cue', '')}\n{item.get('why', '')}")
    metric, rep, rule_id = item.get("metric"), item.get("rep"), item.get("rule_id")
    reps = _reps(data)

    if any(_similar(cue_text, normalize_numbers(s)) for s in seen_texts):
        issues.append(GroundingIssue("duplicate", "repeats an earlier cue"))
    # structure
    if rep is not None and rep not in reps:
        issues.append(
            GroundingIssue("unknown_rep", f"refers to rep {rep}, but only reps {sorted(reps)} were measured")
        )
    named = rep_references(text)
    for n in named:
        if n not in reps:
            issues.append(GroundingIssue("unknown_rep", f"mentions rep {n}, which does not exist"))
    for n in rep_counts(text):
        if n > len(reps):
            issues.append(
                GroundingIssue("ungrounded_number", f"speaks of {n} reps, but {len(reps)} were measured")
            )
    scope = None if rep is None and not named else {*({rep} if rep is not None else ()), *named}
    where = f" in {_pull_name(data, rep)}" if rep is not None else ""
    if metric and not metric_values(data, metric, None if rep is None else {rep}):
        issues.append(GroundingIssue("unmeasured_metric", f"{metric_label(metric)} was not measured{where}"))
    rule_findings = [
        f
        for _, f in findings_in(data, None if rep is None else {rep})
        if rule_id and f.get("rule_id") == rule_id
    ]
    if rule_id and not rule_findings:
        issues.append(GroundingIssue("no_finding", f"the rule {rule_title(rule_id)} has no finding{where}"))
    rule_metrics = {str(f["metric"]) for f in rule_findings if f.get("metric")}
    if metric and rule_metrics and metric not in rule_metrics:
        issues.append(
            GroundingIssue(
                "metric_mismatch",
                f"the cue is tied to {metric_label(metric)}, but {rule_title(str(rule_id))} reads "
                + ", ".join(sorted(metric_label(m) for m in rule_metrics)),
            )
        )

    # numbers
    own = cue_references(data, metric, rule_id, scope)
    others = other_metric_references(data, metric, scope)
    own_fams = _family(metric, dict(BODY_WORDS))
    cited = extract_numbers(text)
    if not cited:
        issues.append(GroundingIssue("no_number", "quotes no measured number"))
    for c in cited:
        unit = {"none": "", "frame": " (frame)", "pct": "%", "deg": "°"}.get(c.unit, f" {c.unit}")
        hits = [r for r in own if matches(c, r)]
        if c.is_target and metric:
            measured = [
                r for r in own if r.kind == "metric" and (rep is None or r.rep == rep) and matches(c, r)
            ]
            if measured and not any(r.kind == "threshold" for r in hits):
                issues.append(
                    GroundingIssue(
                        "restated_target", f"target {c.text}{unit} is the measured {metric} restated"
                    )
                )
                continue
        if hits:
            body = _body_word_before(text, c.start)
            if body and own_fams and not set(body[1]) & set(own_fams):
                issues.append(
                    GroundingIssue(
                        "wrong_metric", f"{c.text}{unit} is {metric}, but the text says {body[0]!r}"
                    )
                )
            continue
        signless = [r for r in own if matches(c, r, signless=True)]
        if signless and not (c.sign_in_words and any(r.value < 0 for r in signless)):
            r = signless[0]
            issues.append(
                GroundingIssue(
                    "wrong_sign", f"{c.text}{unit} drops the sign: {r.metric} was {_fmt(r.value)}{unit}"
                )
            )
            continue
        if signless:
            continue
        theirs = [r for r in others if matches(c, r)]
        if theirs:
            r = theirs[0]
            what = metric_label(r.metric) if r.metric else r.kind
            issues.append(
                GroundingIssue(
                    "wrong_metric",
                    f"{c.text}{unit} is {what}{f' of {_pull_name(data, r.rep)}' if r.rep else ''}, "
                    f"not {metric_label(metric) if metric else rule_title(str(rule_id))}",
                )
            )
            continue
        issues.append(
            GroundingIssue(
                "ungrounded_number",
                f"{c.text}{unit} is not a measured value of {metric or 'this cue'}{where}",
            )
        )

    # meaning
    scoped_at = [
        (n, f)
        for n, f in findings_in(data, scope)
        if (f.get("rule_id") == rule_id if rule_id else metric and f.get("metric") == metric)
    ]
    scoped = [f for _, f in scoped_at]
    statuses = [f.get("status") for f in scoped]
    praise = praises(cue_text)
    if statuses and all(s == NOT_MEASURABLE for s in statuses):
        issues.append(GroundingIssue("contradicts_finding", f"{rule_id or metric} was not measurable{where}"))
    elif rule_id and statuses and all(s == OK for s in statuses) and not praise:
        issues.append(
            GroundingIssue(
                "contradicts_finding", f"asks to fix {rule_id}, but it was within threshold{where}"
            )
        )
    elif praise and FAULT in statuses:
        issues.append(
            GroundingIssue("contradicts_finding", f"praises {rule_id or metric}, which is a fault{where}")
        )
    for at_rep, f in scoped_at:
        value, threshold = _num(f.get("value")), _num(f.get("threshold"))
        if f.get("status") != FAULT or value is None or threshold is None or value == threshold:
            continue
        need = "up" if value < threshold else "down"
        shown = [
            v for _rep, v in metric_values(data, f.get("metric") or "", None if at_rep is None else {at_rep})
        ]
        if shown and abs(value + shown[0]) < abs(value - shown[0]):
            need = {"up": "down", "down": "up"}[
                need
            ]  # the rule compares the metric negated (lean back = -lean)
        wrong = ({"up", "down"} - {need}).pop()
        if wrong in advice_pushes(cue_text, f.get("metric") or metric):
            verb = "raise" if need == "up" else "lower"
            issues.append(
                GroundingIssue(
                    "wrong_direction",
                    f"the advice goes the wrong way: the fix for {f.get('rule_id')} is to "
                    f"{verb} {f.get('metric')} ({_fmt(value)} vs limit {_fmt(threshold)})",
                )
            )
            break
    return list(dict.fromkeys(issues))  # the same number in "cue" and "why" is one issue


_STOP = frozenset("a an the your you to of and at in on it is was for with this that be as by".split())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOP}


def _similar(a: str, b: str) -> bool:
    """Near-identical wording: the content words overlap by 80 % or more (Jaccard)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return len(wa & wb) / len(wa | wb) >= 0.8


def cue_key(item: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """What a cue is about: (rule id, or the metric when it names no rule; rep)."""
    return item.get("rule_id") or item.get("metric"), item.get("rep")


def check_cues(
    items: Sequence[Mapping[str, Any]], data: Mapping[str, Any], extra_text: Sequence[str] = ()
) -> list[tuple[Mapping[str, Any], list[GroundingIssue]]]:
    """:func:`check_cue` for each item in order, plus duplicates: a cue on the same (rule or
    metric, rep) as an earlier accepted one is merged into it (``duplicate``)."""
    del extra_text
    accepted: list[Mapping[str, Any]] = []
    out = []
    for item in items:
        issues = check_cue(item, data, None, [str(a.get("cue", "")) for a in accepted])
        first = next((a for a in accepted if cue_key(a) == cue_key(item)), None)
        if first is not None and not any(i.kind == "duplicate" for i in issues):
            key, rep = cue_key(item)
            issues.append(
                GroundingIssue(
                    "duplicate",
                    f"a second cue on {key}{f' {_pull_name(data, rep)}' if rep else ''} (merged into the first)",
                )
            )
        if not issues:
            accepted.append(item)
        out.append((item, issues))
    return out


# --- free-text reasons (LLM-only flags) ---------------------------------------------------------


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
    """Every number the model saw in ``data`` (and ``extra_text``) with unit classes, plus derived
    values: what a free-text reason (no schema fields to tie it to a metric) may cite."""
    refs: list[ReferenceValue] = []
    for rep in data.get("reps", ()):
        n = rep.get("rep")
        for name, value in rep.get("metrics", {}).items():
            if (v := _num(value)) is not None:
                refs += _metric_refs(name, n, v, data.get("metric_units"))
        for series in rep.get("series", {}).values():
            vals = [series.get("min"), series.get("max"), *series.get("at", {}).values()]
            refs += [ReferenceValue(v, "none", "series", None, n) for x in vals if (v := _num(x)) is not None]
    for _, f in findings_in(data, None):
        refs += cue_references({"reps": [], "set_findings": [f]}, f.get("metric"), f.get("rule_id"), None)
    for name in {m for r in data.get("reps", ()) for m in r.get("metrics", {})}:
        refs += [r for r in cue_references(data, name, None, None) if r.kind == "change"]
    view = data.get("view") or {}
    if (c := _num(view.get("confidence"))) is not None:
        refs.append(ReferenceValue(c, "none", "other"))
    if (h := _num(data.get("lifter_height_cm"))) is not None:
        refs.append(ReferenceValue(h, "cm", "other"))
    reps = data.get("reps", ())
    refs.append(ReferenceValue(float(data.get("reps_found", len(reps))), "count", "count"))  # complete reps
    if len(reps) != data.get("reps_found", len(reps)):  # and every pull, partial ones included
        refs.append(ReferenceValue(float(len(reps)), "count", "count"))
    for text in [*_strings(data), *extra_text]:
        refs += [ReferenceValue(cited.value, cited.unit, "text") for cited in extract_numbers(text)]
    return refs


def check_reason(text: str, data: Mapping[str, Any], refs: Sequence[ReferenceValue]) -> list[GroundingIssue]:
    """Number and rep checks for a free-text reason (LLM-only flags): every number must be one the
    model saw, in a compatible unit, within the precision written."""
    issues = []
    rep_numbers = set(_reps(data))
    for n in rep_references(text):
        if n not in rep_numbers:
            issues.append(GroundingIssue("unknown_rep", f"mentions rep {n}, which does not exist"))
    for c in extract_numbers(text):
        if not any(matches(c, r) for r in refs):
            issues.append(GroundingIssue("ungrounded_number", f"{c.text} is not a measured value"))
    return issues
