"""``formcheck rules``: list every loaded rule with its source plugin, lifts, views and thresholds.

Also home of the threshold/plugin options shared with ``formcheck analyze``
(:func:`add_rule_options`, :func:`thresholds_from_args`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import textwrap
from pathlib import Path


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    """``--preset``, ``--config``, ``--threshold`` and ``--plugins`` (shared with ``analyze``)."""
    group = parser.add_argument_group("rules")
    group.add_argument(
        "--preset",
        help='threshold preset: "calibrated" (default: rules that do not beat never-flag in cross-validation '
        'are off), "all" (every rule on) or "seed" (the original, stricter limits with every rule the seed '
        "had on; rules added since keep their defaults)",
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="TOML",
        help='threshold file: preset = "seed" and [thresholds.<rule_id>] tables of name = value',
    )
    group.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="RULE.NAME=VALUE",
        help="override one threshold, e.g. excessive_torso_lean.max_lean_deg=60 (inf = off); repeatable",
    )
    group.add_argument(
        "--plugins",
        metavar="NAMES",
        help='comma-separated installed plugins to load ("" = built-in rules only; '
        "default: all, or $FORMCHECK_LOAD_PLUGINS)",
    )


def apply_plugin_option(args: argparse.Namespace) -> None:
    """Honour ``--plugins`` by setting ``$FORMCHECK_LOAD_PLUGINS`` and loading the plugins now, so
    that a name that is not installed is reported as the option the user gave, before any clip runs."""
    if getattr(args, "plugins", None) is None:
        return
    from ..errors import PluginError
    from ..plugins import LOAD_PLUGINS_ENV, get_plugin_manager

    os.environ[LOAD_PLUGINS_ENV] = args.plugins
    try:
        get_plugin_manager()
    except PluginError as exc:
        why = str(exc).removeprefix(f"{LOAD_PLUGINS_ENV}: ")
        raise PluginError(f"--plugins {args.plugins!r}: {why}") from None


def thresholds_from_args(args: argparse.Namespace) -> dict[str, dict[str, float]] | None:
    """The full threshold mapping for ``analyze(thresholds=...)``, or None when no option was given."""
    from ..rules.thresholds import threshold_settings

    apply_plugin_option(args)
    if not (args.preset or args.config or args.threshold):
        return None
    return threshold_settings(preset=args.preset, config=args.config, overrides=args.threshold)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_rule_options(parser)
    parser.add_argument("--json", action="store_true", help="print the rules as JSON")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print what each rule can and cannot see"
    )


def _fmt(value: float) -> str:
    return "off" if math.isinf(value) else f"{value:g}"


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    """JSON has no infinity: a switched-off limit (inf) is null."""
    return {k: (None if math.isinf(v) else v) for k, v in values.items()}


def _rule_json(rid: str, lr, effective: dict[str, float]) -> dict:
    r = lr.rule
    return {
        "id": rid,
        "plugin": lr.plugin,
        "title": r.title,
        "description": r.description,
        "lifts": list(r.lifts),
        "views": list(r.views),
        "metrics": list(r.metrics),
        "severity": r.severity,
        "partial_pulls": r.partial_pulls,
        "thresholds": _finite(effective),
        "defaults": _finite(r.thresholds),
        "presets": {p: _finite(vals) for p, vals in r.presets.items()},
        "doc": r.doc,
    }


def run(args: argparse.Namespace) -> int:
    from ..plugins import collect_rules, get_plugin_manager, get_plugins
    from ..rules.thresholds import DEFAULT_PRESET, preset_names, threshold_settings

    apply_plugin_option(args)
    pm = get_plugin_manager()
    rules, errors = collect_rules(pm)
    effective = threshold_settings(preset=args.preset, config=args.config, overrides=args.threshold, pm=pm)
    if args.json:
        payload = {
            "rules": [_rule_json(rid, lr, effective[rid]) for rid, lr in rules.items()],
            "plugins": get_plugins(pm),
            "errors": [{"rule_id": e.rule_id, "plugin": e.plugin, "error": e.error} for e in errors],
        }
        print(json.dumps(payload, indent=2))
        return 0
    preset = args.preset or DEFAULT_PRESET
    print(
        f"{len(rules)} rules loaded (threshold preset: {preset}; presets: {', '.join(preset_names(rules))})\n"
    )
    for rid, lr in rules.items():
        r = lr.rule
        # the id (for --threshold, configs, labels) and the title every report shows
        print(f'{rid}  "{r.title}"  [{r.severity}]  from {lr.plugin}')
        print(f"  {r.description}")
        partial = "   also judges partial pulls" if r.partial_pulls else ""
        print(
            f"  lifts: {', '.join(r.lifts)}   views: {', '.join(r.views)}   reads: {', '.join(r.metrics)}{partial}"
        )
        for name, value in effective[rid].items():
            notes = [f"default {_fmt(r.thresholds[name])}"] if value != r.thresholds[name] else []
            notes += [f"{p} {_fmt(vals[name])}" for p, vals in r.presets.items() if name in vals]
            print(f"  {name} = {_fmt(value)}" + (f"   ({'; '.join(notes)})" if notes else ""))
        if args.verbose and r.doc:
            print(textwrap.indent(r.doc, "    "))
        print()
    for e in errors:
        print(f"error: plugin {e.plugin}, {e.rule_id}: {e.error}")
    return 4 if errors else 0
