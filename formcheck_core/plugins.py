"""The plugin manager: built-in rules and installed plugins, loaded once, on first use.

Built-in rules (``formcheck_rules.*``, listed in :data:`DEFAULT_PLUGINS`) are registered exactly
like third-party plugins. Third-party plugins are found through the ``formcheck`` entry-point
group. ``$FORMCHECK_LOAD_PLUGINS`` restricts that: unset loads every installed plugin; an empty
value loads none beyond the built-ins; ``name1,name2`` loads only those (distribution or
entry-point names). For notebooks and tests, :func:`register_rule` adds a rule at run time and
:func:`unregister_rule` removes it (:func:`register_metric` / :func:`temporary_metric` for metrics).
Hook collection (:func:`collect_rules`, :func:`collect_metrics`, :func:`metric_specs`) is here too.

Long because loading (built-ins, entry points, all or nothing), run-time registration and hook
collection share the one manager and its state.
"""

from __future__ import annotations

import importlib
import os
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .biomech.metric_spec import MetricSpec, legacy_metric
from .biomech.metrics import METRIC_SPECS, METRICS
from .errors import PluginError, RuleConfigError
from .findings import RuleError
from .hookspecs import hookimpl
from .isolation import (
    DEFAULT_TIMEOUT_S,
    PluginAbort,
    is_trusted,
    isolation_mode,
    rule_timeout_s,
    run_in_child,
)
from .isolation import call as isolated_call
from .rules.model import Rule

if TYPE_CHECKING:
    from .biomech.body import BodySeries, Rep, ViewEstimate

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "LoadedMetric",
    "LoadedRule",
    "PluginError",
    "collect_metrics",
    "collect_rules",
    "get_plugin_manager",
    "get_plugins",
    "hookimpl",
    "load_plugins",
    "metric_specs",
    "new_plugin_manager",
    "plugin_reps",
    "register_metric",
    "register_rule",
    "temporary_metric",
    "temporary_rule",
    "unregister_rule",
]

ENTRY_POINT_GROUP = "formcheck"
#: Environment variable restricting which installed plugins load (see module docstring).
LOAD_PLUGINS_ENV = "FORMCHECK_LOAD_PLUGINS"
#: Built-in plugins: one module per rule, registered like any other plugin.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "formcheck_rules.excessive_torso_lean",
    "formcheck_rules.incomplete_lockout",
    "formcheck_rules.bar_drift",
    "formcheck_rules.hips_rise_first",
    "formcheck_rules.hyperextension_at_lockout",
    "formcheck_rules.bent_arms",
    "formcheck_rules.heel_lift",
    "formcheck_rules.rounded_back",
    "formcheck_rules.squat_pattern",
)
RUNTIME_PREFIX = "runtime:"


#: Entry-point plugin name -> (distribution name, version), for listings.
_DISTS: dict[str, tuple[str, str]] = {}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).strip().lower()


def new_plugin_manager(
    *, builtins: bool = True, entry_points: bool = False, only: Sequence[str] | None = None
) -> pluggy.PluginManager:
    """A fresh manager with the hookspecs, the built-ins and (if asked) installed plugins.

    ``only`` restricts entry-point plugins to those distribution or entry-point names.
    Raises :class:`PluginError` if a plugin fails to import or implements an unknown hook.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    _load_into(pm, builtins=builtins, entry_points=entry_points, only=only)
    return pm


def _load_into(
    pm: pluggy.PluginManager, *, builtins: bool, entry_points: bool, only: Sequence[str] | None
) -> None:
    registered: list[Any] = []
    try:
        if builtins:
            for module_name in DEFAULT_PLUGINS:
                mod = importlib.import_module(module_name)
                if not pm.is_registered(mod):
                    pm.register(mod, module_name)
                    registered.append(mod)
        if entry_points:
            wanted = {_normalise(n) for n in only} if only is not None else None
            seen = set()
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep, "dist", None)
                dist_name = dist.metadata["Name"] if dist is not None else ""
                names = {_normalise(ep.name), _normalise(dist_name)} - {""}
                if wanted is not None and not names & wanted:
                    continue
                seen |= names
                try:
                    plugin = ep.load()
                except Exception as exc:
                    raise PluginError(
                        f"plugin {ep.name!r} ({dist_name or ep.value}) failed to load: "
                        f"{type(exc).__name__}: {exc}. "
                        f"Uninstall it or set {LOAD_PLUGINS_ENV} to the plugins you want"
                    ) from None
                if pm.is_registered(plugin) or pm.get_plugin(ep.name) is not None:
                    continue
                pm.register(plugin, name=ep.name)
                registered.append(plugin)
                _DISTS[ep.name] = (dist_name, dist.version if dist is not None else "")
            missing = sorted(wanted - seen) if wanted is not None else []
            if missing:
                raise PluginError(
                    f"{LOAD_PLUGINS_ENV}: no installed formcheck plugin named {', '.join(missing)}"
                )
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        for plugin in registered:
            pm.unregister(plugin)
        raise PluginError(f"plugin {exc.plugin!r} does not fit formcheck's hooks: {exc}") from None
    except Exception:
        for plugin in registered:
            pm.unregister(plugin)
        raise


#: The global manager; filled by :func:`load_plugins` on first use, never at import time.
pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
pm.add_hookspecs(hookspecs)
_loaded = False


def load_plugins() -> None:
    """Register the built-ins and the installed plugins ``$FORMCHECK_LOAD_PLUGINS`` allows (once)."""
    global _loaded
    if _loaded:
        return
    env = os.environ.get(LOAD_PLUGINS_ENV)
    only = None if env is None else [n for n in env.split(",") if n.strip()]
    _load_into(pm, builtins=True, entry_points=only is None or bool(only), only=only)
    _loaded = True


def get_plugin_manager() -> pluggy.PluginManager:
    """The global plugin manager, with plugins loaded."""
    load_plugins()
    return pm


def get_plugins(manager: pluggy.PluginManager | None = None) -> list[dict[str, Any]]:
    """Loaded plugins: name, hooks implemented, and distribution name/version for installed ones."""
    manager = manager or get_plugin_manager()
    out = []
    for plugin in manager.get_plugins():
        name = manager.get_name(plugin)
        hooks = sorted(h.name for h in manager.get_hookcallers(plugin) or [])
        info: dict[str, Any] = {"name": name, "hooks": hooks}
        if name in _DISTS:
            info["package"], info["version"] = _DISTS[name]
        out.append(info)
    return sorted(out, key=lambda p: (p["name"] not in DEFAULT_PLUGINS, p["name"]))


class _RuntimeRules:
    """A plugin object holding rules registered at run time (notebooks, tests)."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules

    @hookimpl
    def register_rules(self, register) -> None:
        for r in self.rules:
            register(r)


def register_rule(rule: Rule, *, manager: pluggy.PluginManager | None = None) -> str:
    """Register one rule at run time; returns its plugin name. Re-registering an id replaces it."""
    if not isinstance(rule, Rule):
        raise TypeError(f"register_rule() expects a formcheck Rule, got {type(rule).__name__}")
    manager = manager or get_plugin_manager()
    name = RUNTIME_PREFIX + rule.id
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)
    manager.register(_RuntimeRules(rule), name=name)
    return name


def unregister_rule(rule_id: str, *, manager: pluggy.PluginManager | None = None) -> bool:
    """Remove a rule registered with :func:`register_rule`; False if there was none."""
    manager = manager or get_plugin_manager()
    name = RUNTIME_PREFIX + rule_id
    if manager.get_plugin(name) is None:
        return False
    manager.unregister(name=name)
    return True


@contextmanager
def temporary_rule(rule: Rule, *, manager: pluggy.PluginManager | None = None) -> Iterator[Rule]:
    """Register ``rule`` for the duration of a ``with`` block (e.g. one test)."""
    register_rule(rule, manager=manager)
    try:
        yield rule
    finally:
        unregister_rule(rule.id, manager=manager)


class _RuntimeMetrics:
    """A plugin object holding metrics registered at run time (notebooks, tests)."""

    def __init__(self, *specs: MetricSpec) -> None:
        self.specs = specs

    @hookimpl
    def register_metrics(self, register: Callable[[MetricSpec], None]) -> None:
        for spec in self.specs:
            register(spec)


def register_metric(spec: MetricSpec, *, manager: pluggy.PluginManager | None = None) -> str:
    """Register one metric at run time; returns its plugin name. Re-registering a name replaces it."""
    if not isinstance(spec, MetricSpec):
        raise TypeError(f"register_metric() expects a MetricSpec, got {type(spec).__name__}")
    manager = manager or get_plugin_manager()
    name = RUNTIME_PREFIX + "metric:" + spec.name
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)
    manager.register(_RuntimeMetrics(spec), name=name)
    return name


@contextmanager
def temporary_metric(
    spec: MetricSpec, *, manager: pluggy.PluginManager | None = None
) -> Iterator[MetricSpec]:
    """Register ``spec`` for the duration of a ``with`` block (e.g. one test)."""
    name = register_metric(spec, manager=manager)
    try:
        yield spec
    finally:
        (manager or get_plugin_manager()).unregister(name=name)


def plugin_reps(
    body: BodySeries, view: ViewEstimate, lift: str, manager: pluggy.PluginManager | None = None
) -> tuple[Rep, ...] | None:
    """Reps from a plugin's ``detect_reps`` override, or None when no plugin overrides it.

    The hook runs isolated (:mod:`formcheck_core.isolation`: a child process with a time budget
    unless every implementation is formcheck's own); anything but a sequence of
    :class:`~formcheck_core.biomech.body.Rep` numbered 1, 2, ... is a :class:`PluginError`.
    """
    from .biomech.body import Rep

    manager = manager or get_plugin_manager()
    impls = manager.hook.detect_reps.get_hookimpls()
    if not impls:
        return None

    def run():
        return manager.hook.detect_reps(body=body, view=view, lift=lift)

    if all(is_trusted(i.function) for i in impls):
        run.__module__ = __name__  # formcheck's own implementations run in-process
    try:
        reps = isolated_call(run, (), rule_timeout_s(), "detect_reps")
    except Exception as exc:
        raise PluginError(f"a plugin's detect_reps failed: {type(exc).__name__}: {exc}") from None
    if reps is None:
        return None
    if isinstance(reps, (str, bytes, Rep)) or not isinstance(reps, (list, tuple)):
        raise PluginError(
            f"a plugin's detect_reps returned {type(reps).__name__}; expected a list of Rep or None"
        )
    bad = [type(r).__name__ for r in reps if not isinstance(r, Rep)]
    if bad:
        raise PluginError(f"a plugin's detect_reps returned {bad[0]} among its reps; expected Rep")
    if [r.number for r in reps] != list(range(1, len(reps) + 1)):
        raise PluginError("a plugin's detect_reps returned reps not numbered 1, 2, 3, ...")
    try:
        ordered = all(0 <= r.start_sample <= r.end_sample for r in reps)
    except TypeError:
        ordered = False
    if not ordered:
        raise PluginError("a plugin's detect_reps returned a rep whose sample range is not 0 <= start <= end")
    return tuple(reps)


# --------------------------------------------------------------------------------------------
# Hook collection: what the plugins contribute


@dataclass(frozen=True)
class LoadedRule:
    """A registered rule and the plugin that registered it."""

    rule: Rule
    plugin: str


@dataclass(frozen=True)
class LoadedMetric:
    """An extra per-rep metric contributed by a plugin, and the plugin's name."""

    spec: MetricSpec
    plugin: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description


def collect_rules(pm: pluggy.PluginManager | None = None) -> tuple[dict[str, LoadedRule], list[RuleError]]:
    """Every rule the plugins register, by id, and the errors of plugins whose hook failed.

    Plugins are asked in registration order (built-ins first); a duplicate id is reported as an
    error and the first registration kept.
    """
    pm = pm or get_plugin_manager()
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
    """Extra per-rep metrics registered by plugins, by name, and registration errors.

    A plugin calls ``register(MetricSpec(...))``; the old form ``register(name, description,
    fn(body, rep, view))`` is still accepted (deprecated). A name already taken (a built-in or an
    earlier plugin's) is reported and skipped.
    """
    pm = pm or get_plugin_manager()
    metrics: dict[str, LoadedMetric] = {}
    errors: list[RuleError] = []
    for impl in pm.hook.register_metrics.get_hookimpls():
        plugin = impl.plugin_name
        found: list[LoadedMetric] = []

        def register(
            spec: MetricSpec | str,
            description: str | None = None,
            fn: Callable[..., float] | None = None,
            _found: list[LoadedMetric] = found,
            _plugin: str = plugin,
        ) -> None:
            if not isinstance(spec, MetricSpec):
                if description is None or fn is None:
                    raise TypeError(
                        f"register() expects a MetricSpec (or name, description, fn), got {type(spec).__name__}"
                    )
                spec = legacy_metric(spec, description, fn)
            _found.append(LoadedMetric(spec, _plugin))

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


def metric_specs(pm: pluggy.PluginManager | None = None) -> dict[str, MetricSpec]:
    """The metric registry: every built-in metric's spec, then every plugin metric's, by name."""
    plugin_metrics, _ = collect_metrics(pm)
    return {**METRIC_SPECS, **{name: m.spec for name, m in plugin_metrics.items()}}


#: Untrusted registration hooks already probed in a child process.
_PROBED: weakref.WeakSet = weakref.WeakSet()


def _call_impl(impl: Any, register: Callable[..., None]) -> None:
    """Call one plugin's hook implementation as pluggy would (it may omit the argument).

    A registration hook must fill ``register`` in this process, so it cannot run in a child;
    an untrusted one is first probed once in a child with the time budget
    (:mod:`formcheck_core.isolation`): one that hangs, holds the GIL, exits or crashes there is
    reported and never called here.
    """
    if getattr(impl, "wrapper", False) or getattr(impl, "hookwrapper", False):
        return
    fn = impl.function
    wants = [name for name in impl.argnames if name == "register"]
    try:
        budget = rule_timeout_s()
    except RuleConfigError:  # reported by the rule engine; probe with the default meanwhile
        budget = DEFAULT_TIMEOUT_S
    if fn not in _PROBED and not is_trusted(fn) and isolation_mode() == "process" and budget > 0:
        run_in_child(
            lambda _send: fn(*[lambda *a, **k: None for _ in wants]) and None,
            timeout_s=budget,
            name="register",
        )
        _PROBED.add(fn)
    try:
        fn(*[register for _ in wants])
    except Exception:
        raise
    except BaseException as exc:  # SystemExit & co. from a plugin must not end the analysis
        raise PluginAbort(f"raised {type(exc).__name__} instead of returning") from None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
