"""Cost of the native-rate refinement pass (formcheck_core.pose.refine) against the 10 fps pose pass.

Usage: ``python benchmarks/bench_refine.py [--clips STEM ...] [--repeats N]``

In-run baseline: for each clip, the 10 fps pose extraction (cache off) and the refinement of its
reps' lift-off and lockout (cache off) are timed alternately in the same process, ``--repeats``
rounds, medians reported. Target: refinement <= 25 % of the 10 fps pose time.
"""

from __future__ import annotations

import argparse
import statistics
import time

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
    total_pose = total_refine = 0.0
    print(
        f"{'clip':28s} {'samples':>7s} {'reps':>4s} {'frames':>6s} {'pose 10fps s':>12s} {'refine s':>9s} {'ratio':>6s}"
    )
    for stem in args.clips:
        path = shared_dir() / "videos" / "dev" / f"{stem}.mp4"
        info = probe_video(path)
        a = analyze(path, rules=False, progress=False, back=False)
        pulls = (*a.reps, *a.partial_pulls)
        sha = file_sha256(path)
        pose_t, ref_t, frames = [], [], [0]
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            load_or_extract_pose(info, cache=False, progress=False)
            pose_t.append(time.perf_counter() - t0)
            frames[0] = 0
            t0 = time.perf_counter()
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
            ref_t.append(time.perf_counter() - t0)
        p, r = statistics.median(pose_t), statistics.median(ref_t)
        total_pose += p
        total_refine += r
        print(
            f"{stem:28s} {a.pose.n_samples:7d} {len(pulls):4d} {frames[0]:6d} {p:12.2f} {r:9.2f} {r / p:6.0%}",
            flush=True,
        )
    print(
        f"all clips: refinement {total_refine:.2f} s = {total_refine / total_pose:.0%} of the 10 fps pose time "
        f"({total_pose:.2f} s); target <= 25 %"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
