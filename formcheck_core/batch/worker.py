"""What runs inside a batch worker process (local pool or Dask worker): thread pinning and the task.

Kept free of pandas and Dask imports so a pool worker stays small. MediaPipe's Tasks runtime runs
CPU inference on one thread on desktop platforms; the threads left to pin are FFmpeg's decoder
(:data:`formcheck_core.video.DECODE_THREADS_ENV`), OpenMP / BLAS pools and OpenCV. They must be
set before those libraries load, i.e. before the first clip, hence environment variables.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ..video import DECODE_THREADS_ENV
from .options import ClipOptions
from .rows import ClipRows, analyze_clip_rows

#: Thread-count variables set to 1 in a worker (unless already set).
THREAD_ENV_VARS: tuple[str, ...] = (
    DECODE_THREADS_ENV,
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "OPENCV_FOR_THREADS_NUM",
)
_pinned = False


def pin_threads() -> None:
    """One intra-op thread per worker: set the thread variables (if unset) and OpenCV's pool if loaded."""
    global _pinned
    if _pinned:
        return
    for var in THREAD_ENV_VARS:
        os.environ.setdefault(var, "1")
    import sys

    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)
    _pinned = True


def init_pool_worker(plugins: str | None, log_path: str | None = None) -> None:
    """Initializer of a local pool process: ignore Ctrl-C (the parent stops the pool), pin threads,
    load the same plugins as the parent, and send this process's stderr (MediaPipe's native log
    lines, warnings) to ``log_path`` so they do not break the progress bar."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_path is not None:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    pin_threads()
    if plugins is not None:
        os.environ["FORMCHECK_LOAD_PLUGINS"] = plugins


def run_clip(path: str, options: ClipOptions, clip: str, report_dir: str | None = None) -> ClipRows:
    """The task each worker runs: pin threads on first use, then :func:`analyze_clip_rows`."""
    pin_threads()
    if options.plugins is not None:
        os.environ["FORMCHECK_LOAD_PLUGINS"] = options.plugins
    return analyze_clip_rows(Path(path), options, clip=clip, report_dir=report_dir)
