"""formcheck: lifting video -> biomechanics -> prioritised coaching cues, on your own machine.

Public API (imported lazily, so ``import formcheck_core`` stays cheap and loads no model)::

    from formcheck_core import analyze, analyze_many
    analysis = analyze("deadlift.mp4")
    dataset = analyze_many(["clips/"], workers=2)   # tidy tables: .clips, .reps, .findings
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_PUBLIC = {
    "analyze": "analysis",
    "analyze_many": "batch.runner",
    "Dataset": "batch.tables",
    "Analysis": "analysis",
    "FormcheckError": "errors",
    "Finding": "findings",
    "Verdict": "findings",
    "Cue": "cues",
    "Rep": "body",
    "Moment": "body",
    "BodySeries": "body",
    "ViewEstimate": "body",
    "PoseSeries": "pose.series",
    "to_json": "export",
    "hookimpl": "hookspecs",
    "Rule": "rules",
    "RuleContext": "rules",
    "rule": "rules",
    "register_rule": "plugins",
    "unregister_rule": "plugins",
    "temporary_rule": "plugins",
    "get_plugins": "plugins",
    "deterministic_cues": "coach",
}

__all__ = sorted(_PUBLIC)
# analyze_many / Dataset (formcheck_core.batch) are not imported below even for type checkers:
# batch reaches the report, which imports this package (an import cycle for the checker).

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import Analysis, analyze
    from .biomech.body import BodySeries, Moment, Rep, ViewEstimate
    from .coach import deterministic_cues
    from .cues import Cue
    from .errors import FormcheckError
    from .export import to_json
    from .findings import Finding, Verdict
    from .hookspecs import hookimpl
    from .plugins import get_plugins, register_rule, temporary_rule, unregister_rule
    from .pose.series import PoseSeries
    from .rules import Rule, RuleContext, rule


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'formcheck_core' has no attribute {name!r}")
