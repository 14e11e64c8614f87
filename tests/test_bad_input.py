"""Bad input never gives a traceback: a one-line error and a non-zero exit, or a clear warning.

Every file here is made by the test itself in a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clipmaker import add_display_rotation, source_frames, write_h264

from formcheck_core.errors import VideoError
from formcheck_core.video import probe_video, read_frame


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``formcheck`` in a subprocess, as a user would."""
    cmd = [sys.executable, "-m", "formcheck_core", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)


def assert_clean_failure(proc: subprocess.CompletedProcess, code: int, *phrases: str) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("formcheck: error")]
    assert len(errors) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in errors[0]


def test_missing_file(tmp_path):
    proc = run_cli("analyze", str(tmp_path / "nope.mp4"), cwd=tmp_path)
    assert_clean_failure(proc, 2, "No such file")


def test_text_file_named_mp4(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    proc = run_cli("analyze", str(fake), cwd=tmp_path)
    assert_clean_failure(proc, 2, "could not be opened as a video")


@pytest.mark.parametrize("out", [None, "new/report", "mine/new/report", "mine"])
def test_a_bad_clip_leaves_no_empty_report_folder(out, tmp_path):
    """The --out folder (default formcheck-out/<clip>-<hash>) and its missing parents are created
    to check they can be written; a run that fails before writing anything removes them again,
    and nothing else: a folder of the user's on the --out path (``mine``, empty, the easiest to
    remove by mistake) is kept, whether it is the --out itself or one of its parents."""
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    (tmp_path / "mine").mkdir()  # a folder of the user's, empty: kept
    proc = run_cli("analyze", str(fake), *(["--out", out] if out else []), cwd=tmp_path)
    assert_clean_failure(proc, 2, "could not be opened as a video")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "notes.mp4"]
    assert not list((tmp_path / "mine").iterdir()), "only the folders the run created are removed"


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    proc = run_cli("analyze", str(empty), cwd=tmp_path)
    assert_clean_failure(proc, 2, "empty (0 bytes)")


def _audio_only(path: Path) -> Path:
    """Two seconds of a 440 Hz tone in an .mp4 with no video track."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * 44100) / 44100)).astype(np.float32)
        for start in range(0, tone.size, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 44100
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _photo(path: Path, dev_clip) -> Path:
    """A photo of the lifter (a frame of a dev clip, only in the test's temporary folder)."""
    import cv2

    ok, jpeg = cv2.imencode(".jpg", read_frame(dev_clip("posereader_good"), 0))
    assert ok
    path.write_bytes(jpeg.tobytes())
    return path


def test_audio_only_file_says_it_has_no_picture(tmp_path):
    proc = run_cli("analyze", str(_audio_only(tmp_path / "voice memo.mp4")), cwd=tmp_path)
    assert_clean_failure(proc, 2, "only sound, no picture")


@pytest.mark.parametrize("name", ["lift.jpg", "lift photo.mp4"])
def test_a_photo_is_a_still_image_not_a_one_sample_clip(name, tmp_path, dev_clip):
    """A photo (even one renamed .mp4) is refused up front, not analysed as a 1-sample clip."""
    proc = run_cli(
        "analyze", str(_photo(tmp_path / name, dev_clip)), "--out", str(tmp_path / "o"), cwd=tmp_path
    )
    assert_clean_failure(proc, 2, "still image (JPEG), not a video")
    assert not (tmp_path / "o" / "analysis.json").exists()


def test_a_single_frame_video_is_a_still_and_two_frames_are_a_video(tmp_path, dev_clip):
    frames = [read_frame(dev_clip("posereader_good"), i) for i in (0, 1)]
    one = write_h264(tmp_path / "one frame.mp4", frames[:1], 30)
    assert_clean_failure(run_cli("analyze", str(one), cwd=tmp_path), 2, "a single frame, not a video")
    two = write_h264(tmp_path / "two frames.mp4", frames, 30)
    assert probe_video(two).width_px == frames[0].shape[1]  # short, but a video: analysed with a warning


def test_ffmpeg_reasons_are_words_without_errno_numbers(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    proc = run_cli("analyze", str(fake), cwd=tmp_path)
    assert_clean_failure(proc, 2, "(Invalid data found when processing input)")
    assert "Errno" not in proc.stderr


def test_batch_over_a_folder_of_bad_files_says_why_for_each(tmp_path, dev_clip):
    folder = tmp_path / "clips ü"
    folder.mkdir()
    _audio_only(folder / "audio.mp4")
    _photo(folder / "photo.mp4", dev_clip)
    (folder / "empty.mp4").touch()
    (folder / "photo.jpg").write_bytes((folder / "photo.mp4").read_bytes())  # not a video name: skipped
    proc = run_cli(
        "batch", str(folder), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet", cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    import csv

    with (tmp_path / "out" / "clips.csv").open() as f:
        rows = {r["clip"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"audio", "photo", "empty"}
    assert {r["status"] for r in rows.values()} == {"error"}
    assert "only sound" in rows["audio"]["error"]
    assert "still image" in rows["photo"]["error"]
    assert "empty (0 bytes)" in rows["empty"]["error"]


def test_batch_over_folders_without_clips_says_why_once(tmp_path):
    """A folder with no video (empty, or only other files) stops the batch with one error line
    that says what was there and which names are read as videos; nothing is written."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x")
    (tmp_path / "docs" / "lift.flv").write_bytes(b"x")
    for folder, said in (("empty", "the folder holds no files"), ("docs", "(lift.flv, notes.txt)")):
        proc = run_cli("batch", folder, "--out", "out", "--quiet", cwd=tmp_path)
        assert_clean_failure(proc, 1, "no clips to analyse", folder, said)
        assert proc.stderr.count(folder + ":") == 1, proc.stderr  # said once, not as a note and again
    assert ".mp4" in proc.stderr and "named on the command line is tried" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_compare_reads_folders_like_batch_and_names_missing_files_like_analyze(
    tmp_path, dev_clip, pose_model
):
    """`formcheck compare FOLDER` said "No such file: FOLDER" of a folder that exists; a missing
    clip exited 1, where analyze and batch say exit 2; a missing labels file showed "[Errno 2]"."""
    import shutil

    (tmp_path / "set 1").mkdir()
    shutil.copy(dev_clip("reel_good_14"), tmp_path / "set 1" / "lift.mp4")
    (tmp_path / "set 1" / "notes.txt").write_text("x")
    proc = run_cli("compare", "set 1", "--no-llm", "--no-labels", "--bootstrap", "100", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "lift: rules" in proc.stderr and "skipped 1 file not named as a video (notes.txt)" in proc.stderr
    assert "scored: 1 clip(s)" in proc.stdout
    proc = run_cli("compare", "nope.mp4", "--no-llm", cwd=tmp_path)
    assert_clean_failure(proc, 2, "No such file:", "nope.mp4")
    proc = run_cli("compare", "set 1", "--no-llm", "--labels", "nope.json", cwd=tmp_path)
    assert_clean_failure(proc, 1, "Cannot read labels nope.json (No such file or directory)")
    assert "Errno" not in proc.stderr


def test_batch_never_overwrites_tables_it_did_not_write(tmp_path, dev_clip):
    """A user's own clips.csv in --out is kept (it used to be overwritten); a file as --out is
    named; a previous batch's folder is reused as before."""
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "empty.mp4").touch()  # fails fast: no pose work needed to write the tables
    mine = tmp_path / "my folder"
    mine.mkdir()
    (mine / "clips.csv").write_text("date,lift,kg\n2026-01-02,deadlift,140\n")
    proc = run_cli("batch", str(clips), "--out", str(mine), "--quiet", cwd=tmp_path)
    assert_clean_failure(proc, 1, "clips.csv that no formcheck batch wrote", "new or empty folder")
    assert (mine / "clips.csv").read_text().startswith("date,lift,kg") and not (mine / "clips").exists()

    (tmp_path / "a file").write_text("x")
    proc = run_cli("batch", str(clips), "--out", str(tmp_path / "a file"), "--quiet", cwd=tmp_path)
    assert_clean_failure(proc, 1, "is a file, not a folder")

    out = tmp_path / "batch"
    for _ in range(2):  # the second run finds the first one's tables: its own, so they are replaced
        proc = run_cli("batch", str(clips), "--out", str(out), "--quiet", cwd=tmp_path)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "empty (0 bytes)" in (out / "clips.csv").read_text()


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(VideoError, match="is a folder"):
        probe_video(tmp_path)


def test_truncated_mp4(tmp_path, dev_clip, pose_model):
    data = dev_clip("posereader_good").read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) * 2 // 5])
    proc = run_cli("analyze", str(cut), "--quiet", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (1, 2), proc.stderr
    assert proc.stderr.strip(), "a truncated file must be explained"


def test_a_copy_cut_before_its_index_is_called_cut_short_not_a_non_video(tmp_path, dev_clip):
    """gym1080_bad_03 keeps its index (moov) at the end, as cameras write it: a copy that stopped at
    30 % has the pictures but no index, which FFmpeg only calls "Invalid data"."""
    data = dev_clip("gym1080_bad_03").read_bytes()
    assert data.find(b"moov") > len(data) // 2  # the premise: the index comes after the pictures
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 3 // 10])
    proc = run_cli("analyze", str(cut), "--quiet", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert_clean_failure(proc, 2, str(cut), "was cut short", "Copy the clip again")
    assert not (tmp_path / "o").exists()


def test_a_file_the_index_check_cannot_read_is_not_called_cut_short(tmp_path):
    """The index check runs inside the "could not open" path: a file it cannot read (here a folder,
    which raises IsADirectoryError as an unreadable clip raises PermissionError) must leave the
    error to the caller's VideoError, not escape as an OSError (it did in review: exit 1, not 2)."""
    from formcheck_core.mp4_index import cut_before_index

    assert cut_before_index(tmp_path) is False
    assert cut_before_index(tmp_path / "missing.mp4") is False


@pytest.mark.parametrize("share", [3, 8])
def test_a_cut_copy_is_called_truncated_when_its_header_gives_no_frame_count(share, tmp_path, dev_clip):
    """phone_side_a's header states its duration but no frame count (as phones write it), and its
    index is at the front, so a cut copy opens and its missing end must still be reported."""
    from formcheck_core.clip_warnings import truncation_warnings

    clip = dev_clip("phone_side_a")
    assert probe_video(clip).frame_count_header == 0  # the premise
    assert truncation_warnings(probe_video(clip)) == []
    cut = tmp_path / "cut.mp4"
    data = clip.read_bytes()
    cut.write_bytes(data[: len(data) * share // 10])
    (warning,) = truncation_warnings(probe_video(cut))
    assert "looks truncated" in warning and "promises 133 frames" in warning


def test_clip_with_no_person(tmp_path, pose_model):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(60):  # 2 s of a drifting gradient with noise: no person anywhere
        x = np.linspace(0, 255, 320, dtype=np.float32)[None, :] + i * 2
        img = np.repeat(np.repeat(x, 240, axis=0)[..., None], 3, axis=2) % 256
        frames.append((img + rng.integers(0, 20, img.shape)).clip(0, 255).astype(np.uint8))
    clip = write_h264(tmp_path / "empty_room.mp4", frames, 30)
    proc = run_cli("analyze", str(clip), "--quiet", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Insufficient pose data" in proc.stdout
    report = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert report["ok"] is False and report["reps"] == []
    assert report["pose"]["samples"] == 20  # 2 s at 10 fps: frames with no pose stay in the timeline


def test_clip_under_one_second(tmp_path, dev_clip, pose_model):
    frames, fps = source_frames(dev_clip("posereader_good"), max_s=0.6)
    clip = write_h264(tmp_path / "short.mp4", frames, fps)
    proc = run_cli("analyze", str(clip), "--quiet", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "under 1 s" in proc.stdout


def _pose(info, n: int, sample_fps: float | None, found: int):
    """A PoseSeries of ``n`` samples at ``sample_fps`` over ``info``'s clip, a person in the first ``found``."""
    from formcheck_core.pose.series import PoseSeries

    step = 1 / (sample_fps or info.fps)
    xy = np.full((n, 33, 2), np.nan)
    xy[:found] = 100.0
    return PoseSeries(
        frame_index=np.round(np.arange(n) * step * info.fps).astype(int),
        time_s=np.arange(n) * step,
        image_xy_px=xy,
        image_z=np.zeros((n, 33)),
        world_xyz_m=np.zeros((n, 33, 3)),
        visibility=np.ones((n, 33)),
        people_count=(np.arange(n) < found).astype(int),
        width_px=600,
        height_px=600,
        source_fps=info.fps,
        sample_fps=sample_fps,
        model_id="test",
        running_mode="video",
    )


#: A 2.1 s clip at 30 fps (posereader_good's shape): (--fps, samples, people found, what is said).
SAMPLING_CASES = [
    (0.01, 1, 1, "to measure a rep: 1 frame sampled from the 2.1 s clip at --fps 0.01"),
    (0.5, 2, 2, "to measure a rep: 2 frames sampled from the 2.1 s clip at --fps 0.5"),
    (1, 3, 3, "to measure a rep: 3 frames sampled from the 2.1 s clip at --fps 1"),
    (3, 7, 7, "Sparse sampling: 7 frames sampled from the 2.1 s clip at --fps 3"),
    (10, 21, 2, "a person was found in 2 of 21 sampled frames. Film the whole body"),
    (10, 21, 21, None),
    (None, 63, 63, None),  # every frame
]


@pytest.mark.parametrize("fps, n, found, said", SAMPLING_CASES)
def test_sparse_sampling_is_blamed_not_the_clip_or_the_filming(fps, n, found, said):
    """At a low --fps the warning says the sampling is sparse (samples, the clip's duration, the
    default --fps), not "Clip is short" (the clip is 2.1 s) nor "Film the whole body"."""
    from formcheck_core.clip_warnings import TOO_FEW_SAMPLES, pose_warnings
    from formcheck_core.video import VideoInfo

    info = VideoInfo("c.mp4", 600, 600, 30.0, 63, 0, 1)
    warnings = pose_warnings(_pose(info, n, fps, found), info)
    assert not any("Clip is short" in w for w in warnings), warnings
    if said is None:
        assert warnings == []
        return
    assert len(warnings) == 1 and said in warnings[0], warnings
    if n < 5:
        assert warnings[0].startswith(TOO_FEW_SAMPLES)
    if fps is not None and fps < 10:
        assert warnings[0].endswith("Use --fps 10 (the default) or more.") and "Film" not in warnings[0]


def test_a_short_clip_is_still_called_short():
    from formcheck_core.clip_warnings import pose_warnings
    from formcheck_core.video import VideoInfo

    info = VideoInfo("c.mp4", 600, 600, 30.0, 18, 0, 1)  # 0.6 s
    warnings = pose_warnings(_pose(info, 6, 10.0, 6), info)
    assert any(w.startswith("Clip is short (0.6 s, under 1 s; 6 samples)") for w in warnings), warnings


@pytest.mark.parametrize("fps", ["0.01", "1"])
def test_a_very_low_fps_says_to_sample_more_not_to_film_again(fps, tmp_path, dev_clip, pose_model):
    """The real CLI on a 2.1 s clip: the warning and the one cue name the sampling and the default
    --fps; nothing says the clip is short or to film it again."""
    proc = run_cli(
        "analyze", str(dev_clip("posereader_good")), "--fps", fps, "--no-llm", "--no-report",
        "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    warning = next(line for line in proc.stdout.splitlines() if line.startswith("warning:"))
    assert "too few frames sampled" in warning and "2.1 s clip" in warning and "--fps 10" in warning
    assert "Clip is short" not in proc.stdout and "Film" not in proc.stdout
    assert "a higher --fps" in proc.stdout  # the cue


def test_rotated_phone_clip_reads_upright_and_analyses_like_the_original(tmp_path, dev_clip, pose_model):
    from formcheck_core.analysis import analyze

    original = dev_clip("phone_side_a")
    frames, fps = source_frames(original)
    stored = write_h264(
        tmp_path / "stored_sideways.mp4", [np.ascontiguousarray(np.rot90(f)) for f in frames], fps
    )
    rotated = add_display_rotation(stored, tmp_path / "phone_rotated.mp4", -90)

    info = probe_video(rotated)
    assert (info.width_px, info.height_px) == (frames[0].shape[1], frames[0].shape[0])
    assert info.rotation_deg == 90
    assert np.abs(read_frame(rotated, 10).astype(int) - frames[10].astype(int)).mean() < 8  # upright

    a = analyze(original, progress=False, rules=False)
    b = analyze(rotated, progress=False, rules=False, cache=False)
    assert b.ok and len(b.reps) == len(a.reps)
    for ra, rb in zip(a.reps, b.reps, strict=False):
        assert abs(ra.moments["lockout"].time_s - rb.moments["lockout"].time_s) <= 0.2


def test_two_people_side_by_side(tmp_path, dev_clip, pose_model):
    left, fps = source_frames(dev_clip("posereader_good"))
    right, _ = source_frames(dev_clip("posereader_unoccluded"), max_s=len(left) / fps)
    n = min(len(left), len(right))
    clip = write_h264(tmp_path / "two_people.mp4", [np.hstack([left[i], right[i]]) for i in range(n)], fps)
    proc = run_cli(
        "analyze", str(clip), "--quiet", "--people", "2", "--out", str(tmp_path / "o2"), cwd=tmp_path
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "More than one person" in proc.stdout
    proc1 = run_cli("analyze", str(clip), "--quiet", "--out", str(tmp_path / "o1"), cwd=tmp_path)
    assert proc1.returncode in (0, 1) and "Traceback" not in proc1.stderr


def test_missing_pose_model_names_the_command(tmp_path, dev_clip, monkeypatch):
    monkeypatch.setenv("FORMCHECK_MODELS", str(tmp_path / "no-models"))
    proc = run_cli("analyze", str(dev_clip("posereader_good")), cwd=tmp_path)
    assert_clean_failure(proc, 3, "formcheck models install")


def test_corrupt_pose_model(tmp_path, dev_clip):
    bad = tmp_path / "broken.task"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    proc = run_cli("analyze", str(dev_clip("posereader_good")), "--pose-model", str(bad), cwd=tmp_path)
    assert_clean_failure(proc, 3, "not a valid .task bundle")


def test_ctrl_c_while_the_options_are_read_says_interrupted(tmp_path, dev_clip, monkeypatch, capsys):
    """A real SIGINT delivered while ``analyze``'s options are being built (their modules load
    then, about 0.25 s after start): one line and exit 130, no traceback."""
    import signal

    import formcheck_core.cli.analyze as analyze_cli
    from formcheck_core.cli import main

    original = analyze_cli.add_arguments

    def add_arguments_then_ctrl_c(parser):
        original(parser)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(analyze_cli, "add_arguments", add_arguments_then_ctrl_c)
    out = tmp_path / "o"
    assert main(["analyze", str(dev_clip("posereader_good")), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "formcheck: interrupted", err
    assert not out.exists(), "nothing is started before the options are read"


def test_a_plugin_that_is_not_installed_is_named_as_the_option_given(tmp_path, dev_clip):
    """``--plugins`` with a name nobody installed: the error names the option the user typed, not the
    environment variable it is passed through, and no clip is read (nothing written)."""
    out = tmp_path / "o"
    proc = run_cli(
        "analyze",
        str(dev_clip("posereader_good")),
        "--plugins",
        "not_installed",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert_clean_failure(proc, 4, "--plugins 'not_installed'", "no installed formcheck plugin named")
    assert "FORMCHECK_LOAD_PLUGINS" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("address", ["bogus", "tcp://host-without-port", "foo://host:1"])
def test_a_malformed_dask_scheduler_address_is_a_one_line_error(address, tmp_path, dev_clip):
    """Not an internal error (exit 70, "ValueError: missing port number"): exit 1 with the form to
    give, before any clip runs or any table is written."""
    out = tmp_path / "tables"
    proc = run_cli(
        "batch", str(dev_clip("posereader_good")), "--out", str(out), "--scheduler", address, cwd=tmp_path
    )
    assert_clean_failure(
        proc, 1, f"--scheduler {address!r} is not a Dask scheduler address", "tcp://HOST:PORT"
    )
    assert not out.exists()


def test_ctrl_c_that_leaves_an_object_half_built_prints_no_finaliser_traceback():
    """Ctrl-C can land while MediaPipe builds an Image, whose __del__ then fails (no native
    pointer yet): the run still ends with one line and exit code 130. The race is made
    deterministic here: the interrupted work leaves an object whose finaliser raises."""
    script = """
import sys
from formcheck_core import cli

class HalfBuilt:
    def __del__(self):
        raise AttributeError("'Image' object has no attribute '_image_ptr'")

def interrupted(argv):
    half = HalfBuilt()
    half.cycle = half  # only the garbage collector finalises it, after the interruption
    del half
    raise KeyboardInterrupt

cli._main = interrupted
sys.exit(cli.main([]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "formcheck: interrupted", proc.stderr
