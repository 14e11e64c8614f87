"""Verdicts: which faults matter most, and whether a rep or a set is clean or needs work."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..findings import Finding, Verdict
from ..vocabulary import CLEAN, FAULT, NEEDS_WORK, OK, SEVERITIES, UNCLEAR, Severity, VerdictLabel

if TYPE_CHECKING:
    from ..body import Rep

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


def verdicts(findings: Sequence[Finding], reps: Sequence[Rep]) -> tuple[Verdict, ...]:
    """Per-rep verdicts then the set verdict (``rep`` None).

    A rep "needs work" if any fault is at least "moderate"; it is "clean" if some rule measured
    it and no such fault fired; "unclear" if no rule could measure anything on it. The set
    "needs work" if any rep does; its top finding is the most critical fault of the set.
    """
    need = severity_rank(NEEDS_WORK_FROM)
    out: list[Verdict] = []
    all_faults: list[Finding] = []
    for rep in reps:
        mine = [f for f in findings if f.rep == rep.number]
        faults = sorted((f for f in mine if f.is_fault), key=finding_priority, reverse=True)
        all_faults.extend(faults)
        label: VerdictLabel
        if any(severity_rank(f.severity) >= need for f in faults):
            label = NEEDS_WORK
        elif any(f.status in (FAULT, OK) for f in mine):
            label = CLEAN
        else:
            label = UNCLEAR
        out.append(Verdict(rep=rep.number, label=label, top_finding=faults[0] if faults else None))
    if out:
        labels = {v.label for v in out}
        label = NEEDS_WORK if NEEDS_WORK in labels else (CLEAN if CLEAN in labels else UNCLEAR)
        top = max(all_faults, key=finding_priority) if all_faults else None
        out.append(Verdict(rep=None, label=label, top_finding=top))
    return tuple(out)
