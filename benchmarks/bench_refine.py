"""Cost of the native-rate refinement pass (formcheck_core.pose.refine) against the 10 fps pose pass.

Usage: ``python benchmarks/bench_refine.py [--clips STEM ...] [--repeats N] [--guard [--all]]``

In-run baseline: for each clip, the 10 fps pose extraction (cache off) and the refinement of its
reps' lift-off and lockout (cache off) are timed alternately in the same process, ``--repeats``
rounds, medians reported. Both wall time and CPU time (this process, all threads:
``time.process_time``) are reported; on a shared machine decide with CPU time, and re-run on a
quiet machine for the wall-time verdict. ``frames``: source frames the pass measured (decoded
frames it skipped, their answer already bracketed, are not counted). Target (issue #10 item 3):
refinement <= 25 % of the 10 fps pose time.

``--guard``: instead, the cost of the follow guard (:class:`~formcheck_core.pose.refine.LifterTrack`):
per clip, the source frames the pass would measure for its pulls' lift-off and lockout, posed by
:func:`~formcheck_core.pose.refine.run_native_frames` with and without the guard, alternately,
``--repeats`` rounds (CPU s of this process, medians), and how far (body lengths) each frame's
person lies from the followed series at the sample the guard compares it with (the guard keeps a
person within 0.3 at 10 fps), and on how many frames the guard rejected the tracker's person.
``--all``: every labelled dev clip (``tests/conftest.dev_clip_stems``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

TARGET = 0.25

DEFAULT_CLIPS = ("reel_good_14", "gym1080_good_01", "phone_side_a", "kettlebell_correct_side")


def main(argv: list[str] | None = None) -> int:
    from formcheck_core.analysis import analyze, load_or_extract_pose
    from formcheck_core.config import shared_dir
    from formcheck_core.models.pose_model import model_id, resolve_pose_model
    from formcheck_core.pose.refine import refine_moments
    from formcheck_core.video import file_sha256, probe_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="*", default=list(DEFAULT_CLIPS))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--guard", action="store_true", help="time the follow guard instead")
    ap.add_argument("--all", action="store_true", help="with --guard: every labelled dev clip")
    args = ap.parse_args(argv)
    if args.guard:
        return guard(args.clips, args.repeats, args.all)
    model = resolve_pose_model(None)
    mid = model_id(model)
    tot = {"pose_wall": 0.0, "refine_wall": 0.0, "pose_cpu": 0.0, "refine_cpu": 0.0}
    load0 = os.getloadavg()[0]
    print(
        f"{'clip':26s} {'samples':>7s} {'reps':>4s} {'frames':>6s} {'load':>5s} "
        f"{'pose wall s':>11s} {'refine wall s':>13s} {'ratio':>6s} {'pose CPU s':>10s} {'refine CPU s':>12s} {'ratio':>6s}"
    )
    for stem in args.clips:
        path = shared_dir() / "videos" / "dev" / f"{stem}.mp4"
        info = probe_video(path)
        a = analyze(path, rules=False, progress=False, back=False)
        if a.body is None:
            continue
        pulls = (*a.reps, *a.partial_pulls)
        sha = file_sha256(path)
        t: dict[str, list[float]] = {k: [] for k in tot}
        frames, load = [0], os.getloadavg()[0]
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            load_or_extract_pose(info, cache=False, progress=False)
            t["pose_wall"].append(time.perf_counter() - w0)
            t["pose_cpu"].append(time.process_time() - c0)
            frames[0] = 0
            w0, c0 = time.perf_counter(), time.process_time()
            refine_moments(
                info,
                a.body,
                pulls,
                model,
                model_id=mid,
                video_sha256=sha,
                cache=False,
                on_frame=lambda *_, n=frames: n.__setitem__(0, n[0] + 1),
            )
            t["refine_wall"].append(time.perf_counter() - w0)
            t["refine_cpu"].append(time.process_time() - c0)
        med = {k: statistics.median(v) for k, v in t.items()}
        for k in tot:
            tot[k] += med[k]
        load = (load + os.getloadavg()[0]) / 2
        print(
            f"{stem:26s} {a.pose.n_samples:7d} {len(pulls):4d} {frames[0]:6d} {load:5.1f} "
            f"{med['pose_wall']:11.2f} {med['refine_wall']:13.2f} {med['refine_wall'] / med['pose_wall']:6.0%} "
            f"{med['pose_cpu']:10.2f} {med['refine_cpu']:12.2f} {med['refine_cpu'] / med['pose_cpu']:6.0%}",
            flush=True,
        )
    wall, cpu = tot["refine_wall"] / tot["pose_wall"], tot["refine_cpu"] / tot["pose_cpu"]
    print(
        f"all clips: refinement {tot['refine_wall']:.2f} s wall = {wall:.0%} of the 10 fps pose time "
        f"({tot['pose_wall']:.2f} s); CPU {tot['refine_cpu']:.2f} s = {cpu:.0%} of {tot['pose_cpu']:.2f} s; "
        f"load average before/after {load0:.1f}/{os.getloadavg()[0]:.1f}"
    )
    print(
        f"TARGET refinement <= {TARGET:.0%} of the 10 fps pose time: wall {wall:.0%} "
        f"{'MET' if wall <= TARGET else 'NOT MET'}, CPU {cpu:.0%} {'MET' if cpu <= TARGET else 'NOT MET'}"
        + (
            "  (load above 1: wall time distorted, decide with CPU)"
            if max(load0, os.getloadavg()[0]) > 1
            else ""
        )
    )
    return 0


def guard(clips: list[str], repeats: int, every: bool) -> int:
    """Cost and margins of the refinement pass's follow guard (see the module docstring)."""
    import json
    from pathlib import Path

    import numpy as np

    from formcheck_core.analysis import analyze
    from formcheck_core.config import shared_dir
    from formcheck_core.models.pose_model import resolve_pose_model
    from formcheck_core.pose.refine import _events, run_native_frames
    from formcheck_core.pose.tracks import LifterTrack

    if every:
        labels = json.loads((shared_dir() / "videos" / "labels_dev.json").read_text())
        clips = sorted(Path(k).stem for k in labels)
    model = resolve_pose_model(None)
    print(
        f"{'clip':26s} {'frames':>6s} {'plain CPU s':>11s} {'guard CPU s':>11s} {'max dist':>8s} {'rejected':>8s}"
    )
    tot_plain = tot_guard = worst = 0.0
    rejected_all = 0
    for stem in clips:
        path = shared_dir() / "videos" / "dev" / f"{stem}.mp4"
        a = analyze(path, rules=False, progress=False, back=False)
        if a.body is None:
            continue
        events = _events(a.body, (*a.reps, *a.partial_pulls), ("liftoff", "lockout"))
        fps = a.video.fps if a.video.fps > 0 else 30.0
        frames = [(f, f / fps) for f in sorted({f for e in events for f in e.frames})]
        if not frames:
            continue
        size = (a.video.width_px, a.video.height_px)
        track = LifterTrack.of(a.body)
        dist: list[float] = []

        def measure(f: int, rgb, p, dist=dist, track=track, fps=fps, size=size) -> None:
            dist.append(track.distance_rel(f / fps, p, size) if p is not None else float("nan"))

        t: dict[str, list[float]] = {"plain": [], "guard": []}
        for r in range(repeats):
            for name in ("plain", "guard") if r % 2 == 0 else ("guard", "plain"):
                dist.clear()
                c0 = time.process_time()
                if name == "guard":
                    run_native_frames(path, frames, model, size, lifter=track)
                else:  # the tracker's own person: how far from the series the guard finds it
                    run_native_frames(path, frames, model, size, on_frame=measure)
                t[name].append(time.process_time() - c0)
        plain = run_native_frames(path, frames, model, size)
        guarded = run_native_frames(path, frames, model, size, lifter=track)
        rejected = int(
            np.sum(~np.isclose(plain["image_xy_px"], guarded["image_xy_px"], equal_nan=True).all(axis=(1, 2)))
        )
        med = {k: statistics.median(v) for k, v in t.items()}
        d = float(np.nanmax(dist)) if np.isfinite(dist).any() else float("nan")
        tot_plain, tot_guard = tot_plain + med["plain"], tot_guard + med["guard"]
        worst, rejected_all = max(worst, d if np.isfinite(d) else 0.0), rejected_all + rejected
        print(
            f"{stem:26s} {len(frames):6d} {med['plain']:11.2f} {med['guard']:11.2f} {d:8.3f} {rejected:8d}",
            flush=True,
        )
    print(
        f"all clips: guard {tot_guard:.2f} CPU s vs {tot_plain:.2f} without ({tot_guard - tot_plain:+.2f}); "
        f"largest distance {worst:.3f} body lengths; frames whose person the guard changed: {rejected_all}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
