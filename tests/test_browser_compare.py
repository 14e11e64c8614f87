"""Notebook 04 (rules vs LLM) without a model, in a real JupyterLab driven in headless Chromium.

The same set-up as ``test_browser.py`` (:mod:`labserver`): the committed notebook is opened as
is (``LLM_MODEL = None``), run with Run All, and the page must show: no error, the "no model"
hint once (not once per clip), the score table with the baselines, and every plot non-empty
(decoded in the page and checked for more than one colour). Screenshots go to
``artifacts/browser/``.
"""

from __future__ import annotations

import base64
import shutil

import cv2
import numpy as np
import pytest
from labserver import notebook_run_all, skip_without_browser, stderr_errors

from formcheck_core.config import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = REPO_ROOT / "notebooks" / "04_thresholds_vs_llm.ipynb"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
RUN_ALL_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def page(shared, tmp_path_factory):
    skip_without_browser()

    root = tmp_path_factory.mktemp("lab-root-04")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def ran(pg) -> None:  # the last cell shows the threshold explorer's widget
        pg.locator(".formcheck-thresholds .fc-summary-text").wait_for(timeout=RUN_ALL_TIMEOUT_MS)

    with notebook_run_all(
        root, NOTEBOOK.name, tmp_path_factory.mktemp("lab-work-04"), shared, ran, RUN_ALL_TIMEOUT_MS
    ) as pg:
        pg.screenshot(path=str(ARTIFACTS / "04_notebook_no_model.png"), full_page=True)
        yield pg


def test_runs_without_errors(page):
    tracebacks = stderr_errors(page)
    assert not tracebacks, tracebacks[0][:2000]


def test_no_repeated_messages(page):
    text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "No LLM configured" not in text
    hints = [line for line in text.splitlines() if "LLM_MODEL" in line]
    assert 1 <= len(hints) <= 2, hints  # the set-up line and the report header, not once per clip
    lines = [line.strip() for line in text.splitlines() if line.strip() and "LLM" in line]
    assert len(lines) == len(set(lines)), "a message about the LLM is repeated"


def test_scores_show_baselines_and_cross_validation(page):
    text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    for phrase in (
        "never-flag baseline",
        "always-flag baseline",
        "in-sample",
        "leave-one-clip-out",
        "balanced acc.",
    ):
        assert phrase in text, phrase
    assert page.locator(".jp-OutputArea-output table tr").count() > 10


def test_plots_are_not_empty(page):
    images = page.locator(".jp-OutputArea-output img")
    n = images.count()
    assert n >= 3, f"expected the accuracy plot, the ROC curves and the sweep, found {n} images"
    for i in range(n):
        img = images.nth(i)
        cls = img.get_attribute("class") or ""
        if "fc-" in cls:
            continue  # widget pictures are checked by their own tests
        assert img.evaluate("el => el.complete && el.naturalWidth > 100 && el.naturalHeight > 100"), i
        b64 = page.evaluate(
            "async (i) => { const img = document.querySelectorAll('.jp-OutputArea-output img')[i];"
            " const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;"
            " c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png').split(',')[1]; }",
            i,
        )
        pic = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
        colours = np.unique(pic.reshape(-1, 3)[:: max(1, pic.size // 3 // 20000)], axis=0)
        assert len(colours) > 8, f"image {i} is blank ({len(colours)} colours)"
