"""The :class:`Rule` model and the :func:`rule` decorator (the only part of ``rules`` hookspecs needs).

Importing this module loads no engine, no plugin manager and no numpy.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding
from ..vocabulary import SEVERITIES, VIEWS, Severity, ViewName, rule_title

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")

#: A rule's check: called with a :class:`~formcheck_core.rules.context.RuleContext` for one rep.
CheckFn = Callable[[Any], "Finding | Sequence[Finding] | None"]


@dataclass(frozen=True, eq=False)
class Rule:
    """One form rule.

    ``check(ctx)`` receives a :class:`~formcheck_core.rules.context.RuleContext` for one rep and
    returns a Finding (use ``ctx.fault`` / ``ctx.ok`` / ``ctx.not_measurable`` / ``ctx.compare``),
    a list of them, or None (nothing to say). ``thresholds`` are the defaults (name -> value, unit
    in the name; ``inf`` switches a limit off); ``presets`` maps a preset name to values that
    replace some of them. ``cue`` (and optionally ``message`` / ``praise``) are ``str.format``
    templates with the fields ``value``, ``threshold``, ``measured``, ``limit`` (formatted with
    units), ``unit``, ``moment``, ``at`` (gym phrase for when the value was measured, e.g. "just
    after the bar leaves the floor"), ``rep`` and any extra keyword the rule passes.
    ``lifts``: lift names it applies to ("deadlift" also matches "romanian_deadlift" etc.;
    "*" = every lift). ``views``: camera views it can measure from; on other views the engine
    reports "not measurable" with ``view_note`` as the reason. ``partial_pulls``: also judge
    partial pulls (cut by the clip, not from the floor, aborted, never reached lockout, not
    measurable) -- for a fault such a pull shows as well as a complete rep: made before the knee
    pass, during the pull (bent arms) or, for ``incomplete_lockout``, the stopping short itself
    (see :func:`~formcheck_core.rules.engine.evaluate_rules`). ``minor_when_ok``: rule ids whose
    "ok" on the same pull makes this rule's fault "minor" (:func:`~formcheck_core.rules.engine.minor_when_ok`).
    """

    id: str
    check: CheckFn
    description: str
    metrics: tuple[str, ...]
    thresholds: Mapping[str, float]
    cue: str
    severity: Severity = "moderate"
    lifts: tuple[str, ...] = ("deadlift",)
    views: tuple[ViewName, ...] = VIEWS
    view_note: str = ""
    #: Template of the finding's plain-language message for a fault (default: generic).
    message: str = ""
    #: Template of a "keep doing this" cue when the rep was measured and within the limit.
    praise: str = ""
    #: Default key moment of the findings: where they are placed (frame index, time) when the
    #: rep does not record the sample their metric was measured at (see ``RuleContext``).
    moment: str | None = None
    presets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: Seconds one call may take (None = the global default).
    timeout_s: float | None = None
    #: Also judge partial pulls (a fault such a pull shows too; see the class docstring).
    partial_pulls: bool = False
    #: Rule ids whose "ok" on the same pull makes this rule's fault "minor": still reported and
    #: cued, but it does not make the rep "needs work" (see
    #: :func:`~formcheck_core.rules.engine.minor_when_ok`). For a fault that matters through
    #: another one, e.g. a steep torso off the floor, which loads the back: with the back measured
    #: flat it is a hip-dominant start, not a fault.
    minor_when_ok: tuple[str, ...] = ()
    #: Sentence appended to the message of a fault made "minor" by ``minor_when_ok``.
    minor_note: str = ""
    #: Key of this fault in a labels file's ``faults`` (default: the rule id).
    label_key: str = ""
    #: What the fault looks like, in words and without thresholds, for the LLM that flags faults
    #: on its own judgement (default: ``description``).
    flag_description: str = ""
    #: The rule's name for people, in every view's text ("Rounded back"; default: from the id,
    #: ``rounded_back`` -> "Rounded back"). The id stays the key in the JSON, configs and labels.
    title: str = ""
    #: ``mark_readings(pull, thresholds) -> pull``: marks the pose quality of the readings this
    #: rule's own thresholds decide it cannot judge (``Rep.metric_quality``), given the rule's
    #: effective thresholds. The engine applies it to every pull before the rules run (with or
    #: without overrides, :func:`~formcheck_core.rules.engine.with_reading_marks`), so every view
    #: marks a reading low confidence exactly where the rule says "not measurable": one limit.
    mark_readings: Callable[[Any, Mapping[str, float]], Any] | None = None
    #: Names of thresholds whose default is *fixed*: set by a definition or a stated source (the
    #: rule module says which), not chosen on the dev labels. ``scripts/evaluate_rules.py`` judges
    #: them held out as they are (nothing is refitted per fold) and says so; every other threshold
    #: counts as calibrated and is refitted in its leave-one-clip-out rows.
    fixed: tuple[str, ...] = ()
    #: (lowest, highest) value of a threshold whose unit does not say it (e.g. a confidence, 0-1);
    #: other thresholds take their unit's span (:func:`~formcheck_core.rules.thresholds.threshold_range`).
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise ValueError(f"rule id {self.id!r} must be lower_snake_case")
        if not callable(self.check):
            raise ValueError(f"rule {self.id}: check must be callable, got {type(self.check).__name__}")
        if self.mark_readings is not None and not callable(self.mark_readings):
            raise ValueError(f"rule {self.id}: mark_readings must be callable or None")
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id}: severity {self.severity!r} is not one of {SEVERITIES}")
        if isinstance(self.lifts, str) or isinstance(self.metrics, str) or isinstance(self.views, str):
            raise ValueError(
                f"rule {self.id}: lifts, metrics and views must be tuples of names, not a string"
            )
        object.__setattr__(self, "label_key", self.label_key or self.id)
        object.__setattr__(self, "flag_description", self.flag_description or self.description)
        object.__setattr__(self, "title", str(self.title or rule_title(self.id)))
        object.__setattr__(self, "lifts", tuple(self.lifts))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "views", tuple(self.views))
        if isinstance(self.minor_when_ok, str):
            raise ValueError(f"rule {self.id}: minor_when_ok must be a tuple of rule ids, not a string")
        object.__setattr__(self, "minor_when_ok", tuple(self.minor_when_ok))
        if isinstance(self.fixed, str):
            raise ValueError(f"rule {self.id}: fixed must be a tuple of threshold names, not a string")
        object.__setattr__(self, "fixed", tuple(self.fixed))
        unknown_views = [v for v in self.views if v not in VIEWS]
        if unknown_views:
            raise ValueError(f"rule {self.id}: views {unknown_views} are not among {VIEWS}")
        object.__setattr__(self, "thresholds", _checked_values(self.id, dict(self.thresholds), "default"))
        unknown_ranges = set(self.ranges) - set(self.thresholds)
        if unknown_ranges:
            raise ValueError(f"rule {self.id}: ranges names unknown thresholds {sorted(unknown_ranges)}")
        object.__setattr__(self, "ranges", {k: (float(lo), float(hi)) for k, (lo, hi) in self.ranges.items()})
        unknown_fixed = set(self.fixed) - set(self.thresholds)
        if unknown_fixed:
            raise ValueError(f"rule {self.id}: fixed names unknown thresholds {sorted(unknown_fixed)}")
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


def _checked_values(rule_id: str, values: dict[str, Any], what: str) -> dict[str, float]:
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
) -> Callable[[CheckFn], Rule]:
    """Decorator: turn a check function into a :class:`Rule` (description = docstring's first line).

    >>> @rule(id="slow_pull", metrics=["rep_duration_s"], thresholds={"max_duration_s": 4.0},
    ...       cue="Pull with intent: {measured} from floor to lockout.")
    ... def slow_pull(ctx):
    ...     '''Flag pulls slower than a few seconds.'''
    ...     return ctx.compare("rep_duration_s", "max_duration_s", moment="lockout")
    """

    def wrap(check: CheckFn) -> Rule:
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
