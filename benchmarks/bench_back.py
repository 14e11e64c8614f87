"""Added cost of the back profile, read in the pose pass (the default), over a pose pass without it.

Per clip, in the same run, interleaved over ``--repeats`` rounds (order alternated each round;
median reported) so machine load affects both alike:

- ``pose``: the pose pass (VIDEO mode, 10 fps, one process) without masks, no back profile: the
  in-run baseline (``analyze(back=False)``);
- ``masks``: the same pass with person masks returned by the landmarker (and copied out of it) but
  no back profile read: the model's share of the cost is ``masks - pose``;
- ``main``: the same pass with person masks and :class:`~formcheck_core.pose.back_pass.MainPassBack`
  reading the back profile on every sample (what :func:`~formcheck_core.analysis.analyze` does
  when it poses a clip, and once for a pose cached without back rows): its cost is ``main - pose``,
  of which ``main - masks`` is the reading.

``--non-side``: the dev clips whose view is not "side" (front and oblique: their back is never
read, so ``main - pose`` is what they pay for nothing; :func:`~formcheck_core.biomech.view.estimate_view`
of their cached pose decides).

Prints the samples the back is read on, seconds, and the added cost over ``pose`` (target: at most
0.20) in wall time and in CPU seconds of this process (all its threads: ``time.process_time``),
which other jobs on a shared machine distort less. Run:
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

from formcheck_core.config import shared_dir
from formcheck_core.models.pose_model import resolve_pose_model
from formcheck_core.pose.back_pass import MainPassBack
from formcheck_core.pose.extract import extract_pose
from formcheck_core.pose.mediapipe_backend import MediaPipePose
from formcheck_core.video import probe_video

#: 1080p single rep; 2-rep phone clip (portrait-ish 720p); 10-rep 60 fps kettlebell clip.
CLIPS = ("gym1080_bad_02", "phone_side_a", "kettlebell_rounded_side")
CONFIGS = ("pose", "masks", "main")


def time_pose(
    path: Path, model: Path, back: MainPassBack | None, masks: bool = False
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and samples of the main pose pass (with masks and the back
    profile on every sample when ``back`` is given; with masks only when ``masks``)."""
    t0, c0 = time.perf_counter(), time.process_time()
    with MediaPipePose(model, segmentation=masks or back is not None) as backend:
        pose = extract_pose(path, backend, target_fps=10.0, progress=False, on_person=back)
    return time.perf_counter() - t0, time.process_time() - c0, pose.n_samples


def measure_clip(path: Path, model: Path, repeats: int) -> tuple[dict[str, list[float]], int]:
    """Wall and CPU seconds of each configuration per round (keys :data:`CONFIGS` and
    ``<key>_cpu``), and the samples the back was read on."""
    info = probe_video(path)
    times: dict[str, list[float]] = {k: [] for k in CONFIGS}
    times.update({f"{k}_cpu": [] for k in CONFIGS})
    samples = 0

    def record(name: str, wall: float, cpu: float) -> None:
        times[name].append(wall)
        times[f"{name}_cpu"].append(cpu)

    def run_pose() -> None:
        wall, cpu, _ = time_pose(path, model, None)
        record("pose", wall, cpu)

    def run_masks() -> None:
        wall, cpu, _ = time_pose(path, model, None, masks=True)
        record("masks", wall, cpu)

    def run_main() -> None:
        nonlocal samples
        rows = MainPassBack((info.width_px, info.height_px))
        wall, cpu, _ = time_pose(path, model, rows)
        record("main", wall, cpu)
        samples = len(rows)

    runs = [run_pose, run_masks, run_main]
    for r in range(repeats):  # no configuration always goes first
        for fn in runs[r % 3 :] + runs[: r % 3]:
            fn()
    return times, samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", nargs="*", default=list(CLIPS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--shared", type=Path, default=shared_dir())
    parser.add_argument("--non-side", action="store_true", help="the dev clips whose view is not side")
    args = parser.parse_args(argv)
    model = resolve_pose_model(None)
    if args.non_side:
        args.clips = non_side_clips(args.shared)
    out: dict[str, dict[str, Any]] = {}
    print(
        f"{'clip':26s} {'samples':>7s} {'pose s':>7s} {'masks s':>7s} {'main s':>7s} {'main +wall':>10s} "
        f"{'masks +CPU':>10s} {'main +CPU':>9s}"
    )
    for stem in args.clips:
        path = args.shared / "videos" / "dev" / f"{stem}.mp4"
        times, samples = measure_clip(path, model, args.repeats)
        med = {k: statistics.median(v) for k, v in times.items()}
        added = {
            "main_over_pose": (med["main"] - med["pose"]) / med["pose"],
            "main_over_pose_cpu": (med["main_cpu"] - med["pose_cpu"]) / med["pose_cpu"],
            "masks_over_pose_cpu": (med["masks_cpu"] - med["pose_cpu"]) / med["pose_cpu"],
        }
        print(
            f"{stem:26s} {samples:7d} {med['pose']:7.2f} {med['masks']:7.2f} {med['main']:7.2f} "
            f"{added['main_over_pose']:10.2f} {added['masks_over_pose_cpu']:10.2f} {added['main_over_pose_cpu']:9.2f}",
            flush=True,
        )
        out[stem] = {"samples": samples, "median_s": med, **added}
    if out:
        tot = {
            k: sum(v["median_s"][k] for v in out.values()) for k in (*CONFIGS, *(f"{c}_cpu" for c in CONFIGS))
        }
        main_wall = 100 * (tot["main"] / tot["pose"] - 1)
        main_cpu = 100 * (tot["main_cpu"] / tot["pose_cpu"] - 1)
        masks_cpu = 100 * (tot["masks_cpu"] / tot["pose_cpu"] - 1)
        print(
            f"all clips, added to the pose time by the back profile: {main_wall:.0f} % wall, "
            f"{main_cpu:.0f} % CPU (target: at most 20 %), of which the masks alone {masks_cpu:.0f} % CPU "
            f"({tot['pose_cpu']:.2f} / {tot['masks_cpu']:.2f} / {tot['main_cpu']:.2f} CPU s)"
        )
        out["all"] = {"median_s_sum": tot, "main_added_pct": main_wall, "main_added_cpu_pct": main_cpu}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


def non_side_clips(shared: Path) -> list[str]:
    """The dev clips whose view (:func:`~formcheck_core.biomech.view.estimate_view` of their pose,
    cached after the first run) is not side."""
    from formcheck_core.analysis import load_or_extract_pose
    from formcheck_core.biomech.view import estimate_view

    out = []
    for path in sorted((shared / "videos" / "dev").glob("*.mp4")):
        pose, _ = load_or_extract_pose(probe_video(path), progress=False)
        if estimate_view(pose).view != "side":
            out.append(path.stem)
    return out


if __name__ == "__main__":
    sys.exit(main())
