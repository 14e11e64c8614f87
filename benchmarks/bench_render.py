"""Rendering cost vs analysis cost: time and peak memory, same clip, same run.

Each configuration runs in a fresh child process (so its peak resident set size, ``VmHWM``, is its
own; RSS high-water marks cannot be reset inside one process):

- ``analysis``: ``analyze(clip)`` with the pose from the cache (biomechanics, reps, rules).
- ``analysis_fresh``: the same with ``cache=False`` (MediaPipe runs: the analysis a user waits for
  the first time). Skipped with ``--no-fresh``.
- ``report``: analysis (cached pose), then ``write_report`` with the annotated clip: stills, bar
  paths and the clip in one streaming decode pass, curves, HTML.
- ``report_noclip``: the same without the clip (stills and plots only; the pass stops after the
  last wanted frame).
- ``decode``: ``formcheck_core.video.iter_frames`` (OpenCV) decoding every frame and nothing else
  (the floor for the clip with today's decoder); ``decode_pyav``: the same frames decoded to BGR
  with PyAV, for comparison only (formcheck decodes through ``video``).

Reported: wall time of each stage, the child's peak RSS, and for the report children the render
time as a multiple of the analysis time measured in the same process. For scale, the size that
all decoded frames of the clip would take in memory is printed too (rendering never holds them).
Run: ``python benchmarks/bench_render.py [--clip heavy_front_oblique_a] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CLIP = "heavy_front_oblique_a"  # 576x1024, 30 fps, 616 frames, 4 reps
MODES = ("analysis", "analysis_fresh", "report", "report_noclip", "decode", "decode_pyav")


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, clip: Path, out_dir: Path) -> dict:
    """Run one configuration in this (fresh) process and return its measurements."""
    import formcheck_core.analysis as fa

    result: dict = {"mode": mode}
    if mode == "decode":
        from formcheck_core.video import iter_frames

        t = time.perf_counter()
        result["frames"] = sum(1 for _ in iter_frames(clip, None))
        result["decode_s"] = time.perf_counter() - t
        result["peak_rss_mib"] = _hwm_mib()
        return result
    if mode == "decode_pyav":
        import av

        t = time.perf_counter()
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            result["frames"] = sum(
                1 for f in container.decode(stream) if f.to_ndarray(format="bgr24") is not None
            )
        result["decode_s"] = time.perf_counter() - t
        result["peak_rss_mib"] = _hwm_mib()
        return result
    t = time.perf_counter()
    analysis = fa.analyze(clip, progress=False, cache=mode != "analysis_fresh")
    result["analysis_s"] = time.perf_counter() - t
    result["reps"] = len(analysis.reps)
    result["samples"] = analysis.pose.n_samples
    if mode.startswith("report"):
        from formcheck_core.coach import deterministic_cues
        from formcheck_core.render.outputs import render_all
        from formcheck_core.report import REPORT_NAME, render_html

        cues = deterministic_cues(analysis)
        t = time.perf_counter()
        outputs = render_all(analysis, cues, out_dir, clip=mode == "report")
        t_html = time.perf_counter()
        (out_dir / REPORT_NAME).write_text(render_html(analysis, cues, outputs), encoding="utf-8")
        end = time.perf_counter()
        result.update(
            render_s=end - t,
            frames_pass_s=outputs.timings_s.get("frames_s"),
            curves_s=outputs.timings_s.get("curves_s"),
            html_s=end - t_html,
            frames_decoded=outputs.frames_decoded,
            stills=len(outputs.stills),
            bar_paths=len(outputs.bar_paths),
            clip_frames=outputs.clip.frames if outputs.clip else 0,
            clip_size=f"{outputs.clip.width_px}x{outputs.clip.height_px}" if outputs.clip else None,
            html_mib=(out_dir / REPORT_NAME).stat().st_size / 2**20,
            render_over_analysis=(end - t) / result["analysis_s"],
        )
    result["peak_rss_mib"] = _hwm_mib()
    return result


def run_child(mode: str, clip: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--clip-path", str(clip), "--out", tmp],
            check=False, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=DEFAULT_CLIP, help="dev clip stem (default: %(default)s)")
    parser.add_argument("--no-fresh", action="store_true", help="skip the analysis without the pose cache")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--clip-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.clip_path, args.out)))
        return 0

    from formcheck_core.config import shared_dir
    from formcheck_core.video import probe_video

    clip = shared_dir() / "videos" / "dev" / f"{args.clip}.mp4"
    if not clip.is_file():
        raise SystemExit(f"clip not found: {clip} (set FORMCHECK_SHARED)")
    info = probe_video(clip)
    modes = [m for m in MODES if not (args.no_fresh and m == "analysis_fresh")]
    # warm the pose cache first so "analysis" measures the cached path
    run_child("analysis", clip)
    results = {m: run_child(m, clip) for m in modes}
    all_frames_mib = results["decode"]["frames"] * info.width_px * info.height_px * 3 / 2**20

    print(f"clip {clip.name}: {info.width_px}x{info.height_px}, {info.fps:g} fps, "
          f"{results['decode']['frames']} frames, {results['report']['reps']} reps")  # fmt: skip
    print(
        f"{'configuration':<16}{'analysis s':>11}{'render s':>10}{'render/analysis':>16}{'peak RSS MiB':>14}"
    )
    for m, r in results.items():
        a = r.get("analysis_s", r.get("decode_s"))
        rs = r.get("render_s")
        ratio = r.get("render_over_analysis")
        print(f"{m:<16}{a:>11.2f}{(f'{rs:.2f}' if rs else '-'):>10}{(f'{ratio:.1f}x' if ratio else '-'):>16}"
              f"{r['peak_rss_mib']:>14.0f}")  # fmt: skip
    rep = results["report"]
    print(f"report: frames pass {rep['frames_pass_s']:.2f} s (decode alone {results['decode']['decode_s']:.2f} s), "
          f"(PyAV {results['decode_pyav']['decode_s']:.2f} s), curves {rep['curves_s']:.2f} s, html {rep['html_s']:.2f} s; {rep['stills']} stills, "
          f"{rep['bar_paths']} bar paths, clip {rep['clip_frames']} frames {rep['clip_size']}, "
          f"index.html {rep['html_mib']:.1f} MiB")  # fmt: skip
    if "analysis_fresh" in results:
        fresh = results["analysis_fresh"]["analysis_s"]
        print(f"render with clip vs first-time analysis (pose computed): {rep['render_s']:.1f} s vs {fresh:.1f} s "
              f"({rep['render_s'] / fresh:.2f}x)")  # fmt: skip
    print(f"render peak RSS over the analysis alone: "
          f"{rep['peak_rss_mib'] - results['analysis']['peak_rss_mib']:+.0f} MiB with clip, "
          f"{results['report_noclip']['peak_rss_mib'] - results['analysis']['peak_rss_mib']:+.0f} MiB without; "
          f"all decoded frames would take {all_frames_mib:.0f} MiB")  # fmt: skip
    if args.json:
        args.json.write_text(
            json.dumps({"clip": clip.name, "all_frames_mib": all_frames_mib, **results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
