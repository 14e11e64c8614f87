"""Metamorphic checks: transform a real clip in ways that must not change the analysis, re-analyse,
compare. No labels needed.

Transforms (made with imageio-ffmpeg into a temporary folder, never committed):
``mirror`` (horizontal flip), ``speed_0.8`` / ``speed_1.25`` (the same frames re-timed: played at
0.8x / 1.25x), ``crop_10`` (10 % of the width and height cut from the margins, 5 % a side),
``dark_30`` (brightness -30 %), ``half_size`` (2x downscale), ``rotation_meta`` (a copy carrying a
90° display matrix and the frames stored rotated, so it reads back upright).

Invariances (:func:`compare`): same number of complete reps and of partial pulls; every key moment
present in one is present in the other, at the same time within :data:`TIME_TOL_S` once times are
multiplied by the speed factor; every angle metric (``*_deg``) within :data:`ANGLE_TOL_DEG`.

Usage: ``python scripts/metamorphic.py [--known] [--cached] [--mirror-back] [CLIP_STEM ...]`` prints
each check, the invariance rates per clip-transform and per single check, and a breakdown: single
checks held per transform, the broken checks per moment or metric, and the broken moment and angle
checks by cause (:data:`CAUSES`: MediaPipe's -- the raw landmarks differ -- or formcheck's
processing -- moment timing, window extremes, re-timing, smoothing, side choice, thresholds), by
transform and by pose-quality mark. ``--known`` also prints the table of broken checks that
``tests/test_metamorphic.py`` keeps as its strict expected failures. ``--cached`` reuses the
copies' cached poses (minutes faster after the first run; the test measures them afresh).
``--mirror-back`` instead measures what a canonical facing before posing would give the mirror
check (:func:`mirror_back`).

Long because the transforms, the checks and the classification of each break (which reads the
same copies' raw landmarks) belong together.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck_core.video import iter_frames, probe_video

TIME_TOL_S = 0.1
ANGLE_TOL_DEG = 3.0
#: Short dev clips with complete reps, side view: the default set (CI cost a few minutes).
DEFAULT_CLIPS = (
    "posereader_good",
    "posereader_unoccluded",
    "reel_good_15",
    "reel_bad_07",
    "reel_bad_bar_far_12",
    "phone_side_a",
)


def _even(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[: h - h % 2, : w - w % 2])


def write_h264(path: Path, frames_bgr: Iterable[np.ndarray], fps: float, *, crf: int = 14) -> Path:
    """Encode BGR frames to H.264 (high quality) at a possibly fractional frame rate.

    Through the ffmpeg binary of imageio-ffmpeg, raw frames on a pipe, one encoder thread: the same
    frames give a byte-identical file (PyAV's in-process encoding of numpy frames did not, which
    moved the pose by up to 2° between runs of the same check)."""
    import imageio_ffmpeg

    writer = None
    try:
        for bgr in frames_bgr:
            bgr = _even(bgr)
            if writer is None:
                h, w = bgr.shape[:2]
                writer = imageio_ffmpeg.write_frames(
                    str(path),
                    (w, h),
                    fps=fps,
                    codec="libx264",
                    pix_fmt_in="bgr24",
                    pix_fmt_out="yuv420p",
                    macro_block_size=2,
                    ffmpeg_log_level="error",
                    output_params=["-crf", str(crf), "-preset", "veryfast", "-threads", "1"],
                )
                writer.send(None)
            writer.send(np.ascontiguousarray(bgr))
    finally:
        if writer is not None:
            writer.close()
    return path


def _crop(img: np.ndarray, share: float = 0.10) -> np.ndarray:
    h, w = img.shape[:2]
    dy, dx = round(h * share / 2), round(w * share / 2)
    return img[dy : h - dy, dx : w - dx]


@dataclass(frozen=True)
class Transform:
    name: str
    #: Playback speed factor (times in the new clip = times in the original / speed).
    speed: float = 1.0
    pixels: Callable[[np.ndarray], np.ndarray] | None = None
    rotate_meta: bool = False


TRANSFORMS: tuple[Transform, ...] = (
    Transform("mirror", pixels=lambda im: im[:, ::-1]),
    Transform("speed_0.8", speed=0.8),
    Transform("speed_1.25", speed=1.25),
    Transform("crop_10", pixels=_crop),
    Transform("dark_30", pixels=lambda im: (im.astype(np.float32) * 0.7).round().astype(np.uint8)),
    Transform(
        "half_size",
        pixels=lambda im: cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA),
    ),
    Transform("rotation_meta", rotate_meta=True),
)


def make_variant(src: Path, t: Transform, out_dir: Path) -> Path:
    """Write the transformed copy of ``src`` into ``out_dir`` and return its path."""
    info = probe_video(src)
    frames = (f.bgr for f in iter_frames(src, None, info=info))
    dst = out_dir / f"{src.stem}__{t.name}.mp4"
    if t.rotate_meta:
        # Store the frames turned 90° clockwise... and a display matrix that turns them back.
        tmp = out_dir / f"{src.stem}__stored_rotated.mp4"
        write_h264(tmp, (cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE) for im in frames), info.fps)
        import imageio_ffmpeg

        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-display_rotation",
            "90",
            "-i",
            str(tmp),
            "-c",
            "copy",
            str(dst),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        return dst
    pix = t.pixels or (lambda im: im)
    return write_h264(dst, (pix(im) for im in frames), info.fps * t.speed)


def _pulls(a) -> list:
    return sorted((*a.reps, *a.partial_pulls), key=lambda r: r.start_sample)


def _t(m) -> float:
    """A moment's time: its sub-sample estimate where there is one."""
    return m.refined_time_s if m.refined_time_s is not None else m.time_s


@dataclass(frozen=True)
class Break:
    """One broken invariance: ``kind`` "count", "moment" or "angle"; ``check`` names it within
    its clip-transform (``count``, ``r1:liftoff``, ``r2:knee_angle_bottom_deg``).

    ``cause`` (angles and moments; :data:`CAUSES`, :func:`angle_cause`, :func:`moment_cause`):
    whose the difference is, "" when not classified (metrics of the 3D series). ``low_confidence``:
    the reading is marked low confidence or not measurable (:mod:`formcheck_core.biomech.quality`)
    in the original or the copy."""

    kind: str
    check: str
    detail: str
    cause: str = ""
    low_confidence: bool = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def checks(orig) -> list[tuple[str, str]]:
    """(kind, check) of every invariance :func:`compare` tests for ``orig``: the count, each key
    moment and each angle metric of each pull."""
    out = [("count", "count")]
    for a in _pulls(orig):
        out += [("moment", f"r{a.number}:{n}") for n in sorted(a.moments)]
        out += [("angle", f"r{a.number}:{k}") for k in sorted(a.metrics) if k.endswith("_deg")]
    return out


#: Why a check breaks (:func:`angle_cause`, :func:`moment_cause`), each with whose it is: the pose
#: model's (MediaPipe placed the body differently: not fixable in formcheck short of posing again)
#: or formcheck's processing (a bug to fix). Printed by :func:`print_rates` in this order.
CAUSES: dict[str, tuple[str, str]] = {
    "pose model": (
        "MediaPipe",
        "the raw landmark series (before any formcheck processing) differ by more than the tolerance "
        "at the source frame the original read (re-timed copies, which sample other source frames: "
        "the value lies outside the range of the other copy's two samples either side)",
    ),
    "pose model, nearby frame": (
        "MediaPipe",
        "the raw series agree at that frame but differ at a frame both copies sampled within 0.2 s "
        "of either copy's reading: the low-pass filter, or the reading's window (a median or a held "
        "extreme), carries that difference to the reading",
    ),
    "pose model, visibility": (
        "MediaPipe",
        "a joint the reading needs is below the visibility limit in one copy only (not measurable there)",
    ),
    "moment timing": (
        "formcheck",
        "the copies' series agree at that instant; the reading's key moment was placed a sample or more away",
    ),
    "window extreme": (
        "formcheck",
        "the copies' series agree at that instant and the moment did not move; the window's extreme "
        "(lockout, smallest elbow angle, deepest bend) was read at another sample",
    ),
    "re-timing": (
        "formcheck",
        "a re-timed copy samples other instants of the motion: the raw series agree within 0.2 s "
        "(where one copy did not sample a frame: within its neighbours' range), and either the smoothed ones differ (the filter runs on "
        "other samples) or both agree and the copy's reading is its own sample's value, another instant's",
    ),
    "smoothing": (
        "formcheck",
        "the raw series agree at that frame and within 0.2 s; the smoothed ones differ (the filter)",
    ),
    "smoothing edge": (
        "formcheck",
        "as smoothing, within one filter length of the start or end of the series (edge effect)",
    ),
    "side choice": ("formcheck", "the copy analysed another body side than the original's (mirrored) one"),
    "threshold": (
        "formcheck",
        "the raw series defining the moment agree within tolerance around it: the copies' curves "
        "cross the moment's threshold at other samples",
    ),
    "segmentation pass": (
        "MediaPipe",
        "read from the person mask, not from landmarks: not classified further",
    ),
    "not comparable": (
        "undetermined",
        "no source frame near the reading where both copies' raw series can be read: no evidence either way",
    ),
}
#: Raw heights (shoulder, bar, knee) closer than this (body lengths) count as agreeing: about what a
#: 3 deg turn of a 0.3 body-length segment moves a joint.
HEIGHT_TOL_REL = 0.02
#: Readings this close to the start or end of their series (seconds; one period of the filter's 2.5 Hz
#: cut-off) are within the filter's edge effect.
EDGE_S = 0.4
#: How far from the reading's frame the raw series are compared for "nearby frame" (seconds).
NEARBY_S = 0.2

#: The key moment a metric is read at or near (the rest are extremes over a window of the pull).
_METRIC_MOMENT = {"setup": "setup", "liftoff": "liftoff", "bottom": "liftoff", "lockout": "lockout"}
#: The series (names in ``BodySeries``) that place each key moment (:mod:`formcheck_core.biomech.moments`).
_MOMENT_SERIES = {
    "setup": ("hip_angle_deg",),
    "liftoff": ("hip_angle_deg", "shoulder_y_px"),
    "knee_pass": ("bar_y_px", "knee_y_px"),
    "lockout": ("shoulder_y_px", "torso_lean_deg"),
}


def _series_at(a, name: str, time_s: float) -> float:
    """Smoothed body series ``name`` of analysis ``a`` at ``time_s`` (its own clock), linearly
    interpolated between samples; NaN outside the clip or across a NaN."""
    t = np.asarray(a.body.time_s, float)
    x = np.asarray(a.body.smoothed[name], float)
    i = int(np.searchsorted(t, time_s))
    if i <= 0 or i >= t.size:
        return float(x[0]) if t.size and abs(time_s - t[0]) < 1e-9 else math.nan
    f = (time_s - t[i - 1]) / (t[i] - t[i - 1])
    return float(x[i - 1] + f * (x[i] - x[i - 1]))


def _raw(a, name: str) -> np.ndarray:
    """Series ``name`` of analysis ``a`` straight from the pose model's landmarks
    (:func:`~formcheck_core.biomech.kinematics.landmark_series`: no mask, fill or filter)."""
    from formcheck_core.biomech.kinematics import landmark_series

    return np.asarray(landmark_series(a.pose, a.body.side, a.body.facing_sign)[name], float)


def _tol(name: str) -> float:
    """The tolerance a raw series is compared with: degrees for angles, :data:`HEIGHT_TOL_REL` body
    lengths for heights (see :func:`_comparable`)."""
    return ANGLE_TOL_DEG if name.endswith("_deg") else HEIGHT_TOL_REL


def _comparable(a, name: str) -> np.ndarray:
    """:func:`_raw` of ``a`` in units comparable between copies: angles as they are; heights
    (``*_y_px``) as body lengths above the clip's median raw ankle height, so that a crop's offset
    and a downscale's scale drop out."""
    x = _raw(a, name)
    if name.endswith("_deg"):
        return x
    ankle = float(np.nanmedian(_raw(a, "ankle_y_px")))
    return (ankle - x) / a.body.body_length_px


def _bracket(fs: np.ndarray, xs: np.ndarray, f: int) -> tuple[float, float, str]:
    """The range (lo, hi) of series ``xs`` (sampled at source frames ``fs``) at frame ``f``: its
    value where it sampled ``f``, else the span of its two samples either side (a motion that does
    not turn between two samples passes ``f`` inside it), with "fa-fb"; NaNs when not readable."""
    i = int(np.searchsorted(fs, f))
    if i < fs.size and fs[i] == f:
        v = float(xs[i])
        return v, v, ""
    if i == 0 or i >= fs.size or not (np.isfinite(xs[i - 1]) and np.isfinite(xs[i])):
        return math.nan, math.nan, ""
    lo, hi = sorted((float(xs[i - 1]), float(xs[i])))
    return lo, hi, f"{int(fs[i - 1])}-{int(fs[i])}"


def raw_differences(
    fo: np.ndarray, ro: np.ndarray, fv: np.ndarray, rv: np.ndarray, frames: Iterable[int]
) -> list[tuple[int, float, str]]:
    """(source frame, difference, how) of two sampled series -- the original's values ``ro`` at
    source frames ``fo`` (ascending), the copy's ``rv`` at ``fv`` -- at each of ``frames``. Where
    both sampled a frame: |orig - copy|. Where only one did (re-timed copies sample other source
    frames): how far its value lies outside the range of the other's two samples either side
    (``how`` = "fa-fb", those frames; 0 inside it), so a motion that moves or curves between
    samples is never read as a difference, only a value the other copy's neighbours cannot reach.
    Frames without finite values on both sides are left out."""
    out = []
    for f in frames:
        lo_o, hi_o, how_o = _bracket(fo, ro, int(f))
        lo_v, hi_v, how_v = _bracket(fv, rv, int(f))
        if not all(map(np.isfinite, (lo_o, hi_o, lo_v, hi_v))) or (how_o and how_v):
            continue
        out.append((int(f), float(max(0.0, lo_o - hi_v, lo_v - hi_o)), how_o or how_v))
    return out


def _raw_diffs(orig, variant, name: str, frames: np.ndarray) -> list[tuple[int, float, str]]:
    """:func:`raw_differences` of :func:`_comparable` ``name`` of the two analyses at ``frames``."""
    fo, fv = np.asarray(orig.body.frame_index), np.asarray(variant.body.frame_index)
    return raw_differences(fo, _comparable(orig, name), fv, _comparable(variant, name), frames)


def _common_frames(orig, variant, t0_s: float, t1_s: float) -> np.ndarray:
    """Source frames either copy sampled whose time (original clock) lies in [t0_s, t1_s]; compared
    by :func:`_raw_diffs` (directly where both sampled them)."""
    fo, to = np.asarray(orig.body.frame_index), np.asarray(orig.body.time_s, float)
    fv = np.asarray(variant.body.frame_index)
    lo_f = np.interp(t0_s - 1e-9, to, fo) if t0_s > to[0] else -np.inf
    hi_f = np.interp(t1_s + 1e-9, to, fo) if t1_s < to[-1] else np.inf
    both = np.union1d(fo, fv)
    return both[(both >= lo_f - 1e-6) & (both <= hi_f + 1e-6)]


def _where(f: int, how: str) -> str:
    """Evidence text for a raw comparison at source frame ``f`` (:func:`_raw_diffs`)."""
    return f"frame {f}" + (
        f" (against the other copy's samples at frames {how.replace('-', ' and ')})" if how else ""
    )


def angle_cause(orig, variant, speed: float, rep_o, rep_v, key: str) -> tuple[str, str]:
    """Why an angle reading differs, and the evidence: (cause, evidence text); causes in
    :data:`CAUSES`.

    At the instant the original read its value, the copy's smoothed series is compared with the
    original's. If they differ, the raw landmark series (:func:`_raw`, before any formcheck
    processing) decide whose the difference is: "pose model" where they differ at that source frame
    (re-timed copies: at the nearest frame both sampled, within a sample), "pose model, nearby
    frame" where they agree there but differ at a frame both sampled within :data:`NEARBY_S`,
    "pose model, visibility" where the copy's reading is not measurable there, else "re-timing"
    (the copy did not sample that frame), "smoothing edge" (within :data:`EDGE_S` of the series'
    ends) or "smoothing". If they agree, the copy read its value at another instant: "moment timing"
    when the metric's key moment moved a sample or more, "pose model, nearby frame" when the raw
    series differ at a frame both sampled within :data:`NEARBY_S` of either reading (the window a
    median or an extreme is taken over holds it), "re-timing" when a re-timed copy read within a
    sample of it, else "window extreme" (the series agree; the extreme fell on another sample). "" (not classified): metrics of the 3D series.
    A metric read from several series (the squat index: knee and lean) agrees when the series'
    differences add up to at most the tolerance, else it is classified by the one that differs most
    (named in the evidence)."""
    from formcheck_core.biomech.metrics import METRIC_SPECS

    spec = METRIC_SPECS.get(key)
    if key.startswith("back_"):
        return "segmentation pass", "read from the person mask"
    i = rep_o.metric_samples.get(key)
    if spec is None or not spec.series or i is None or _uses_world(orig):
        return "", ""
    fs = float(1.0 / np.median(np.diff(orig.body.time_s)))
    t_o = float(orig.body.time_s[i])
    t_copy = t_o / speed
    diff = {
        name: abs(_series_at(variant, name, t_copy) - float(orig.body.smoothed[name][i]))
        for name in spec.series
    }
    if sum(diff.values()) <= ANGLE_TOL_DEG:  # NaN compares False: not agreeing
        iv = rep_v.metric_samples.get(key)
        t_v = float(variant.body.time_s[iv]) * speed if iv is not None else math.nan
        read = f"read at {t_o:.2f} s vs {t_v:.2f} s" + (
            f", the copy reads {_series_at(variant, spec.series[0], t_copy):.1f}° at {t_o:.2f} s"
            if len(spec.series) == 1
            else ""
        )
        moment = next((m for tok, m in _METRIC_MOMENT.items() if tok in key.split("_")), None)
        if moment and moment in rep_o.moments and moment in rep_v.moments:
            mo, mv = rep_o.moments[moment].time_s, rep_v.moments[moment].time_s * speed
            if abs(mo - mv) >= 0.5 / fs:
                placed, _ = moment_cause(orig, variant, speed, rep_o, rep_v, moment)
                return (
                    "moment timing",
                    f"{moment} sample at {mo:.2f} s vs {mv:.2f} s (its series: {placed}); {read}",
                )
        lo, hi = min(t_o, t_v) - NEARBY_S, max(t_o, t_v) + NEARBY_S
        frames = _common_frames(orig, variant, lo, hi) if math.isfinite(t_v) else np.array([], int)
        worst = max(
            ((n, f, d, how) for n in spec.series for f, d, how in _raw_diffs(orig, variant, n, frames)),
            key=lambda nfdh: nfdh[2],
            default=None,
        )
        if worst is not None and worst[2] > ANGLE_TOL_DEG:
            of = f" {worst[0]}" if len(spec.series) > 1 else ""
            return (
                "pose model, nearby frame",
                f"{read}; raw{of} at {_where(worst[1], worst[3])} {worst[2]:.1f}° apart",
            )
        # the copy's own reading instant: do the smoothed series agree there too?
        at_v = sum(abs(_series_at(orig, n, t_v) - _series_at(variant, n, t_v / speed)) for n in spec.series)
        if not at_v <= ANGLE_TOL_DEG:
            return (
                "smoothing",
                f"{read}; smoothed series {at_v:.1f}° apart at the copy's reading ({t_v:.2f} s), "
                f"raw agrees within {NEARBY_S:g} s",
            )
        if speed != 1.0 and abs(t_v - t_o) < 1.0 / fs:
            return "re-timing", read + "; the series agree at both instants"
        return "window extreme", read
    name = max(diff, key=lambda n: math.inf if math.isnan(diff[n]) else diff[n])
    of = f" ({name})" if len(spec.series) > 1 else ""
    if math.isnan(diff[name]):
        return "pose model, visibility", f"the copy's {name} is not measurable at {t_o:.2f} s"
    frame = int(orig.body.frame_index[i])
    at = _raw_diffs(orig, variant, name, np.array([frame]))
    if at and at[0][1] > ANGLE_TOL_DEG:
        f, d, how = at[0]
        return "pose model", f"raw landmarks{of} at source {_where(f, how)}: {d:.1f}° apart"
    around = _raw_diffs(orig, variant, name, _common_frames(orig, variant, t_o - NEARBY_S, t_o + NEARBY_S))
    far = max(around, key=lambda fdh: fdh[1], default=None)
    if far is not None and far[1] > ANGLE_TOL_DEG:
        return "pose model, nearby frame", (
            f"raw{of} at {_where(frame, at[0][2])} {at[0][1]:.1f}° apart"
            if at
            else f"frame {frame} not comparable"
        ) + f", at {_where(far[0], far[2])} {far[1]:.1f}° apart"
    if not around:
        return "not comparable", f"no source frame within {NEARBY_S:g} s where both raw series can be read"
    why = f"smoothed{of} {diff[name]:.1f}° apart at {t_o:.2f} s; raw agrees within {NEARBY_S:g} s"
    if speed != 1.0:
        return (
            "re-timing",
            f"{why} ({len(around)} frames compared)",
        )
    t = np.asarray(orig.body.time_s, float)
    if min(t_o - t[0], t[-1] - t_o) < EDGE_S:
        return "smoothing edge", f"{why}; {min(t_o - t[0], t[-1] - t_o):.1f} s from the series' end"
    return "smoothing", why


def moment_cause(orig, variant, speed: float, rep_o, rep_v, name: str) -> tuple[str, str]:
    """Why a key moment's time differs (or is found in one copy only), and the evidence; causes
    in :data:`CAUSES`. The raw series that place the moment (:data:`_MOMENT_SERIES`) are compared
    at every source frame both copies sampled within 0.3 s of either copy's moment: "pose model"
    where one differs by more than its tolerance (3° for angles, :data:`HEIGHT_TOL_REL` body lengths
    for heights, :func:`_comparable`), else "threshold". A moment
    found in one copy only also gives the other copy's reason."""
    times = [_t(m) for m in (rep_o.moments.get(name),) if m is not None]
    times += [_t(m) * speed for m in (rep_v.moments.get(name),) if m is not None]
    missing = ""
    for label, rep in (("original", rep_o), ("copy", rep_v)):
        if name not in rep.moments:
            missing = f"; in the {label}: {rep.missing_moments.get(name, 'not found')}"
    frames = _common_frames(orig, variant, min(times) - 0.3, max(times) + 0.3)
    worst: tuple[str, int, float, str] | None = None
    for series in _MOMENT_SERIES.get(name, ()):
        for f, d, how in _raw_diffs(orig, variant, series, frames):
            if d > _tol(series) and (worst is None or d / _tol(series) > worst[2] / _tol(worst[0])):
                worst = (series, f, d, how)
    if worst is not None:
        series, f, d, how = worst
        unit = "°" if series.endswith("_deg") else " body lengths"
        return (
            "pose model",
            f"raw {series} at source {_where(f, how)}: {d:.{1 if unit == '°' else 3}f}{unit} apart{missing}",
        )
    return (
        "threshold",
        f"raw {', '.join(_MOMENT_SERIES.get(name, ()))} agree within tolerance around it{missing}",
    )


def _uses_world(a) -> bool:
    """Whether the rep's angles come from the 3D world series (front or oblique view)."""
    from formcheck_core.biomech.rep_window import angle_source

    return angle_source(a.view) == "world"


def _low(rep, key: str) -> bool:
    q = rep.metric_quality.get(key)
    return q is not None and (q.low or not q.measurable)


def tolerance_used(orig, variant, speed: float = 1.0) -> dict[str, float]:
    """Each check of :func:`checks` as the share of its tolerance the difference uses: 0 identical,
    above 1 broken, inf when the count differs or the moment or value is present in one copy only.
    The test fails on a listed break that now holds by a wide margin (a fix, to be unlisted) and
    only warns on one that holds narrowly (pose noise of another CPU)."""
    out = {"count": 0.0}
    if (len(orig.reps), len(orig.partial_pulls)) != (len(variant.reps), len(variant.partial_pulls)):
        return {"count": math.inf}
    for a, b in zip(_pulls(orig), _pulls(variant), strict=True):
        for name in set(a.moments) | set(b.moments):
            both = name in a.moments and name in b.moments
            d = abs(_t(a.moments[name]) - _t(b.moments[name]) * speed) if both else math.inf
            out[f"r{a.number}:{name}"] = d / TIME_TOL_S
        for key, va in a.metrics.items():
            if key.endswith("_deg"):
                vb = b.metrics.get(key, math.nan)
                d = (
                    abs(va - vb)
                    if not (math.isnan(va) or math.isnan(vb))
                    else (0.0 if math.isnan(va) == math.isnan(vb) else math.inf)
                )
                out[f"r{a.number}:{key}"] = d / ANGLE_TOL_DEG
    return out


def compare(orig, variant, speed: float = 1.0, *, mirrored: bool = False) -> list[Break]:
    """The invariances ``variant`` breaks relative to ``orig`` (empty list = all hold), each with
    its cause. ``mirrored``: the copy is a mirror image (its analysed side should be the other one)."""
    broken: list[Break] = []
    if (len(orig.reps), len(orig.partial_pulls)) != (len(variant.reps), len(variant.partial_pulls)):
        return [
            Break(
                "count",
                "count",
                f"reps {len(orig.reps)} (+{len(orig.partial_pulls)} partial) became "
                f"{len(variant.reps)} (+{len(variant.partial_pulls)} partial)",
            )
        ]
    flip = {"left": "right", "right": "left"}
    side_ok = variant.body.side == (flip[orig.body.side] if mirrored else orig.body.side)
    side = f"the copy analysed the {variant.body.side} side, the original the {orig.body.side}"
    for a, b in zip(_pulls(orig), _pulls(variant), strict=True):
        r = f"r{a.number}"
        for name in sorted(set(a.moments) | set(b.moments)):
            both = name in a.moments and name in b.moments
            ta = _t(a.moments[name]) if name in a.moments else math.nan
            tb = _t(b.moments[name]) * speed if name in b.moments else math.nan
            if both and abs(ta - tb) <= TIME_TOL_S + 1e-6:
                continue
            what = f"{name} at {ta:.2f} s vs {tb:.2f} s" if both else f"{name} present in only one"
            cause, evidence = (
                ("side choice", side) if not side_ok else moment_cause(orig, variant, speed, a, b, name)
            )
            broken.append(
                Break("moment", f"{r}:{name}", f"rep {a.number}: {what} ({cause}: {evidence})", cause)
            )
        for key, va in a.metrics.items():
            if not key.endswith("_deg"):
                continue
            vb = b.metrics.get(key, math.nan)
            low = _low(a, key) or _low(b, key)
            if math.isnan(va) != math.isnan(vb):
                why = (a if math.isnan(va) else b).unmeasured.get(key, "")
                cause, evidence = ("side choice", side) if not side_ok else ("pose model, visibility", why)
                detail = f"rep {a.number}: {key} {va:.1f} vs {vb:.1f} (measurable in only one; {cause}: {evidence})"
                broken.append(Break("angle", f"{r}:{key}", detail, cause, low))
            elif not math.isnan(va) and abs(va - vb) > ANGLE_TOL_DEG:
                cause, evidence = (
                    ("side choice", side) if not side_ok else angle_cause(orig, variant, speed, a, b, key)
                )
                why = f" ({cause}: {evidence})" if cause else ""
                detail = f"rep {a.number}: {key} {va:.1f}° vs {vb:.1f}°{why}"
                broken.append(Break("angle", f"{r}:{key}", detail, cause, low))
    return broken


KINDS = ("count", "moment", "angle")


def run(
    stems: Iterable[str],
    dev_dir: Path,
    *,
    out=print,
    breaks: dict[tuple[str, str], list[str]] | None = None,
    cache_variants: bool = False,
) -> dict[str, tuple[int, int]]:
    """Check every transform of every clip; returns {kind or "all": (clip-transforms where every
    check of that kind held, clip-transforms)}, {"single <kind>": (single checks that held, single
    checks)} and the breakdown :func:`print_rates` prints: {"<transform> <kind>": (held, checks)},
    {"metric <name>": (held, checks)} over moment and angle checks, and among the broken angle
    checks {"angle breaks": (broken, single angle checks)}, {"cause <cause>": (broken with that
    cause, broken)}, {"<transform> cause <cause>": (broken with that cause, 0)} and {"low
    confidence": (broken on a low-confidence reading, broken)}.
    ``breaks``, when given, receives {(clip, transform): sorted broken checks}. ``cache_variants``:
    reuse the copies' cached poses (valid: the copies are byte-identical from run to run and the
    cache is keyed by the file's bytes); False measures them afresh, as the test does."""
    from formcheck_core.analysis import analyze

    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with tempfile.TemporaryDirectory(prefix="formcheck-metamorphic-") as tmp:
        for stem in stems:
            src = dev_dir / f"{stem}.mp4"
            orig = analyze(src, rules=False, progress=False)
            for t in TRANSFORMS:
                path = make_variant(src, t, Path(tmp))
                var = analyze(path, rules=False, progress=False, cache=cache_variants)
                broken = compare(orig, var, t.speed, mirrored=t.name == "mirror")
                for k in KINDS:
                    tally[k][0] += not any(b.kind == k for b in broken)
                    tally[k][1] += 1
                tally["all"][0] += not broken
                tally["all"][1] += 1
                failed = {b.check for b in broken}
                if breaks is not None:
                    breaks[(stem, t.name)] = sorted(failed)
                for kind, check in checks(orig):
                    if kind == "count" or not any(b.kind == "count" for b in broken):
                        held = check not in failed
                        for key in (f"single {kind}", f"{t.name} {kind}", f"metric {check.split(':')[-1]}"):
                            tally[key][0] += held
                            tally[key][1] += 1
                for b in broken:
                    if b.kind in ("angle", "moment"):
                        cause = b.cause or "not classified"
                        tally[f"{b.kind} cause {cause}"][0] += 1
                        tally[f"{t.name} {b.kind} cause {cause}"][0] += 1
                        tally[f"{b.kind} breaks"][0] += 1
                    if b.kind == "angle":
                        tally["low confidence"][0] += b.low_confidence
                out(
                    f"  {stem:24s} {t.name:14s} {'ok' if not broken else 'BROKEN: ' + '; '.join(map(str, broken))}"
                )
                path.unlink(missing_ok=True)
    for kind in ("angle", "moment"):
        tally[f"{kind} breaks"][1] = tally[f"single {kind}"][1]
        for k in [k for k in tally if k.startswith(f"{kind} cause ")]:
            tally[k][1] = tally[f"{kind} breaks"][0]
    tally["low confidence"][1] = tally["angle breaks"][0]
    return {k: (v[0], v[1]) for k, v in tally.items()}


def print_rates(tally: dict[str, tuple[int, int]], out=print) -> None:
    for k in (*KINDS, "all"):
        held, total = tally.get(k, (0, 0))
        label = "all invariances" if k == "all" else f"{k} invariance"
        out(f"metamorphic {label}: {held}/{total} clip-transforms = {held / max(total, 1):.0%}")
    for k in KINDS:
        held, total = tally.get(f"single {k}", (0, 0))
        if total:
            out(f"metamorphic single {k} checks held: {held}/{total} = {held / total:.0%}")
    rows = [t.name for t in TRANSFORMS if f"{t.name} angle" in tally]
    if rows:
        out("by transform (single checks held):  moments  angles")
        for name in rows:
            m, a = tally.get(f"{name} moment", (0, 0)), tally[f"{name} angle"]
            out(f"  {name:14s} {m[0]:3d}/{m[1]:<3d}  {a[0]:3d}/{a[1]:<3d}")
    metrics = sorted(k for k in tally if k.startswith("metric ") and tally[k][0] < tally[k][1])
    if metrics:
        out("broken checks by moment or metric (held/checks):")
        for k in metrics:
            out(f"  {k[7:]:28s} {tally[k][0]}/{tally[k][1]}")
    for kind in ("moment", "angle"):
        n = tally.get(f"{kind} breaks", (0, 0))[0]
        if not n:
            continue
        out(f"broken {kind} checks by cause ({n}; whose: see CAUSES):")
        for whose in dict.fromkeys(w for w, _ in CAUSES.values()):
            row = [
                (c, tally.get(f"{kind} cause {c}", (0, 0))[0]) for c, (w, _) in CAUSES.items() if w == whose
            ]
            if whose != "undetermined" or any(k for _, k in row):
                out(
                    f"  {whose:10s} {sum(c for _, c in row):3d}: "
                    + ", ".join(f"{c} {k}" for c, k in row if k)
                )
        other = tally.get(f"{kind} cause not classified", (0, 0))[0]
        if other:
            out(f"  not classified {other}")
        out("  by transform:")
        for t in TRANSFORMS:
            row = [
                (c, tally.get(f"{t.name} {kind} cause {c}", (0, 0))[0]) for c in (*CAUSES, "not classified")
            ]
            if any(k for _, k in row):
                out(f"    {t.name:14s} " + ", ".join(f"{c} {k}" for c, k in row if k))
    if tally.get("angle breaks", (0, 0))[0]:
        n = tally["angle breaks"][0]
        out(f"broken angle checks marked low confidence in either copy: {tally['low confidence'][0]}/{n}")
    out("causes:")
    for c, (whose, what) in CAUSES.items():
        out(f"  {c} ({whose}): {what}")


def mirror_back(
    stems: Iterable[str], dev_dir: Path, *, out=print, cache_variants: bool = False
) -> dict[str, tuple[int, int]]:
    """What posing every clip with the lifter facing one way would give the mirror check (a
    measurement, not how formcheck poses): the mirror copy is flipped back before posing, i.e. the
    mirror of the mirror copy is analysed and compared with the original -- the pixels the pose model
    would see if each clip were flipped to a canonical facing first (one pose pass, a flip per frame).
    Returns {"single <kind>": (held, checks)} over the clips, as :func:`run`."""
    from formcheck_core.analysis import analyze

    mirror = next(t for t in TRANSFORMS if t.name == "mirror")
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with tempfile.TemporaryDirectory(prefix="formcheck-metamorphic-") as tmp:
        for stem in stems:
            src = dev_dir / f"{stem}.mp4"
            orig = analyze(src, rules=False, progress=False)
            once = make_variant(src, mirror, Path(tmp))
            twice = make_variant(once, mirror, Path(tmp))
            var = analyze(twice, rules=False, progress=False, cache=cache_variants)
            broken = compare(orig, var)
            failed = {b.check for b in broken}
            for kind, check in checks(orig):
                tally[f"single {kind}"][0] += check not in failed
                tally[f"single {kind}"][1] += 1
            out(
                f"  {stem:24s} mirrored back  {'ok' if not broken else 'BROKEN: ' + '; '.join(map(str, broken))}"
            )
            once.unlink(missing_ok=True)
            twice.unlink(missing_ok=True)
    return {k: (v[0], v[1]) for k, v in tally.items()}


def main(argv: list[str] | None = None) -> int:
    from formcheck_core.config import shared_dir

    args = list(argv if argv is not None else sys.argv[1:])
    flags = ("--known", "--cached", "--mirror-back")
    known, cached = "--known" in args, "--cached" in args
    stems = [a for a in args if a not in flags] or list(DEFAULT_CLIPS)
    dev_dir = shared_dir() / "videos" / "dev"
    if "--mirror-back" in args:
        for kind, (held, total) in mirror_back(stems, dev_dir, cache_variants=cached).items():
            print(f"mirror copy posed flipped back: {kind} checks held {held}/{total}")
        return 0
    breaks: dict[tuple[str, str], list[str]] = {}
    print_rates(run(stems, dev_dir, breaks=breaks, cache_variants=cached))
    if known:  # the table tests/test_metamorphic.py keeps as KNOWN_BREAKS
        print("KNOWN_BREAKS = {")
        for key, checks_ in breaks.items():
            if checks_:
                print(f"    {key!r}: {tuple(checks_)!r},")
        print("}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
