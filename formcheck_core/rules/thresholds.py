"""Threshold settings: presets, the TOML config file, CLI ``--threshold`` options, resolution.

Thresholds are resolved, lowest priority first, from: the rule's defaults (the "calibrated"
preset), a named preset the rule declares (e.g. "seed"), a TOML config file, then explicit
overrides (CLI ``--threshold rule.name=value`` or the ``thresholds`` keyword argument).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pluggy

from ..errors import RuleConfigError
from ..plugins import LoadedRule, collect_rules
from ..units import UNITS, unit_of
from .model import Rule

#: The preset made of every rule's default thresholds.
DEFAULT_PRESET = "calibrated"


def preset_names(rules: Mapping[str, LoadedRule]) -> list[str]:
    """Every preset name some rule declares, plus the default ("calibrated")."""
    names = {DEFAULT_PRESET}
    for lr in rules.values():
        names.update(lr.rule.presets)
    return sorted(names)


def threshold_range(rule: Rule, name: str) -> tuple[float, float] | None:
    """(lowest, highest) value threshold ``name`` of ``rule`` can take: the rule's own
    ``Rule.ranges`` entry, else its unit's span (``units.Unit.span``, from the name's suffix), else
    None (a unit-less name the rule gives no range: not checked). ``inf`` always switches a
    ``max_`` limit off and ``-inf`` a ``min_`` one."""
    if name in rule.ranges:
        return rule.ranges[name]
    unit = unit_of(name)
    return UNITS[unit].span if unit else None


def check_threshold(rule: Rule, name: str, value: float) -> float:
    """``value`` if it is within :func:`threshold_range` (or the "off" infinity of a ``max_`` /
    ``min_`` limit); else :class:`RuleConfigError` naming the threshold and its range."""
    span = threshold_range(rule, name)
    off = (name.startswith("max_") and value == math.inf) or (name.startswith("min_") and value == -math.inf)
    if span is None or off or span[0] <= value <= span[1]:
        return value
    lo, hi = span
    words = (
        f"at least {lo:g}"
        if hi == math.inf
        else f"at most {hi:g}"
        if lo == -math.inf
        else f"from {lo:g} to {hi:g}"
    )
    switch = (
        "; inf switches the limit off"
        if name.startswith("max_")
        else "; -inf switches the limit off"
        if name.startswith("min_")
        else ""
    )
    raise RuleConfigError(
        f"threshold {rule.id}.{name}={value:g} is out of range: give a number {words}{switch}"
    )


def resolve_thresholds(
    rules: Mapping[str, LoadedRule],
    *,
    preset: str | None = None,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Effective thresholds ``{rule_id: {name: value}}``: defaults < ``preset`` < ``overrides``.

    Raises :class:`RuleConfigError` for an unknown preset, rule or threshold name, or a value
    that is not a number or is out of its range (:func:`check_threshold`). A rule without values in ``preset`` keeps its defaults.
    """
    if preset is not None and preset not in preset_names(rules):
        raise RuleConfigError(
            f"unknown threshold preset {preset!r}; known presets: {', '.join(preset_names(rules))}"
        )
    out: dict[str, dict[str, float]] = {}
    for rid, lr in rules.items():
        values = dict(lr.rule.thresholds)
        if preset and preset != DEFAULT_PRESET:
            values.update(lr.rule.presets.get(preset, {}))
        out[rid] = values
    for rid, given in (overrides or {}).items():
        if rid not in out:
            raise RuleConfigError(
                f"threshold for unknown rule {rid!r}; loaded rules: {', '.join(sorted(out)) or 'none'} "
                "(is its plugin installed and not excluded by FORMCHECK_LOAD_PLUGINS?)"
            )
        if not isinstance(given, Mapping):
            raise RuleConfigError(
                f"thresholds for rule {rid!r} must be a table of name = number, got {given!r}"
            )
        for name, value in given.items():
            if name not in out[rid]:
                raise RuleConfigError(
                    f"rule {rid!r} has no threshold {name!r}; it has: {', '.join(sorted(out[rid]))}"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise RuleConfigError(f"threshold {rid}.{name} must be a number, got {value!r}")
            out[rid][name] = check_threshold(rules[rid].rule, name, float(value))
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
