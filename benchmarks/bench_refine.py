"""Cost of the native-rate refinement pass (formcheck_core.pose.refine) against the 10 fps pose pass.

Usage: ``python benchmarks/bench_refine.py [--clips STEM ...] [--repeats N]``

In-run baseline: for each clip, the 10 fps pose extraction (cache off) and the refinement of its
reps' lift-off and lockout (cache off) are timed alternately in the same process, ``--repeats``
rounds, medians reported. Both wall time and CPU time (this process, all threads:
``time.process_time``) are reported; on a shared machine decide with CPU time, and re-run on a
quiet machine for the wall-time verdict. ``frames``: source frames the pass measured (decoded
frames it skipped, their answer already bracketed, are not counted). Target (issue #10 item 3):
refinement <= 25 % of the 10 fps pose time.
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
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
