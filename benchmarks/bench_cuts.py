"""Cost of scene-cut detection (formcheck_core.scene_cuts) against the 10 fps pose pass.

Usage: ``python benchmarks/bench_cuts.py [--clips STEM ...] [--repeats N]``

In-run baseline: for each clip, alternately in the same process (``--repeats`` rounds, medians):
the 10 fps pose pass as before scene cuts (no thumbnails), the pose pass collecting every decoded
frame's thumbnail (what ``analyze`` runs on a clip not in the cache), and the separate decode a
clip whose pose is already cached needs once (every frame to a thumbnail). Wall time and CPU time
(this process and its children: ``resource.getrusage``) are both printed; on a shared machine
decide with CPU time.
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
    from formcheck_core.config import shared_dir
    from formcheck_core.models.pose_model import resolve_pose_model
    from formcheck_core.pose.extract import extract_pose
    from formcheck_core.pose.mediapipe_backend import open_pose_backend
    from formcheck_core.scene_cuts import THUMB_WIDTH_PX, clip_frame_changes
    from formcheck_core.video import Thumbnails, file_sha256, probe_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="*", default=list(DEFAULT_CLIPS))
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    model = resolve_pose_model(None)

    def pose(info, thumbs) -> None:
        with open_pose_backend(model) as backend:
            extract_pose(info.path, backend, info=info, progress=False, thumbnails=thumbs)

    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    names = ("pose", "pose+thumbs", "separate")
    tot = {k: [0.0, 0.0] for k in names}
    for stem in args.clips:
        info = probe_video(shared_dir() / "videos" / "dev" / f"{stem}.mp4")
        sha = file_sha256(info.path)
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
        for _ in range(args.repeats):
            runs["pose"].append(_timed(pose, info, None))
            runs["pose+thumbs"].append(_timed(pose, info, Thumbnails(THUMB_WIDTH_PX)))
            runs["separate"].append(_timed(clip_frame_changes, info, sha, cache=False))
        med = {
            k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for k, v in runs.items()
        }
        for k, (w, c) in med.items():
            tot[k][0] += w
            tot[k][1] += c
        (pw, pc), (tw, tc), (sw, sc) = (med[k] for k in names)
        print(
            f"{stem:24s} pose {pw:6.2f} s wall {pc:6.2f} s CPU | with thumbnails {tw - pw:+5.2f} s wall "
            f"{tc - pc:+5.2f} s CPU ({(tc - pc) / pc:+.0%}) | separate decode {sw:5.2f} s wall {sc:5.2f} s CPU "
            f"({sc / pc:.0%} of the pose CPU)"
        )
    (pw, pc), (tw, tc), (sw, sc) = (tot[k] for k in names)
    print(
        f"all clips: collecting thumbnails in the pose pass adds {(tw - pw) / pw:+.0%} wall, "
        f"{(tc - pc) / pc:+.0%} CPU; a separate decode (pose from the cache) costs {sw / pw:.0%} wall, "
        f"{sc / pc:.0%} CPU of the pose pass (load average now {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
