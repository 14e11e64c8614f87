"""Form rules: the :class:`Rule` model, threshold settings, evaluation with fault isolation, verdicts.

A rule reads one rep's metrics and key moments (never video) and returns findings through the
helpers of :class:`RuleContext`. :func:`apply_rules` runs every loaded rule over every rep of an
:class:`~formcheck_core.analysis.Analysis`: a rule that raises, returns garbage or runs longer than
its time budget is reported as a :class:`~formcheck_core.findings.RuleError` and skipped, and the
others still run.

Thresholds are resolved, lowest priority first, from: the rule's defaults (the "calibrated"
preset), a named preset the rule declares (e.g. "seed"), a TOML config file, then explicit
overrides (CLI ``--threshold rule.name=value`` or the ``thresholds`` keyword argument).
"""

from __future__ import annotations

import inspect
import math
import os
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RuleConfigError
from .findings import SEVERITIES, Finding, RuleError, Verdict

if TYPE_CHECKING:
    import pluggy

    from .analysis import Analysis
    from .body import BodySeries, Moment, Rep, ViewEstimate

#: Finding statuses a rule may return.
STATUSES: tuple[str, ...] = ("fault", "ok", "not_measurable")
#: The preset made of every rule's default thresholds.
DEFAULT_PRESET = "calibrated"
#: Seconds one rule may take on one rep before it is reported as too slow and skipped
#: (``$FORMCHECK_RULE_TIMEOUT_S``; 0 runs rules inline with no time limit, for debugging).
DEFAULT_TIMEOUT_S = 2.0
#: Severity at or above which a fault makes a rep "needs work".
NEEDS_WORK_FROM = "moderate"

#: Gym-language phrase for each key moment (used as ``{at}`` in message and cue templates).
MOMENT_PHRASES: dict[str, str] = {
    "setup": "in your setup",
    "liftoff": "as the bar leaves the floor",
    "knee_pass": "as the bar passes your knees",
    "lockout": "at lockout",
}
#: Gym phrase for a finding measured shortly before / after a key moment (the nearest one).
PHRASES_BEFORE: dict[str, str] = {
    "setup": "in your setup",
    "liftoff": "just before the bar leaves the floor",
    "knee_pass": "just before the bar reaches your knees",
    "lockout": "just before lockout",
}
PHRASES_AFTER: dict[str, str] = {
    "setup": "as you start the pull",
    "liftoff": "just after the bar leaves the floor",
    "knee_pass": "just after the bar passes your knees",
    # Lockout values are read over the half second after the lockout moment: still the lockout.
    "lockout": "at lockout",
}
#: Unit suffix of a metric or threshold name -> unit string of a finding.
UNIT_SUFFIXES: dict[str, str] = {"_deg": "deg", "_rel": "body_lengths", "_px": "px", "_cm": "cm", "_s": "s"}

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")



def unit_of(name: str) -> str:
    """Unit of a metric or threshold from its name suffix ("deg", "body_lengths", "px", "cm", "s")."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return ""


def nearest_moment(rep: Rep, sample: int, prefer: str | None = None) -> Moment | None:
    """The rep's key moment closest in samples to ``sample`` (None if the rep has none).

    Ties go to ``prefer`` (e.g. the rule's own moment), then to the earlier moment.
    """
    if not rep.moments:
        return None
    return min(rep.moments.values(), key=lambda m: (abs(m.sample - sample), m.name != prefer, m.sample))


def phase_phrase(rep: Rep, sample: int, prefer: str | None = None) -> str:
    """Gym phrase for when ``sample`` happened in ``rep``, from its nearest key moment.

    "as the bar passes your knees" (at the moment's sample), "just after the bar leaves the
    floor" (between it and the next moment), "during the rep" when the rep has no moments.
    """
    m = nearest_moment(rep, sample, prefer)
    if m is None:
        return "during the rep"
    if sample == m.sample:
        table = MOMENT_PHRASES
    else:
        table = PHRASES_BEFORE if sample < m.sample else PHRASES_AFTER
    return table.get(m.name, MOMENT_PHRASES.get(m.name, f"near {m.name.replace('_', ' ')}"))


def metric_label(name: str) -> str:
    """A metric name for people: ``torso_lean_liftoff_deg`` -> "Torso lean liftoff"."""
    for suffix in UNIT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("_", " ").strip().capitalize()


def format_value(value: float | None, unit: str) -> str:
    """A measured value for people: ``68°``, ``0.12 body lengths``, ``64 px``, ``1.8 s``."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "off"
    if unit == "deg":
        return f"{value:.0f}°"
    if unit == "body_lengths":
        return f"{value:.{2 if abs(value) >= 0.1 else 3}f} body lengths"
    if unit in ("px", "cm"):
        return f"{value:.0f} {unit}"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:.3g}{' ' + unit if unit else ''}"


@dataclass(frozen=True, eq=False)
class Rule:
    """One form rule.

    ``check(ctx)`` receives a :class:`RuleContext` for one rep and returns a Finding (use
    ``ctx.fault`` / ``ctx.ok`` / ``ctx.not_measurable`` / ``ctx.compare``), a list of them, or
    None (nothing to say). ``thresholds`` are the defaults (name -> value, unit in the name;
    ``inf`` switches a limit off); ``presets`` maps a preset name to values that replace some of
    them. ``cue`` (and optionally ``message`` / ``praise``) are ``str.format`` templates with the
    fields ``value``, ``threshold``, ``measured``, ``limit`` (formatted with units), ``unit``,
    ``moment``, ``at`` (gym phrase for when the value was measured, e.g. "just after the bar leaves
    the floor"), ``rep`` and any extra keyword the rule passes.
    ``lifts``: lift names it applies to ("deadlift" also matches "romanian_deadlift" etc.;
    "*" = every lift). ``views``: camera views it can measure from; on other views the engine
    reports "not measurable" with ``view_note`` as the reason.
    """

    id: str
    check: Callable[[RuleContext], Finding | Sequence[Finding] | None]
    description: str
    metrics: tuple[str, ...]
    thresholds: Mapping[str, float]
    cue: str
    severity: str = "moderate"
    lifts: tuple[str, ...] = ("deadlift",)
    views: tuple[str, ...] = ("side", "oblique", "front")
    view_note: str = ""
    #: Template of the finding's plain-language message for a fault (default: generic).
    message: str = ""
    #: Template of a "keep doing this" cue when the rep was measured and within the limit.
    praise: str = ""
    #: Default key moment of the findings: where they are placed (frame index, time) when the
    #: rep does not record the sample their metric was measured at (see :class:`RuleContext`).
    moment: str | None = None
    presets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: Seconds one call may take (None = the global default).
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise ValueError(f"rule id {self.id!r} must be lower_snake_case")
        if not callable(self.check):
            raise ValueError(f"rule {self.id}: check must be callable, got {type(self.check).__name__}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id}: severity {self.severity!r} is not one of {SEVERITIES}")
        if isinstance(self.lifts, str) or isinstance(self.metrics, str) or isinstance(self.views, str):
            raise ValueError(
                f"rule {self.id}: lifts, metrics and views must be tuples of names, not a string"
            )
        object.__setattr__(self, "lifts", tuple(self.lifts))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "views", tuple(self.views))
        object.__setattr__(self, "thresholds", _checked_values(self.id, dict(self.thresholds), "default"))
        presets = {}
        for preset, values in self.presets.items():
            unknown = set(values) - set(self.thresholds)
            if unknown:
                raise ValueError(
                    f"rule {self.id}: preset {preset!r} sets unknown thresholds {sorted(unknown)}"
                )
            presets[preset] = _checked_values(self.id, dict(values), f"preset {preset!r}")
        object.__setattr__(self, "presets", presets)

    def applies_to(self, lift: str) -> bool:
        """True if the rule applies to ``lift`` (exact name, a ``*_<name>`` variant, or "*")."""
        return any(name == "*" or lift == name or lift.endswith("_" + name) for name in self.lifts)

    @property
    def doc(self) -> str:
        """The check function's docstring: what the rule can and cannot see."""
        return inspect.getdoc(self.check) or ""


def _checked_values(rule_id: str, values: dict, what: str) -> dict[str, float]:
    out = {}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"rule {rule_id}: {what} threshold {name!r} must be a number, got {value!r}")
        out[str(name)] = float(value)
    return out


def rule(
    *,
    id: str,
    metrics: Sequence[str],
    thresholds: Mapping[str, float],
    cue: str,
    description: str | None = None,
    **options: Any,
) -> Callable[[Callable[[RuleContext], Any]], Rule]:
    """Decorator: turn a check function into a :class:`Rule` (description = docstring's first line).

    >>> @rule(id="slow_pull", metrics=["rep_duration_s"], thresholds={"max_duration_s": 4.0},
    ...       cue="Pull with intent: {measured} from floor to lockout.")
    ... def slow_pull(ctx):
    ...     '''Flag pulls slower than a few seconds.'''
    ...     return ctx.compare("rep_duration_s", "max_duration_s", moment="lockout")
    """

    def wrap(check: Callable[[RuleContext], Any]) -> Rule:
        doc = inspect.getdoc(check) or ""
        desc = description or (doc.splitlines()[0] if doc else id)
        return Rule(
            id=id,
            check=check,
            description=desc,
            metrics=tuple(metrics),
            thresholds=thresholds,
            cue=cue,
            **options,
        )

    return wrap


# --------------------------------------------------------------------------------------------
# What a rule sees


@dataclass(frozen=True, eq=False)
class RuleContext:
    """What a rule sees for one rep: its metrics and moments, the view, the lift, its thresholds.

    ``body`` (the smoothed series) is there for rules that need more than the per-rep metrics;
    it may be None. Build findings with the helpers: they fill the rule id, rep, frame and time,
    unit, severity and the rendered message and cue.

    Where a finding is placed: at the sample where its metric was measured
    (``rep.metric_samples``, e.g. the frame of the smallest elbow angle of the pull), or at an
    explicit ``sample=``; its ``moment`` is then the nearest key moment and ``{at}`` says "just
    after the bar leaves the floor" and the like. Without a known sample (a metric measured over
    a span, a plugin metric, no ``body``), it is placed at ``moment=`` (default: the rule's).
    """

    rule: Rule
    rep: Rep
    thresholds: Mapping[str, float]
    lift: str
    view: ViewEstimate | None = None
    body: BodySeries | None = None
    height_cm: float | None = None

    @property
    def view_name(self) -> str | None:
        """ "side", "front", "oblique" or None if unknown."""
        return self.view.view if self.view is not None else None

    def metric(self, name: str) -> float | None:
        """The rep's metric ``name``, or None if missing or NaN (not measurable)."""
        value = self.rep.metrics.get(name)
        if value is None:
            return None
        value = float(value)
        return None if math.isnan(value) else value

    def threshold(self, name: str) -> float:
        """The effective value of threshold ``name`` (defaults, preset, config and overrides applied)."""
        try:
            return self.thresholds[name]
        except KeyError:
            raise KeyError(
                f"rule {self.rule.id} has no threshold {name!r} (it has {sorted(self.thresholds)})"
            ) from None

    def moment(self, name: str) -> Moment | None:
        """The rep's key moment ``name`` ("setup", "liftoff", "knee_pass", "lockout") or None."""
        return self.rep.moments.get(name)

    def metric_sample(self, name: str) -> int | None:
        """Sample index (into ``body``'s series) where the rep's metric ``name`` was measured, or None."""
        sample = self.rep.metric_samples.get(name)
        return int(sample) if sample is not None else None

    def _place(self, sample: int | None) -> tuple[int, float] | None:
        """(frame index, time in s) of ``sample``, or None if unknown or outside the series."""
        body = self.body
        if sample is None or body is None or not 0 <= sample < len(body.frame_index):
            return None
        time_s = float(body.time_s[sample])
        return (int(body.frame_index[sample]), time_s) if math.isfinite(time_s) else None

    def _finding(
        self,
        status: str,
        value: float | None,
        threshold: float | None,
        *,
        moment: str | None,
        metric: str | None,
        unit: str | None,
        severity: str | None,
        message: str | None,
        extra: Mapping[str, Any],
        sample: int | None = None,
    ) -> Finding:
        rule = self.rule
        metric = metric or (rule.metrics[0] if rule.metrics else None)
        moment = moment or rule.moment
        unit = unit if unit is not None else unit_of(metric or "")
        if sample is None and status != "not_measurable" and metric:
            sample = self.metric_sample(metric)
        placed = self._place(sample)
        if placed is not None:  # where the value was measured
            frame_index, time_s = placed
            near = nearest_moment(self.rep, sample, prefer=moment)
            moment = near.name if near is not None else moment
            at = phase_phrase(self.rep, sample, prefer=moment)
        else:  # at the key moment the rule names
            m = self.rep.moments.get(moment) if moment else None
            frame_index, time_s = (m.frame_index, m.time_s) if m else (None, None)
            at = MOMENT_PHRASES.get(moment or "", "during the rep")
        fields = {
            "value": value,
            "threshold": threshold,
            "unit": unit,
            "rep": self.rep.number,
            "measured": format_value(value, unit),
            "limit": format_value(threshold, unit),
            "moment": (moment or "").replace("_", " "),
            "at": at,
            **extra,
        }
        if message is None:
            if status == "fault":
                template = rule.message or "{label}: {measured} {at}, past the {limit} limit."
            else:
                template = "{label}: {measured} {at} (limit {limit})."
            message = template.format(label=metric_label(metric or rule.id), **fields)
        template = {"fault": rule.cue, "ok": rule.praise}.get(status, "")
        cue = template.format(**fields) if template else ""
        return Finding(
            rule_id=rule.id,
            rep=self.rep.number,
            status=status,
            severity=severity or rule.severity,
            message=message,
            moment=moment,
            frame_index=frame_index,
            time_s=time_s,
            value=value,
            threshold=threshold,
            unit=unit,
            metric=metric,
            cue=cue,
        )

    def fault(
        self,
        value: float,
        threshold: float,
        *,
        moment: str | None = None,
        metric: str | None = None,
        unit: str | None = None,
        severity: str | None = None,
        message: str | None = None,
        sample: int | None = None,
        **extra: Any,
    ) -> Finding:
        """A "fault" finding: the rule fired. Extra keywords are available to the templates.

        ``sample``: where the value was measured (default: the metric's sample, if known).
        """
        return self._finding(
            "fault",
            value,
            threshold,
            moment=moment,
            metric=metric,
            unit=unit,
            severity=severity,
            message=message,
            extra=extra,
            sample=sample,
        )

    def ok(
        self,
        value: float,
        threshold: float,
        *,
        moment: str | None = None,
        metric: str | None = None,
        unit: str | None = None,
        message: str | None = None,
        sample: int | None = None,
        **extra: Any,
    ) -> Finding:
        """An "ok" finding: measured and within the threshold (``sample`` as for :meth:`fault`)."""
        return self._finding(
            "ok",
            value,
            threshold,
            moment=moment,
            metric=metric,
            unit=unit,
            severity="info",
            message=message,
            extra=extra,
            sample=sample,
        )

    def not_measurable(self, reason: str, *, moment: str | None = None, metric: str | None = None) -> Finding:
        """A "not measurable" finding: the view or the data cannot support the measurement (say why)."""
        return self._finding(
            "not_measurable",
            None,
            None,
            moment=moment,
            metric=metric,
            unit=None,
            severity="info",
            message=reason,
            extra={},
        )

    def compare(
        self,
        metric: str,
        threshold: str,
        *,
        fault_if: str = "above",
        moment: str | None = None,
        value: float | None = None,
        sample: int | None = None,
        **extra: Any,
    ) -> Finding:
        """The common rule: metric vs one threshold; "not measurable" when the metric is NaN.

        ``fault_if`` is "above" (fault when value > threshold) or "below" (value < threshold).
        ``value`` replaces the metric's value (e.g. a sign-flipped metric). The finding is placed
        where the metric was measured (``sample``, default the metric's recorded sample), else at
        ``moment``.
        """
        if fault_if not in ("above", "below"):
            raise ValueError(f"fault_if must be 'above' or 'below', got {fault_if!r}")
        value = self.metric(metric) if value is None else value
        if value is None:
            phrase = MOMENT_PHRASES.get(moment or self.rule.moment or "", "in this rep")
            return self.not_measurable(
                f"{metric} could not be measured {phrase}: keypoints missing or the moment was not found.",
                moment=moment,
                metric=metric,
            )
        limit = self.threshold(threshold)
        fired = value > limit if fault_if == "above" else value < limit
        make = self.fault if fired else self.ok
        return make(
            value,
            limit,
            moment=moment,
            metric=metric,
            unit=unit_of(metric) or unit_of(threshold),
            sample=sample,
            **extra,
        )


# --------------------------------------------------------------------------------------------
# Registry (rules contributed by plugins)


@dataclass(frozen=True)
class LoadedRule:
    """A registered rule and the plugin that registered it."""

    rule: Rule
    plugin: str


@dataclass(frozen=True)
class LoadedMetric:
    """An extra per-rep metric contributed by a plugin: ``fn(body, rep, view) -> float``."""

    name: str
    description: str
    fn: Callable[..., float]
    plugin: str


def collect_rules(pm: pluggy.PluginManager | None = None) -> tuple[dict[str, LoadedRule], list[RuleError]]:
    """Every rule the plugins register, by id, and the errors of plugins whose hook failed.

    Plugins are asked in registration order (built-ins first); a duplicate id is reported as an
    error and the first registration kept.
    """
    pm = pm or _default_pm()
    rules: dict[str, LoadedRule] = {}
    errors: list[RuleError] = []
    for impl in pm.hook.register_rules.get_hookimpls():
        plugin = impl.plugin_name
        found: list[Rule] = []

        def register(rule: Rule, _found: list[Rule] = found) -> None:
            if not isinstance(rule, Rule):
                raise TypeError(f"register() expects a formcheck Rule, got {type(rule).__name__}")
            _found.append(rule)

        try:
            _call_impl(impl, register)
        except Exception as exc:  # a broken plugin must not stop the others
            errors.append(RuleError(rule_id="(register_rules)", plugin=plugin, error=_describe(exc)))
            continue
        for r in found:
            if r.id in rules:
                errors.append(
                    RuleError(r.id, plugin, f"duplicate rule id: already registered by {rules[r.id].plugin}")
                )
            else:
                rules[r.id] = LoadedRule(r, plugin)
    return rules, errors


def collect_metrics(
    pm: pluggy.PluginManager | None = None,
) -> tuple[dict[str, LoadedMetric], list[RuleError]]:
    """Extra per-rep metrics registered by plugins, by name, and registration errors."""
    from .metrics import METRICS

    pm = pm or _default_pm()
    metrics: dict[str, LoadedMetric] = {}
    errors: list[RuleError] = []
    for impl in pm.hook.register_metrics.get_hookimpls():
        plugin = impl.plugin_name
        found: list[LoadedMetric] = []

        def register(
            name: str, description: str, fn: Callable[..., float], _found=found, _plugin=plugin
        ) -> None:
            if not callable(fn):
                raise TypeError(f"metric {name!r}: fn must be callable")
            _found.append(LoadedMetric(str(name), str(description), fn, _plugin))

        try:
            _call_impl(impl, register)
        except Exception as exc:
            errors.append(RuleError(rule_id="(register_metrics)", plugin=plugin, error=_describe(exc)))
            continue
        for m in found:
            if m.name in METRICS or m.name in metrics:
                errors.append(RuleError(f"metric:{m.name}", plugin, "duplicate metric name; skipped"))
            else:
                metrics[m.name] = m
    return metrics, errors


def _call_impl(impl: Any, register: Callable[..., None]) -> None:
    """Call one plugin's hook implementation as pluggy would (it may omit the argument)."""
    if getattr(impl, "wrapper", False) or getattr(impl, "hookwrapper", False):
        return
    impl.function(*[register for name in impl.argnames if name == "register"])


def _default_pm() -> pluggy.PluginManager:
    from .plugins import get_plugin_manager

    return get_plugin_manager()


# --------------------------------------------------------------------------------------------
# Thresholds: presets, config file, overrides


def preset_names(rules: Mapping[str, LoadedRule]) -> list[str]:
    """Every preset name some rule declares, plus the default ("calibrated")."""
    names = {DEFAULT_PRESET}
    for lr in rules.values():
        names.update(lr.rule.presets)
    return sorted(names)


def resolve_thresholds(
    rules: Mapping[str, LoadedRule],
    *,
    preset: str | None = None,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Effective thresholds ``{rule_id: {name: value}}``: defaults < ``preset`` < ``overrides``.

    Raises :class:`RuleConfigError` for an unknown preset, rule or threshold name, or a value
    that is not a number. A rule without values in ``preset`` keeps its defaults.
    """
    if preset is not None and preset not in preset_names(rules):
        raise RuleConfigError(
            f"unknown threshold preset {preset!r}; known presets: {', '.join(preset_names(rules))}"
        )
    out = {}
    for rid, lr in rules.items():
        values = dict(lr.rule.thresholds)
        if preset and preset != DEFAULT_PRESET:
            values.update(lr.rule.presets.get(preset, {}))
        out[rid] = values
    for rid, values in (overrides or {}).items():
        if rid not in out:
            raise RuleConfigError(
                f"threshold for unknown rule {rid!r}; loaded rules: {', '.join(sorted(out)) or 'none'} "
                "(is its plugin installed and not excluded by FORMCHECK_LOAD_PLUGINS?)"
            )
        if not isinstance(values, Mapping):
            raise RuleConfigError(
                f"thresholds for rule {rid!r} must be a table of name = number, got {values!r}"
            )
        for name, value in values.items():
            if name not in out[rid]:
                raise RuleConfigError(
                    f"rule {rid!r} has no threshold {name!r}; it has: {', '.join(sorted(out[rid]))}"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise RuleConfigError(f"threshold {rid}.{name} must be a number, got {value!r}")
            out[rid][name] = float(value)
    return out


def parse_threshold_option(text: str) -> tuple[str, str, float]:
    """Parse ``rule_id.name=value`` (CLI ``--threshold``); ``inf`` switches a limit off."""
    key, sep, raw = text.partition("=")
    rid, dot, name = key.strip().partition(".")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not sep or not dot or not rid or not name or math.isnan(value):
        raise RuleConfigError(
            f"--threshold {text!r}: expected RULE.NAME=NUMBER, e.g. excessive_torso_lean.max_lean_deg=60"
        )
    return rid, name.strip(), value


def load_threshold_config(path: str | Path) -> tuple[str | None, dict[str, dict[str, float]]]:
    """Read a TOML threshold file: optional ``preset = "seed"`` and ``[thresholds.<rule_id>]`` tables.

    Example::

        preset = "calibrated"
        [thresholds.excessive_torso_lean]
        max_lean_deg = 62
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleConfigError(f"threshold config {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleConfigError(f"threshold config {path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"preset", "thresholds"}
    if unknown:
        raise RuleConfigError(
            f"threshold config {path}: unknown keys {sorted(unknown)} "
            "(expected 'preset' and [thresholds.<rule>])"
        )
    preset = data.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise RuleConfigError(f"threshold config {path}: preset must be a string")
    tables = data.get("thresholds", {})
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise RuleConfigError(f"threshold config {path}: [thresholds] must hold one table per rule id")
    return preset, {rid: dict(values) for rid, values in tables.items()}


def threshold_settings(
    *,
    preset: str | None = None,
    config: str | Path | None = None,
    overrides: Iterable[str] | Mapping[str, Mapping[str, float]] = (),
    pm: pluggy.PluginManager | None = None,
) -> dict[str, dict[str, float]]:
    """Full threshold mapping for ``analyze(..., thresholds=...)`` from a preset, a config file and overrides.

    Priority, lowest first: rule defaults, the config file's preset, ``preset``, the config
    file's values, ``overrides`` (``"rule.name=value"`` strings or a ``{rule: {name: value}}`` mapping).
    """
    rules, _ = collect_rules(pm)
    file_preset, file_values = load_threshold_config(config) if config else (None, {})
    if isinstance(overrides, Mapping):
        extra = {rid: dict(values) for rid, values in overrides.items()}
    else:
        extra = {}
        for text in overrides:
            rid, name, value = parse_threshold_option(text)
            extra.setdefault(rid, {})[name] = value
    merged = {rid: dict(v) for rid, v in file_values.items()}
    for rid, values in extra.items():
        merged.setdefault(rid, {}).update(values)
    return resolve_thresholds(rules, preset=preset or file_preset, overrides=merged)


# --------------------------------------------------------------------------------------------
# Evaluation with fault isolation


class _RuleTimeout(Exception):
    pass


def rule_timeout_s() -> float:
    """Per-call time budget of a rule: ``$FORMCHECK_RULE_TIMEOUT_S`` or :data:`DEFAULT_TIMEOUT_S`."""
    raw = os.environ.get("FORMCHECK_RULE_TIMEOUT_S")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise RuleConfigError(f"FORMCHECK_RULE_TIMEOUT_S={raw!r} is not a number of seconds") from None


def _call(fn: Callable[..., Any], args: tuple, timeout_s: float, name: str) -> Any:
    """Call ``fn(*args)``; with a timeout, in a daemon thread that is abandoned if it overruns."""
    if not timeout_s or timeout_s <= 0:
        return fn(*args)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"formcheck-{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise _RuleTimeout(f"took longer than {timeout_s:g} s (time budget); skipped")
    if "error" in box:
        raise box["error"]
    return box.get("result")


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
        if f.status == "fault" and f.value is None:
            problems.append("a fault without a measured value")
        if problems:
            raise ValueError("returned an invalid Finding: " + "; ".join(problems))
        out.append(f if f.rep is not None else replace(f, rep=rep.number))
    return out


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
) -> tuple[list[Finding], list[RuleError]]:
    """Run each rule applying to ``lift`` on each rep; isolate failures.

    A rule that raises, returns garbage or overruns its time budget on any rep is reported once
    (with the rep) and all its findings are dropped; the other rules are unaffected.
    """
    default_timeout = rule_timeout_s() if timeout_s is None else timeout_s
    findings: list[Finding] = []
    errors: list[RuleError] = []
    for rid, lr in rules.items():
        rule = lr.rule
        if not rule.applies_to(lift):
            continue
        budget = rule.timeout_s if rule.timeout_s is not None else default_timeout
        mine: list[Finding] = []
        for rep in reps:
            ctx = RuleContext(
                rule=rule,
                rep=rep,
                thresholds=dict(thresholds[rid]),
                lift=lift,
                view=view,
                body=body,
                height_cm=height_cm,
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
    findings.sort(key=lambda f: f.rep if f.rep is not None else 0)
    return findings, errors


def add_plugin_metrics(
    reps: Sequence[Rep],
    metrics: Mapping[str, LoadedMetric],
    *,
    body: BodySeries | None,
    view: ViewEstimate | None,
    timeout_s: float | None = None,
) -> tuple[tuple[Rep, ...], list[RuleError]]:
    """Reps with the plugin metrics added (NaN where a metric failed); failures reported once each."""
    budget = rule_timeout_s() if timeout_s is None else timeout_s
    errors: list[RuleError] = []
    values: dict[str, list[float]] = {}
    for name, m in metrics.items():
        column = []
        for rep in reps:
            try:
                v = _call(m.fn, (body, rep, view), budget, f"metric-{name}")
                if not _is_number(v) and not (hasattr(v, "__float__") and not isinstance(v, (str, bytes))):
                    raise ValueError(f"returned {type(v).__name__}; expected a float (NaN = not measurable)")
                column.append(float(v))
            except Exception as exc:
                errors.append(RuleError(f"metric:{name}", m.plugin, f"rep {rep.number}: {_describe(exc)}"))
                column = [math.nan] * len(reps)
                break
        values[name] = column
    out = tuple(
        replace(rep, metrics={**rep.metrics, **{name: col[i] for name, col in values.items()}})
        for i, rep in enumerate(reps)
    )
    return out, errors


# --------------------------------------------------------------------------------------------
# Verdicts


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
    out = []
    all_faults: list[Finding] = []
    for rep in reps:
        mine = [f for f in findings if f.rep == rep.number]
        faults = sorted((f for f in mine if f.is_fault), key=finding_priority, reverse=True)
        all_faults.extend(faults)
        if any(severity_rank(f.severity) >= need for f in faults):
            label = "needs work"
        elif any(f.status in ("fault", "ok") for f in mine):
            label = "clean"
        else:
            label = "unclear"
        out.append(Verdict(rep=rep.number, label=label, top_finding=faults[0] if faults else None))
    if out:
        labels = {v.label for v in out}
        label = "needs work" if "needs work" in labels else ("clean" if "clean" in labels else "unclear")
        top = max(all_faults, key=finding_priority) if all_faults else None
        out.append(Verdict(rep=None, label=label, top_finding=top))
    return tuple(out)


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
    pm = plugin_manager or _default_pm()
    try:
        pm.check_pending()
    except Exception as exc:
        from .errors import PluginError

        raise PluginError(f"a plugin implements an unknown hook: {exc}") from None
    rules, errors = collect_rules(pm)
    resolved = resolve_thresholds(rules, overrides=thresholds)
    metrics, metric_errors = collect_metrics(pm)
    errors.extend(metric_errors)
    reps = analysis.reps
    if metrics and reps:
        reps, errs = add_plugin_metrics(
            reps, metrics, body=analysis.body, view=analysis.view, timeout_s=timeout_s
        )
        errors.extend(errs)
    findings: list[Finding] = []
    if analysis.body is not None and reps:
        findings, errs = evaluate_rules(
            reps,
            rules,
            resolved,
            lift=analysis.lift,
            view=analysis.view,
            body=analysis.body,
            height_cm=analysis.lifter_height_cm,
            timeout_s=timeout_s,
        )
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
        verdicts=verdicts(findings, reps),
        options=options,
    )
