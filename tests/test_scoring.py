"""formcheck_core.scoring on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck_core.scoring import (
    METRICS,
    Confusion,
    baselines,
    bootstrap_ci,
    choose_threshold,
    cohen_kappa,
    confusion,
    flag,
    loco_thresholds,
    metric_ci,
    metrics_with_ci,
)

# 4 positives, 6 negatives; the call gets 3 TP, 1 FN, 2 FP, 4 TN.
TRUTH = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
PRED = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]


def test_confusion_counts_and_rates_by_hand():
    c = confusion(TRUTH, PRED)
    assert (c.tp, c.fp, c.tn, c.fn) == (3, 2, 4, 1)
    assert c.sensitivity == pytest.approx(3 / 4)
    assert c.specificity == pytest.approx(4 / 6)
    assert c.precision == pytest.approx(3 / 5)
    assert c.f1 == pytest.approx(6 / 9)  # 2*3 / (6 + 2 + 1)
    assert c.balanced_accuracy == pytest.approx((0.75 + 4 / 6) / 2)
    assert c.accuracy == pytest.approx(0.7)
    assert [c.metric(m) for m in METRICS] == [getattr(c, m) for m in METRICS]
    with pytest.raises(ValueError, match="unknown metric"):
        c.metric("auc")


def test_undefined_rates_are_nan_and_f1_of_never_flag_is_zero():
    b = baselines(TRUTH)
    never, always = b["never_flag"], b["always_flag"]
    assert (never.tp, never.fp, never.tn, never.fn) == (0, 0, 6, 4)
    assert never.sensitivity == 0 and never.specificity == 1 and never.balanced_accuracy == 0.5
    assert math.isnan(never.precision) and never.f1 == 0
    assert (always.tp, always.fp) == (4, 6)
    assert always.balanced_accuracy == 0.5 and always.f1 == pytest.approx(8 / 14)
    empty = Confusion(0, 0, 3, 0)
    assert math.isnan(empty.sensitivity) and math.isnan(empty.f1) and math.isnan(empty.balanced_accuracy)


def test_confusion_rejects_mismatched_input():
    with pytest.raises(ValueError, match="length"):
        confusion([1, 0], [1])
    with pytest.raises(ValueError, match="one-dimensional"):
        confusion([[1, 0]], [[1, 0]])


def test_cohen_kappa_by_hand():
    # 10 items: a says yes 5 times, b says yes 4 times, they agree on 7.
    a = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    p_o, p_e = 0.7, 0.5 * 0.3 + 0.5 * 0.7
    assert cohen_kappa(a, b) == pytest.approx((p_o - p_e) / (1 - p_e))
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))  # no variation: undefined
    assert math.isnan(cohen_kappa([], []))


def test_bootstrap_is_seeded_contains_estimate_and_resamples_clips():
    rng = np.random.default_rng(1)
    t = rng.random(60) < 0.4
    p = t ^ (rng.random(60) < 0.2)
    clips = np.repeat(np.arange(20), 3)
    a = metric_ci(t, p, "balanced_accuracy", groups=clips, n_boot=500, seed=3)
    b = metric_ci(t, p, "balanced_accuracy", groups=clips, n_boot=500, seed=3)
    assert a == b
    assert a.low <= a.estimate <= a.high and a.low < a.high
    assert a.estimate == pytest.approx(confusion(t, p).balanced_accuracy)
    # A clip is drawn as a whole: clip 7 (rows 0-2) and clip 8 (row 3), two draws per replicate,
    # give 8+8, 7+8 or 7+7 (2, 4 or 6 rows, each clip's rows together); rows drawn one by one
    # would give 4 rows every time.
    drawn: list[list[int]] = []
    bootstrap_ci(
        lambda x: drawn.append(sorted(x.tolist())) or 0.0, np.arange(4), groups=[7, 7, 7, 8], n_boot=40
    )
    assert {len(x) for x in drawn} == {2, 4, 6}
    assert all(x in ([3, 3], [0, 1, 2, 3], [0, 0, 1, 1, 2, 2]) for x in drawn), drawn
    # A constant statistic has a zero-width interval.
    const = bootstrap_ci(lambda x: 1.0, np.arange(5), n_boot=50)
    assert (const.low, const.high) == (1.0, 1.0)
    assert str(const) == "1.00 [1.00, 1.00]"


def test_bootstrap_undefined_statistic_gives_nan_interval():
    # No positives at all: sensitivity is undefined in every resample.
    iv = metric_ci([0, 0, 0, 0], [0, 1, 0, 0], "sensitivity", n_boot=100)
    assert math.isnan(iv.estimate) and math.isnan(iv.low) and iv.n_valid == 0
    assert str(iv) == "n/a"
    out = metrics_with_ci(TRUTH, PRED, n_boot=100)
    assert list(out) == ["sensitivity", "specificity", "f1", "balanced_accuracy"]
    assert out["f1"].estimate == pytest.approx(6 / 9)


def test_flag_directions_and_nan():
    v = [0.1, 0.5, math.nan, 0.9]
    assert flag(v, 0.5).tolist() == [False, False, False, True]
    assert flag(v, 0.5, "below").tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match="direction"):
        flag(v, 0.5, "sideways")  # type: ignore[arg-type]


def test_choose_threshold_separable_picks_the_gap_between_classes():
    values = [0.01, 0.02, 0.03, 0.08, 0.09]
    truth = [0, 0, 0, 1, 1]
    th = choose_threshold(values, truth)
    assert th == pytest.approx(0.055)
    th_below = choose_threshold([-v for v in values], truth, direction="below")
    assert th_below == pytest.approx(-0.055)


def test_choose_threshold_tie_breaks_toward_fewer_false_positives():
    # Catching the positive at 0.05 costs a false positive at 0.06, and both calls tie.
    values = [0.01, 0.05, 0.06, 0.10]
    truth = [0, 1, 0, 1]
    # threshold 0.08: TP 1/2, FP 0/2 -> 0.75; threshold 0.03: TP 2/2, FP 1/2 -> 0.75.
    th = choose_threshold(values, truth)
    assert 0.06 < th < 0.10
    assert confusion(truth, flag(values, th)).fp == 0


def test_choose_threshold_without_positives_never_flags():
    th = choose_threshold([0.1, 0.2, 0.3], [0, 0, 0])
    assert not flag([0.1, 0.2, 0.3], th).any()
    assert choose_threshold([math.nan], [1]) == math.inf


def test_loco_holds_out_each_clip():
    # Clip "c" is a positive with a low value: the other clips put the threshold above it,
    # so held out it is missed; in-sample the threshold moves below it.
    values = [0.01, 0.02, 0.04, 0.08, 0.09]
    truth = [0, 0, 1, 1, 1]
    clips = ["a", "b", "c", "d", "e"]
    res = loco_thresholds(values, truth, clips)
    assert set(res.thresholds) == set(clips)
    assert res.thresholds["c"] == pytest.approx((0.02 + 0.08) / 2)
    assert res.predictions.tolist() == [False, False, False, True, True]
    assert res.in_sample_threshold == pytest.approx(0.03)
    c = res.confusion(truth)
    assert (c.tp, c.fn, c.fp) == (2, 1, 0)


def test_loco_groups_keep_reps_of_a_clip_together():
    # Two reps per clip; holding out clip "x" removes both of its rows from the choice.
    values = [0.9, 0.8, 0.1, 0.2, 0.85, 0.15]
    truth = [1, 1, 0, 0, 1, 0]
    clips = ["x", "x", "y", "y", "z", "w"]
    res = loco_thresholds(values, truth, clips)
    assert list(res.thresholds) == ["x", "y", "z", "w"]
    assert res.predictions.tolist() == [True, True, False, False, True, False]
    with pytest.raises(ValueError, match="groups"):
        loco_thresholds(values, truth, clips[:-1])
