"""Turn pictures into bytes for ``ipywidgets.Image``: JPEG frames and figures with a fast cursor.

Figures are :class:`matplotlib.figure.Figure` objects rendered with the Agg canvas (never
pyplot), so they can be built from widget callbacks on any thread. :class:`CursorFigure` draws
a figure once, keeps the pixels, and redraws only its time cursor (matplotlib blitting), so
moving the cursor costs a few milliseconds instead of a full redraw.
"""

from __future__ import annotations

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..render.curves import TimeCursor

#: JPEG quality of frames sent to the browser.
JPEG_QUALITY = 85


def jpeg_bytes(picture_bgr: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """A BGR picture as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", picture_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("could not encode the picture as JPEG")
    return buf.tobytes()


def png_bytes(picture_bgr: np.ndarray) -> bytes:
    """A BGR picture as PNG bytes (fast, light compression)."""
    ok, buf = cv2.imencode(".png", picture_bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode the picture as PNG")
    return buf.tobytes()


def figure_png(fig: Figure) -> bytes:
    """A whole figure as PNG bytes (Agg), white background."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return png_bytes(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR))


class CursorFigure:
    """A figure whose :class:`~formcheck_core.render.curves.TimeCursor` moves without a full redraw.

    :meth:`png` restores the pixels drawn without the cursor, draws the cursor lines at
    ``time_s`` and returns the PNG. Not thread-safe: callers serialise (the explorer holds a lock).
    """

    def __init__(self, fig: Figure, cursor: TimeCursor) -> None:
        self.figure = fig
        self.cursor = cursor
        self.canvas = FigureCanvasAgg(fig)
        for line in cursor.lines:
            line.set_animated(True)  # excluded from the full draw, drawn by draw_artist
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(fig.bbox)
        self.size_px = (int(self.canvas.get_width_height()[0]), int(self.canvas.get_width_height()[1]))

    def render(self, time_s: float) -> np.ndarray:
        """The figure with the cursor at ``time_s`` seconds, as a BGR array."""
        self.canvas.restore_region(self._background)
        self.cursor.set_time(time_s)
        for line in self.cursor.lines:
            assert line.axes is not None  # cursor lines are drawn on the curves' axes
            line.axes.draw_artist(line)
        rgba = np.asarray(self.canvas.buffer_rgba())
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)

    def png(self, time_s: float) -> bytes:
        """:meth:`render` as PNG bytes."""
        return png_bytes(self.render(time_s))

    def cursor_x_px(self, time_s: float) -> float:
        """Horizontal pixel position (from the left edge of the picture) of the cursor at ``time_s``."""
        ax = self.cursor.lines[0].axes
        assert ax is not None
        x_display, _ = ax.transData.transform((time_s, 0.0))
        return float(x_display)
