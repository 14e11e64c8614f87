"""The coaching cue value type, shared by the deterministic coach and the LLM coach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .vocabulary import NOTE, ROLE_WORDS, WARNING


@dataclass(frozen=True)
class Cue:
    """One prioritised coaching cue (priority 1 = fix first), tied to a measured number.

    ``source`` is "rules" (deterministic coach), "llm" (model output that passed the grounding
    check) or "test-model" (output of a tiny test model: never advice). ``source_detail`` says
    where it came from in words: "Bent arms rule", "LLM SmolLM2 135M Instruct (Q4_1)", "Bent
    arms rule (fallback)", "Incomplete lockout rule (added: no model cue covered this fault)" (a
    rule by its title; ``rule_id`` keeps its id).
    ``pull`` names the
    pull ("partial pull 1" for a finding on a partial pull). ``fallback_reason`` says why the LLM was not used, for rule cues given in its place (the same
    reason on every cue of one answer; presenters show it once).
    """

    priority: int
    text: str
    why: str
    rule_id: str | None = None
    rep: int | None = None
    metric: str | None = None
    value: float | None = None
    unit: str = ""
    moment: str | None = None
    frame_index: int | None = None
    time_s: float | None = None
    source: str = "rules"
    source_detail: str = ""
    fallback_reason: str = ""
    #: The pull in words, as every view names it: "rep 2" or "partial pull 1" ("" for the set;
    #: :meth:`~formcheck_core.result.Analysis.pull_label`).
    pull: str = ""
    #: How the finding the cue is about counts toward the verdict (its ``verdict_role``: "fault",
    #: "note", "warning", "ok"; "" for a cue on no finding): views tag a "note" or "warning" cue
    #: so that no cue on an uncounted fault reads as a fault.
    role: str = ""
    #: The rule's name for people (its ``Rule.title``, "Rounded back"; "" for a cue on no rule):
    #: views name the rule by it, never by ``rule_id``.
    rule_title: str = ""

    @property
    def role_tag(self) -> str:
        """ "note" / "warning" for a cue on a fault the verdict does not count (the role's word in
        :data:`~formcheck_core.vocabulary.ROLE_WORDS`), else "" (presenters show it before the cue)."""
        return ROLE_WORDS[self.role].word if self.role in (NOTE, WARNING) else ""

    @property
    def where(self) -> str:
        """The pull the cue is about, for presenters: ``pull``, else "rep N" from ``rep``, else ""."""
        return self.pull or (f"rep {self.rep}" if self.rep is not None else "")


def fallback_reason(cues: Sequence[Cue]) -> str:
    """Why the LLM was not used for these cues ("" when it was, or was never asked)."""
    return next((c.fallback_reason for c in cues if c.fallback_reason), "")
