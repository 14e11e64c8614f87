"""An Agg canvas that keeps the rasterised glyphs of every text it drew, for figures drawn again.

A rep-curve figure (:class:`~formcheck_core.render.curves.RepCurveTemplate`) is drawn once per
rep, and most of its text (y tick labels, axis labels, panel titles) is the same string at the
same place every time; matplotlib lays out and rasterises each glyph on every draw (about a
quarter of a rep figure's CPU). :class:`GlyphCachingCanvas` records the glyph bitmaps a text
produced, keyed by everything they depend on (string, font, angle, position in pixels to the
float, antialiasing, the renderer's size and dpi), and later pastes them with Agg's own
``draw_text_image``: the pixels are those matplotlib draws (byte-identical). A text at a new
place (the x tick labels of another rep's range) is drawn by matplotlib and recorded.
Only texts drawn through ``draw_text_image`` with array bitmaps are cached (mathtext and any
other path are drawn as usual); the cache of one renderer holds at most
:data:`MAX_CACHED_TEXTS` texts (cleared when full).
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

#: Texts one renderer keeps (a rep figure draws ~55 a rep, ~30 of them at fixed places).
MAX_CACHED_TEXTS = 2000


class _Recorder:
    """Stands in for Agg's C++ renderer during one ``draw_text``: forwards and records the
    glyph images; any other call marks the text as not cacheable."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.glyphs: list[tuple[np.ndarray, int, int, float]] = []
        self.cacheable = True

    def draw_text_image(self, image, x, y, angle, gc) -> None:
        if isinstance(image, np.ndarray):
            self.glyphs.append((image.copy(), x, y, angle))
        else:  # e.g. a font object whose bitmap changes later (older matplotlib)
            self.cacheable = False
        self.inner.draw_text_image(image, x, y, angle, gc)

    def __getattr__(self, name: str):
        self.cacheable = False
        return getattr(self.inner, name)


class GlyphCachingRenderer(RendererAgg):
    """:class:`RendererAgg` whose plain (non-math) texts are rasterised once per place."""

    def __init__(self, width, height, dpi) -> None:
        super().__init__(width, height, dpi)
        self._text_cache: dict[tuple, list[tuple[np.ndarray, int, int, float]]] = {}

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        extra = None if mtext is None else (repr(mtext.get_fontfeatures()), mtext.get_language())
        font = tuple(vars(prop).items())  # a snapshot: a Text's font properties may change later
        key = (s, font, float(angle), float(x), float(y), bool(gc.get_antialiased()), extra)
        glyphs = self._text_cache.get(key)
        if glyphs is not None:
            for image, gx, gy, gangle in glyphs:
                self._renderer.draw_text_image(image, gx, gy, gangle, gc)
            return None
        inner = self._renderer
        recorder = _Recorder(inner)
        self._renderer = recorder
        try:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        finally:
            self._renderer = inner
        if recorder.cacheable:
            if len(self._text_cache) >= MAX_CACHED_TEXTS:
                self._text_cache.clear()
            self._text_cache[key] = recorder.glyphs
        return None


class GlyphCachingCanvas(FigureCanvasAgg):
    """:class:`FigureCanvasAgg` drawing with a :class:`GlyphCachingRenderer` (kept while the
    figure's pixel size and dpi stay the same, as Agg keeps its renderer)."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key or not isinstance(getattr(self, "renderer", None), GlyphCachingRenderer):
            self.renderer = GlyphCachingRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
