"""Run the per-clip function over many clips: a local process pool (default) or a Dask cluster.

The driver (this process) finds the clips, skips those already finished in ``out`` (same content
hash and options), hands the rest to the executor, writes each clip's result as soon as it
arrives and finally assembles the tables. Ctrl-C stops the workers; every finished clip is
already on disk and the tables are written from them before the interrupt is re-raised.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import FormcheckError
from ..video import file_sha256
from . import store
from .discover import ClipSource, find_clips
from .notes import NoteTally
from .options import ClipOptions
from .rows import ClipRows, error_rows
from .tables import Dataset, foreign_tables

_SPAWN = multiprocessing.get_context("spawn")  # never fork a process that may have loaded MediaPipe


class WorkerCrashError(FormcheckError):
    """The worker process died (a native crash or out of memory) while analysing the clip."""

    exit_code = 70


@dataclass(frozen=True)
class _Task:
    source: ClipSource
    sha256: str | None
    key: str | None
    report_dir: str | None


def _sha(path: str) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _pool_size(workers: int | None) -> int:
    from ..validate import check_workers
    from .worker import usable_cores

    workers = check_workers(workers)
    return usable_cores() if workers is None else workers


#: Local workers' stderr (native log lines) goes to this file in the output folder.
WORKER_LOG = "workers.log"


def _run_local(
    tasks: Sequence[_Task],
    options: ClipOptions,
    workers: int,
    deliver: Callable[[_Task, ClipRows], None],
    log_path: Path | None = None,
) -> None:
    """Run ``tasks`` in a pool of ``workers`` spawned processes; ``deliver`` each result as it finishes.

    A worker that dies takes the pool with it: the clips that were running are retried one at a
    time in a fresh pool, and a clip that kills its worker again gets a :class:`WorkerCrashError` row.
    """
    from .worker import init_pool_worker, run_clip, usable_cores

    size = min(workers, max(len(tasks), 1))

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            size,
            mp_context=_SPAWN,
            initializer=init_pool_worker,
            initargs=(options.plugins, str(log_path) if log_path else None, size >= usable_cores()),
        )

    pending: deque[_Task] = deque(tasks)
    suspects: deque[_Task] = deque()
    running: dict[Any, tuple[_Task, bool]] = {}  # future -> (task, running alone)
    others = set(multiprocessing.active_children())  # processes that are not ours to stop
    pool = new_pool()
    try:
        while pending or suspects or running:
            if suspects and not running:
                task = suspects.popleft()
                running[
                    pool.submit(run_clip, task.source.path, options, task.source.clip, task.report_dir)
                ] = (task, True)
            while not suspects and pending and len(running) < workers:
                task = pending.popleft()
                running[
                    pool.submit(run_clip, task.source.path, options, task.source.clip, task.report_dir)
                ] = (task, False)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task, alone = running.pop(fut)
                try:
                    rows = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        crash = WorkerCrashError(
                            f"{task.source.path}: the worker process died while analysing "
                            "this clip (a crash in native code or out of memory)."
                        )
                        deliver(task, error_rows(crash, clip=task.source.clip, path=task.source.path))
                    else:
                        suspects.append(task)
                else:
                    deliver(task, rows)
            if broken:
                for fut, (task, _alone) in running.items():  # they die with the pool: retry them alone
                    fut.cancel()
                    suspects.append(task)
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    except BaseException:
        for child in set(multiprocessing.active_children()) - others:  # the pool's workers: stop them now
            child.terminate()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _run_dask(
    tasks: Sequence[_Task], options: ClipOptions, client: Any, deliver: Callable[[_Task, ClipRows], None]
) -> None:
    """Submit one task per clip to a ``dask.distributed`` client; deliver results as they complete."""
    from distributed import as_completed

    from .worker import run_clip

    _set_dask_decoding(client)
    futures = {
        client.submit(run_clip, t.source.path, options, t.source.clip, t.report_dir, pure=False): t
        for t in tasks
    }
    try:
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                rows = fut.result()
            except Exception as exc:  # e.g. KilledWorker: the clip crashed every worker that tried it
                crash = WorkerCrashError(
                    f"{task.source.path}: the Dask task failed: {type(exc).__name__}: {exc}"
                )
                rows = error_rows(crash, clip=task.source.clip, path=task.source.path)
            deliver(task, rows)
    except BaseException:
        client.cancel(list(futures))
        raise


def _set_dask_decoding(client: Any) -> None:
    """Tell each Dask worker whether to decode inline: yes where the workers of its machine have
    at least as many threads as the machine has cores (parallelism across clips), else decode in
    a background thread. A worker that joins later keeps the default (background thread)."""
    from .worker import set_inline_decode, usable_cores

    try:
        workers = client.scheduler_info().get("workers", {})
        cores = client.run(usable_cores) if workers else {}
    except Exception:  # e.g. a worker without formcheck: its tasks will say so, one row each
        return
    threads: dict[str, int] = {}
    for info in workers.values():
        threads[info["host"]] = threads.get(info["host"], 0) + int(info.get("nthreads", 1))
    crowded = [a for a, info in workers.items() if threads[info["host"]] >= cores.get(a, 1)]
    spare = [a for a in workers if a not in crowded]
    for inline, addresses in ((True, crowded), (False, spare)):
        if addresses:
            client.run(set_inline_decode, inline, workers=addresses)


def connect(scheduler: str) -> Any:
    """A ``dask.distributed`` client connected to the scheduler at ``scheduler`` (e.g. tcp://host:8786)."""
    try:
        from distributed import Client
    except ImportError:
        raise FormcheckError("--scheduler needs Dask: pip install 'formcheck[batch]'.") from None
    try:
        return Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise FormcheckError(
            f"could not connect to the Dask scheduler at {scheduler}: {exc}. "
            "Start one with `dask scheduler` (see docs/batch.md)."
        ) from None


def run_batch(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    options: ClipOptions | None = None,
    workers: int | None = None,
    client: Any = None,
    scheduler: str | None = None,
    report: bool = False,
    rerun: bool = False,
    progress: bool = True,
    notes: Callable[[str], None] | None = None,
    labels: str | Path | Mapping[str, Mapping] | None = None,
) -> Dataset:
    """Analyse every clip under ``paths`` into ``out`` and return the tables (also written there).

    ``paths``: files, folders (searched recursively for video extensions) or glob patterns.
    ``workers``: local processes (default: the usable cores). ``client`` (a
    ``dask.distributed.Client``) or ``scheduler`` (its address) runs the clips on that cluster
    instead. ``report``: also render each clip's HTML report into ``out/clips/<clip>/``.
    ``rerun``: analyse clips even if ``out`` holds a finished result for the same content and
    options. ``notes``: called with one-line messages (skipped clips, paths matching nothing, and
    why a clip was posed again though its pose was cached: each kind once, then a count;
    :mod:`.notes`).
    ``labels``: a ``labels_dev.json``-style file (or its content keyed by clip stem) to join:
    adds the ``labels`` and ``rule_scores`` tables (see :mod:`.labels`).
    Writes ``out/clips/<clip>/{analysis.json,rows.json}`` per clip as it finishes, then
    ``out/{clips,reps,findings}.{parquet,csv}``; local workers' native log lines go to
    ``out/workers.log``. Raises FormcheckError for bad options, and for an ``out`` holding table
    files no batch wrote, before any clip runs; clip failures become rows. On KeyboardInterrupt
    the tables of the finished clips are written, then the interrupt propagates.
    """
    options = options or ClipOptions()
    say = notes or (lambda _msg: None)
    if options.plugins is not None:
        os.environ["FORMCHECK_LOAD_PLUGINS"] = options.plugins
    sources, unmatched = find_clips(paths)
    if not sources:  # said once, in the error
        raise FormcheckError("no clips to analyse: " + ("; ".join(unmatched) or "no paths given"))
    for msg in unmatched:
        say(msg)
    size = _pool_size(workers)
    if labels is not None and not isinstance(labels, Mapping):
        from ..compare import load_labels

        labels = load_labels(labels)  # an unreadable file fails now, not after the batch
    fingerprint = options.fingerprint()  # also validates thresholds and plugins up front
    if client is None and scheduler is None:
        from ..models.pose_model import resolve_pose_model

        resolve_pose_model(options.pose_model)  # a missing model fails once, not once per clip
    out = Path(out)
    if out.is_file():
        raise FormcheckError(f"--out {out} is a file, not a folder: choose a folder for the tables.")
    theirs = foreign_tables(out) if out.is_dir() else []
    if theirs:
        raise FormcheckError(
            f"--out {out} already holds {', '.join(theirs)} that no formcheck batch wrote, and the "
            "tables would overwrite them. Choose a new or empty folder (e.g. --out formcheck-batch)."
        )
    out.mkdir(parents=True, exist_ok=True)

    results: dict[str, ClipRows] = {}
    tasks: list[_Task] = []
    for src in sources:
        sha = _sha(src.path)
        key = store.result_key(sha, fingerprint)
        done = None if rerun else store.finished(out, src.clip, key, report=report)
        if done is not None:
            results[src.clip] = done
        else:
            report_dir = str(store.clip_dir(out, src.clip).absolute()) if report else None
            tasks.append(_Task(src, sha, key, report_dir))
    skipped = len(results)
    if skipped:
        say(f"{skipped} of {len(sources)} clips already analysed with these options in {out}: skipped")

    bar = _progress(len(tasks), progress)
    failed = 0

    def say_above_bar(msg: str) -> None:
        if bar is None:
            say(msg)
        else:
            with bar.external_write_mode():  # the bar is cleared, then redrawn below the line
                say(msg)

    tally = NoteTally(say_above_bar)  # why a clip was posed again: each kind said once

    def deliver(task: _Task, rows: ClipRows) -> None:
        nonlocal failed
        for note in rows.notes:
            tally.add(note)
        if rows.clip.get("sha256") is None and task.sha256 is not None:
            rows = replace(rows, clip={**rows.clip, "sha256": task.sha256})
        store.save(out, rows, key=task.key, report=report)
        results[task.source.clip] = rows
        failed += rows.status == "error"
        if bar is not None:
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)

    own_client = None
    try:
        if tasks and (client is not None or scheduler is not None):
            if client is None:
                assert scheduler is not None
                client = own_client = connect(scheduler)
            _run_dask(tasks, options, client, deliver)
        elif tasks:
            _run_local(tasks, options, size, deliver, out / WORKER_LOG)
    finally:
        if bar is not None:
            bar.close()
        tally.close()
        if own_client is not None:
            own_client.close()
        dataset = Dataset.from_rows((results[s.clip] for s in sources if s.clip in results), skipped=skipped)
        if labels is not None:
            dataset = dataset.with_labels(labels)
        dataset.to_parquet(out)
        dataset.to_csv(out)
    return dataset


def _progress(total: int, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="clip", desc="clips", dynamic_ncols=True)


def analyze_many(
    paths: Iterable[str | Path],
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    client: Any = None,
    progress: bool = True,
    **options: Any,
) -> Dataset:
    """:func:`run_batch` with the options of :func:`formcheck_core.analyze` as keywords (``fps``,
    ``thresholds``, ...; see :class:`ClipOptions`). Without ``out`` the per-clip files go to a
    temporary folder that is removed afterwards (nothing to resume from)."""
    opts = ClipOptions(**options)
    if out is not None:
        return run_batch(paths, out, options=opts, workers=workers, client=client, progress=progress)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="formcheck-batch-") as tmp:
        return run_batch(paths, tmp, options=opts, workers=workers, client=client, progress=progress)
