"""Picture files: photo-like pictures are 4:4:4 JPEGs that keep thin coloured lines' colour."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from formcheck_core.render import style as st
from formcheck_core.render.images import PHOTO_SUFFIX, jpeg_bytes, page_size, write_photo


def _photo(h: int = 400, w: int = 300) -> np.ndarray:
    """A noisy photo-like background with a 3 px line in the skeleton's near-side colour."""
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (9, 9), 3)
    cv2.line(img, (20, 50), (280, 350), st.NEAR, 3, cv2.LINE_AA)
    return img


def test_a_photo_file_is_a_full_colour_jpeg_close_to_the_picture(tmp_path):
    img = _photo()
    path = write_photo(tmp_path / "sub" / f"still{PHOTO_SUFFIX}", img)
    assert path.read_bytes().startswith(b"\xff\xd8\xff")
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.size == (300, 400)
        assert {(h, v) for _, h, v, _ in im.layer} == {(1, 1)}  # no chroma subsampling
    back = cv2.imread(str(path))
    assert cv2.PSNR(img, back) > 35
    # the line's centre keeps its colour (4:2:0 would bleed it into the background)
    centre = back[200, 150].astype(int)
    assert np.abs(centre - np.array(st.NEAR)).max() <= 40


def test_page_version_is_smaller_and_subsampled():
    img = _photo(1200, 720)
    small = page_size(img)
    assert small.shape[1] == 540 and abs(small.shape[0] - 900) <= 1
    assert page_size(small) is small  # already narrow enough: unchanged
    assert len(jpeg_bytes(small)) < len(jpeg_bytes(img, full_colour=True))
