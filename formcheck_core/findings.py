"""Value types the rules produce: findings, rule errors and verdicts (read by coach, LLM, render)."""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import FAULT, SEVERITIES, Severity, Status, VerdictLabel, rule_title

__all__ = ["LOW_CONFIDENCE", "SEVERITIES", "Finding", "RuleError", "Verdict"]

#: Pose confidence (0-1) below which a metric reading, and a finding resting on it, is "low
#: confidence" (see :mod:`formcheck_core.biomech.quality`, which computes the confidence).
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Finding:
    """One rule's result for one rep.

    ``status`` is "fault" (the rule fired), "ok" (measured, within threshold) or "not_measurable"
    (the view or data cannot support the measurement; ``message`` says why). ``value`` and
    ``threshold`` are in ``unit`` (e.g. "deg", "body_lengths"). ``confidence`` (0-1) is the
    pose confidence of the reading the finding rests on (None when unknown, e.g. a span metric or
    a plugin metric); ``quality`` its mark ("low confidence: left knee hidden", "" when fine), the
    same text the metric's reading shows everywhere (see :mod:`formcheck_core.biomech.quality`).
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
    confidence: float | None = None
    quality: str = ""
    #: The rule's name for people (``Rule.title``: "Rounded back"); text shows it, never the id.
    title: str = ""

    @property
    def name(self) -> str:
        """The rule's name in user text: ``title``, else the id in words ("Rounded back")."""
        return self.title or rule_title(self.rule_id)

    @property
    def is_fault(self) -> bool:
        return self.status == FAULT

    @property
    def low_confidence(self) -> bool:
        """Read at low pose confidence: a joint hidden, jittering or out of the frame."""
        return self.confidence is not None and self.confidence < LOW_CONFIDENCE


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
