"""Cost of following the lifter across identity breaks (formcheck_core.pose.identity / follow)
against the pose pass ``analyze`` runs on a clip not in the cache.

Usage: ``python benchmarks/bench_pose_follow.py [--clips STEM ...] [--repeats N] [--switch]``

In-run baseline, per clip (default: the three clips of ``bench_pose.py``), ``--repeats`` rounds,
medians: the pose pass as ``analyze`` runs it on a cold cache (a fresh temporary cache folder each
round: 10 fps, masks and back rows, thumbnails, the per-shot pass of a clip with cuts), and the
identity check every clip now pays after it (:func:`~formcheck_core.pose.follow.followed` on the
finished series: the cut lookup and :func:`~formcheck_core.pose.identity.identity_breaks`; timed
over 50 calls). A clip without a break pays only that check.

``--switch``: also a clip with a real tracking switch, made in a temporary folder from two dev
clips side by side (the tracked lifter goes dark and the tracker picks up the other one; see
``tests/test_pose_identity.py``): the pose pass, and the extra pass that poses the samples after the
break again (:func:`~formcheck_core.pose.follow.refollow`, up to 3 people, masks).

CPU time (this process and its children, ``resource.getrusage``) decides on a shared machine; wall
time is printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CLIPS = ("gym1080_good_01", "kettlebell_rounded_side", "heavy_front_oblique_a")


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, *args, **kwargs):
    w, c = time.perf_counter(), _cpu_s()
    out = fn(*args, **kwargs)
    return time.perf_counter() - w, _cpu_s() - c, out


def _cold_pose(path: Path):
    """The pose pass of ``analyze`` on a cold cache; returns (wall s, CPU s, pose, sha)."""
    from formcheck_core.analysis import load_or_extract_pose
    from formcheck_core.pose.back_pass import MainPassBack
    from formcheck_core.video import probe_video

    with tempfile.TemporaryDirectory() as cache:
        os.environ["FORMCHECK_CACHE"] = cache
        try:
            info = probe_video(path)
            wall, cpu, (pose, sha) = _timed(
                load_or_extract_pose, info, progress=False, back=MainPassBack((info.width_px, info.height_px))
            )
            check_w, check_c = _check(info, pose, sha)
        finally:
            del os.environ["FORMCHECK_CACHE"]
    return wall, cpu, check_w, check_c


def _check(info, pose, sha, calls: int = 50) -> tuple[float, float]:
    """Mean wall / CPU seconds of the identity check on a finished series (no break: no pass)."""
    from formcheck_core.models.pose_model import resolve_pose_model
    from formcheck_core.pose.follow import followed

    model = resolve_pose_model(None)
    w, c = time.perf_counter(), _cpu_s()
    for _ in range(calls):
        out = followed(info, pose, "bench", sha, model, "video", cache=False, progress=False)
        assert out is pose, "this clip has an identity break: use --switch's measurement"
    return (time.perf_counter() - w) / calls, (_cpu_s() - c) / calls


def bench_clips(stems: list[str], repeats: int) -> None:
    from formcheck_core.config import shared_dir

    print(f"{'clip':28s} {'pose CPU s':>10s} {'wall s':>7s} {'check CPU ms':>13s} {'share':>7s}")
    for stem in stems:
        path = shared_dir() / "videos" / "dev" / f"{stem}.mp4"
        runs = [_cold_pose(path) for _ in range(repeats)]
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        check_c = statistics.median(r[3] for r in runs)
        print(f"{stem:28s} {cpu:10.2f} {wall:7.2f} {check_c * 1e3:13.2f} {check_c / cpu:7.3%}")


def bench_switch(repeats: int) -> None:
    """The pose pass and the follow pass of a clip with a real tracking switch (made in tmp)."""
    from functools import partial

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from clipmaker import source_frames, write_h264

    from formcheck_core.config import shared_dir
    from formcheck_core.models.pose_model import resolve_pose_model
    from formcheck_core.pose.back_pass import MainPassBack
    from formcheck_core.pose.follow import FOLLOW_POSES, refollow
    from formcheck_core.pose.identity import identity_breaks
    from formcheck_core.pose.mediapipe_backend import open_pose_backend
    from formcheck_core.video import probe_video

    dev = shared_dir() / "videos" / "dev"
    left, fps = source_frames(dev / "posereader_unoccluded.mp4")
    right, _ = source_frames(dev / "posereader_good.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        frames = []
        for i, frame in enumerate(left):
            a = float(np.interp(i, [0, 50, 59, 74, 83], [1, 1, 0, 0, 1]))
            b = float(np.interp(i, [0, 15, 24], [0, 0, 1]))
            frames.append(
                np.hstack([(frame * a).astype(np.uint8), (right[i % len(right)] * b).astype(np.uint8)])
            )
        path = write_h264(Path(tmp) / "switch.mp4", frames, fps)
        info = probe_video(path)
        model = resolve_pose_model(None)
        pose_runs, follow_runs = [], []
        for _ in range(repeats):
            os.environ["FORMCHECK_CACHE"] = str(Path(tmp) / f"cache{len(pose_runs)}")
            try:
                # the whole-clip pass alone: the follow pass is timed apart below
                import formcheck_core.analysis as analysis
                from formcheck_core.analysis import load_or_extract_pose

                real = analysis._followed
                analysis._followed = lambda _i, pose, *_a, **_k: pose
                try:
                    back = MainPassBack((info.width_px, info.height_px))
                    w, c, (pose, _sha) = _timed(load_or_extract_pose, info, progress=False, back=back)
                finally:
                    analysis._followed = real
                pose_runs.append((w, c))
                breaks = identity_breaks(pose.image_xy_px, pose.time_s)
                assert breaks, "the tracker did not switch people on this machine"
                opener = partial(open_pose_backend, model, num_poses=FOLLOW_POSES, segmentation=True)
                w, c, _ = _timed(refollow, info, pose, (), breaks, opener, back=back, progress=False)
                follow_runs.append((w, c))
            finally:
                del os.environ["FORMCHECK_CACHE"]
        pc, fc = statistics.median(r[1] for r in pose_runs), statistics.median(r[1] for r in follow_runs)
        pw, fw = statistics.median(r[0] for r in pose_runs), statistics.median(r[0] for r in follow_runs)
        print(
            f"switch clip ({pose.n_samples} samples): pose pass {pc:.2f} CPU s ({pw:.2f} s wall); "
            f"follow pass {fc:.2f} CPU s ({fw:.2f} s wall) = +{fc / pc:.0%} CPU"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", nargs="+", default=list(DEFAULT_CLIPS))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--switch", action="store_true")
    args = ap.parse_args()
    bench_clips(args.clips, args.repeats)
    if args.switch:
        bench_switch(args.repeats)


if __name__ == "__main__":
    main()
