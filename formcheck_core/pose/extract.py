"""Run a pose backend over a clip's sampled frames and assemble a :class:`PoseSeries`.

Decoding runs in a background thread feeding a small bounded queue, so the next frames decode
while the pose model works on the current one, and memory stays flat whatever the clip length
(at most ``QUEUE_FRAMES`` frames are alive at once). Long clips can be split over several
processes (:mod:`formcheck_core.pose.parallel`): give :func:`extract_pose` a backend *factory*.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

from ..video import PlanMismatchError, Thumbnails, VideoInfo, plan_samples, probe_video
from .backend import PoseBackend
from .feed import (
    MAX_SIDE_PX,
    QUEUE_FRAMES,
    BackendFactory,
    OnPerson,
    SeriesBuilder,
    choose_person,
    estimated_samples,
    prefetch,
    prefetch_frames,
    progress_bar,
    to_model_rgb,
)
from .parallel import extract_pose_parallel
from .series import PoseSeries

__all__ = [
    "MAX_SIDE_PX",
    "MIN_PARALLEL_SAMPLES",
    "QUEUE_FRAMES",
    "BackendFactory",
    "OnPerson",
    "SeriesBuilder",
    "choose_person",
    "default_workers",
    "estimated_samples",
    "extract_pose",
    "prefetch",
    "prefetch_frames",
    "progress_bar",
    "to_model_rgb",
]

#: Automatic mode splits a clip over processes only from this many sampled frames. A child takes
#: about 1 s to start (spawn, imports, first model load) while competing with this process for the
#: CPU; measured on 2 cores, two processes broke even with one at about 105-110 samples (79-85
#: samples: 0.85x; 117-132: 1.05-1.1x; 206-263: 1.1-1.4x; 788: 1.65x).
MIN_PARALLEL_SAMPLES = 120


def default_workers() -> int:
    """Processes to use for a long clip: 2 where the machine has 2 or more cores."""
    return min(2, os.cpu_count() or 1)


def extract_pose(
    path: str | Path,
    backend: PoseBackend | BackendFactory,
    *,
    target_fps: float | None = 10.0,
    info: VideoInfo | None = None,
    model_id: str = "unknown",
    progress: bool = True,
    workers: int | None = None,
    thumbnails: Thumbnails | None = None,
    on_person: OnPerson | None = None,
) -> PoseSeries:
    """Pose of one person over the sampled frames of ``path``; frames with no pose stay as NaN.

    ``backend`` is an open backend (runs here, in this process) or a picklable factory that
    opens one, such as ``functools.partial(MediaPipePose, model_path, running_mode="video")``.
    With a factory, ``workers`` > 1 runs that many processes, each on its own contiguous time
    range with its own backend (:mod:`~formcheck_core.pose.parallel`): the sampled frames are
    exactly the one-process ones. In IMAGE mode so are the landmarks; in VIDEO mode a range
    starts a fresh tracker, so landmarks after a range start can differ (usually by a pixel or
    two, more on clips where tracking is fragile). ``workers=None`` picks:
    ``default_workers()`` processes for clips of at least ``MIN_PARALLEL_SAMPLES`` samples, one
    otherwise. ``thumbnails``: the one-process path also collects every decoded frame's thumbnail
    there (for scene cuts, :mod:`formcheck_core.scene_cuts`); the multi-process path leaves it
    incomplete. ``on_person`` (:data:`~.feed.OnPerson`): the one-process path calls it once per
    sample with the person analysed there (e.g. the back profile from the person's mask,
    :class:`~formcheck_core.pose.back_pass.MainPassBack`). The multi-process path cannot call it
    (each process has its own model), so with ``on_person`` automatic mode runs one process and
    ``workers`` > 1 raises ValueError: the back profile is read in one process only.
    """
    info = info or probe_video(path)
    if hasattr(backend, "detect"):  # an open backend (a Protocol: checked by its method)
        if workers not in (None, 1):
            raise ValueError("workers > 1 needs a backend factory (each process opens its own backend)")
        return _extract_serial(
            info, cast(PoseBackend, backend), target_fps, model_id, progress, thumbnails, on_person
        )
    auto = workers is None
    if on_person is not None:
        if workers is not None and workers > 1:
            raise ValueError(
                "on_person (e.g. the back profile) is read in one process only: use workers=1 or None"
            )
        workers = 1
    workers = default_workers() if workers is None else workers
    if workers > 1:
        plan = plan_samples(info.path, target_fps, info=info)
        if plan is not None and (not auto or len(plan.kept_index) >= MIN_PARALLEL_SAMPLES):
            try:
                return extract_pose_parallel(info, backend, plan, workers, target_fps, model_id, progress)
            except PlanMismatchError:
                pass  # decoding disagrees with the container's timestamps: one process, from the start
    with backend() as opened:
        return _extract_serial(info, opened, target_fps, model_id, progress, thumbnails, on_person)


def _extract_serial(
    info: VideoInfo,
    backend: PoseBackend,
    target_fps: float | None,
    model_id: str,
    progress: bool,
    thumbnails: Thumbnails | None = None,
    on_person: OnPerson | None = None,
) -> PoseSeries:
    """The one-process path: decode thread + this thread running ``backend``."""
    builder = SeriesBuilder(info)
    with progress_bar(info, estimated_samples(info, target_fps), progress) as bar:
        for frame in prefetch_frames(info.path, target_fps, info, thumbnails):
            person = builder.add(frame, backend.detect(frame.bgr, frame.time_s))  # frame.bgr: model RGB
            if on_person is not None:
                on_person(frame.index, person)
            bar.update(1)
    return builder.build(target_fps, model_id, backend.running_mode)
