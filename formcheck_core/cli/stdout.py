"""Standard output that survives its reader leaving (``formcheck analyze clip.mp4 | head``).

Without it the first ``print`` after ``head`` exits raises BrokenPipeError, which stopped the run
before the report was written and printed a misleading "reading or writing files failed" line.
With it the rest of the printed text is dropped and the run goes on to write every file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class ReaderTolerantStdout:
    """Wraps a text stream: once writing to it raises BrokenPipeError, its file descriptor is
    pointed at the null device and every later write or flush is a silent no-op."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        #: True once the reader has gone.
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.reader_gone = True
        try:  # text still buffered goes to the null device, so no later flush (or exit) complains
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def tolerant_stdout() -> Iterator[ReaderTolerantStdout | None]:
    """``sys.stdout`` replaced by a :class:`ReaderTolerantStdout` for the duration."""
    original = sys.stdout
    if original is None:  # no standard output at all (a windowed interpreter): print() drops text
        yield None
        return
    wrapped = ReaderTolerantStdout(original)
    sys.stdout = wrapped
    try:
        yield wrapped
    finally:
        sys.stdout = original
