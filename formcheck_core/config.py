"""Where things live: the shared data folder, the models folder and the pose cache.

Every location is one setting with an environment variable, so a user can point formcheck at
their own clips and models without editing code.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import FormcheckError

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


def config_file() -> Path:
    """The user config file: ``$FORMCHECK_CONFIG`` or ``~/.config/formcheck/config.toml``."""
    env = os.environ.get("FORMCHECK_CONFIG")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "formcheck" / "config.toml"


def config_table(section: str, path: Path | None = None) -> dict[str, Any]:
    """The ``[section]`` table of the user config file (``{}`` when the file or table is absent).

    Raises :class:`FormcheckError` when the file is not valid TOML.
    """
    path = config_file() if path is None else path
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get(section, {})
    except UnicodeDecodeError:
        raise FormcheckError(
            f"Config file {path} is not UTF-8 text; save it as UTF-8 or remove it."
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FormcheckError(f"Config file {path} is not valid TOML ({exc}); fix or remove it.") from None
    if not isinstance(table, dict):
        raise FormcheckError(f"Config file {path}: [{section}] must be a table.")
    return dict(table)
