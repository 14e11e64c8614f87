"""Frame explorer in a real JupyterLab: time from Run All to interactive, and slider-to-redraw latency.

Runs notebooks/02_explore_frame_by_frame.ipynb (its first explorer shows the 4-rep clip
dev/heavy_front_oblique_a.mp4) in a fresh JupyterLab server and headless Chromium, twice:

- ``first``: an empty pose cache (``FORMCHECK_CACHE`` = a new temporary folder), so Run All
  includes pose extraction of the clip;
- ``cached``: a new server and kernel with the cache the first run filled.

For each: seconds from clicking "Run All Cells" until the first explorer shows its frame and
read-out. On the cached run also: key press -> read-out, frame and cursor all redrawn (ms, as the
browser sees it, ``--presses`` times), and the rate Play achieves (samples/s; nominal 10).
Run: ``python benchmarks/bench_explorer.py [--json out.json]`` (needs chromium and the shared clips).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from formcheck_core.config import REPO_ROOT, shared_dir

sys.path.insert(0, str(REPO_ROOT / "tests"))
from labserver import (
    LabServer,
    explorer_state,
    key_latencies_ms,
    launch_chromium,
    open_and_run_all,
)

NOTEBOOK = REPO_ROOT / "notebooks" / "02_explore_frame_by_frame.ipynb"
TIMEOUT_MS = 900_000


def one_run(cache: Path, *, presses: int, measure_interaction: bool, shots: Path | None) -> dict:
    """A fresh server + kernel + browser page: Run All, then optionally interact."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "root", Path(tmp) / "work"
        root.mkdir()
        (root / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
        env = {"FORMCHECK_CACHE": str(cache), "FORMCHECK_SHARED": str(shared_dir())}
        with LabServer(root, work, env=env) as server, sync_playwright() as pw:
            browser = launch_chromium(pw)
            try:
                page = browser.new_context(viewport={"width": 1440, "height": 1300}).new_page()
                out: dict = {
                    "run_all_to_interactive_s": round(
                        open_and_run_all(page, server, NOTEBOOK.name, TIMEOUT_MS), 2
                    )
                }
                # let the rest of the notebook finish so it does not compete with the measurements
                page.locator(".formcheck-explorer").nth(1).locator("img.fc-frame").wait_for(
                    timeout=TIMEOUT_MS
                )
                page.get_by_text("| Idle").wait_for(timeout=TIMEOUT_MS)
                if measure_interaction:
                    n = page.evaluate(
                        "() => parseInt(document.querySelector('.formcheck-explorer .fc-slider .noUi-handle')"
                        ".getAttribute('aria-valuemax'))"
                    )
                    lat = key_latencies_ms(page, n + 1, presses=presses)
                    out["slider_to_redraw_ms"] = {
                        "median": round(statistics.median(lat), 1),
                        "p90": round(sorted(lat)[int(0.9 * (len(lat) - 1))], 1),
                        "max": round(max(lat), 1),
                        "n": len(lat),
                    }
                    out["play_samples_per_s"] = round(play_rate(page), 2)
                if shots is not None:
                    page.locator(".formcheck-explorer >> nth=0").screenshot(path=str(shots))
            finally:
                browser.close()
    return out


def play_rate(page, advance: int = 30) -> float:
    """Samples per second the explorer's read-out advances while playing (from the current sample,
    which the read-out shows: the latency presses before this wait for each redraw)."""
    ex = page.locator(".formcheck-explorer >> nth=0")
    start = explorer_state(page)["sample"]
    play = ex.locator(".fc-play button").first
    t0 = time.perf_counter()
    play.click()
    page.wait_for_function(
        "(s) => parseInt(document.querySelector('.formcheck-explorer .fc-state').dataset.sample) >= s",
        arg=start + advance,
        timeout=120_000,
    )
    elapsed = time.perf_counter() - t0
    shown = explorer_state(page)["sample"] - start
    play.click()
    return shown / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20, help="arrow-key presses timed on the cached run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not (shared_dir() / "videos" / "dev" / "heavy_front_oblique_a.mp4").is_file():
        print(f"shared clips not found at {shared_dir()} (set FORMCHECK_SHARED)", file=sys.stderr)
        return 2
    shots = REPO_ROOT / "artifacts" / "bench"
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache:
        first = one_run(
            Path(cache), presses=args.presses, measure_interaction=False, shots=shots / "first.png"
        )
        cached = one_run(
            Path(cache), presses=args.presses, measure_interaction=True, shots=shots / "cached.png"
        )
    result = {"clip": "dev/heavy_front_oblique_a.mp4", "first": first, "cached": cached}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
