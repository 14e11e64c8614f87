"""The warnings about a clip's pose data, before any rep is looked for: a short clip, sparse
sampling, too little pose data, more than one person, a truncated file. Each is one line that
says what is true and what to do."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .config import DEFAULT_FPS
from .pose.series import PoseSeries
from .video import VideoInfo, readable_packets, stated_frame_count
from .vocabulary import counted

#: How every warning that the pose holds too little to measure a rep starts (the analysis then
#: measures nothing: :func:`is_insufficient`).
INSUFFICIENT = "Insufficient pose data"
#: How the warning for too few sampled frames (a higher ``--fps`` helps) starts; the coaching
#: cue then says to sample more, not to film again.
TOO_FEW_SAMPLES = f"{INSUFFICIENT}: too few frames sampled"


def is_insufficient(warning: str) -> bool:
    """Whether ``warning`` says the pose holds too little to measure a rep."""
    return warning.startswith(INSUFFICIENT)


def insufficient_headline(warnings: Sequence[str]) -> str:
    """The first sentence of the first "insufficient pose data" warning ("Insufficient pose data: a
    person was found in 0 of 40 sampled frames"): what a header says in place of reps and view
    when nothing could be measured, in the summary's own words; "" when there is none."""
    first = next((w for w in warnings if is_insufficient(w)), "")
    return first.split(". ", 1)[0].rstrip(".")


#: Fewer detected samples than this (or than this share of the clip) -> "insufficient pose data".
MIN_POSE_SAMPLES = 5
MIN_POSE_SHARE = 0.3
#: A clip shorter than this (seconds) may not hold a whole rep.
SHORT_CLIP_S = 1.0
#: A requested sampling rate below this (frames per second: half the default) is called sparse
#: when the clip has more frames to give: moments are placed on the samples, so at 0.2 s or more
#: between them a lift-off or lockout lands a sample off and a quick rep can be missed.
SPARSE_FPS = DEFAULT_FPS / 2
#: A clip is called truncated when more than this many frames, and this share of the frames its
#: header promises, cannot be read (a frame or two of slack for muxers that count differently).
TRUNCATION_MIN_FRAMES = 3
TRUNCATION_MIN_SHARE = 0.02


def covered_s(pose: PoseSeries, info: VideoInfo) -> float:
    """Seconds of the clip the samples stand for: their span plus one sampling step (at the
    pose's sampling rate, or the clip's for every frame), at most the header's duration when it
    gives one. NaN sample times (none in practice) count as no span."""
    n = pose.n_samples
    span = float(pose.time_s[-1] - pose.time_s[0]) if n else 0.0
    rate = pose.sample_fps or info.fps
    step = 1.0 / rate if rate and rate > 0 else 0.0
    covered = (span if math.isfinite(span) else 0.0) + (step if n else 0.0)
    header = info.duration_s
    return min(covered, header) if math.isfinite(header) and header > 0 else covered


def _raisable(info: VideoInfo, fps: float | None) -> float | None:
    """``fps`` when a higher ``--fps`` would give more samples (a rate was asked for, under the
    default, and the clip has more frames per second than that), else None."""
    return fps if fps is not None and fps < DEFAULT_FPS and fps < info.fps else None


def _at_rate(n: int, seconds: float, fps: float) -> str:
    return f"{counted(n, 'frame')} sampled from the {seconds:.1f} s clip at --fps {fps:g}"


def _use_default() -> str:
    return f"Use --fps {DEFAULT_FPS:g} (the default) or more."


def pose_warnings(pose: PoseSeries, info: VideoInfo) -> list[str]:
    """Caveats about the pose data itself: short clip, sparse sampling (at ``pose.sample_fps``),
    few detections, more than one person."""
    warnings = []
    n, found = pose.n_samples, int(pose.detected.sum())
    seconds = covered_s(pose, info)
    if n and seconds < SHORT_CLIP_S:
        shown = math.floor(seconds * 100 + 1e-9) / 100  # never rounded up to "1.0 s, under 1 s"
        warnings.append(
            f"Clip is short ({shown:g} s, under 1 s; {counted(n, 'sample')}): a whole rep may not be in it."
        )
    low = _raisable(info, pose.sample_fps)  # the rate asked for, when more frames would help
    if found < MIN_POSE_SAMPLES or found < MIN_POSE_SHARE * max(n, 1):
        if low is not None and n < MIN_POSE_SAMPLES and found >= MIN_POSE_SHARE * n:
            warnings.append(
                f"{TOO_FEW_SAMPLES} to measure a rep: {_at_rate(n, seconds, low)}, a person in {found}; "
                f"at least {MIN_POSE_SAMPLES} with a person are needed. {_use_default()}"
            )
        else:
            warnings.append(
                f"{INSUFFICIENT}: a person was found in {found} of {n} sampled frames. "
                "Film the whole body from the side, in good light, with the lifter filling the frame."
            )
    elif low is not None and low < SPARSE_FPS:
        warnings.append(
            f"Sparse sampling: {_at_rate(n, seconds, low)}, so lift-off and lockout are placed coarsely "
            f"and a quick rep can be missed. {_use_default()}"
        )
    multi = int((pose.people_count >= 2).sum())
    if multi > 0.2 * max(found, 1):
        warnings.append(
            f"More than one person was found in {multi} of {n} frames; the largest (after a tracking switch, "
            "the lifter's track) is analysed. Crop the clip or film only the lifter if this is wrong."
        )
    return warnings


def truncation_warnings(info: VideoInfo) -> list[str]:
    """A warning when the file holds fewer readable frames than its header promises."""
    promised = info.frame_count_header or stated_frame_count(info.path, info.fps)
    if promised <= 0:  # the header does not say
        return []
    missing = promised - readable_packets(info.path)
    if missing <= max(TRUNCATION_MIN_FRAMES, TRUNCATION_MIN_SHARE * promised):
        return []
    return [
        f"The clip looks truncated: its header promises {promised} frames but only {promised - missing} can be "
        f"read (the last {missing / info.fps:.1f} s are missing). Only the part that is there was analysed; "
        "re-copy or re-export the clip if it should be longer."
    ]
