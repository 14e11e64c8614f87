"""Added cost of the back profile: the targeted segmentation pass vs the main pose pass.

Per clip, in the same run, interleaved over ``--repeats`` rounds (order rotated each round; median
reported) so machine load affects all alike:

- ``pose``: the main pose pass (VIDEO mode, 10 fps, one process, no masks): the in-run baseline;
- ``back``: the targeted pass (:func:`formcheck_core.pose.back_pass.back_series`, cache off):
  decode the samples of each rep's and partial pull's set-up..knee pass
  (:func:`formcheck_core.biomech.back_series.measured_samples`), landmarker with masks, back
  profile;
- ``masks_all``: what it replaces, the main pass with masks on every sample (no profile read).

Reps and moments come from the cached analysis. Prints the number of samples each pass ran on,
wall seconds, and ``back / pose`` (target: at most 0.20) in wall time and in CPU seconds of this
process (all its threads: ``time.process_time``), which other jobs on a shared machine distort
less. Run:
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
from formcheck_core.pose.back_pass import back_series
from formcheck_core.pose.extract import extract_pose
from formcheck_core.pose.mediapipe_backend import MediaPipePose
from formcheck_core.video import probe_video

#: 1080p single rep; 2-rep phone clip (portrait-ish 720p); 10-rep 60 fps kettlebell clip.
CLIPS = ("gym1080_bad_02", "phone_side_a", "kettlebell_rounded_side")


def time_pose(path: Path, model: Path, segmentation: bool) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and samples of the main pose pass."""
    t0, c0 = time.perf_counter(), time.process_time()
    with MediaPipePose(model, segmentation=segmentation) as backend:
        pose = extract_pose(path, backend, target_fps=10.0, progress=False)
    return time.perf_counter() - t0, time.process_time() - c0, pose.n_samples


def measure_clip(
    path: Path, a, model: Path, mid: str, repeats: int
) -> tuple[dict[str, list[float]], int, int]:
    """Wall and CPU seconds of each configuration per round (order rotated each round; keys
    ``pose``, ``back``, ``masks_all`` and ``<key>_cpu``), samples of each pass."""
    info = probe_video(path)
    times: dict[str, list[float]] = {k: [] for k in ("pose", "back", "masks_all")}
    times.update({f"{k}_cpu": [] for k in list(times)})
    counts = {"pose": 0, "back": 0}

    def run_pose() -> None:
        dt, cpu, counts["pose"] = time_pose(path, model, segmentation=False)
        times["pose"].append(dt)
        times["pose_cpu"].append(cpu)

    def run_back() -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        pulls = (*a.reps, *a.partial_pulls)  # what analyze() measures
        back = back_series(info, a.body, pulls, model, model_id=mid, video_sha256=a.video_sha256, cache=False)
        times["back"].append(time.perf_counter() - t0)
        times["back_cpu"].append(time.process_time() - c0)
        counts["back"] = len(back.sample)

    def run_all_masks() -> None:
        dt, cpu, _ = time_pose(path, model, segmentation=True)
        times["masks_all"].append(dt)
        times["masks_all_cpu"].append(cpu)

    runs = [run_pose, run_back, run_all_masks]
    for r in range(repeats):  # no configuration always goes first
        for fn in runs[r % 3 :] + runs[: r % 3]:
            fn()
    return times, counts["pose"], counts["back"]


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
        f"{'clip':26s} {'samples':>7s} {'back n':>6s} {'pose s':>7s} {'back s':>7s} {'all-mask s':>10s} "
        f"{'back/pose':>9s} {'CPU back/pose':>13s}"
    )
    for stem in args.clips:
        path = args.shared / "videos" / "dev" / f"{stem}.mp4"
        a = analyze(path, rules=False, progress=False, back=False)
        if not a.ok or a.body is None:
            print(f"{stem:26s} no reps: skipped")
            continue
        times, n_pose, n_back = measure_clip(path, a, model, mid, args.repeats)
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio, cpu_ratio = med["back"] / med["pose"], med["back_cpu"] / med["pose_cpu"]
        print(
            f"{stem:26s} {n_pose:7d} {n_back:6d} {med['pose']:7.2f} {med['back']:7.2f} {med['masks_all']:10.2f} "
            f"{ratio:9.2f} {cpu_ratio:13.2f}"
        )
        out[stem] = {
            "samples": n_pose,
            "back_samples": n_back,
            "median_s": med,
            "back_over_pose": ratio,
            "back_over_pose_cpu": cpu_ratio,
        }
    if out:
        total_pose = sum(v["median_s"]["pose"] for v in out.values())
        total_back = sum(v["median_s"]["back"] for v in out.values())
        total_all = sum(v["median_s"]["masks_all"] for v in out.values())
        cpu = {k: sum(v["median_s"][f"{k}_cpu"] for v in out.values()) for k in ("pose", "back", "masks_all")}
        print(
            f"all clips: back pass adds {100 * total_back / total_pose:.0f} % to the pose time "
            f"(masks on every sample would add {100 * (total_all / total_pose - 1):.0f} %); in CPU seconds "
            f"{100 * cpu['back'] / cpu['pose']:.0f} % (every sample: {100 * (cpu['masks_all'] / cpu['pose'] - 1):.0f} %)"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
