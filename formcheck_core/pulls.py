"""Partial pulls in words, once for every view: what the clip holds and what the set verdict means.

Complete reps are named "rep 1, rep 2, ..." and partial pulls "partial pull 1, ..."
(:func:`~formcheck_core.vocabulary.pull_label`); each partial pull carries its reason, whose head
(:func:`~formcheck_core.vocabulary.partial_kind`) is the short form views show ("never reached
lockout"). The summary, report, explorer, LLM data and CLI read these texts; none words them again.
"""

from __future__ import annotations

from .biomech.body import Rep
from .result import Analysis
from .vocabulary import PARTIAL_PULL, counted, partial_kind

__all__ = ["no_rep_note", "partial_note", "pull_heading", "set_verdict_text"]


def partial_note(analysis: Analysis) -> str:
    """The clip's partial pulls with their short reasons: "1 partial pull (never reached lockout)",
    "2 partial pulls (cut by the clip; not from the floor)"; "" when there is none."""
    pulls = analysis.partial_pulls
    if not pulls:
        return ""
    kinds = "; ".join(dict.fromkeys(partial_kind(p.partial_reason) or "incomplete" for p in pulls))
    return f"{counted(len(pulls), PARTIAL_PULL)} ({kinds})"


def pull_heading(analysis: Analysis, pull: Rep) -> str:
    """A pull's name, with a partial pull's short reason: "rep 2", "partial pull 1 (never reached lockout)"."""
    name = analysis.pull_label(pull.number)
    kind = partial_kind(pull.partial_reason) if not pull.complete else ""
    return f"{name} ({kind})" if kind else name


def no_rep_note(analysis: Analysis) -> str:
    """With no complete rep but partial pulls, what the verdict was judged on: "no complete rep;
    1 partial pull (never reached lockout), judged on what was seen"; "" otherwise."""
    if analysis.reps or not analysis.partial_pulls:
        return ""
    return f"no complete rep; {partial_note(analysis)}, judged on what was seen"


def set_verdict_text(analysis: Analysis) -> str:
    """The set verdict as every view says it: its label ("clean", "needs work", "unclear"); with no
    complete rep, what was judged instead: "no complete rep; 1 partial pull (not from the floor),
    judged on what was seen: clean". "" when there is no set verdict."""
    verdict = next((v for v in analysis.verdicts if v.rep is None), None)
    if verdict is None:
        return ""
    note = no_rep_note(analysis)
    return f"{note}: {verdict.label}" if note else verdict.label
