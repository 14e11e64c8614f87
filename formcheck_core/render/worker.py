"""A helper process for rendering: runs picture jobs (:mod:`.files`) while the caller decodes and
encodes the clip, so a report uses two cores.

Started as a plain ``python`` child running :func:`main` (not through ``multiprocessing``, so a
user's script without an ``if __name__ == "__main__"`` guard is never re-imported). Messages are
length-prefixed pickles over the child's stdin/stdout, between this package and itself only:
``(job id, job name, args)`` -> ``(job id, ok, result)``; the job ``set_analysis`` gives the
child the Analysis the other jobs read. The child imports and warms up its drawing libraries
(:func:`~.files.warm_up`) before it reads anything, so a worker started early (the CLI starts one
once the pose is known, :meth:`RenderWorker.attach` later) pays its start-up while the caller
measures. The child's own prints go to stderr. A sender thread writes jobs and a reader thread collects results,
so :meth:`RenderWorker.submit` never blocks and neither side waits on a full pipe. If the child
dies, every pending and later job fails with :class:`WorkerGone` and the caller does the work
itself.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

import cv2

from . import files
from .images import RENDER_OPENCV_THREADS

#: Jobs the worker runs, by name.
JOBS: dict[str, Callable[..., Any]] = {
    "encode_picture": files.encode_picture,
    "draw_picture": files.draw_picture,
    "draw_curve_part": files.draw_curve_part,
    "encode_curves": files.encode_curves,
}
#: Jobs that take the worker's Analysis as their first argument.
ANALYSIS_JOBS = frozenset({"draw_picture", "draw_curve_part"})


def run_job(analysis: Any, job: str, args: tuple) -> Any:
    """Run ``JOBS[job]`` (with ``analysis`` first for :data:`ANALYSIS_JOBS`), in any process."""
    if job in ANALYSIS_JOBS:
        if analysis is None:
            raise RuntimeError(f"{job} needs an Analysis: attach one first")
        return JOBS[job](analysis, *args)
    return JOBS[job](*args)


_HEADER = struct.Struct(">Q")


class WorkerGone(RuntimeError):
    """The worker process exited or could not start."""


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class RenderWorker:
    """One worker process holding an Analysis; :meth:`submit` returns a Future per job.

    ``analysis`` None starts the process without one: give it with :meth:`attach` before
    submitting jobs that read it.
    """

    def __init__(self, analysis: Any = None) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from formcheck_core.render.worker import main; sys.exit(main())",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise WorkerGone(f"could not start the render worker: {exc}") from exc
        self._lock = threading.Lock()
        self._futures: dict[int, Future] = {}
        self._next_id = 0
        self._gone = False
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, name="formcheck-render-reader", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="formcheck-render-sender", daemon=True)
        self._reader.start()
        self._sender.start()
        self.attached: Any = None
        if analysis is not None:
            self.attach(analysis)

    def attach(self, analysis: Any) -> Future:
        """Send ``analysis`` for the jobs that follow (again to replace it); jobs run in order."""
        self.attached = analysis
        return self.submit("set_analysis", analysis)

    @property
    def alive(self) -> bool:
        """False once the process has exited or a message could not be sent."""
        return not self._gone and self._proc.poll() is None

    def _send_loop(self) -> None:
        assert self._proc.stdin is not None
        try:
            while (message := self._outbox.get()) is not None:
                _send(self._proc.stdin, message)
            self._proc.stdin.close()
        except (OSError, ValueError, pickle.PicklingError):
            self._fail_all()

    def submit(self, job: str, *args: Any) -> Future:
        """Queue ``JOBS[job](analysis?, *args)`` in the worker; the Future holds its result."""
        future: Future = Future()
        with self._lock:
            if self._gone:
                future.set_exception(WorkerGone("the render worker exited"))
                return future
            job_id = self._next_id
            self._next_id += 1
            self._futures[job_id] = future
        self._outbox.put((job_id, job, args))
        return future

    def _read_loop(self) -> None:
        assert self._proc.stdout is not None
        try:
            while True:
                job_id, ok, result = _recv(self._proc.stdout)
                with self._lock:
                    future = self._futures.pop(job_id, None)
                if future is not None:
                    future.set_result(result) if ok else future.set_exception(RuntimeError(result))
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        self._fail_all()

    def _fail_all(self) -> None:
        with self._lock:
            self._gone = True
            futures, self._futures = list(self._futures.values()), {}
        for f in futures:
            if not f.done():
                f.set_exception(WorkerGone("the render worker exited"))

    def close(self, *, kill: bool = False) -> None:
        """End the worker (after the jobs sent, or at once with ``kill``) and wait for it."""
        if kill:
            self._proc.kill()
        self._outbox.put(None)
        self._sender.join(timeout=30)
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)


def main() -> int:
    """The worker's loop: warm up, then run jobs until stdin closes."""
    proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the protocol
    proto_in = sys.stdin.buffer
    cv2.setNumThreads(RENDER_OPENCV_THREADS)  # as render_all does (:func:`~.images.opencv_threads`)
    try:
        files.warm_up()
    except Exception:  # a warm-up is an optimisation only: the jobs report real trouble
        pass
    analysis: Any = None
    while True:
        try:
            job_id, job, args = _recv(proto_in)
        except EOFError:
            return 0
        try:
            if job == "set_analysis":
                analysis, result = args[0], None
            else:
                result = run_job(analysis, job, args)
            message = (job_id, True, result)
        except Exception as exc:  # reported to the caller, which redoes the job in process
            message = (job_id, False, f"{type(exc).__name__}: {exc}")
        _send(proto_out, message)


if __name__ == "__main__":
    sys.exit(main())
