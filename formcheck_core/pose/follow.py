"""Keep following the lifter across an identity break: the affected samples posed again.

When the person a pose series follows jumps faster than a person moves inside a shot
(:func:`~formcheck_core.pose.identity.identity_breaks`: the tracker lost the lifter and picked up
someone else, e.g. a bystander walking through), the shot is split at its breaks and the part
followed longest (most detected samples) is taken as the lifter: a bystander passes through, the
lifter stays. Every sample of the shot before and after that part is posed again
(:func:`refollow`) by a fresh backend looking for up to :data:`FOLLOW_POSES` people, and at each
sample the person who continues the lifter's track is kept (:func:`follow_track`), or nobody
(NaN: the lifter was not found there). Nothing runs for a clip without a break (none of the 36
dev and 24 held-out clips has one), so the default pose pass costs what it did.
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
from .identity import JITTER_REL, MAX_SPEED_REL_PER_S, IdentityBreak, body_length_mid_px, joint_mid_px
from .series import PoseSeries

#: People the second pass looks for: the lifter and up to two others in view (the dev clips show
#: at most three people). More costs detector time on every sample without helping the choice.
FOLLOW_POSES = 3
#: Bump when what :func:`refollow` stores changes (invalidates cached re-followed poses only).
FOLLOW_VERSION = 1


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
    detected: np.ndarray, shot_starts: Sequence[int], breaks: Sequence[IdentityBreak]
) -> list[tuple[int, int, int]]:
    """(first, end, anchor) of each sample range to pose again (end exclusive), in time order.

    Per shot with a break: the part between breaks with the most ``detected`` samples (the
    earliest on a tie) is the lifter's; the shot's samples before it form one range and those
    after it another. ``anchor`` is the lifter's detected sample next to the range (the first of
    the part for a range before it, the last for one after it), where :func:`follow_track` starts.
    """
    det = np.asarray(detected, bool)
    n = det.size
    bounds = sorted({0, *(int(s) for s in shot_starts if 0 < s < n), n})
    cuts = sorted({b.sample for b in breaks})
    out: list[tuple[int, int, int]] = []
    for a, b in itertools.pairwise(bounds):
        inner = [s for s in cuts if a < s < b]
        if not inner:
            continue
        parts = list(zip([a, *inner], [*inner, b], strict=True))
        lo, hi = max(parts, key=lambda p: (int(det[p[0] : p[1]].sum()), -p[0]))
        seen = lo + np.flatnonzero(det[lo:hi])
        if not seen.size:
            continue
        if lo > a:
            out.append((a, lo, int(seen[0])))
        if hi < b:
            out.append((hi, b, int(seen[-1])))
    return out


def follow_track(
    anchor_xy_px: np.ndarray,
    anchor_t_s: float,
    candidates_xy_px: Sequence[np.ndarray],
    t_s: np.ndarray,
    scale_px: float,
) -> list[int | None]:
    """Which candidate continues the lifter's track at each sample (None: nobody does).

    ``anchor_xy_px``/``anchor_t_s``: the lifter's hip midpoint and time next to the samples;
    ``candidates_xy_px[i]``: (k, 2) hip midpoints of the people found at sample ``i`` (times
    ``t_s``, in the order walked: away from the anchor, either direction); ``scale_px``: the
    lifter's body length. Every person seen is followed as a track from sample to sample: a
    candidate joins the nearest track it can reach (at most ``JITTER_REL + MAX_SPEED_REL_PER_S *
    |dt|`` body lengths from the track's last place; nearest pairs first, one candidate per
    track), else starts a track of its own. Only the track started at the anchor is the lifter's,
    so a bystander is never taken for the lifter just because the lifter stayed hidden long
    enough for the allowance to reach them: their own track already holds them.
    """
    tracks: list[tuple[np.ndarray, float]] = [(np.asarray(anchor_xy_px, float), float(anchor_t_s))]
    chosen: list[int | None] = []
    for cands, t in zip(candidates_xy_px, np.asarray(t_s, float), strict=True):
        xy = np.asarray(cands, float).reshape(-1, 2)
        ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
        pairs = sorted(
            (float(np.linalg.norm(xy[c] - last)) / scale_px, k, int(c))
            for k, (last, t_last) in enumerate(tracks)
            for c in ok
            if float(np.linalg.norm(xy[c] - last)) / scale_px
            <= JITTER_REL + MAX_SPEED_REL_PER_S * abs(t - t_last)
        )
        used_tracks: set[int] = set()
        taken: dict[int, int] = {}  # candidate -> track
        for _d, k, c in pairs:
            if k not in used_tracks and c not in taken:
                used_tracks.add(k)
                taken[c] = k
        for c in map(int, ok):
            if c in taken:
                tracks[taken[c]] = (xy[c], float(t))
            else:
                tracks.append((xy[c], float(t)))
        chosen.append(next((c for c, k in taken.items() if k == 0), None))
    return chosen


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
    windows = follow_windows(pose.detected, shot_starts, breaks)
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
