"""The glyph-caching Agg canvas draws exactly what matplotlib's own draws, also when drawn again."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from formcheck_core.render.agg_text import GlyphCachingCanvas, GlyphCachingRenderer


def _figure() -> Figure:
    fig = Figure(figsize=(3.0, 2.0), dpi=90, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0.0, 1.0, 2.0], [10.0, 170.0, 90.0], label="hip")
    ax.set_title("Hip angle °", loc="left")
    ax.set_ylabel("angle (°)")
    ax.set_xlabel("time (s)")
    ax.text(0.5, 0.5, "rotated", rotation=30, color="#e03131", transform=ax.transAxes)
    ax.text(0.1, 0.2, r"$\alpha = 2$", transform=ax.transAxes)  # mathtext: drawn as usual
    ax.legend(loc="best")
    return fig


def _pixels(canvas: FigureCanvasAgg) -> np.ndarray:
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def test_cached_texts_are_byte_identical_to_agg_across_redraws():
    plain_fig, cached_fig = _figure(), _figure()
    plain, cached = FigureCanvasAgg(plain_fig), GlyphCachingCanvas(cached_fig)
    for xlim, colour in (((0.0, 2.0), "black"), ((0.5, 1.7), "#1c7ed6"), ((0.0, 2.0), "black")):
        for fig in (plain_fig, cached_fig):
            fig.axes[0].set_xlim(*xlim)
            fig.axes[0].yaxis.label.set_color(colour)  # same place, another colour
        assert np.array_equal(_pixels(plain), _pixels(cached))
    renderer = cached.get_renderer()
    assert isinstance(renderer, GlyphCachingRenderer)
    # texts at a fixed place (title, y label, y ticks) were kept; the mathtext was not
    assert len(renderer._text_cache) >= 8
    assert not any("$" in key[0] for key in renderer._text_cache)


def test_a_resized_figure_gets_a_new_renderer():
    fig = _figure()
    canvas = GlyphCachingCanvas(fig)
    small = _pixels(canvas)
    fig.set_size_inches(4.0, 2.5)
    plain = FigureCanvasAgg(_figure())
    plain.figure.set_size_inches(4.0, 2.5)
    big = _pixels(canvas)
    assert big.shape != small.shape
    assert np.array_equal(big, _pixels(plain))
