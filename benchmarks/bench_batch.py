"""Batch throughput: clips per minute with 1 local worker vs N local workers vs a Dask cluster.

Every configuration analyses the same dev clips from scratch (pose cache off, every frame by
default so the pose work dominates) through :func:`formcheck_core.batch.run_batch`; the configurations are
interleaved over ``--repeats`` rounds and the median wall time is reported, so machine load
affects them alike (the 1-worker run is the in-run baseline). Wall time includes starting the
local pool's processes; the Dask cluster (a ``LocalCluster`` of N worker processes, one thread
each, standing in for an existing cluster) is started before the clock and its start-up is
reported separately. ``CPU s``: CPU time the workers spent on the clips (all threads): equal
across configurations when one-thread workers do the same work, whatever the machine's load; the
speed-up on an idle machine is bounded by it. Memory: each worker's peak RSS (``ru_maxrss``) after its first and after its
last clip; and, to see whether memory stays flat over clips, one worker analysing the same clip
``--same-clip K`` times (copies under different names), peak RSS after each.

Run: ``python benchmarks/bench_batch.py [--workers 2] [--repeats 1] [--clips 10] [--fps 30] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from formcheck_core.batch import ClipOptions, run_batch
from formcheck_core.config import shared_dir

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


def run_config(config: str, clips: list[Path], workers: int, fps: float) -> dict:
    """One batch of ``clips`` without the pose cache; wall time, per-worker memory, cluster start-up."""
    options = ClipOptions(fps=fps or None, cache=False)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        startup_s, client, cluster = 0.0, None, None
        if config == "dask":
            from distributed import Client, LocalCluster

            t0 = time.perf_counter()
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = Client(cluster)
            client.wait_for_workers(workers)
            startup_s = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            ds = run_batch(
                clips,
                Path(tmp) / "out",
                options=options,
                client=client,
                progress=False,
                workers=1 if config == "local1" else workers,
            )
            wall_s = time.perf_counter() - t0
        finally:
            if client is not None:
                client.close()
                cluster.close()
    assert (ds.clips["status"] != "error").all(), ds.clips[["clip", "error"]]
    per_worker: dict[int, list[float]] = {}
    for r in ds.results:
        per_worker.setdefault(r.runtime["pid"], []).append(r.runtime["peak_rss_mib"])
    return {
        "wall_s": wall_s,
        "startup_s": startup_s,
        "clips": len(ds.clips),
        "samples": int(ds.clips["samples"].sum()),
        "cpu_s": sum(r.runtime["cpu_s"] for r in ds.results),
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
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    dev = shared_dir() / "videos" / "dev"
    clips = [dev / f"{stem}.mp4" for stem in CLIPS[: args.clips]]
    configs = ("local1", f"local{args.workers}", "dask")
    runs: dict[str, list[dict]] = {c: [] for c in configs}
    load0 = os.getloadavg()[0]
    for _ in range(args.repeats):
        for config in configs:
            runs[config].append(run_config(config, clips, args.workers, args.fps))
    base = statistics.median(r["wall_s"] for r in runs["local1"])
    print(
        f"{len(clips)} clips, {runs['local1'][0]['samples']} pose samples at {args.fps:g} fps, "
        f"{os.cpu_count()} cores, median of {args.repeats} round(s), load average before/after "
        f"{load0:.1f}/{os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'config':<8} {'wall s':>7} {'clips/min':>9} {'speed-up':>8} {'CPU s':>6}  per-worker peak RSS MiB (first -> last clip)"
    )
    summary = {}
    for config in configs:
        wall = statistics.median(r["wall_s"] for r in runs[config])
        last = runs[config][-1]
        mem = ", ".join(
            f"{w['peak_rss_first_mib']:.0f}->{w['peak_rss_last_mib']:.0f} ({w['clips']} clips)"
            for w in last["workers"].values()
        )
        cpu = statistics.median(r["cpu_s"] for r in runs[config])
        print(f"{config:<8} {wall:7.1f} {60 * len(clips) / wall:9.1f} {base / wall:7.2f}x {cpu:6.1f}  {mem}")
        summary[config] = {
            "wall_s": wall,
            "clips_per_min": 60 * len(clips) / wall,
            "speedup": base / wall,
            "runs": runs[config],
        }
    dask_wall = summary["dask"]["wall_s"]
    local_wall = summary[f"local{args.workers}"]["wall_s"]
    startup = statistics.median(r["startup_s"] for r in runs["dask"])
    print(
        f"Dask vs local pool ({args.workers} workers): {100 * (dask_wall / local_wall - 1):+.1f}% wall time "
        f"(cluster start-up {startup:.1f} s, not included)"
    )
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
