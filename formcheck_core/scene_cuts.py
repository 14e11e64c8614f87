"""Hard scene cuts in a clip (compilations, spliced clips): where one shot ends and the next begins.

Poses alone cannot tell a cut from a fast movement at 10 fps, so cuts are found in the pixels: every
frame is decoded to a tiny grayscale thumbnail (:func:`formcheck_core.video.iter_thumbnails`,
about :data:`THUMB_WIDTH_PX` wide), each thumbnail is standardised (zero mean, unit spread: a change of
brightness or exposure is not a change of scene), and the *change* between consecutive frames is
the mean absolute difference of their standardised thumbnails.

A cut is a change far above the clip's own frame-to-frame noise, by a test with no fitted
threshold: frame ``i`` starts a new shot when its change is at least :data:`CUT_RATIO` times

* the largest change of the neighbouring frame pairs within :data:`NEIGHBOUR_S` on either side
  (real motion, even a dropped bar, changes the picture over several frames; a cut in one), and
* the clip's typical such neighbourhood (the median over the clip: what motion and noise do
  between nearby frames of this clip).

The pose pass collects the thumbnails while it decodes (:class:`formcheck_core.video.Thumbnails`);
only a clip whose pose came from the cache is decoded again for them. Each shot after a cut is
posed by a fresh tracker (:mod:`formcheck_core.pose.shots`), so no tracking carries across a cut. A fade or a dissolve
(gradual) is not found, nor a weak cut (one camera, a similar picture) in
a source with few distinct frames per second. Frame changes are cached per clip (a side table
beside the pose cache, keyed by the clip's bytes).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from .cache import load_table, save_table
from .video import Thumbnails, VideoInfo, iter_thumbnails

#: Thumbnail width in pixels (height in proportion): enough to see a scene, too coarse to see noise.
THUMB_WIDTH_PX = 32
#: "Far above". Set by reasoning, then checked on the dev clips (not searched): the weakest cut
#: there (a splice of two takes from one camera) is 6.3x the larger reference, the largest
#: motion (a dropped bar, a fast pan) 3.6x; with every frame repeated three times, motion reaches
#: 1.5x.
CUT_RATIO = 5.0
#: The neighbouring changes a cut is compared with lie within this many seconds of it: one 10 fps
#: pose sample either side (a source with at least 10 distinct frames per second has motion there).
NEIGHBOUR_S = 0.1
#: Bump when the stored change measure changes (invalidates cached tables).
CUTS_VERSION = 2
_TABLE = "cuts"


def frame_changes(thumbs: np.ndarray) -> np.ndarray:
    """(T,) change of each frame from the one before (mean |difference| of standardised
    thumbnails, unitless; 0 for frame 0). ``thumbs``: (T, H, W) grayscale. A flat thumbnail (a
    black frame) standardises to zeros."""
    x = np.asarray(thumbs, float)
    if x.shape[0] < 2:
        return np.zeros(x.shape[0])
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2), keepdims=True)
    z = np.divide(x - mean, std, out=np.zeros_like(x), where=std > 1e-6)
    return np.concatenate(([0.0], np.abs(np.diff(z, axis=0)).mean(axis=(1, 2))))


def find_cuts(change: np.ndarray, fps: float, ratio: float = CUT_RATIO) -> tuple[int, ...]:
    """Frame indices that start a new shot (see the module doc for the test), ascending.

    ``change``: (T,) from :func:`frame_changes` (``change[0]`` is ignored), NaN-free; ``fps``:
    the clip's frame rate. The neighbouring changes are the largest within
    :data:`NEIGHBOUR_S` on either side, and the clip's typical change is the median of those:
    a clip whose frames repeat (a 10 fps source written at 30 fps: two of three changes are
    zero) has motion within that window, so its real changes are not taken for cuts.
    """
    c = np.asarray(change, float)
    n = c.size
    if n < 3:
        return ()
    w = max(1, round(NEIGHBOUR_S * fps)) if fps > 0 else 1
    near = np.zeros(n)
    for i in range(1, n):
        around = np.concatenate((c[max(1, i - w) : i], c[i + 1 : i + w + 1]))
        near[i] = around.max() if around.size else 0.0
    typical = float(np.median(near[1:]))
    cuts = [i for i in range(1, n) if c[i] > 0 and c[i] >= ratio * max(typical, near[i])]
    return tuple(cuts)


def cuts_cache_key(video_sha256: str) -> str:
    """Hex key of a clip's cached frame changes."""
    parts = json.dumps([CUTS_VERSION, THUMB_WIDTH_PX, video_sha256])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def store_thumbnails(video_sha256: str, thumbnails: Thumbnails) -> bool:
    """Cache the frame changes of thumbnails another pass collected while decoding the whole clip
    (the pose pass, see :func:`formcheck_core.video.iter_frames`), so no second decode is needed;
    False (nothing stored) when the collection is not complete or its width is not ours."""
    if not (thumbnails.complete and thumbnails.frames and thumbnails.width_px == THUMB_WIDTH_PX):
        return False
    change = frame_changes(np.stack(thumbnails.frames)).astype(np.float32)
    return save_table(_TABLE, cuts_cache_key(video_sha256), {"change": change}) is not None


def clip_frame_changes(info: VideoInfo, video_sha256: str, *, cache: bool = True) -> np.ndarray:
    """(T,) :func:`frame_changes` of every frame of the clip, from the cache when present (``cache``
    False recomputes; the result is written either way)."""
    key = cuts_cache_key(video_sha256)
    table = load_table(_TABLE, key) if cache else None
    if table is not None and "change" in table:
        return np.asarray(table["change"], float)
    thumbs = list(iter_thumbnails(info.path, THUMB_WIDTH_PX))
    change = (frame_changes(np.stack(thumbs)) if thumbs else np.zeros(0)).astype(np.float32)
    save_table(_TABLE, key, {"change": change})
    return change.astype(float)  # as a cached table reads back


def scene_cut_frames(info: VideoInfo, video_sha256: str, *, cache: bool = True) -> tuple[int, ...]:
    """Source frame indices (0-based, read order) where a new shot starts; () for a one-shot clip."""
    return find_cuts(clip_frame_changes(info, video_sha256, cache=cache), info.fps)


def cut_samples(frame_index: np.ndarray, cut_frames: tuple[int, ...]) -> tuple[int, ...]:
    """Sample indices that start a new shot: for each cut, the first sample at or after its frame
    (cuts before the first sample or after the last, and repeats, are dropped)."""
    fi = np.asarray(frame_index)
    out = sorted({int(np.searchsorted(fi, f, side="left")) for f in cut_frames})
    return tuple(s for s in out if 0 < s < fi.size)
