"""Per-rep back metrics from the per-sample back profile: which samples, and how they are reduced."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from rule_fixtures import make_rep

from formcheck_core.biomech.back_profile import FRACTIONS
from formcheck_core.biomech.back_series import (
    MIN_SAMPLE_CONFIDENCE,
    RELIABLE_MASK_CONFIDENCE,
    BackSeries,
    measured_samples,
    pull_samples,
    rep_back_metrics,
)


def series(samples, flexion, confidence=0.8) -> BackSeries:
    n = len(samples)
    conf = np.broadcast_to(np.asarray(confidence, float), (n,)).copy()
    return BackSeries(
        sample=np.asarray(samples, np.int64),
        frame_index=3 * np.asarray(samples, np.int64),
        back_flexion_rel=np.asarray(flexion, float),
        back_angle_deg=10 * np.asarray(flexion, float),
        mask_confidence=conf,
        edge_xy_px=np.full((n, len(FRACTIONS), 2), np.nan),
        fractions=np.asarray(FRACTIONS),
    )


def test_pull_samples_run_from_setup_to_knee_pass_for_reps_and_partial_pulls():
    rep = make_rep(1, start=100)  # set-up 100, lift-off 110, knee pass 120, lockout 130
    assert pull_samples(rep) == list(range(100, 121))
    partial = make_rep(2, complete=False, start=200)  # never locks out: same pull window
    assert pull_samples(partial) == list(range(200, 221))


def test_every_other_sample_is_measured_back_from_the_knee_pass_but_never_fewer_than_two():
    rep = make_rep(1, start=100)  # pull: samples 100..120 (set-up .. knee pass)
    picked = measured_samples(rep, stride=2)
    assert picked == list(range(100, 121, 2)) and picked[-1] == 120  # the knee pass is measured
    assert set(picked) <= set(pull_samples(rep))
    assert measured_samples(rep, stride=1) == pull_samples(rep)
    three = replace(
        rep, moments={n: replace(m, sample=100 + i) for i, (n, m) in enumerate(rep.moments.items())}
    )
    assert pull_samples(three) == [100, 101, 102] and measured_samples(three, stride=2) == [100, 102]
    assert measured_samples(three, stride=5) == [100, 101, 102]  # one sample is no reading: all of them


def test_a_pull_measured_at_a_stride_reads_the_median_of_its_measured_samples():
    rep = make_rep(1)
    picked = measured_samples(rep, stride=2)
    values = np.linspace(0.0, 0.1, len(picked))
    out = rep_back_metrics(rep, series(picked, values))
    assert out.metrics["back_flexion_rel"] == pytest.approx(float(np.median(values)))
    assert out.metric_samples["back_flexion_rel"] in picked


def test_a_pull_the_clip_cuts_at_its_start_is_measured_on_its_earliest_samples():
    """No set-up or lift-off in the clip (it opens mid-pull): its first samples, never its lockout."""
    from formcheck_core.biomech.body import Moment

    rep = make_rep(1, complete=False, start=0)
    only_lockout = replace(rep, moments={"lockout": Moment("lockout", 8, 24, 0.8)}, end_sample=9)
    assert pull_samples(only_lockout) == [0, 1, 2]
    early_lockout = replace(only_lockout, moments={"lockout": Moment("lockout", 2, 6, 0.2)})
    assert pull_samples(early_lockout) == [0, 1]
    with_knee = replace(
        only_lockout, moments={"knee_pass": Moment("knee_pass", 4, 12, 0.4), **only_lockout.moments}
    )
    assert pull_samples(with_knee) == [0, 1, 2, 3, 4]
    complete_without_setup = replace(only_lockout, complete=True)
    assert pull_samples(complete_without_setup) == []


def test_the_rep_value_is_the_median_of_its_confident_samples():
    rep = make_rep(1)
    samples = pull_samples(rep)
    values = np.linspace(0.0, 0.1, len(samples))
    conf = np.full(len(samples), 0.8)
    conf[-5:] = MIN_SAMPLE_CONFIDENCE / 2  # the last five are unreliable: left out
    out = rep_back_metrics(rep, series(samples, values, conf))
    assert out.metrics["back_flexion_rel"] == pytest.approx(float(np.median(values[:-5])))
    assert out.metric_samples["back_flexion_rel"] in samples[:-5]
    assert out.metrics["back_mask_confidence"] == pytest.approx(0.8)


def test_a_slower_pull_reads_the_same():
    """Speed: the same pull filmed at half speed (each sample twice) has the same median."""
    fast = make_rep(1)
    values = np.random.default_rng(0).uniform(0, 0.08, len(pull_samples(fast)))
    a = rep_back_metrics(fast, series(pull_samples(fast), values))
    moments = {n: replace(m, sample=2 * m.sample) for n, m in fast.moments.items()}
    slow = replace(fast, end_sample=2 * fast.end_sample, moments=moments)
    assert len(pull_samples(slow)) == 2 * len(pull_samples(fast)) - 1
    b = rep_back_metrics(slow, series(pull_samples(slow), np.repeat(values, 2)[:-1]))
    assert b.metrics["back_flexion_rel"] == pytest.approx(a.metrics["back_flexion_rel"], abs=0.005)


def test_too_few_confident_samples_or_no_series_is_nan():
    rep = make_rep(1)
    samples = pull_samples(rep)
    one = np.full(len(samples), 0.1)
    one[3] = 0.9
    assert math.isnan(
        rep_back_metrics(rep, series(samples, np.full(len(samples), 0.05), one)).metrics["back_flexion_rel"]
    )
    assert math.isnan(rep_back_metrics(rep, None).metrics["back_flexion_rel"])
    unread = series(samples, np.full(len(samples), np.nan))
    assert math.isnan(rep_back_metrics(rep, unread).metrics["back_angle_deg"])


def test_an_unclear_outline_marks_the_back_readings_low_confidence_with_their_numbers_kept():
    """A pull whose median mask confidence is under RELIABLE_MASK_CONFIDENCE keeps its numbers, and
    every back reading carries the same mark (the rule then says "not measurable")."""
    rep = make_rep(1, start=100)
    samples = pull_samples(rep)
    clear = rep_back_metrics(rep, series(samples, [0.05] * len(samples), confidence=0.8))
    assert "back_flexion_rel" not in clear.metric_quality
    soft = RELIABLE_MASK_CONFIDENCE - 0.05
    unclear = rep_back_metrics(rep, series(samples, [0.05] * len(samples), confidence=soft))
    assert unclear.metrics["back_flexion_rel"] == pytest.approx(0.05)
    marks = {unclear.metric_quality[m].mark for m in ("back_flexion_rel", "back_angle_deg")}
    assert marks == {f"low confidence: back outline unclear (mask confidence {soft:.2f}, under 0.60)"}


@pytest.mark.parametrize("limit", [0.7, 0.5])
def test_the_mark_follows_the_rules_effective_mask_limit(limit):
    """``--threshold rounded_back.min_mask_confidence=X``: the back reading is marked low confidence
    exactly when the rule says "not measurable" for it, at any limit (one limit, not the default);
    after re-running the rule at another limit (reevaluate), the mark follows again."""
    from rule_fixtures import all_rules_on, make_analysis

    from formcheck_core.rules import apply_rules
    from formcheck_core.rules.reevaluation import reevaluate

    mask = 0.65 if limit > RELIABLE_MASK_CONFIDENCE else 0.55  # judged by default: no / yes
    rep = make_rep(1, start=0)
    samples = pull_samples(rep)
    rep = rep_back_metrics(rep, series(samples, [0.01] * len(samples), confidence=mask))
    default_marked = mask < RELIABLE_MASK_CONFIDENCE
    assert ("back_flexion_rel" in rep.metric_quality) == default_marked

    def judged(a):
        (f,) = [f for f in a.findings if f.rule_id == "rounded_back"]
        (r,) = a.reps
        q = r.metric_quality.get("back_flexion_rel")
        return f, (q.mark if q is not None else "")

    a = apply_rules(
        make_analysis((rep,)), all_rules_on(overrides={"rounded_back": {"min_mask_confidence": limit}})
    )
    f, mark = judged(a)
    assert (f.status == "not_measurable") == (mask < limit) == bool(mark)
    if mark:  # the finding says why in the words of the reading's mark
        assert mark.startswith("low confidence: back outline unclear (mask confidence 0.65, under 0.70)")
        assert "back outline was unclear (mask confidence 0.65, under 0.70)" in f.message
    back = reevaluate(a, {"rounded_back": {"min_mask_confidence": RELIABLE_MASK_CONFIDENCE}})
    f, mark = judged(back)
    assert (f.status == "not_measurable") == default_marked == bool(mark)


def test_the_rounded_back_words_name_the_window_it_read_when_the_knee_pass_is_missing():
    """A squat-style or kettlebell start has no knee pass: the back is read from set-up to
    MIN_PULL_SAMPLES after lift-off, and the rule's message and cue say so, not "to knee pass"."""
    from rule_fixtures import all_rules_on, make_analysis

    from formcheck_core.biomech.back_series import MIN_PULL_SAMPLES, pull_span_words
    from formcheck_core.rules import apply_rules

    full = make_rep(1, start=0)  # set-up 0, lift-off 10, knee pass 20, lockout 30
    assert pull_span_words(full) == "off the floor, from setup to knee pass"
    rep = replace(full, moments={n: m for n, m in full.moments.items() if n != "knee_pass"})
    samples = pull_samples(rep)
    assert samples[0] == 0 and samples[-1] == rep.moments["liftoff"].sample + MIN_PULL_SAMPLES
    words = pull_span_words(rep)
    assert words == "off the floor, from setup to just after lift-off (no knee pass was found)"
    rep = rep_back_metrics(rep, series(samples, [0.05] * len(samples)))
    a = apply_rules(make_analysis((rep,)), all_rules_on())
    (f,) = [f for f in a.findings if f.rule_id == "rounded_back"]
    assert f.is_fault and words in f.message and words in f.cue and "to knee pass" not in f.message
    cut = replace(rep, complete=False, moments={})  # a pull the clip cuts: no moment before lockout
    assert pull_span_words(cut) == "off the floor, over the first frames of the pull the clip shows"
