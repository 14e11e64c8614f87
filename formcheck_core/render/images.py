"""Picture files: PNGs for the output folder and page-sized JPEGs for the HTML report.

Pure encoding, no drawing: every function takes a BGR ``uint8`` array.
"""

from __future__ import annotations

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
#: zlib level of the PNG *files* of photo-like pictures (stills, bar paths), which the page shows
#: as JPEGs: measured on the stills of two dev clips, level 3 takes 40-45 % less CPU than 6 (PNG
#: encoding and quantising) for 16-23 % larger files (level 1: 45-50 % less, 28-39 % larger).
PHOTO_PNG_LEVEL = 3


def _rgb(img_bgr: np.ndarray) -> np.ndarray:
    """RGB copy of a BGR picture (OpenCV's swap: ~10x faster than copying a reversed numpy view)."""
    return cv2.cvtColor(np.ascontiguousarray(img_bgr), cv2.COLOR_BGR2RGB)


def write_png(
    path: Path, img_bgr: np.ndarray, *, palette: bool = True, compress_level: int = PNG_LEVEL
) -> Path:
    """Write ``img_bgr`` as a PNG (creating the folder).

    ``palette``: quantise to 256 colours (fast octree, dithered) first; a photo-like still drops
    from ~650 KB to ~170 KB with no visible loss at phone size. ``compress_level``: zlib level
    (lossless at any level: only the file size and the time differ; :data:`PHOTO_PNG_LEVEL`).
    """
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(_rgb(img_bgr))
    if palette:
        img = img.quantize(256, method=Image.Quantize.FASTOCTREE)
    img.save(path, format="PNG", compress_level=compress_level)
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


def jpeg_bytes(img_bgr: np.ndarray, quality: int = PAGE_JPEG_QUALITY) -> bytes:
    """``img_bgr`` as baseline JPEG bytes (4:2:0)."""
    ok, buf = cv2.imencode(".jpg", img_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
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
