"""The rep/moment contract every segmentation must keep (see formcheck_core.biomech.moments.segment_reps)."""

from __future__ import annotations

import itertools

from formcheck_core.biomech.body import MOMENT_NAMES, Rep


def assert_rep_contract(reps: tuple[Rep, ...] | list[Rep], n_samples: int) -> None:
    """Spans inside the series and in time order without overlap; every moment inside its rep;
    moments strictly ordered; an absent moment has a reason; partial pulls say why; complete reps
    are numbered 1..N and every number is unique."""
    prev_end = -1
    for rep in reps:
        assert 0 <= rep.start_sample <= rep.end_sample < n_samples, rep
        assert rep.start_sample > prev_end, ("reps overlap", rep.number, rep.start_sample, prev_end)
        prev_end = rep.end_sample
        assert set(rep.moments) <= set(MOMENT_NAMES)
        samples = [rep.moments[m].sample for m in MOMENT_NAMES if m in rep.moments]
        assert all(a < b for a, b in itertools.pairwise(samples)), ("moments not strictly ordered", rep)
        eff = [
            m.refined_time_s if m.refined_time_s is not None else m.time_s
            for m in (rep.moments[n] for n in MOMENT_NAMES if n in rep.moments)
        ]
        assert all(a < b for a, b in itertools.pairwise(eff)), ("sub-sample estimates out of order", rep)
        eff_frames = [
            m.refined_frame_index if m.refined_frame_index is not None else m.frame_index
            for m in (rep.moments[n] for n in MOMENT_NAMES if n in rep.moments)
        ]
        assert all(a < b for a, b in itertools.pairwise(eff_frames)), ("two moments on one frame", rep)
        for name, m in rep.moments.items():
            assert m.name == name
            assert rep.start_sample <= m.sample <= rep.end_sample, (
                "moment outside its rep",
                rep.number,
                name,
            )
        # The set position's level is located with the set-up, inside the rep, no later than it.
        if "setup" in rep.moments:
            sps = rep.set_position_sample
            assert sps is not None and rep.start_sample <= sps <= rep.moments["setup"].sample, rep
        else:
            assert rep.set_position_sample is None, rep
        for name in MOMENT_NAMES:
            assert (name in rep.moments) != (name in rep.missing_moments), (rep.number, name)
            if name in rep.missing_moments:
                assert rep.missing_moments[name].strip()
        if rep.complete:
            # A complete rep has its lift-off; its lockout is placed, or absent because the lifter
            # was lost over it (not measurable), never for a reason that makes the pull partial.
            assert not rep.partial_reason and "liftoff" in rep.moments, rep
            assert "lockout" in rep.moments or rep.missing_moments["lockout"].startswith("not measurable"), (
                rep
            )
        else:
            assert rep.partial_reason.strip(), rep
    complete = [r.number for r in reps if r.complete]
    assert complete == list(range(1, len(complete) + 1))
    numbers = [r.number for r in reps]
    assert len(set(numbers)) == len(numbers)
