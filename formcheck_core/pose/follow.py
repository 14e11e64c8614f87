"""Keep following the lifter across an identity break: the affected samples posed again.

When the person a pose series follows jumps faster than a person moves inside a shot
(:func:`~formcheck_core.pose.identity.identity_breaks`: the tracker lost the lifter and picked up
someone else, e.g. a bystander walking through), the shot is split at its breaks, the parts are
linked into people by where they start and end (:func:`~.tracks.link_parts`), and the person followed
longest over the shot (most detected samples, summed over their parts) is taken as the lifter:
a bystander passes through, the lifter stays. Every sample of the shot outside the lifter's
parts is posed again (:func:`refollow`) by a fresh backend looking for up to
:data:`FOLLOW_POSES` people, and at each sample the person who continues the lifter's track is
kept (:func:`~.tracks.follow_track`), or nobody (NaN: the lifter was not found there). Nothing runs for a
clip without a break (none of the 36 dev and 24 held-out clips has one), so the default pose
pass costs what it did. The native-rate pass (:mod:`~formcheck_core.pose.refine`) keeps its
person by the same rule (:class:`~.tracks.LifterTrack`, from the followed series).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..video import Frame, VideoInfo, iter_frames
from .back_pass import MainPassBack
from .backend import PoseResult
from .feed import BackendFactory, SeriesBuilder, prefetch, progress_bar
from .identity import IdentityBreak, body_length_mid_px, joint_mid_px
from .series import PoseSeries
from .tracks import follow_track, link_parts

#: People the second pass looks for: the lifter and up to two others in view (the dev clips show
#: at most three people). More costs detector time on every sample without helping the choice.
FOLLOW_POSES = 3
#: Bump when what :func:`refollow` stores changes (invalidates cached re-followed poses only).
FOLLOW_VERSION = 2


def follow_cache_key(pose_key: str, shot_starts: Sequence[int], breaks: Sequence[IdentityBreak]) -> str:
    """Hex key of the pose of the clip whose whole-clip pass is cached under ``pose_key``, posed
    per shot (``shot_starts``, :mod:`~formcheck_core.pose.shots`), with the samples around its
    identity ``breaks`` posed again (:func:`refollow`; cuts and break samples are in the key)."""
    parts = json.dumps(
        [
            FOLLOW_VERSION,
            FOLLOW_POSES,
            "follow",
            pose_key,
            [int(s) for s in shot_starts],
            [b.sample for b in breaks],
        ]
    )
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def follow_windows(
    image_xy_px: np.ndarray,
    time_s: np.ndarray,
    shot_starts: Sequence[int],
    breaks: Sequence[IdentityBreak],
) -> list[tuple[int, int, int]]:
    """(first, end, anchor) of each sample range to pose again (end exclusive), in time order.

    ``image_xy_px`` (T, 33, 2) landmarks in pixels (NaN where no pose), ``time_s`` (T,) seconds.
    Per shot with a break, the shot is split at its breaks into parts, and the parts are linked
    into people (:func:`link_parts`: a part continues the person whose last place its first
    sample can reach, as :func:`follow_track` links people sample to sample). The person with the
    most detected samples over the shot (the earliest on a tie) is the lifter: a bystander passes
    through, the lifter stays, even when a bystander was followed longer in one stretch than the
    lifter was in any one. Each run of the shot's samples outside the lifter's parts is a range;
    ``anchor`` is the lifter's detected sample next to it, where :func:`follow_track` starts: the
    last of the lifter's part before the range (walked forward), or for a range before the
    lifter's first part, the first sample of that part (walked backward).
    """
    xy = np.asarray(image_xy_px, float)
    t = np.asarray(time_s, float)
    hips = joint_mid_px(xy, "hip")
    det = np.isfinite(hips).all(axis=1)
    n = det.size
    bounds = sorted({0, *(int(s) for s in shot_starts if 0 < s < n), n})
    cuts = sorted({b.sample for b in breaks})
    out: list[tuple[int, int, int]] = []
    for a, b in itertools.pairwise(bounds):
        inner = [s for s in cuts if a < s < b]
        if not inner:
            continue
        parts = [
            (lo, hi, lo + np.flatnonzero(det[lo:hi])) for lo, hi in zip([a, *inner], [*inner, b], strict=True)
        ]
        parts = [p for p in parts if p[2].size]
        scale = body_length_mid_px(xy[a:b])
        if not parts or not (np.isfinite(scale) and scale > 0):
            continue
        person = link_parts([(hips[s[0]], t[s[0]], hips[s[-1]], t[s[-1]]) for _, _, s in parts], scale)
        counts: dict[int, int] = {}
        for k, (_, _, seen) in zip(person, parts, strict=True):
            counts[k] = counts.get(k, 0) + int(seen.size)
        lifter = max(counts, key=lambda k: (counts[k], -k))  # people are numbered in time order
        mine = [p for k, p in zip(person, parts, strict=True) if k == lifter]
        first_lo, first_seen = mine[0][0], mine[0][2]
        if first_lo > a:
            out.append((a, first_lo, int(first_seen[0])))
        for (_, hi, seen), nxt in zip(mine, [*(p[0] for p in mine[1:]), b], strict=True):
            if hi < nxt:
                out.append((hi, nxt, int(seen[-1])))
    return out


def refollow(
    info: VideoInfo,
    pose: PoseSeries,
    shot_starts: Sequence[int],
    breaks: Sequence[IdentityBreak],
    open_backend: BackendFactory,
    *,
    back: MainPassBack | None = None,
    progress: bool = True,
) -> PoseSeries:
    """``pose`` with the samples around its identity ``breaks`` posed again, keeping the lifter.

    Each range of :func:`follow_windows` is posed by a fresh backend from ``open_backend`` (it
    should look for :data:`FOLLOW_POSES` people; with ``back`` it must return masks) on the same
    sample frames, and the person :func:`follow_track` keeps replaces the row (NaN where nobody
    continues the track); ``people_count`` says how many were found. ``back``'s rows at those
    samples are replaced with the kept person's. ``pose`` itself is unchanged.
    """
    windows = follow_windows(pose.image_xy_px, pose.time_s, shot_starts, breaks)
    if not windows:
        return pose
    starts = {int(s) for s in shot_starts}
    fi = pose.frame_index
    hips = joint_mid_px(pose.image_xy_px, "hip")
    samples = np.concatenate([np.arange(a, b) for a, b, _ in windows])
    first_of = {int(fi[a]): k for k, (a, _b, _) in enumerate(windows)}
    found: list[list[PoseResult]] = []
    slots = [MainPassBack(back.source_size) for _ in range(FOLLOW_POSES)] if back is not None else []
    frames: list[Frame] = []
    wanted = {int(f) for f in fi[samples]}
    decoded = prefetch(iter_frames(info.path, pose.sample_fps, info=info, only_indices=wanted))
    bar = progress_bar(info, int(samples.size), progress, what="pose again (another person was followed)")
    backend = None
    try:
        with bar:
            for frame in decoded:
                if frame.index in first_of:  # a new range: a fresh tracker
                    if backend is not None:
                        backend.__exit__(None, None, None)
                        backend = None
                    backend = open_backend()
                if backend is None:
                    raise RuntimeError(f"frame {frame.index} decoded before its range's first sample")
                people = backend.detect(frame.bgr, frame.time_s)[:FOLLOW_POSES]
                for k, rows in enumerate(slots):  # back rows of every candidate: masks are not kept
                    rows(frame.index, people[k] if k < len(people) else None)
                found.append([PoseResult(p.image_xyzv, p.world_xyz_m) for p in people])
                frames.append(Frame(frame.index, frame.time_s, np.zeros((0, 0, 3), np.uint8)))
                bar.update(1)
    finally:
        if backend is not None:
            backend.__exit__(None, None, None)
    if [f.index for f in frames] != [int(f) for f in fi[samples]]:
        raise RuntimeError(
            f"{info.path}: decoding again gave other frames than the pose pass "
            f"({len(frames)} of {samples.size} samples)"
        )
    size = np.array([info.width_px, info.height_px], float)
    choice: dict[int, int | None] = {}
    pos = {int(s): i for i, s in enumerate(samples)}
    outside = np.ones(pose.n_samples, bool)  # samples not posed again: the lifter's parts
    outside[samples] = False
    for a, b, anchor in windows:
        walk = list(range(a, b)) if a > anchor else list(range(b - 1, a - 1, -1))
        lo, hi = anchor, anchor + 1  # the lifter's part the anchor is in: its body length is the scale
        while lo > 0 and outside[lo - 1] and lo not in starts:
            lo -= 1
        while hi < pose.n_samples and outside[hi] and hi not in starts:
            hi += 1
        scale = body_length_mid_px(pose.image_xy_px[lo:hi])
        cands = [
            np.array([joint_mid_px(p.image_xyzv[:, :2] * size, "hip") for p in found[pos[s]]]).reshape(-1, 2)
            for s in walk
        ]
        picks = follow_track(hips[anchor], float(pose.time_s[anchor]), cands, pose.time_s[walk], scale)
        choice.update(zip(walk, picks, strict=True))
    builder = SeriesBuilder(info)
    for s, frame in zip(samples, frames, strict=True):
        c = choice[int(s)]
        builder.add(frame, [found[pos[int(s)]][c]] if c is not None else [])
    part = builder.build(pose.sample_fps, pose.model_id, pose.running_mode)
    arrays = {name: values.copy() for name, values in pose.arrays().items()}
    for name, values in part.arrays().items():
        if name != "time_s":  # the pass's own sample times stay
            arrays[name][samples] = values
    arrays["people_count"][samples] = [len(found[pos[int(s)]]) for s in samples]
    if back is not None:
        tables = [rows.table() for rows in slots]
        kept = {name: np.array(values, copy=True) for name, values in tables[0].items()}
        for i, s in enumerate(samples):
            c = choice[int(s)]
            for name, values in kept.items():
                if name == "frame_index":
                    continue
                values[i] = tables[c][name][i] if c is not None else _nan_like(values[i])
        chosen_rows = MainPassBack(back.source_size)
        chosen_rows.restore(kept)
        back.replace_samples(samples, chosen_rows)
    return PoseSeries(**arrays, **pose.meta())  # type: ignore[arg-type]


def _nan_like(row: np.ndarray) -> np.ndarray | bool:
    """A row of "nobody found" for a back table column (NaN numbers, False flags)."""
    row = np.asarray(row)
    return False if row.dtype == bool else np.full(row.shape, np.nan)


#: Why a clip is posed again around an identity break (after the clip's file name and ": ", like
#: :data:`~formcheck_core.analysis.SHOT_REPOSE_NOTE`; ``formcheck batch`` says it once).
FOLLOW_NOTE = (
    "the person followed jumps faster than a person moves: posing around it again, once, looking "
    "for up to 3 people and keeping the one who continues the lifter's track"
)


def followed(
    info: VideoInfo,
    pose: PoseSeries,
    key: str,
    sha: str,
    model_path: Path,
    running_mode: str,
    cache: bool = True,
    progress: bool = True,
    back: MainPassBack | None = None,
    say: Callable[[str], None] | None = None,
) -> PoseSeries:
    """``pose`` (the whole-clip pass cached under ``key``, each shot posed on its own) with the
    samples around its identity breaks (:func:`~formcheck_core.pose.identity.identity_breaks`)
    posed again (:func:`refollow`) and ``back``'s rows replaced there; ``pose`` itself when it has
    no break (the check reads the series only). Cached apart (:func:`follow_cache_key`, with the
    back rows); ``say`` gets :data:`FOLLOW_NOTE` when the pass runs. ``cache`` False recomputes."""
    from functools import partial

    from ..cache import save_pose
    from ..scene_cuts import cut_samples, scene_cut_frames
    from .back_pass import load_derived_pose, save_main_rows
    from .identity import identity_breaks
    from .mediapipe_backend import open_pose_backend

    starts = cut_samples(pose.frame_index, scene_cut_frames(info, sha))
    breaks = identity_breaks(pose.image_xy_px, pose.time_s, starts)
    if not breaks:
        return pose
    fkey = follow_cache_key(key, starts, breaks)
    cached = load_derived_pose(fkey, pose, back) if cache else None
    if cached is not None:
        return cached
    if say is not None:
        at = ", ".join(f"{pose.time_s[b.sample]:.1f} s" for b in breaks)
        say(f"{Path(info.path).name}: {FOLLOW_NOTE} (at {at})")
    open_backend = partial(
        open_pose_backend,
        model_path,
        running_mode=running_mode,
        num_poses=FOLLOW_POSES,
        segmentation=back is not None,
    )
    out = refollow(info, pose, starts, breaks, open_backend, back=back, progress=progress)
    save_pose(fkey, out)
    if back is not None:
        save_main_rows(fkey, back)
    return out
