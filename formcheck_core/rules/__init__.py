"""Form rules: the rule model, what a rule sees, thresholds, evaluation and verdicts.

Rooms (each importable on its own; names below are loaded lazily, so
``from formcheck_core.rules import Rule`` does not load the engine):

- :mod:`.model` -- :class:`Rule` and the :func:`rule` decorator (all a plugin needs);
- :mod:`.context` -- :class:`RuleContext`, what a rule sees for one rep, and finding placement;
- :mod:`.thresholds` -- presets, the TOML config file, ``--threshold`` parsing, resolution;
- :mod:`.engine` -- evaluation with fault isolation and time budgets, :func:`apply_rules`;
- :mod:`.verdicts` -- fault priority and clean / needs-work verdicts;
- :mod:`.reevaluation` -- :func:`reevaluate` (re-run the rules over existing analyses at other
  thresholds) and :func:`sweep`.

A lazily loaded name never equals its module's name (the submodule, once imported by its path,
would shadow it on the package); ``verdicts`` shares its module's name and is bound eagerly.

Hook collection (:func:`collect_rules`, :func:`collect_metrics`) lives with the plugin manager
in :mod:`formcheck_core.plugins` and is re-exported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Bound eagerly: the function shares its name with its module, and a lazily bound name would be
# shadowed by the submodule once anything imports ``formcheck_core.rules.verdicts``
# (tests/test_reevaluate.py checks every public name against its submodules).
from .verdicts import verdicts

#: Public name -> module (relative to this package, or absolute) that defines it.
_PUBLIC: dict[str, str] = {
    "Rule": ".model",
    "rule": ".model",
    "RuleContext": ".context",
    "nearest_moment": ".context",
    "phase_phrase": ".context",
    "DEFAULT_PRESET": ".thresholds",
    "load_threshold_config": ".thresholds",
    "parse_threshold_option": ".thresholds",
    "preset_names": ".thresholds",
    "resolve_thresholds": ".thresholds",
    "threshold_settings": ".thresholds",
    "DEFAULT_TIMEOUT_S": ".engine",
    "add_plugin_metrics": ".engine",
    "apply_rules": ".engine",
    "evaluate_rules": ".engine",
    "rule_timeout_s": ".engine",
    "SweepPoint": ".reevaluation",
    "reevaluate": ".reevaluation",
    "sweep": ".reevaluation",
    "NEEDS_WORK_FROM": ".verdicts",
    "exceedance": ".verdicts",
    "finding_priority": ".verdicts",
    "severity_rank": ".verdicts",
    "LoadedMetric": "formcheck_core.plugins",
    "LoadedRule": "formcheck_core.plugins",
    "collect_metrics": "formcheck_core.plugins",
    "collect_rules": "formcheck_core.plugins",
    "RuleConfigError": "formcheck_core.errors",
}

__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_TIMEOUT_S",
    "NEEDS_WORK_FROM",
    "LoadedMetric",
    "LoadedRule",
    "Rule",
    "RuleConfigError",
    "RuleContext",
    "SweepPoint",
    "add_plugin_metrics",
    "apply_rules",
    "collect_metrics",
    "collect_rules",
    "evaluate_rules",
    "exceedance",
    "finding_priority",
    "load_threshold_config",
    "nearest_moment",
    "parse_threshold_option",
    "phase_phrase",
    "preset_names",
    "reevaluate",
    "resolve_thresholds",
    "rule",
    "rule_timeout_s",
    "severity_rank",
    "sweep",
    "threshold_settings",
    "verdicts",
]

if TYPE_CHECKING:  # pragma: no cover
    from ..errors import RuleConfigError
    from ..plugins import LoadedMetric, LoadedRule, collect_metrics, collect_rules
    from .context import RuleContext, nearest_moment, phase_phrase
    from .engine import DEFAULT_TIMEOUT_S, add_plugin_metrics, apply_rules, evaluate_rules, rule_timeout_s
    from .model import Rule, rule
    from .reevaluation import SweepPoint, reevaluate, sweep
    from .thresholds import (
        DEFAULT_PRESET,
        load_threshold_config,
        parse_threshold_option,
        preset_names,
        resolve_thresholds,
        threshold_settings,
    )
    from .verdicts import NEEDS_WORK_FROM, exceedance, finding_priority, severity_rank


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
