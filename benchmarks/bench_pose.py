"""Pose-stage throughput and peak memory: formcheck's pipeline vs a seed-style baseline.

Configurations, all on the same clip in the same run:
- ``seed``: OpenCV reads the clip, every sampled frame goes into a list first, then IMAGE mode on
  each at full resolution (the seed's way);
- ``image``: formcheck streaming (decode thread + bounded queue), IMAGE mode (detector every frame);
- ``video``: formcheck streaming, VIDEO mode (tracking; the default), one process;
- ``video2``: the same split over two processes (``workers=2``: this one and a spawned child, each
  decoding and tracking its own time range). Its time includes the child's start-up.

Throughput is measured in this process, the configurations interleaved over ``--repeats`` rounds
(median reported), so machine load affects them alike. Peak memory is measured in a fresh process
running one configuration once (RSS high-water marks cannot be reset inside one process): its own
``VmHWM``, each child's ``VmHWM`` and the peak of the whole tree's summed RSS (sampled every 20 ms
with psutil). Run: ``python benchmarks/bench_pose.py [--repeats 3] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import cv2

from formcheck_core.config import shared_dir
from formcheck_core.models.pose_model import resolve_pose_model
from formcheck_core.pose.extract import extract_pose
from formcheck_core.pose.mediapipe_backend import MediaPipePose
from formcheck_core.video import probe_video

SHORT = "gym1080_good_01"  # 1920x1080, 4.8 s
LONG = "kettlebell_rounded_side"  # 360x640 at 60 fps, 26 s
PORTRAIT = "heavy_front_oblique_a"  # 576x1024 at 30 fps, 20.5 s
CONFIGS = ("seed", "image", "video", "video2")


def run_seed(clip: Path, model: Path, fps: float) -> int:
    """Seed-style: OpenCV decodes, sampled frames go into a list, then IMAGE-mode detection on each."""
    cap = cv2.VideoCapture(str(clip))
    every = max(1, round(cap.get(cv2.CAP_PROP_FPS) / fps))
    frames, index = [], 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if index % every == 0:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        index += 1
    cap.release()
    with MediaPipePose(model, running_mode="image") as backend:
        for i, rgb in enumerate(frames):
            backend.detect(rgb, i / fps)
    return len(frames)


def run_streaming(clip: Path, model: Path, fps: float, mode: str) -> int:
    with MediaPipePose(model, running_mode=mode) as backend:
        return extract_pose(clip, backend, target_fps=fps, progress=False).n_samples


def run_two_processes(clip: Path, model: Path, fps: float) -> int:
    factory = partial(MediaPipePose, model, running_mode="video")
    return extract_pose(clip, factory, target_fps=fps, progress=False, workers=2).n_samples


def run_config(config: str, clip: Path, model: Path, fps: float) -> int:
    if config == "seed":
        return run_seed(clip, model, fps)
    if config == "video2":
        return run_two_processes(clip, model, fps)
    return run_streaming(clip, model, fps, config)


def throughput(clip: Path, model: Path, fps: float, repeats: int) -> dict[str, float]:
    """Median samples per second of each configuration, interleaved over ``repeats`` rounds."""
    times: dict[str, list[float]] = {c: [] for c in CONFIGS}
    samples = {}
    for _ in range(repeats):
        for config in CONFIGS:
            t0 = time.perf_counter()
            samples[config] = run_config(config, clip, model, fps)
            times[config].append(time.perf_counter() - t0)
    return {**{c: samples[c] / statistics.median(times[c]) for c in CONFIGS}, "samples": samples["video"]}


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident set size (``VmHWM``, MB) of a live process."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def process_kind(cmdline: list[str]) -> str:
    """What a child process is: a pose worker, multiprocessing's resource tracker, or other (short-lived)."""
    cmd = " ".join(cmdline)
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "pose worker" if "spawn_main" in cmd else "other"


def measure_tree(config: str, clip: Path, fps: float, period_s: float = 0.02) -> dict:
    """Run ``config`` once here, sampling this process tree's memory; print and return the peaks (MB)."""
    import threading

    import psutil

    from formcheck_core.models.pose_model import resolve_pose_model

    me, stop = psutil.Process(), threading.Event()
    peak = {"tree": 0.0, "children": {}}

    def sample() -> None:
        while not stop.wait(period_s):
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                    peak["children"][child.pid] = (process_kind(child.cmdline()), vm_hwm_mb(child.pid))
                except (psutil.NoSuchProcess, FileNotFoundError, StopIteration):
                    pass
            peak["tree"] = max(peak["tree"], total / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    run_config(config, clip, resolve_pose_model(), fps)
    stop.set()
    thread.join()
    result = {
        "self": round(vm_hwm_mb(), 1),
        "children": [(k, round(v, 1)) for k, v in peak["children"].values()],
        "tree": round(peak["tree"], 1),
    }
    print(json.dumps(result))
    return result


def peak_rss_mb(config: str, clip: Path, fps: float) -> dict:
    """Peak memory (MB) of a fresh process running ``config`` once: itself, its children, the whole tree."""
    here = str(Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {here!r}); import bench_pose as b; "
        f"b.measure_tree({config!r}, b.Path({str(clip)!r}), {fps!r})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    model = resolve_pose_model()
    dev = shared_dir() / "videos" / "dev"
    results = {"fps": args.fps, "repeats": args.repeats, "clips": {}}
    for stem in (SHORT, LONG, PORTRAIT):
        clip = dev / f"{stem}.mp4"
        info = probe_video(clip)
        speed = throughput(clip, model, args.fps, args.repeats)
        memory = {c: peak_rss_mb(c, clip, args.fps) for c in CONFIGS}
        results["clips"][stem] = {
            "resolution": f"{info.width_px}x{info.height_px}",
            "duration_s": round(info.duration_s, 1),
            "samples_per_s": {c: round(speed[c], 2) for c in CONFIGS},
            "speedup_vs_seed": {c: round(speed[c] / speed["seed"], 2) for c in CONFIGS},
            "samples": round(speed["samples"]),
            "peak_rss_mb": {c: memory[c]["tree"] for c in CONFIGS},
            "peak_rss_mb_per_process": memory,
        }
        print(json.dumps({stem: results["clips"][stem]}, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
