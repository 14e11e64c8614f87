"""The plugin contract: the hooks a formcheck plugin may implement.

A plugin is any module or object with functions decorated by :data:`hookimpl` whose names match
the hooks below. Built-in rules (``formcheck_rules``) are plugins exactly like third-party ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    from .biomech.body import BodySeries, Rep, ViewEstimate
    from .biomech.metric_spec import MetricSpec
    from .rules.model import Rule

hookspec = HookspecMarker("formcheck")
hookimpl = HookimplMarker("formcheck")


@hookspec
def register_rules(register: Callable[[Rule], None]) -> None:
    """Register form rules: call ``register(Rule(...))`` once per rule."""


@hookspec
def register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register extra per-rep metrics: call ``register(MetricSpec(...))`` once per metric.

    The spec's ``measure(inp)`` reads one rep (:class:`~formcheck_core.biomech.metric_spec.RepInput`:
    ``body``, ``rep``, ``view``, ``height_cm``) and returns a float, or ``(value, sample)`` to say
    where it was read; NaN = not measurable. The name carries the unit (``_deg``, ``_rel``,
    ``_px``, ``_cm``, ``_s``). :func:`formcheck_core.analysis.analyze` stores them in
    ``Rep.metrics`` beside the built-in ones (with or without rules), rules read them the same
    way, and the LLM prompt, ``analysis.json`` and the stills use the spec's description, glossary
    text, series and joints. Deprecated but accepted: ``register(name, description, fn(body, rep,
    view) -> float)``.
    """


@hookspec(firstresult=True)
def detect_reps(body: BodySeries, view: ViewEstimate, lift: str) -> Sequence[Rep] | None:
    """Override key-moment detection and rep segmentation for ``lift``; return None to defer."""
