"""``formcheck batch`` says why a clip is posed again though its pose is cached, once per kind.

Real MediaPipe on two short dev clips whose cached pose predates back rows (a temporary copy of
their cache entries without the rows: the shared cache is never modified), in a local pool.
"""

from __future__ import annotations

import shutil

import pytest

from formcheck_core.analysis import BACK_REPOSE_NOTE, SHOT_REPOSE_NOTE
from formcheck_core.batch.notes import NoteTally, note_kind

CLIPS = ("posereader_good", "posereader_rdl")


def test_each_kind_of_note_is_said_once_then_counted():
    said: list[str] = []
    tally = NoteTally(said.append)
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        tally.add(f"{name}: {BACK_REPOSE_NOTE}")
    tally.add(f"d.mp4: {SHOT_REPOSE_NOTE} (2 scene cut(s))")
    tally.close()
    assert note_kind(f"x.mp4: {SHOT_REPOSE_NOTE} (1 scene cut(s))") == SHOT_REPOSE_NOTE
    assert [s for s in said if BACK_REPOSE_NOTE in s] == [
        f"a.mp4: {BACK_REPOSE_NOTE} (said once; the clips that need it are counted at the end)",
        f"3 clips: {BACK_REPOSE_NOTE}",
    ]
    assert sum(SHOT_REPOSE_NOTE in s for s in said) == 1  # one clip: said, not counted


@pytest.mark.slow
def test_a_batch_over_a_cache_without_back_rows_says_the_one_time_pass_once(
    dev_clip, pose_model, tmp_path, monkeypatch
):
    from formcheck_core.analysis import pose_key
    from formcheck_core.batch.options import ClipOptions
    from formcheck_core.batch.runner import run_batch
    from formcheck_core.cache import cache_dir
    from formcheck_core.config import DEFAULT_FPS
    from formcheck_core.models.pose_model import model_id
    from formcheck_core.scene_cuts import cuts_cache_key
    from formcheck_core.video import file_sha256

    cache = tmp_path / "cache"
    copied = 0
    for stem in CLIPS:
        sha = file_sha256(dev_clip(stem))
        key = pose_key(sha, model_id(pose_model), DEFAULT_FPS, "video", 1)
        for entry in (f"pose/{key}.npz", f"cuts/{cuts_cache_key(sha)}.npz"):  # no back rows
            if (cache_dir() / entry).is_file():
                (cache / entry).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(cache_dir() / entry, cache / entry)
                copied += entry.startswith("pose/")
    if copied < len(CLIPS):  # a cold cache: pose them once, then drop the rows
        monkeypatch.setenv("FORMCHECK_CACHE", str(cache))
        run_batch([dev_clip(s) for s in CLIPS], tmp_path / "warm", workers=1, progress=False)
        shutil.rmtree(cache / "back")
    monkeypatch.setenv("FORMCHECK_CACHE", str(cache))
    monkeypatch.setenv("FORMCHECK_MODELS", str(pose_model.parent))
    said: list[str] = []
    ds = run_batch(
        [dev_clip(s) for s in CLIPS],
        tmp_path / "out",
        options=ClipOptions(),
        workers=1,
        progress=False,
        notes=said.append,
    )
    assert (ds.clips["status"] != "error").all(), ds.clips[["clip", "error"]]
    about = [s for s in said if BACK_REPOSE_NOTE in s]
    assert len(about) == 2, said  # once in full (naming the first clip), then the count
    assert any(f"{s}.mp4" in about[0] for s in CLIPS) and "said once" in about[0]
    assert about[1] == f"{len(CLIPS)} clips: {BACK_REPOSE_NOTE}"
    assert any((cache / "back").rglob("*.npz"))  # the rows are cached now: the next batch is quiet
    said.clear()
    run_batch([dev_clip(s) for s in CLIPS], tmp_path / "again", workers=1, progress=False, notes=said.append)
    assert not [s for s in said if BACK_REPOSE_NOTE in s], said
