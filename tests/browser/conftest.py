"""Fixtures for real-browser tests: a Streamlit server + Debian chromium via Playwright.

Fixtures
--------
app_server       (session) base URL of a running ``streamlit run app.py``, e.g. "http://127.0.0.1:40123"
app_server_proc  (session) the server's ``subprocess.Popen`` (``.pid`` for memory readings,
                 see ``helpers.rss_mb``); ``.log_path`` is the server's stdout+stderr log
browser          (session) Playwright ``Browser`` running Debian chromium
shared_context   (session) one browser context (viewport 1400x1000) for the ``page`` fixture
page             (function) a new page (a new Streamlit session) in ``shared_context``; ``page.console_errors``
                 collects console errors and uncaught page errors; ``page.script_runs`` counts
                 finished script runs (see helpers.RunTracker); screenshot on failure
console_errors   (function) the same list as ``page.console_errors``

Environment
-----------
LMMVIZ_APP              script to serve (default: <repo root>/app.py)
LMMVIZ_CHROMIUM         chromium executable (default: /usr/bin/chromium, /usr/bin/chromium-browser, $PATH)
LMMVIZ_SERVER_TIMEOUT   seconds to wait for /_stcore/health (default 60)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
ARTIFACTS_DIR = HERE / "artifacts"

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from helpers import RunTracker, safe_name  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, chromium tries to reach Google services and, on the
    # closed network, connections get refused.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Small /dev/shm in containers otherwise crashes the renderer.
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 1000}
# Health checks go straight to 127.0.0.1, even if http_proxy is set.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError as exc:
        return f"<could not read {path}: {exc}>"


def _stop_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def find_chromium() -> str | None:
    env = os.environ.get("LMMVIZ_CHROMIUM")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    for cand in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


# --------------------------------------------------------------------------- hooks


def pytest_collection_modifyitems(config, items):
    # Everything under tests/browser gets the `browser` marker (registered in pyproject.toml),
    # so `pytest -m "not browser"` skips the slow real-browser tests.
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def _streamlit_server():
    app = Path(os.environ.get("LMMVIZ_APP") or REPO_ROOT / "app.py").resolve()
    if not app.is_file():
        pytest.fail(f"Streamlit app not found: {app} (set LMMVIZ_APP to override)", pytrace=False)
    timeout = float(os.environ.get("LMMVIZ_SERVER_TIMEOUT", "60"))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # Others edit the source while tests run: no file watcher, no
        # "File change. Rerun?" prompts, no surprise reruns.
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
    ]
    # LMMVIZ_LOG_LEVEL=INFO: the log says which tabs a run rendered (test_a11y reads it).
    env = dict(os.environ, PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
               LMMVIZ_LOG_LEVEL="INFO")
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS_DIR / f"streamlit-server-{_worker_id()}.log"
    log = open(log_path, "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    proc.log_path = log_path
    proc.base_url = base_url
    try:
        deadline = t0 + timeout
        last_err = None
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"Streamlit server exited with code {proc.returncode} before becoming healthy.\n"
                    f"command: {' '.join(cmd)}\n--- server output ({log_path}) ---\n{_tail(log_path)}",
                    pytrace=False,
                )
            try:
                with _NO_PROXY.open(base_url + "/_stcore/health", timeout=2) as resp:
                    if resp.read().decode().strip() == "ok":
                        break
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last_err = exc
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Streamlit server not healthy after {timeout:g} s at {base_url}/_stcore/health "
                    f"(last error: {last_err}).\n--- server output ({log_path}) ---\n{_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.1)
        proc.startup_seconds = time.monotonic() - t0
        yield proc
    finally:
        _stop_process_group(proc)
        log.close()


@pytest.fixture(scope="session")
def app_server(_streamlit_server) -> str:
    """Base URL of the running Streamlit app (no trailing slash)."""
    return _streamlit_server.base_url


@pytest.fixture(scope="session")
def app_server_proc(_streamlit_server) -> subprocess.Popen:
    """The Streamlit server process (``.pid``, ``.log_path``, ``.startup_seconds``)."""
    return _streamlit_server


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.fail(
            "No chromium executable found for the browser tests "
            f"(LMMVIZ_CHROMIUM={os.environ.get('LMMVIZ_CHROMIUM')!r}; looked for /usr/bin/chromium, "
            "/usr/bin/chromium-browser and `chromium` on PATH). "
            "Install it with: apt-get install -y --no-install-recommends chromium fonts-dejavu-core",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover
        pytest.fail(f"playwright is not installed: {exc}", pytrace=False)
    pw = sync_playwright().start()
    try:
        try:
            b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:
            pytest.fail(f"Could not launch chromium at {chromium_path}: {exc}", pytrace=False)
        yield b
        b.close()
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def shared_context(browser):
    """One browser context for the ``page`` fixture's pages: its HTTP cache keeps
    Streamlit's JavaScript (about 150 files), which makes each page load ~20% faster.
    Every page is still its own Streamlit session (its own websocket); tests that need a
    context of their own (a share link opened "fresh") make one with browser.new_context."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def page(shared_context, request):
    context = shared_context
    pg = context.new_page()
    pg.script_runs = RunTracker().attach(pg)
    errors: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc.get("url") else ""
            errors.append(f"console.error: {msg.text}{where}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.console_errors = errors
    yield pg

    failed = any(
        getattr(request.node, "rep_" + when, None) is not None and getattr(request.node, "rep_" + when).failed
        for when in ("setup", "call")
    )
    if failed:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        name = safe_name(request.node.name)
        try:
            pg.screenshot(path=str(ARTIFACTS_DIR / f"{name}.png"), full_page=True)
        except Exception as exc:  # never mask the real failure
            print(f"[browser conftest] failure screenshot failed: {exc}", file=sys.stderr)
        if errors:
            (ARTIFACTS_DIR / f"{name}.console.txt").write_text("\n".join(errors) + "\n")
    pg.close()
    context.clear_permissions()


@pytest.fixture
def console_errors(page) -> list[str]:
    """Console errors and uncaught page errors seen so far on ``page`` (live list)."""
    return page.console_errors
