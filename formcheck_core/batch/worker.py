"""What runs inside a batch worker process (local pool or Dask worker): thread pinning and the task.

Kept free of pandas and Dask imports so a pool worker stays small. MediaPipe's Tasks runtime runs
CPU inference on one thread on desktop platforms; the threads left to pin are FFmpeg's decoder
(:data:`formcheck_core.video.DECODE_THREADS_ENV`), OpenMP / BLAS pools and OpenCV. They must be
set before those libraries load, i.e. before the first clip, hence environment variables.

When the workers fill every core (``workers >= cores``) the parallelism is across clips, so a
worker also decodes in the thread that runs the pose model
(:data:`formcheck_core.video.DECODE_INLINE_ENV`) instead of in a background thread: one
busy thread per worker. With fewer workers than cores the decoder thread keeps using the
spare core. Both give identical frames, hence identical results.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ..video import DECODE_INLINE_ENV, DECODE_THREADS_ENV
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

#: glibc variables that switch off its adaptive mmap threshold (Dask's nanny starts every worker
#: with ``MALLOC_TRIM_THRESHOLD_=65536``).
MALLOC_ENV_VARS: tuple[str, ...] = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
#: Buffers up to this size come from the heap and are reused (glibc's own adaptive ceiling).
MMAP_THRESHOLD_BYTES = 32 << 20
#: Free memory kept at the top of the heap before it is returned to the system.
TRIM_THRESHOLD_BYTES = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def reuse_frame_buffers() -> bool:
    """Let glibc reuse frame-sized buffers when the environment turned its adaptive threshold off.

    With ``MALLOC_TRIM_THRESHOLD_`` (or ``MALLOC_MMAP_THRESHOLD_``) set, glibc stops raising its
    mmap threshold, so every buffer over 128 KiB -- each decoded, converted and resized frame --
    is a fresh ``mmap`` that the kernel zero-fills and ``munmap`` returns: measured +25 % CPU per
    clip. This sets the thresholds glibc would adapt to (buffers up to 32 MiB from the heap, up to
    64 MiB of free heap kept). Does nothing when neither variable is set (glibc adapts by itself)
    or the C library is not glibc. Returns whether it changed the settings.
    """
    if not any(os.environ.get(v) for v in MALLOC_ENV_VARS):
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def pin_threads() -> None:
    """Set up this worker process once: one intra-op thread (the thread variables if unset, and
    OpenCV's pool if loaded) and reusable frame buffers (:func:`reuse_frame_buffers`)."""
    global _pinned
    if _pinned:
        return
    for var in THREAD_ENV_VARS:
        os.environ.setdefault(var, "1")
    import sys

    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)
    reuse_frame_buffers()
    _pinned = True


def usable_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: The user's own :data:`DECODE_INLINE_ENV` setting when this module loaded (it wins).
_USER_INLINE = os.environ.get(DECODE_INLINE_ENV)


def set_inline_decode(inline: bool) -> None:
    """Decode in the pose thread (``inline``) or ahead in a background thread, for this process's
    next clips; a value the user set in :data:`DECODE_INLINE_ENV` wins."""
    if _USER_INLINE is None:
        os.environ[DECODE_INLINE_ENV] = "1" if inline else "0"


def init_pool_worker(plugins: str | None, log_path: str | None = None, inline_decode: bool = False) -> None:
    """Initializer of a local pool process: ignore Ctrl-C (the parent stops the pool), pin threads,
    decode inline when ``inline_decode`` (the pool fills every core), load the same plugins as the
    parent, and send this process's stderr (MediaPipe's native log lines, warnings) to
    ``log_path`` so they do not break the progress bar."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_inline_decode(inline_decode)
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
