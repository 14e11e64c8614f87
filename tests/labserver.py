"""A throwaway JupyterLab server and a headless Chromium for browser tests.

:class:`LabServer` starts ``jupyter lab`` on a free port with its own temporary root, config,
data, runtime, settings and workspace folders, waits until the REST API answers, and on
:meth:`LabServer.stop` shuts the kernels down through the API, then ends the server's process
group and any surviving kernel processes *by PID* (kernels run in their own sessions).
:func:`launch_chromium` starts Debian's chromium through Playwright with flags that work offline;
:func:`notebook_run_all` does both for one notebook and runs all its cells.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import psutil

#: Chromium flags that work in a container without network (see ../shared/README.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port nobody listens on right now (bound and released by the OS)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_path() -> str | None:
    """The system chromium binary, if installed (``apt-get install chromium``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class LabServer:
    """``jupyter lab`` serving ``root`` on 127.0.0.1 with a random token, isolated from ~/.jupyter."""

    def __init__(
        self, root: Path, work: Path, env: dict[str, str] | None = None, startup_timeout_s: float = 90
    ):
        self.root = Path(root)
        self.work = Path(work)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout_s = startup_timeout_s
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.work / "jupyter.log"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LabServer:
        dirs = {name: self.work / name for name in ("config", "data", "runtime", "settings", "workspaces")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        notification = (
            dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        )
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            f"--LabApp.workspaces_dir={dirs['workspaces']}",
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.2)  # polling interval while the server boots, not a fixed wait
        self.stop()
        raise RuntimeError(
            f"jupyter lab did not answer within {self.startup_timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Shut kernels down via the API, then end the server group and leftover kernels by PID."""
        if self.proc is None:
            return
        try:
            descendants = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        if self.proc.poll() is None:
            try:
                for kernel in self.api("GET", "/api/kernels", timeout=5):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=15)
            except Exception:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for child in descendants:  # kernels live in their own sessions: end each one by its PID
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                continue
        _, alive = psutil.wait_procs(descendants, timeout=10)
        for child in alive:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        """Call the server's REST API; returns the decoded JSON (or None for an empty reply)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def lab_url(self, notebook: str) -> str:
        """URL opening ``notebook`` (path relative to the root) in JupyterLab, logged in by token."""
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""


def launch_chromium(playwright):
    """Headless Debian chromium driven by Playwright (its own browser download does not work offline)."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("chromium not found: install it with `apt-get install chromium`")
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)


def skip_without_browser() -> None:
    """Skip the calling test when Debian's chromium or Python's playwright is missing."""
    import pytest

    if chromium_path() is None:
        pytest.skip("chromium not installed (apt-get install chromium): the JupyterLab browser test needs it")
    pytest.importorskip("playwright", reason="python playwright not installed (pip install 'formcheck[dev]')")


def render_every_cell(work: Path) -> None:
    """JupyterLab settings under ``work`` that put every cell in the page (JupyterLab 4 keeps only
    the cells in view by default, so outputs further down could not be read)."""
    tracker = work / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))


@contextmanager
def notebook_run_all(
    root: Path, notebook: str, work: Path, shared: Path, ran: Callable[[Any], None], timeout_ms: float
) -> Iterator[Any]:
    """A page of headless Chromium (1440x1300) in a fresh JupyterLab on ``root`` with ``notebook``
    open, every cell rendered, after Run All: ``ran(page)`` waits for the notebook's last output,
    then for the idle kernel. The browser and the server stop on exit."""
    from playwright.sync_api import sync_playwright

    render_every_cell(work)
    server = LabServer(root, work, env={"FORMCHECK_SHARED": str(shared)})
    server.start()
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_context(viewport={"width": 1440, "height": 1300}).new_page()
            page.set_default_timeout(30_000)
            try:
                page.goto(server.lab_url(notebook))
                page.get_by_text("| Idle").wait_for(timeout=timeout_ms)
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_text("Run All Cells", exact=True).click()
                ran(page)
                page.get_by_text("| Idle").wait_for(timeout=timeout_ms)
                yield page
            finally:
                browser.close()
    finally:
        server.stop()


def stderr_errors(page) -> list[str]:
    """Texts of the page's stderr outputs that hold a traceback or an error."""
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    return [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]


# --------------------------------------------------------------------------------------------
# Driving the frame explorer (formcheck_core.widgets.FrameExplorer) in the page

#: JavaScript: what the first explorer shows now.
STATE_JS = """() => {
  const ex = document.querySelector('.formcheck-explorer');
  if (!ex) return null;
  const st = ex.querySelector('.fc-state');
  const handle = ex.querySelector('.fc-slider .noUi-handle');
  const values = {};
  if (st) for (const td of st.querySelectorAll('td[data-value]')) values[td.className.replace('fc-v-', '')] = parseFloat(td.dataset.value);
  const img = ex.querySelector('img.fc-frame'), curves = ex.querySelector('img.fc-curves');
  return {
    sample: st ? parseInt(st.dataset.sample) : null, frame: st ? parseInt(st.dataset.frame) : null,
    time: st ? parseFloat(st.dataset.time) : null, mode: st ? st.dataset.mode : null, values,
    slider: handle ? Math.round(parseFloat(handle.getAttribute('aria-valuenow'))) : null,
    img: img ? img.src : null, imgLoaded: !!(img && img.complete && img.naturalWidth > 0),
    curves: curves ? curves.src : null, curvesLoaded: !!(curves && curves.complete && curves.naturalWidth > 0),
    playing: !!ex.querySelector('.fc-play .fa-pause'),
  };
}"""

#: JavaScript: the bytes of an <img> (blob URL) as base64.
IMAGE_B64_JS = """async (sel) => {
  const img = document.querySelector(sel);
  const buf = await (await fetch(img.src)).arrayBuffer();
  let s = ''; const b = new Uint8Array(buf);
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s);
}"""

#: JavaScript predicate: the explorer shows ``sample`` with both pictures replaced since ``old``.
SHOWN_JS = """([sample, oldImg, oldCurves]) => {
  const ex = document.querySelector('.formcheck-explorer');
  const st = ex && ex.querySelector('.fc-state');
  const img = ex && ex.querySelector('img.fc-frame'), curves = ex && ex.querySelector('img.fc-curves');
  return !!(st && parseInt(st.dataset.sample) === sample && img && img.src !== oldImg && img.complete
            && img.naturalWidth > 0 && curves && curves.src !== oldCurves && curves.complete && curves.naturalWidth > 0);
}"""


def explorer_state(page) -> dict:
    """What the first explorer in the page shows now (see :data:`STATE_JS`)."""
    return page.evaluate(STATE_JS)


def wait_shown(page, sample: int, old: dict, timeout_ms: float = 30_000) -> dict:
    """Wait until the first explorer shows ``sample`` with both pictures replaced since ``old``."""
    page.wait_for_function(SHOWN_JS, arg=[sample, old["img"], old["curves"]], timeout=timeout_ms)
    return explorer_state(page)


def open_and_run_all(page, server: LabServer, notebook: str, timeout_ms: float) -> float:
    """Open ``notebook``, wait for the idle kernel, Run All; seconds from Run All until the first
    explorer's frame picture and read-out are displayed (the explorer is interactive)."""
    page.goto(server.lab_url(notebook))
    page.get_by_text("| Idle").wait_for(timeout=timeout_ms)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    item = page.get_by_text("Run All Cells", exact=True)
    item.wait_for()
    t0 = time.perf_counter()
    item.click()
    page.wait_for_function(
        "() => { const ex = document.querySelector('.formcheck-explorer');"
        " const img = ex && ex.querySelector('img.fc-frame'); const st = ex && ex.querySelector('.fc-state');"
        " return !!(img && img.complete && img.naturalWidth > 0 && st); }",
        timeout=timeout_ms,
    )
    return time.perf_counter() - t0


def key_latencies_ms(page, n_samples: int, presses: int = 12, timeout_ms: float = 30_000) -> list[float]:
    """Press an arrow key on the first explorer's slider ``presses`` times; for each, milliseconds
    until the read-out, the frame and the curves all show the new sample."""
    page.locator(".formcheck-explorer >> nth=0").locator(".fc-slider .noUi-handle").focus()
    out = []
    for _ in range(presses):
        before = explorer_state(page)
        forward = before["sample"] < n_samples - 1
        t0 = time.perf_counter()
        page.keyboard.press("ArrowRight" if forward else "ArrowLeft")
        wait_shown(page, before["sample"] + (1 if forward else -1), before, timeout_ms)
        out.append(1000 * (time.perf_counter() - t0))
    return out
