"""The rep/moment contract on every dev clip (real MediaPipe pose, cached): spans in order without
overlap, every moment inside its rep, moments strictly ordered, absent moments and partial pulls
explained, and only complete reps counted. Asserts the contract, never pose-exact frames."""

from __future__ import annotations

import pytest
from conftest import DEV, dev_clip_stems
from rep_contract import assert_rep_contract


@pytest.mark.parametrize("stem", dev_clip_stems())
def test_every_dev_clip_keeps_the_rep_contract(stem, pose_model):
    from formcheck_core.analysis import analyze
    from formcheck_core.export import to_dict
    from formcheck_core.render.summary import format_summary

    a = analyze(DEV / f"{stem}.mp4", rules=False, progress=False)
    if a.body is None:
        assert not a.reps and not a.partial_pulls
        return
    pulls = sorted((*a.reps, *a.partial_pulls), key=lambda r: r.start_sample)
    assert_rep_contract(pulls, a.body.time_s.size)
    assert all(r.complete for r in a.reps) and not any(r.complete for r in a.partial_pulls)
    assert [r.number for r in a.reps] == list(range(1, len(a.reps) + 1))
    for r in pulls:  # pose quality rides along with every measured metric
        assert set(r.metric_quality) <= set(r.metric_samples)
        assert all(0.0 <= q.confidence <= 1.0 for q in r.metric_quality.values())
    d = to_dict(a, include_series=False)
    assert d["reps_found"] == len(d["reps"]) == len(a.reps)
    assert d["partial_pulls_found"] == len(d["partial_pulls"]) == len(a.partial_pulls)
    text = format_summary(a)
    head = f"reps found: {len(a.reps)}"
    assert head in text
    if a.partial_pulls:
        n = len(a.partial_pulls)
        assert f"{head} (+{n} partial pull{'s' if n != 1 else ''})" in text
        for r in a.partial_pulls:
            assert f"{a.pull_label(r.number)} (not counted): {r.partial_reason}" in text
    lines = [s for s in text.splitlines() if s.startswith("  moments: ")]
    assert len(lines) == len(pulls)  # one per pull, naming each moment in words, never by its id
    assert not any("liftoff" in s or "knee_pass" in s for s in lines)
    for r, line in zip(sorted(pulls, key=lambda r: r.number), lines, strict=True):
        assert ("lift-off " in line) == ("liftoff" in r.moments)
