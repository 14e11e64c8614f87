"""Notebook 01's coaching panel in a real JupyterLab, driven in headless Chromium.

The committed notebook is opened with its output folder moved to a temporary one, run with Run
All, and the page must show: no error in any cell, and the panel's Coach button whole (it was
squeezed to "Co…" by the long status line beside it) and live (a click runs the coaching again).
Set-up as ``test_browser.py`` (:mod:`labserver`).
"""

from __future__ import annotations

import nbformat
import pytest
from labserver import notebook_run_all, skip_without_browser, stderr_errors

from formcheck_core.config import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = REPO_ROOT / "notebooks" / "01_analyse_a_deadlift.ipynb"
RUN_ALL_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def page(shared, tmp_path_factory):
    skip_without_browser()

    root = tmp_path_factory.mktemp("lab-root-01")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    out = tmp_path_factory.mktemp("out-01")
    params.source += f"\nOUT_DIR = {str(out)!r}\n"
    nbformat.write(nb, root / NOTEBOOK.name)
    last_output = "metrics, findings and the time series"  # the last cell prints where the JSON went
    with notebook_run_all(
        root,
        NOTEBOOK.name,
        tmp_path_factory.mktemp("lab-work-01"),
        shared,
        lambda pg: pg.get_by_text(last_output).wait_for(timeout=RUN_ALL_TIMEOUT_MS),
        RUN_ALL_TIMEOUT_MS,
    ) as pg:
        yield pg


def test_runs_without_errors(page):
    tracebacks = stderr_errors(page)
    assert not tracebacks, tracebacks[0][:2000]


def test_coach_button_is_whole_and_runs_again(page):
    panel = page.locator(".formcheck-coaching").first
    status = panel.locator(".fc-coach-status")
    try:  # the notebook ran the panel once (no model here: the rules' cues, with the reason)
        page.wait_for_function(  # null-safe: the panel may not be in the page yet (a throw ends the wait)
            "() => { const s = document.querySelector('.formcheck-coaching .fc-coach-status');"
            " return !!s && s.innerText.includes('Cues from the rules'); }",
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
    # mark the cues shown now: a run replaces them (cleared, then drawn again), so the wait below
    # ends on the new run's cues, not on the old ones still in the page right after the click
    panel.locator(".fc-coach-cues li").first.evaluate("li => { li.dataset.before = '1'; }")
    button.click()
    page.wait_for_function(
        "() => { const p = document.querySelector('.formcheck-coaching');"
        " const cues = p ? p.querySelectorAll('.fc-coach-cues li') : [];"
        " return cues.length > 0 && !p.querySelector('.fc-coach-cues li[data-before]')"
        " && p.querySelector('.fc-coach-status').innerText.includes('Cues from the rules'); }",
        timeout=60_000,
    )
    assert panel.locator(".fc-coach-cues li").count() == cues_before
