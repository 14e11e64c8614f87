"""Annotated stills: one per key moment and finding, phone-legible PNGs, only needed frames decoded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from render_support import handmade_analysis

from formcheck_core.render import style as st
from formcheck_core.render.frames import FrameConsumer, run_frame_pass
from formcheck_core.render.stills import STILL_WIDTH_PX, plan_stills, write_stills

CLIP = "phone_side_a.mp4"  # 2 reps, portrait 720x1280


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


@pytest.fixture(scope="module")
def stills(analysis, tmp_path_factory):
    return write_stills(analysis, tmp_path_factory.mktemp("stills"))


def test_every_key_moment_and_fault_has_a_still(analysis, stills):
    assert len(analysis.reps) == 2
    shown_moments = {(s.rep, m) for s in stills for m in s.moments}
    for rep in analysis.reps:
        for name in rep.moments:
            assert (rep.number, name) in shown_moments
    shown_findings = {id(f) for s in stills for f in s.findings}
    shown_frames = {(s.rep, s.frame_index) for s in stills}
    for f in analysis.findings:
        if f.frame_index is not None and f.is_fault:
            assert id(f) in shown_findings, f.rule_id
        elif f.frame_index is not None and id(f) not in shown_findings:
            assert (f.rep, f.frame_index) not in shown_frames  # within limits: no still of its own
    assert all(s.path.is_file() for s in stills)
    assert len({s.path for s in stills}) == len(stills)


def test_still_is_a_phone_sized_jpeg_with_header_skeleton_and_footer(analysis, stills):
    s = next(s for s in stills if s.findings)
    img = cv2.imread(str(s.path))
    assert img is not None and img.shape[1] == STILL_WIDTH_PX
    assert 600 < img.shape[0] < 2400
    header = img[:20]
    assert (np.abs(header.astype(int) - st.PANEL).max(axis=2) <= 12).mean() > 0.9  # dark band ...
    band = img[:70]
    assert (band.min(axis=2) > 200).sum() > 300  # ... with white title text in it
    near = np.all(np.abs(img.astype(int) - st.NEAR) <= 45, axis=2).sum()
    assert near > 500  # the near-side skeleton (amber, JPEG-compressed) is drawn
    fault = next((f for f in s.findings if f.is_fault), None)
    if fault is not None:
        bottom = img[-200:]
        red = np.all(np.abs(bottom.astype(int) - st.FAULT) <= 45, axis=2).sum()
        assert red > 100  # the fault line is written in red


def test_stills_are_sorted_and_titled(stills):
    frames = [s.frame_index for s in stills]
    assert frames == sorted(frames)
    for s in stills:
        assert s.title.startswith(f"Rep {s.rep}") and f"frame {s.frame_index}" in s.title


def test_plan_decodes_nothing_and_pass_decodes_only_wanted_frames(analysis, tmp_path):
    planned = plan_stills(analysis, tmp_path)
    assert not any(s.path.exists() for s in planned)
    wanted = frozenset(s.frame_index for s in planned)
    seen: list[int] = []
    n = run_frame_pass(analysis, [FrameConsumer(wanted, lambda fr: seen.append(fr.index))])
    assert sorted(seen) == sorted(wanted)
    assert n == len(wanted)  # only the wanted frames were converted and handed over


def test_analysis_without_reps_gives_no_moment_stills(analysis, tmp_path):
    import dataclasses

    empty = dataclasses.replace(analysis, reps=(), findings=(), verdicts=())
    assert write_stills(empty, tmp_path) == ()


def test_annotated_frame_for_widgets(analysis):
    from formcheck_core.render.stills import annotated_frame

    sample = analysis.reps[1].moments["lockout"].sample
    img = annotated_frame(analysis, sample)
    assert img.shape[1] == STILL_WIDTH_PX and img.dtype == np.uint8
    assert np.all(np.abs(img.astype(int) - st.NEAR) <= 30, axis=2).sum() > 300
    full = annotated_frame(analysis, sample, crop=False, width_px=360)
    assert full.shape[1] == 360
    with pytest.raises(IndexError):
        annotated_frame(analysis, 10_000)


def test_a_fault_measured_between_key_moments_gets_its_own_still_showing_the_value(dev_clip, tmp_path):
    """gym1080_bad_08: the smallest elbow angle is read between knee pass and lockout, not at a key
    moment; its still is that frame, where the elbow arc reads the finding's value and shows the
    limit. (posereader_arm_bend served here until lockout was read from the shoulders: its smallest
    elbow angle now falls on its lockout sample.)"""
    from rule_fixtures import all_rules_on

    from formcheck_core.analysis import analyze
    from formcheck_core.render.overlay import emphasis_for, series_value
    from formcheck_core.render.stills import still_consumer
    from formcheck_core.rules.verdicts import verdict_role
    from formcheck_core.vocabulary import FAULT, WARNING

    a = analyze(
        dev_clip("gym1080_bad_08"), progress=False, thresholds=all_rules_on()
    )  # bent_arms is off by default
    f = next(f for f in a.findings if f.rule_id == "bent_arms")
    assert f.is_fault
    rep = a.reps[0]
    sample = rep.metric_samples["min_elbow_angle_pull_deg"]
    (s,) = [s for s in plan_stills(a, tmp_path) if f in s.findings]
    assert (s.frame_index, s.sample) == (f.frame_index, sample)
    assert s.frame_index not in {m.frame_index for m in rep.moments.values()}
    assert series_value(a, "elbow_angle_deg", s.sample) == pytest.approx(f.value, abs=0.5)
    emph = emphasis_for(a, s.findings)
    # the arc takes the finding's verdict role: read at low pose confidence, this fault is a warning
    assert emph.status["elbow_angle_deg"] == verdict_role(f) in (FAULT, WARNING)
    assert emph.thresholds["elbow_angle_deg"] == pytest.approx(f.threshold), "limit drawn at the elbow"
    run_frame_pass(a, [still_consumer(a, [s])])
    img = cv2.imread(str(s.path))
    assert img is not None and img.shape[1] == STILL_WIDTH_PX
    # the arc and the caption line in the role's colour (red for a counted fault, orange for a warning)
    assert np.all(np.abs(img.astype(int) - st.finding_colour(f)) <= 45, axis=2).sum() > 100


def test_the_back_outline_is_drawn_under_the_pose_and_its_angle_labels(analysis, monkeypatch):
    """A rounded-back still draws the dorsal outline first and the pose with its angle labels on
    top: drawn after them, the outline covered a label's unit ("lean 54" for "lean 54°")."""
    from pathlib import Path

    from formcheck_core.findings import Finding
    from formcheck_core.render import stills
    from formcheck_core.render.stills import Still, render_still, rep_view_box

    calls: list[str] = []
    draw_pose = stills.draw_pose
    monkeypatch.setattr(stills, "draw_back_outline", lambda *a, **k: calls.append("outline"))

    def pose(*a, **k):
        calls.append("pose")
        return draw_pose(*a, **k)

    monkeypatch.setattr(stills, "draw_pose", pose)
    rep = analysis.reps[0]
    m = rep.moments["liftoff"]
    f = Finding("rounded_back", rep.number, "fault", "major", "Back rounded.", metric="back_flexion_rel")
    still = Still(Path("x.jpg"), rep.number, m.sample, m.frame_index, m.time_s, findings=(f,))
    frame = np.full((analysis.video.height_px, analysis.video.width_px, 3), 128, np.uint8)
    render_still(frame, analysis, still, rep_view_box(analysis, rep))
    assert calls == ["outline", "pose"]
