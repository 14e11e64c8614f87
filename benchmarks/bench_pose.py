"""Pose-stage throughput and peak memory: formcheck's pipeline vs a seed-style baseline.

Configurations, all on the same clip in the same run:
- ``seed``: OpenCV reads the clip, every sampled frame goes into a list first, then IMAGE mode on
  each at full resolution (the seed's way);
- ``image``: formcheck streaming (decode thread + bounded queue), IMAGE mode (detector every frame);
- ``video``: formcheck streaming, VIDEO mode (tracking; the default).

Throughput is measured in this process, the configurations interleaved over ``--repeats`` rounds
(median reported), so machine load affects them alike. Peak memory is the maximum resident set
size (``VmHWM``) of a fresh child process running one configuration once (RSS high-water marks
cannot be reset inside one process). Run: ``python benchmarks/bench_pose.py [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2

from formcheck_core.config import shared_dir
from formcheck_core.models.pose_model import resolve_pose_model
from formcheck_core.pose.extract import extract_pose
from formcheck_core.pose.mediapipe_backend import MediaPipePose
from formcheck_core.video import probe_video

SHORT = "gym1080_good_01"  # 1920x1080, 4.8 s
LONG = "kettlebell_rounded_side"  # 360x640 at 60 fps, 26 s
CONFIGS = ("seed", "image", "video")


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


def run_config(config: str, clip: Path, model: Path, fps: float) -> int:
    return run_seed(clip, model, fps) if config == "seed" else run_streaming(clip, model, fps, config)


def throughput(clip: Path, model: Path, fps: float, repeats: int) -> dict[str, float]:
    """Median samples per second of each configuration, interleaved over ``repeats`` rounds."""
    times: dict[str, list[float]] = {c: [] for c in CONFIGS}
    samples = {}
    for _ in range(repeats):
        for config in CONFIGS:
            t0 = time.perf_counter()
            samples[config] = run_config(config, clip, model, fps)
            times[config].append(time.perf_counter() - t0)
    return {c: samples[c] / statistics.median(times[c]) for c in CONFIGS}


def peak_rss_mb(config: str, clip: Path, fps: float) -> float:
    """Peak RSS (MB) of a child process that runs ``config`` once."""
    code = (
        "import sys; sys.path.insert(0, %r); import bench_pose as b; "
        "from formcheck_core.models.pose_model import resolve_pose_model as r; "
        "b.run_config(%r, b.Path(%r), r(), %r); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    ) % (str(Path(__file__).parent), config, str(clip), fps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    model = resolve_pose_model()
    dev = shared_dir() / "videos" / "dev"
    results = {"fps": args.fps, "repeats": args.repeats, "clips": {}}
    for stem in (SHORT, LONG):
        clip = dev / f"{stem}.mp4"
        info = probe_video(clip)
        speed = throughput(clip, model, args.fps, args.repeats)
        memory = {c: peak_rss_mb(c, clip, args.fps) for c in CONFIGS}
        results["clips"][stem] = {
            "resolution": f"{info.width_px}x{info.height_px}",
            "duration_s": round(info.duration_s, 1),
            "samples_per_s": {c: round(v, 2) for c, v in speed.items()},
            "speedup_vs_seed": {c: round(speed[c] / speed["seed"], 2) for c in CONFIGS},
            "peak_rss_mb": {c: round(v, 1) for c, v in memory.items()},
        }
        print(json.dumps({stem: results["clips"][stem]}, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
