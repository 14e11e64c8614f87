"""Checks of user-given numbers, run before any pose work. Each failure is a one-line
:class:`~formcheck_core.errors.FormcheckError` (exit 1) saying what to give instead."""

from __future__ import annotations

import math
import os

from .errors import FormcheckError

#: Highest sampling rate accepted (frames per second); 0 / None means every frame.
MAX_FPS = 1000.0
#: Plausible lifter heights in centimetres (the tallest recorded human was 272 cm).
HEIGHT_RANGE_CM = (50.0, 275.0)
#: People the pose model may look for.
MAX_PEOPLE = 10
#: Bootstrap resamples for confidence intervals (fewer gives unstable CIs; more only costs time).
BOOTSTRAP_RANGE = (100, 100_000)
#: Local worker processes for ``formcheck batch``.
MAX_WORKERS = 1024
#: LLM context sizes in tokens (below, the prompt does not fit; above, memory runs out first).
LLM_CTX_RANGE = (256, 262_144)
#: LLM answer lengths in tokens (below, no cue fits).
LLM_MAX_TOKENS_RANGE = (16, 32_768)
#: LLM sampling temperatures.
LLM_TEMPERATURE_RANGE = (0.0, 2.0)
#: Seconds the LLM may take before the rule cues are used instead (one day at most).
MAX_LLM_TIMEOUT_S = 86_400.0


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def check_fps(fps: float | None) -> float | None:
    """``fps`` as the sampling rate to use: None (every frame) for None or 0; else finite in (0, MAX_FPS]."""
    if fps is None:
        return None
    x = _number(fps)
    if x is None or not math.isfinite(x) or x < 0 or x > MAX_FPS:
        raise FormcheckError(
            f"--fps {fps!r} is not a sampling rate: give a number of frames per second between 0 and "
            f"{MAX_FPS:g} (0 = every frame; default 10)."
        )
    return x or None


def check_whole(option: str, value: int, low: int, high: int | None, what: str) -> int:
    """``value`` if it is a whole number in [low, high] (no upper limit for None); ``what`` says
    in a few words what the option counts, for the error line."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise FormcheckError(f"{option} {value!r}: give {what}, {span}.")
    return value


def check_people(num_poses: int) -> int:
    """``num_poses`` if it is a whole number from 1 to MAX_PEOPLE."""
    return check_whole("--people", num_poses, 1, MAX_PEOPLE, "how many people to look for (default 1)")


def check_bootstrap(n_boot: int) -> int:
    """``n_boot`` if it is a whole number in BOOTSTRAP_RANGE."""
    return check_whole("--bootstrap", n_boot, *BOOTSTRAP_RANGE, "how many bootstrap resamples (default 1000)")


def check_workers(workers: int | None) -> int | None:
    """``workers`` if it is None (the usable cores) or a whole number from 1 to MAX_WORKERS."""
    if workers is None:
        return None
    return check_whole("--workers", workers, 1, MAX_WORKERS, "how many local worker processes")


def check_llm_threads(threads: int | None, option: str = "--llm-threads") -> int | None:
    """``threads`` if it is None (half the CPUs, at least 1) or a whole number from 1 to the CPUs
    of this machine (more only slows llama.cpp down: 9999 ran for minutes without an answer).
    ``option``: where the number came from, for the error line (``$FORMCHECK_LLM_THREADS`` too)."""
    if threads is None:
        return None
    return check_whole(
        option,
        threads,
        1,
        os.cpu_count() or 1,
        "how many CPU threads the LLM uses (default: half the CPUs; at most the CPUs of this machine)",
    )


def check_real(
    option: str, value: float | None, low: float, high: float, what: str, *, open_low: bool = False
) -> None:
    """Nothing if ``value`` is None or a finite number in [low, high] ((low, high] with ``open_low``)."""
    if value is None:
        return
    x = _number(value)
    if x is None or not math.isfinite(x) or x > high or x < low or (open_low and x == low):
        span = f"more than {low:g} and at most {high:g}" if open_low else f"from {low:g} to {high:g}"
        raise FormcheckError(f"{option} {value!r}: give {what}, {span}.")


#: The option names of the LLM's numbers on the command line, in :func:`check_llm_numbers`' order.
LLM_NUMBER_OPTIONS = ("--llm-ctx", "--llm-max-tokens", "--llm-temperature", "--llm-timeout")


def check_llm_numbers(
    ctx: int | None,
    max_tokens: int | None,
    temperature: float | None,
    timeout_s: float | None,
    names: tuple[str, str, str, str] = LLM_NUMBER_OPTIONS,
) -> None:
    """The LLM's context size, answer length, temperature and timeout (None: not given), each named
    in its error by ``names`` (the CLI's options by default; ``LLMConfig`` passes its field names,
    the environment its variables) with the range it takes."""
    ctx_name, tokens_name, temperature_name, timeout_name = names
    if ctx is not None:
        check_whole(ctx_name, ctx, *LLM_CTX_RANGE, "the LLM's context size in tokens (default 4096)")
    if max_tokens is not None:
        check_whole(tokens_name, max_tokens, *LLM_MAX_TOKENS_RANGE, "the answer's length limit in tokens")
    check_real(
        temperature_name, temperature, *LLM_TEMPERATURE_RANGE, "the sampling temperature (default 0.2)"
    )
    check_real(
        timeout_name,
        timeout_s,
        0.0,
        MAX_LLM_TIMEOUT_S,
        "seconds before the rule cues are used",
        open_low=True,
    )


def check_height_cm(height_cm: float | None) -> float | None:
    """``height_cm`` if it is None or a plausible human height in centimetres."""
    if height_cm is None:
        return None
    x = _number(height_cm)
    lo, hi = HEIGHT_RANGE_CM
    if x is None or not math.isfinite(x) or not lo <= x <= hi:
        raise FormcheckError(
            f"--height-cm {height_cm!r} is not a lifter's height: give centimetres between {lo:g} and {hi:g} "
            "(e.g. --height-cm 180), or leave it out."
        )
    return x


def check_scheduler(address: str | None) -> str | None:
    """``address`` if it is None or a Dask scheduler address that ``distributed`` can parse
    ("tcp://host:8786", "host:8786"); a malformed one is a one-line error, not a Dask traceback."""
    if address is None:
        return None
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError:  # without Dask the batch itself says how to install it
        return address
    try:
        scheme, location = parse_address(address)
        get_backend(scheme)  # an unknown scheme raises
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise FormcheckError(
            f"--scheduler {address!r} is not a Dask scheduler address ({exc}): give it as "
            "tcp://HOST:PORT, e.g. --scheduler tcp://127.0.0.1:8786"
        ) from None
    return address
