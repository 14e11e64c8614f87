"""The frame explorer in a real JupyterLab, driven in headless Chromium by Playwright.

Opens notebooks/02_explore_frame_by_frame.ipynb, runs all cells, then moves the first explorer's
slider by keyboard and by mouse drag and plays it, checking each time that the read-out, the
frame picture and the curves' cursor show the right sample. The expected values come from the
same analysis computed in this process (the pose cache makes it the same data). Screenshots go
to ``artifacts/browser/``. Waits are on conditions in the page, never fixed sleeps.
"""

from __future__ import annotations

import base64
import json
import shutil

import cv2
import numpy as np
import pytest
from labserver import (
    IMAGE_B64_JS,
    LabServer,
    explorer_state,
    key_latencies_ms,
    launch_chromium,
    open_and_run_all,
    skip_without_browser,
    stderr_errors,
    wait_shown,
)

from formcheck_core.config import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = REPO_ROOT / "notebooks" / "02_explore_frame_by_frame.ipynb"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
MULTI_REP_CLIP = "heavy_front_oblique_a"
EXPLORER = ".formcheck-explorer >> nth=0"
#: Generous bound for the kernel to start, analyse (pose cached) and draw the first explorer.
RUN_ALL_TIMEOUT_MS = 240_000
STEP_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def expected(shared):
    """The analysis the notebook's first explorer shows, computed here from the same cache."""
    from formcheck_core.analysis import analyze
    from formcheck_core.render.layout import lifter_box

    a = analyze(shared / "videos" / "dev" / f"{MULTI_REP_CLIP}.mp4", fps=10.0, progress=False)
    frames = ReferenceFrames(a.video.path)
    yield {"analysis": a, "box": lifter_box(a), "frames": frames}
    frames.close()


class ReferenceFrames:
    """Source frames by index for comparisons: one OpenCV capture, exact seeks (checked)."""

    def __init__(self, path: str) -> None:
        self.cap = cv2.VideoCapture(path)

    def read(self, index: int) -> np.ndarray:
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        assert int(self.cap.get(cv2.CAP_PROP_POS_FRAMES)) == index, "inexact seek in the reference reader"
        ok, frame = self.cap.read()
        assert ok, f"reference reader could not decode frame {index}"
        return frame

    def close(self) -> None:
        self.cap.release()


@pytest.fixture(scope="module")
def lab(shared, tmp_path_factory):
    skip_without_browser()
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    server = LabServer(root, tmp_path_factory.mktemp("lab-work"), env={"FORMCHECK_SHARED": str(shared)})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1300})
        pg = context.new_page()
        pg.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            yield pg
        finally:
            try:
                pg.screenshot(path=str(ARTIFACTS / "99_last.png"))
            finally:
                browser.close()


def _frame_png(page) -> np.ndarray:
    data = base64.b64decode(page.evaluate(IMAGE_B64_JS, ".formcheck-explorer img.fc-frame"))
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _curves_png(page) -> np.ndarray:
    data = base64.b64decode(page.evaluate(IMAGE_B64_JS, ".formcheck-explorer img.fc-curves"))
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def cursor_column(curves_bgr: np.ndarray) -> int:
    """Pixel column of the red vertical time cursor (#f03e3e) in the curves picture."""
    b, g, r = (curves_bgr[..., i].astype(int) for i in range(3))
    red = (np.abs(r - 0xF0) < 30) & (np.abs(g - 0x3E) < 40) & (np.abs(b - 0x3E) < 40)
    counts = red.sum(axis=0)
    assert counts.max() > 0.3 * curves_bgr.shape[0], "no vertical cursor line found in the curves picture"
    return int(np.argmax(counts))


def _check_state(state: dict, expected: dict) -> None:
    """Read-out == the analysis at the shown sample; the slider agrees."""
    a = expected["analysis"]
    s = state["sample"]
    assert state["slider"] == s, f"slider at {state['slider']} but read-out shows sample {s}"
    assert state["frame"] == int(a.body.frame_index[s])
    assert state["time"] == pytest.approx(float(a.body.time_s[s]), abs=1e-3)
    from formcheck_core.render.overlay import displayed_series

    raw = state["mode"] == "raw"
    src = a.body.raw if raw else a.body.smoothed
    for series in ("hip_angle_deg", "knee_angle_deg", "torso_lean_deg", "elbow_angle_deg"):
        want = float(src[displayed_series(a, series, raw=raw)][s])  # 3-D angles in oblique views
        got = state["values"][series]
        if np.isnan(want):
            assert np.isnan(got), series
        else:
            assert got == pytest.approx(want, abs=2e-3), series


def _check_frame_picture(page, expected: dict, sample: int, previous_frame: int) -> None:
    """The picture shown is the source frame of ``sample``: closer to it than to the frames of the
    neighbouring samples and of the previous position (where those differ visibly from it)."""
    a = expected["analysis"]
    fi = a.body.frame_index
    frame_index = int(fi[sample])
    shown = _frame_png(page).astype(np.float32)
    x0, y0, x1, y1 = expected["box"]  # the explorer shows the lifter's box, scaled

    def picture(index: int) -> np.ndarray:
        crop = expected["frames"].read(index)[y0:y1, x0:x1]
        return cv2.resize(crop, (shown.shape[1], shown.shape[0]), interpolation=cv2.INTER_AREA).astype(
            np.float32
        )

    want = picture(frame_index)
    d_want = float(np.mean(np.abs(shown - want)))
    assert d_want < 12.0, (
        f"shown picture differs from frame {frame_index} by {d_want:.2f} on average (overlay + JPEG only expected)"
    )
    others = {int(fi[s]) for s in (sample - 1, sample + 1) if 0 <= s < len(fi)} | {int(previous_frame)}
    for other_index in sorted(others - {frame_index}):
        other = picture(other_index)
        if float(np.mean(np.abs(other - want))) < 4.0:
            continue  # the scene barely changed between these frames: not a discriminating check
        d_other = float(np.mean(np.abs(shown - other)))
        assert d_want < d_other, (
            f"shown picture is closer to frame {other_index} ({d_other:.2f}) than to frame {frame_index} ({d_want:.2f})"
        )


@pytest.fixture(scope="module")
def ready(page, lab, expected):
    """The notebook after Run All, with every cell finished."""
    seconds = open_and_run_all(page, lab, NOTEBOOK.name, RUN_ALL_TIMEOUT_MS)
    # every cell done: the second (single-rep) explorer is there and the kernel is idle again
    page.locator(".formcheck-explorer").nth(1).locator("img.fc-frame").wait_for(timeout=RUN_ALL_TIMEOUT_MS)
    page.get_by_text("| Idle").wait_for(timeout=RUN_ALL_TIMEOUT_MS)
    tracebacks = stderr_errors(page)
    assert not tracebacks, tracebacks[0][:2000]
    page.screenshot(path=str(ARTIFACTS / "01_run_all.png"), full_page=True)
    (ARTIFACTS / "timings.json").write_text(
        json.dumps({"run_all_to_interactive_s": round(seconds, 2)}, indent=1)
    )
    return {"run_all_s": seconds}


def test_run_all_shows_the_explorer(page, ready, expected):
    state = explorer_state(page)
    assert state["imgLoaded"] and state["curvesLoaded"]
    _check_state(state, expected)
    n_reps = len(expected["analysis"].reps)
    explorer = page.locator(EXPLORER)
    assert explorer.locator(".fc-rep").count() == n_reps
    explorer.screenshot(path=str(ARTIFACTS / "02_explorer.png"))


def test_keyboard_moves_frame_cursor_and_readout(page, ready, expected):
    before = explorer_state(page)
    handle = page.locator(EXPLORER).locator(".fc-slider .noUi-handle")
    handle.focus()
    steps = 6
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
    target = before["sample"] + steps
    after = wait_shown(page, target, before)
    _check_state(after, expected)
    _check_frame_picture(page, expected, after["sample"], before["frame"])
    assert after["time"] > before["time"]
    page.locator(EXPLORER).screenshot(path=str(ARTIFACTS / "03_keyboard.png"))
    before, x_before = after, cursor_column(_curves_png(page))
    for _ in range(steps):
        page.keyboard.press("ArrowLeft")
    back = wait_shown(page, before["sample"] - steps, before)
    _check_state(back, expected)
    assert cursor_column(_curves_png(page)) < x_before, "the cursor did not move left with the slider"


def test_drag_moves_frame_cursor_and_readout(page, ready, expected):
    a = expected["analysis"]
    explorer = page.locator(EXPLORER)
    cursors = []
    for fraction in (0.25, 0.5, 0.75):
        # positions are read after any scrolling (the screenshot below scrolls the explorer into view)
        explorer.locator(".fc-slider").first.scroll_into_view_if_needed()
        track = explorer.locator(".fc-slider .noUi-base").first.bounding_box()
        handle = explorer.locator(".fc-slider .noUi-handle").first.bounding_box()
        assert track and handle
        before = explorer_state(page)
        hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(hx, hy)
        page.mouse.down()
        page.mouse.move(track["x"] + fraction * track["width"], hy, steps=12)
        page.mouse.up()
        page.wait_for_function(
            "(s) => { const h = document.querySelector('.formcheck-explorer .fc-slider .noUi-handle');"
            " return h && Math.round(parseFloat(h.getAttribute('aria-valuenow'))) !== s; }",
            arg=before["slider"],
        )
        target = explorer_state(page)["slider"]
        assert abs(target - fraction * (a.pose.n_samples - 1)) <= 0.05 * a.pose.n_samples, (target, fraction)
        after = wait_shown(page, target, before)
        _check_state(after, expected)
        _check_frame_picture(page, expected, after["sample"], before["frame"])
        cursors.append((after["time"], cursor_column(_curves_png(page))))
        explorer.screenshot(path=str(ARTIFACTS / f"04_drag_{int(fraction * 100)}.png"))
    # the cursor follows the slider and its pixel column is linear in time
    (t1, x1), (t2, x2), (t3, x3) = cursors
    assert x1 < x2 < x3, f"the cursor did not move right with the slider: {cursors}"
    predicted = x1 + (x3 - x1) * (t2 - t1) / (t3 - t1)
    assert abs(x2 - predicted) <= 3, f"cursor at column {x2}, expected about {predicted:.1f} for t={t2:.2f} s"


def test_play_advances_and_pause_stops(page, ready, expected):
    explorer = page.locator(EXPLORER)
    explorer.locator(".fc-rep").first.click()  # start from rep 1's lift-off
    rep1 = expected["analysis"].reps[0]
    start = rep1.moments["liftoff"].sample if "liftoff" in rep1.moments else rep1.start_sample
    page.wait_for_function(
        "(s) => { const st = document.querySelector('.formcheck-explorer .fc-state');"
        " return st && parseInt(st.dataset.sample) === s; }",
        arg=start,
    )
    play = explorer.locator(".fc-play button").first
    play.click()
    page.wait_for_function(
        "(s) => { const st = document.querySelector('.formcheck-explorer .fc-state');"
        " return st && parseInt(st.dataset.sample) >= s; }",
        arg=start + 8,
    )
    explorer.screenshot(path=str(ARTIFACTS / "05_playing.png"))
    play.click()  # pause
    page.wait_for_function("() => !document.querySelector('.formcheck-explorer .fc-play .fa-pause')")
    # after the pause the kernel catches up with the slider's final value
    page.wait_for_function(
        "() => { const ex = document.querySelector('.formcheck-explorer');"
        " const st = ex.querySelector('.fc-state'); const h = ex.querySelector('.fc-slider .noUi-handle');"
        " return parseInt(st.dataset.sample) === Math.round(parseFloat(h.getAttribute('aria-valuenow'))); }"
    )
    paused = explorer_state(page)
    assert paused["sample"] >= start + 8
    _check_state(paused, expected)
    _check_frame_picture(page, expected, paused["sample"], int(expected["analysis"].body.frame_index[start]))


def test_raw_toggle_changes_values(page, ready, expected):
    explorer = page.locator(EXPLORER)
    before = explorer_state(page)
    explorer.locator(".fc-mode button", has_text="raw").click()
    page.wait_for_function(
        "() => document.querySelector('.formcheck-explorer .fc-state').dataset.mode === 'raw'"
    )
    raw = explorer_state(page)
    assert raw["sample"] == before["sample"]
    _check_state(raw, expected)
    explorer.screenshot(path=str(ARTIFACTS / "06_raw.png"))
    explorer.locator(".fc-mode button", has_text="smoothed").click()
    page.wait_for_function(
        "() => document.querySelector('.formcheck-explorer .fc-state').dataset.mode === 'smoothed'"
    )


def test_slider_to_redraw_latency(page, ready, expected):
    """Key press -> read-out, frame and cursor all redrawn, as the browser sees it (recorded)."""
    latencies_ms = key_latencies_ms(page, expected["analysis"].pose.n_samples)
    _check_state(explorer_state(page), expected)
    timings = (
        json.loads((ARTIFACTS / "timings.json").read_text()) if (ARTIFACTS / "timings.json").exists() else {}
    )
    timings["slider_to_redraw_ms"] = {
        "median": round(float(np.median(latencies_ms)), 1),
        "max": round(max(latencies_ms), 1),
        "all": [round(x, 1) for x in latencies_ms],
    }
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=1))
    assert np.median(latencies_ms) < 2000, latencies_ms
