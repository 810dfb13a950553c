"""The explorer in a real JupyterLab page, driven by headless Chromium through Playwright.

Starts JupyterLab on 127.0.0.1 (random free port, token) with the `tiny` preset, runs the
notebook, moves alpha with the keyboard, presses Run and checks that the page updates: the
readouts (text the kernel sends) and the loss / robustness canvases (pixels ipympl sends).
Uses the system Chromium; never downloads a browser.
"""
import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)
for mod in ("jupyterlab", "playwright", "ipympl"):
    if importlib.util.find_spec(mod) is None:
        pytest.skip(f"{mod} is not installed (pip install -e '.[lab,test]')", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on the repo; yields its base URL and token; killed afterwards."""
    tmp = tmp_path_factory.mktemp("lab")
    # serve a copy: JupyterLab autosaves, and outputs must never land in the repo's notebook
    (tmp / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_explorer.ipynb", tmp / "notebooks")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "DSSL_EXPLORER_PRESET": "tiny", "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp}",
           f"--LabApp.workspaces_dir={tmp / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.port_retries=0", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
        cmd.append("--allow-root")
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (tmp / "lab.log").read_text()[-2000:]
                assert time.monotonic() < end, "JupyterLab did not start in 60 s"
                time.sleep(0.5)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(f"{url}/lab/tree/notebooks/00_explorer.ipynb?token={token}")
        pg.wait_for_function("window.jupyterapp && document.querySelector('.jp-NotebookPanel')",
                             timeout=60_000)
        # wait for the kernel, then run every cell through JupyterLab's own command
        pg.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
            return w && w.sessionContext && w.sessionContext.session &&
                   w.sessionContext.session.kernel &&
                   w.sessionContext.session.kernel.status === 'idle'; }""", timeout=90_000)
        pg.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        pg.locator(".dssl-explorer .dssl-readout").wait_for(timeout=120_000)
        news = pg.locator(".jp-Notification-Toast-Close, .Toastify__close-button")
        for i in range(news.count()):  # "get notified about Jupyter news?" would cover the widgets
            news.nth(i).click()
        yield pg
        browser.close()


def text(pg, css: str) -> str:
    return pg.locator(f".dssl-explorer {css}").first.inner_text()


def test_explorer_runs_in_jupyterlab(page, tmp_path):
    pg = page
    explorer = pg.locator(".dssl-explorer")
    readout0 = text(pg, ".dssl-readout")
    assert "alpha 0.1" in readout0 and "4 clients" in readout0

    # alpha: focus the slider handle and step it down with the keyboard (released = one change)
    handle = explorer.locator(".widget-hslider", has_text="alpha").locator(".noUi-handle")
    handle.focus()
    for _ in range(5):
        pg.keyboard.press("ArrowLeft")
    pg.wait_for_function("""t0 => { const e = document.querySelector('.dssl-explorer .dssl-readout');
        return e && e.innerText !== t0; }""", arg=readout0, timeout=30_000)
    readout1 = text(pg, ".dssl-readout")
    assert "alpha 0.1" not in readout1, readout1

    canvases = explorer.locator(".jupyter-matplotlib-canvas-div")  # one per ipympl figure
    assert canvases.count() >= 4, "ipympl canvases did not render"
    before = [canvases.nth(i).screenshot() for i in (2, 3)]  # loss, robustness

    t0 = time.monotonic()
    explorer.locator("button.dssl-run").click()
    pg.wait_for_function("""() => { const e = document.querySelector('.dssl-explorer .dssl-status');
        return e && e.innerText.includes('1 run(s) finished'); }""", timeout=90_000)
    took = time.monotonic() - t0
    status = text(pg, ".dssl-status")
    assert "robustness" in status
    time.sleep(1.5)  # let ipympl fetch the last frames
    after = [canvases.nth(i).screenshot() for i in (2, 3)]
    assert after[0] != before[0], "loss curves did not change in the page"
    assert after[1] != before[1], "robustness chart did not change in the page"

    shot = tmp_path / "explorer.png"
    pg.set_viewport_size({"width": 1400, "height": 1900})  # the whole explorer in one picture
    time.sleep(1.0)
    explorer.evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.5)
    pg.screenshot(path=str(shot))
    pg.set_viewport_size({"width": 1400, "height": 1000})
    assert shot.stat().st_size > 10_000
    if os.environ.get("DSSL_UPDATE_SCREENSHOT"):  # refresh the docs picture only when asked
        shutil.copy(shot, ROOT / "docs" / "explorer.png")
    print(f"run to first result in the page: {took:.1f} s; {status}")


def test_narrow_page_keeps_controls_visible(page):
    pg = page
    pg.set_viewport_size({"width": 700, "height": 1000})
    pg.locator(".dssl-explorer").wait_for(timeout=30_000)
    time.sleep(1.0)  # let JupyterLab re-layout
    explorer = pg.locator(".dssl-explorer")
    for name in ("alpha", "topology", "degree", "objective", "clients", "rounds", "seed"):
        ctl = explorer.locator(".widget-inline-hbox", has_text=name).first
        ctl.scroll_into_view_if_needed()
        assert ctl.is_visible(), name
    run = explorer.locator("button.dssl-run")
    run.scroll_into_view_if_needed()
    assert run.is_visible()
    overflow = explorer.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 1, f"explorer overflows horizontally by {overflow}px at 700 px"
    box = explorer.bounding_box()
    assert box["x"] + box["width"] <= 700 + 1, box
