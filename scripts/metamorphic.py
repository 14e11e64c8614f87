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

Usage: ``python scripts/metamorphic.py [--known] [CLIP_STEM ...]`` prints each check, the invariance
rates per clip-transform and per single check; ``--known`` also prints the table of broken checks
that ``tests/test_metamorphic.py`` keeps as its strict expected failures.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
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
    its clip-transform (``count``, ``r1:liftoff``, ``r2:knee_angle_bottom_deg``)."""

    kind: str
    check: str
    detail: str

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


def compare(orig, variant, speed: float = 1.0) -> list[Break]:
    """The invariances ``variant`` breaks relative to ``orig`` (empty list = all hold)."""
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
    for a, b in zip(_pulls(orig), _pulls(variant), strict=True):
        r = f"r{a.number}"
        for name in sorted(set(a.moments) | set(b.moments)):
            if (name in a.moments) != (name in b.moments):
                broken.append(Break("moment", f"{r}:{name}", f"rep {a.number}: {name} present in only one"))
                continue
            ta, tb = _t(a.moments[name]), _t(b.moments[name]) * speed
            if abs(ta - tb) > TIME_TOL_S + 1e-6:
                broken.append(
                    Break("moment", f"{r}:{name}", f"rep {a.number}: {name} at {ta:.2f} s vs {tb:.2f} s")
                )
        for key, va in a.metrics.items():
            if not key.endswith("_deg"):
                continue
            vb = b.metrics.get(key, math.nan)
            if math.isnan(va) != math.isnan(vb):
                detail = f"rep {a.number}: {key} {va:.1f} vs {vb:.1f} (measurable in only one)"
                broken.append(Break("angle", f"{r}:{key}", detail))
            elif not math.isnan(va) and abs(va - vb) > ANGLE_TOL_DEG:
                broken.append(Break("angle", f"{r}:{key}", f"rep {a.number}: {key} {va:.1f}° vs {vb:.1f}°"))
    return broken


KINDS = ("count", "moment", "angle")


def run(
    stems: Iterable[str], dev_dir: Path, *, out=print, breaks: dict[tuple[str, str], list[str]] | None = None
) -> dict[str, tuple[int, int]]:
    """Check every transform of every clip; returns {kind or "all": (clip-transforms where every
    check of that kind held, clip-transforms)} and {"single <kind>": (single checks that held,
    single checks)}. ``breaks``, when given, receives {(clip, transform): sorted broken checks}."""
    from formcheck_core.analysis import analyze

    tally = {k: [0, 0] for k in (*KINDS, "all", *(f"single {k}" for k in KINDS))}
    with tempfile.TemporaryDirectory(prefix="formcheck-metamorphic-") as tmp:
        for stem in stems:
            src = dev_dir / f"{stem}.mp4"
            orig = analyze(src, rules=False, progress=False)
            for t in TRANSFORMS:
                path = make_variant(src, t, Path(tmp))
                var = analyze(path, rules=False, progress=False, cache=False)
                broken = compare(orig, var, t.speed)
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
                        tally[f"single {kind}"][0] += check not in failed
                        tally[f"single {kind}"][1] += 1
                out(
                    f"  {stem:24s} {t.name:14s} {'ok' if not broken else 'BROKEN: ' + '; '.join(map(str, broken))}"
                )
                path.unlink(missing_ok=True)
    return {k: (v[0], v[1]) for k, v in tally.items()}


def print_rates(tally: dict[str, tuple[int, int]], out=print) -> None:
    for k in (*KINDS, "all"):
        held, total = tally[k]
        label = "all invariances" if k == "all" else f"{k} invariance"
        out(f"metamorphic {label}: {held}/{total} clip-transforms = {held / max(total, 1):.0%}")
    for k in KINDS:
        held, total = tally.get(f"single {k}", (0, 0))
        if total:
            out(f"metamorphic single {k} checks held: {held}/{total} = {held / total:.0%}")


def main(argv: list[str] | None = None) -> int:
    from formcheck_core.config import shared_dir

    args = list(argv if argv is not None else sys.argv[1:])
    known = "--known" in args
    stems = [a for a in args if a != "--known"] or list(DEFAULT_CLIPS)
    breaks: dict[tuple[str, str], list[str]] = {}
    print_rates(run(stems, shared_dir() / "videos" / "dev", breaks=breaks))
    if known:  # the table tests/test_metamorphic.py keeps as KNOWN_BREAKS
        print("KNOWN_BREAKS = {")
        for key, checks_ in breaks.items():
            if checks_:
                print(f"    {key!r}: {tuple(checks_)!r},")
        print("}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
