"""Many users at once: one server, 12 simultaneous browser sessions (each in its own
browser context), each with its own data and settings from its link. Every session must
show its own numbers (checked against the engine), before and after all of them change
a control at the same moment, and nothing may leak from one session to another.

The server's peak memory (RSS, polled every 50 ms) and the time per page under that
load are printed and written to tests/browser/artifacts/load.json.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from urllib.parse import urlencode

import app_ui as ui
from helpers import ARTIFACTS_DIR, rss_mb, run_count, shot, wait_for_idle
import lmmviz

N_USERS = 12


def users() -> list[dict]:
    """Each user: different simulated data (subjects, observations, seed) and settings."""
    out = []
    for i in range(N_USERS):
        settings = lmmviz.SimulationSettings(n_subjects=3 + i, n_obs=4 + i % 3, seed=1000 + i,
                                             slope_sd=0.5 + 0.25 * (i % 4))
        params = {"src": "sim"}
        params.update({k: ui_num(getattr(settings, name)) for k, name in SIM_FIELDS})
        models, reml, opt = ("intercept", "slope"), True, "robust"
        if i % 4 == 1:
            params["ml"], reml = "1", False
        elif i % 4 == 2:
            models = ("intercept", "slope", "within_between")
            params["models"] = "pooled,per_group,intercept,slope,within_between"
        elif i % 4 == 3:
            params["opt"], opt = "nlopt_bobyqa", "nlopt_bobyqa"
        out.append({"i": i, "settings": settings, "params": params, "models": models, "reml": reml, "opt": opt,
                    "key": ui.sim_key(settings)})
    return out


SIM_FIELDS = [("n", "n_subjects"), ("m", "n_obs"), ("sp", "dose_spacing"), ("rg", "dose_range"),
              ("cf", "confounding"), ("sl", "slope"), ("ssd", "slope_sd"), ("sig", "sigma"), ("b0", "intercept"),
              ("bsd", "baseline_sd"), ("seed", "seed")]


def ui_num(v) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


class RssSampler(threading.Thread):
    """Polls the server's resident memory (with its children) every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(rss_mb(self.pid))
            self._halt.wait(self.interval)

    def stop(self) -> list[float]:
        self._halt.set()
        self.join(5)
        return self.samples


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its children so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # fields[11..14]: utime, stime, cutime, cstime (after the command name)
    return sum(int(x) for x in fields[11:15]) / ticks


def server_ms(page) -> float:
    """The server time of the page's last run, from the sidebar footer."""
    text = page.locator(ui.SIDEBAR).get_by_text("Server time for this run").inner_text()
    return ui.number_after(text, "Server time for this run:")


def expected(u: dict, models=None) -> dict:
    return ui.expected_metrics(u["key"], models or u["models"], reml=u["reml"], optimizer=u["opt"])


def test_many_users_at_once(browser, app_server, app_server_proc):
    us = users()
    # Every session's data really differ (so a leak would show in the numbers).
    assert len({json.dumps(expected(u), sort_keys=True) for u in us}) == N_USERS
    urls = [f"{app_server}/?{urlencode(u['params'])}" for u in us]
    rss_before = rss_mb(app_server_proc.pid)
    sampler = RssSampler(app_server_proc.pid)
    sampler.start()
    cpu0 = cpu_seconds(app_server_proc.pid)
    t0 = time.monotonic()
    items = ui.open_concurrently(browser, urls, timeout=240)
    all_loaded = time.monotonic() - t0
    cpu_load = cpu_seconds(app_server_proc.pid) - cpu0
    try:
        load_seconds = [it["seconds"] for it in items]
        load_server_ms = [server_ms(it["page"]) for it in items]
        # 1. Each session shows its own numbers, and its own link.
        for u, it in zip(us, items):
            p = it["page"]
            assert ui.metrics(p) == expected(u), (u["i"], ui.metrics(p), expected(u))
            got = {k: v[-1] for k, v in ui.query(p).items()}
            assert got == u["params"], (u["i"], got, u["params"])
            for m in u["models"]:
                ft = ui.engine_fit(u["key"], m, u["reml"], u["opt"])
                crit = f"{'REML' if u['reml'] else '−2 logLik'} {ft.criterion:.1f}"
                assert any(c.startswith(crit) or c.endswith(crit) for c in ui.metric_captions(p)), (u["i"], m)
        shot(items[0]["page"], "many_users_session_0")
        # 2. All of them tick "Uncorrelated random slope" at the same moment: new fits for
        #    everyone, under load; each gets its own.
        before = []
        cpu1 = cpu_seconds(app_server_proc.pid)
        t1 = time.monotonic()
        for it in items:
            p = it["page"]
            before.append(run_count(p))
            cb = p.locator(ui.SIDEBAR).get_by_role("checkbox", name="Uncorrelated random slope", exact=True)
            cb.locator("xpath=ancestor::label[1]").click()
        action_seconds = []
        for it, b in zip(items, before):
            wait_for_idle(it["page"], timeout=240000, after_run=b, settle_ms=150)
            action_seconds.append(time.monotonic() - t1)
        all_acted = time.monotonic() - t1
        cpu_action = cpu_seconds(app_server_proc.pid) - cpu1
        action_server_ms = [server_ms(it["page"]) for it in items]
        for u, it in zip(us, items):
            p = it["page"]
            models = tuple(m for m in ("intercept", "slope", "uncorrelated", "within_between")
                           if m in u["models"] or m == "uncorrelated")
            assert ui.metrics(p) == expected(u, models), (u["i"], ui.metrics(p))
            got = {k: v[-1] for k, v in ui.query(p).items()}
            assert got.get("seed") == u["params"]["seed"] and got.get("n") == u["params"]["n"], (u["i"], got)
            assert "uncorrelated" in got["models"]
            assert ui.notices(p) == ""
            ui.assert_clean(p)
            assert p.dialogs == []
    finally:
        samples = sampler.stop()
        ui.close_all(items)
    rss_after = rss_mb(app_server_proc.pid)
    figures = {
        "sessions": N_USERS,
        "server_rss_mb": {"before": round(rss_before, 1), "peak": round(max(samples + [rss_before]), 1),
                          "after_closing": round(rss_after, 1), "samples": len(samples)},
        "page_load_seconds": {"min": round(min(load_seconds), 2), "median": round(statistics.median(load_seconds), 2),
                              "max": round(max(load_seconds), 2), "all_loaded": round(all_loaded, 2),
                              "per_page_sequential_equivalent": round(all_loaded / N_USERS, 2)},
        "page_load_server_ms": {"min": round(min(load_server_ms)), "median": round(statistics.median(load_server_ms)),
                                "max": round(max(load_server_ms))},
        "page_load_server_cpu_seconds": {"total": round(cpu_load, 2), "per_page": round(cpu_load / N_USERS, 3)},
        "control_change_seconds": {"min": round(min(action_seconds), 2),
                                   "median": round(statistics.median(action_seconds), 2),
                                   "max": round(max(action_seconds), 2), "all_done": round(all_acted, 2)},
        "control_change_server_ms": {"min": round(min(action_server_ms)),
                                     "median": round(statistics.median(action_server_ms)),
                                     "max": round(max(action_server_ms))},
        "control_change_server_cpu_seconds": {"total": round(cpu_action, 2),
                                              "per_page": round(cpu_action / N_USERS, 3)},
        "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)},
        "what": "each session: a new simulated data set (3..14 subjects, 4..6 observations, own seed), "
                "first load fits 2-3 mixed models; then every session ticks one more model at once. "
                "*_seconds: wall time in the browser from navigation (or click) to idle, with the 12 "
                "browser pages on the same machine as the server; *_server_ms: the server's time for "
                "the run (sidebar footer); *_server_cpu_seconds: CPU time the server process used",
    }
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS_DIR / "load.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\nmany users:", json.dumps(figures, indent=2))
    # Generous bounds, for a shared 2-core machine: the point is that nothing hangs.
    assert max(load_seconds) < 120 and max(action_seconds) < 120
    assert figures["server_rss_mb"]["peak"] < 4000
