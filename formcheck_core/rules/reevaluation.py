"""Re-run rules over existing analyses with other thresholds, and sweep one threshold (no UI).

Nothing here decodes video or runs a pose model: the rules read the reps' metrics, so a re-run
takes milliseconds per clip. The threshold explorer widget, ``scripts/evaluate_rules.py`` and
notebooks call these instead of re-implementing the end of :func:`~.engine.apply_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pluggy

from ..findings import Finding
from ..plugins import LoadedRule, collect_rules
from ..result import Analysis
from ..vocabulary import FAULT, OK
from .engine import evaluate_analysis, judged_pulls, with_reading_marks
from .thresholds import resolve_thresholds
from .verdicts import flags_rule, verdicts


def reevaluate(
    analysis: Analysis,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    *,
    rules: Mapping[str, LoadedRule] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    timeout_s: float | None = None,
) -> Analysis:
    """``analysis`` with ``rules`` re-run at ``thresholds``; other rules' findings are kept.

    ``thresholds``: ``{rule_id: {name: value}}`` on the rules' defaults (names are checked:
    :class:`~formcheck_core.errors.RuleConfigError`). ``rules``: the rules to re-run by id
    (default: every rule the plugin manager loads; with a subset, thresholds of other rules are
    ignored, and the rules whose ``minor_when_ok`` names one of them are re-run too, at the
    thresholds the analysis used). Their findings and errors are replaced, the
    verdicts recomputed and ``options["thresholds"]`` updated. An analysis without reps or
    partial pulls is returned unchanged. Partial pulls are judged as in :func:`~.engine.apply_rules`.
    """
    overrides = dict(thresholds or {})
    if rules is None:
        rules, _ = collect_rules(plugin_manager)
    else:  # a subset: thresholds of the rules not re-run do not apply
        overrides = {rid: values for rid, values in overrides.items() if rid in rules}
        # A rule whose fault another one's "ok" makes minor (``Rule.minor_when_ok``) is re-run
        # with it, at the thresholds the analysis used, so that its severity follows.
        used_before = analysis.options.get("thresholds", {})
        loaded, _ = collect_rules(plugin_manager)
        dependents = {
            rid: lr
            for rid, lr in loaded.items()
            if rid not in rules and set(lr.rule.minor_when_ok) & set(rules)
        }
        rules = {**rules, **dependents}
        overrides.update({rid: dict(used_before[rid]) for rid in dependents if rid in used_before})
    resolved = resolve_thresholds(rules, overrides=overrides)
    if analysis.body is None or not (analysis.reps or analysis.partial_pulls):
        return analysis
    analysis, errors = with_reading_marks(analysis, rules, resolved)  # at the limits now in use
    found, errs = evaluate_analysis(analysis, rules, resolved, timeout_s=timeout_s)
    errors.extend(errs)
    findings = sorted(
        [f for f in analysis.findings if f.rule_id not in rules] + found, key=lambda f: f.rep or 0
    )
    kept_errors = [e for e in analysis.rule_errors if e.rule_id not in rules]
    used = {rid: resolved[rid] for rid, lr in rules.items() if lr.rule.applies_to(analysis.lift)}
    return replace(
        analysis,
        findings=tuple(findings),
        rule_errors=(*kept_errors, *errors),
        verdicts=verdicts(findings, judged_pulls(analysis.reps, analysis.partial_pulls, findings)),
        options={**analysis.options, "thresholds": {**analysis.options.get("thresholds", {}), **used}},
    )


@dataclass(frozen=True)
class SweepPoint:
    """One rule at one value of one threshold, over every analysis of the sweep (same order)."""

    rule_id: str
    name: str
    value: float
    analyses: tuple[Analysis, ...]

    def findings(self) -> tuple[tuple[Finding, ...], ...]:
        """The rule's findings, per analysis."""
        return tuple(tuple(f for f in a.findings if f.rule_id == self.rule_id) for a in self.analyses)

    def flagged(self) -> tuple[bool, ...]:
        """Per analysis: did the rule flag any rep (:func:`~formcheck_core.rules.verdicts.flags_rule`:
        a fault read at a confident pose)."""
        return tuple(any(flags_rule(f) for f in fs) for fs in self.findings())

    def counts(self) -> tuple[int, int]:
        """(reps the rule flags, :func:`~formcheck_core.rules.verdicts.flags_rule`; reps measured)
        over all analyses."""
        fs = [f for group in self.findings() for f in group]
        return sum(flags_rule(f) for f in fs), sum(f.status in (FAULT, OK) for f in fs)


def sweep(
    analyses: Sequence[Analysis],
    rule_id: str,
    name: str,
    values: Sequence[float],
    *,
    thresholds: Mapping[str, float] | None = None,
    rules: Mapping[str, LoadedRule] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
) -> tuple[SweepPoint, ...]:
    """Re-run rule ``rule_id`` over ``analyses`` at each of ``values`` for its threshold ``name``.

    ``thresholds``: the rule's other thresholds (default: its defaults). ``rules``: where to find
    the rule (default: the loaded rules). Raises
    :class:`~formcheck_core.errors.RuleConfigError` for an unknown rule or threshold.
    """
    if rules is None:
        rules, _ = collect_rules(plugin_manager)
    one = {rule_id: rules[rule_id]} if rule_id in rules else {}
    base = resolve_thresholds(one, overrides={rule_id: dict(thresholds or {})})  # checks the names
    if name not in base[rule_id]:
        resolve_thresholds(one, overrides={rule_id: {name: 0.0}})  # raises: unknown threshold
    points = []
    for v in values:
        at = {rule_id: {**base[rule_id], name: float(v)}}
        points.append(
            SweepPoint(rule_id, name, float(v), tuple(reevaluate(a, at, rules=one) for a in analyses))
        )
    return tuple(points)
