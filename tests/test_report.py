"""The HTML report: cues first, per-rep pictures embedded, only existing files referenced."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from render_support import cues_for, handmade_analysis, real_analysis

from formcheck_core.cues import Cue
from formcheck_core.render.report import write_report

CLIP = "posereader_good.mp4"


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "poster") and value is not None:
                self.refs.append((tag, name, value))
            if name == "id" and value:
                self.ids.add(value)


def _parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _check_references(index: Path) -> _Refs:
    """Every reference is a data URI, an anchor on the page, or a file that exists beside it."""
    refs = _parse(index)
    for tag, attr, value in refs.refs:
        if value.startswith("data:"):
            head, _, payload = value.partition(",")
            raw = base64.b64decode(payload, validate=True)
            if head.startswith("data:image/png"):
                assert raw.startswith(b"\x89PNG\r\n\x1a\n")
            elif head.startswith("data:image/jpeg"):
                assert raw.startswith(b"\xff\xd8\xff")
        elif value.startswith("#"):
            assert value[1:] in refs.ids, value
        else:
            assert not re.match(r"^[a-z]+://", value), f"external reference {value}"
            target = index.parent / value.split("#")[0]
            assert target.is_file(), f"{tag} {attr} -> missing {value}"
    return refs


@pytest.fixture(scope="module")
def analysis():
    return handmade_analysis(CLIP)


@pytest.fixture(scope="module")
def report(analysis, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    cues = [*cues_for(analysis), Cue(9, "Don't <script>alert(1)</script> & relax", "why <b>", rep=1)]
    return write_report(analysis, cues, out), cues


def test_report_files_and_references(report):
    index, _ = report
    assert index.name == "index.html" and index.is_file()
    refs = _check_references(index)
    images = [v for t, a, v in refs.refs if t == "img"]
    assert images and all(v.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for v in images)
    videos = [v for t, a, v in refs.refs if t == "video"]
    assert videos and all(v.split("#")[0] == "annotated.mp4" for v in videos)
    assert (index.parent / "stills").is_dir() and any((index.parent / "stills").glob("*.jpg"))
    assert (index.parent / "plots" / "curves.png").is_file()


def test_every_picture_has_one_page_version_and_the_page_embeds_only_those(analysis, tmp_path):
    """One path from picture to page: every still, bar path and curve render_all wrote has its
    page version (540 px JPEG or the curve's PNG) and the page embeds exactly those bytes, never
    the 720 px file read back; a picture without one is linked, not embedded."""
    import formcheck_core.render.report as report_mod
    from formcheck_core.render.outputs import render_all

    cues = cues_for(analysis)
    outputs = render_all(analysis, cues, tmp_path, clip=False)
    written = [s.path for s in outputs.stills] + [b.path for b in outputs.bar_paths]
    written += [
        p for p in (outputs.curves, outputs.curves_raw, *outputs.rep_curves.values()) if p is not None
    ]
    assert written and set(written) <= set(outputs.page_images)
    for path in written:
        if path.suffix == ".jpg":  # a photo: the page's is smaller than the file
            assert len(outputs.page_images[path].data) < path.stat().st_size
    dropped = outputs.stills[0].path
    outputs = dataclasses.replace(
        outputs, page_images={k: v for k, v in outputs.page_images.items() if k != dropped}
    )
    index = tmp_path / "index.html"
    index.write_text(report_mod.render_html(analysis, cues, outputs), encoding="utf-8")
    refs = _check_references(index)
    embedded = {base64.b64decode(v.partition(",")[2]) for t, a, v in refs.refs if t == "img"}
    assert embedded == {p.data for p in outputs.page_images.values()}
    assert dropped.read_bytes() not in embedded
    assert dropped.relative_to(tmp_path).as_posix() in {v for t, a, v in refs.refs if t == "a"}


def test_cues_come_first_and_text_is_escaped(report, analysis):
    index, cues = report
    text = index.read_text(encoding="utf-8")
    assert text.index(">Cues<") < text.index('id="rep-1"')
    assert "<script>" not in text and "&lt;script&gt;" in text
    for c in cues:
        assert html.escape(c.text, quote=True) in text
    # each rep has its section with stills, bar path and curves
    for rep in analysis.reps:
        section = text[text.index(f'id="rep-{rep.number}"') :]
        assert section.count("<img") >= len(rep.moments)


def test_every_rep_still_is_on_the_page(report, analysis):
    index, _ = report
    refs = _parse(index)
    stills = sorted((index.parent / "stills").glob("*.jpg"))
    assert {f"still-{p.stem}" for p in stills} <= refs.ids


def test_without_clip_and_without_reps(analysis, tmp_path):
    empty = dataclasses.replace(
        analysis, reps=(), findings=(), verdicts=(), warnings=("Insufficient pose data: test",)
    )
    index = write_report(empty, [], tmp_path, clip=False)
    refs = _check_references(index)
    assert "video" not in refs.tags
    text = index.read_text(encoding="utf-8")
    assert "Insufficient pose data" in text and "No coaching cues" in text


def test_no_body_analysis_still_reports(analysis, tmp_path):
    nobody = dataclasses.replace(analysis, body=None, view=None, reps=(), findings=(), verdicts=())
    index = write_report(nobody, [], tmp_path, clip=True)
    _check_references(index)


def test_embedded_clip_is_one_file(analysis, tmp_path):
    index = write_report(analysis, cues_for(analysis), tmp_path, embed_clip=True)
    refs = _check_references(index)
    videos = [v for t, a, v in refs.refs if t == "video"]
    assert len(videos) == 1 and videos[0].startswith("data:video/mp4;base64,")


def test_report_from_the_real_pipeline(tmp_path):
    analysis = real_analysis(CLIP)
    from formcheck_core.coach import deterministic_cues

    index = write_report(analysis, deterministic_cues(analysis), tmp_path)
    refs = _check_references(index)
    assert any(t == "video" for t, _, _ in refs.refs)
    assert (tmp_path / "annotated.mp4").stat().st_size > 10_000


def test_a_long_set_embeds_what_matters_within_the_budget_and_links_the_rest(analysis, tmp_path, monkeypatch):
    """With a budget too small for everything: fault and cue stills come first, the page stays
    under budget, and every picture not embedded is linked (with its anchor) to its file."""
    import formcheck_core.render.report as report_mod
    from formcheck_core.render.outputs import render_all

    cues = cues_for(analysis)
    outputs = render_all(analysis, cues, tmp_path, clip=False)
    fault_stills = [s for s in outputs.stills if any(f.is_fault for f in s.findings)]
    pages = outputs.page_images
    assert all(pages[s.path].mime == "image/jpeg" for s in outputs.stills)  # page-sized JPEGs
    budget = sum(len(pages[s.path].data) for s in fault_stills) + len(pages[outputs.curves].data) + 1
    monkeypatch.setattr(report_mod, "PAGE_BUDGET_BYTES", budget)
    index = tmp_path / "index.html"
    index.write_text(report_mod.render_html(analysis, cues, outputs), encoding="utf-8")
    refs = _check_references(index)  # links point at files that exist
    embedded = [v for t, a, v in refs.refs if t == "img"]
    assert sum(len(base64.b64decode(v.partition(",")[2])) for v in embedded) <= budget
    text = index.read_text(encoding="utf-8")
    for s in fault_stills:
        assert f'<figure id="still-{s.path.stem}"><img' in text
    linked = {v for t, a, v in refs.refs if t == "a" and not v.startswith("#")}
    assert linked, "pictures left out are listed"
    for s in outputs.stills:  # every still is reachable from the page, embedded or linked
        assert f"still-{s.path.stem}" in refs.ids
        assert s.path.relative_to(tmp_path).as_posix() in linked or f'id="still-{s.path.stem}"><img' in text
    assert "More pictures" in text


def test_report_survives_the_worker_dying(analysis, tmp_path, monkeypatch):
    """If the render worker process dies, the pictures are made in process: nothing is lost."""
    import formcheck_core.render.outputs as outputs_mod

    real_start = outputs_mod._start_worker
    started = []
    monkeypatch.setattr(outputs_mod, "MIN_REPS_FOR_WORKER", 1)  # this clip has 2 reps

    def dying(a):
        worker = real_start(a)
        worker._proc.kill()
        started.append(worker)
        return worker

    monkeypatch.setattr(outputs_mod, "_start_worker", dying)
    index = write_report(analysis, cues_for(analysis), tmp_path / "dead")
    assert started, "the worker path was taken"
    _check_references(index)
    monkeypatch.setattr(outputs_mod, "_start_worker", real_start)
    write_report(analysis, cues_for(analysis), tmp_path / "ref", clip=True)  # a live worker
    for sub in ("stills", "plots"):
        ref = sorted(p.name for p in (tmp_path / "ref" / sub).glob("*.*"))
        got = sorted(p.name for p in (tmp_path / "dead" / sub).glob("*.*"))
        assert ref and got == ref
        for name in ref:  # the same bytes, whichever process encoded them
            assert (tmp_path / "ref" / sub / name).read_bytes() == (
                tmp_path / "dead" / sub / name
            ).read_bytes()
    assert (tmp_path / "dead" / "annotated.mp4").stat().st_size > 10_000


def test_a_worker_started_early_gives_the_same_pictures_and_stays_open(analysis, tmp_path):
    """The CLI's path: a worker started before the analysis exists (as during the pose pass),
    attached later, used for two renders (rule cues, then LLM cues), closed by its owner. Its
    pictures are the bytes the one-process path writes."""
    from formcheck_core.render.outputs import render_all, start_render_worker

    cues = cues_for(analysis)
    worker = start_render_worker()
    assert worker is not None and worker.attached is None
    try:
        early = render_all(analysis, cues, tmp_path / "early", worker=worker)
        assert worker.alive and worker.attached is analysis
        again = render_all(analysis, cues, tmp_path / "again", clip=False, worker=worker)
        assert worker.alive
    finally:
        worker.close()
    alone = render_all(analysis, cues, tmp_path / "alone", parallel=False)
    for outputs in (early, again):
        assert [s.path.name for s in outputs.stills] == [s.path.name for s in alone.stills]
        assert sorted(outputs.rep_curves) == sorted(alone.rep_curves) == [r.number for r in analysis.reps]
        assert set(p.name for p in outputs.page_images) == set(p.name for p in alone.page_images)
    for sub in ("stills", "plots"):
        ref = sorted(p.name for p in (tmp_path / "alone" / sub).glob("*.*"))
        assert ref
        for run in ("early", "again"):
            got = sorted(p.name for p in (tmp_path / run / sub).glob("*.*"))
            assert got == ref
            for name in ref:
                assert (tmp_path / run / sub / name).read_bytes() == (
                    tmp_path / "alone" / sub / name
                ).read_bytes()
    assert early.clip is not None and alone.clip is not None and early.clip.frames == alone.clip.frames
    assert again.clip is None
    from formcheck_core.render.files import curve_parts

    for outputs in (early, again):  # with a worker, every still and bar path is a job either process may draw
        jobs = outputs.timings_s["jobs_here"] + outputs.timings_s["jobs_worker"]
        # each curve part is drawn, then written (a follow-up job)
        assert jobs == 2 * len(curve_parts(analysis)) + len(outputs.stills) + len(outputs.bar_paths)
        assert outputs.timings_s["jobs_worker"] >= 1


def test_a_dead_early_worker_is_not_used(analysis, tmp_path):
    """A worker that died before the render (killed, out of memory) is skipped: the render
    happens without it and nothing is lost."""
    from formcheck_core.render.outputs import render_all, start_render_worker

    worker = start_render_worker()
    assert worker is not None
    worker._proc.kill()
    worker._proc.wait()
    outputs = render_all(analysis, cues_for(analysis), tmp_path, clip=False, worker=worker)
    worker.close()
    assert outputs.stills and outputs.curves is not None and outputs.curves.is_file()
    assert all(s.path.is_file() for s in outputs.stills)


def test_jobs_waiting_for_a_busy_or_dead_worker_run_here_once_each(tmp_path, monkeypatch):
    """The shared job queue: with no job ever handed over (IN_FLIGHT 0, as when the worker is
    busy) the caller runs them all when its pass ends; with the worker killed after its first
    picture, the rest come back and run here. Either way every picture has its file and its
    page version, once."""
    import numpy as np

    import formcheck_core.render.jobs as jobs_mod
    from formcheck_core.render.jobs import SharedJobs
    from formcheck_core.render.outputs import start_render_worker

    rng = np.random.default_rng(0)
    pictures = [
        (tmp_path / f"p{i}.jpg", rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)) for i in range(6)
    ]
    for in_flight, kill_after_first in ((0, False), (1, True)):
        monkeypatch.setattr(jobs_mod, "IN_FLIGHT", in_flight)
        for path, _ in pictures:
            path.unlink(missing_ok=True)
        worker = start_render_worker()
        assert worker is not None
        got: list = []
        jobs = SharedJobs(worker, None, lambda name, result, got=got: got.append((name, result)))
        try:
            for path, bgr in pictures:
                jobs.put("encode_picture", path, bgr, nbytes=bgr.nbytes)
                if kill_after_first and path == pictures[0][0]:
                    while not pictures[0][0].is_file():  # the worker wrote the first one
                        time.sleep(0.01)
                    worker._proc.kill()
            jobs.finish()
        finally:
            worker.close(kill=True)
        assert sorted(r[0] for _, r in got) == sorted(p for p, _ in pictures)
        assert all(name == "encode_picture" and r[1].mime == "image/jpeg" for name, r in got)
        assert all(p.is_file() and p.stat().st_size > 0 for p, _ in pictures)
        assert jobs.ran["here"] + jobs.ran["worker"] == len(pictures)
        if in_flight == 0:
            assert jobs.ran == {"here": len(pictures), "worker": 0}


def test_a_job_the_worker_fails_is_sent_to_it_once_and_runs_here(monkeypatch):
    """A job that fails in the worker (here: one only the caller knows) is not handed back to it
    while the caller is busy: it is sent once, then runs here once, and its result arrives."""
    import formcheck_core.render.worker as worker_mod
    from formcheck_core.render.jobs import SharedJobs
    from formcheck_core.render.outputs import start_render_worker

    monkeypatch.setitem(worker_mod.JOBS, "caller_only_double", lambda x: 2 * x)
    worker = start_render_worker()
    assert worker is not None
    sent: list[str] = []
    submit = worker.submit

    def counting_submit(job: str, *args):
        sent.append(job)
        return submit(job, *args)

    monkeypatch.setattr(worker, "submit", counting_submit)
    got: list = []
    jobs = SharedJobs(worker, None, lambda name, result: got.append((name, result)))
    try:
        jobs.put("caller_only_double", 21)
        time.sleep(0.5)  # the caller is busy with its pass (before the fix: ~1,400 resends)
        jobs.finish()
        assert worker.alive  # the job failed there; the worker lives on
    finally:
        worker.close(kill=True)
    assert sent == ["caller_only_double"]
    assert got == [("caller_only_double", 42)]
    assert jobs.ran == {"here": 1, "worker": 0}


def test_abandoned_jobs_write_nothing_after_the_caller_cleans_up(tmp_path):
    """A render that fails with a kept (the CLI's) worker abandons its jobs: nothing more is
    handed over, and the jobs the worker has end before ``abandon`` returns, so deleting the
    staging folder then is final (no late job recreates it)."""
    import shutil

    import numpy as np

    from formcheck_core.render.jobs import IN_FLIGHT, SharedJobs
    from formcheck_core.render.outputs import start_render_worker

    stage = tmp_path / ".out.formcheck-stage"
    big = np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    worker = start_render_worker()
    assert worker is not None
    jobs = SharedJobs(worker, None, lambda name, result: None)
    try:
        for i in range(IN_FLIGHT + 3):
            jobs.put("encode_picture", stage / "stills" / f"p{i}.jpg", big, nbytes=0)
        jobs.abandon()
        assert jobs._in_flight == 0
        shutil.rmtree(stage, ignore_errors=True)
    finally:
        worker.close()  # waits for every job it was sent
    assert not stage.exists()
    assert jobs.ran["here"] == 0  # the waiting ones were dropped, not run here


def test_the_caller_leaves_a_short_curve_backlog_to_a_live_worker(monkeypatch):
    """After its frame pass the caller takes waiting pictures, newest first, but a curve job only
    when three or more wait (its first costs it matplotlib's start-up), when it draws curves
    already, or when the worker is gone."""
    import formcheck_core.render.jobs as jobs_mod
    from formcheck_core.render.jobs import Job, SharedJobs
    from formcheck_core.render.outputs import start_render_worker

    worker = start_render_worker()
    assert worker is not None
    try:
        jobs = SharedJobs(worker, None, lambda name, result: None)
        monkeypatch.setattr(jobs_mod, "caller_draws_curves", lambda: False)
        jobs._in_flight = 1  # the worker is busy with a job (none is handed over here)
        curve = [Job("draw_curve_part", (i,)) for i in range(3)]
        jobs._waiting.extend([curve[0], curve[1], Job("encode_picture", ("p",))])
        assert jobs._take() == Job("encode_picture", ("p",))
        assert jobs._take() is None  # two curve parts: left to the worker
        jobs._waiting.append(curve[2])
        assert jobs._take() == curve[2]  # three waited: the newest runs here
        assert jobs._take() is None
        monkeypatch.setattr(jobs_mod, "caller_draws_curves", lambda: True)
        assert jobs._take() == curve[1]  # matplotlib loaded here: no start-up to pay
        monkeypatch.setattr(jobs_mod, "caller_draws_curves", lambda: False)
        worker.close(kill=True)
        assert jobs._take() == curve[0]  # the worker is gone
    finally:
        worker.close(kill=True)


def test_curves_drawn_in_parts_by_both_processes_are_the_ones_drawn_here(tmp_path, monkeypatch):
    """A long set's curves are split into jobs of a few reps; whichever process draws a part,
    the merged result names every rep's picture, and the bytes equal the one-process drawing."""
    import formcheck_core.render.files as files_mod
    from formcheck_core.render.outputs import render_all, start_render_worker

    analysis = handmade_analysis(CLIP)
    monkeypatch.setattr(files_mod, "REPS_PER_CURVE_PART", 1)  # one job per rep
    numbers = [r.number for r in analysis.reps]
    assert numbers and files_mod.curve_parts(analysis) == [None, *((n,) for n in numbers)]
    worker = start_render_worker()
    try:
        shared = render_all(analysis, cues_for(analysis), tmp_path / "shared", clip=False, worker=worker)
    finally:
        if worker is not None:
            worker.close()
    alone = render_all(analysis, cues_for(analysis), tmp_path / "alone", clip=False, parallel=False)
    assert sorted(shared.rep_curves) == sorted(alone.rep_curves) == numbers
    assert shared.curves is not None and shared.curves_raw is not None
    for a, b in [
        (shared.curves, alone.curves),
        *zip(shared.rep_curves.values(), alone.rep_curves.values(), strict=True),
    ]:
        assert a is not None and b is not None and a.read_bytes() == b.read_bytes()
    assert shared.timings_s["jobs_here"] + shared.timings_s["jobs_worker"] >= 1 + len(numbers) + len(
        shared.stills
    )


def test_the_render_worker_starts_without_scipy_signal():
    """The worker is started before the pose pass to use the core MediaPipe leaves idle; what it
    imports is its start-up cost. scipy.signal alone is ~0.6 CPU s, and the worker never filters
    or finds peaks: the analysis modules it unpickles must import scipy only where it is used."""
    import subprocess
    import sys

    code = (
        "import sys; from formcheck_core.render import worker, files; files.warm_up(); "
        "import formcheck_core.analysis, formcheck_core.render.curves; "
        "print(sorted(m for m in sys.modules if m.startswith('scipy.signal')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_a_clip_with_no_person_says_so_in_the_header(tmp_path, pose_model):
    """A 4 s solid-colour clip's header read "deadlift · 0 reps · view unknown"; it now says what
    the summary's warning says: a person was found in 0 of the sampled frames."""
    import numpy as np
    from clipmaker import write_h264

    from formcheck_core.analysis import analyze
    from formcheck_core.clip_warnings import insufficient_headline

    clip = write_h264(tmp_path / "solid.mp4", (np.full((240, 320, 3), 90, np.uint8) for _ in range(120)), 30)
    analysis = analyze(clip, progress=False, cache=False)
    headline = insufficient_headline(analysis.warnings)
    assert headline.startswith("Insufficient pose data: a person was found in 0 of"), analysis.warnings
    text = write_report(analysis, [], tmp_path / "out", clip=False).read_text(encoding="utf-8")
    meta = html.unescape(re.search(r'<p class="meta">(.*?)</p>', text, re.S).group(1))
    assert headline in meta and "0 reps" not in meta and "view unknown" not in meta, meta
    assert meta.startswith("deadlift · ") and "320×240" in meta
