"""The plugin contract: the hooks a formcheck plugin may implement.

A plugin is any module or object with functions decorated by :data:`hookimpl` whose names match
the hooks below. Built-in rules (``formcheck_rules``) are plugins exactly like third-party ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    from .body import BodySeries, Rep, ViewEstimate
    from .rules.model import Rule

hookspec = HookspecMarker("formcheck")
hookimpl = HookimplMarker("formcheck")


@hookspec
def register_rules(register: Callable[[Rule], None]) -> None:
    """Register form rules: call ``register(Rule(...))`` once per rule."""


@hookspec
def register_metrics(register: Callable[[str, str, Callable[..., float]], None]) -> None:
    """Register extra per-rep metrics: ``register(name, description, fn(body, rep, view) -> float)``.

    The name carries the unit (``_deg``, ``_rel``, ``_px``, ``_s``); return NaN when not measurable.
    Rules read them from ``Rep.metrics`` like the built-in metrics.
    """


@hookspec(firstresult=True)
def detect_reps(body: BodySeries, view: ViewEstimate, lift: str) -> Sequence[Rep] | None:
    """Override key-moment detection and rep segmentation for ``lift``; return None to defer."""
