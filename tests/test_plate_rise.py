"""scripts/plate_rise.py on a real dev clip (no pose): the bar's end is followed from rest, and a
lift-off label doubted in the README is checked against it (the bar is well off the floor at the
labelled frame)."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest
from conftest import DEV, SHARED

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import plate_rise as pr

CLIP = DEV / "gym1080_bad_08.mp4"
BOX = (925, 690, 995, 760)  # the bar's end (red collar) at rest, frame 18
PLATE_PX = 253.0


@pytest.mark.slow  # decodes a 1080p clip
@pytest.mark.skipif(not CLIP.is_file(), reason="needs the shared dev clips")
def test_bar_end_rises_from_rest_and_is_well_up_at_the_label(capsys):
    rows = pr._shifts(CLIP, BOX, 18, 44)
    assert [f for f, _, _ in rows] == list(range(18, 45))
    assert rows[0][1] == 0 and rows[0][2] > 0.99  # the template's own frame
    shifts = [dy for _, dy, _ in rows]
    # The bar only goes up (image y down is positive): each frame at or above the previous one,
    # within a pixel of match jitter, and it ends more than 10 cm up.
    assert all(b <= a + 1 for a, b in itertools.pairwise(shifts))
    assert -shifts[-1] * pr.PLATE_CM / PLATE_PX > 10.0
    label = json.loads((SHARED / "videos" / "labels_dev.json").read_text())["dev/gym1080_bad_08.mp4"]
    lab = label["reps"][0]["liftoff_frame"]
    up_at_label_cm = -shifts[lab - 18] * pr.PLATE_CM / PLATE_PX
    assert up_at_label_cm > 5.0, "the README says the label is late: the bar is well up there"
    assert (
        pr.main([str(CLIP), "--box", ",".join(map(str, BOX)), "--frames", "18-44", "--plate-px", "253"]) == 0
    )
    out = capsys.readouterr().out
    first = int(out.strip().splitlines()[-1].split("from frame ")[1])
    assert 18 < first < lab


def test_bad_arguments_get_a_message_not_a_traceback(capsys, tmp_path):
    assert pr.main([str(tmp_path / "none.mp4"), "--box", "1,2,3,4", "--frames", "0-5"]) == 2
    assert "no such clip" in capsys.readouterr().err
    assert pr.main([str(CLIP), "--box", "5,2,3,4", "--frames", "0-5"]) == 2
    assert "--box needs" in capsys.readouterr().err


def test_lift_frame_is_the_first_frame_up_and_still_rising():
    def rows(dys):
        return [(f, dy, 1.0) for f, dy in enumerate(dys)]

    cm = 0.25  # cm per px: 1 cm = 4 px
    # Creeps 3 px (under 1 cm), then rises: the first frame 4 px up and rising on.
    assert pr.lift_frame(rows([0, -1, -2, -3, -4, -6, -9, -13, -18]), cm) == 4
    # 4 px up but settles back (a rock, not a lift), later lifts for real.
    assert pr.lift_frame(rows([0, -4, -4, -2, 0, -4, -8, -13, -19]), cm) == 5
    # A match lost after the bar is well up does not hide the lift-off.
    assert pr.lift_frame(rows([0, -2, -5, -9, -14, -20, 40, -3, 0]), cm) == 2
    assert pr.lift_frame(rows([0, -1, 0, -1, 0]), cm) is None
