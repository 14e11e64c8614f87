"""Cost of scene-cut detection (formcheck_core.scene_cuts) against the 10 fps pose pass.

Usage: ``python benchmarks/bench_cuts.py [--clips STEM ...] [--repeats N]``

In-run baseline: for each clip, the 10 fps pose extraction (cache off) and the scene-cut decode
(every frame to a 32-px grayscale thumbnail, cache off) are timed alternately in the same
process, ``--repeats`` rounds, medians reported. Wall time and CPU time (this process and its
children: ``resource.getrusage``) are both printed; on a shared machine decide with CPU time.
The detection runs once per clip (its result is cached beside the pose).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

DEFAULT_CLIPS = ("reel_good_14", "gym1080_good_01", "heavy_front_oblique_a", "kettlebell_correct_side")


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, *args, **kwargs) -> tuple[float, float]:
    w, c = time.perf_counter(), _cpu_s()
    fn(*args, **kwargs)
    return time.perf_counter() - w, _cpu_s() - c


def main(argv: list[str] | None = None) -> int:
    from formcheck_core.analysis import load_or_extract_pose
    from formcheck_core.config import shared_dir
    from formcheck_core.scene_cuts import clip_frame_changes
    from formcheck_core.video import file_sha256, probe_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="*", default=list(DEFAULT_CLIPS))
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    tot = {"pose_wall": 0.0, "pose_cpu": 0.0, "cuts_wall": 0.0, "cuts_cpu": 0.0}
    for stem in args.clips:
        info = probe_video(shared_dir() / "videos" / "dev" / f"{stem}.mp4")
        sha = file_sha256(info.path)
        runs: dict[str, list[tuple[float, float]]] = {"pose": [], "cuts": []}
        for _ in range(args.repeats):
            runs["pose"].append(_timed(load_or_extract_pose, info, cache=False, progress=False))
            runs["cuts"].append(_timed(clip_frame_changes, info, sha, cache=False))
        med = {
            k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for k, v in runs.items()
        }
        for k, (w, c) in med.items():
            tot[f"{k}_wall"] += w
            tot[f"{k}_cpu"] += c
        (pw, pc), (cw, cc) = med["pose"], med["cuts"]
        print(
            f"{stem:28s} pose {pw:6.2f} s wall {pc:6.2f} s CPU | cuts {cw:5.2f} s wall {cc:5.2f} s CPU "
            f"= {cw / pw:.0%} wall, {cc / pc:.0%} CPU of the pose pass"
        )
    print(
        f"all clips: scene cuts cost {tot['cuts_wall'] / tot['pose_wall']:.0%} of the pose pass's wall time, "
        f"{tot['cuts_cpu'] / tot['pose_cpu']:.0%} of its CPU time (load average now {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
