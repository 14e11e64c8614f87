"""Where things live: the shared data folder, the models folder and the pose cache.

Every location is one setting with an environment variable, so a user can point formcheck at
their own clips and models without editing code.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root when running from a checkout (``formcheck_core/..``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Default analysis sampling rate in frames per second.
DEFAULT_FPS = 10.0


def shared_dir() -> Path:
    """Folder of shared clips and labels: ``$FORMCHECK_SHARED`` or ``../shared`` beside the repo."""
    env = os.environ.get("FORMCHECK_SHARED")
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared"


def models_dir() -> Path:
    """Folder holding model files: ``$FORMCHECK_MODELS`` or ``models/`` in the repo."""
    env = os.environ.get("FORMCHECK_MODELS")
    return Path(env).expanduser() if env else REPO_ROOT / "models"


def cache_dir() -> Path:
    """Folder for cached pose series: ``$FORMCHECK_CACHE`` or ``~/.cache/formcheck``."""
    env = os.environ.get("FORMCHECK_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "formcheck"
