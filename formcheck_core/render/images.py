"""Picture files: JPEGs for photo-like pictures (stills, bar paths), PNGs for line art (curves),
and page-sized JPEGs for the HTML report.

Pure encoding, no drawing: every function takes a BGR ``uint8`` array.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

#: Width in pixels of a picture embedded in the report page (a grid column is ~330-360 CSS px;
#: 540 px is sharp on a 1.5x screen and keeps a 4-still rep under ~250 KB).
PAGE_WIDTH_PX = 540
#: JPEG quality of photo-like pictures embedded in the page.
PAGE_JPEG_QUALITY = 80
#: zlib level of a PNG (:func:`write_png`): 6 for pictures the page embeds as PNG (curves: line art,
#: small and quick at any level); level 7+ costs more time than it saves bytes on these pictures.
PNG_LEVEL = 6
#: File suffix of photo-like pictures (stills, bar paths; :func:`write_photo`).
PHOTO_SUFFIX = ".jpg"
#: JPEG quality of photo-like picture *files*, with full-resolution colour (4:4:4, so thin coloured
#: lines and text keep their colour at their edges). Measured on 20 stills of two dev clips: 3.6-4
#: ms a 720 px still against 19 ms for the 256-colour PNG they replaced (quantising 12 ms, zlib
#: level 3 7 ms), 150-210 KiB against 90-150 KiB, without the PNG's palette banding.
PHOTO_JPEG_QUALITY = 90


def _rgb(img_bgr: np.ndarray) -> np.ndarray:
    """RGB copy of a BGR picture (OpenCV's swap: ~10x faster than copying a reversed numpy view)."""
    return cv2.cvtColor(np.ascontiguousarray(img_bgr), cv2.COLOR_BGR2RGB)


#: OpenCV threads while rendering (:func:`opencv_threads`).
RENDER_OPENCV_THREADS = 1


@contextmanager
def opencv_threads(n: int = RENDER_OPENCV_THREADS) -> Iterator[None]:
    """OpenCV's thread pool set to ``n`` threads inside the block (restored after).

    The render's OpenCV calls work on small pictures (a crop, a still, a band) from threads that
    already keep both cores busy (decoding, drawing, encoding, the worker process); splitting each
    call over OpenCV's own pool then costs more in hand-over than it saves.
    """
    before = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def write_png(path: Path, img_bgr: np.ndarray) -> Path:
    """Write ``img_bgr`` as a 256-colour PNG (:func:`png_bytes`; creating the folder). Line art such
    as the curves loses nothing to the palette."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(img_bgr))
    return path


def write_photo(path: Path, img_bgr: np.ndarray, quality: int = PHOTO_JPEG_QUALITY) -> Path:
    """Write the photo-like picture ``img_bgr`` as the JPEG file ``path`` (4:4:4; creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(img_bgr, quality, full_colour=True))
    return path


#: A picture shrunk below this scale is resampled by area averaging, else bilinearly.
AREA_BELOW_SCALE = 0.5


def resize_interpolation(scale: float) -> int:
    """The OpenCV interpolation for resizing a picture by ``scale`` (output / input size).

    Area averaging only for a strong shrink (below :data:`AREA_BELOW_SCALE`), where bilinear
    sampling would skip source pixels and alias. A milder shrink, or an enlargement, is bilinear:
    at a non-integer ratio OpenCV's area averaging costs about 6x as much (1.1 vs 0.18 ms for a
    300x600 crop to 270x560, measured here), per frame of the annotated clip and per still.
    """
    return cv2.INTER_AREA if scale < AREA_BELOW_SCALE else cv2.INTER_LINEAR


def page_size(img_bgr: np.ndarray, width_px: int = PAGE_WIDTH_PX) -> np.ndarray:
    """``img_bgr`` scaled down to at most ``width_px`` wide (:func:`resize_interpolation`);
    unchanged if narrower."""
    h, w = img_bgr.shape[:2]
    if w <= width_px:
        return img_bgr
    size = (width_px, max(1, round(h * width_px / w)))
    return cv2.resize(img_bgr, size, interpolation=resize_interpolation(width_px / w))


def jpeg_bytes(img_bgr: np.ndarray, quality: int = PAGE_JPEG_QUALITY, *, full_colour: bool = False) -> bytes:
    """``img_bgr`` as baseline JPEG bytes (chroma 4:2:0, or 4:4:4 with ``full_colour``)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    if full_colour:
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, buf = cv2.imencode(".jpg", img_bgr, params)
    if not ok:
        raise ValueError("could not encode the picture as JPEG")
    return buf.tobytes()


def png_bytes(img_bgr: np.ndarray) -> bytes:
    """``img_bgr`` as a 256-colour PNG in memory (for line art such as curves)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    img = Image.fromarray(_rgb(img_bgr)).quantize(256, method=Image.Quantize.FASTOCTREE)
    img.save(out, format="PNG", compress_level=PNG_LEVEL)
    return out.getvalue()
