"""Helpers for the real-browser (Playwright + Debian chromium) tests.

Import from tests as ``from helpers import wait_for_idle, shot`` (the browser
conftest puts this directory on ``sys.path``).

How "idle" is detected (checked against the streamlit 1.67 frontend bundle):

* The app root ``[data-testid="stApp"]`` carries two attributes that mirror the
  frontend state exactly:
  - ``data-test-script-state``: ``initial`` (before the first run started),
    ``running``, ``rerunRequested``, ``stopRequested``, ``notRunning``,
    ``compilationError``;
  - ``data-test-connection-state``: ``INITIAL``, ``PINGING_SERVER``,
    ``CONNECTING``, ``CONNECTED``, ``DISCONNECTED_FOREVER``, ...
* The "Running..." status widget (``[data-testid="stStatusWidget"]`` with the
  ``[data-testid="stStatusWidgetRunningIcon"]`` inside) is only shown after a
  run has lasted 500 ms, so it alone cannot detect short runs. It is still
  checked, as a second signal.
* Element components are loaded lazily: in a fresh page, an element whose code
  has not arrived yet is a ``[data-testid="stSkeleton"]`` placeholder for up to a
  second *after* the run has finished. Idle also means: no skeletons left.
* After a click there is a gap of ~50-100 ms before the state becomes
  ``running``; the settle window (idle must hold for ``settle_ms``) covers it.
  For an exact wait, use ``click_and_wait`` / ``run_count``: the ``page``
  fixture attaches a :class:`RunTracker` (``page.script_runs``) that counts
  ``script_finished`` messages on Streamlit's websocket.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

APP_SELECTOR = '[data-testid="stApp"]'
STATUS_WIDGET_SELECTOR = '[data-testid="stStatusWidget"]'
RUNNING_ICON_SELECTOR = '[data-testid="stStatusWidgetRunningIcon"]'
EXCEPTION_SELECTOR = '[data-testid="stException"]'

IDLE_SCRIPT_STATES = ("notRunning", "compilationError")


class RunTracker:
    """Counts script runs by decoding Streamlit's websocket ForwardMsgs.

    The DOM alone cannot reliably show a fast rerun: ``running`` ->
    ``notRunning`` can happen within one React batch (~30 ms runs), so the
    ``running`` state never reaches the DOM. The server, however, always sends
    a ``new_session`` message when a run starts and ``script_finished`` when it
    ends. Counters update whenever Playwright processes events (any page call,
    e.g. inside :func:`wait_for_idle`).
    """

    def __init__(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg_cls = ForwardMsg
        self.started = 0
        self.finished = 0
        self.finish_statuses: list[int] = []

    def attach(self, page) -> "RunTracker":
        page.on("websocket", self._on_websocket)
        return self

    def _on_websocket(self, ws) -> None:
        if ws.url.endswith("/_stcore/stream"):
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = self._msg_cls()
        try:
            msg.ParseFromString(payload)
        except Exception:  # not a ForwardMsg; ignore
            return
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            self.finished += 1
            self.finish_statuses.append(msg.script_finished)


_STATE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const visible = (el) => !!el && el.getClientRects().length > 0 &&
      getComputedStyle(el).visibility !== 'hidden';
  const widget = document.querySelector('[data-testid="stStatusWidget"]');
  const running = document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
  // Element components are loaded lazily (code splitting): until its chunk has
  // arrived, an element is drawn as a skeleton, after the script run has finished.
  const skeletons = app ? app.querySelectorAll('[data-testid="stSkeleton"]').length : 0;
  return {
    app: !!app,
    skeletons: skeletons,
    script: app ? app.getAttribute('data-test-script-state') : null,
    connection: app ? app.getAttribute('data-test-connection-state') : null,
    statusWidget: visible(widget),
    statusText: widget ? widget.innerText.trim() : '',
    runningIcon: visible(running),
  };
}
"""


def app_state(page) -> dict:
    """Snapshot of the frontend state used by :func:`wait_for_idle`."""
    return page.evaluate(_STATE_JS)


def _is_idle(state: dict) -> bool:
    return (
        state["app"]
        and state["connection"] == "CONNECTED"
        and state["script"] in IDLE_SCRIPT_STATES
        and not state["runningIcon"]
        and not state.get("skeletons")
        # A visible status widget with anything but a "File change" prompt
        # (only shown if the source changes on disk) means busy/disconnected.
        and (not state["statusWidget"] or state["statusText"].startswith("File change"))
    )


def run_count(page) -> int:
    """Number of script runs that have finished on this page (needs the ``page`` fixture's tracker)."""
    tracker = getattr(page, "script_runs", None)
    if tracker is None:
        raise RuntimeError("page.script_runs missing: use the browser conftest's `page` fixture")
    page.evaluate("() => 0")  # let Playwright dispatch pending websocket events
    return tracker.finished


def wait_for_idle(page, timeout: float = 30000, settle_ms: float = 300, after_run: int | None = None) -> dict:
    """Wait until the Streamlit app has finished running.

    ``timeout`` is in milliseconds (Playwright convention). Idle means: the
    ``stApp`` root exists, is CONNECTED, its script state is ``notRunning``
    (or ``compilationError``), no "Running..." status widget is visible and no
    element is still a skeleton (its lazily loaded code not arrived yet);
    this must hold continuously for ``settle_ms``. If ``after_run`` is given
    (a value of :func:`run_count` taken before an action), also wait until a
    run has finished after it (uses ``page.script_runs``). Returns the final state; raises
    ``TimeoutError`` with the last seen state otherwise.
    """
    page.wait_for_selector(APP_SELECTOR, state="attached", timeout=timeout)
    deadline = time.monotonic() + timeout / 1000.0
    idle_since = None
    state: dict = {}
    while True:
        state = app_state(page)
        ok = _is_idle(state)
        if ok and after_run is not None:
            ok = page.script_runs.finished > after_run
        now = time.monotonic()
        if ok:
            if idle_since is None:
                idle_since = now
            if (now - idle_since) * 1000.0 >= settle_ms:
                return state
        else:
            idle_since = None
        if now > deadline:
            raise TimeoutError(f"Streamlit app not idle after {timeout:.0f} ms; last state: {state}")
        time.sleep(0.05)


def goto_app(page, url: str, timeout: float = 60000) -> dict:
    """Navigate to ``url`` and wait for the first script run to finish."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    return wait_for_idle(page, timeout=timeout)


def click_and_wait(page, locator, timeout: float = 30000) -> dict:
    """Click ``locator`` (which must trigger a rerun) and wait for that rerun to finish."""
    before = run_count(page)
    locator.click(timeout=timeout)
    return wait_for_idle(page, timeout=timeout, after_run=before)


def exception_texts(page) -> list[str]:
    """Texts of Python exceptions Streamlit rendered on the page (``st.exception`` boxes)."""
    return [t.strip() for t in page.locator(EXCEPTION_SELECTOR).all_inner_texts()]


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "unnamed"


def shot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot to tests/browser/artifacts/<name>.png and return its path."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def rss_mb(pid: int, include_children: bool = True) -> float:
    """Resident memory (MiB) of process ``pid`` (plus its children), from /proc."""

    def one(p: int) -> int:
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])  # kB
        except (FileNotFoundError, ProcessLookupError):
            pass
        return 0

    total = one(pid)
    if include_children:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                for child in fh.read().split():
                    total += one(int(child))
        except FileNotFoundError:
            pass
    return total / 1024.0
