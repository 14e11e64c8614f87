"""Whether an MP4/MOV file was cut short before its index: read from the top-level boxes, no decoding.

A camera or a phone writes the index of an MP4 (the ``moov`` box) last unless the file was
"fast-started", so a copy or a recording that stopped early has the pictures (``mdat``) but no
index, and FFmpeg can only say "Invalid data found when processing input". The box sizes tell the
two apart: the file starts like an MP4 (``ftyp``), and a box runs past the end of the file or the
file ends without a ``moov``.
"""

from __future__ import annotations

import struct
from pathlib import Path

#: Top-level box types of an ISO base media file (MP4, MOV, 3GP) that may come first.
_FIRST_BOXES = frozenset({b"ftyp", b"wide", b"free", b"skip", b"mdat", b"moov", b"pnot"})


def cut_before_index(path: str | Path) -> bool:
    """True when ``path`` starts like an MP4/MOV but its top-level boxes end before a ``moov``
    box, or one of them runs past the end of the file: the file was cut short before its index.

    False for anything else (not an MP4, an intact MP4, an MP4 whose index is there, or a file
    this process cannot read: the caller's own error names that)."""
    try:
        return _cut_before_index(Path(path))
    except OSError:
        return False


def _cut_before_index(p: Path) -> bool:
    size = p.stat().st_size
    offset, first = 0, True
    with p.open("rb") as f:
        while offset + 8 <= size:
            f.seek(offset)
            head = f.read(16)
            box_size, kind = struct.unpack(">I4s", head[:8])
            if first and kind not in _FIRST_BOXES:
                return False
            if kind == b"moov":
                return False
            if box_size == 1:  # a 64-bit size follows the type
                if len(head) < 16:
                    return True
                box_size = struct.unpack(">Q", head[8:16])[0]
            elif box_size == 0:  # the box runs to the end of the file: nothing after it
                return True
            if box_size < 8:
                return False  # not a box structure after all
            if offset + box_size > size:
                return True
            offset += box_size
            first = False
    return not first
