"""``formcheck batch``: real MediaPipe on short dev clips, a local process pool, a real Dask cluster.

One batch (4 short dev clips, a truncated clip, a text file named .mp4, a missing path) is run
once per module through the CLI with 2 local workers into a fresh pose cache; the other tests
resume it, re-run it with new thresholds, run it through Dask and interrupt a run. Every broken
input is made here in a temporary folder.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from formcheck_core.batch.discover import find_clips  # noqa: E402
from formcheck_core.batch.rows import CLIP_COLUMNS, FINDING_COLUMNS, METRIC_COLUMNS, REP_COLUMNS  # noqa: E402
from formcheck_core.batch.worker import MALLOC_ENV_VARS, usable_cores  # noqa: E402
from formcheck_core.video import DECODE_INLINE_ENV  # noqa: E402
from formcheck_core.vocabulary import CLIP_STATUS_WORDS, CLIP_STATUSES, PARTIAL_PULL, clip_status, counted  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ("posereader_good", "posereader_bad", "posereader_arm_bend", "posereader_rdl")
TABLES = ("clips", "reps", "findings")


def cli(*args: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "formcheck_core", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def tables(out: Path, kind: str = "parquet") -> dict[str, pd.DataFrame]:
    read = pd.read_parquet if kind == "parquet" else pd.read_csv
    return {t: read(out / f"{t}.{kind}") for t in TABLES}


def without_timing(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["elapsed_s"], errors="ignore").reset_index(drop=True)


@pytest.fixture(scope="module")
def batch_env(tmp_path_factory, pose_model) -> dict:
    """Environment of the CLI runs: this checkout, the provisioned models, a fresh pose cache."""
    cache = tmp_path_factory.mktemp("pose-cache")
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FORMCHECK_CACHE": str(cache),
        "FORMCHECK_MODELS": str(pose_model.parent),
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, dev_clip) -> Path:
    """A folder: 2 clips at the top, 2 in a subfolder, a truncated clip, a text file named .mp4, a .txt."""
    folder = tmp_path_factory.mktemp("clips")
    (folder / "sub").mkdir()
    for i, stem in enumerate(CLIPS):
        (folder / ("sub" if i >= 2 else ".") / f"{stem}.mp4").symlink_to(dev_clip(stem))
    data = dev_clip("posereader_heellift").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 10])
    (folder / "notes.mp4").write_text("this is not a video\n" * 50)
    (folder / "readme.txt").write_text("not a clip, and not named like one\n")
    return folder


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, inputs, batch_env):
    out = tmp_path_factory.mktemp("batch") / "out"
    missing = inputs.parent / "nowhere.mp4"
    proc = cli(
        "batch", str(inputs), str(missing), "--out", str(out), "--workers", "2", "--quiet", env=batch_env
    )
    return proc, out


def test_batch_writes_three_tables_with_a_row_per_clip_rep_and_finding(first_run, inputs):
    proc, out = first_run
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some clips failed; the batch did not abort
    assert "Traceback" not in proc.stderr + proc.stdout
    t = tables(out)
    clips = t["clips"].set_index("clip")
    assert list(t["clips"].columns) == list(CLIP_COLUMNS)
    assert sorted(clips.index) == sorted([*CLIPS, "truncated", "notes", "nowhere"])  # readme.txt not taken
    assert set(clips["status"]) <= set(CLIP_STATUSES)  # one status vocabulary
    # posereader_bad starts mid-pull, posereader_rdl never locks out and posereader_arm_bend stays
    # bent over at the top: partial pulls only (listed, judged on what was seen), no complete rep
    statuses = clips.loc[list(CLIPS), "status"].tolist()
    assert statuses == ["ok", "partial_only", "partial_only", "partial_only"]
    assert (clips.loc[list(CLIPS), "partial_pulls"] >= 1).sum() >= 3
    for stem, status in zip(CLIPS, statuses, strict=True):  # the status follows the clip's own counts
        row = clips.loc[stem]
        assert status == clip_status(int(row["reps"]), int(row["partial_pulls"]))
        assert (row["exit_code"] == 0) == (status == "ok")
    assert f"3 {CLIP_STATUS_WORDS['partial_only']}" in proc.stdout, proc.stdout
    # the line counts complete reps, as the summary does, and partial pulls apart (not the reps table's rows)
    n_reps, n_partial = int(clips["reps"].fillna(0).sum()), int(clips["partial_pulls"].fillna(0).sum())
    said = f"; {counted(n_reps, 'rep')} (+{counted(n_partial, PARTIAL_PULL)}), "
    assert n_partial and said in proc.stdout, proc.stdout
    assert (clips.loc[["truncated", "notes", "nowhere"], "status"] == "error").all()
    assert clips.loc["nowhere", "exit_code"] == 2 and "No such file" in clips.loc["nowhere", "error"]
    # rows agree with each other and with each clip's analysis.json
    assert list(t["reps"].columns[: len(REP_COLUMNS)]) == list(REP_COLUMNS)
    assert set(METRIC_COLUMNS) <= set(t["reps"].columns)
    assert list(t["findings"].columns) == list(FINDING_COLUMNS)
    assert (
        t["reps"].groupby("clip").size().reindex(clips.index, fill_value=0).tolist()
        == (clips["reps"] + clips["partial_pulls"]).fillna(0).tolist()
    )
    for stem in CLIPS:
        export = json.loads((out / "clips" / stem / "analysis.json").read_text())
        assert clips.loc[stem, "sha256"] == export["video"]["sha256"]
        reps = t["reps"][t["reps"]["clip"] == stem].sort_values("rep")
        pulls = sorted(export["reps"] + export["partial_pulls"], key=lambda r: r["number"])
        assert reps["rep"].tolist() == [r["number"] for r in pulls]
        assert reps["complete"].tolist() == [r["complete"] for r in pulls]
        # every complete rep is judged (a partial pull may be too: rules that judge the pull off the floor)
        assert reps.loc[reps["complete"].astype(bool), "verdict"].notna().all()
        for row, rep in zip(reps.itertuples(), pulls, strict=True):
            for name, value in rep["metrics"].items():
                cell = getattr(row, name)
                assert (value is None and pd.isna(cell)) or cell == pytest.approx(value), (stem, name)
            for name, moment in rep["moments"].items():
                assert getattr(row, f"{name}_frame") == moment["frame_index"]
        found = t["findings"][t["findings"]["clip"] == stem]
        assert (
            len(found)
            == len(export["findings"])
            == clips.loc[stem, "faults"] + (found["status"] != "fault").sum()
        )
        assert found[["rule_id", "status"]].values.tolist() == [
            [f["rule_id"], f["status"]] for f in export["findings"]
        ]
    for name in ("truncated", "notes", "nowhere"):
        assert not (out / "clips" / name / "analysis.json").exists()
    # CSV holds the same tables
    csv = tables(out, "csv")
    for name in TABLES:
        assert list(csv[name].columns) == list(t[name].columns) and len(csv[name]) == len(t[name])


def test_failed_clips_carry_the_message_formcheck_analyze_prints(first_run, inputs, batch_env, tmp_path):
    _, out = first_run
    clips = tables(out)["clips"].set_index("clip")
    for name in ("notes", "truncated"):
        proc = cli(
            "analyze", str(inputs / f"{name}.mp4"), "--quiet", "--out", str(tmp_path / name), env=batch_env
        )
        printed = [line for line in proc.stderr.splitlines() if line.startswith("formcheck: error: ")]
        assert len(printed) == 1, proc.stderr
        assert clips.loc[name, "error"] == printed[0].removeprefix("formcheck: error: ")
        assert clips.loc[name, "exit_code"] == proc.returncode == 2


def test_batch_rows_agree_with_formcheck_analyze_of_one_clip(first_run, inputs, batch_env, tmp_path):
    _, out = first_run
    proc = cli(
        "analyze",
        str(inputs / "posereader_good.mp4"),
        "--quiet",
        "--no-report",
        "--out",
        str(tmp_path),
        env=batch_env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    alone = json.loads((tmp_path / "analysis.json").read_text())
    batched = json.loads((out / "clips" / "posereader_good" / "analysis.json").read_text())
    for key in ("video", "ok", "warnings", "reps", "findings", "verdicts", "options"):
        assert batched[key] == alone[key], key


def _pose_cache_state(env: dict) -> dict[str, float]:
    root = Path(env["FORMCHECK_CACHE"]) / "pose"
    return {p.name: p.stat().st_mtime_ns for p in root.glob("*.npz")}


def _rows_state(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "clips").glob("*/rows.json")}


def test_rerun_skips_finished_clips_and_new_thresholds_reuse_the_poses(first_run, inputs, batch_env):
    _, out = first_run
    poses, rows = _pose_cache_state(batch_env), _rows_state(out)
    assert len(poses) == len(CLIPS)
    proc = cli("batch", str(inputs), "--out", str(out), "--workers", "2", "--quiet", env=batch_env)
    assert "6 of 6 clips already analysed" in proc.stderr, proc.stderr
    assert _rows_state(out) == rows  # nothing re-run, not even the unreadable files
    assert len(tables(out)["clips"]) == 6
    # new thresholds: every clip is re-evaluated, from the cached poses
    proc = cli(
        "batch",
        str(inputs),
        "--out",
        str(out),
        "--workers",
        "2",
        "--quiet",
        "--threshold",
        "bent_arms.min_elbow_angle_deg=150",
        "--threshold",
        "bent_arms.enabled=1",  # off by default
        env=batch_env,
    )
    assert proc.returncode == 1 and "already analysed" not in proc.stderr, proc.stderr
    assert _pose_cache_state(batch_env) == poses  # no pose was extracted
    changed = _rows_state(out)
    assert all(changed[c] != rows[c] for c in CLIPS)
    findings = tables(out)["findings"]
    assert (findings.rule_id == "bent_arms").any()
    assert (findings[findings.rule_id == "bent_arms"]["threshold"] == 150).all()
    # back to the default thresholds and all 7 inputs, as the other tests expect (cached: fast)
    proc = cli(
        "batch", str(inputs), str(inputs.parent / "nowhere.mp4"), "--out", str(out), "--quiet", env=batch_env
    )
    assert proc.returncode == 1 and len(tables(out)["clips"]) == 7, proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_batch_on_a_real_dask_cluster_gives_the_same_tables(first_run, inputs, batch_env, tmp_path):
    """`dask scheduler` and `dask worker` as real processes on 127.0.0.1; `formcheck batch --scheduler`."""
    pytest.importorskip("distributed")
    from distributed import Client

    _, local_out = first_run
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    with open(logs / "scheduler.log", "w") as slog, open(logs / "worker.log", "w") as wlog:
        sched = subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
            env=batch_env,
            stdout=slog,
            stderr=slog,
        )
        worker = subprocess.Popen(
            [
                dask,
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ],
            env=batch_env,
            stdout=wlog,
            stderr=wlog,
        )
        try:
            with Client(address, timeout="60s") as client:
                client.wait_for_workers(1, timeout=120)
            out = tmp_path / "dask-out"
            proc = cli(
                "batch",
                str(inputs),
                str(inputs.parent / "nowhere.mp4"),
                "--out",
                str(out),
                "--scheduler",
                address,
                "--quiet",
                env=batch_env,
            )
            assert proc.returncode == 1, proc.stdout + proc.stderr + (logs / "worker.log").read_text()[-3000:]
            assert "Traceback" not in proc.stderr
        finally:
            for p in (worker, sched):
                p.send_signal(signal.SIGINT)
            for p in (worker, sched):
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    local, remote = tables(local_out), tables(out)
    for name in TABLES:
        pd.testing.assert_frame_equal(without_timing(remote[name]), without_timing(local[name]))


def test_local_cluster_through_the_python_api_gives_the_same_tables(
    first_run, inputs, batch_env, tmp_path, monkeypatch
):
    """A dask.distributed LocalCluster with 2 worker processes, via run_batch(client=...)."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from formcheck_core.batch import run_batch

    _, local_out = first_run
    monkeypatch.setenv("FORMCHECK_CACHE", batch_env["FORMCHECK_CACHE"])
    monkeypatch.setenv("FORMCHECK_MODELS", batch_env["FORMCHECK_MODELS"])
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        ds = run_batch(
            [inputs, inputs.parent / "nowhere.mp4"], tmp_path / "out", client=client, progress=False
        )
        decoding = client.run(functools.partial(os.getenv, DECODE_INLINE_ENV))  # the workers' own
    assert len(ds.results) == 7 and os.getpid() not in {r.runtime["pid"] for r in ds.results}
    # 2 one-thread workers on one machine decode inline exactly when they fill its cores
    assert set(decoding.values()) == {"1" if 2 >= usable_cores() else "0"}
    local = tables(local_out)
    for name, df in ds.tables().items():
        pd.testing.assert_frame_equal(without_timing(df), without_timing(local[name]))


def test_batch_worker_decoding_inline_gives_the_same_tables_as_the_decoder_thread(
    inputs, batch_env, tmp_path, monkeypatch
):
    """The decode-inline worker (workers >= cores) and the decoder-thread worker compute the same
    poses (pose cache off) and so the same rows."""
    from formcheck_core.batch import ClipOptions, run_batch

    monkeypatch.setenv("FORMCHECK_MODELS", batch_env["FORMCHECK_MODELS"])
    monkeypatch.setenv("FORMCHECK_CACHE", str(tmp_path / "cache"))
    clips = [inputs / "posereader_good.mp4", inputs / "sub" / "posereader_rdl.mp4"]
    got = {}
    for inline in ("1", "0"):
        monkeypatch.setenv(DECODE_INLINE_ENV, inline)  # the user's setting wins in the workers
        ds = run_batch(clips, tmp_path / inline, options=ClipOptions(cache=False), workers=1, progress=False)
        assert (ds.clips["status"] != "error").all() and ds.clips["samples"].min() > 0
        got[inline] = ds.tables()
    for name in TABLES:
        pd.testing.assert_frame_equal(without_timing(got["1"][name]), without_timing(got["0"][name]))


def test_batch_worker_lets_glibc_reuse_frame_buffers_only_where_the_environment_stopped_it():
    code = "from formcheck_core.batch.worker import reuse_frame_buffers; print(reuse_frame_buffers())"
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_ENV_VARS}
    env["PYTHONPATH"] = str(ROOT)
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    dask_like = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "MALLOC_TRIM_THRESHOLD_": "65536"},  # what Dask's nanny sets for its workers
        capture_output=True,
        text=True,
    )
    assert plain.stdout.strip() == "False", plain.stderr
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    assert dask_like.stdout.strip() == ("True" if glibc else "False"), dask_like.stderr


def test_ctrl_c_leaves_the_finished_clips_on_disk(inputs, batch_env, tmp_path):
    out = tmp_path / "out"
    stems = [
        "posereader_good",
        "posereader_arm_bend",
        "posereader_rdl",
        "posereader_bad",
        "posereader_heellift",
    ]
    paths = [str(p) for p in sorted(inputs.rglob("*.mp4")) if p.stem in stems]
    # every frame (30 fps): poses not cached yet, so each clip takes a few seconds
    cmd = [
        sys.executable,
        "-m",
        "formcheck_core",
        "batch",
        *paths,
        "--out",
        str(out),
        "--workers",
        "1",
        "--fps",
        "30",
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd, env=batch_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 600
    while (
        not list((out / "clips").glob("*/rows.json")) and time.monotonic() < deadline and proc.poll() is None
    ):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    done = sorted(p.parent.name for p in (out / "clips").glob("*/rows.json"))
    assert 1 <= len(done) < len(paths)
    clips = pd.read_parquet(out / "clips.parquet")
    assert sorted(clips["clip"]) == done  # the tables hold exactly the finished clips
    assert all((out / "clips" / c / "analysis.json").is_file() for c in done)


def test_find_clips_takes_folders_recursively_globs_and_named_files(tmp_path):
    for rel in ("a/x.mp4", "a/deep/y.MOV", "a/notes.txt", "b/x.mp4", "c.webm"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found, notes = find_clips(
        [
            tmp_path / "a",
            str(tmp_path / "b" / "*.mp4"),
            tmp_path / "a" / "notes.txt",
            tmp_path / "c.webm",
            tmp_path / "a" / "x.mp4",
            str(tmp_path / "none" / "*.mp4"),
        ]
    )
    paths = [Path(s.path).relative_to(tmp_path).as_posix() for s in found]
    assert paths == [
        "a/deep/y.MOV",
        "a/x.mp4",
        "b/x.mp4",
        "a/notes.txt",
        "c.webm",
    ]  # given order, no duplicate
    names = [s.clip for s in found]
    assert len(set(names)) == len(names) and names[0] == "y" and names[1].startswith("x-")
    # a folder's other files are named as skipped (a clip with an unusual ending is not lost
    # silently); a pattern matching nothing is said as such
    assert len(notes) == 2, notes
    assert "skipped 1 file not named as a video (notes.txt)" in notes[0]
    assert "none" in notes[1] and "no file or folder matches this pattern" in notes[1]


def test_bad_options_fail_before_any_clip_runs(inputs, batch_env, tmp_path):
    proc = cli(
        "batch", str(inputs), "--out", str(tmp_path / "out"), "--threshold", "bent_arms.nope=3", env=batch_env
    )
    assert proc.returncode == 4, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("formcheck: error")]
    assert len(errors) == 1 and "nope" in errors[0]
    assert not (tmp_path / "out").exists()
    proc = cli("batch", str(tmp_path / "empty-*.mp4"), "--out", str(tmp_path / "out"), env=batch_env)
    assert proc.returncode == 1 and "no clips to analyse" in proc.stderr


def test_one_analysis_gives_the_same_rows_as_the_batch(first_run, inputs, batch_env, monkeypatch):
    from formcheck_core.analysis import analyze
    from formcheck_core.batch import Dataset

    _, out = first_run
    monkeypatch.setenv("FORMCHECK_CACHE", batch_env["FORMCHECK_CACHE"])  # the batch's poses
    one = Dataset.from_analysis(analyze(inputs / "sub" / "posereader_arm_bend.mp4", progress=False))
    batch = tables(out)
    for name, df in one.tables().items():
        mine = batch[name][batch[name]["clip"] == "posereader_arm_bend"]
        assert len(df) == len(mine) > 0
        pd.testing.assert_frame_equal(without_timing(df), without_timing(mine))


def test_report_option_renders_each_clips_html(inputs, batch_env, tmp_path, monkeypatch):
    from formcheck_core.batch import run_batch

    monkeypatch.setenv("FORMCHECK_CACHE", batch_env["FORMCHECK_CACHE"])
    clip = inputs / "posereader_good.mp4"
    ds = run_batch([clip], tmp_path, workers=1, report=True, progress=False)
    assert ds.clips["status"].tolist() == ["ok"], ds.clips["error"].tolist()
    page = tmp_path / "clips" / "posereader_good" / "index.html"
    assert page.is_file() and "<html" in page.read_text()[:500].lower()
    # a run without --report reuses the rendered result; a later --report run would too
    assert run_batch([clip], tmp_path, workers=1, progress=False).skipped == 1
    assert run_batch([clip], tmp_path, workers=1, report=True, progress=False).skipped == 1


def test_labels_join_ground_truth_and_score_each_rule(first_run, inputs, batch_env, shared, dev_labels):
    _, out = first_run
    labels_file = shared / "videos" / "labels_dev.json"
    proc = cli(
        "batch", str(inputs), "--out", str(out), "--quiet", "--labels", str(labels_file), env=batch_env
    )
    assert proc.returncode == 1 and "already analysed" in proc.stderr, proc.stderr
    assert "rules against the labels" in proc.stdout
    joined, scores = pd.read_parquet(out / "labels.parquet"), pd.read_parquet(out / "rule_scores.parquet")
    assert sorted(joined["clip"].unique()) == sorted(CLIPS)  # the made-up files have no labels
    assert joined.groupby("clip").size().nunique() == 1  # every labelled clip x every rule
    findings = tables(out)["findings"]
    for rule in ("bent_arms", "heel_lift"):  # rules whose label key is their id
        truth = {c: dev_labels[c]["faults"].get(rule) for c in CLIPS}
        known = {c: v for c, v in truth.items() if isinstance(v, bool)}
        mine = findings[findings["rule_id"] == rule]
        measured = {c for c in known if mine[(mine["clip"] == c) & mine["status"].isin(["fault", "ok"])].size}
        flagged = {
            c for c in measured if mine[mine["clip"] == c]["verdict_role"].isin(["fault", "note"]).any()
        }
        row = scores.set_index("rule_id").loc[rule]
        assert (row["n"], row["not_measured"]) == (len(measured), len(known) - len(measured))
        assert row["tp"] == sum(known[c] for c in flagged)
        assert row["fp"] == sum(not known[c] for c in flagged)
        assert row["tp"] + row["fp"] + row["tn"] + row["fn"] == row["n"]
    assert (joined["flagged"].notna()).all()  # every labelled clip was analysed


def _pool_workers(pid: int, psutil) -> list:
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in cmd and "resource_tracker" not in cmd:
            out.append(child)
    return out


def test_a_worker_that_dies_is_replaced_and_a_clip_that_kills_it_twice_becomes_an_error_row(
    inputs, batch_env, tmp_path
):
    """SIGKILL the pool's worker twice while it runs the first clip (as the OOM killer would)."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    paths = [str(inputs / "posereader_good.mp4"), str(inputs / "posereader_bad.mp4")]
    cmd = [
        sys.executable,
        "-m",
        "formcheck_core",
        "batch",
        *paths,
        "--out",
        str(out),
        "--workers",
        "1",
        "--fps",
        "30",
        "--quiet",
    ]
    env = {**batch_env, "FORMCHECK_CACHE": str(tmp_path / "cache")}  # no cached poses: the clip takes time
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while len(killed) < 2 and time.monotonic() < deadline and proc.poll() is None:
            workers = [w for w in _pool_workers(proc.pid, psutil) if w.pid not in killed]
            if workers:
                time.sleep(1.0)  # the worker has the first clip
                workers[0].kill()
                killed.append(workers[0].pid)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(killed) == 2, stderr
    assert proc.returncode == 1 and "Traceback" not in stderr, stdout + stderr
    clips = pd.read_parquet(out / "clips.parquet").set_index("clip")
    assert clips.loc["posereader_good", "status"] == "error"
    assert clips.loc["posereader_good", "error_type"] == "WorkerCrashError"
    assert clips.loc["posereader_good", "exit_code"] == 70
    assert "worker process died" in clips.loc["posereader_good", "error"]
    assert clips.loc["posereader_bad", "status"] != "error"  # the batch went on in a fresh pool


def test_a_clip_the_rule_cannot_measure_is_not_a_true_negative(dev_clip, shared, tmp_path):
    """A front view scored as a true negative of rounded_back (side view only): it is now counted
    "not measured", apart from the scores, as scripts/evaluate_rules.py counts it."""
    from formcheck_core.batch import run_batch

    ds = run_batch([dev_clip("front_b"), dev_clip("posereader_good")], tmp_path, workers=1, progress=False)
    assert ds.clips["status"].tolist() == ["ok", "ok"], ds.clips["error"].tolist()
    ds = ds.with_labels(shared / "videos" / "labels_dev.json")
    rows = ds.labels.set_index(["clip", "rule_id"])
    front = rows.loc[("front_b", "rounded_back")]
    assert front["label"] == False and front["measured"] == False and front["flagged"] == False  # noqa: E712
    side = rows.loc[("posereader_good", "rounded_back")]
    assert side["label"] == False and side["measured"] == True  # noqa: E712
    score = ds.rule_scores.set_index("rule_id").loc["rounded_back"]
    assert (score["n"], score["not_measured"]) == (1, 1)  # the side clip scored, the front one apart
    assert score["tn"] + score["fp"] == 1
    # a rule switched off by default measures nothing: no row of its scores is a "true negative"
    off = ds.rule_scores.set_index("rule_id").loc["bent_arms"]
    assert (off["n"], off["not_measured"], off["tn"]) == (0, 2, 0)
