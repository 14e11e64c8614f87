"""Colours, sizes and text for drawing on frames (OpenCV for shapes, Pillow for text).

Sizes scale with the width of the picture being drawn, so text stays legible when the picture is
shown full-width on a phone (about 360 CSS px): :meth:`Style.for_width`. Colours are BGR tuples
(OpenCV order). Text is drawn with Pillow and the DejaVu Sans font that matplotlib ships, so
degree signs and other non-ASCII characters render (OpenCV's Hershey fonts cannot draw them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .. import vocabulary
from ..findings import Finding
from ..rules.verdicts import verdict_role

BGR = tuple[int, int, int]

#: Colours (BGR).
NEAR: BGR = (0, 200, 255)  # amber: limbs of the side facing the camera
FAR: BGR = (200, 170, 150)  # pale blue-grey: limbs of the far side
CENTRE: BGR = (235, 235, 235)  # shoulder and hip lines
OUTLINE: BGR = (20, 20, 20)  # dark edge under every line, for contrast on any background
ANGLE: BGR = (255, 255, 255)  # neutral angle arcs and read-outs
FAULT: BGR = (60, 60, 235)  # red
OK: BGR = (90, 200, 60)  # green
MUTED: BGR = (170, 170, 170)  # not measurable / info
BAR: BGR = (255, 120, 0)  # blue-ish: bar path
PANEL: BGR = (28, 28, 28)  # header / footer bands
PARTIAL_NOTE: BGR = (60, 190, 250)  # amber: what a pull is (partial pull, doubted lockout)

NOTE: BGR = (40, 170, 240)  # orange: a fault the verdict does not count (note, low-confidence warning)

#: Verdict role (:func:`~formcheck_core.rules.verdicts.verdict_role`; a finding's status for
#: "fault" / "ok" / "not_measurable") -> colour.
STATUS_COLOUR: dict[str, BGR] = {
    vocabulary.FAULT: FAULT,
    vocabulary.NOTE: NOTE,
    vocabulary.WARNING: NOTE,
    vocabulary.OK: OK,
    vocabulary.NOT_MEASURABLE: MUTED,
}
#: Verdict role -> short mark shown before the line (from :data:`~formcheck_core.vocabulary.ROLE_WORDS`).
STATUS_MARK: dict[str, str] = {role: w.mark for role, w in vocabulary.ROLE_WORDS.items()}


def finding_mark(f: Finding) -> str:
    """The mark of ``f``'s verdict role: "✗" only for a fault the verdict counts."""
    return STATUS_MARK.get(verdict_role(f), "•")


def finding_colour(f: Finding) -> BGR:
    """The colour of ``f``'s verdict role: red only for a fault the verdict counts."""
    return STATUS_COLOUR.get(verdict_role(f), MUTED)


@lru_cache(maxsize=4)
def _font_path(bold: bool) -> str:
    """DejaVu Sans (bold) as matplotlib ships it: looked up in its package folder without importing
    matplotlib (~0.3 CPU s the frame pass would otherwise pay), else through its font manager."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = (
            Path(folder)
            / "mpl-data"
            / "fonts"
            / "ttf"
            / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        )
        if path.is_file():
            return str(path)
    from matplotlib import font_manager

    props = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    return font_manager.findfont(props, fallback_to_default=True)


@lru_cache(maxsize=64)
def font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at ``size_px`` pixels (cached)."""
    return ImageFont.truetype(_font_path(bold), max(int(size_px), 6))


@dataclass(frozen=True)
class Style:
    """Line widths and font sizes (pixels) for a picture of a given width."""

    width_px: int
    line_px: int
    outline_px: int
    joint_px: int
    arc_px: int
    font_px: int
    small_font_px: int
    title_font_px: int
    pad_px: int

    @classmethod
    def for_width(cls, width_px: int, scale: float = 1.0) -> Style:
        """Sizes for a picture ``width_px`` wide; text about 11-16 CSS px when shown 360 px wide."""
        w = max(int(width_px), 120)
        u = w / 720.0 * scale
        return cls(
            width_px=w,
            line_px=max(2, round(5 * u)),
            outline_px=max(3, round(8 * u)),
            joint_px=max(3, round(7 * u)),
            arc_px=max(2, round(4 * u)),
            font_px=max(12, round(30 * u)),
            small_font_px=max(11, round(25 * u)),
            title_font_px=max(13, round(31 * u)),
            pad_px=max(4, round(12 * u)),
        )

    def arc_radius_px(self, segment_px: float) -> int:
        """Radius of an angle arc: a third of the shorter adjoining segment, within sane bounds."""
        r = 0.33 * segment_px if math.isfinite(segment_px) else 0.0
        return int(min(max(r, 3 * self.line_px), 16 * self.line_px))


@lru_cache(maxsize=4096)
def text_size(text: str, size_px: int, bold: bool = False) -> tuple[int, int]:
    """(width, height) in pixels of one line of text (cached: labels repeat frame after frame)."""
    left, top, right, bottom = font(size_px, bold).getbbox(text or " ")
    return int(right - min(left, 0)), int(bottom - min(top, 0))


def wrap_text(text: str, size_px: int, max_width_px: int, bold: bool = False) -> list[str]:
    """Greedy word wrap of ``text`` into lines no wider than ``max_width_px``."""
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and text_size(trial, size_px, bold)[0] > max_width_px:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return out


@dataclass(frozen=True)
class TextItem:
    """One piece of text to draw: top-left ``xy`` in pixels, BGR colour, optional box behind it."""

    xy: tuple[int, int]
    text: str
    size_px: int
    colour: BGR = (255, 255, 255)
    bold: bool = False
    box: BGR | None = None
    box_alpha: float = 0.65
    pad_px: int = 4


@lru_cache(maxsize=4096)
def _text_mask(text: str, size_px: int, bold: bool) -> tuple[np.ndarray, int, int]:
    """Glyph coverage (uint8, 0-255) of one line of text and its offset from the text origin.

    Cached: read-outs such as ``"hip 142°"`` repeat frame after frame, so each string is
    rasterised once and then only blended (:func:`draw_texts`).
    """
    f = font(size_px, bold)
    left, top, right, bottom = f.getbbox(text or " ")
    w, h = max(int(right - left), 1), max(int(bottom - top), 1)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=f, fill=255)
    arr = np.asarray(mask)
    arr.flags.writeable = False
    return arr, int(left), int(top)


def _blend_mask(img_bgr: np.ndarray, mask: np.ndarray, x: int, y: int, colour: BGR) -> None:
    """Blend ``colour`` into ``img_bgr`` in place with coverage ``mask`` at top-left ``(x, y)`` (clipped)."""
    h, w = img_bgr.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], w), min(y + mask.shape[0], h)
    if x1 <= x0 or y1 <= y0:
        return
    a = mask[y0 - y : y1 - y, x0 - x : x1 - x, None].astype(np.uint16)
    sub = img_bgr[y0:y1, x0:x1]
    blended = (sub.astype(np.uint16) * (255 - a) + np.array(colour, np.uint16) * a + 127) // 255
    sub[:] = blended.astype(np.uint8)


def draw_texts(img_bgr: np.ndarray, items: list[TextItem]) -> np.ndarray:
    """Draw text items onto ``img_bgr`` in place (antialiased) and return it.

    Boxes are blended with ``box_alpha``; glyphs are rasterised once per string by Pillow
    (:func:`_text_mask`, cached) and blended with array operations, so a frame's read-outs cost
    a few small numpy blends.
    """
    h, w = img_bgr.shape[:2]
    for it in items:
        if it.box is None:
            continue
        tw, th = text_size(it.text, it.size_px, it.bold)
        x0, y0 = max(it.xy[0] - it.pad_px, 0), max(it.xy[1] - it.pad_px, 0)
        x1, y1 = min(it.xy[0] + tw + it.pad_px, w), min(it.xy[1] + th + it.pad_px, h)
        if x1 > x0 and y1 > y0:
            sub = img_bgr[y0:y1, x0:x1]
            fill = np.empty_like(sub)
            fill[:] = it.box
            cv2.addWeighted(fill, it.box_alpha, sub, 1.0 - it.box_alpha, 0.0, dst=sub)
    for it in items:
        mask, left, top = _text_mask(it.text, int(it.size_px), bool(it.bold))
        _blend_mask(img_bgr, mask, int(it.xy[0]) + left, int(it.xy[1]) + top, it.colour)
    return img_bgr


@lru_cache(maxsize=1024)
def text_advance(text: str, size_px: int, bold: bool = False) -> float:
    """Pen advance in pixels of ``text`` (where the next character would start; cached)."""
    return float(font(size_px, bold).getlength(text))


def draw_changing_text(
    img_bgr: np.ndarray,
    xy: tuple[int, int],
    fixed: str,
    changing: str,
    size_px: int,
    colour: BGR = (255, 255, 255),
    bold: bool = False,
    *,
    fixed_drawn: bool = False,
) -> np.ndarray:
    """Draw ``fixed + changing`` as one line at ``xy`` (in place), for text with a part that
    differs on every frame (e.g. a clock): ``fixed`` is one cached mask and ``changing`` is set
    character by character from cached masks at their advances, so no string is rasterised per
    frame and the cache of :func:`draw_texts` is not flooded. Same placement as drawing the whole
    string, give or take a pixel where a font kerns a pair. ``fixed_drawn``: ``img_bgr`` already
    shows ``fixed`` there (a cached band), so only ``changing`` is drawn."""
    x, y = xy
    if fixed and not fixed_drawn:
        mask, left, top = _text_mask(fixed, int(size_px), bool(bold))
        _blend_mask(img_bgr, mask, int(x) + left, int(y) + top, colour)
    pen = float(x) + text_advance(fixed, int(size_px), bool(bold))
    for ch in changing:
        if not ch.isspace():
            mask, left, top = _text_mask(ch, int(size_px), bool(bold))
            _blend_mask(img_bgr, mask, int(round(pen)) + left, int(y) + top, colour)
        pen += text_advance(ch, int(size_px), bool(bold))
    return img_bgr


def panel(width_px: int, lines: list[tuple[str, BGR, bool]], size_px: int, pad_px: int) -> np.ndarray:
    """A dark band ``width_px`` wide holding wrapped lines of text: ``(text, colour, bold)``."""
    wrapped: list[tuple[str, BGR, bool]] = []
    for text, colour, bold in lines:
        for part in wrap_text(text, size_px, width_px - 2 * pad_px, bold):
            wrapped.append((part, colour, bold))
    line_h = round(float(size_px * 1.3))
    height = max(line_h, len(wrapped) * line_h) + 2 * pad_px
    band = np.empty((height, width_px, 3), np.uint8)
    band[:] = PANEL
    items = [
        TextItem((pad_px, pad_px + i * line_h), text, size_px, colour, bold, box=None, pad_px=0)
        for i, (text, colour, bold) in enumerate(wrapped)
    ]
    return draw_texts(band, items)


def place_near(
    anchor: tuple[float, float],
    text: str,
    size_px: int,
    placed: list[tuple[int, int, int, int]],
    frame_wh: tuple[int, int],
    *,
    gap_px: int = 8,
    bold: bool = False,
    prefer: tuple[str, ...] = ("right", "left", "above", "below"),
) -> tuple[int, int]:
    """Top-left corner for a label next to ``anchor`` that overlaps no rectangle in ``placed``.

    Tries the sides in ``prefer`` order (then further out); the chosen rectangle (with padding)
    is appended to ``placed``. Positions are clamped inside the frame.
    """
    tw, th = text_size(text, size_px, bold)
    w, h = frame_wh
    ax, ay = anchor
    pad = max(3, size_px // 6)
    fallback = None
    for k in (1, 2, 3):
        g = gap_px * k
        for side in prefer:
            x, y = {
                "right": (ax + g, ay - th / 2),
                "left": (ax - g - tw, ay - th / 2),
                "above": (ax - tw / 2, ay - g - th),
                "below": (ax - tw / 2, ay + g),
            }[side]
            x = float(np.clip(x, pad, max(pad, w - tw - pad)))
            y = float(np.clip(y, pad, max(pad, h - th - pad)))
            rect = (int(x) - pad, int(y) - pad, int(x) + tw + pad, int(y) + th + pad)
            if fallback is None:
                fallback = rect
            if not any(
                rect[0] < o[2] and o[0] < rect[2] and rect[1] < o[3] and o[1] < rect[3] for o in placed
            ):
                placed.append(rect)
                return int(x), int(y)
    assert fallback is not None
    placed.append(fallback)
    return fallback[0] + pad, fallback[1] + pad
