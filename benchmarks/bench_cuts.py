"""Cost of scene-cut detection (formcheck_core.scene_cuts) against the 10 fps pose pass, and of
posing each shot after a cut again with a fresh tracker (formcheck_core.pose.shots).

Usage: ``python benchmarks/bench_cuts.py [--clips STEM ...] [--repeats N]``;
``python benchmarks/bench_cuts.py --shots [--clips STEM ...] [--repeats N]``

In-run baseline: for each clip, alternately in the same process (``--repeats`` rounds, medians):
the 10 fps pose pass as before scene cuts (no thumbnails), the pose pass collecting every decoded
frame's thumbnail (what ``analyze`` runs on a clip not in the cache), and the separate decode a
clip whose pose is already cached needs once (every frame to a thumbnail). Wall time and CPU time
(this process and its children: ``resource.getrusage``) are both printed; on a shared machine
decide with CPU time.

``--shots``: for each clip (default: the dev clips in which cuts are found), alternately: the pose
pass ``analyze`` runs on a clip not in the cache (10 fps, masks and back rows, thumbnails) and the
extra per-shot pass it then runs (:func:`~formcheck_core.pose.shots.repose_shots`: every shot
after the first, fresh landmarker, masks). A one-shot clip runs no extra pass (not timed).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from typing import Any

DEFAULT_CLIPS = ("reel_good_14", "gym1080_good_01", "heavy_front_oblique_a", "kettlebell_correct_side")


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, *args, **kwargs) -> tuple[float, float]:
    w, c = time.perf_counter(), _cpu_s()
    fn(*args, **kwargs)
    return time.perf_counter() - w, _cpu_s() - c


def bench_shots(stems: list[str], repeats: int) -> None:
    """Print the extra CPU/wall of the per-shot pass against the pose pass, per clip and in all."""
    from functools import partial

    from formcheck_core.config import shared_dir
    from formcheck_core.models.pose_model import resolve_pose_model
    from formcheck_core.pose.back_pass import MainPassBack
    from formcheck_core.pose.extract import extract_pose
    from formcheck_core.pose.mediapipe_backend import open_pose_backend
    from formcheck_core.pose.shots import repose_shots, shot_bounds
    from formcheck_core.scene_cuts import THUMB_WIDTH_PX, cut_samples, scene_cut_frames
    from formcheck_core.video import Thumbnails, file_sha256, probe_video

    model = resolve_pose_model(None)
    dev = shared_dir() / "videos" / "dev"
    if not stems:
        stems = [
            p.stem for p in sorted(dev.glob("*.mp4")) if scene_cut_frames(probe_video(p), file_sha256(p))
        ]
    print(f"load average at start: {os.getloadavg()[0]:.1f}; clips with cuts: {', '.join(stems)}")
    tot = [0.0, 0.0, 0.0, 0.0]
    for stem in stems:
        info = probe_video(dev / f"{stem}.mp4")
        size = (info.width_px, info.height_px)
        held: dict[str, Any] = {}

        def pose(info=info, size=size, held=held) -> None:
            back = MainPassBack(size)
            with open_pose_backend(model, segmentation=True) as backend:
                held["pose"] = extract_pose(
                    info.path,
                    backend,
                    info=info,
                    progress=False,
                    thumbnails=Thumbnails(THUMB_WIDTH_PX),
                    on_person=back,
                )
            held["back"] = back

        def shots(info=info, held=held) -> None:
            repose_shots(
                info,
                held["pose"],
                held["starts"],
                partial(open_pose_backend, model, segmentation=True),
                back=held["back"],
                progress=False,
            )

        runs: dict[str, list[tuple[float, float]]] = {"pose": [], "shots": []}
        for _ in range(repeats):
            runs["pose"].append(_timed(pose))
            held["starts"] = cut_samples(
                held["pose"].frame_index, scene_cut_frames(info, file_sha256(info.path))
            )
            runs["shots"].append(_timed(shots))
        (pw, pc), (sw, sc) = (
            (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for v in runs.values()
        )
        n = held["pose"].n_samples
        again = sum(b - a for a, b in shot_bounds(n, held["starts"]))
        for i, v in enumerate((pw, pc, sw, sc)):
            tot[i] += v
        print(
            f"{stem:24s} pose pass {pw:6.2f} s wall {pc:6.2f} s CPU | per-shot pass ({again}/{n} samples again) "
            f"{sw:5.2f} s wall {sc:5.2f} s CPU ({sw / pw:+.0%} wall, {sc / pc:+.0%} CPU)"
        )
    pw, pc, sw, sc = tot
    print(
        f"clips with cuts in all: the per-shot pass adds {sw:.2f} s wall ({sw / pw:+.0%}), {sc:.2f} CPU-s "
        f"({sc / pc:+.0%}) to {pw:.2f} s wall / {pc:.2f} CPU-s of pose pass (load average now {os.getloadavg()[0]:.1f})"
    )


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
    ap.add_argument("--shots", action="store_true", help="time the per-shot pass on clips with cuts instead")
    args = ap.parse_args(argv)
    if args.shots:
        bench_shots(args.clips if "--clips" in (argv or sys.argv) else [], args.repeats)
        return 0
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
