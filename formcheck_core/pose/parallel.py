"""Pose extraction split over processes: contiguous time ranges, one pose model per process.

MediaPipe runs one inference at a time per process, so a second core needs a second process.
The clip's sampled frames are planned from demuxed timestamps (:func:`~formcheck_core.video.plan_samples`)
and split into contiguous ranges of samples. This process runs the first range; spawned children
(a fresh interpreter each: never fork once MediaPipe is loaded) run the others. Children need
about a second to start, so the first range is ``HEAD_START_SAMPLES`` longer. The split depends
only on the number of samples and processes, so results are reproducible. Each process decodes
only its own range (seek to the keyframe before it) through a bounded queue, so memory does not
grow with clip length. Children report each sample (for the progress bar) and finally their
:class:`PoseSeries` part through one queue; the parts are joined in time order. Children are
always terminated on the way out (errors, KeyboardInterrupt).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import os
import pickle
import queue
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..video import SamplePlan, VideoInfo, iter_planned_frames
from .backend import PoseBackend
from .feed import BackendFactory, SeriesBuilder, prefetch, progress_bar
from .series import PoseSeries

_SPAWN = mp.get_context("spawn")
log = logging.getLogger(__name__)
#: Samples this process does while a child starts (spawn, imports, model load: about 1 s, during
#: which this process ran 4-49 samples in measurements here, fewer when it loads its own model too).
HEAD_START_SAMPLES = 30
#: No range is shorter than this many samples (not worth a process, a seek and a tracking restart).
MIN_RANGE_SAMPLES = 8
#: Seconds to wait for one message from the children before checking they are still alive.
_POLL_S = 0.5
#: Children that send nothing for this long (a sample takes well under 1 s) are reported as stuck.
_STALL_S = 60.0


def split_samples(n: int, workers: int, head_start: int = HEAD_START_SAMPLES) -> list[tuple[int, int]]:
    """Sample ranges ``[a, b)`` covering ``0 .. n - 1``: the first ``head_start`` longer than the others."""
    parts = max(1, min(workers, (n - head_start) // MIN_RANGE_SAMPLES))
    share = (n - head_start) / parts
    bounds = [0] + [head_start + round(share * k) for k in range(1, parts)] + [n]
    return list(itertools.pairwise(bounds))


def _source_index(plan: SamplePlan, sample: int) -> int:
    """Source frame index of sample ``sample`` (the frame count for the sample past the last)."""
    return plan.kept_index[sample] if sample < len(plan.kept_index) else len(plan.pts)


def run_range(
    info: VideoInfo,
    plan: SamplePlan,
    samples: tuple[int, int],
    backend: PoseBackend,
    on_sample: Callable[[], None],
    target_fps: float | None,
    model_id: str,
) -> tuple[PoseSeries, bool]:
    """Pose of the samples ``[a, b)`` and whether all source frames of the range decoded."""
    start, stop = (_source_index(plan, i) for i in samples)
    builder = SeriesBuilder(info)
    status = {"complete": False}

    def frames():
        status["complete"] = yield from iter_planned_frames(info.path, plan, start, stop)

    for frame in prefetch(frames()):
        builder.add(frame, backend.detect(frame.bgr, frame.time_s))  # frame.bgr holds model RGB
        on_sample()
    return builder.build(target_fps, model_id, backend.running_mode), status["complete"]


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _child(
    q,
    worker: int,
    open_backend: BackendFactory,
    info: VideoInfo,
    plan: SamplePlan,
    samples: tuple[int, int],
    target_fps: float | None,
    model_id: str,
) -> None:
    """A worker process: sends ("sample", k, None) per sample, then ("done", k, (part, complete)) or ("error", k, exc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it terminates us
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the native runtime's log lines; errors go to the parent
    try:
        with open_backend() as backend:
            sent = run_range(
                info, plan, samples, backend, lambda: q.put(("sample", worker, None)), target_fps, model_id
            )
        q.put(("done", worker, sent))
    except BaseException as exc:
        q.put(("error", worker, _picklable(exc)))


def concat_series(parts: list[PoseSeries]) -> PoseSeries:
    """Join pose series of consecutive time ranges of one clip."""
    arrays: dict[str, Any] = {k: np.concatenate([p.arrays()[k] for p in parts]) for k in parts[0].arrays()}
    meta: dict[str, Any] = dict(parts[0].meta())
    return PoseSeries(**arrays, **meta)


def extract_pose_parallel(
    info: VideoInfo,
    open_backend: BackendFactory,
    plan: SamplePlan,
    workers: int,
    target_fps: float | None,
    model_id: str,
    progress: bool,
) -> PoseSeries:
    """Pose over ``plan``'s samples with up to ``workers`` processes (this one included); see the module doc.

    A range that stops decoding early (truncated or corrupt file) ends the series there, as the
    one-process path does. A child's error is raised here; a child that dies without a result, or
    goes silent for ``_STALL_S``, raises RuntimeError. Raises
    :class:`~formcheck_core.video.PlanMismatchError` when decoding disagrees with the plan (the
    caller then falls back to one process).
    """
    ranges = split_samples(len(plan.kept_index), workers)
    log.debug("pose sample ranges, one per process: %s", ranges)
    q = _SPAWN.Queue()
    children = {
        k: _SPAWN.Process(
            target=_child,
            args=(q, k, open_backend, info, plan, ranges[k], target_fps, model_id),
            name=f"formcheck-pose-{k}",
            daemon=True,
        )
        for k in range(1, len(ranges))
    }
    parts: dict[int, tuple[PoseSeries, bool]] = {}  # range -> its series, and whether it fully decoded
    last_message = [time.monotonic()]

    def receive(timeout: float | None) -> bool:
        """Handle one message from the children (waiting up to ``timeout`` s); False if none came."""
        try:
            kind, k, payload = q.get(timeout=timeout) if timeout else q.get_nowait()
        except queue.Empty:
            return False
        last_message[0] = time.monotonic()
        if kind == "error":
            raise payload
        if kind == "done":
            parts[k] = payload
        else:
            bar.update(1)
        return True

    try:
        for child in children.values():
            child.start()
        with progress_bar(info, len(plan.kept_index), progress) as bar:

            def on_sample() -> None:
                bar.update(1)
                while receive(None):
                    pass

            with open_backend() as backend:
                parts[0] = run_range(info, plan, ranges[0], backend, on_sample, target_fps, model_id)
            while (joined := _in_time_order(parts, len(ranges))) is None:
                if receive(_POLL_S):
                    continue
                if time.monotonic() - last_message[0] > _STALL_S:
                    raise RuntimeError(f"pose workers sent nothing for {_STALL_S:.0f} s; stopped them")
                dead = [k for k, child in children.items() if k not in parts and not child.is_alive()]
                if dead and not receive(_POLL_S):  # a dead child's last messages would be waiting by now
                    code = children[dead[0]].exitcode
                    raise RuntimeError(f"pose worker {dead[0]} exited (code {code}) without a result")
    finally:
        started = [child for child in children.values() if child.pid is not None]
        for child in started:
            if child.is_alive():
                child.terminate()
        for child in started:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join()
        q.close()
        q.cancel_join_thread()
    return concat_series(joined)


def _in_time_order(parts: dict[int, tuple[PoseSeries, bool]], n_ranges: int) -> list[PoseSeries] | None:
    """The parts to join, up to the first range that stopped decoding early; None while one is missing.

    Ranges after one that stopped early are past the last decodable frame, where the one-process
    path stops, so they are not waited for.
    """
    joined = []
    for k in range(n_ranges):
        if k not in parts:
            return None
        part, complete = parts[k]
        joined.append(part)
        if not complete:
            break
    return joined
