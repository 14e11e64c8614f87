"""Notebook 01's coaching panel in a real JupyterLab, driven in headless Chromium.

The committed notebook is opened with its output folder moved to a temporary one, run with Run
All, and the page must show: no error in any cell, and the panel's Coach button whole (it was
squeezed to "Co…" by the long status line beside it) and live (a click runs the coaching again).
Set-up as ``test_browser.py`` (:mod:`labserver`).
"""

from __future__ import annotations

import json

import nbformat
import pytest
from labserver import LabServer, chromium_path, launch_chromium

from formcheck_core.config import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = REPO_ROOT / "notebooks" / "01_analyse_a_deadlift.ipynb"
RUN_ALL_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def page(shared, tmp_path_factory):
    if chromium_path() is None:
        pytest.skip("chromium not installed (apt-get install chromium): the JupyterLab browser test needs it")
    pytest.importorskip("playwright", reason="python playwright not installed (pip install 'formcheck[dev]')")
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("lab-root-01")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    out = tmp_path_factory.mktemp("out-01")
    params.source += f"\nOUT_DIR = {str(out)!r}\n"
    nbformat.write(nb, root / NOTEBOOK.name)
    work = tmp_path_factory.mktemp("lab-work-01")
    # render every cell (JupyterLab 4 keeps only the cells in view in the page by default)
    tracker = work / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    server = LabServer(root, work, env={"FORMCHECK_SHARED": str(shared)})
    server.start()
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            pg = browser.new_context(viewport={"width": 1440, "height": 1300}).new_page()
            pg.set_default_timeout(30_000)
            pg.goto(server.lab_url(NOTEBOOK.name))
            pg.get_by_text("| Idle").wait_for(timeout=RUN_ALL_TIMEOUT_MS)
            pg.get_by_role("menuitem", name="Run", exact=True).click()
            pg.get_by_text("Run All Cells", exact=True).click()
            # the last cell prints where the JSON went: everything above has run
            pg.get_by_text("metrics, findings and the time series").wait_for(timeout=RUN_ALL_TIMEOUT_MS)
            pg.get_by_text("| Idle").wait_for(timeout=RUN_ALL_TIMEOUT_MS)
            try:
                yield pg
            finally:
                browser.close()
    finally:
        server.stop()


def test_runs_without_errors(page):
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, tracebacks[0][:2000]


def test_coach_button_is_whole_and_runs_again(page):
    panel = page.locator(".formcheck-coaching").first
    status = panel.locator(".fc-coach-status")
    try:  # the notebook ran the panel once (no model here: the rules' cues, with the reason)
        page.wait_for_function(
            "() => document.querySelector('.formcheck-coaching .fc-coach-status').innerText"
            ".includes('Cues from the rules')",
            timeout=30_000,
        )
    except Exception:
        pytest.fail(f"the panel's status after its run reads {status.inner_text()!r}")
    button = panel.locator(".fc-coach-run")
    clipped = button.evaluate("b => b.scrollWidth > b.clientWidth + 1")
    assert not clipped, "the Coach button's label is cut off"
    assert "Coach" in button.inner_text()
    cues_before = panel.locator(".fc-coach-cues li").count()
    assert cues_before >= 1
    button.click()
    # a click runs the coaching again: the status says it is working, then the cues come back
    page.wait_for_function(
        "() => { const p = document.querySelector('.formcheck-coaching');"
        " return p && p.querySelectorAll('.fc-coach-cues li').length > 0"
        " && p.querySelector('.fc-coach-status').innerText.includes('Cues from the rules'); }",
        timeout=60_000,
    )
    assert panel.locator(".fc-coach-cues li").count() == cues_before
