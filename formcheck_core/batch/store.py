"""Per-clip results on disk, written as each clip finishes: ``OUT/clips/<clip>/analysis.json``
(the ``formcheck analyze`` export) and ``rows.json`` (the clip's table rows plus the key of the
input and options that produced them). ``rows.json`` is written last and atomically, so its
presence means the clip is complete; the tables are assembled from these files.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .rows import ClipRows

ROWS_FILE = "rows.json"
ANALYSIS_FILE = "analysis.json"
CLIPS_DIR = "clips"
#: Failed clips with these exit codes are retried by the next run (a model missing, an internal
#: error, a worker crash: the machine, not the clip); other failures (an unreadable file) are not,
#: since the same bytes fail the same way.
RETRIED_EXIT_CODES = (3, 70)


def clip_dir(out: str | Path, clip: str) -> Path:
    return Path(out) / CLIPS_DIR / clip


def result_key(sha256: str | None, options_fingerprint: str) -> str | None:
    """Key of one clip's result: its content hash and the options' fingerprint (None: file unreadable)."""
    if sha256 is None:
        return None
    return hashlib.sha256(f"{sha256}:{options_fingerprint}".encode()).hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def save(out: str | Path, rows: ClipRows, *, key: str | None, report: bool) -> Path:
    """Write one finished clip (its analysis first, then its rows); returns the rows file."""
    folder = clip_dir(out, rows.clip["clip"])
    folder.mkdir(parents=True, exist_ok=True)
    analysis = folder / ANALYSIS_FILE
    if rows.analysis_json is not None:
        _atomic_write(analysis, rows.analysis_json)
    else:
        analysis.unlink(missing_ok=True)  # a stale result of an earlier run must not sit beside an error
    record: dict[str, Any] = {"key": key, "report": report, **rows.to_record()}
    path = folder / ROWS_FILE
    _atomic_write(path, json.dumps(record, indent=1, allow_nan=False))
    return path


def load(out: str | Path, clip: str) -> tuple[ClipRows, dict[str, Any]] | None:
    """A stored clip's rows and its record (key, report), or None if absent or unreadable."""
    path = clip_dir(out, clip) / ROWS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return ClipRows.from_record(record), record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def finished(out: str | Path, clip: str, key: str | None, *, report: bool) -> ClipRows | None:
    """The stored rows if this clip was already analysed with this key (and rendered, if ``report``);
    a failure is final only for an exit code outside :data:`RETRIED_EXIT_CODES`."""
    if key is None:
        return None
    stored = load(out, clip)
    if stored is None:
        return None
    rows, record = stored
    if record.get("key") != key or (report and not record.get("report")):
        return None
    if rows.status == "error":
        return None if rows.clip.get("exit_code") in RETRIED_EXIT_CODES else rows
    if not (clip_dir(out, clip) / ANALYSIS_FILE).is_file():
        return None
    return rows
