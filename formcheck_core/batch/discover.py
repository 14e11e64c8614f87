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


def _is_video_name(f: Path) -> bool:
    return f.suffix.lower() in VIDEO_EXTENSIONS


def _others_note(folder: str, others: list[Path], videos: int) -> str:
    """What a folder held besides videos, in one line (up to three names)."""
    names = ", ".join(f.name for f in others[:3]) + (
        f" and {len(others) - 3} more" if len(others) > 3 else ""
    )
    what = f"{len(others)} file{'s' if len(others) != 1 else ''} not named as a video ({names})"
    if videos:
        return f"{folder}: skipped {what}; name a file on the command line to try it anyway"
    return (
        f"{folder}: no video files, only {what}; video names end in "
        f"{' '.join(sorted(VIDEO_EXTENSIONS))}, and a file named on the command line is tried whatever its name"
    )


def _expand(arg: str, notes: list[str]) -> list[Path]:
    p = Path(arg).expanduser()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        videos = [f for f in files if _is_video_name(f)]
        others = [f for f in files if not _is_video_name(f) and not f.name.startswith(".")]
        if others:
            notes.append(_others_note(arg, others, len(videos)))
        elif not videos:
            notes.append(f"{arg}: the folder holds no files")
        return videos
    if not p.exists() and _GLOB_CHARS & set(arg):
        out: list[Path] = []
        matches = sorted(glob.glob(str(p), recursive=True))
        for match in matches:
            out.extend(_expand(match, notes) if Path(match).is_dir() else [Path(match)])
        if not matches:
            notes.append(f"{arg}: no file or folder matches this pattern")
        return out
    return [p]  # a file, or a missing path: the analysis reports it like `formcheck analyze` does


def find_clips(paths: Iterable[str | Path]) -> tuple[list[ClipSource], list[str]]:
    """The clips named by ``paths`` in the order given (folders sorted), without duplicates, and
    notes about what was not taken (a glob with no match; a folder with no video, or the files in
    a folder not named as videos, which are skipped; hidden files are not mentioned).

    A path that does not exist (and is not a glob) is kept: its row will carry the same
    "No such file" error as ``formcheck analyze``.
    """
    found: list[Path] = []
    notes: list[str] = []
    for arg in paths:
        found.extend(_expand(str(arg), notes))
    unique = list(dict.fromkeys(p.absolute() for p in found))
    stems = Counter(p.stem for p in unique)

    def name(p: Path) -> str:
        if stems[p.stem] == 1:
            return p.stem
        return f"{p.stem}-{hashlib.sha1(str(p).encode()).hexdigest()[:8]}"

    return [ClipSource(path=str(p), clip=name(p)) for p in unique], notes
