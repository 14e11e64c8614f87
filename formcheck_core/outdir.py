"""The output folder of ``formcheck analyze``: checked before any work, written atomically.

Everything is first written into a temporary sibling folder (``.<name>.formcheck-XXXX``), then
moved into place entry by entry (``os.replace`` / rename), so a reused folder never mixes the
previous clip's stills with this one's, an interrupted run leaves the previous outputs whole,
and files of the user's own in the folder are left alone. A folder whose ``index.html``,
``plots/``, ... formcheck did not write (no formcheck ``analysis.json`` beside them), or that holds
the clip being analysed under one of those names, is refused before any work: replacing them
would lose the user's files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import FormcheckError

#: Every name formcheck writes into an output folder (files and folders).
OUTPUT_NAMES = ("analysis.json", "summary.txt", "index.html", "annotated.mp4", "stills", "plots")
DEFAULT_ROOT = Path("formcheck-out")
_STAGE_MARK = ".formcheck-"


def default_out_dir(video: str | Path) -> Path:
    """``formcheck-out/<clip stem>-<6 hex of the clip's absolute path>``: two ``IMG_0001.mov`` from
    different folders get different folders; the same clip reuses its own."""
    p = Path(video).expanduser().absolute()
    return DEFAULT_ROOT / f"{p.stem}-{hashlib.sha256(str(p).encode()).hexdigest()[:6]}"


def _fail(out: Path, why: str) -> FormcheckError:
    return FormcheckError(
        f"--out {out}: {why}. Choose a folder you can write to (e.g. --out ~/formcheck-report)."
    )


def os_error_message(exc: OSError, what: str) -> str:
    """One line for an OSError while ``what`` (e.g. "writing the report"), saying what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full while {what}{where}: free some space or choose another --out folder."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission while {what}{where} ({exc.strerror}): choose a folder you can write to."
    return f"{what} failed{where}: {exc.strerror or exc}."


def _written_by_formcheck(analysis_json: Path) -> bool:
    """Whether ``analysis_json`` is an analysis formcheck wrote (a JSON object with its schema version)."""
    try:
        with analysis_json.open(encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return False
    return isinstance(doc, dict) and "schema_version" in doc and "video" in doc


def _not_ours(out: Path) -> list[str]:
    """The names formcheck writes that ``out`` holds although no formcheck analysis is beside them."""
    present = [n for n in OUTPUT_NAMES if (out / n).exists() or (out / n).is_symlink()]
    return [] if not present or _written_by_formcheck(out / "analysis.json") else present


def _input_among_outputs(out: Path, video: Path) -> Path | None:
    """The output entry of ``out`` that is (or holds) ``video``, which a run would replace."""
    clip = video.expanduser().resolve()
    for name in OUTPUT_NAMES:
        entry = (out / name).resolve()
        if clip == entry or entry in clip.parents:
            return out / name
    return None


def missing_dirs(out: str | Path) -> list[Path]:
    """The folders :func:`check_out_dir` would create for ``out``: ``out`` and its missing
    parents, deepest first (for :func:`remove_unused`)."""
    out = Path(out).expanduser()
    return [d for d in (out, *out.parents) if not d.exists() and not d.is_symlink()]


def remove_unused(created: list[Path]) -> None:
    """Remove the folders in ``created`` (deepest first) that are still empty: a run that ended
    before writing anything leaves no empty report folder behind. Folders with anything in them
    are kept."""
    for d in created:
        try:
            d.rmdir()
        except OSError:
            return  # not empty (or gone): its parents are not empty either


def check_out_dir(out: str | Path, video: str | Path | None = None) -> Path:
    """Create ``out`` (and its parents) if needed and check it can be written and that the run
    replaces nothing of the user's (nor ``video`` itself); one-line error if not."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise _fail(out, "this is a file, not a folder")
    if out.is_dir():
        theirs = _not_ours(out)
        if theirs:
            raise FormcheckError(
                f"--out {out} already holds {', '.join(theirs)} that formcheck did not write (there "
                "is no formcheck analysis.json beside them), and a report would replace them. "
                "Choose a new or empty folder (e.g. --out ~/formcheck-report)."
            )
        inside = _input_among_outputs(out, Path(video)) if video is not None else None
        if inside is not None:
            raise FormcheckError(
                f"--out {out}: the report would replace the clip being analysed ({inside}). "
                "Choose another folder (e.g. --out ~/formcheck-report)."
            )
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _fail(out, f"{parent} is a file, not a folder")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{out.name}{_STAGE_MARK}", dir=out.parent)
        Path(probe).rmdir()
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise _fail(out, f"cannot be written ({exc.strerror or exc})") from None
    return out


@contextmanager
def staged_output(out: str | Path) -> Iterator[Path]:
    """A temporary sibling folder to write into; on success its entries replace ``out``'s
    formcheck outputs (outputs it lacks are removed from ``out``). On failure it is deleted and
    ``out`` is untouched."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{_STAGE_MARK}", dir=out.parent))
    try:
        yield stage
        publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, out: Path) -> None:
    """Move ``stage``'s entries into ``out``; remove ``out``'s formcheck outputs ``stage`` lacks."""
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}{_STAGE_MARK}old-", dir=out.parent))
    try:
        for name in OUTPUT_NAMES:
            new, old = stage / name, out / name
            if old.is_dir() and not old.is_symlink():
                old.rename(trash / name)  # whole folder out of the way (a rename: instant)
            if new.exists():
                new.replace(old)  # a file over a file is atomic
            elif old.exists() or old.is_symlink():
                old.unlink()
    finally:
        shutil.rmtree(trash, ignore_errors=True)
