"""Each shot of a clip with scene cuts posed by its own tracker.

In VIDEO mode the landmarker tracks the person from frame to frame and runs its detector only
when tracking is lost, so across a scene cut (:mod:`formcheck_core.scene_cuts`) it can keep
following where the previous shot's person was: landmarks, and the back outline read from the
same call's mask (:class:`~formcheck_core.pose.back_pass.MainPassBack`), are wrong on the first
samples of the new shot. :func:`repose_shots` poses every shot after the first again with a
fresh backend (same options, same sample frames and times), so each shot is posed as it would be
as a clip of its own; the first shot keeps the whole-clip pass's rows (the same tracker state).
One decode serves all later shots; a one-shot clip is never posed twice. IMAGE mode does not
track (the detector runs on every frame), so it needs no second pass.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..video import VideoInfo, iter_frames
from .back_pass import MainPassBack
from .feed import BackendFactory, SeriesBuilder, prefetch, progress_bar
from .series import PoseSeries

#: Bump when what :func:`repose_shots` stores changes (invalidates cached per-shot poses only).
SHOTS_VERSION = 1


def per_shot_cache_key(pose_key: str, start_samples: tuple[int, ...]) -> str:
    """Hex key of the pose, posed per shot, of the clip whose whole-clip pass is cached under
    ``pose_key``, with shots starting at ``start_samples`` (sample indices; the cut detection is
    part of the key, so a change there misses)."""
    parts = json.dumps([SHOTS_VERSION, "per shot", pose_key, list(start_samples)])
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def shot_bounds(n_samples: int, start_samples: tuple[int, ...]) -> list[tuple[int, int]]:
    """(first, end) sample ranges (end exclusive) of the shots after the first, in order."""
    starts = sorted({s for s in start_samples if 0 < s < n_samples})
    return list(zip(starts, [*starts[1:], n_samples][: len(starts)], strict=True))


def repose_shots(
    info: VideoInfo,
    pose: PoseSeries,
    start_samples: tuple[int, ...],
    open_backend: BackendFactory,
    *,
    back: MainPassBack | None = None,
    progress: bool = True,
) -> PoseSeries:
    """``pose`` with every shot after the first posed again by a fresh backend from ``open_backend``.

    ``start_samples``: sample indices where a shot starts (:func:`~formcheck_core.scene_cuts.cut_samples`).
    The same sample frames are decoded (one decode up to the last shot's end) and given the same
    times. ``back`` (rows of the whole-clip pass, read or restored): the same samples' rows are
    replaced with those read by the fresh backend (it must return masks). Ctrl-C raises
    KeyboardInterrupt like the pose pass (the open backend is closed). ``pose`` itself is unchanged.
    """
    bounds = shot_bounds(pose.n_samples, start_samples)
    if not bounds:
        return pose
    fi = pose.frame_index
    samples = np.concatenate([np.arange(a, b) for a, b in bounds])
    shot_of = {int(fi[a]): k for k, (a, _b) in enumerate(bounds)}  # first frame of each shot
    builder = SeriesBuilder(info)
    rows = MainPassBack(back.source_size) if back is not None else None
    wanted = {int(f) for f in fi[samples]}
    frames = prefetch(iter_frames(info.path, pose.sample_fps, info=info, only_indices=wanted))
    shots = "shot 2" if len(bounds) == 1 else f"shots 2-{len(bounds) + 1}"
    bar = progress_bar(
        info, int(samples.size), progress, what=f"pose {shots} again (scene cut: fresh tracker)"
    )
    backend = None
    try:
        with bar:
            for frame in frames:
                if frame.index in shot_of:  # a new shot: a fresh tracker
                    if backend is not None:
                        backend.__exit__(None, None, None)
                        backend = None
                    backend = open_backend()
                if backend is None:
                    raise RuntimeError(f"frame {frame.index} decoded before its shot's first sample")
                person = builder.add(frame, backend.detect(frame.bgr, frame.time_s))
                if rows is not None:
                    rows(frame.index, person)
                bar.update(1)
    finally:
        if backend is not None:
            backend.__exit__(None, None, None)
    part = builder.build(pose.sample_fps, pose.model_id, pose.running_mode)
    if not np.array_equal(part.frame_index, fi[samples]):
        raise RuntimeError(
            f"{info.path}: decoding the shots again gave other frames than the pose pass "
            f"({part.n_samples} of {samples.size} samples)"
        )
    arrays = {name: values.copy() for name, values in pose.arrays().items()}
    for name, values in part.arrays().items():
        if name != "time_s":  # the pass's own sample times stay (the same rule gives the same)
            arrays[name][samples] = values
    if back is not None and rows is not None:
        back.replace_samples(samples, rows)
    return PoseSeries(**arrays, **pose.meta())  # type: ignore[arg-type]
