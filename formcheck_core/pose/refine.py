"""Targeted native-rate pass: the pose model on a few chosen source frames, for frame-accurate moments.

The main pass samples the clip at 10 fps, so a key moment found there lies on a 0.1 s grid.
:func:`refine_moments` places lift-off and lockout (and, on request, knee pass) on a source frame:
for each one it takes the interpolated position the 10 fps pass already estimated
(``Moment.refined_time_s``, a crossing between samples s0 and s0 + 1), takes at most
:data:`FRAMES_PER_EVENT` source frames strictly between those samples (the ones nearest that
estimate), runs the pose landmarker on them in time order and re-times the event on the measured
trajectory. The answer is the *first* frame that crosses, so a frame after one that already
crosses (or after a sample s0 that already does) is not measured: its answer is bracketed.
All events of a clip are measured in one sweep through the file (one model, one decoder that
decodes forward between events when no keyframe lies between them). The rules:

* lift-off / lockout: the first frame in [s0 .. s0 + 1] where the signal that defines the event
  reaches the value the 10 fps pass gives it (raw keypoints, offset-corrected by the
  raw-minus-smoothed difference at s0 and s0 + 1): for lift-off the hinge angle (the one
  :func:`~formcheck_core.biomech.moments.hinge_angle_deg` picked: image in a side view, 3D
  otherwise), for lockout the near shoulder's height (image px, up positive);
* knee pass: the first frame in (s - 1 .. s] with the bar (near-side wrist; the grip when the
  wrists are above the knee at lift-off, see :func:`~formcheck_core.biomech.moments.knee_pass_bar_y_px`) above the knee.

The result replaces ``refined_frame_index`` / ``refined_time_s`` of those moments and sets
``refined_by = "native frames"``; ``sample``, ``frame_index`` and ``time_s`` (what metrics and
stills use) are unchanged. A moment whose frames show no person keeps its interpolated estimate.
The setup is not refined (it ends a still stretch; one frame more or less changes nothing read).

The follow guard: the landmarker tracks one person from frame to frame and, in a clip with
several people, may hold a bystander on these frames while the 10 fps series (tracking switches
undone by :mod:`~formcheck_core.pose.follow`) follows the lifter. So each measured person must
continue the lifter's track (:class:`~formcheck_core.pose.tracks.LifterTrack`: the same rule as
:func:`~formcheck_core.pose.follow.follow_track`, from the sample nearest in time where the
analysed body was found); when it does not, the frame is posed again by a second landmarker
looking for up to :data:`~formcheck_core.pose.follow.FOLLOW_POSES` people (opened only then) and
the one who continues the track is kept, or nobody (a NaN row). A clip where the tracker stays on
the lifter pays only the check.

Per-frame pose rows (numbers only: source frame index, image keypoints in source pixels, world
points, visibility) are cached in the pose cache (``refine/<key>.npz``, keyed by the events'
candidate frames: the landmarker tracks from frame to frame, so rows measured for other windows
are not mixed in), so a second run decodes nothing.

Extra per-frame outputs (API for other targeted passes): :func:`run_native_frames` takes ``on_frame(frame_index, rgb, result)``, called once per
requested frame in time order (by :func:`refine_moments`: once per frame it measured) with the model-ready RGB image (uint8, long side at most
:data:`~formcheck_core.pose.feed.MAX_SIDE_PX`) and the chosen person's
:class:`~formcheck_core.pose.backend.PoseResult` (None when nobody was found). The callback runs only for frames measured in that call (cached
frames are not decoded again); keep only numbers from it, never frames.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..biomech.body import BodySeries, Moment, Rep
from ..biomech.kinematics import MIN_VISIBILITY, joint_angle_deg
from ..video import Frame, FrameReader, VideoInfo
from .backend import PoseResult
from .feed import choose_person, decode_inline, prefetch
from .follow import FOLLOW_POSES, FOLLOW_VERSION
from .landmarks import LANDMARK
from .tracks import LifterTrack

#: Bump when the stored rows change meaning (invalidates cached rows).
REFINE_VERSION = 4
#: At most this many source frames are measured per refined moment.
FRAMES_PER_EVENT = 2
#: Moments refined by default.
DEFAULT_MOMENTS = ("liftoff", "lockout")

OnFrame = Callable[[int, np.ndarray, PoseResult | None], None]


def refine_cache_key(
    video_sha256: str,
    model_id: str,
    windows: Sequence[Sequence[int]] = (),
    lifter: LifterTrack | None = None,
) -> str:
    """Hex key of a clip's cached native-frame pose rows for the events' candidate ``windows``
    (source frames). The landmarker tracks from frame to frame, so a frame's row depends on the
    frames measured before it: rows of a run over other windows are not reused. The follow guard
    keeps the person who continues ``lifter`` (the followed series), so the rows depend on that
    track and on :data:`~.follow.FOLLOW_VERSION` too."""
    track = lifter.fingerprint() if lifter is not None else None
    parts = json.dumps(
        [REFINE_VERSION, FOLLOW_VERSION, video_sha256, model_id, [list(map(int, w)) for w in windows], track]
    )
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


Row = tuple[np.ndarray, np.ndarray, np.ndarray]  # image_xy_px (33, 2), world_xyz_m (33, 3), visibility (33,)


def _measure(
    path: str | Path,
    frames: Sequence[tuple[int, float]],
    model_path: str | Path,
    source_size: tuple[int, int],
    *,
    need: Callable[[int], bool] | None = None,
    on_frame: OnFrame | None = None,
    lifter: LifterTrack | None = None,
) -> Iterator[tuple[int, Row]]:
    """(frame index, pose row) for each of ``frames`` (in time order) that ``need`` (asked just
    before the model runs, so it can look at the rows yielded so far) wants; NaN rows where
    nobody was found. Frames are decoded ahead while the model opens in another thread (once;
    not at all when no frame is needed); decoding inline (:func:`~.feed.decode_inline`), the
    model opens at the first needed frame, in this thread. ``lifter``: the follow guard (see the
    module docstring): a person who does not continue its track is not kept."""
    from .mediapipe_backend import MediaPipePose

    w, h = source_size
    opener = None if decode_inline() else ThreadPoolExecutor(1, thread_name_prefix="formcheck-model")
    opening = opener.submit(MediaPipePose, model_path) if opener else None
    pose: MediaPipePose | None = None
    several: MediaPipePose | None = None  # the guard's landmarker, opened when first needed
    try:
        with FrameReader(path) as reader:
            reader.want(index for index, _ in frames)  # skip other non-reference frames
            decoded = (Frame(index, time_s, reader.read(index)) for index, time_s in frames)
            for frame in prefetch(decoded):  # model-ready RGB, decoded ahead
                if need is not None and not need(frame.index):
                    continue
                if pose is None:
                    pose = opening.result() if opening else MediaPipePose(model_path)
                people = pose.detect(frame.bgr, frame.time_s)
                person = choose_person(people) if people else None
                if (
                    person is not None
                    and lifter is not None
                    and lifter.can_judge  # a track that cannot judge: keep the tracker's person
                    and lifter.pick(frame.time_s, [person], (w, h)) != 0
                ):
                    # the tracker holds someone else: look for everyone, keep who continues the lifter's track
                    if several is None:
                        several = MediaPipePose(model_path, num_poses=FOLLOW_POSES)
                    people = several.detect(frame.bgr, frame.time_s)
                    k = lifter.pick(frame.time_s, people, (w, h))
                    person = people[k] if k is not None else None
                if on_frame is not None:
                    on_frame(frame.index, frame.bgr, person)
                if person is None:
                    yield (
                        frame.index,
                        (np.full((33, 2), np.nan), np.full((33, 3), np.nan), np.full(33, np.nan)),
                    )
                else:
                    yield (
                        frame.index,
                        (person.image_xyzv[:, :2] * (w, h), person.world_xyz_m, person.image_xyzv[:, 3]),
                    )
    finally:
        if pose is None and opening is not None and opening.exception() is None:
            pose = opening.result()  # opened in the background but never used
        if pose is not None:
            pose.close()
        if several is not None:
            several.close()
        if opener is not None:
            opener.shutdown(wait=True)


def _table(rows: Sequence[tuple[int, Row]]) -> dict[str, np.ndarray]:
    n = len(rows)
    return {
        "frame_index": np.array([f for f, _ in rows], dtype=np.int64),
        "image_xy_px": np.array([r[0] for _, r in rows], dtype=np.float64).reshape(n, 33, 2),
        "world_xyz_m": np.array([r[1] for _, r in rows], dtype=np.float64).reshape(n, 33, 3),
        "visibility": np.array([r[2] for _, r in rows], dtype=np.float64).reshape(n, 33),
    }


def run_native_frames(
    path: str | Path,
    frames: Sequence[tuple[int, float]],
    model_path: str | Path,
    source_size: tuple[int, int],
    *,
    on_frame: OnFrame | None = None,
    lifter: LifterTrack | None = None,
) -> dict[str, np.ndarray]:
    """Pose rows for ``frames`` ((source frame index, time s), in time order): a table of arrays
    ``frame_index`` (N,), ``image_xy_px`` (N, 33, 2) in source pixels, ``world_xyz_m`` (N, 33, 3),
    ``visibility`` (N, 33); NaN rows where nobody was found. ``source_size`` = (width, height) of
    the upright source frame. ``on_frame``: see the module docstring. ``lifter``
    (:meth:`~.tracks.LifterTrack.of` the analysed body): keep only the person who continues its track
    (NaN rows where nobody does); None keeps whoever the tracker follows."""
    if not frames:
        return _table([])
    return _table(list(_measure(path, frames, model_path, source_size, on_frame=on_frame, lifter=lifter)))


def _hinge(xy: np.ndarray, world: np.ndarray, side: str, use_world: bool) -> np.ndarray:
    """(N,) hinge angle from (N, 33, 2) image / (N, 33, 3) world points of ``side``."""
    pts = world if use_world else xy
    idx = [LANDMARK[f"{side}_{j}"] for j in ("shoulder", "hip", "knee")]
    return joint_angle_deg(pts[:, idx[0]], pts[:, idx[1]], pts[:, idx[2]])


def _event_frames(body: BodySeries, m: Moment, name: str) -> tuple[int, int, list[int]] | None:
    """(s0, s1, source frames strictly between them nearest the interpolated estimate)."""
    t = body.time_s
    if name == "knee_pass":
        s1 = m.sample
        s0 = s1 - 1
    else:
        if m.refined_time_s is None:
            return None
        s0 = int(np.clip(np.searchsorted(t, m.refined_time_s, side="right") - 1, 0, t.size - 2))
        s1 = s0 + 1
    if s0 < 0 or s1 >= t.size:
        return None
    f0, f1 = int(body.frame_index[s0]), int(body.frame_index[s1])
    between = list(range(f0 + 1, f1))
    if not between:
        return None
    if name == "knee_pass":
        return s0, s1, between[:FRAMES_PER_EVENT]
    target = float(m.refined_frame_index if m.refined_frame_index is not None else f1)
    near = sorted(between, key=lambda f: (abs(f - target), f))[:FRAMES_PER_EVENT]
    return s0, s1, sorted(near)


@dataclass(frozen=True)
class _Event:
    """One moment to place: the first of ``frames`` (source frames strictly between samples s0 and
    s1, in time order) where ``crossed`` holds; ``start`` if frame f0 itself already crosses,
    else ``fallback`` (f1) when none does."""

    rep: int
    name: str
    frames: tuple[int, ...]
    crossed: Callable[[int, Row], bool]
    start: int | None
    fallback: int

    def resolve(self, rows: dict[int, Row]) -> int | None:
        """The frame, or None while a frame it needs is not measured yet."""
        if self.start is not None:
            return self.start
        for f in self.frames:
            if f not in rows:
                return None
            if self.crossed(f, rows[f]):
                return f
        return self.fallback

    def needs(self, frame: int, rows: dict[int, Row]) -> bool:
        """Whether ``frame`` must be measured to resolve this event (all earlier frames known)."""
        if self.start is not None or frame not in self.frames:
            return False
        for f in self.frames[: self.frames.index(frame)]:
            if f not in rows or self.crossed(f, rows[f]):
                return False
        return True


def _events(body: BodySeries, reps: Sequence[Rep], moments: Sequence[str]) -> list[_Event]:
    """The moments of ``reps`` to place, each with its crossing test on a measured row."""
    from ..biomech.moments import grip_y_px, hinge_angle_deg, knee_pass_uses_grip

    h_s = hinge_angle_deg(body)
    use_world = h_s is body.smoothed.get("hip_angle_world_deg")
    h_raw = np.asarray(body.raw["hip_angle_world_deg" if use_world else "hip_angle_deg"], float)
    side = body.side
    joints = [LANDMARK[f"{side}_{j}"] for j in ("shoulder", "hip", "knee")]
    wr, kn, sh = LANDMARK[f"{side}_wrist"], LANDMARK[f"{side}_knee"], LANDMARK[f"{side}_shoulder"]

    def hinge_of(row: Row) -> float:
        xy, world, vis = row
        if not np.nan_to_num(vis[joints]).min() >= MIN_VISIBILITY:
            return float("nan")
        return float(_hinge(xy[None], world[None], side, use_world)[0])

    def shoulder_up_of(row: Row) -> float:
        xy, _, vis = row
        return -float(xy[sh, 1]) if np.nan_to_num(vis[sh]) >= MIN_VISIBILITY else float("nan")

    # The signal each event is defined on (see moments.py): (smoothed, raw, value of a measured row).
    signals = {
        "liftoff": (h_s, h_raw, hinge_of),
        "lockout": (
            -np.asarray(body.smoothed["shoulder_y_px"], float),
            -np.asarray(body.raw["shoulder_y_px"], float),
            shoulder_up_of,
        ),
    }
    events = []
    for k, rep in enumerate(reps):
        for name in moments:
            m = rep.moments.get(name)
            plan = _event_frames(body, m, name) if m is not None else None
            if plan is None:
                continue
            s0, s1, frames = plan
            f0, f1 = int(body.frame_index[s0]), int(body.frame_index[s1])
            if name == "knee_pass":
                lift = rep.moments["liftoff"].sample if "liftoff" in rep.moments else s0

                def above(f: int, row: Row, grip: bool = knee_pass_uses_grip(body, lift)) -> bool:
                    hand = grip_y_px(row[0], side) if grip else row[0][wr, 1]
                    return bool(hand < row[0][kn, 1])

                events.append(_Event(k, name, tuple(frames), above, None, f1))
                continue
            assert m is not None
            x_s, x_raw, value_of = signals[name]
            pos = np.interp(
                float(m.refined_time_s if m.refined_time_s is not None else m.time_s),
                body.time_s,
                np.arange(body.time_s.size, dtype=float),
            )
            target = float(np.interp(pos, [s0, s1], [x_s[s0], x_s[s1]]))
            off0 = x_raw[s0] - x_s[s0] if math.isfinite(x_raw[s0]) else 0.0
            off1 = x_raw[s1] - x_s[s1] if math.isfinite(x_raw[s1]) else 0.0
            rising = bool(x_s[s1] >= x_s[s0])

            def reaches(
                f: int, v: float, target=target, off0=off0, off1=off1, f0=f0, f1=f1, rising=rising
            ) -> bool:
                if not math.isfinite(v):
                    return False
                thr = target + off0 + (off1 - off0) * (f - f0) / max(f1 - f0, 1)
                return (v >= thr) if rising else (v <= thr)

            def crossed(f: int, row: Row, reaches=reaches, value_of=value_of) -> bool:
                return reaches(f, value_of(row))

            start = f0 if reaches(f0, float(x_raw[s0])) else None
            events.append(_Event(k, name, tuple(frames), crossed, start, f1))
    return events


def refine_moments(
    info: VideoInfo,
    body: BodySeries,
    reps: Sequence[Rep],
    model_path: str | Path,
    *,
    model_id: str,
    video_sha256: str,
    moments: Sequence[str] = DEFAULT_MOMENTS,
    cache: bool = True,
    on_frame: OnFrame | None = None,
) -> tuple[Rep, ...]:
    """``reps`` with ``moments`` placed on source frames (see the module docstring)."""
    from ..biomech.moments import ordered_refinements
    from ..cache import load_table, save_table

    events = _events(body, reps, moments)
    lifter = LifterTrack.of(body)
    key = refine_cache_key(video_sha256, model_id, [e.frames for e in events], lifter)
    table = load_table("refine", key) if cache else None
    rows: dict[int, Row] = {}
    if table is not None:
        for i, f in enumerate(table["frame_index"].tolist()):
            rows[int(f)] = (table["image_xy_px"][i], table["world_xyz_m"][i], table["visibility"][i])
    pending = [e for e in events if e.resolve(rows) is None]
    todo = sorted({f for e in pending for f in e.frames if f not in rows})
    if todo:
        fps = info.fps if info.fps > 0 else 30.0

        def need(frame: int) -> bool:
            return any(e.needs(frame, rows) for e in pending)

        new = []
        for f, row in _measure(
            info.path,
            [(f, f / fps) for f in todo],
            model_path,
            (info.width_px, info.height_px),
            need=need,
            on_frame=on_frame,
            lifter=lifter,
        ):
            rows[f] = row
            new.append((f, row))
        if cache and new:
            added = _table(new)
            table = added if table is None else {c: np.concatenate([table[c], added[c]]) for c in added}
            save_table("refine", key, table)
    out = [dict(r.moments) for r in reps]
    for e in events:
        frame = e.resolve(rows)
        assert frame is not None  # every frame an event needed was measured
        if e.start is None and not any(np.isfinite(rows[f][0]).any() for f in e.frames if f in rows):
            continue  # the lifter was not found on its frames: the interpolated estimate stays
        m = out[e.rep][e.name]
        t_frame = float(np.interp(frame, np.asarray(body.frame_index, float), np.asarray(body.time_s, float)))
        out[e.rep][e.name] = replace(
            m, refined_frame_index=int(frame), refined_time_s=t_frame, refined_by="native frames"
        )
    return tuple(replace(r, moments=ordered_refinements(mo)) for r, mo in zip(reps, out, strict=False))
