"""Open, validate and stream video frames. The only module that decodes video.

Decoding uses PyAV (FFmpeg's libraries, multi-threaded). OpenCV's reader decodes the same frames
in the same order, but measured here it was up to 9x slower on some clips (31.6 s vs 3.6 s for the
616 frames of a 576x1024 H.264 clip), so frames come from PyAV and OpenCV only draws.

Long because probing, streaming, sample planning and random access must agree on one frame
numbering and one rotation rule; kept in one module so that no second decoder can drift from it.

Frames are streamed, never collected: :func:`iter_frames` yields one sampled frame at a time, so
memory does not grow with clip length. Frame indices are 0-based in decode (presentation) order,
the order ``cv2.VideoCapture.read`` gives. Rotation metadata (a display matrix, as phones write)
is applied, so frames come out upright and ``VideoInfo.width_px``/``height_px`` describe the
upright frame.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import VideoError
from .mp4_index import cut_before_index


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip, after rotation (width/height are of the upright frame)."""

    path: str
    width_px: int
    height_px: int
    fps: float
    #: Frame count from the container header; can be wrong, the analysis counts frames as it reads.
    frame_count_header: int
    #: Clockwise rotation (degrees) applied to the stored frames to show them upright.
    rotation_deg: int
    size_bytes: int

    @property
    def duration_s(self) -> float:
        """Duration from the header frame count and fps (approximate)."""
        return self.frame_count_header / self.fps if self.fps > 0 else float("nan")


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: its index in the source video (0-based, read order), time and BGR pixels."""

    index: int
    time_s: float
    bgr: np.ndarray


#: Environment variable capping FFmpeg's decoding threads per clip (``formcheck batch`` workers set 1).
DECODE_THREADS_ENV = "FORMCHECK_DECODE_THREADS"
#: Environment variable: "1" makes :func:`formcheck_core.pose.feed.prefetch` decode in the thread
#: that runs the pose model instead of a background thread (same frames, same order, same
#: pixels). ``formcheck batch`` workers set it when there are at least as many workers as cores.
DECODE_INLINE_ENV = "FORMCHECK_DECODE_INLINE"


def _not_a_video(p: Path, detail: str) -> VideoError:
    return VideoError(
        f"{p} could not be opened as a video ({detail}): it is not a video file, is truncated, or "
        "uses a codec FFmpeg cannot read. Re-export it as an .mp4 (H.264) and try again."
    )


def _open_error_detail(exc: Exception) -> str:
    """FFmpeg's reason in words ("Invalid data found when processing input"), without errno numbers."""
    reason = getattr(exc, "strerror", None) or str(exc).split(":")[0]
    return str(reason).strip() or type(exc).__name__


#: FFmpeg demuxers that read one picture file (or a sequence of numbered pictures), not a video.
_IMAGE_DEMUXERS = frozenset({"image2", "image2pipe"})


def _still_image_kind(container: av.container.InputContainer) -> str | None:
    """The picture format ("JPEG", "PNG", ...) if FFmpeg opened ``container`` as a still image."""
    name = container.format.name
    if name in _IMAGE_DEMUXERS or name.endswith("_pipe"):
        codec = container.streams.video[0].codec_context.name if container.streams.video else ""
        return {"mjpeg": "JPEG"}.get(codec, codec.upper() or name)
    return None


def _open(p: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    try:
        container = av.open(str(p))
    except (av.FFmpegError, OSError, ValueError) as exc:
        if p.is_file() and cut_before_index(p):
            raise VideoError(
                f"{p} was cut short: it holds the start of an MP4/MOV recording but not the index a "
                "player needs to read it (the recording or the copy did not finish). Copy the clip "
                "again from the camera or phone, or re-export it, and try again."
            ) from None
        raise _not_a_video(p, _open_error_detail(exc)) from None
    if not container.streams.video:
        audio = bool(container.streams.audio)
        container.close()
        if audio:
            raise VideoError(
                f"{p} holds only sound, no picture: export or record the clip with its video track."
            )
        raise _not_a_video(p, "no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    threads = os.environ.get(DECODE_THREADS_ENV, "").strip()
    if threads.isdigit():  # 0 (or unset) = FFmpeg's choice, one per core
        stream.codec_context.thread_count = int(threads)
    return container, stream


def _decoded(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Generator[av.VideoFrame, None, None]:
    """Decoded frames in order; stops quietly at the first undecodable packet (truncated file)."""
    try:
        yield from container.decode(stream)
    except (av.FFmpegError, EOFError):
        return


def _upright_bgr(frame: av.VideoFrame, reformatter: VideoReformatter | None = None) -> np.ndarray:
    """BGR pixels of ``frame`` rotated as its display matrix says.

    ``reformatter``: one kept for a whole stream (the same pixels): ``frame.to_ndarray(format=...)``
    sets up FFmpeg's scaler afresh for every frame, which cost about 0.5 ms a frame at 360x640
    (process CPU), more than the conversion itself.
    """
    if reformatter is not None:
        bgr = reformatter.reformat(frame, format="bgr24").to_ndarray()
    else:
        bgr = frame.to_ndarray(format="bgr24")
    turns = int(round(getattr(frame, "rotation", 0) or 0)) // 90 % 4  # counter-clockwise quarter turns
    return np.ascontiguousarray(np.rot90(bgr, k=turns)) if turns else bgr


def _stream_fps(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 1000:
            return float(rate)
    return 30.0


def readable_packets(path: str | Path) -> int:
    """Video packets that can actually be read from the file (demuxed, not decoded: fast).

    Compared with :attr:`VideoInfo.frame_count_header` this detects a truncated file: its index
    still lists every frame, but the data of the last ones is gone. Packets the container marks
    to discard (edit lists) are still read, so they do not count as missing.
    """
    container, stream = _open(Path(path).expanduser())
    n = 0
    with container:
        try:
            for packet in container.demux(stream):
                n += packet.size > 0
        except (av.FFmpegError, EOFError, OSError):
            pass
    return n


def stated_frame_count(path: str | Path, fps: float) -> int:
    """Frames the header promises: its frame count, or, when it gives none (phones often leave it
    out), the video stream's stated duration x ``fps``, rounded; 0 when it states neither. The
    stream's own duration, not the file's: a sound track may run longer than the picture."""
    container, stream = _open(Path(path).expanduser())
    with container:
        if stream.frames:
            return int(stream.frames)
        if stream.duration and stream.time_base and fps > 0:
            return int(round(float(stream.duration * stream.time_base) * fps))
    return 0


def missing_file(names: str) -> VideoError:
    """The error for clip path(s) ``names`` that do not exist (one wording for every command;
    ``scripts/analyze.sh`` prints the same line before set-up)."""
    return VideoError(f"No such file: {names}. Check the path and try again.")


def probe_video(path: str | Path) -> VideoInfo:
    """Check that ``path`` is a readable video and return its header facts.

    Raises :class:`VideoError` with a one-line explanation for a missing, empty, non-video or
    undecodable file (the first frame must decode), and for a still picture: a photo, or a file
    whose video holds a single frame (a second frame must decode too).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise missing_file(str(p))
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a video file.")
    size = p.stat().st_size
    if size == 0:
        raise VideoError(f"{p} is empty (0 bytes): the recording or copy did not finish.")
    container, stream = _open(p)
    with container:
        frames = _decoded(container, stream)  # one decoder: a second one would start past frames
        first = next(frames, None)  # the first one already holds in its buffers
        second = next(frames, None) if first is not None else None
        frames.close()
        if first is None:
            raise VideoError(
                f"{p} opened but no frame could be decoded: the file is truncated or corrupt. "
                "Re-export or re-copy the clip."
            )
        picture = _still_image_kind(container)
        if picture is not None or second is None:
            what = f"a still image ({picture})" if picture else "a single frame"
            raise VideoError(
                f"{p} is {what}, not a video: formcheck measures movement, so it needs a clip of the "
                "whole lift (a few seconds, from the set-up to the lockout)."
            )
        height, width = _upright_bgr(first).shape[:2]
        rotation = int(round(getattr(first, "rotation", 0) or 0))
        fps = _stream_fps(stream)
        count = int(stream.frames or 0)
    return VideoInfo(
        path=str(p),
        width_px=int(width),
        height_px=int(height),
        fps=fps,
        frame_count_header=max(count, 0),
        rotation_deg=(-rotation) % 360,
        size_bytes=size,
    )


def sample_step(source_fps: float, target_fps: float | None) -> float:
    """Seconds between kept frames; 0 keeps every frame (``target_fps`` None or >= source fps)."""
    if target_fps is None or target_fps <= 0 or target_fps >= source_fps:
        return 0.0
    return 1.0 / target_fps


class _SampleRule:
    """The sampling rule shared by :func:`iter_frames` and :func:`plan_samples`.

    Frame times are made strictly increasing (a missing or repeated timestamp becomes
    ``index / fps``), and a frame is kept when its time plus half a source frame reaches the next
    slot of the target rate, so 30 -> 10 fps keeps every third frame exactly.
    """

    def __init__(self, fps: float, target_fps: float | None) -> None:
        self.fps = fps
        self.step_s = sample_step(fps, target_fps)
        self.slack_s = 0.5 / fps
        self.next_keep_s = 0.0
        self.prev_t = -1.0

    def time(self, index: int, t: float | None) -> float:
        """Time (s) of frame ``index`` given its timestamp relative to the first frame (or None)."""
        if t is None:
            t = index / self.fps
        if t <= self.prev_t:
            t = index / self.fps if index / self.fps > self.prev_t else self.prev_t + 1.0 / self.fps
        self.prev_t = t
        return t

    def keep(self, t: float) -> bool:
        """Whether the frame at ``t`` is sampled (advances to the next slot when it is)."""
        if t + self.slack_s < self.next_keep_s:
            return False
        while self.step_s > 0 and self.next_keep_s <= t + self.slack_s:
            self.next_keep_s += self.step_s
        return True


def iter_frames(
    path: str | Path,
    target_fps: float | None = 10.0,
    *,
    info: VideoInfo | None = None,
    only_indices: set[int] | None = None,
    keep_index: Callable[[int], bool] | None = None,
    thumbnails: Thumbnails | None = None,
) -> Iterator[Frame]:
    """Stream upright BGR frames of ``path`` at about ``target_fps`` (None = every frame).

    Every frame is decoded (video codecs need it) but only kept frames are converted to pixels.
    Times are presentation timestamps from the container, relative to the first frame; when a
    timestamp is missing or not increasing, ``index / fps`` is used. ``only_indices`` keeps
    exactly those source frame indices instead (for rendering stills) and stops after the last.
    ``keep_index`` (instead of both): keeps the frames whose source index it accepts, to the end
    (e.g. every other frame for a 30 fps rendering of a 60 fps clip, plus the stills' frames).
    Stops quietly at the first undecodable frame of a truncated file. ``thumbnails``: also collect
    a thumbnail of every decoded frame there (marked complete when the stream ends).
    """
    info = info or probe_video(path)
    rule = _SampleRule(info.fps, target_fps)
    last_index = max(only_indices) if only_indices else None
    t0: float | None = None
    container, stream = _open(Path(info.path))
    reformatter = VideoReformatter()
    with container:
        for index, frame in enumerate(_decoded(container, stream)):
            if thumbnails is not None:
                thumbnails.frames.append(_thumbnail(frame, thumbnails.width_px))
            pts_s = (
                float(frame.pts * stream.time_base) if frame.pts is not None and stream.time_base else None
            )
            if t0 is None and pts_s is not None:
                t0 = pts_s
            t = rule.time(index, pts_s - t0 if pts_s is not None and t0 is not None else None)
            if keep_index is not None:
                keep = keep_index(index)
            else:
                keep = index in only_indices if only_indices is not None else rule.keep(t)
            if keep:
                yield Frame(index=index, time_s=float(t), bgr=_upright_bgr(frame, reformatter))
            if last_index is not None and index >= last_index:
                return
        if thumbnails is not None:
            thumbnails.complete = True


#: 8-bit pixel formats whose first plane is the luma (read in place for thumbnails).
_LUMA_FIRST_8BIT = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}
)


def _thumbnail(frame: av.VideoFrame, width_px: int) -> np.ndarray:
    """Grayscale thumbnail of ``frame`` about ``width_px`` wide: block means of every few pixels
    of the luma plane (16 per block), read in place (no conversion of the frame); other pixel
    formats are scaled by FFmpeg."""
    if frame.format.name not in _LUMA_FIRST_8BIT:
        h = max(1, round(width_px * frame.height / max(frame.width, 1)))
        return frame.reformat(width=width_px, height=h, format="gray").to_ndarray().astype(np.float32)
    plane = frame.planes[0]
    luma = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    block = max(1, plane.width // width_px)
    step = max(1, block // 4)
    sub = luma[::step, ::step].astype(np.float32)
    k = max(1, block // step)
    rows, cols = sub.shape[0] // k, sub.shape[1] // k
    return sub[: rows * k, : cols * k].reshape(rows, k, cols, k).mean(axis=(1, 3))


@dataclass
class Thumbnails:
    """A grayscale thumbnail of every frame a pass decodes (see :func:`iter_thumbnails`), collected
    on the side by :func:`iter_frames` so a second decode is not needed. ``complete`` is True once
    the decode reached the end of the stream (every frame is in ``frames``)."""

    width_px: int
    frames: list[np.ndarray] = field(default_factory=list)
    complete: bool = False


def iter_thumbnails(path: str | Path, width_px: int) -> Iterator[np.ndarray]:
    """Every frame of ``path`` in read order as a tiny grayscale thumbnail (float32, about
    ``width_px`` wide, height in proportion; stored orientation, not rotated), for cheap
    whole-frame comparisons (scene cuts). The thumbnail costs far less than decoding the frame.
    The same thumbnails as :func:`iter_frames` collects in a :class:`Thumbnails`. Stops quietly
    at the first undecodable frame of a truncated file."""
    container, stream = _open(Path(path))
    with container:
        for frame in _decoded(container, stream):
            yield _thumbnail(frame, width_px)


class PlanMismatchError(RuntimeError):
    """Decoded frames disagree with a :class:`SamplePlan` made from demuxed timestamps."""


@dataclass(frozen=True)
class SamplePlan:
    """The frames :func:`iter_frames` keeps, worked out by demuxing alone (no decoding).

    ``pts`` is every frame's presentation timestamp in read order (stream time base);
    ``kept_index`` and ``kept_time_s`` are the sampled source indices and their times in seconds,
    the values :func:`iter_frames` yields for the same ``target_fps``.
    """

    pts: tuple[int, ...]
    kept_index: tuple[int, ...]
    kept_time_s: tuple[float, ...]


def plan_samples(
    path: str | Path, target_fps: float | None = 10.0, *, info: VideoInfo | None = None
) -> SamplePlan | None:
    """Plan :func:`iter_frames`' sampling from packet timestamps (fast: no decoding).

    Applies the same rule as :func:`iter_frames` (times relative to the first frame, half a
    source frame of slack). None when a timestamp is missing or repeated: only decoding can tell
    then. Use :func:`iter_planned_frames` to decode a range of the plan; it checks the plan.
    """
    info = info or probe_video(path)
    container, stream = _open(Path(info.path))
    pts: list[int | None] = []
    with container:
        try:
            # discarded packets (outside an edit list) decode to no frame
            pts = [packet.pts for packet in container.demux(stream) if packet.size and not packet.is_discard]
        except (av.FFmpegError, EOFError):
            pass  # truncated: decoding the plan stops where iter_frames stops
        time_base = stream.time_base
    known = [p for p in pts if p is not None]
    if not pts or not time_base or len(known) != len(pts) or len(set(known)) != len(known):
        return None
    ordered = sorted(known)
    rule = _SampleRule(info.fps, target_fps)
    t0 = float(ordered[0] * time_base)
    kept_index, kept_time_s = [], []
    for index, pts_i in enumerate(ordered):
        t = rule.time(index, float(pts_i * time_base) - t0)
        if rule.keep(t):
            kept_index.append(index)
            kept_time_s.append(t)
    return SamplePlan(tuple(ordered), tuple(kept_index), tuple(kept_time_s))


def iter_planned_frames(
    path: str | Path, plan: SamplePlan, start: int, stop: int
) -> Generator[Frame, None, bool]:
    """The planned (kept) frames among source indices ``start`` .. ``stop - 1``, upright BGR.

    Seeks to the keyframe before frame ``start`` and decodes forward; frames before ``start``
    are decoded but not converted. Returns True when every frame of the range decoded, False
    when decoding stopped early (truncated file: stops quietly, like :func:`iter_frames`).
    Raises :class:`PlanMismatchError` when a decoded timestamp is not the planned one.
    """
    keep = {i: t for i, t in zip(plan.kept_index, plan.kept_time_s, strict=False) if start <= i < stop}
    container, stream = _open(Path(path))
    reformatter = VideoReformatter()
    with container:
        if start > 0:
            container.seek(plan.pts[start], stream=stream, backward=True)
        index = start
        for frame in _decoded(container, stream):
            if frame.pts is not None and frame.pts < plan.pts[start]:
                continue  # between the keyframe and the range start
            if frame.pts != plan.pts[index]:
                raise PlanMismatchError(
                    f"{path}: frame {index} has pts {frame.pts}, planned {plan.pts[index]}"
                )
            if index in keep:
                yield Frame(index=index, time_s=keep[index], bgr=_upright_bgr(frame, reformatter))
            index += 1
            if index == stop:
                return True
    return False


class FrameReader:
    """Random access to upright BGR frames by source index, with one decoder kept open.

    The presentation timestamps of all frames (and which are keyframes) are read once by
    demuxing (no decoding), so frame ``i`` is found by seeking to the keyframe before it and
    decoding forward. A read ahead of the decoder decodes forward instead when a seek would not
    save work: when no keyframe lies between the decoder and the frame (a seek would land at or
    before where the decoder already is; long-GOP phone clips) or only just after the decoder.
    Falls back to decoding from the start for streams without usable timestamps. Not
    thread-safe: serialise access from several threads.
    """

    #: Without keyframe positions, reads at most this many frames ahead of the decoder continue
    #: decoding instead of seeking; also the step back when a seek lands past the frame.
    READ_AHEAD = 45
    #: A seek must skip more than this many frames to be worth it (it flushes the decoder).
    SEEK_SAVING = 8

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._container, self._stream = _open(self.path)
        packets = [
            (p.pts, p.is_keyframe) for p in self._container.demux(self._stream) if p.size and not p.is_discard
        ]
        known = [p for p, _ in packets if p is not None]
        usable = bool(packets) and len(known) == len(packets) and len(set(known)) == len(known)
        self._pts: list[int] | None = sorted(known) if usable else None
        #: Source indices of the keyframes (sorted; empty when the timestamps are unusable).
        self._keyframes: list[int] = (
            sorted(bisect.bisect_left(self._pts, p) for p, key in packets if key and p is not None)
            if self._pts is not None
            else []
        )
        self._frames: Iterator[av.VideoFrame] | None = None
        self._next = 0  # index of the frame the open decoder yields next
        self._wanted_pts: set[int] | None = None  # see want()

    def want(self, indices: Iterable[int]) -> None:
        """Announce every frame that will be read (until the next call): while decoding forward,
        the decoder may then skip *non-reference* frames that are not among them (no other frame
        is decoded from those, so the frames read are the same; in B-frame streams about half
        the decoding work between far-apart frames). Reading a frame not announced drops the
        announcement (and restarts the decoder: it may have skipped that frame)."""
        if self._pts is None:
            return
        self._wanted_pts = {self._pts[i] for i in indices if 0 <= i < len(self._pts)}
        self._frames = None  # frames already decoded ahead were decided without it

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames from the demuxer's position; with :meth:`want`, non-reference frames
        that are not wanted are not decoded (FFmpeg's ``skip_frame``, set per packet)."""
        ctx = self._stream.codec_context
        wanted = self._wanted_pts
        try:
            for packet in self._container.demux(self._stream):
                if wanted is not None:
                    skip = packet.pts is not None and packet.pts not in wanted
                    ctx.skip_frame = "NONREF" if skip else "DEFAULT"
                yield from packet.decode()
        except (av.FFmpegError, EOFError):
            return
        finally:
            if wanted is not None:
                ctx.skip_frame = "DEFAULT"

    def _forward(self, index: int) -> bool:
        """Whether to reach frame ``index`` by decoding forward from where the open decoder is
        (not past it) rather than seeking: unless a keyframe after the decoder's position, by
        more than :attr:`SEEK_SAVING` frames, lies at or before ``index`` (a seek there decodes
        fewer frames)."""
        if self._frames is None or not 0 <= self._next <= index:
            return False
        if self._pts is None or not self._keyframes:
            return index <= self._next + self.READ_AHEAD or self._pts is None
        last_key = self._keyframes[max(bisect.bisect_right(self._keyframes, index) - 1, 0)]
        return last_key <= self._next + self.SEEK_SAVING

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _restart(self, index: int) -> None:
        if self._pts is None or index < self.READ_AHEAD:
            self._container.seek(0, stream=self._stream)
            self._next = 0
        else:
            self._container.seek(self._pts[index], stream=self._stream, backward=True)
            self._next = -1  # unknown until the first frame's timestamp is seen
        self._frames = self._decode()

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based, read order), upright BGR; :class:`VideoError` past the end.

        A seek can land past the wanted frame (open-GOP streams: the demuxer picks a keyframe by
        decode time, and the first frames out are the leading B-frames after it); then the seek
        target moves back until the decoder starts at or before ``index``, down to the start.
        """
        if index < 0 or (self._pts is not None and index >= len(self._pts)):
            raise VideoError(f"Frame {index} of {self.path} does not exist.")
        if (
            self._wanted_pts is not None
            and self._pts is not None
            and self._pts[index] not in self._wanted_pts
        ):
            self._wanted_pts = None  # not announced: it may have been skipped
            self._frames = None
        target = index
        while True:
            if not self._forward(index):
                self._restart(target)
            frame = self._decode_up_to(index)
            if frame is not None:
                return _upright_bgr(frame)
            if self._next <= index + 1 or target == 0:  # the decoder passed `index`: not decodable
                break
            target = 0 if target < self.READ_AHEAD else max(target - self.READ_AHEAD, 0)
            self._frames = None
        self._frames = None
        raise VideoError(f"Frame {index} of {self.path} could not be decoded.")

    def _decode_up_to(self, index: int) -> av.VideoFrame | None:
        """Decode forward to frame ``index``; None when the stream ends or jumps past it.

        Each frame's timestamp places the decoder (frames skipped by :meth:`want` leave gaps);
        after a seek ``self._next`` is -1 until then, and when that first frame already lies past
        ``index``, ``self._next`` is left past it too.
        """
        assert self._frames is not None
        for frame in self._frames:
            if self._pts is not None and frame.pts is not None:
                first = self._next < 0
                self._next = bisect.bisect_left(self._pts, frame.pts)
                if first and self._next > index:
                    self._next += 1  # first frame out is past `index`: seek further back
                    return None
            elif self._next < 0:
                self._next = index
            current = self._next
            self._next += 1
            if current == index:
                return frame
            if current > index:
                break
        self._next = 0  # stream ended or skipped `index`: `_next <= index + 1` ends the retries
        return None


def read_frame(path: str | Path, index: int) -> np.ndarray:
    """Decode one upright BGR frame by source index (seeks to the keyframe before it)."""
    with FrameReader(path) as reader:
        return reader.read(int(index))


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Content hash of a file (hex), streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()
