"""Pick complete items out of a streamed JSON answer, as soon as each one closes.

For answers shaped ``{"<key>": [{…}, {…}]}``: :meth:`ItemStream.feed` takes text pieces and
returns the items (dicts) of the first top-level list that completed in them, so a notebook can
show each cue, after its grounding check, while the model is still writing the next one.
"""

from __future__ import annotations

import json


class ItemStream:
    """Incremental scanner: tracks strings/escapes and nesting depth; no look-ahead needed."""

    def __init__(self) -> None:
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._list_depth: int | None = None
        self._item_start: int | None = None
        self._text: list[str] = []
        self._pos = 0
        self.done = False

    def feed(self, piece: str) -> list[dict]:
        items: list[dict] = []
        for ch in piece:
            self._text.append(ch)
            pos = self._pos
            self._pos += 1
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
                continue
            if ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
                if ch == "[" and self._list_depth is None and self._depth == 2 and not self.done:
                    self._list_depth = self._depth
                elif ch == "{" and self._list_depth is not None and self._depth == self._list_depth + 1:
                    self._item_start = pos
            elif ch in "}]":
                if ch == "}" and self._item_start is not None and self._depth == self._list_depth + 1:  # type: ignore[operator]
                    raw = "".join(self._text[self._item_start : pos + 1])
                    self._item_start = None
                    try:
                        obj = json.loads(raw)
                    except ValueError:
                        obj = None
                    if isinstance(obj, dict):
                        items.append(obj)
                elif ch == "]" and self._list_depth is not None and self._depth == self._list_depth:
                    self._list_depth = None
                    self.done = True
                self._depth -= 1
        return items


def parse_answer(text: str) -> object:
    """``json.loads`` of a model answer, tolerating text around one JSON object (unconstrained
    models wrap it in prose or code fences). Raises ``ValueError`` if no JSON object is found."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find("{")
    while start >= 0:
        try:
            obj, _end = json.JSONDecoder().raw_decode(text[start:])
            return obj
        except ValueError:
            start = text.find("{", start + 1)
    raise ValueError("no JSON object in the model's answer")
