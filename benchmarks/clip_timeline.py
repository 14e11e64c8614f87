"""Per-thread timeline of :func:`formcheck_core.render.clip.write_annotated_clip` on one clip.

Instruments the three Python threads of the clip pass from outside (wrapping, no code changes):
the decoding thread (``iter_frames``: decode + BGR conversion, and its wait on the full read-ahead
queue), the drawing thread (waiting for a decoded frame, waiting for a free output picture,
drawing) and the encoder thread (waiting for a drawn picture, I420 conversion, refill, x264
``encode`` + mux, the final flush), plus the setup and ``close``. Each span has wall seconds
(``perf_counter``) and that thread's CPU seconds (``thread_time``). At the end the CPU of every OS
thread of the process is read from ``/proc/self/task`` (x264's and FFmpeg's own worker threads
are not Python threads; the sampler itself costs ~0.05 CPU s a run), and the share of time
both cores of the machine were idle during the run (``/proc/stat``: idle means the clip left a
core unused; none idle means other jobs or the clip filled them). Wall spans on a loaded machine include waiting for a core: compare the
CPU column, and the load average printed.

Run: ``python benchmarks/clip_timeline.py [--clip phone_side_a] [--repeat 3] [--gantt]``.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPANS: list[tuple[str, str, float, float, float]] = []  # thread, stage, t0, t1, cpu_s
_clock, _cpu = time.perf_counter, time.thread_time


def _span(stage: str, t0: float, c0: float) -> None:
    SPANS.append((threading.current_thread().name, stage, t0, _clock(), _cpu() - c0))


def _machine_ticks() -> tuple[int, int]:
    """(idle, total) clock ticks of all cores since boot (``/proc/stat``; other people's jobs included)."""
    f = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(f[4]) + int(f[5]), sum(int(x) for x in f[1:9])


def _task_cpu_s() -> dict[str, float]:
    """CPU seconds of every OS thread of this process, by ``tid:name``."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        f = stat.rsplit(")", 1)[1].split()
        out[f"{tid}:{name}"] = (int(f[11]) + int(f[12])) / tick
    return out


def instrument() -> None:
    """Wrap the clip pass's stages so each records a span."""
    from formcheck_core.render import clip as C
    from formcheck_core.render import frames as F

    orig_iter = F.iter_frames

    def iter_frames(*a, **k):
        it = orig_iter(*a, **k)
        while True:
            t, c = _clock(), _cpu()
            try:
                frame = next(it)
            except StopIteration:
                _span("decode (end)", t, c)
                return
            _span("decode+bgr", t, c)
            t, c = _clock(), _cpu()
            yield frame
            _span("wait: read-ahead full", t, c)

    F.iter_frames = iter_frames

    def wrap(owner, name, stage):
        orig = getattr(owner, name)

        def inner(*a, **k):
            t, c = _clock(), _cpu()
            try:
                return orig(*a, **k)
            finally:
                _span(stage, t, c)

        setattr(owner, name, inner)

    wrap(C.ClipWriter, "__init__", "setup: writer init")
    wrap(C.ClipWriter, "handle", "draw (incl. picture wait)")
    wrap(C.ClipWriter, "_take_picture", "wait: free picture")
    wrap(C.ClipWriter, "close", "close (join + container close)")
    wrap(C, "_fill_yuv420p", "enc: refill yuv420p")
    wrap(C, "run_frame_pass", "frame pass")

    class _Cv2:
        def __getattr__(self, name):
            return getattr(C_cv2, name)

        @staticmethod
        def cvtColor(*a, **k):
            t, c = _clock(), _cpu()
            try:
                return C_cv2.cvtColor(*a, **k)
            finally:
                _span("enc: bgr->i420", t, c)

    C_cv2 = C.cv2
    C.cv2 = _Cv2()

    class _Queue(C.queue.Queue):
        def get(self, *a, **k):
            t, c = _clock(), _cpu()
            try:
                return super().get(*a, **k)
            finally:
                if threading.current_thread().name == "formcheck-clip-encoder":
                    _span("wait: drawn picture", t, c)

    class _QueueModule:
        Queue = _Queue
        Empty = C.queue.Empty
        Full = C.queue.Full

    C.queue = _QueueModule()

    class _Stream:
        def __init__(self, s):
            object.__setattr__(self, "_s", s)

        def __getattr__(self, n):
            return getattr(self._s, n)

        def __setattr__(self, n, v):
            setattr(self._s, n, v)

        def encode(self, frame=None):
            t, c = _clock(), _cpu()
            try:
                return self._s.encode(frame)
            finally:
                _span("enc: x264 encode" if frame is not None else "enc: x264 flush", t, c)

    class _Container:
        def __init__(self, ct):
            object.__setattr__(self, "_c", ct)

        def __getattr__(self, n):
            return getattr(self._c, n)

        def add_stream(self, *a, **k):
            return _Stream(self._c.add_stream(*a, **k))

        def mux(self, p):
            t, c = _clock(), _cpu()
            try:
                return self._c.mux(p)
            finally:
                _span("enc: mux", t, c)

        def close(self):
            t, c = _clock(), _cpu()
            try:
                return self._c.close()
            finally:
                _span("container close", t, c)

    import av

    orig_open = av.open

    def av_open(*a, **k):
        t, c = _clock(), _cpu()
        try:
            ct = orig_open(*a, **k)
            return _Container(ct) if k.get("mode") == "w" else ct
        finally:
            _span("av.open " + k.get("mode", "r"), t, c)

    av.open = av_open


def head_tail(t0: float, t_end: float) -> None:
    """The pipeline's fill and drain: when each thread first and last did its work."""

    def stamps(stage: str) -> list[tuple[float, float]]:
        return sorted((a - t0, b - t0) for _, s, a, b, _ in SPANS if s == stage)

    dec, drw, enc = stamps("decode+bgr"), stamps("draw (incl. picture wait)"), stamps("enc: x264 encode")
    flush = stamps("enc: x264 flush")
    print(
        f"fill: 1st frame decoded {dec[0][1]:.3f} s, drawn {drw[0][1]:.3f}, 1st x264 call "
        f"{enc[0][1] - enc[0][0]:.3f} s (ends {enc[0][1]:.3f}); 2nd-5th calls "
        + " ".join(f"{b - a:.3f}" for a, b in enc[1:5])
    )
    print(
        f"drain: last decoded {dec[-1][1]:.3f}, last drawn {drw[-1][1]:.3f}, last x264 call ends "
        f"{enc[-1][1]:.3f}, flush {flush[0][1] - flush[0][0]:.3f} s, end {t_end - t0:.3f}"
    )


def summarize(t0: float, t_end: float) -> None:
    by = collections.defaultdict(lambda: [0, 0.0, 0.0, float("inf"), 0.0])
    for th, stage, a, b, cpu in SPANS:
        e = by[(th, stage)]
        e[0] += 1
        e[1] += b - a
        e[2] += cpu
        e[3] = min(e[3], a - t0)
        e[4] = max(e[4], b - t0)
    print(f"{'thread':28} {'stage':32} {'n':>4} {'wall s':>7} {'cpu s':>7} {'first':>6} {'last':>6}")
    for (th, stage), (n, wall, cpu, first, last) in sorted(by.items(), key=lambda kv: kv[1][3]):
        print(f"{th[:28]:28} {stage[:32]:32} {n:4d} {wall:7.3f} {cpu:7.3f} {first:6.3f} {last:6.3f}")
    print(f"total wall {t_end - t0:.3f} s")


def gantt(t0: float, t_end: float, bins: int = 60) -> None:
    """One line per (thread, stage): where in the run it was busy (# most of a bin, + some)."""
    dt = (t_end - t0) / bins
    rows = collections.defaultdict(lambda: [0.0] * bins)
    for th, stage, a, b, _ in SPANS:
        row = rows[(th[:12], stage[:22])]
        for k in range(int((a - t0) / dt), min(bins, int((b - t0) / dt) + 1)):
            lo, hi = t0 + k * dt, t0 + (k + 1) * dt
            row[k] += max(0.0, min(b, hi) - max(a, lo)) / dt
    print(f"gantt: {dt * 1000:.0f} ms a column")
    for (th, stage), row in rows.items():
        print(
            f"{th:12} {stage:22} |" + "".join("#" if v > 0.5 else "+" if v > 0.05 else " " for v in row) + "|"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", default="phone_side_a")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--gantt", action="store_true")
    p.add_argument("--out", default="/tmp/clip_timeline.mp4")
    args = p.parse_args()
    from formcheck_core.analysis import analyze
    from formcheck_core.coach import deterministic_cues
    from formcheck_core.render.clip import write_annotated_clip

    shared = Path(os.environ.get("FORMCHECK_SHARED", "/work/shared"))
    analysis = analyze(shared / "videos" / "dev" / f"{args.clip}.mp4", progress=False)
    cues = deterministic_cues(analysis)
    instrument()
    walls, cpus = [], []
    for k in range(args.repeat):
        SPANS.clear()
        before = _task_cpu_s()
        seen: dict[str, float] = {}
        done = threading.Event()

        def sample(done: threading.Event = done, seen: dict[str, float] = seen) -> None:
            while not done.wait(0.025):  # short-lived threads (x264's, the decoder's) end before the run
                seen.update(_task_cpu_s())

        sampler = threading.Thread(target=sample, name="timeline-sampler", daemon=True)
        sampler.start()
        idle0, all0 = _machine_ticks()
        t0, c0 = _clock(), time.process_time()
        write_annotated_clip(analysis, args.out, cues)
        t_end, cpu = _clock(), time.process_time() - c0
        idle1, all1 = _machine_ticks()
        idle_pct = 100 * (idle1 - idle0) / max(1, all1 - all0)
        done.set()
        sampler.join()
        after = {**seen, **_task_cpu_s()}
        walls.append(t_end - t0)
        cpus.append(cpu)
        print(
            f"\n== run {k + 1}: wall {t_end - t0:.3f} s, process CPU {cpu:.3f} s, load {os.getloadavg()[0]:.1f}, "
            f"both cores idle {idle_pct:.0f} % of the run"
        )
        summarize(t0, t_end)
        head_tail(t0, t_end)
        grew = {n: after[n] - before.get(n, 0.0) for n in after if after[n] - before.get(n, 0.0) > 0}
        print(
            f"OS threads (CPU s, {sum(grew.values()):.2f} in all, sampled every 25 ms):",
            ", ".join(f"{n} {v:.2f}" for n, v in sorted(grew.items())),
        )
        if args.gantt:
            gantt(t0, t_end)
    print(f"\nmedian wall {statistics.median(walls):.3f} s, median CPU {statistics.median(cpus):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
