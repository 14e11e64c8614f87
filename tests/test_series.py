"""Gap filling and zero-phase low-pass filtering (formcheck_core.biomech.series) on synthetic signals."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck_core.biomech.series import (
    DEFAULT_CUTOFF_HZ,
    MIN_FILTER_SAMPLES,
    fill_gaps,
    fill_gaps_s,
    filter_note,
    finite_runs,
    lowpass,
    sample_rate_hz,
    smooth,
)

NAN = np.nan


def test_finite_runs():
    assert finite_runs(np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)) == [(0, 2), (3, 4), (6, 9)]
    assert finite_runs(np.zeros(4, bool)) == []
    assert finite_runs(np.array([], bool)) == []


def test_fill_gaps_interpolates_short_interior_gaps_only():
    x = np.array([NAN, 0.0, NAN, NAN, 3.0, NAN, NAN, NAN, NAN, 8.0, NAN])
    out = fill_gaps(x, max_gap=3)
    np.testing.assert_allclose(out[1:5], [0, 1, 2, 3])
    assert np.isnan(out[0]) and np.isnan(out[-1]), "edges are never extrapolated"
    assert np.isnan(out[5:9]).all(), "a 4-sample gap is longer than max_gap=3"
    assert np.isnan(x[2]), "the input is not modified"


def test_fill_gaps_uses_time_axis_for_uneven_sampling():
    t = np.array([0.0, 0.1, 0.4, 0.5])
    x = np.array([0.0, NAN, NAN, 5.0])
    np.testing.assert_allclose(fill_gaps(x, 2, t), [0.0, 1.0, 4.0, 5.0])


def test_fill_gaps_per_column_of_keypoint_arrays():
    x = np.zeros((6, 2, 2))
    x[:, 0, 0] = np.arange(6.0)
    x[2:4, 0, 0] = NAN
    x[1:5, 1, 1] = NAN  # 4 missing samples
    out = fill_gaps(x, max_gap=2)
    assert out.shape == x.shape
    np.testing.assert_allclose(out[:, 0, 0], np.arange(6.0))
    assert np.isnan(out[1:5, 1, 1]).all()


def test_fill_gaps_s_converts_seconds_at_the_sample_rate():
    t = np.arange(12) / 10.0
    x = np.arange(12.0)
    three = x.copy()
    three[2:5] = NAN
    four = x.copy()
    four[2:6] = NAN
    np.testing.assert_allclose(fill_gaps_s(three, t, 0.3), x)
    assert np.isnan(fill_gaps_s(four, t, 0.3)[2:6]).all()
    assert sample_rate_hz(t) == pytest.approx(10.0)


def _gain(freq_hz: float, fs: float = 10.0, cutoff: float = DEFAULT_CUTOFF_HZ) -> float:
    t = np.arange(0, 20, 1 / fs)
    x = np.sin(2 * np.pi * freq_hz * t)
    y = lowpass(x, fs, cutoff)
    mid = slice(len(t) // 4, 3 * len(t) // 4)
    return float(np.std(y[mid]) / np.std(x[mid]))


def test_lowpass_passes_lifting_motion_and_removes_jitter():
    assert _gain(0.5) == pytest.approx(1.0, abs=0.02), "a 0.5 Hz motion passes"
    assert _gain(4.0) < 0.15, "4 Hz jitter is removed at the default cut-off"
    assert _gain(DEFAULT_CUTOFF_HZ) == pytest.approx(0.5, abs=0.05), "-3 dB per pass: -6 dB at the cut-off"


def test_lowpass_is_zero_phase():
    t = np.arange(0, 6, 0.1)
    bump = np.exp(-((t - 3.0) ** 2) / (2 * 0.3**2))
    y = lowpass(bump, 10.0, 2.0)
    assert int(np.argmax(y)) == int(np.argmax(bump)), "the peak does not move in time"
    np.testing.assert_allclose(lowpass(np.full(30, 7.0), 10.0), 7.0)


def test_lowpass_filters_finite_runs_separately_and_keeps_nan():
    rng = np.random.default_rng(1)
    x = np.concatenate([np.full(20, 1.0), [NAN] * 5, np.full(20, 100.0)]) + rng.normal(0, 0.5, 45)
    y = lowpass(x, 10.0, 1.0)
    assert np.isnan(y[20:25]).all()
    assert abs(np.mean(y[:20]) - 1.0) < 0.5, "the first run is not pulled toward the second"
    assert abs(np.mean(y[25:]) - 100.0) < 0.5
    assert np.std(y[25:]) < np.std(x[25:])


def test_lowpass_leaves_too_short_runs_and_too_high_cutoffs_alone():
    short = np.array([1.0, 5.0, 2.0, NAN, NAN])
    assert MIN_FILTER_SAMPLES > 3
    np.testing.assert_array_equal(lowpass(short, 10.0)[:3], short[:3])
    x = np.random.default_rng(2).normal(size=30)
    np.testing.assert_array_equal(lowpass(x, 10.0, cutoff_hz=5.0), x)
    five = np.array([0.0, 4.0, 0.0, 4.0, 0.0])  # a run just long enough: filtered with a short pad
    assert np.ptp(lowpass(five, 10.0, 1.0)) < np.ptp(five)


def test_smooth_fills_then_filters_and_documents_itself():
    t = np.arange(40) / 10.0
    x = np.sin(2 * np.pi * 0.3 * t)
    x[10:12] = NAN
    y = smooth(x, t)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, np.sin(2 * np.pi * 0.3 * t), atol=0.05)
    note = filter_note(10.0)
    assert "2.5 Hz" in note and "0.3 s" in note and "Butterworth" in note
    assert "no low-pass" in filter_note(4.0)
