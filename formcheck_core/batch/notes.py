"""The pose-pass notes of a batch's clips, said once each (:class:`NoteTally`).

``formcheck analyze`` prints why a cached clip is posed again (a pose cache from before back
rows, a clip with scene cuts, a clip whose tracker switched people) on stderr. A batch runs its clips without progress bars, in other
processes or on a cluster; each clip's notes come back with its rows (``ClipRows.notes``), and the
driver says each kind of note once, as the first clip gives it, then how many clips gave it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..analysis import BACK_REPOSE_NOTE, SHOT_REPOSE_NOTE
from ..pose.follow import FOLLOW_NOTE

#: The kinds of note a clip can give (the rest of a note names the clip).
KINDS: tuple[str, ...] = (BACK_REPOSE_NOTE, SHOT_REPOSE_NOTE, FOLLOW_NOTE)


def note_kind(note: str) -> str:
    """The kind of ``note`` (one of :data:`KINDS`), else the note after its clip's name."""
    return next((k for k in KINDS if k in note), note.split(": ", 1)[-1])


class NoteTally:
    """Says each kind of note once through ``say`` (the first clip's note, in full) and counts the
    clips per kind; :meth:`close` says the counts of kinds more than one clip gave."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self.counts: dict[str, int] = {}

    def add(self, note: str) -> None:
        kind = note_kind(note)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] == 1:
            self._say(f"{note} (said once; the clips that need it are counted at the end)")

    def close(self) -> None:
        for kind, n in self.counts.items():
            if n > 1:
                self._say(f"{n} clips: {kind}")
