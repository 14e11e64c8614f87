"""The annotated clip: every frame with the skeleton, live angle read-outs and captioned cues.

Written as H.264 (libx264 through PyAV, preset ``ultrafast`` with CABAC and B-frames), yuv420p, even dimensions, ``moov``
atom first (``movflags=+faststart``), so it plays in browsers and in JupyterLab. Frames are
streamed: the decoding thread draws each frame straight into one of a few preallocated output
pictures (the crop is copied or resized into its middle rows, the bands are pasted from caches)
and hands it to an encoder thread, which converts it to I420 (OpenCV), gives the picture back and
encodes, so drawing and encoding run on two cores. Sources faster than ~37 fps are written at about 30 fps (every other frame of a 60 fps
clip, :func:`frame_stride`); timing is kept. The pose is sampled at the analysis rate (e.g. 10
fps); for frames between samples the keypoints are linearly interpolated for drawing only, and
the read-outs show the nearest sample's values.

Layout: a top band (rep, key moment, time), the video cropped around the lifter, and a bottom
band with the cue(s) that refer to the moment on screen (from ~0.3 s before to ~2.5 s after it).

Long because decoding, per-frame drawing and the encoder thread share one frame clock and its
timings; splitting them would pass that state between modules.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..analysis import Analysis
from ..cues import Cue
from ..errors import FormcheckError
from ..video import Frame
from ..vocabulary import moment_label
from . import style as st
from .frames import FrameConsumer, run_frame_pass
from .layout import ViewBox, frame_indices, keypoints_px, lifter_box
from .overlay import draw_pose
from .style import Style

if TYPE_CHECKING:
    import av

#: Seconds a cue caption stays on screen before / after the moment it refers to.
CUE_BEFORE_S, CUE_AFTER_S = 0.3, 2.5
#: Lines of caption text under the video.
CAPTION_LINES = 3
#: Seconds each cue is at least on screen when captions compete for the band's lines: tried in
#: this order, the first that finds room (:func:`fit_captions`).
CUE_MIN_S = (1.5, 1.0, 0.5)
#: Seconds a key-moment label is shown either side of its frame.
MOMENT_WINDOW_S = 0.35
#: Seconds a fault is highlighted (red arc, limit) before and after its frame.
FAULT_WINDOW_S = (0.1, 0.35)


class ClipWriteError(FormcheckError):
    """The annotated clip could not be encoded (no H.264 encoder, disk full, ...)."""


@dataclass(frozen=True)
class ClipResult:
    """What was written: path, frames encoded, output size in pixels, frame rate and codec name."""

    path: Path
    frames: int
    width_px: int
    height_px: int
    fps: float
    codec: str


@dataclass(frozen=True)
class Caption:
    """A caption shown on frames ``[first_frame, last_frame]``."""

    first_frame: int
    last_frame: int
    text: str
    priority: int


def caption_text(cue: Cue) -> str:
    """A cue's caption: "2. Finish the rep: ...", marked when a test model wrote it."""
    text = f"{cue.priority}. {cue.text}"
    return f"[test model output, not advice] {text}" if cue.source == "test-model" else text


def cue_captions(
    analysis: Analysis,
    cues: Sequence[Cue],
    lines_of: Callable[[str], int] | None = None,
    capacity: int = CAPTION_LINES,
) -> list[Caption]:
    """When each cue is on screen: around its frame, else over its rep's pull, else the whole clip;
    fitted to a band of ``capacity`` lines (:func:`fit_captions`, ``lines_of``: the lines a
    caption's text wraps to, default 1) so that every cue is shown in full."""
    fps = analysis.video.fps or 30.0
    last = int(frame_indices(analysis).max()) if frame_indices(analysis).size else 0
    last = max(last, analysis.video.frame_count_header - 1)
    reps = {r.number: r for r in analysis.pulls}
    out = []
    for cue in sorted(cues, key=lambda c: c.priority):
        text = caption_text(cue)
        frame = cue.frame_index
        if frame is None and cue.time_s is not None:
            frame = round(float(cue.time_s * fps))
        if frame is not None:
            a, b = frame - int(CUE_BEFORE_S * fps), frame + int(CUE_AFTER_S * fps)
        elif cue.rep in reps and reps[cue.rep].moments:
            ms = reps[cue.rep].moments.values()
            a, b = min(m.frame_index for m in ms), max(m.frame_index for m in ms) + int(CUE_AFTER_S * fps)
        else:
            a, b = 0, last
        out.append(Caption(max(a, 0), b, text, cue.priority))
    return fit_captions(out, lines_of or (lambda _t: 1), last, fps, capacity)


def fit_captions(
    captions: Sequence[Caption],
    lines_of: Callable[[str], int],
    last_frame: int,
    fps: float,
    capacity: int = CAPTION_LINES,
) -> list[Caption]:
    """``captions`` (in priority order) with windows that never need more than ``capacity``
    lines at once, so the band never cuts one off: with all of them on screen together, a cue
    whose time is taken by higher-priority ones was never shown.

    First each caption, by priority, gets a slot of :data:`CUE_MIN_S` seconds (the longest that
    fits) as near its wanted start as the lines already taken allow; then each, by priority,
    grows back toward its wanted window, frame by frame, while the lines allow. A caption longer
    than the band keeps its wanted window (cut with "…"; the clip's band is made tall enough for
    its longest caption). Pure: frames in source frame indices, ``last_frame`` the clip's last."""
    n = max(last_frame, 0) + 1
    load = np.zeros(n + 1, int)  # lines on screen per frame (one spare at the end)
    need = [min(max(int(lines_of(c.text)), 1), capacity) for c in captions]
    slots: list[tuple[int, int] | None] = []
    for c, k in zip(captions, need, strict=True):
        a = max(0, min(c.first_frame, n - 1))
        if lines_of(c.text) > capacity:
            slots.append(None)
            continue
        found = None
        for min_s in CUE_MIN_S:
            m = min(max(int(round(min_s * fps)), 1), n)
            bad = np.concatenate(([0], np.cumsum(load[:n] + k > capacity)))
            starts = np.flatnonzero(bad[m:] - bad[: n - m + 1] == 0)  # windows [s, s + m) with room
            if starts.size:
                s0 = int(starts[np.argmin(np.abs(starts - a) + (starts < a))])  # nearest, later on ties
                found = (s0, s0 + m - 1)
                break
        slots.append(found)
        if found is not None:
            load[found[0] : found[1] + 1] += k
    out = []
    for c, k, slot in zip(captions, need, slots, strict=True):
        if slot is None:
            out.append(c)
            continue
        lo, hi = slot
        load[lo : hi + 1] -= k
        wanted_lo, wanted_hi = max(0, min(c.first_frame, lo)), min(n - 1, max(c.last_frame, hi))
        while lo > wanted_lo and load[lo - 1] + k <= capacity:
            lo -= 1
        while hi < wanted_hi and load[hi + 1] + k <= capacity:
            hi += 1
        load[lo : hi + 1] += k
        out.append(Caption(lo, hi, c.text, c.priority))
    return out


class KeypointTrack:
    """Keypoints for any source frame: linear interpolation between the two nearest samples.

    Where either neighbour is missing (NaN), the nearest sample is used if it is within half a
    sample step; beyond the first/last sample by more than one step, nothing is drawn.
    """

    def __init__(self, analysis: Analysis) -> None:
        self.fi = frame_indices(analysis).astype(float)
        kp = keypoints_px(analysis)
        self.kp = kp if kp is not None else np.empty((0, 33, 2))
        steps = np.diff(self.fi)
        self.step = float(np.median(steps)) if steps.size else 1.0

    def sample_near(self, frame_index: int) -> int:
        """Nearest sample index (-1 if none within one sample step)."""
        if self.fi.size == 0:
            return -1
        j = int(np.argmin(np.abs(self.fi - frame_index)))
        return j if abs(self.fi[j] - frame_index) <= max(self.step, 1.0) else -1

    def at(self, frame_index: int) -> np.ndarray | None:
        """(33, 2) keypoints for ``frame_index`` in source pixels, or None."""
        if self.fi.size == 0:
            return None
        j = int(np.searchsorted(self.fi, frame_index))
        if j < len(self.fi) and self.fi[j] == frame_index:
            return self.kp[j]
        if j == 0 or j == len(self.fi):
            k = self.sample_near(frame_index)
            return None if k < 0 else self.kp[k]
        f0, f1 = self.fi[j - 1], self.fi[j]
        if f1 - f0 > 2.5 * self.step:  # a gap in the samples: do not bridge it
            k = self.sample_near(frame_index)
            return None if k < 0 else self.kp[k]
        w = (frame_index - f0) / (f1 - f0)
        out = (1 - w) * self.kp[j - 1] + w * self.kp[j]
        near = self.kp[j - 1] if w < 0.5 else self.kp[j]
        if min(frame_index - f0, f1 - frame_index) <= self.step / 2:
            out = np.where(np.isnan(out), near, out)
        return out


#: x264 settings of the annotated clip. ``ultrafast`` plus CABAC and 3 B-frames: measured here on
#: annotated frames of two dev clips, 35-40 % less encoder CPU than ``superfast`` at the same PSNR
#: (41.7 vs 41.6 dB, 38.0 vs 37.7 dB) for a 15-26 % larger file (plain ``ultrafast``: 60-95 %
#: larger). The clip is a sibling file of the page, not inside it (unless ``--embed-clip``).
PRESET = "ultrafast"
X264_PARAMS = "cabac=1:bframes=3"
#: Frames queued between drawing and encoding (the writer holds this many output pictures + 2:
#: one being drawn, one being converted).
QUEUE_FRAMES = 8
#: Highest frame rate of the annotated clip: a 60 fps source is written at 30 fps (every other
#: frame), which halves drawing and encoding; the pose is sampled at ~10 fps anyway.
MAX_FPS = 30.0


def frame_stride(source_fps: float, max_fps: float = MAX_FPS) -> int:
    """Keep every n-th source frame so the clip plays at most about ``max_fps`` (1 up to 1.25x it)."""
    if not math.isfinite(source_fps) or source_fps <= max_fps * 1.25:
        return 1
    return max(1, round(source_fps / max_fps))


def clip_view(analysis: Analysis, max_side_px: int = 1280, min_side_px: int = 480) -> ViewBox:
    """Crop around the lifter over the whole clip, at source resolution unless its long side is
    outside [min, max] px (then scaled: tiny crops up for legible text, huge ones down)."""
    box = lifter_box(analysis, None, margin=0.25, min_aspect=9 / 16, max_aspect=16 / 9)
    long_side = max(box[2] - box[0], box[3] - box[1])
    target = min(max(long_side, min_side_px), max_side_px)
    return ViewBox(*box, scale=target / long_side)


def _rate(fps: float) -> Fraction:
    if not math.isfinite(fps) or fps <= 0:
        fps = 30.0
    return Fraction(fps).limit_denominator(1001)


class ClipWriter:
    """Streams annotated frames into an H.264 mp4. Use as a frame-pass consumer, then :meth:`close`."""

    def __init__(
        self,
        analysis: Analysis,
        out_path: str | Path,
        cues: Sequence[Cue] = (),
        *,
        max_side_px: int = 1280,
        crf: int = 23,
        preset: str = PRESET,
        max_fps: float = MAX_FPS,
    ) -> None:
        import av

        self.analysis = analysis
        self.path = Path(out_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.view = clip_view(analysis, max_side_px)
        w, h = self.view.out_size
        self.style = Style.for_width(w, scale=0.8 if w > h else 1.0)
        self.top_h = int(self.style.title_font_px * 1.35) + 2 * self.style.pad_px

        def lines_of(text: str) -> int:
            return len(st.wrap_text(text, self.style.font_px, w - 2 * self.style.pad_px))

        #: Lines of the caption band: CAPTION_LINES, or the longest cue's, so none is cut off.
        self.caption_lines = max([CAPTION_LINES, *(lines_of(caption_text(c)) for c in cues)])
        self.bottom_h = self.caption_lines * int(self.style.font_px * 1.3) + 2 * self.style.pad_px
        self.top_h += self.top_h % 2
        self.bottom_h += self.bottom_h % 2
        self.width_px, self.height_px = w, h + self.top_h + self.bottom_h
        self.source_fps = float(analysis.video.fps or 30.0)
        self.stride = frame_stride(self.source_fps, max_fps)
        self.fps = self.source_fps / self.stride  # of the written clip
        self.track = KeypointTrack(analysis)
        self.captions = cue_captions(analysis, cues, lines_of, self.caption_lines)
        self._bottom_cache: dict[tuple[int, ...], np.ndarray] = {}
        #: (fixed text, flash) -> the top band with that text drawn (the clock is drawn per frame).
        self._top_cache: dict[tuple[str, bool], np.ndarray] = {}
        #: Output pictures, reused: drawn into, queued by index, given back after the I420 conversion.
        self._pictures: list[np.ndarray] = []
        #: Per picture, the captions its bottom band shows (None: not drawn yet).
        self._bottom_shown: list[tuple[int, ...] | None] = []
        self._free: queue.Queue[int] = queue.Queue()
        self._moments = [
            (r.number, name, m.frame_index) for r in analysis.pulls for name, m in r.moments.items()
        ]
        self._faults = [
            (f.frame_index, f) for f in analysis.findings if f.is_fault and f.frame_index is not None
        ]
        fi = frame_indices(analysis)
        self._rep_ranges = [
            (r.number, int(fi[r.start_sample]), int(fi[min(r.end_sample, fi.size - 1)]))
            for r in analysis.pulls  # partial pulls too
            if fi.size
        ]
        self.frames = 0
        rate = _rate(self.fps)
        try:
            self._container = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
            self._stream = self._container.add_stream("libx264", rate=rate)
        except Exception as exc:  # PyAV raises several types; the user needs one line
            raise ClipWriteError(f"cannot write H.264 video to {self.path}: {exc}") from exc
        self._stream.width = self.width_px
        self._stream.height = self.height_px
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": preset, "x264-params": X264_PARAMS}
        self._time_base = Fraction(1, 1) / rate
        #: Wall seconds drawing (decoding thread) and converting + encoding (encoder thread).
        self.timings_s = {"overlay_s": 0.0, "encode_s": 0.0, "encode_wait_s": 0.0}
        self._queue: queue.Queue[int | None] = queue.Queue()  # bounded by the pictures
        self._error: BaseException | None = None
        self._aborting = False
        self._thread = threading.Thread(target=self._encode_loop, name="formcheck-clip-encoder", daemon=True)
        self._thread.start()

    # -- per-frame state -------------------------------------------------------------------
    def _rep_at(self, frame_index: int) -> int | None:
        for number, first, last in self._rep_ranges:
            if first <= frame_index <= last:
                return number
        return None

    def _top_text(self, frame: Frame) -> tuple[str, str, bool]:
        """The top band's text as (the part that holds for many frames, the clock), and whether a
        key moment is on screen."""
        win = MOMENT_WINDOW_S * self.source_fps
        moment = None
        for rep_no, name, fidx in self._moments:
            if abs(frame.index - fidx) <= win:
                moment = (rep_no, name)
        rep = moment[0] if moment else self._rep_at(frame.index)
        n = len(self.analysis.reps)
        if rep is None:
            parts = ["between reps" if self.analysis.pulls else "no rep found"]
        elif rep <= n:
            parts = [f"Rep {rep}/{n}"]
        else:  # a partial pull, named as every view names it: "Partial pull 1"
            parts = [self.analysis.pull_label(rep).capitalize()]
        if moment:
            parts.append(moment_label(moment[1]).upper())
        return " · ".join(parts) + " · ", f"{frame.time_s:.2f} s", moment is not None

    def handle(self, frame: Frame) -> None:
        """Annotate one source frame and queue it for encoding (every ``stride``-th frame only)."""
        if frame.index % self.stride:
            return
        t_wait = time.perf_counter()
        i = self._take_picture()
        t0 = time.perf_counter()
        self.timings_s["encode_wait_s"] += t0 - t_wait
        picture = self._pictures[i]
        top_h, crop_h = self.top_h, self.view.out_size[1]
        img = picture[top_h : top_h + crop_h]  # C-contiguous rows: drawn on in place
        self.view.apply(frame.bgr, out=img)
        kp = self.track.at(frame.index)
        sample = self.track.sample_near(frame.index)
        if kp is not None and sample >= 0:
            before, after = FAULT_WINDOW_S[0] * self.source_fps, FAULT_WINDOW_S[1] * self.source_fps
            live = [f for fidx, f in self._faults if -before <= frame.index - fidx <= after]
            draw_pose(
                img,
                self.analysis,
                sample,
                findings=live,
                view=self.view,
                keypoints=kp,
                style=self.style,
                copy=False,
            )
        fixed, clock, flash = self._top_text(frame)
        top = picture[:top_h]
        top[:] = self._top_band(fixed, flash)
        st.draw_changing_text(
            top,
            (self.style.pad_px, self.style.pad_px),
            fixed,
            clock,
            self.style.title_font_px,
            st.NEAR if flash else (255, 255, 255),
            True,
            fixed_drawn=True,
        )
        shown = tuple(n for n, c in enumerate(self.captions) if c.first_frame <= frame.index <= c.last_frame)
        if self._bottom_shown[i] != shown:  # the picture still shows its last band otherwise
            if shown not in self._bottom_cache:
                self._bottom_cache[shown] = self._caption_band([self.captions[k] for k in shown])
            picture[top_h + crop_h :] = self._bottom_cache[shown]
            self._bottom_shown[i] = shown
        self.timings_s["overlay_s"] += time.perf_counter() - t0
        self._put(i)

    def _take_picture(self) -> int:
        """Index of an output picture free to draw into: a new one while fewer than
        ``QUEUE_FRAMES + 2`` exist, else the next the encoder gives back (re-raises its error)."""
        while True:
            try:
                return self._free.get_nowait()
            except queue.Empty:
                pass
            if len(self._pictures) < QUEUE_FRAMES + 2:
                self._pictures.append(np.empty((self.height_px, self.width_px, 3), np.uint8))
                self._bottom_shown.append(None)
                return len(self._pictures) - 1
            self._raise_if_failed()
            try:
                return self._free.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise ClipWriteError(f"the encoder of {self.path} stopped") from self._error

    def _top_band(self, fixed: str, flash: bool) -> np.ndarray:
        """The top band with ``fixed`` drawn (cached; the clock is drawn after it per frame)."""
        band = self._top_cache.get((fixed, flash))
        if band is None:
            band = np.empty((self.top_h, self.width_px, 3), np.uint8)
            band[:] = st.PANEL
            st.draw_changing_text(
                band,
                (self.style.pad_px, self.style.pad_px),
                fixed,
                "",
                self.style.title_font_px,
                st.NEAR if flash else (255, 255, 255),
                True,
            )
            self._top_cache[(fixed, flash)] = band
        return band

    def _caption_band(self, captions: Sequence[Caption]) -> np.ndarray:
        """The bottom band showing ``captions`` (at most ``caption_lines`` lines; the rest is cut,
        "…", which :func:`fit_captions` avoids)."""
        w = self.width_px
        bottom = np.empty((self.bottom_h, w, 3), np.uint8)
        bottom[:] = st.PANEL
        lines: list[str] = []
        for c in captions:
            lines += st.wrap_text(c.text, self.style.font_px, w - 2 * self.style.pad_px)
        if len(lines) > self.caption_lines:
            lines = lines[: self.caption_lines]
            lines[-1] = lines[-1].rstrip(".") + " …"
        line_h = int(self.style.font_px * 1.3)
        st.draw_texts(
            bottom,
            [
                st.TextItem(
                    (self.style.pad_px, self.style.pad_px + i * line_h),
                    t,
                    self.style.font_px,
                    (255, 255, 255),
                )
                for i, t in enumerate(lines)
            ],
        )
        return bottom

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise ClipWriteError(f"cannot write H.264 video to {self.path}: {self._error}") from self._error

    def _put(self, picture: int | None) -> None:
        """Queue a picture's index (None: end of stream) for the encoder thread; re-raise its error.
        Never blocks: the number of pictures bounds the queue."""
        self._raise_if_failed()
        self._queue.put(picture)

    def _encode_loop(self) -> None:
        """Encoder thread: BGR -> I420 (OpenCV) -> libx264 -> mux, until None arrives."""
        import av

        w, h = self.width_px, self.height_px
        yuv = np.empty((h * 3 // 2, w), np.uint8)  # OpenCV's I420: Y, then U and V planes, packed
        flat = yuv.reshape(-1)
        planes_i420 = (yuv[:h], flat[h * w : h * w * 5 // 4], flat[h * w * 5 // 4 :])
        vf = av.VideoFrame(w, h, "yuv420p")  # one frame, refilled (its rows are padded)
        try:
            while True:
                index = self._queue.get()
                t = time.perf_counter()
                if self._aborting:
                    return
                if index is None:
                    for packet in self._stream.encode():
                        self._container.mux(packet)
                    self.timings_s["encode_s"] += time.perf_counter() - t
                    return
                cv2.cvtColor(self._pictures[index], cv2.COLOR_BGR2YUV_I420, dst=yuv)
                self._free.put(index)  # drawn into again while this one encodes
                _fill_yuv420p(vf, planes_i420)
                vf.pts = self.frames
                vf.time_base = self._time_base
                for packet in self._stream.encode(vf):
                    self._container.mux(packet)
                self.frames += 1
                self.timings_s["encode_s"] += time.perf_counter() - t
        except BaseException as exc:  # reported to the drawing thread by _put / close
            self._error = exc
            while True:  # drain so the producer never blocks forever
                try:
                    if self._queue.get(timeout=0.5) is None:
                        return
                except queue.Empty:
                    return

    def close(self) -> ClipResult:
        """Flush the encoder and finish the file."""
        self._put(None)
        self._thread.join()
        if self._error is not None:
            self.abort()
            raise ClipWriteError(f"cannot write H.264 video to {self.path}: {self._error}") from self._error
        self._container.close()
        return ClipResult(self.path, self.frames, self.width_px, self.height_px, self.fps, "h264")

    def abort(self) -> None:
        """Stop the encoder, close without flushing and delete the partial file."""
        if self._thread.is_alive():
            self._aborting = True
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
            self._thread.join(timeout=10)
        try:
            self._container.close()
        except Exception:
            pass
        finally:
            self.path.unlink(missing_ok=True)

    def consumer(self) -> FrameConsumer:
        """This writer as a frame-pass consumer (it wants every ``stride``-th frame, to the end)."""
        return FrameConsumer(None, self.handle, "clip", stride=self.stride)


def _fill_yuv420p(frame: av.VideoFrame, planes_i420: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Copy packed I420 planes (Y (h, w), then U and V flat) into a yuv420p frame's padded rows.

    ``make_writable`` first: should the encoder still hold a reference to the last picture's
    buffers, FFmpeg gives the frame new ones (libx264 copies each picture as it is sent, so it
    does not). One copy with the GIL released, where ``VideoFrame.from_ndarray`` made a new frame
    and copied twice holding it (~0.2 vs ~0.7 ms a 616x1270 frame)."""
    frame.make_writable()
    for plane, src in zip(frame.planes, planes_i420, strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8, count=plane.line_size * plane.height)
        dst = rows.reshape(plane.height, plane.line_size)[:, : plane.width]
        np.copyto(dst, src.reshape(plane.height, plane.width))


def write_annotated_clip(
    analysis: Analysis,
    out_path: str | Path,
    cues: Sequence[Cue] = (),
    *,
    max_side_px: int = 1280,
    crf: int = 23,
) -> ClipResult:
    """Write the annotated H.264 mp4 of the whole clip (one streaming decode pass)."""
    writer = ClipWriter(analysis, out_path, cues, max_side_px=max_side_px, crf=crf)
    try:
        run_frame_pass(analysis, [writer.consumer()])
    except BaseException:
        writer.abort()
        raise
    return writer.close()
