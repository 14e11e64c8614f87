"""Added cost of the back profile: read in the main pose pass (default) vs the targeted second pass.

Per clip, in the same run, interleaved over ``--repeats`` rounds (order rotated each round; median
reported) so machine load affects all alike:

- ``pose``: the main pose pass (VIDEO mode, 10 fps, one process) without masks, no back profile:
  the in-run baseline;
- ``main``: the same pass with person masks and :class:`~formcheck_core.pose.back_pass.MainPassBack`
  reading the back profile on every sample (what :func:`~formcheck_core.analysis.analyze` does
  when it poses a clip): its cost is ``main - pose``;
- ``targeted``: the targeted pass alone (:func:`formcheck_core.pose.back_pass.back_series` without
  main-pass rows, cache off; the fallback when a clip's pose is cached without back rows):
  decode the samples of each rep's and partial pull's set-up..knee pass
  (:func:`formcheck_core.biomech.back_series.measured_samples`), landmarker with masks, back
  profile. Its cost is all of it.

Reps and moments come from the cached analysis. Prints the samples each pass reads the back on,
seconds, and each path's added cost over ``pose`` (target: at most 0.20) in wall time and in CPU
seconds of this process (all its threads: ``time.process_time``), which other jobs on a shared
machine distort less. Run:
``python benchmarks/bench_back.py [--repeats 3] [--clips STEM ...] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from formcheck_core.analysis import analyze
from formcheck_core.config import shared_dir
from formcheck_core.models.pose_model import model_id, resolve_pose_model
from formcheck_core.pose.back_pass import MainPassBack, back_series
from formcheck_core.pose.extract import extract_pose
from formcheck_core.pose.mediapipe_backend import MediaPipePose
from formcheck_core.video import probe_video

#: 1080p single rep; 2-rep phone clip (portrait-ish 720p); 10-rep 60 fps kettlebell clip.
CLIPS = ("gym1080_bad_02", "phone_side_a", "kettlebell_rounded_side")
CONFIGS = ("pose", "main", "targeted")


def time_pose(path: Path, model: Path, back: MainPassBack | None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and samples of the main pose pass (with masks and the back
    profile on every sample when ``back`` is given)."""
    t0, c0 = time.perf_counter(), time.process_time()
    with MediaPipePose(model, segmentation=back is not None) as backend:
        pose = extract_pose(path, backend, target_fps=10.0, progress=False, on_person=back)
    return time.perf_counter() - t0, time.process_time() - c0, pose.n_samples


def measure_clip(path: Path, a, model: Path, mid: str, repeats: int) -> tuple[dict[str, list[float]], dict]:
    """Wall and CPU seconds of each configuration per round (keys :data:`CONFIGS` and
    ``<key>_cpu``), and the samples each one read the back on (``pose``: all samples)."""
    info = probe_video(path)
    times: dict[str, list[float]] = {k: [] for k in CONFIGS}
    times.update({f"{k}_cpu": [] for k in CONFIGS})
    counts = {k: 0 for k in CONFIGS}

    def record(name: str, wall: float, cpu: float, n: int) -> None:
        times[name].append(wall)
        times[f"{name}_cpu"].append(cpu)
        counts[name] = n

    def run_pose() -> None:
        record("pose", *time_pose(path, model, None))

    def run_main() -> None:
        rows = MainPassBack((info.width_px, info.height_px))
        wall, cpu, _ = time_pose(path, model, rows)
        record("main", wall, cpu, len(rows))

    def run_targeted() -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        pulls = (*a.reps, *a.partial_pulls)  # what analyze() measures
        back = back_series(info, a.body, pulls, model, model_id=mid, video_sha256=a.video_sha256, cache=False)
        record("targeted", time.perf_counter() - t0, time.process_time() - c0, len(back.sample))

    runs = [run_pose, run_main, run_targeted]
    for r in range(repeats):  # no configuration always goes first
        for fn in runs[r % 3 :] + runs[: r % 3]:
            fn()
    return times, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", nargs="*", default=list(CLIPS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--shared", type=Path, default=shared_dir())
    args = parser.parse_args(argv)
    model = resolve_pose_model(None)
    mid = model_id(model)
    out: dict[str, dict[str, Any]] = {}
    print(
        f"{'clip':26s} {'samples':>7s} {'targ n':>6s} {'pose s':>7s} {'main s':>7s} {'targ s':>7s} "
        f"{'main +wall':>10s} {'targ +wall':>10s} {'main +CPU':>9s} {'targ +CPU':>9s}"
    )
    for stem in args.clips:
        path = args.shared / "videos" / "dev" / f"{stem}.mp4"
        a = analyze(path, rules=False, progress=False, back=False)
        if not a.ok or a.body is None:
            print(f"{stem:26s} no reps: skipped")
            continue
        times, counts = measure_clip(path, a, model, mid, args.repeats)
        med = {k: statistics.median(v) for k, v in times.items()}
        added = {
            "main_over_pose": (med["main"] - med["pose"]) / med["pose"],
            "targeted_over_pose": med["targeted"] / med["pose"],
            "main_over_pose_cpu": (med["main_cpu"] - med["pose_cpu"]) / med["pose_cpu"],
            "targeted_over_pose_cpu": med["targeted_cpu"] / med["pose_cpu"],
        }
        print(
            f"{stem:26s} {counts['main']:7d} {counts['targeted']:6d} {med['pose']:7.2f} {med['main']:7.2f} "
            f"{med['targeted']:7.2f} {added['main_over_pose']:10.2f} {added['targeted_over_pose']:10.2f} "
            f"{added['main_over_pose_cpu']:9.2f} {added['targeted_over_pose_cpu']:9.2f}"
        )
        out[stem] = {
            "samples": counts["main"],
            "targeted_samples": counts["targeted"],
            "median_s": med,
            **added,
        }
    if out:
        tot = {
            k: sum(v["median_s"][k] for v in out.values()) for k in (*CONFIGS, *(f"{c}_cpu" for c in CONFIGS))
        }
        main_wall = 100 * (tot["main"] / tot["pose"] - 1)
        main_cpu = 100 * (tot["main_cpu"] / tot["pose_cpu"] - 1)
        print(
            f"all clips, added to the pose time by the back profile: main pass (default) {main_wall:.0f} % wall, "
            f"{main_cpu:.0f} % CPU; targeted pass (fallback) {100 * tot['targeted'] / tot['pose']:.0f} % wall, "
            f"{100 * tot['targeted_cpu'] / tot['pose_cpu']:.0f} % CPU (target: at most 20 %)"
        )
        out["all"] = {"median_s_sum": tot, "main_added_pct": main_wall, "main_added_cpu_pct": main_cpu}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
