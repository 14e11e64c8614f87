"""Where to draw: the crop around the lifter, pixel mapping, and sample <-> frame lookups.

Everything here reads the Analysis; nothing measures the body. Coordinates are pixels of the
upright source frame (x right, y down) unless a name says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from ..analysis import Analysis
from .images import resize_interpolation

#: Landmarks used to frame the lifter (shoulders, elbows, wrists, hips, knees, ankles, heels, toes, nose).
_FRAME_LANDMARKS = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)


@dataclass(frozen=True)
class ViewBox:
    """A crop of the source frame ``[x0, x1) x [y0, y1)`` scaled by ``scale`` to the output picture."""

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float

    @property
    def out_size(self) -> tuple[int, int]:
        """(width, height) of the output picture in pixels, both even (H.264 needs even sizes)."""
        w = round(float((self.x1 - self.x0) * self.scale))
        h = round(float((self.y1 - self.y0) * self.scale))
        return max(2, w - w % 2), max(2, h - h % 2)

    def apply(self, frame_bgr: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The cropped, resized copy of a source frame (written into ``out``, an (h, w, 3) uint8
        C-contiguous array of :attr:`out_size`, when given; returned either way).

        At scale 1 the crop is only trimmed to the even output size (its last column / row), never
        resampled: a resize by less than a pixel would blur every frame and cost a full pass.
        The resampling follows :func:`~.images.resize_interpolation`.
        """
        crop = frame_bgr[self.y0 : self.y1, self.x0 : self.x1]
        w, h = self.out_size
        if self.scale == 1 and crop.shape[1] >= w and crop.shape[0] >= h:
            if out is None:
                return crop[:h, :w].copy()
            np.copyto(out, crop[:h, :w])
            return out
        if out is None:
            return cv2.resize(crop, (w, h), interpolation=resize_interpolation(self.scale))
        resized = cv2.resize(crop, (w, h), dst=out, interpolation=resize_interpolation(self.scale))
        if resized is not out:  # OpenCV allocated instead (it should not for a matching array)
            np.copyto(out, resized)
        return out

    def map(self, xy_px: np.ndarray) -> np.ndarray:
        """Source-frame pixel coordinates (..., 2) -> output-picture coordinates (NaN kept)."""
        xy = np.asarray(xy_px, dtype=float)
        return (xy - np.array([self.x0, self.y0], dtype=float)) * self.scale

    @classmethod
    def full(cls, width_px: int, height_px: int, out_width_px: int | None = None) -> ViewBox:
        """The whole frame, optionally scaled to ``out_width_px``."""
        scale = 1.0 if out_width_px is None else out_width_px / width_px
        return cls(0, 0, int(width_px), int(height_px), scale)


def keypoints_px(analysis: Analysis) -> np.ndarray | None:
    """(T, 33, 2) keypoints to draw: the smoothed body keypoints, else the raw pose ones."""
    if analysis.body is not None:
        return analysis.body.keypoints_px
    if analysis.pose.n_samples:
        return analysis.pose.image_xy_px
    return None


def frame_indices(analysis: Analysis) -> np.ndarray:
    """(T,) source frame index of each sample."""
    if analysis.body is not None:
        return np.asarray(analysis.body.frame_index)
    return np.asarray(analysis.pose.frame_index)


def sample_for_frame(analysis: Analysis, frame_index: int) -> int:
    """Index of the sample whose source frame is nearest to ``frame_index`` (-1 if no samples)."""
    fi = frame_indices(analysis)
    if fi.size == 0:
        return -1
    return int(np.argmin(np.abs(fi - int(frame_index))))


def visible_side(analysis: Analysis) -> str:
    """ "left" or "right": the body side facing the camera."""
    if analysis.body is not None:
        return analysis.body.side
    if analysis.view is not None:
        return analysis.view.side
    return "left"


def lifter_box(
    analysis: Analysis,
    samples: Iterable[int] | None = None,
    *,
    margin: float = 0.18,
    min_aspect: float = 0.6,
    max_aspect: float = 1.5,
    extra_xy_px: np.ndarray | None = None,
) -> tuple[int, int, int, int]:
    """Crop ``(x0, y0, x1, y1)`` framing the lifter over ``samples`` (default: all), in source pixels.

    Uses the 2nd-98th percentile of the keypoints (robust to a stray detection), adds ``margin``
    of the box size on each side, widens the box to an aspect ratio (width / height) within
    [``min_aspect``, ``max_aspect``] and clips it to the frame. ``extra_xy_px`` (N, 2) are points
    that must also be inside (e.g. the bar path). Returns the whole frame without keypoints.
    """
    w, h = analysis.video.width_px, analysis.video.height_px
    kp = keypoints_px(analysis)
    pts = np.empty((0, 2))
    if kp is not None and kp.shape[0]:
        idx = np.arange(kp.shape[0]) if samples is None else np.asarray(list(samples), dtype=int)
        idx = idx[(idx >= 0) & (idx < kp.shape[0])]
        pts = kp[idx][:, _FRAME_LANDMARKS, :].reshape(-1, 2)
    if extra_xy_px is not None:
        pts = np.vstack([pts, np.asarray(extra_xy_px, dtype=float).reshape(-1, 2)])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 4:
        return 0, 0, w, h
    lo = np.percentile(pts, 2, axis=0)
    hi = np.percentile(pts, 98, axis=0)
    size = np.maximum(hi - lo, 1.0)
    lo, hi = lo - margin * size, hi + margin * size
    bw, bh = hi - lo
    aspect = bw / bh
    cx, cy = (lo + hi) / 2
    if aspect < min_aspect:
        bw = bh * min_aspect
    elif aspect > max_aspect:
        bh = bw / max_aspect
    bw, bh = min(bw, w), min(bh, h)
    x0 = int(np.clip(round(cx - bw / 2), 0, max(w - bw, 0)))
    y0 = int(np.clip(round(cy - bh / 2), 0, max(h - bh, 0)))
    x1, y1 = min(w, round(float(x0 + bw))), min(h, round(float(y0 + bh)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return 0, 0, w, h
    return x0, y0, x1, y1


def view_box(box: tuple[int, int, int, int], out_width_px: int) -> ViewBox:
    """A :class:`ViewBox` showing ``box`` scaled to ``out_width_px`` wide."""
    x0, y0, x1, y1 = box
    return ViewBox(x0, y0, x1, y1, out_width_px / max(x1 - x0, 1))
