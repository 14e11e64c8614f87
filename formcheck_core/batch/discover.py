"""Which clips a batch covers: files, folders (recursive, by video extension) and glob patterns."""

from __future__ import annotations

import glob
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: File name endings taken from a folder (case-insensitive). A file named explicitly is always taken.
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".3gp", ".mts", ".ts"}
)
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class ClipSource:
    """One clip of a batch: its ``path`` (absolute) and ``clip``, its unique name in the tables and
    the name of its folder under ``OUT/clips/`` (the file stem; a short hash of the path is added
    when two clips share a stem)."""

    path: str
    clip: str


def _expand(arg: str) -> list[Path]:
    p = Path(arg).expanduser()
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS)
    if not p.exists() and _GLOB_CHARS & set(arg):
        out: list[Path] = []
        for match in sorted(glob.glob(str(p), recursive=True)):
            out.extend(_expand(match) if Path(match).is_dir() else [Path(match)])
        return out
    return [p]  # a file, or a missing path: the analysis reports it like `formcheck analyze` does


def find_clips(paths: Iterable[str | Path]) -> tuple[list[ClipSource], list[str]]:
    """The clips named by ``paths`` in the order given (folders sorted), without duplicates, and
    notes about arguments that matched nothing (a glob with no match, a folder with no video).

    A path that does not exist (and is not a glob) is kept: its row will carry the same
    "No such file" error as ``formcheck analyze``.
    """
    found: list[Path] = []
    notes: list[str] = []
    for arg in paths:
        matches = _expand(str(arg))
        if not matches:
            notes.append(f"{arg}: no video files matched")
        found.extend(matches)
    unique = list(dict.fromkeys(p.absolute() for p in found))
    stems = Counter(p.stem for p in unique)

    def name(p: Path) -> str:
        if stems[p.stem] == 1:
            return p.stem
        return f"{p.stem}-{hashlib.sha1(str(p).encode()).hexdigest()[:8]}"

    return [ClipSource(path=str(p), clip=name(p)) for p in unique], notes
