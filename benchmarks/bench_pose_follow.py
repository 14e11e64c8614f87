"""Cost of following the lifter across identity breaks (formcheck_core.pose.identity / follow)
against the pose pass ``analyze`` runs on a clip not in the cache.

Usage: ``python benchmarks/bench_pose_follow.py [--clips STEM ...] [--repeats N] [--switch]``

In-run baseline, per clip (default: the three clips of ``bench_pose.py``), ``--repeats`` rounds,
medians: the pose pass as ``analyze`` runs it on a cold cache (a fresh temporary cache folder each
round: 10 fps, masks and back rows, thumbnails, the per-shot pass of a clip with cuts), and the
identity check every clip now pays after it (:func:`~formcheck_core.pose.follow.followed` on the
finished series: the cut lookup and :func:`~formcheck_core.pose.identity.identity_breaks`; timed
over 50 calls). A clip without a break pays only that check.

``--switch``: also two clips with a real tracking switch, made in a temporary folder from two dev
clips side by side (``tests/clipmaker.SWITCH_FADES``; the tracked lifter goes dark and the tracker picks up the
other one, on the second clip until that one goes dark; see ``tests/test_pose_identity.py`` and
``tests/test_pose_follow_real.py``): the pose pass, the extra pass that poses the samples around
the breaks again (:func:`~formcheck_core.pose.follow.refollow`, up to 3 people, masks), and the
native-rate pass on 16 source frames with and without its follow guard.

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
    """Per clip with a real tracking switch (made in tmp): the whole-clip pose pass, the follow
    pass that poses the samples around the breaks again, and the native-rate pass's guard on
    source frames 64-79 (on both clips the pass's tracker holds the right lifter there while the
    analysed series follows the left one, so the guard opens its second landmarker)."""
    from functools import partial

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from clipmaker import SWITCH_FADES, switch_clip

    from formcheck_core.analysis import analyze
    from formcheck_core.config import DEFAULT_FPS, shared_dir
    from formcheck_core.models.pose_model import model_id, resolve_pose_model
    from formcheck_core.pose.back_pass import MainPassBack
    from formcheck_core.pose.extract import extract_pose
    from formcheck_core.pose.follow import FOLLOW_POSES, refollow
    from formcheck_core.pose.identity import identity_breaks
    from formcheck_core.pose.mediapipe_backend import open_pose_backend
    from formcheck_core.pose.refine import run_native_frames
    from formcheck_core.pose.tracks import LifterTrack
    from formcheck_core.video import probe_video

    dev = shared_dir() / "videos" / "dev"
    model = resolve_pose_model(None)
    with tempfile.TemporaryDirectory() as tmp:
        for name in SWITCH_FADES:
            path = switch_clip(dev, Path(tmp), name)
            info = probe_video(path)
            size = (info.width_px, info.height_px)
            runs: dict[str, list[tuple[float, float]]] = {"pose": [], "follow": [], "plain": [], "guard": []}
            for _ in range(repeats):
                back = MainPassBack(size)
                with open_pose_backend(model, segmentation=True) as backend:
                    w, c, pose = _timed(
                        extract_pose,
                        path,
                        backend,
                        target_fps=DEFAULT_FPS,
                        info=info,
                        model_id=model_id(model),
                        progress=False,
                        on_person=back,
                    )
                runs["pose"].append((w, c))
            breaks = identity_breaks(pose.image_xy_px, pose.time_s)
            assert breaks, "the tracker did not switch people on this machine"
            opener = partial(open_pose_backend, model, num_poses=FOLLOW_POSES, segmentation=True)
            os.environ["FORMCHECK_CACHE"] = str(Path(tmp) / f"cache {name}")
            try:
                body = analyze(path, rules=False, progress=False).body
                assert body is not None
                track = LifterTrack.of(body)
            finally:
                del os.environ["FORMCHECK_CACHE"]
            frames = [(f, f / info.fps) for f in range(64, 80)]
            for r in range(repeats):
                rows = MainPassBack(size)
                rows.restore(back.table())
                runs["follow"].append(
                    _timed(refollow, info, pose, (), breaks, opener, back=rows, progress=False)[:2]
                )
                for which in ("plain", "guard") if r % 2 == 0 else ("guard", "plain"):
                    lifter = track if which == "guard" else None
                    runs[which].append(
                        _timed(run_native_frames, path, frames, model, size, lifter=lifter)[:2]
                    )
            med = {
                k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                for k, v in runs.items()
            }
            print(
                f"{name} clip ({pose.n_samples} samples, {len(breaks)} break(s)): pose pass {med['pose'][1]:.2f} CPU s "
                f"({med['pose'][0]:.2f} s wall); follow pass {med['follow'][1]:.2f} CPU s ({med['follow'][0]:.2f} s wall) "
                f"= +{med['follow'][1] / med['pose'][1]:.0%} CPU; native-rate pass on {len(frames)} frames: "
                f"{med['plain'][1]:.2f} CPU s without the guard, {med['guard'][1]:.2f} with it",
                flush=True,
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
