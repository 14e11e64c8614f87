"""Rule evaluation with fault isolation, and :func:`apply_rules`, the analysis step.

A rule reads one rep's metrics and key moments (never video) and returns findings through the
helpers of :class:`~formcheck_core.rules.context.RuleContext`. :func:`apply_rules` runs every
loaded rule over every rep of an :class:`~formcheck_core.result.Analysis`: a rule that raises,
returns garbage or runs longer than its time budget is reported as a
:class:`~formcheck_core.findings.RuleError` and skipped, and the others still run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pluggy

from ..biomech.body import BodySeries, Rep, ViewEstimate
from ..biomech.metric_spec import RepInput
from ..errors import PluginError
from ..findings import Finding, RuleError
from ..isolation import DEFAULT_TIMEOUT_S, PluginTimeout, rule_timeout_s  # noqa: F401 - re-exported by rules
from ..isolation import call as isolated_call
from ..metric_labels import PLUGIN_LABEL_KEY
from ..plugins import LoadedMetric, LoadedRule, collect_metrics, collect_rules, get_plugin_manager
from ..result import Analysis
from ..vocabulary import FAULT, OK, SEVERITIES, STATUSES
from .context import RuleContext
from .model import Rule
from .thresholds import resolve_thresholds
from .verdicts import verdicts

_RuleTimeout = PluginTimeout


def _call(fn: Callable[..., Any], args: tuple, timeout_s: float, name: str) -> Any:
    """Call ``fn(*args)`` within ``timeout_s`` s: built-ins in a thread, other plugins in a child
    process that is killed when it overruns (:mod:`formcheck_core.isolation`)."""
    return isolated_call(fn, args, timeout_s, name)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _RuleTimeout):
        return f"too slow: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _validated(rule: Rule, rep: Rep, result: Any) -> list[Finding]:
    """The findings a rule returned, or ValueError describing why the result is garbage."""
    if result is None:
        return []
    items = [result] if isinstance(result, Finding) else result
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"returned {type(result).__name__}; expected a Finding, a list of Findings or None")
    out = []
    for f in items:
        if not isinstance(f, Finding):
            raise ValueError(f"returned a {type(f).__name__} among its findings; expected Finding")
        problems = []
        if f.rule_id != rule.id:
            problems.append(f"rule_id {f.rule_id!r} is not {rule.id!r}")
        if f.rep not in (None, rep.number):
            problems.append(f"rep {f.rep!r} is not the rep evaluated ({rep.number})")
        if f.status not in STATUSES:
            problems.append(f"status {f.status!r} not in {STATUSES}")
        if f.severity not in SEVERITIES:
            problems.append(f"severity {f.severity!r} not in {SEVERITIES}")
        if not isinstance(f.message, str) or not f.message.strip():
            problems.append("empty message")
        if f.value is not None and (not _is_number(f.value) or not math.isfinite(f.value)):
            problems.append(f"value {f.value!r} is not a finite number")
        if f.threshold is not None and (not _is_number(f.threshold) or math.isnan(f.threshold)):
            problems.append(f"threshold {f.threshold!r} is not a number")
        if f.status == FAULT and f.value is None:
            problems.append("a fault without a measured value")
        if problems:
            raise ValueError("returned an invalid Finding: " + "; ".join(problems))
        out.append(f if f.rep is not None else replace(f, rep=rep.number))
    return out


def judged_pulls(
    reps: Sequence[Rep], partial_pulls: Sequence[Rep], findings: Sequence[Finding]
) -> tuple[Rep, ...]:
    """The pulls the verdicts judge: every complete rep, and each partial pull a rule judged
    ("fault" or "ok"; a partial pull only "not measurable" by every rule is reported, not judged)."""
    judged = {f.rep for f in findings if f.status in (FAULT, OK)}
    return (*reps, *(p for p in partial_pulls if p.number in judged))


def with_reading_marks(
    analysis: Analysis,
    rules: Mapping[str, LoadedRule],
    resolved: Mapping[str, Mapping[str, float]],
) -> tuple[Analysis, list[RuleError]]:
    """``analysis`` with each pull's readings marked by the rules that mark them
    (``Rule.mark_readings``), at each rule's effective thresholds ``resolved``; a marker that
    raises is reported (:class:`RuleError`) and leaves the pulls as they were."""
    errors: list[RuleError] = []
    reps, partial = analysis.reps, analysis.partial_pulls
    for rid, lr in rules.items():
        mark = lr.rule.mark_readings
        if mark is None or not lr.rule.applies_to(analysis.lift):
            continue
        try:
            reps, partial = (
                tuple(mark(r, dict(resolved[rid])) for r in reps),
                tuple(mark(p, dict(resolved[rid])) for p in partial),
            )
        except Exception as exc:
            errors.append(RuleError(rid, lr.plugin, f"marking its readings: {_describe(exc)}"))
    if reps is analysis.reps and partial is analysis.partial_pulls:
        return analysis, errors
    return replace(analysis, reps=reps, partial_pulls=partial), errors


def evaluate_analysis(
    analysis: Analysis,
    rules: Mapping[str, LoadedRule],
    resolved: Mapping[str, Mapping[str, float]],
    *,
    timeout_s: float | None = None,
) -> tuple[list[Finding], list[RuleError]]:
    """:func:`evaluate_rules` on ``analysis``'s reps and partial pulls, with its lift, view, body
    and lifter height; nothing when it has no body series or no pull."""
    if analysis.body is None or not (analysis.reps or analysis.partial_pulls):
        return [], []
    return evaluate_rules(
        analysis.reps,
        rules,
        resolved,
        lift=analysis.lift,
        view=analysis.view,
        body=analysis.body,
        height_cm=analysis.lifter_height_cm,
        timeout_s=timeout_s,
        partial_pulls=analysis.partial_pulls,
        plugin_metrics=analysis.options.get("plugin_metrics", {}),
    )


#: A rule threshold of this name set to 0 switches the rule off (no findings at all).
ENABLED_THRESHOLD = "enabled"


def evaluate_rules(
    reps: Sequence[Rep],
    rules: Mapping[str, LoadedRule],
    thresholds: Mapping[str, Mapping[str, float]],
    *,
    lift: str,
    view: ViewEstimate | None = None,
    body: BodySeries | None = None,
    height_cm: float | None = None,
    timeout_s: float | None = None,
    partial_pulls: Sequence[Rep] = (),
    plugin_metrics: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Finding], list[RuleError]]:
    """Run each rule applying to ``lift`` on each rep; isolate failures.

    Rules with ``Rule.partial_pulls`` also run on ``partial_pulls`` (a pull that never locked out
    still shows a fault made before the knee pass), and report there as on a rep: a "not
    measurable" finding (with why: the view, a moment the pull lacks, a hidden joint) says why the
    pull was not judged on that rule; it is no fault, and a partial pull that no rule could
    measure is left out of the verdicts (:func:`judged_pulls`). A rule that raises, returns
    garbage or overruns its time budget on any rep is reported once (with the rep) and all its
    findings are dropped; the other rules are unaffected.
    """
    default_timeout = rule_timeout_s() if timeout_s is None else timeout_s
    findings: list[Finding] = []
    errors: list[RuleError] = []
    for rid, lr in rules.items():
        rule = lr.rule
        if not rule.applies_to(lift) or thresholds[rid].get(ENABLED_THRESHOLD, 1.0) == 0.0:
            continue  # not for this lift, or switched off (``enabled = 0``; ``--preset all`` switches on)
        budget = rule.timeout_s if rule.timeout_s is not None else default_timeout
        mine: list[Finding] = []
        partial = tuple(partial_pulls) if rule.partial_pulls else ()
        for rep in (*reps, *partial):
            ctx = RuleContext(
                rule=rule,
                rep=rep,
                thresholds=dict(thresholds[rid]),
                lift=lift,
                view=view,
                body=body,
                height_cm=height_cm,
                plugin_metrics=plugin_metrics or {},
            )
            if view is not None and view.view not in rule.views:
                reason = rule.view_note or f"{rule.description}: not measurable from a {view.view} view."
                mine.append(ctx.not_measurable(reason))
                continue
            try:
                mine.extend(_validated(rule, rep, _call(rule.check, (ctx,), budget, f"rule-{rid}")))
            except Exception as exc:
                errors.append(RuleError(rid, lr.plugin, f"rep {rep.number}: {_describe(exc)}"))
                mine = []
                break
        findings.extend(mine)
    findings = minor_when_ok(findings, {rid: lr.rule for rid, lr in rules.items()})
    findings.sort(key=lambda f: f.rep if f.rep is not None else 0)
    return findings, errors


def minor_when_ok(findings: Sequence[Finding], rules: Mapping[str, Rule]) -> list[Finding]:
    """``findings`` with each fault of a rule with ``Rule.minor_when_ok`` made "minor" (and its
    ``minor_note`` appended to the message) when one of those rules measured the same pull "ok".

    Such a fault is still reported and cued; it no longer makes the rep "needs work"
    (:func:`~formcheck_core.rules.verdicts.counts_as_fault`). A rule switched off, not measurable or
    itself at fault leaves the fault as it was.
    """
    ok = {(f.rule_id, f.rep) for f in findings if f.status == OK}
    out = []
    for f in findings:
        rule = rules.get(f.rule_id)
        if f.is_fault and rule is not None and any((rid, f.rep) in ok for rid in rule.minor_when_ok):
            message = f"{f.message} {rule.minor_note}".strip()
            f = replace(f, severity="minor", message=message)
        out.append(f)
    return out


def add_plugin_metrics(
    reps: Sequence[Rep],
    metrics: Mapping[str, LoadedMetric],
    *,
    body: BodySeries | None,
    view: ViewEstimate | None,
    height_cm: float | None = None,
    timeout_s: float | None = None,
) -> tuple[tuple[Rep, ...], list[RuleError]]:
    """Reps with the plugin metrics added (NaN where a metric failed); failures reported once each.

    A metric that raises, returns garbage or overruns its time budget on any rep is NaN on every
    rep. Where a metric says at which sample it read its value, ``Rep.metric_samples`` records it.
    """
    budget = rule_timeout_s() if timeout_s is None else timeout_s
    errors: list[RuleError] = []
    values: dict[str, list[tuple[float, int | None, str]]] = {}
    inputs = [RepInput(body, rep, view, height_cm) for rep in reps] if body is not None else []
    for name, m in metrics.items():
        column: list[tuple[float, int | None, str]] = []
        for inp in inputs:
            try:
                column.append(_call(m.spec.reading, (inp,), budget, f"metric-{name}"))
            except Exception as exc:
                errors.append(
                    RuleError(f"metric:{name}", m.plugin, f"rep {inp.rep.number}: {_describe(exc)}")
                )
                column = []
                break
        # why a value is missing: the metric's own Unmeasured reason, else what happened
        failed = (
            f"the metric failed in {m.plugin} (see the rule errors)" if inputs else "no pose series to read"
        )
        values[name] = [
            (v, s, why or (f"{m.plugin} gave no value here" if math.isnan(v) else ""))
            for v, s, why in (column or [(math.nan, None, failed)] * len(reps))
        ]
    out = tuple(
        replace(
            rep,
            metrics={**rep.metrics, **{name: col[i][0] for name, col in values.items()}},
            metric_samples={
                **rep.metric_samples,
                **{name: s for name, col in values.items() if (s := col[i][1]) is not None},
            },
            unmeasured={
                **{n: w for n, w in rep.unmeasured.items() if n not in values},
                **{name: why for name, col in values.items() if (why := col[i][2])},
            },
        )
        for i, rep in enumerate(reps)
    )
    return out, errors


#: Prefix of the rule-error ids of plugin metrics ("metric:<name>").
METRIC_ERROR_PREFIX = "metric:"


def with_plugin_metrics(
    analysis: Analysis,
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    timeout_s: float | None = None,
) -> Analysis:
    """The analysis with every plugin metric in its reps and partial pulls (computed where missing).

    ``rule_errors`` keeps the analysis' other errors and holds the plugin metrics' registration
    and measurement errors; ``options["plugin_metrics"]`` maps each plugin metric to its plugin and
    description. :func:`~formcheck_core.analysis.analyze` calls this with or without rules.
    """
    pm = plugin_manager or get_plugin_manager()
    metrics, errors = collect_metrics(pm)
    reps = analysis.reps
    missing = {n: m for n, m in metrics.items() if any(n not in r.metrics for r in reps)}
    kept = [
        e
        for e in analysis.rule_errors
        if e.rule_id.startswith(METRIC_ERROR_PREFIX)
        and e.rule_id[len(METRIC_ERROR_PREFIX) :] in metrics
        and e.rule_id[len(METRIC_ERROR_PREFIX) :] not in missing
    ]
    others = [e for e in analysis.rule_errors if not _is_metric_error(e)]
    errors.extend(kept)
    if missing and reps:
        reps, errs = add_plugin_metrics(
            reps,
            missing,
            body=analysis.body,
            view=analysis.view,
            height_cm=analysis.lifter_height_cm,
            timeout_s=timeout_s,
        )
        errors.extend(errs)
    partial = analysis.partial_pulls
    todo = {n: m for n, m in metrics.items() if any(n not in r.metrics for r in partial)}
    if todo and partial:  # measured like reps; their errors are the reps' (same functions)
        partial, _ = add_plugin_metrics(
            partial,
            todo,
            body=analysis.body,
            view=analysis.view,
            height_cm=analysis.lifter_height_cm,
            timeout_s=timeout_s,
        )
    described = {
        n: {"plugin": m.plugin, "description": m.description, PLUGIN_LABEL_KEY: m.spec.label}
        for n, m in metrics.items()
    }
    return replace(
        analysis,
        reps=tuple(reps),
        partial_pulls=tuple(partial),
        rule_errors=(*others, *errors),
        options={**analysis.options, "plugin_metrics": described},
    )


def _is_metric_error(e: RuleError) -> bool:
    return e.rule_id.startswith(METRIC_ERROR_PREFIX) or e.rule_id == "(register_metrics)"


# --------------------------------------------------------------------------------------------
# The analysis step


def apply_rules(
    analysis: Analysis,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    timeout_s: float | None = None,
) -> Analysis:
    """The analysis with plugin metrics added to its reps, rule findings, rule errors and verdicts.

    ``thresholds``: overrides ``{rule_id: {name: value}}`` on the rules' defaults (build a full
    mapping from a preset / config file with :func:`threshold_settings`). Raises
    :class:`RuleConfigError` for an unknown rule or threshold name. ``plugin_manager`` defaults to
    the global one (built-ins plus installed plugins, see :mod:`formcheck_core.plugins`).
    """
    pm = plugin_manager or get_plugin_manager()
    try:
        pm.check_pending()
    except Exception as exc:
        raise PluginError(f"a plugin implements an unknown hook: {exc}") from None
    rules, errors = collect_rules(pm)
    resolved = resolve_thresholds(rules, overrides=thresholds)
    analysis = with_plugin_metrics(analysis, plugin_manager=pm, timeout_s=timeout_s)
    errors.extend(e for e in analysis.rule_errors if _is_metric_error(e))
    analysis, errs = with_reading_marks(analysis, rules, resolved)  # marks at the limits the rules use
    errors.extend(errs)
    reps = analysis.reps
    findings, errs = evaluate_analysis(analysis, rules, resolved, timeout_s=timeout_s)
    errors.extend(errs)
    options = {
        **analysis.options,
        "thresholds": {rid: resolved[rid] for rid, lr in rules.items() if lr.rule.applies_to(analysis.lift)},
        "rules": {rid: lr.plugin for rid, lr in rules.items()},
    }
    return replace(
        analysis,
        reps=tuple(reps),
        findings=tuple(findings),
        rule_errors=tuple(errors),
        verdicts=verdicts(findings, judged_pulls(reps, analysis.partial_pulls, findings)),
        options=options,
    )
