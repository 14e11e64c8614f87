"""Verdicts: which faults matter most, and whether a rep or a set is clean or needs work."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..findings import Finding, Verdict
from ..vocabulary import (
    CLEAN,
    FAULT,
    NEEDS_WORK,
    NOTE,
    OK,
    SEVERITIES,
    UNCLEAR,
    WARNING,
    Severity,
    VerdictLabel,
    VerdictRole,
)

if TYPE_CHECKING:
    from ..biomech.body import Rep

#: Severity at or above which a fault makes a rep "needs work".
NEEDS_WORK_FROM: Severity = "moderate"


def severity_rank(severity: str) -> int:
    """Index of ``severity`` in :data:`SEVERITIES` (higher = more serious; unknown = -1)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def exceedance(f: Finding) -> float:
    """How far past its threshold a finding is, relative to the threshold (0 if unknown)."""
    if f.value is None or f.threshold is None or not math.isfinite(f.threshold):
        return 0.0
    return abs(f.value - f.threshold) / max(abs(f.threshold), 1e-9)


def finding_priority(f: Finding) -> tuple[int, float]:
    """Sort key, most critical first when used with ``reverse=True``: severity, then exceedance."""
    return severity_rank(f.severity), exceedance(f)


#: A fault less than this share past its limit is borderline: about the frame-to-frame noise of
#: the keypoint metrics (1-2° of torso lean within a still set-up against a 75° limit is 2-3 %).
BORDERLINE_REL = 0.05
#: In a set of at least this many reps, a single rep whose only faults are borderline (and not
#: "major") does not make the set "needs work": one borderline reading is not a pattern.
MIN_REPS_FOR_DOUBT = 3


def is_borderline(f: Finding) -> bool:
    """A fault just past its limit (less than :data:`BORDERLINE_REL`) and not "major"."""
    return severity_rank(f.severity) < severity_rank("major") and exceedance(f) < BORDERLINE_REL


def serious_fault(f: Finding) -> bool:
    """A fault at least :data:`NEEDS_WORK_FROM` (whatever the pose confidence it was read at)."""
    return f.is_fault and severity_rank(f.severity) >= severity_rank(NEEDS_WORK_FROM)


def counts_as_fault(f: Finding) -> bool:
    """A fault that can make a rep "needs work": :func:`serious_fault` and not read at low
    confidence (that one is a warning: reported and cued, but it does not judge the rep)."""
    return serious_fault(f) and not f.low_confidence


def flags_rule(f: Finding) -> bool:
    """The rule flagged this rep: a fault of any severity read at a confident pose. What a rule is
    scored on against labels (``compare``, ``batch --labels``, ``scripts/evaluate_rules.py``) and
    what the threshold sweep counts; a low-confidence "warning" is not a flag, a minor "note" is
    (the rule said so; the verdict only weighs it less, :func:`counts_as_fault`)."""
    return f.is_fault and not f.low_confidence


def verdict_role(f: Finding) -> VerdictRole:
    """How ``f`` counts toward its rep's verdict, by :func:`counts_as_fault` (the verdict's own
    test): "fault" (it counts), "warning" (a fault read at low pose confidence), "note" (a fault
    below :data:`NEEDS_WORK_FROM`, e.g. made "minor" by ``Rule.minor_when_ok``), else its status
    ("ok", "not_measurable"). Every view shows this role in the words of
    :data:`~formcheck_core.vocabulary.ROLE_WORDS`, so none says "fault" for what the verdict
    does not count."""
    if not f.is_fault:
        return f.status
    if counts_as_fault(f):
        return FAULT
    return WARNING if f.low_confidence else NOTE


#: The verdict roles of findings that :func:`flags_rule` (a fault, or a minor note: not a warning).
FLAG_ROLES: tuple[VerdictRole, ...] = (FAULT, NOTE)


def verdicts(
    findings: Sequence[Finding],
    reps: Sequence[Rep],
    *,
    counts: Callable[[Finding], bool] = counts_as_fault,
) -> tuple[Verdict, ...]:
    """Per-rep verdicts then the set verdict (``rep`` None).

    A rep "needs work" if any fault is at least "moderate" and was not read at low pose
    confidence (:func:`counts_as_fault`; a low-confidence fault is a warning); it is "clean" if
    some rule measured it and no such fault fired; "unclear" if no rule could measure anything on it. The set
    "needs work" if any rep does -- except that in a set of :data:`MIN_REPS_FOR_DOUBT` or more
    reps, one rep whose only such faults are borderline (:func:`is_borderline`) leaves the set
    "clean" (the fault is still reported and cued). Its top finding is the most critical fault.
    ``counts``: the test in place of :func:`counts_as_fault` (``scripts/evaluate_rules.py``
    measures what severity and confidence change by passing e.g. ``Finding.is_fault``).
    """
    out: list[Verdict] = []
    all_faults: list[Finding] = []
    for rep in reps:
        mine = [f for f in findings if f.rep == rep.number]
        faults = sorted((f for f in mine if f.is_fault), key=finding_priority, reverse=True)
        all_faults.extend(faults)
        label: VerdictLabel
        if any(counts(f) for f in faults):
            label = NEEDS_WORK
        elif any(f.status in (FAULT, OK) for f in mine):
            label = CLEAN
        else:
            label = UNCLEAR
        out.append(Verdict(rep=rep.number, label=label, top_finding=faults[0] if faults else None))
    if out:
        labels = {v.label for v in out}
        label = NEEDS_WORK if NEEDS_WORK in labels else (CLEAN if CLEAN in labels else UNCLEAR)
        flagged = [v.rep for v in out if v.label == NEEDS_WORK]
        serious = [f for f in all_faults if f.rep in flagged and counts(f) and not is_borderline(f)]
        if len(flagged) == 1 and not serious and len(reps) >= MIN_REPS_FOR_DOUBT:
            label = CLEAN  # one borderline reading in a set of several reps
        top = max(all_faults, key=finding_priority) if all_faults else None
        out.append(Verdict(rep=None, label=label, top_finding=top))
    return tuple(out)
