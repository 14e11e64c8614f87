"""Cost of running untrusted rules in a child process (formcheck_core.isolation), with in-run baselines.

On one real analysis (a dev clip; pose from the cache), evaluates the rules ``--repeats`` times:

- ``builtins``: the built-in rules only (trusted: in-process threads) — the baseline;
- ``+1 rule, thread``: plus one trivial run-time rule with ``FORMCHECK_PLUGIN_ISOLATION=thread``;
- ``+1 rule, process``: the same rule isolated in a forked child per call (the default);
- ``fork round trip``: one isolated call of a function returning None (per-call overhead, ms);
- ``GIL-holding rule``: a rule running ``sum(range(10**11))`` with a ``--budget-s`` budget: the whole
  evaluation's wall time (the issue's bound: budget + 2 s).

Run: ``python benchmarks/bench_isolation.py [--clip heavy_front_oblique_a] [--repeats 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from formcheck_core.analysis import analyze
from formcheck_core.config import shared_dir
from formcheck_core.isolation import run_in_child
from formcheck_core.plugins import new_plugin_manager, register_rule
from formcheck_core.rules import Rule, apply_rules


def _trivial(ctx):
    """Return nothing: measures the isolation machinery, not the rule."""
    return None


def _gil(ctx):
    """Hold the GIL for minutes."""
    return sum(range(10**11))


def _rule(rule_id, check, budget_s=None):
    return Rule(
        id=rule_id,
        check=check,
        description=rule_id,
        metrics=("torso_lean_liftoff_deg",),
        thresholds={"limit_deg": 1.0},
        cue="cue",
        timeout_s=budget_s,
    )


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="heavy_front_oblique_a")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=2.0)
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()

    analysis = analyze(shared_dir() / "videos" / "dev" / f"{args.clip}.mp4", rules=False, progress=False)
    n_reps = len(analysis.reps)
    builtin_pm = new_plugin_manager()
    extra_pm = new_plugin_manager()
    register_rule(_rule("trivial_plugin_rule", _trivial), manager=extra_pm)

    results: dict[str, object] = {"clip": args.clip, "reps": n_reps, "repeats": args.repeats}
    results["builtins_s"] = _time(lambda: apply_rules(analysis, plugin_manager=builtin_pm), args.repeats)
    os.environ["FORMCHECK_PLUGIN_ISOLATION"] = "thread"
    results["plus_rule_thread_s"] = _time(
        lambda: apply_rules(analysis, plugin_manager=extra_pm), args.repeats
    )
    os.environ["FORMCHECK_PLUGIN_ISOLATION"] = "process"
    results["plus_rule_process_s"] = _time(
        lambda: apply_rules(analysis, plugin_manager=extra_pm), args.repeats
    )
    results["fork_round_trip_ms"] = [1000 * t for t in _time(lambda: run_in_child(lambda send: None), 20)]

    gil_pm = new_plugin_manager()
    register_rule(_rule("gil_holder", _gil, args.budget_s), manager=gil_pm)
    t0 = time.perf_counter()
    a = apply_rules(analysis, plugin_manager=gil_pm)
    results["gil_rule_total_s"] = time.perf_counter() - t0
    results["gil_rule_budget_s"] = args.budget_s
    results["gil_rule_error"] = next(e.error for e in a.rule_errors if e.rule_id == "gil_holder")

    med = statistics.median
    print(f"clip {args.clip}: {n_reps} reps, median of {args.repeats} evaluations")
    print(f"  built-in rules only (baseline)      {med(results['builtins_s']) * 1000:8.1f} ms")  # type: ignore[arg-type]
    print(f"  + 1 rule, in-process thread         {med(results['plus_rule_thread_s']) * 1000:8.1f} ms")  # type: ignore[arg-type]
    print(f"  + 1 rule, isolated (fork per call)  {med(results['plus_rule_process_s']) * 1000:8.1f} ms")  # type: ignore[arg-type]
    print(f"  one isolated call (fork round trip) {med(results['fork_round_trip_ms']):8.1f} ms")  # type: ignore[arg-type]
    print(
        f"  GIL-holding rule, budget {args.budget_s:g} s: whole evaluation {results['gil_rule_total_s']:.2f} s "
        f"({results['gil_rule_error']})"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
