"""How far the bar's end rises in the image, frame by frame: an independent check of a lift-off label.

Usage: ``python scripts/plate_rise.py CLIP --box X0,Y0,X1,Y1 --frames F0-F1 [--plate-px D]``

The box (source pixels) is drawn by hand around the end of the bar (the sleeve's cap or collar) in
frame F0, with the bar at rest on the floor. The end of the bar is the plates' axis: rolling the
bar in during the set-up turns the plate but does not move its axis, so a template of the axis
does not read a roll as a lift (a template of the plate's face does). Each frame from F0 to F1
is matched against that template (OpenCV normalised cross-correlation, searched
:data:`SEARCH_PX` around the previous frame's match) and its vertical shift printed in pixels
(negative = up), with the match score. With ``--plate-px`` (the plate's diameter in pixels, a
45 cm plate) the shift is also given in cm, and the first frame at least :data:`LIFT_CM` up and
still rising is printed (:func:`lift_frame`): the bar has left the floor.

No pose, no labels, no constants fitted: a measurement to read beside ``scripts/evaluate_dev.py``'s
misses (README, "Rep and key-moment accuracy"). Nothing is written; frames are never saved.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

#: Diameter of a standard plate (cm): the scale of ``--plate-px``.
PLATE_CM = 45.0
#: The bar has left the floor once its end stays at least this far up (cm): ~3 px at the dev
#: clips' scale, above the template match's 1 px jitter.
LIFT_CM = 1.0
#: ... and keeps rising for this many frames after it (0.1 s at 30 fps).
RISING_FRAMES = 3
#: Search margin around the previous frame's match (px).
SEARCH_PX = 120


def _shifts(path: Path, box: tuple[int, int, int, int], f0: int, f1: int) -> list[tuple[int, int, float]]:
    """(frame, vertical shift px, match score) for frames f0..f1 against the box of frame f0."""
    import av
    import cv2

    x0, y0, x1, y1 = box
    out: list[tuple[int, int, float]] = []
    template = None
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i > f1:
                break
            if i < f0:
                continue
            gray = cv2.cvtColor(frame.to_ndarray(format="bgr24"), cv2.COLOR_BGR2GRAY)
            if template is None:
                template = gray[y0:y1, x0:x1]
            # Searched around the previous frame's match, so a fast rise stays in the search area.
            dy0 = out[-1][1] if out else 0
            ya, xa = max(0, y0 + dy0 - SEARCH_PX), max(0, x0 - SEARCH_PX)
            area = gray[ya : max(ya, y1 + dy0 + SEARCH_PX), xa : x1 + SEARCH_PX]
            if area.shape[0] < template.shape[0] or area.shape[1] < template.shape[1]:
                break  # the bar left the picture
            _, score, _, loc = cv2.minMaxLoc(cv2.matchTemplate(area, template, cv2.TM_CCOEFF_NORMED))
            out.append((i, loc[1] + ya - y0, float(score)))
    return out


def lift_frame(rows: list[tuple[int, int, float]], cm_per_px: float) -> int | None:
    """The first frame at least :data:`LIFT_CM` up from which the bar keeps rising for the next
    :data:`RISING_FRAMES` frames (up to the last one): the bar has left the floor. Later frames
    are not needed, so a match lost once the bar moves fast (blur, the plate leaving the picture)
    does not hide it. None if there is no such frame."""
    dys = [dy for _, dy, _ in rows]
    for k, dy in enumerate(dys):
        ahead = dys[k : k + RISING_FRAMES + 1]
        if -dy * cm_per_px >= LIFT_CM and all(b < a for a, b in itertools.pairwise(ahead)):
            return rows[k][0]
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("--box", required=True, help="X0,Y0,X1,Y1 around the bar's end in the first frame (px)")
    ap.add_argument("--frames", required=True, help="F0-F1: first (bar at rest) and last frame")
    ap.add_argument("--plate-px", type=float, default=None, help="plate diameter in px (45 cm)")
    args = ap.parse_args(argv)
    try:
        box = tuple(int(v) for v in args.box.split(","))
        f0, f1 = (int(v) for v in args.frames.split("-"))
        if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]) or not 0 <= f0 < f1:
            raise ValueError
    except ValueError:
        print(
            "--box needs X0,Y0,X1,Y1 with X0<X1, Y0<Y1; --frames needs F0-F1 with 0<=F0<F1", file=sys.stderr
        )
        return 2
    if not args.clip.is_file():
        print(f"no such clip: {args.clip}", file=sys.stderr)
        return 2
    rows = _shifts(args.clip, box, f0, f1)
    cm_per_px = PLATE_CM / args.plate_px if args.plate_px else None
    for frame, dy, score in rows:
        cm = f"  {-dy * cm_per_px:5.1f} cm up" if cm_per_px else ""
        print(f"frame {frame:5d}  shift {dy:+4d} px{cm}  score {score:.2f}")
    if cm_per_px:
        first = lift_frame(rows, cm_per_px)
        print(
            f"bar at least {LIFT_CM:g} cm up and still rising from frame {first}"
            if first is not None
            else f"the bar is not {LIFT_CM:g} cm up and rising by frame {f1}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
