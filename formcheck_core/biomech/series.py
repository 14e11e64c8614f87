"""Pure functions over sampled series: finite runs, short-gap filling and zero-phase low-pass.

All functions work along axis 0 (time) of a (T,) or (T, ...) float array, treat NaN as
"missing", never modify their input and return a new float array of the same shape.

Defaults and why:

* :data:`DEFAULT_MAX_GAP_S` = 0.3 s. A pose model loses a joint for a frame or two when a plate
  or an arm passes in front of it; a straight line over 0.3 s (3 samples at the default 10 fps)
  is well inside the motion of a pull (lift-off to lockout takes 0.5-1.5 s). Longer gaps are
  left NaN rather than invented.
* :data:`DEFAULT_CUTOFF_HZ` = 2.5 Hz, 2nd-order Butterworth run forward and backward
  (``scipy.signal.filtfilt``: zero phase, effective 4th order, -6 dB at the cut-off). The body
  motion of a deadlift lives below about 2 Hz (a pull is a half cycle of 0.5-1.5 s); landmark
  jitter of a pose model is broadband, frame to frame. At the default 10 samples/s the Nyquist
  frequency is 5 Hz, so 2.5 Hz is half of it. Zero phase matters: a causal filter would delay
  every key moment. On the labelled dev clips the lift-off / lockout timing barely changes between
  1.5 and 4 Hz, while 3-4 Hz let tracking noise of a dark, cut-edited clip through as extra reps
  (``scripts/evaluate_dev.py``). The cut-off is a parameter; one at or above Nyquist disables the
  filter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Default longest gap (seconds) bridged by linear interpolation.
DEFAULT_MAX_GAP_S = 0.3
#: Default low-pass cut-off (Hz) of the zero-phase Butterworth filter.
DEFAULT_CUTOFF_HZ = 2.5
#: Butterworth order of one pass (filtfilt doubles the effective order).
FILTER_ORDER = 2
#: Runs shorter than this many samples are left unfiltered (too short to pad and filter).
MIN_FILTER_SAMPLES = 4


def finite_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, stop)`` index ranges of consecutive True values of a (T,) bool array."""
    v = np.asarray(valid, dtype=bool).ravel()
    if v.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], v.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=False))


def shot_bounds(n: int, cut_samples: Sequence[int]) -> list[int]:
    """[0, the cuts inside (0, n) ascending, n]: the sample bounds of the shots of an ``n``-sample
    series whose ``cut_samples`` start a new shot (scene cuts, :mod:`formcheck_core.scene_cuts`)."""
    return [0, *sorted({int(c) for c in cut_samples if 0 < c < n}), n]


def sample_rate_hz(time_s: np.ndarray, default: float = float("nan")) -> float:
    """Sampling rate (samples/s) from the median step of a (T,) time axis in seconds; ``default``
    (NaN unless given) with under 2 samples or no positive step."""
    t = np.asarray(time_s, dtype=float)
    if t.size < 2:
        return default
    step = float(np.median(np.diff(t)))
    return 1.0 / step if step > 0 else default


def _columns(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    arr = np.array(x, dtype=float, copy=True)
    shape = arr.shape
    return arr.reshape(shape[0], -1) if arr.ndim > 1 else arr.reshape(-1, 1), shape


def fill_gaps(x: np.ndarray, max_gap: int, time_s: np.ndarray | None = None) -> np.ndarray:
    """Linearly interpolate interior NaN runs of at most ``max_gap`` samples, per column.

    ``x``: (T,) or (T, ...) array. ``time_s``: optional (T,) times used as the interpolation
    abscissa (uneven sampling); sample index otherwise. Leading and trailing NaN runs (no value on
    one side) and runs longer than ``max_gap`` stay NaN.
    """
    cols, shape = _columns(x)
    if cols.shape[0] == 0 or max_gap <= 0:
        return cols.reshape(shape)
    abscissa = np.arange(cols.shape[0], dtype=float) if time_s is None else np.asarray(time_s, float)
    for j in range(cols.shape[1]):
        col = cols[:, j]
        good = np.isfinite(col)
        for start, stop in finite_runs(~good):
            if start == 0 or stop == col.size or stop - start > max_gap:
                continue
            lo, hi = start - 1, stop
            frac = (abscissa[start:stop] - abscissa[lo]) / (abscissa[hi] - abscissa[lo])
            col[start:stop] = col[lo] + frac * (col[hi] - col[lo])
    return cols.reshape(shape)


def fill_gaps_s(x: np.ndarray, time_s: np.ndarray, max_gap_s: float = DEFAULT_MAX_GAP_S) -> np.ndarray:
    """:func:`fill_gaps` with the longest gap given in seconds.

    A run of ``n`` missing samples lasts ``n`` sample periods (median step of ``time_s``); it is
    filled when that is at most ``max_gap_s``.
    """
    fs = sample_rate_hz(time_s)
    if not np.isfinite(fs):
        return np.array(x, dtype=float, copy=True)
    return fill_gaps(x, int(np.floor(max_gap_s * fs + 1e-9)), time_s)


def lowpass(
    x: np.ndarray, fs_hz: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ, order: int = FILTER_ORDER
) -> np.ndarray:
    """Zero-phase Butterworth low-pass of each finite run of each column (``filtfilt``).

    ``x``: (T,) or (T, ...) array sampled at ``fs_hz``. NaN samples split a column into runs that
    are filtered separately and stay NaN. Runs shorter than :data:`MIN_FILTER_SAMPLES` are returned
    unfiltered; runs shorter than the default pad length are filtered with a shorter pad. If
    ``cutoff_hz`` is not below the Nyquist frequency the data are returned unfiltered.
    """
    # scipy.signal is imported here, not with the module: importing it costs ~0.6 CPU s, which
    # every process that only reads an Analysis (e.g. the render worker unpickling one) would pay
    from scipy.signal import butter, filtfilt

    cols, shape = _columns(x)
    nyquist = 0.5 * fs_hz
    if not (np.isfinite(fs_hz) and cutoff_hz > 0) or cutoff_hz >= 0.98 * nyquist:
        return cols.reshape(shape)
    b, a = butter(order, cutoff_hz / nyquist)
    default_pad = 3 * max(len(a), len(b))
    for j in range(cols.shape[1]):
        col = cols[:, j]
        for start, stop in finite_runs(np.isfinite(col)):
            n = stop - start
            if n < MIN_FILTER_SAMPLES:
                continue
            col[start:stop] = filtfilt(b, a, col[start:stop], padlen=min(default_pad, n - 1))
    return cols.reshape(shape)


def smooth(
    x: np.ndarray,
    time_s: np.ndarray,
    *,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> np.ndarray:
    """Fill gaps up to ``max_gap_s``, then low-pass at ``cutoff_hz`` (sampling rate from ``time_s``)."""
    filled = fill_gaps_s(x, time_s, max_gap_s)
    return lowpass(filled, sample_rate_hz(time_s), cutoff_hz)


def filter_note(
    fs_hz: float,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    order: int = FILTER_ORDER,
) -> str:
    """One sentence describing :func:`smooth` with these settings (for reports)."""
    nyq = 0.5 * fs_hz if np.isfinite(fs_hz) else float("nan")
    if np.isfinite(nyq) and cutoff_hz < 0.98 * nyq:
        filt = (
            f"zero-phase Butterworth low-pass, order {order} run forward and backward (filtfilt), "
            f"cut-off {cutoff_hz:g} Hz at {fs_hz:.3g} samples/s"
        )
    else:
        filt = f"no low-pass (cut-off {cutoff_hz:g} Hz is not below Nyquist at {fs_hz:.3g} samples/s)"
    return f"Gaps up to {max_gap_s:g} s filled by linear interpolation; {filt}."
