"""Run code we do not trust so that nothing it does can hang, kill or silently end the caller.

Two ways to call a function, chosen by :func:`call` per function:

* **trusted** (the built-in rules in ``formcheck_rules`` and formcheck's own code): in-process, in a
  daemon thread joined with the time budget — cheap, but a call that holds the GIL cannot be
  stopped this way;
* **isolated** (everything else: installed plugins, rules registered at run time): in a child
  process forked for the call (so nothing is pickled on the way in: the child sees the caller's
  memory), with a hard deadline counted from when the child starts the call (its start-up on a
  loaded machine is not the plugin's time). The result comes back pickled through a pipe. A
  child that overruns its budget is killed (SIGKILL), one that dies (a native abort, ``os._exit``) is
  reported with the signal or exit status, and ``SystemExit`` / ``KeyboardInterrupt`` raised by
  the plugin are reported as errors instead of ending the analysis. Changes the isolated code
  makes to Python state do not reach the caller.

``$FORMCHECK_PLUGIN_ISOLATION``: ``process`` (default) or ``thread`` (every plugin in-process,
as trusted: faster, but a GIL-holding plugin can hang the analysis). Platforms without
``os.fork`` use threads.

:func:`run_in_child` is the general form (streamed events, used for LLM generation, where a
llama.cpp abort must cost only the LLM's cues).
"""

from __future__ import annotations

import faulthandler
import gc
import os
import pickle
import select
import signal
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from .errors import PluginError, RuleConfigError

ISOLATION_ENV = "FORMCHECK_PLUGIN_ISOLATION"
#: Seconds one rule/plugin call may take before it is reported as too slow and skipped
#: (``$FORMCHECK_RULE_TIMEOUT_S``; 0 runs plugins inline with no time limit, for debugging).
DEFAULT_TIMEOUT_S = 2.0
#: Seconds an isolated child may take to start a call (fork, scheduling on a loaded machine)
#: before its time budget starts; a child that never starts is killed after this.
START_ALLOWANCE_S = 10.0
#: Modules whose code is trusted to run in-process.
TRUSTED_PREFIXES = ("formcheck_rules.", "formcheck_core.")
_HEADER = struct.Struct("!Q")


class PluginTimeout(Exception):
    """The call overran its time budget (an isolated child was killed)."""


class PluginAbort(Exception):
    """The call ended the program's way instead of returning: ``SystemExit``, ``KeyboardInterrupt``
    or another ``BaseException`` raised, a crash, or a child process that died."""


class IsolatedError(Exception):
    """An exception raised in a child that could not be sent back as itself (described instead)."""


def rule_timeout_s() -> float:
    """Per-call time budget of a rule: ``$FORMCHECK_RULE_TIMEOUT_S`` or :data:`DEFAULT_TIMEOUT_S`."""
    raw = os.environ.get("FORMCHECK_RULE_TIMEOUT_S")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise RuleConfigError(f"FORMCHECK_RULE_TIMEOUT_S={raw!r} is not a number of seconds") from None


def isolation_mode() -> str:
    """``"process"`` or ``"thread"`` (see the module docstring)."""
    mode = os.environ.get(ISOLATION_ENV, "process").strip().lower() or "process"
    if mode not in ("process", "thread"):
        raise PluginError(f"{ISOLATION_ENV}={mode!r}: use 'process' (default) or 'thread'.")
    return mode if hasattr(os, "fork") else "thread"


def is_trusted(fn: Callable[..., Any]) -> bool:
    """True for functions defined in formcheck's own packages."""
    module = getattr(fn, "__module__", None) or ""
    return module.startswith(TRUSTED_PREFIXES) or module in ("formcheck_rules", "formcheck_core")


def _abort_of(exc: BaseException) -> PluginAbort:
    return PluginAbort(f"raised {type(exc).__name__}({', '.join(map(repr, exc.args))}) instead of returning")


def call(fn: Callable[..., Any], args: tuple, timeout_s: float | None, name: str) -> Any:
    """``fn(*args)`` with a time budget of ``timeout_s`` seconds (None or <= 0: no budget).

    Trusted functions run in this process; others in a forked child (see the module docstring).
    Without a budget everything runs inline (for debugging).
    Raises what ``fn`` raised (an ``Exception``), :class:`PluginTimeout`, or :class:`PluginAbort`;
    never a bare ``BaseException`` from the plugin.
    """
    if not timeout_s or timeout_s <= 0 or is_trusted(fn) or isolation_mode() == "thread":
        return _call_in_thread(fn, args, timeout_s, name)
    return run_in_child(lambda _send: fn(*args), timeout_s=timeout_s, name=name)


def _call_in_thread(fn: Callable[..., Any], args: tuple, timeout_s: float | None, name: str) -> Any:
    if not timeout_s or timeout_s <= 0:
        try:
            return fn(*args)
        except Exception:
            raise
        except BaseException as exc:
            raise _abort_of(exc) from None
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"formcheck-{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise PluginTimeout(f"took longer than {timeout_s:g} s (time budget); skipped")
    if "error" in box:
        error: BaseException = box["error"]
        if isinstance(error, Exception):
            raise error
        raise _abort_of(error) from None
    return box.get("result")


# --- the child process ----------------------------------------------------------------------------


def _write_frame(fd: int, payload: bytes) -> None:
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _child(fd: int, fn: Callable[[Callable[[Any], None]], Any], stderr_fd: int | None) -> None:
    """Body of the forked child: run ``fn``, send events and the outcome, never return."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        faulthandler.disable()  # a crash here is the parent's to report, in one line
        if stderr_fd is not None:  # native crash text goes to a file the parent summarises
            os.dup2(stderr_fd, 2)
            os.environ["GGML_NO_BACKTRACE"] = "1"  # ggml would otherwise attach gdb on abort

        def send(event: Any) -> None:
            _write_frame(fd, pickle.dumps(("event", event)))

        outcome: tuple[Any, ...]
        _write_frame(fd, pickle.dumps(("started",)))  # the time budget counts from here
        try:
            outcome = ("result", fn(send))
        except Exception as exc:
            outcome = ("error", exc, f"{type(exc).__name__}: {exc}")
        except BaseException as exc:
            outcome = ("abort", None, str(_abort_of(exc)))
        try:
            payload = pickle.dumps(outcome)
            pickle.loads(payload)  # exceptions with odd constructors pickle but do not load
        except Exception as exc:
            if outcome[0] == "result":
                payload = pickle.dumps(
                    ("error", None, f"returned an object that cannot be passed back ({exc})")
                )
            else:
                payload = pickle.dumps(("error", None, str(outcome[-1])))
        _write_frame(fd, payload)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _last_line(f) -> str:
    """The last non-blank line of a captured stderr file (closed here), at most 200 characters."""
    if f is None:
        return ""
    try:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""
    finally:
        f.close()


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            label = signal.Signals(sig).name
        except ValueError:
            label = f"signal {sig}"
        return f"the process died ({label})"
    return f"the process exited with code {os.WEXITSTATUS(status)} without an answer"


def run_in_child(
    fn: Callable[[Callable[[Any], None]], Any],
    *,
    timeout_s: float | None = None,
    name: str = "plugin",
    on_event: Callable[[Any], None] | None = None,
    capture_stderr: bool = False,
) -> Any:
    """``fn(send)`` in a forked child; returns its (pickled) result.

    ``capture_stderr``: the child's file descriptor 2 goes to a temporary file instead of the
    terminal; if the child dies, the last line written there joins the error message.

    ``send(obj)`` passes a picklable ``obj`` to ``on_event`` in this process while ``fn`` runs
    (e.g. streamed cues). ``timeout_s``: hard deadline (the child is killed). Raises the child's
    exception (or :class:`IsolatedError` describing it), :class:`PluginTimeout`, or
    :class:`PluginAbort` when the child died or raised ``SystemExit`` & co.
    """
    for stream in (sys.stdout, sys.stderr):  # no buffered text may be written twice
        try:
            stream.flush()
        except Exception:
            pass
    read_fd, write_fd = os.pipe()
    err_file = tempfile.TemporaryFile() if capture_stderr else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child only runs fn
        # the child must never run the garbage collector over the caller's objects: finalising
        # one whose native threads exist only here (an FFmpeg frame's scaler) deadlocked it
        gc.freeze()
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:  # this process (or the fork failed)
                gc.unfreeze()
    if pid == 0:  # pragma: no cover - the child (measured through the parent)
        os.close(read_fd)
        _child(write_fd, fn, err_file.fileno() if err_file is not None else None)
    os.close(write_fd)
    budget = timeout_s if timeout_s and timeout_s > 0 else None
    # Until the child says it has started the call, it gets START_ALLOWANCE_S (its start-up on a
    # loaded machine is not the plugin's time); from then on ``timeout_s``.
    deadline = None if budget is None else time.monotonic() + max(budget, START_ALLOWANCE_S)
    outcome = None
    buf = bytearray()
    killed = False
    try:
        while True:
            now = time.monotonic()
            overdue = deadline is not None and now >= deadline
            if overdue and outcome is not None:
                os.kill(pid, signal.SIGKILL)  # it answered in time; only its exit is late
                break
            wait = None if deadline is None else (0.0 if overdue else deadline - now)
            ready, _, _ = select.select([read_fd], [], [], wait)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                buf += chunk
            while len(buf) >= _HEADER.size:
                (n,) = _HEADER.unpack_from(buf)
                if len(buf) < _HEADER.size + n:
                    break
                message = pickle.loads(bytes(buf[_HEADER.size : _HEADER.size + n]))
                del buf[: _HEADER.size + n]
                if message[0] == "started":
                    deadline = None if budget is None else time.monotonic() + budget
                elif message[0] == "event":
                    if on_event is not None:
                        on_event(message[1])
                else:
                    outcome = message
            # Killed only past the deadline with no answer in the pipe: an answer written in
            # time is read even when this process was too busy (or descheduled) to see it then.
            if overdue and outcome is None:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if killed:
        raise PluginTimeout(f"took longer than {timeout_s:g} s (time budget); stopped")
    last_line = _last_line(err_file)
    if outcome is None:
        raise PluginAbort(_describe_status(status) + (f": {last_line}" if last_line else ""))
    kind = outcome[0]
    if kind == "result":
        return outcome[1]
    if kind == "abort":
        raise PluginAbort(outcome[2])
    exc, described = outcome[1], outcome[2]
    if isinstance(exc, Exception):
        raise exc
    raise IsolatedError(described)
