"""Load test: one ``streamlit run app.py`` server, the same share link opened in N
simultaneous real browser sessions (Playwright driving Debian's chromium), only on
127.0.0.1, bounded in sessions and time (issue 14).

    python -m benchmarks.load                  # N = 10, 30 on three links (~4 min)
    python -m benchmarks.load --big            # also N = 100
    python -m benchmarks.load --sessions 10 --links seed --timeout 60

Each row of the table is one fresh server: first one session opens the link alone
(``cold``: the fits are computed), then N sessions open it at the same moment (the link
"already opened by someone else": the server's caches hold its fits). Per row:

- first chart: seconds from the navigation's start to the first
  ``[data-testid="stVegaLiteChart"]`` holding an svg or canvas (median, p95, max over N);
- CPU/session: the server's user+system CPU seconds (/proc/<pid>/stat, with its
  children) from the N navigations to the last page's first chart plus a settle, / N;
- peak RSS: the server's highest resident memory during the row (VmHWM, /proc);
- errors: ``stException`` elements, console errors and page errors, sessions without a
  chart by the timeout.

The browser runs on the same machine and competes with the server for its cores, so the
times are pessimistic for a server with its own machine; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LMMVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1400, "height": 1000}
# The links measured: the seed example (the app's first screen), ~1,000 simulated rows
# (50 subjects x 20 observations), and the seed example's Landscape tab.
LINKS = {
    "seed": {},
    "sim1000": {"src": "sim", "n": "50", "m": "20", "seed": "7"},
    "landscape": {"tab": "landscape"},
}
MAX_SESSIONS = 200  # hard bound, whatever the flags say
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Injected into every page before its scripts: notes the wall-clock time (ms since the
# epoch) at which the first chart with an svg or canvas appears.
FIRST_CHART_JS = """
(() => {
  const sel = '[data-testid="stVegaLiteChart"] svg, [data-testid="stVegaLiteChart"] canvas';
  const check = () => {
    if (window.__lmmFirstChart === undefined && document.querySelector(sel)) {
      window.__lmmFirstChart = performance.timeOrigin + performance.now();
    }
  };
  const start = () => {
    check();
    new MutationObserver(check).observe(document.documentElement, {childList: true, subtree: true});
  };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""


# --------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` on 127.0.0.1 with the browser tests' flags, in its own
    process group (stopped by its id)."""

    def __init__(self, timeout: float = 60.0):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="lmmviz-load-", suffix=".log", delete=False)
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
        env = dict(os.environ, PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)  # also when the run is interrupted
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server not healthy at {self.url}/_stcore/health; log: {self.log.name}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            with _NO_PROXY.open(self.url + "/_stcore/health", timeout=2) as resp:
                return resp.read().decode().strip() == "ok"
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime

    def memory_mb(self, key: str = "VmHWM") -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


# --------------------------------------------------------------------------- sessions


@dataclass
class Session:
    page: object
    t0: float = 0.0
    first_chart: float | None = None  # seconds
    errors: list = field(default_factory=list)


async def _open(context, url: str) -> Session:
    page = await context.new_page()
    s = Session(page)
    page.on("console", lambda m: s.errors.append(f"console: {m.text[:120]}") if m.type == "error" else None)
    page.on("pageerror", lambda e: s.errors.append(f"pageerror: {str(e)[:120]}"))
    return s


async def _first_chart(s: Session, url: str, timeout: float) -> None:
    s.t0 = time.time()
    try:
        await s.page.goto(url, wait_until="commit", timeout=timeout * 1000)
        await s.page.wait_for_function("window.__lmmFirstChart !== undefined", timeout=timeout * 1000,
                                       polling=100)
        s.first_chart = await s.page.evaluate("window.__lmmFirstChart") / 1000 - s.t0
    except Exception as exc:  # a timeout or a crashed page: counted as an error
        s.errors.append(f"no chart: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")


async def _exceptions(s: Session) -> int:
    try:
        return await s.page.locator('[data-testid="stException"]').count()
    except Exception:
        return 0


async def _warm(ctx, url: str, timeout: float) -> None:
    """One page on ``url`` in ``ctx`` until its first chart, then closed: the context's HTTP
    cache then holds Streamlit's static files (content-hashed, "immutable")."""
    s = await _open(ctx, url)
    await _first_chart(s, url, timeout)
    await s.page.close()


async def make_contexts(browser, url: str, n: int, per_context: int, warm_cache: bool, timeout: float) -> list:
    """Browser contexts for ``n`` pages, ``per_context`` pages each; with ``warm_cache`` each
    first loads the page once (its HTTP cache then holds the static files, as behind a
    caching proxy or for a returning browser)."""
    contexts = []
    for _ in range(0, n, per_context):
        ctx = await browser.new_context(viewport=VIEWPORT)
        await ctx.add_init_script(FIRST_CHART_JS)
        if warm_cache:
            await _warm(ctx, url, timeout)
        contexts.append(ctx)
    return contexts


async def run_sessions(contexts: list, url: str, n: int, timeout: float, per_context: int) -> list[Session]:
    """Open ``url`` in ``n`` pages at once, ``per_context`` to a context; closes the contexts."""
    sessions = [await _open(contexts[i // per_context], url) for i in range(n)]
    await asyncio.gather(*(_first_chart(s, url, timeout) for s in sessions))
    await asyncio.sleep(1.0)  # let the runs finish after their first chart
    for s in sessions:
        k = await _exceptions(s)
        if k:
            s.errors.append(f"{k} stException")
    for ctx in contexts:
        await ctx.close()
    return sessions


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))]  # nearest rank


async def measure(browser, link: str, n: int, timeout: float, per_context: int, warm_cache: bool) -> dict:
    server = Server()
    try:
        url = f"{server.url}/?{urlencode(LINKS[link])}"
        cold = await run_sessions(await make_contexts(browser, url, 1, 1, False, timeout), url, 1, timeout, 1)
        contexts = await make_contexts(browser, url, n, per_context, warm_cache, timeout)
        cpu0, load0 = server.cpu_seconds(), os.getloadavg()[0]
        sessions = await run_sessions(contexts, url, n, timeout, per_context)
        cpu = server.cpu_seconds() - cpu0
        times = [s.first_chart for s in sessions if s.first_chart is not None]
        errors = [e for s in sessions for e in s.errors]
        return {
            "link": link + (" (warm cache)" if warm_cache else ""), "n": n, "cold": cold[0].first_chart, "ok": len(times),
            "median": statistics.median(times) if times else float("nan"),
            "p95": _pct(times, 0.95) if times else float("nan"), "max": max(times, default=float("nan")),
            "cpu_per_session": cpu / n, "peak_rss_mb": server.memory_mb("VmHWM"),
            "errors": len(errors), "error_kinds": sorted(set(e.split(":")[0] for e in errors)),
            "first_errors": list(dict.fromkeys(e[:100] for e in errors))[:5],  # distinct kinds
            "load": (load0, os.getloadavg()[0]),
        }
    finally:
        server.stop()


def _row(r: dict) -> str:
    cold = f"{r['cold']:.1f}" if r["cold"] is not None else "—"
    return (f"| {r['link']} | {r['n']} | {r['ok']} | {cold} | {r['median']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
            f"{r['cpu_per_session']:.2f} | {r['peak_rss_mb']:.0f} | {r['errors']}"
            f"{' (' + ', '.join(r['error_kinds']) + ')' if r['errors'] else ''} | "
            f"{r['load'][0]:.1f}→{r['load'][1]:.1f} |")


HEADER = ("| link | N | charts | cold first chart (s) | first chart median (s) | p95 (s) | max (s) | "
          "server CPU / session (s) | server peak RSS (MB) | errors | load avg (1 min) before→after |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")


async def main_async(args) -> list[dict]:
    from playwright.async_api import async_playwright

    results = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        print(HEADER, flush=True)
        for link in args.links:
            for n in args.sessions:
                r = await measure(browser, link, min(n, MAX_SESSIONS), args.timeout, args.per_context,
                                  args.warm_cache)
                results.append(r)
                print(_row(r), flush=True)
                for e in r["first_errors"]:
                    print(f"    e.g. {e}", file=sys.stderr)
        await browser.close()
    return results


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, nargs="+", default=[10, 30], help="N values (default 10 30)")
    p.add_argument("--big", action="store_true", help="add N = 100")
    p.add_argument("--links", nargs="+", choices=sorted(LINKS), default=list(LINKS))
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a session may take to its first chart")
    p.add_argument("--per-context", type=int, default=10, help="pages per browser context (shared HTTP cache)")
    p.add_argument("--warm-cache", action="store_true",
                   help="each browser context loads the page once first: static files come from its "
                        "HTTP cache (as behind the caching proxy of deploy/nginx.conf)")
    args = p.parse_args(argv)
    if args.big and 100 not in args.sessions:
        args.sessions.append(100)
    return args


def main(argv=None) -> None:
    args = parse(argv)
    t0 = time.monotonic()
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores ({cpu}), "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    asyncio.run(main_async(args))
    print(f"# total {time.monotonic() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
