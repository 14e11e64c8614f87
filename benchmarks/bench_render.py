"""What a default ``formcheck analyze`` costs beyond its measurement: the report and annotated clip.

Three measurements, each in fresh child processes, all in one run:

1. **CLI, cold pose cache** (per clip, ``--repeat`` times, the order of the two commands
   alternating): ``formcheck analyze CLIP`` (full default: report + annotated clip) against
   ``formcheck analyze CLIP --no-report``, each with an empty ``FORMCHECK_CACHE`` so MediaPipe
   runs, as a user's first run does. Reported: wall and CPU seconds (the command and all its
   children, e.g. the render worker), and the in-run ratio full / no-report per repeat.
2. **Stages** (per clip, pose cached): as the CLI does, a render worker is started before
   ``analyze`` and is warm when ``render_all`` + the HTML run (its warm-up CPU is reported apart,
   ``worker_warm_up_cpu_s``: the CLI pays it during the analysis); the per-stage wall seconds ``render_all`` records (decode, overlay drawing, encode, stills and bar
   paths (with the worker: handing their frames over), picture files (with the worker: drawing
   and writing them, in either process), curves, rep curves, curve PNGs, HTML) and the clip's
   speed as a multiple of real time (clip duration / wall of the decode-draw-encode pass).
3. **Long clip** (``--long-s``, default 90): a dev clip looped to that length (stream copy with the
   ffmpeg of ``imageio-ffmpeg``, into a temporary folder, never kept) gets a full run; reported:
   the size of ``index.html`` and of the files beside it.

``--baseline-src DIR`` also runs measurement 1 with ``PYTHONPATH=DIR`` (e.g. a worktree of an
older commit): a before/after comparison under the same load.

The output ends with the two targets of issue #15 per clip, each marked met / MISSED: full /
``--no-report`` wall ratio (median over the repeats; target <= 1.5x) and the annotated clip as a
multiple of real time (target >= 4x), with the load average they were measured under.

The machine this was written on has 2 cores shared by other jobs: wall times are noisy (the load
average is printed); compare the in-run ratios and the CPU seconds, and repeat.
Run: ``python benchmarks/bench_render.py [--clips a,b,c] [--repeat 2] [--long-s 90] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: short 1080p, long 60 fps, portrait.
DEFAULT_CLIPS = ("gym1080_good_01", "kettlebell_rounded_side", "phone_side_a")
LONG_SOURCE = "kettlebell_rounded_side"


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _env(cache_dir: Path, src: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["FORMCHECK_CACHE"] = str(cache_dir)
    env["PYTHONPATH"] = str(src or ROOT)  # the checkout measured, and only it
    return env


def run_cli(clip: Path, full: bool, src: Path | None = None) -> dict:
    """One ``formcheck analyze`` from an empty pose cache: wall and CPU seconds (with children)."""
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        cmd = [sys.executable, "-m", "formcheck_core", "analyze", str(clip), "--out", f"{tmp}/out", "--quiet"]
        if not full:
            cmd.append("--no-report")
        cpu0, t0 = _children_cpu_s(), time.perf_counter()
        # cwd: ``python -m`` puts the working directory first on sys.path, ahead of PYTHONPATH
        proc = subprocess.run(
            cmd,
            env=_env(Path(tmp) / "cache", src),
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
            cwd=tmp,
        )
        wall, cpu = time.perf_counter() - t0, _children_cpu_s() - cpu0
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        index = Path(tmp) / "out" / "index.html"
        html_mib = index.stat().st_size / 2**20 if index.is_file() else None
    return {"wall_s": wall, "cpu_s": cpu, "html_mib": html_mib}


def stage_child(clip: Path, out_dir: Path) -> dict:
    """In this (fresh) process: cached-pose analysis, then the render with its stage timings."""
    from formcheck_core.analysis import analyze
    from formcheck_core.coach import deterministic_cues
    from formcheck_core.render.outputs import render_all, start_render_worker
    from formcheck_core.render.report import REPORT_NAME, render_html

    worker = start_render_worker()  # as the CLI does (there: once the pose is known, see on_pose)
    analyze(clip, progress=False)  # fills the cache if it was empty
    t, c = time.perf_counter(), _self_cpu_s()
    analysis = analyze(clip, progress=False)
    result: dict = {"analysis_s": time.perf_counter() - t, "analysis_cpu_s": _self_cpu_s() - c}
    cues = deterministic_cues(analysis)
    warm_cpu = 0.0
    if worker is not None:  # warm, as after the analysis that follows the pose pass
        worker.attach(analysis).result(timeout=120)
        warm_cpu = _proc_cpu_s(worker._proc.pid)  # not part of the render: paid during the analysis
    t, c, cc = time.perf_counter(), _self_cpu_s(), _children_cpu_s() + warm_cpu
    outputs = render_all(analysis, cues, out_dir, worker=worker)
    t_html = time.perf_counter()
    (out_dir / REPORT_NAME).write_text(render_html(analysis, cues, outputs), encoding="utf-8")
    end = time.perf_counter()
    if worker is not None:
        worker.close()
    clip_frames = outputs.clip.frames if outputs.clip else 0
    duration_s = clip_frames / outputs.clip.fps if outputs.clip else float("nan")  # the clip may skip frames
    result.update(
        render_s=end - t,
        render_cpu_s=(_self_cpu_s() - c) + (_children_cpu_s() - cc),
        worker_warm_up_cpu_s=warm_cpu,
        html_s=end - t_html,
        stages_s=outputs.timings_s,
        reps=len(analysis.reps),
        stills=len(outputs.stills),
        clip_frames=clip_frames,
        clip_fps=outputs.clip.fps if outputs.clip else None,
        clip_size=f"{outputs.clip.width_px}x{outputs.clip.height_px}" if outputs.clip else None,
        source_size=f"{analysis.video.width_px}x{analysis.video.height_px}",
        fps=analysis.video.fps,
        clip_x_realtime=duration_s / outputs.timings_s["frames_s"] if clip_frames else None,
        # the pass is CPU-bound and runs on two threads: what two free cores would give
        clip_x_realtime_2_free_cores=duration_s / (outputs.timings_s["frames_cpu_s"] / 2)
        if clip_frames
        else None,
        html_mib=(out_dir / REPORT_NAME).stat().st_size / 2**20,
    )
    return result


def run_stages(clip: Path, cache_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(clip), "--out", tmp],
            env=_env(cache_dir),
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit(f"stage run of {clip.name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def looped_clip(src: Path, seconds: float, out: Path) -> Path:
    """``src`` repeated to ``seconds`` long (stream copy, no re-encode)."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-y",
        "-stream_loop",
        "-1",
        "-i",
        str(src),
        "-t",
        f"{seconds:g}",
        "-c",
        "copy",
        "-an",
        str(out),
    ]
    subprocess.run(cmd, check=True, timeout=600)
    return out


def run_long(clip: Path) -> dict:
    """A full CLI run on ``clip`` (pose computed); sizes of index.html and of the output folder."""
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        cmd = [sys.executable, "-m", "formcheck_core", "analyze", str(clip), "--out", f"{tmp}/out", "--quiet"]
        t = time.perf_counter()
        proc = subprocess.run(
            cmd,
            env=_env(Path(tmp) / "cache"),
            capture_output=True,
            text=True,
            timeout=7200,
            check=False,
            cwd=tmp,
        )
        wall = time.perf_counter() - t
        if proc.returncode not in (0, 1):
            raise SystemExit(f"long run failed:\n{proc.stderr[-3000:]}")
        out = Path(tmp) / "out"
        files = [p for p in out.rglob("*") if p.is_file()]
        html = out / "index.html"
        text = html.read_text(encoding="utf-8")
        return {
            "wall_s": wall,
            "html_mib": html.stat().st_size / 2**20,
            "folder_mib": sum(p.stat().st_size for p in files) / 2**20,
            "clip_mib": (out / "annotated.mp4").stat().st_size / 2**20
            if (out / "annotated.mp4").is_file()
            else None,
            "embedded_images": text.count("<img "),
            "linked_pictures": text.count('href="stills/') + text.count('href="plots/'),
            "stills": len([p for p in (out / "stills").iterdir() if p.is_file()])
            if (out / "stills").is_dir()
            else 0,
        }


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default=",".join(DEFAULT_CLIPS), help="dev clip stems, comma-separated")
    parser.add_argument("--repeat", type=int, default=2, help="CLI runs per clip and command (default 2)")
    parser.add_argument("--long-s", type=float, default=90.0, help="length of the looped clip (0: skip)")
    parser.add_argument("--baseline-src", type=Path, help="also time the CLI with PYTHONPATH=this checkout")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(stage_child(args.child, args.out)))
        return 0

    from formcheck_core.config import shared_dir

    dev = shared_dir() / "videos" / "dev"
    clips = [dev / f"{c}.mp4" for c in args.clips.split(",") if c]
    for c in clips:
        if not c.is_file():
            raise SystemExit(f"clip not found: {c} (set FORMCHECK_SHARED)")
    print(f"{os.cpu_count()} cores, load average at start {_load()}; python {sys.version.split()[0]}")
    results: dict = {"load_start": _load(), "clips": {}}
    sources = [("this", None)] + ([("baseline", args.baseline_src)] if args.baseline_src else [])
    for clip in clips:
        entry: dict = {"cli": {}}
        for label, src in sources:
            runs: dict[str, list[dict]] = {"no_report": [], "full": []}
            for i in range(args.repeat):
                order = ("no_report", "full") if i % 2 == 0 else ("full", "no_report")
                for mode in order:
                    runs[mode].append(run_cli(clip, mode == "full", src))
            entry["cli"][label] = runs
        with tempfile.TemporaryDirectory(prefix="bench_render_cache_") as cache:
            entry["stages"] = run_stages(clip, Path(cache))
        entry["load"] = _load()
        results["clips"][clip.stem] = entry
        _print_clip(clip.stem, entry)
    if args.long_s > 0:
        with tempfile.TemporaryDirectory(prefix="bench_render_long_") as tmp:
            long_clip = looped_clip(
                dev / f"{LONG_SOURCE}.mp4", args.long_s, Path(tmp) / f"long_{args.long_s:g}s.mp4"
            )
            results["long"] = {"source": LONG_SOURCE, "seconds": args.long_s, **run_long(long_clip)}
        lg = results["long"]
        print(
            f"\n{LONG_SOURCE} looped to {args.long_s:g} s, full run (pose computed) {lg['wall_s']:.1f} s: "
            f"index.html {lg['html_mib']:.2f} MiB ({lg['embedded_images']} pictures embedded, {lg['linked_pictures']} "
            f"linked; {lg['stills']} stills in stills/), whole folder {lg['folder_mib']:.1f} MiB (clip {lg['clip_mib']:.1f} MiB)"
        )
    results["load_end"] = _load()
    results["targets"] = target_summary(results)
    print(f"\nload average at the end {_load()}")
    print("\n" + format_targets(results["targets"], results["load_start"], results["load_end"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


#: The two speed targets of issue #15.
TARGET_FULL_OVER_NO_REPORT = 1.5
TARGET_CLIP_X_REALTIME = 4.0


def target_summary(results: dict) -> dict:
    """Per clip: median full / no-report wall and CPU ratio (this checkout, cold cache) and the
    annotated clip's multiple of real time, each with whether it meets its target."""
    out: dict = {}
    for name, entry in results["clips"].items():
        runs = entry["cli"]["this"]
        wall = statistics.median(
            f["wall_s"] / n["wall_s"] for f, n in zip(runs["full"], runs["no_report"], strict=True)
        )
        cpu = statistics.median(
            f["cpu_s"] / n["cpu_s"] for f, n in zip(runs["full"], runs["no_report"], strict=True)
        )
        rt = entry["stages"]["clip_x_realtime"]
        out[name] = {
            "full_over_no_report_wall": wall,
            "full_over_no_report_cpu": cpu,
            "full_ok": wall <= TARGET_FULL_OVER_NO_REPORT,
            "clip_x_realtime": rt,
            "clip_ok": rt is not None and rt >= TARGET_CLIP_X_REALTIME,
            "clip_x_realtime_2_free_cores": entry["stages"]["clip_x_realtime_2_free_cores"],
            "load": entry["load"],
        }
    return out


def format_targets(targets: dict, load_start: str, load_end: str) -> str:
    """The verdict lines: the two #15 targets per clip, with the load they were measured under."""
    lines = [
        f"TARGETS of #15 (load average {load_start} at start, {load_end} at end; 2 cores: "
        "wall ratios are only decisive on a quiet machine)"
    ]
    for name, t in targets.items():
        rt = t["clip_x_realtime"]
        lines.append(
            f"  {name}: full / --no-report (cold pose cache, median) {t['full_over_no_report_wall']:.2f}x wall "
            f"[{'met' if t['full_ok'] else 'MISSED'}, target <= {TARGET_FULL_OVER_NO_REPORT:g}x], "
            f"{t['full_over_no_report_cpu']:.2f}x CPU; annotated clip "
            + (f"{rt:.1f}x real time" if rt else "not written")
            + f" [{'met' if t['clip_ok'] else 'MISSED'}, target >= {TARGET_CLIP_X_REALTIME:g}x]"
            + (
                f" (from its CPU seconds: {t['clip_x_realtime_2_free_cores']:.1f}x on 2 free cores)"
                if rt
                else ""
            )
        )
    return "\n".join(lines)


def _print_clip(name: str, entry: dict) -> None:
    st = entry["stages"]
    print(
        f"\n== {name}: {st['source_size']} at {st['fps']:.4g} fps, {st['reps']} reps, clip {st['clip_frames']} frames "
        f"at {st.get('clip_fps') or 0:.4g} fps "
        f"(load {entry['load']})"
    )
    for label, runs in entry["cli"].items():
        ratios = [f["wall_s"] / n["wall_s"] for f, n in zip(runs["full"], runs["no_report"], strict=False)]
        cpu_ratios = [f["cpu_s"] / n["cpu_s"] for f, n in zip(runs["full"], runs["no_report"], strict=False)]
        med = {
            m: (statistics.median(r["wall_s"] for r in rs), statistics.median(r["cpu_s"] for r in rs))
            for m, rs in runs.items()
        }
        print(
            f"  CLI [{label}], cold pose cache, median of {len(ratios)}: --no-report {med['no_report'][0]:.1f} s "
            f"wall / {med['no_report'][1]:.1f} s CPU; full {med['full'][0]:.1f} s wall / {med['full'][1]:.1f} s CPU; "
            f"full/no-report wall {', '.join(f'{r:.2f}' for r in ratios)}x, CPU {', '.join(f'{r:.2f}' for r in cpu_ratios)}x; "
            f"index.html {runs['full'][0]['html_mib']:.2f} MiB"
        )
    s = st["stages_s"]
    keys = (
        "decode_s",
        "overlay_s",
        "encode_s",
        "encode_wait_s",
        "stills_s",
        "bar_paths_s",
        "picture_files_s",
        "curves_s",
        "rep_curves_s",
        "curve_png_s",
        "wait_worker_s",
        "frames_s",
    )
    print(
        f"  stages (pose cached; analysis {st['analysis_s']:.2f} s): render {st['render_s']:.2f} s wall, "
        f"{st['render_cpu_s']:.2f} s CPU (all threads and the worker); html {st['html_s']:.2f} s"
    )
    print("    " + ", ".join(f"{k[:-2]} {s[k]:.2f}" for k in keys if k in s))
    if "jobs_here" in s:
        print(
            f"    shared jobs (curve parts drawn, their PNGs, stills and bar paths drawn and written): {s['jobs_here']:.0f} run here, "
            f"{s['jobs_worker']:.0f} by the worker; its warm-up (during the analysis in the CLI) "
            f"{st.get('worker_warm_up_cpu_s', 0.0):.2f} s CPU"
        )
    if st["clip_x_realtime"]:
        print(
            f"    annotated clip {st['clip_size']} (source {st['source_size']}): {st['clip_x_realtime']:.1f}x real time "
            f"(decode+draw+encode pass {s['frames_s']:.2f} s wall, {s['frames_cpu_s']:.2f} s CPU -> "
            f"{st['clip_x_realtime_2_free_cores']:.1f}x real time on 2 free cores)"
        )


if __name__ == "__main__":
    sys.exit(main())
