"""Render jobs that either the caller or its worker process runs, whichever is free first.

:class:`SharedJobs` keeps a queue of jobs (:data:`~.worker.JOBS`: stills and bar paths to draw on
their frames and write, parts of the curves to draw, then (a follow-up job, :attr:`Job.then`) to
write as PNGs). At most :data:`IN_FLIGHT` are
with the worker at a time; the rest wait here. The worker takes the next as it finishes one; the
caller takes what still waits when its own work (the frame pass) is done, newest first (curve jobs
only when several wait, :data:`CALLER_MIN_CURVE_JOBS`), or at once when more than
:data:`MAX_WAITING_BYTES` of frames and pictures wait. So neither process idles while the other
has a real backlog: the worker draws the curves, then the stills whose frames the pass handed
over meanwhile and the PNGs of its curves; the caller takes what still waits once its clip is
encoded (newest first: the PNGs of a long set's last curves) and, while three or more curve parts
wait, draws the newest itself. A job the worker could not run (it died, or the
job failed there) comes back and runs here only: it is never handed to the worker again. Results (written files' page versions, small) reach
the caller's ``on_result`` in its own thread only, once its pass is done.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

from .worker import RenderWorker, WorkerGone, run_job

#: Jobs handed to the worker at a time (the others wait where either process can take them).
IN_FLIGHT = 2
#: Bytes of job arguments (frames handed over, pictures) that may wait before the caller runs them itself.
MAX_WAITING_BYTES = 192 * 2**20
#: Jobs that draw with matplotlib. A caller that has not loaded it pays its start-up for the first
#: one (imports, fonts, the rep figure: about 0.6 CPU s, two curve parts' worth), so it takes such
#: a job only while at least :data:`CALLER_MIN_CURVE_JOBS` wait for a live worker.
CURVE_JOBS = frozenset({"draw_curve_part"})
CALLER_MIN_CURVE_JOBS = 3


def caller_draws_curves() -> bool:
    """Whether this process has matplotlib's figures loaded (its start-up paid)."""
    return "matplotlib.figure" in sys.modules


@dataclass(frozen=True)
class Job:
    """One job: its name in :data:`~.worker.JOBS`, its arguments and their size in bytes."""

    name: str
    args: tuple
    nbytes: int = 0
    #: A job to queue with this one's result as its argument (instead of delivering the result),
    #: e.g. the PNG files of drawn curves: either process may take it.
    then: str | None = None


def _pixel_bytes(result: Any) -> int:
    """Bytes of pixels a job's result holds (drawn curves, :class:`~.files.DrawnCurves`), 0 for others."""
    pixels = getattr(result, "pixels", None)
    return sum(a.nbytes for a in pixels.values()) if isinstance(pixels, dict) else 0


class SharedJobs:
    """The queue shared by the caller and ``pool`` (None: every job runs here when put)."""

    def __init__(
        self, pool: RenderWorker | None, analysis: Any, on_result: Callable[[str, Any], None]
    ) -> None:
        self.pool = pool
        self.analysis = analysis
        self.on_result = on_result
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        #: Jobs the worker failed (or was gone for): only this process runs them (:meth:`_take`).
        self._here_only: deque[Job] = deque()
        self._waiting_bytes = 0
        self._in_flight = 0
        self._done_there: list[tuple[str, Any]] = []
        self._abandoned = False
        #: Jobs run by this process and by the worker (counts, for the benchmark).
        self.ran = {"here": 0, "worker": 0}

    def put(self, name: str, *args: Any, nbytes: int = 0, then: str | None = None) -> None:
        """Queue a job (or run it now when there is no worker or too many bytes wait); ``then``:
        the job its result is queued for (see :attr:`Job.then`)."""
        job = Job(name, args, nbytes, then)
        if self.pool is None:
            self._run_here(job)
            return
        with self._cond:
            self._waiting.append(job)
            self._waiting_bytes += nbytes
        self._pump()
        while self._waiting_bytes > MAX_WAITING_BYTES and (over := self._take()) is not None:
            self._run_here(over)

    def _run_here(self, job: Job) -> None:
        self.ran["here"] += 1
        result = run_job(self.analysis, job.name, job.args)
        if job.then is not None:
            self.put(job.then, result, nbytes=_pixel_bytes(result))
        else:
            self.on_result(job.name, result)

    def _take(self) -> Job | None:
        """The newest waiting job this process should run: the worker takes from the front (the
        curves, queued first, for which it has matplotlib loaded), the caller from the back
        (pictures). Curve jobs only when the worker is gone, when this process draws curves
        already, or when :data:`CALLER_MIN_CURVE_JOBS` wait (see there). A job the worker failed
        comes first (only this process runs it)."""
        with self._cond:
            if self._here_only:
                failed = self._here_only.popleft()
                self._waiting_bytes -= failed.nbytes
                return failed
            if not self._waiting:
                return None
            job: Job | None = self._waiting[-1]
            if job is not None and job.name in CURVE_JOBS and not self._caller_takes_curves():
                job = next((j for j in reversed(self._waiting) if j.name not in CURVE_JOBS), None)
            if job is None:
                return None
            self._waiting.remove(job)
            self._waiting_bytes -= job.nbytes
            return job

    def _caller_takes_curves(self) -> bool:
        """(With the lock held.) Whether the caller should draw a waiting curve job now: also when
        nothing is with the worker (it is gone, or takes nothing: :data:`IN_FLIGHT` 0)."""
        if self.pool is None or not self.pool.alive or self._in_flight == 0 or caller_draws_curves():
            return True
        return sum(j.name in CURVE_JOBS for j in self._waiting) >= CALLER_MIN_CURVE_JOBS

    def _pump(self) -> None:
        """Hand waiting jobs to the worker up to IN_FLIGHT (from any thread)."""
        assert self.pool is not None
        while self.pool.alive:
            with self._cond:
                if self._abandoned or self._in_flight >= IN_FLIGHT or not self._waiting:
                    return
                job = self._waiting.popleft()
                self._waiting_bytes -= job.nbytes
                self._in_flight += 1
            self.pool.submit(job.name, *job.args).add_done_callback(partial(self._done, job=job))

    def _done(self, future: Future, job: Job) -> None:
        """A worker job ended (reader thread): keep its result, or put the job back to run here."""
        with self._cond:
            self._in_flight -= 1
            try:
                result = future.result()
                if job.then is not None:  # its follow-up waits for whichever process is free
                    self.ran["worker"] += 1
                    self._waiting.append(Job(job.then, (result,), _pixel_bytes(result)))
                    self._waiting_bytes += self._waiting[-1].nbytes
                else:
                    self._done_there.append((job.name, result))
            except (WorkerGone, RuntimeError):  # never resent: it would fail there again
                self._here_only.append(job)
                self._waiting_bytes += job.nbytes
            self._cond.notify_all()
        if self.pool is not None and self.pool.alive:
            self._pump()

    def finish(self) -> None:
        """Run here what still waits, wait for the worker's jobs, and deliver each result as it
        comes (``on_result`` may have work to do: it runs while the worker draws the next)."""
        if self.pool is not None:
            while True:
                self._deliver()
                if (left := self._take()) is not None:
                    self._run_here(left)
                    continue
                with self._cond:
                    if self._in_flight == 0 and not self._waiting and not self._here_only:
                        break
                    if self._in_flight == 0:
                        continue  # nothing to wait for: what waits runs here (_take)
                    if not self._done_there:
                        self._cond.wait(timeout=0.5)
        self._deliver()

    def abandon(self) -> None:
        """Give up (the caller's render failed): drop what waits, hand the worker nothing more,
        and wait for the jobs it has, so none writes a file (or recreates its folder) after this
        returns. For a worker the caller keeps (the CLI's), which is not killed."""
        with self._cond:
            self._abandoned = True
            self._waiting.clear()
            self._here_only.clear()
            self._waiting_bytes = 0
            while self._in_flight > 0 and self.pool is not None and self.pool.alive:
                self._cond.wait(timeout=0.5)

    def _deliver(self) -> None:
        """Hand the worker's results so far to ``on_result`` (in this, the caller's thread)."""
        with self._cond:
            done, self._done_there = self._done_there, []
        for name, result in done:
            self.ran["worker"] += 1
            self.on_result(name, result)
