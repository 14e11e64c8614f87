"""Value types the rules produce: findings, rule errors and verdicts (read by coach, LLM, render)."""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import FAULT, SEVERITIES, Severity, Status, VerdictLabel

__all__ = ["SEVERITIES", "Finding", "RuleError", "Verdict"]


@dataclass(frozen=True)
class Finding:
    """One rule's result for one rep.

    ``status`` is "fault" (the rule fired), "ok" (measured, within threshold) or "not_measurable"
    (the view or data cannot support the measurement; ``message`` says why). ``value`` and
    ``threshold`` are in ``unit`` (e.g. "deg", "body_lengths").
    """

    rule_id: str
    rep: int | None
    status: Status
    severity: Severity
    message: str
    moment: str | None = None
    frame_index: int | None = None
    time_s: float | None = None
    value: float | None = None
    threshold: float | None = None
    unit: str = ""
    #: The metric the rule read (a key of ``Rep.metrics``).
    metric: str | None = None
    #: Short gym-language cue for this fault (rendered from the rule's cue template).
    cue: str = ""

    @property
    def is_fault(self) -> bool:
        return self.status == FAULT


@dataclass(frozen=True)
class RuleError:
    """A rule that raised, returned garbage or ran too long; it was skipped."""

    rule_id: str
    plugin: str
    error: str


@dataclass(frozen=True)
class Verdict:
    """ "clean" or "needs work" for a rep (``rep`` set) or the whole set (``rep`` None)."""

    rep: int | None
    label: VerdictLabel
    top_finding: Finding | None = None
