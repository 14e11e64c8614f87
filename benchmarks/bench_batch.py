"""Batch throughput: clips per minute in one process, with 1 local worker, N local workers and a Dask cluster.

Every configuration analyses the same dev clips from scratch (pose cache off, every frame by
default so the pose work dominates); the configurations are interleaved over ``--repeats``
rounds and the median is reported, so machine load affects them alike. Configurations:

* ``loop``: :func:`~formcheck_core.batch.analyze_clip_rows` on each clip in this process, one
  after the other: the single-clip ``analyze`` path (decoder thread beside the pose model; no
  process start-up: this process has already imported everything and loaded MediaPipe once).
* ``local1``: ``run_batch(workers=1)``: one worker process (fewer workers than cores, so it keeps
  its decoder thread). The in-run baseline of the issue's target.
* ``local1i``: the same with ``FORMCHECK_DECODE_INLINE=1``: one worker on exactly one core, what
  each of N >= cores workers runs like. Shows how much of a ratio comes from that alone.
* ``localN``: ``run_batch(workers=N)``; with N >= cores each worker decodes inline.
* ``dask``: ``run_batch(client=...)`` on a ``LocalCluster`` of N worker processes, one thread
  each, started before the clock (it stands in for an existing cluster; its start-up is printed
  separately). Its workers decode inline when they fill the cores, like the local pool's.

Wall time of ``local*`` and ``dask`` counts from ``run_batch`` until the tables are written: the
local pool's start-up (spawn, imports, first model load) is inside it; the Dask workers' process
start-up is not, their imports and first model load are (first task). ``task CPU s``: CPU time of
the worker processes (all their threads, Dask's own included) while running the clips, summed
over clips: the work, whatever the machine's load. ``all CPU s``: every process of the
configuration (this process + its children, from ``getrusage``; Dask: scheduler, nannies and
start-up included). On a shared machine wall-clock ratios are distorted: decide with CPU s, and
re-run on a quiet machine for the verdicts. The load average is printed next to every figure.

Memory: each worker's peak RSS after its first and after its last clip; and, to see whether
memory stays flat over clips, one worker analysing the same clip ``--same-clip K`` times.

Run: ``python benchmarks/bench_batch.py [--workers 2] [--repeats 2] [--clips 10] [--fps 30] [--json out.json]``.
Targets (issue #14, 2-core machine): 2 workers >= 1.6x one worker; Dask <= 10 % over the local pool.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from formcheck_core.batch import ClipOptions, analyze_clip_rows, run_batch
from formcheck_core.config import shared_dir
from formcheck_core.video import DECODE_INLINE_ENV

#: Short dev clips (0.97-3.9 s; 600x600 and 1280x720), enough for a few rounds on 2 cores.
CLIPS = (
    "posereader_good",
    "posereader_bad",
    "posereader_arm_bend",
    "posereader_rdl",
    "posereader_heellift",
    "posereader_good_bad",
    "reel_bad_squatting_10",
    "reel_good_15",
    "reel_bad_07",
    "reel_bad_rounding_11",
)
SCALING_TARGET = 1.6
DASK_OVERHEAD_TARGET = 0.10


def _cpu_all() -> float:
    """CPU seconds of this process and its reaped children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _reap(timeout_s: float = 30.0) -> None:
    """Wait for this process's finished children to be joined (their CPU then counts in rusage)."""
    end = time.monotonic() + timeout_s
    while multiprocessing.active_children() and time.monotonic() < end:
        time.sleep(0.05)


def run_config(config: str, clips: list[Path], workers: int, fps: float) -> dict:
    """One batch of ``clips`` without the pose cache: wall and CPU time, per-worker memory."""
    options = ClipOptions(fps=fps or None, cache=False)
    load = os.getloadavg()[0]
    startup_s, client, cluster = 0.0, None, None
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        if config == "loop":
            cpu0, t0 = _cpu_all(), time.perf_counter()
            results = [analyze_clip_rows(c, options) for c in clips]
            wall_s = time.perf_counter() - t0
        else:
            if config == "local1i":
                os.environ[DECODE_INLINE_ENV] = "1"
            if config == "dask":
                from distributed import Client, LocalCluster

                t0 = time.perf_counter()
                cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                )
                client = Client(cluster)
                client.wait_for_workers(workers)
                startup_s = time.perf_counter() - t0
            cpu0 = _cpu_all()
            try:
                t0 = time.perf_counter()
                ds = run_batch(
                    clips,
                    Path(tmp) / "out",
                    options=options,
                    client=client,
                    progress=False,
                    workers=1 if config.startswith("local1") else workers,
                )
                wall_s = time.perf_counter() - t0
            finally:
                os.environ.pop(DECODE_INLINE_ENV, None)
                if client is not None:
                    client.close()
                    cluster.close()
            _reap()
            results = list(ds.results)
        cpu_all = _cpu_all() - cpu0
    errors = [r.clip["error"] for r in results if r.status == "error"]
    assert not errors, errors
    per_worker: dict[int, list[float]] = {}
    for r in results:
        per_worker.setdefault(r.runtime["pid"], []).append(r.runtime["peak_rss_mib"])
    return {
        "wall_s": wall_s,
        "startup_s": startup_s,
        "load": (load + os.getloadavg()[0]) / 2,
        "clips": len(results),
        "samples": int(sum(r.clip["samples"] or 0 for r in results)),
        "task_cpu_s": sum(r.runtime["cpu_s"] for r in results),
        "all_cpu_s": cpu_all,
        "workers": {
            pid: {"clips": len(v), "peak_rss_first_mib": v[0], "peak_rss_last_mib": max(v)}
            for pid, v in per_worker.items()
        },
    }


def same_clip_memory(clip: Path, times: int, fps: float) -> list[float]:
    """Peak RSS (MiB) of one worker after each of ``times`` analyses of ``clip`` (pose cache off)."""
    with tempfile.TemporaryDirectory(prefix="bench-batch-mem-") as tmp:
        copies = []
        for i in range(times):
            copies.append(Path(tmp) / f"copy{i}{clip.suffix}")
            copies[-1].symlink_to(clip)
        ds = run_batch(
            copies,
            Path(tmp) / "out",
            options=ClipOptions(fps=fps or None, cache=False),
            workers=1,
            progress=False,
        )
    return [r.runtime["peak_rss_mib"] for r in ds.results]


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="N for the parallel configurations (default 2)")
    ap.add_argument("--repeats", type=int, default=1, help="interleaved rounds (median reported)")
    ap.add_argument(
        "--clips", type=int, default=len(CLIPS), help=f"how many of the {len(CLIPS)} short dev clips"
    )
    ap.add_argument(
        "--fps", type=float, default=30, help="sampling rate (default 30: every frame; 0 = every frame)"
    )
    ap.add_argument(
        "--same-clip", type=int, default=6, metavar="K", help="memory run: one clip K times (0 = skip)"
    )
    ap.add_argument(
        "--configs", nargs="*", help="only these configurations (default: loop local1 local1i localN dask)"
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    os.environ.pop(DECODE_INLINE_ENV, None)  # the configurations set it themselves
    dev = shared_dir() / "videos" / "dev"
    clips = [dev / f"{stem}.mp4" for stem in CLIPS[: args.clips]]
    local_n = f"local{args.workers}"
    configs = tuple(args.configs or ("loop", "local1", "local1i", local_n, "dask"))
    runs: dict[str, list[dict]] = {c: [] for c in configs}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load0 = os.getloadavg()[0]
    for _ in range(args.repeats):
        for config in configs:
            runs[config].append(run_config(config, clips, args.workers, args.fps))
    first = runs[configs[0]][0]
    print(
        f"{len(clips)} clips, {first['samples']} pose samples at {args.fps:g} fps, {cores} usable cores, "
        f"median of {args.repeats} round(s), load average before/after {load0:.1f}/{os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'config':<8} {'load':>5} {'wall s':>7} {'clips/min':>9} {'vs local1':>9} {'vs loop':>8} "
        f"{'task CPU s':>10} {'all CPU s':>9} {'CPU/wall':>8}  per-worker peak RSS MiB (first -> last clip)"
    )
    med = {
        c: {
            k: statistics.median(r[k] for r in runs[c]) for k in ("wall_s", "task_cpu_s", "all_cpu_s", "load")
        }
        for c in configs
    }
    summary: dict = {"configs": {}, "cores": cores}
    for config in configs:
        m, last = med[config], runs[config][-1]
        rel = {
            base: (f"{med[base]['wall_s'] / m['wall_s']:8.2f}x" if base in med else f"{'-':>9}")
            for base in ("local1", "loop")
        }
        mem = ", ".join(
            f"{w['peak_rss_first_mib']:.0f}->{w['peak_rss_last_mib']:.0f} ({w['clips']} clips)"
            for w in last["workers"].values()
        )
        print(
            f"{config:<8} {m['load']:5.1f} {m['wall_s']:7.1f} {60 * len(clips) / m['wall_s']:9.1f} "
            f"{rel['local1']:>9} {rel['loop']:>8} {m['task_cpu_s']:10.1f} {m['all_cpu_s']:9.1f} "
            f"{m['all_cpu_s'] / m['wall_s']:8.2f}  {mem}"
        )
        summary["configs"][config] = {
            **m,
            "clips_per_min": 60 * len(clips) / m["wall_s"],
            "runs": runs[config],
        }
    busy = max((m["load"] for m in med.values()), default=0.0) > 0.5 * cores
    if busy:
        print(
            f"NOTE: load average above {0.5 * cores:g} during the runs: other processes share the cores, "
            "so the wall-clock verdicts below are distorted; compare the CPU s columns and re-run when quiet."
        )
    if "local1" in med and local_n in med:
        speedup = med["local1"]["wall_s"] / med[local_n]["wall_s"]
        line = (
            f"TARGET batch scaling: {args.workers} workers {speedup:.2f}x one worker (wall; target >= "
            f"{SCALING_TARGET}x on a 2-core machine): {_verdict(speedup >= SCALING_TARGET)}"
        )
        if "loop" in med:
            line += f"; {med['loop']['wall_s'] / med[local_n]['wall_s']:.2f}x the one-process analyze loop"
        if "local1i" in med:
            line += f"; {med['local1i']['wall_s'] / med[local_n]['wall_s']:.2f}x one inline-decoding worker"
        print(line)
        summary["scaling"] = speedup
    if "dask" in med and local_n in med:
        over = med["dask"]["wall_s"] / med[local_n]["wall_s"] - 1
        over_cpu = med["dask"]["task_cpu_s"] / med[local_n]["task_cpu_s"] - 1
        startup = statistics.median(r["startup_s"] for r in runs["dask"])
        over_start = (med["dask"]["wall_s"] + startup) / med[local_n]["wall_s"] - 1
        print(
            f"TARGET Dask overhead vs the {args.workers}-worker local pool (target <= "
            f"{100 * DASK_OVERHEAD_TARGET:.0f}%): task CPU {100 * over_cpu:+.1f}% (the same work in "
            f"both, whatever the load): {_verdict(over_cpu <= DASK_OVERHEAD_TARGET)}; wall time "
            f"{100 * over:+.1f}% on a running cluster (the local pool's process start-up is inside its "
            f"time, the Dask workers' is not): {_verdict(over <= DASK_OVERHEAD_TARGET)}; "
            f"{100 * over_start:+.1f}% counting the cluster's start ({startup:.1f} s)"
        )
        summary["dask_overhead"] = over
        summary["dask_overhead_task_cpu"] = over_cpu
        summary["dask_overhead_with_start"] = over_start
    if args.same_clip:
        summary["same_clip_peak_rss_mib"] = flat = same_clip_memory(clips[0], args.same_clip, args.fps)
        print(
            f"one worker, {clips[0].stem} x{args.same_clip}: peak RSS MiB after each clip "
            + " ".join(f"{m:.0f}" for m in flat)
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
