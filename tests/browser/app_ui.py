"""lmmviz-specific helpers for the browser tests: read the page's numbers, drive its
widgets (each action waits for the rerun it causes), and compute the numbers the
page should show with the engine, in the test process.

Every action records :func:`helpers.run_count` before it acts and then waits with
``wait_for_idle(after_run=...)``: no sleeps.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

import lmmviz
from lmmviz.charts import signed
from lmmviz.report import summary_text

from playwright.sync_api import expect

from helpers import exception_texts, goto_app, run_count, wait_for_idle

MAIN = '[data-testid="stMain"]'
SIDEBAR = '[data-testid="stSidebar"]'
MINUS = "\u2212"


# --------------------------------------------------------------------------- reading the page


def eventually(read, check, timeout: float = 15.0, interval: float = 0.1):
    """``read()`` until ``check(value)`` holds (charts are drawn asynchronously by Vega
    after the run that changed them); returns the last value either way, for the assert."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if check(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def main(page):
    return page.locator(MAIN)


def sidebar(page):
    return page.locator(SIDEBAR)


def metrics(page) -> dict[str, str]:
    """{label: value} of the big numbers (st.metric) on the open tab."""
    out = {}
    for m in page.locator(f'{MAIN} [data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        value = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
        out[label] = value
    return out


def metric_captions(page) -> list[str]:
    """The caption under each metric ("REML 77.4", "ignores subjects", ...)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]'))
        .map(m => { const box = m.closest('[data-testid="stVerticalBlock"]');
                    const c = box ? box.querySelector('[data-testid="stCaptionContainer"]') : null;
                    return c ? c.innerText.trim() : ''; })""")


def alert_texts(page, kind: str | None = None, scope: str = MAIN) -> list[str]:
    """Texts of st.info/success/warning/error boxes (``kind``: Info, Success, Warning, Error)."""
    sel = f'{scope} [data-testid="stAlertContent{kind}"]' if kind else f'{scope} [data-testid="stAlertContainer"]'
    # The text only, without the icon's ligature name.
    return [t.strip() for t in page.locator(sel + ' [data-testid="stMarkdownContainer"]').all_inner_texts()]


def paradox_text(page) -> str:
    """The one-line statement of the paradox (the info box at the top of the Fit tab)."""
    for t in alert_texts(page, "Info"):
        if "pooled OLS slope" in t:
            return " ".join(t.split())
    raise AssertionError(f"no paradox line on the page; info boxes: {alert_texts(page, 'Info')}")


def code_blocks(page, scope: str = MAIN) -> list[str]:
    return [c for c in page.locator(f'{scope} [data-testid="stCode"] code').all_text_contents()]


def summaries(page) -> list[str]:
    """The lme4-style summaries shown on the Fit tab, in order."""
    return [c for c in code_blocks(page) if c.startswith("Linear mixed model fit by")]


def share_box(page) -> str:
    """The share link in the sidebar's code box."""
    return page.locator(f'{SIDEBAR} [data-testid="stCode"] code').first.text_content().strip()


def notices(page) -> str:
    """The "Parts of the link could not be used" notice ('' when there is none)."""
    for t in alert_texts(page, "Warning"):
        if "Parts of the link could not be used" in t:
            return t
    return ""


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def text_of(page, scope: str = MAIN) -> str:
    return page.locator(scope).inner_text()


CHART_MARKS_JS = """(el) => {
    const out = {};
    for (const g of el.querySelectorAll('g.role-mark')) {
        const name = Array.from(g.classList).find(c => c.endsWith('_marks'));
        if (!name) continue;
        const key = name.slice(0, -6);
        out[key] = (out[key] || 0) + g.children.length;
    }
    return out;
}"""


def chart(page, index: int = 0, scope: str = MAIN):
    c = page.locator(f'{scope} [data-testid="stVegaLiteChart"]').nth(index)
    c.locator("svg.marks, canvas").first.wait_for()
    return c


def chart_marks(page, index: int = 0, scope: str = MAIN) -> dict[str, int]:
    """{layer name: number of marks drawn} of a chart (Vega's SVG renderer names each
    mark group after its layer: points_marks, pooled_marks, ...)."""
    return chart(page, index, scope).evaluate(CHART_MARKS_JS)


def chart_texts(page, index: int = 0, scope: str = MAIN) -> list[str]:
    """Text drawn inside a chart (labels, axis titles, legends)."""
    return chart(page, index, scope).evaluate(
        "(el) => Array.from(el.querySelectorAll('svg text')).map(t => t.textContent)")


def point_opacities(page, index: int = 0) -> list[float]:
    """Opacity of every point of the main chart (the points layer is always drawn, since it
    carries the selection; it is invisible, opacity 0, when the layer is off)."""
    return chart(page, index).evaluate(
        "(el) => Array.from(el.querySelectorAll('g.points_marks path')).map(p => "
        "parseFloat(p.getAttribute('opacity') ?? p.getAttribute('fill-opacity') ?? '1'))")


def open_tab_name(page) -> str:
    return page.locator('[data-testid="stTab"][aria-selected="true"]').inner_text().strip()


def assert_clean(page) -> None:
    """No Python exception box and no browser console error so far."""
    exc = exception_texts(page)
    assert not exc, f"Streamlit exception boxes on the page: {exc}"
    assert not page.console_errors, f"browser console errors: {page.console_errors}"


NO_USER_HTML = {"scripts": 0, "imgs": 0, "bold": 0, "italic": 0, "br_in_labels": 0, "js_links": 0}


def no_user_html(page) -> dict:
    """What user-supplied markup could have become in the DOM: <script> elements whose
    text holds 'alert', <img>/<b>/<i> elements that came from data (src=x, bold, subject),
    <br> in widget labels and javascript: links."""
    return page.evaluate("""() => ({
        scripts: Array.from(document.querySelectorAll('script')).filter(s => /alert\\(/.test(s.textContent)).length,
        imgs: document.querySelectorAll('img[src="x"]').length,
        bold: Array.from(document.querySelectorAll('b')).filter(b => b.textContent === 'bold').length,
        italic: Array.from(document.querySelectorAll('i')).filter(i => i.textContent === 'subject').length,
        br_in_labels: Array.from(document.querySelectorAll('[data-testid="stWidgetLabel"] br')).length,
        js_links: Array.from(document.querySelectorAll('a[href]')).filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
    })""")


# --------------------------------------------------------------------------- driving widgets


def act(page, action, timeout: float = 60000, settle_ms: float = 150) -> None:
    """Run ``action()`` (which must cause a rerun) and wait for that rerun to finish
    (then for the page to stay idle ``settle_ms``, in case a callback reruns again)."""
    before = run_count(page)
    action()
    wait_for_idle(page, timeout=timeout, after_run=before, settle_ms=settle_ms)


def open_tab(page, name: str, timeout: float = 90000) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.get_attribute("aria-selected") == "true":
        return
    act(page, tab.click, timeout)


def open_combobox(page, box, tries: int = 5) -> None:
    """Open a selectbox's list of options. A click that scrolls the page can close the
    popover again at once, so scroll first, then click, and retry (ArrowDown also opens it)."""
    for attempt in range(tries):
        box.scroll_into_view_if_needed()
        if attempt % 2 == 0:
            box.click()
        else:
            box.focus()
            page.keyboard.press("ArrowDown")
        try:
            page.get_by_role("option").first.wait_for(state="visible", timeout=2000)
            return
        except Exception:
            page.keyboard.press("Escape")
    raise AssertionError(f"the options of {box} did not open")


def select(page, label: str, option: str, scope: str | None = None, timeout: float = 60000) -> None:
    """Choose ``option`` (its shown text, exact) in the selectbox labelled ``label``."""
    root = page.locator(scope) if scope else page
    box = root.get_by_role("combobox", name=label, exact=True)
    if box.input_value() == option:
        return
    open_combobox(page, box)
    opt = page.get_by_role("option", name=option, exact=True)
    act(page, opt.click, timeout)


def select_options(page, label: str) -> list[str]:
    box = page.get_by_role("combobox", name=label, exact=True)
    open_combobox(page, box)
    names = [o.inner_text().strip() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    return names


def set_checkbox(page, label: str, checked: bool, scope: str = SIDEBAR) -> None:
    root = page.locator(scope)
    # st.checkbox is a checkbox, st.toggle a switch
    cb = root.get_by_role("checkbox", name=label, exact=True).or_(root.get_by_role("switch", name=label, exact=True))
    if cb.is_checked() == checked:
        return
    before = run_count(page)
    # The input is visually hidden; click its label. A click that lands while the element is
    # being redrawn is lost: wait for the box to change state, not for time, and click again.
    for _ in range(4):
        cb.locator("xpath=ancestor::label[1]").click()
        try:
            expect(cb).to_be_checked(checked=checked, timeout=5000)
            break
        except AssertionError:
            continue
    wait_for_idle(page, timeout=60000, after_run=before, settle_ms=150)


def set_radio(page, option: str, scope: str = SIDEBAR) -> None:
    r = page.locator(scope).get_by_role("radio", name=option, exact=True)
    if r.is_checked():
        return
    act(page, lambda: r.locator("xpath=ancestor::label[1]").click())


def pill(page, group: str, name: str):
    return page.get_by_role("toolbar", name=group).get_by_role("button", name=name, exact=True)


def set_pill(page, group: str, name: str, on: bool) -> None:
    b = pill(page, group, name)
    if (b.get_attribute("aria-pressed") == "true") == on:
        return
    act(page, b.click)


def fill_text(page, label: str, value: str, scope: str | None = None) -> None:
    """Type into a text or number input and press Enter (which commits it)."""
    root = page.locator(scope) if scope else page
    box = root.get_by_label(label, exact=True)
    box.fill(str(value))
    act(page, lambda: box.press("Enter"))


def expand(page, title: str, scope: str | None = None) -> None:
    """Open an st.expander (no rerun)."""
    root = page.locator(scope) if scope else page
    summary = root.locator('[data-testid="stExpander"] summary', has_text=title).first
    details = summary.locator("xpath=..")
    if details.get_attribute("open") is None:
        summary.click()
        page.wait_for_function("(el) => el.open", arg=details.element_handle())


def click_button(page, name: str, scope: str | None = None, timeout: float = 60000) -> None:
    """Click a button and wait for the run it causes. A click that lands while the button
    moves (an expander still opening, a rerun redrawing) starts no run: wait for the run to
    start, not for time, and click again if none did."""
    import time

    root = page.locator(scope) if scope else page
    button = root.get_by_role("button", name=name, exact=True)
    before, started = run_count(page), page.script_runs.started
    for _ in range(3):
        button.click()
        until = time.monotonic() + 5.0
        while page.script_runs.started == started and time.monotonic() < until:
            page.wait_for_timeout(100)  # lets Playwright deliver the websocket frames
        if page.script_runs.started > started:
            break
    wait_for_idle(page, timeout=timeout, after_run=before, settle_ms=150)


UPLOADED_JS = """(name) => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main) return false;
    const texts = Array.from(main.querySelectorAll('[data-testid="stAlertContainer"], [data-testid="stMarkdownContainer"]'))
        .map(e => e.innerText);
    return texts.some(t => t.includes(name + ':') || t.includes('Uploaded file: ' + name));
}"""


def upload(page, path, timeout: float = 60000) -> None:
    """Give ``path`` to the Data tab's file uploader and wait until the page shows it
    (as "Uploaded file: <name>" or as an error about it). Replacing a file may take two
    runs (the old file removed, then the new one added), so runs are not counted here."""
    from pathlib import Path

    open_tab(page, "Data")
    inp = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    before = run_count(page)
    http = []

    def on_response(r):
        if "/_stcore/upload_file" in r.url:
            http.append(f"{r.request.method} {r.status}")

    page.on("response", on_response)
    try:
        inp.set_input_files(str(path))
        wait_for_idle(page, timeout=timeout, after_run=before, settle_ms=150)
        try:
            page.wait_for_function(UPLOADED_JS, arg=Path(path).name, timeout=timeout)
        except Exception as exc:
            files = page.locator('[data-testid="stFileUploaderFileName"]').all_inner_texts()
            errors = page.locator('[data-testid="stFileUploaderFileErrorMessage"]').all_inner_texts()
            raise AssertionError(f"the page never showed the upload of {Path(path).name}: uploader lists {files} "
                                 f"{errors}, upload requests {http}, address {page.url}, runs finished "
                                 f"{page.script_runs.finished} (statuses {page.script_runs.finish_statuses[-5:]}), "
                                 f"cookies {[c['name'] for c in page.context.cookies()]}") from exc
    finally:
        page.remove_listener("response", on_response)
    wait_for_idle(page, timeout=timeout, settle_ms=150)


def load(page, url: str, timeout: float = 90000) -> None:
    """Open ``url`` and wait for the first run (and every element drawn)."""
    goto_app(page, url, timeout=timeout)


# --------------------------------------------------------------------------- many pages at once

VIEWPORT = {"width": 1400, "height": 1000}


def new_page(context):
    """A page with the conftest's instruments: console errors, dialogs, run counter."""
    from helpers import RunTracker

    p = context.new_page()
    p.console_errors = []
    p.dialogs = []
    p.on("console", lambda m: p.console_errors.append(f"console.error: {m.text}") if m.type == "error" else None)
    p.on("pageerror", lambda exc: p.console_errors.append(f"pageerror: {exc}"))
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    p.script_runs = RunTracker().attach(p)
    return p


def open_concurrently(browser, urls, timeout: float = 120.0, settle_ms: float = 300,
                      own_context: bool = True) -> list[dict]:
    """Open every URL at once (each page is its own Streamlit session; with
    ``own_context`` each also gets its own browser context, as separate users have) and
    wait until each page is idle, polling them in turn from this one thread (Playwright's
    sync API is not thread-safe; the pages load in parallel in the browser and the
    server anyway). Returns one dict per URL: page, context, seconds (from navigation
    to idle, settle included) and the final state."""
    import time

    from helpers import _is_idle, app_state

    shared = None if own_context else browser.new_context(viewport=VIEWPORT)
    items = []
    for url in urls:
        ctx = browser.new_context(viewport=VIEWPORT) if own_context else shared
        p = new_page(ctx)
        t0 = time.monotonic()
        p.goto(url, wait_until="commit", timeout=timeout * 1000)
        items.append({"url": url, "page": p, "context": ctx, "t0": t0, "idle_since": None, "seconds": None})
    deadline = time.monotonic() + timeout
    pending = list(items)
    while pending:
        for it in list(pending):
            try:
                state = app_state(it["page"])
            except Exception:  # page still navigating
                state = {"app": False}
            now = time.monotonic()
            if state.get("app") and _is_idle(state) and it["page"].script_runs.finished > 0:
                if it["idle_since"] is None:
                    it["idle_since"] = now
                if (now - it["idle_since"]) * 1000 >= settle_ms:
                    it["seconds"] = it["idle_since"] - it["t0"]
                    it["state"] = state
                    pending.remove(it)
            else:
                it["idle_since"] = None
            if now > deadline:
                raise TimeoutError(f"not idle after {timeout} s: {[i['url'] for i in pending]}")
        time.sleep(0.02)
    return items


def close_all(items) -> None:
    seen = set()
    for it in items:
        ctx = it["context"]
        if id(ctx) not in seen:
            seen.add(id(ctx))
            ctx.close()


# --------------------------------------------------------------------------- what the engine says


@lru_cache(maxsize=64)
def engine_fit(data_key: str, model: str, reml: bool = True, optimizer: str = "robust", maxeval: int = 10_000,
               start: tuple | None = None):
    """The fit the app makes, with the app's settings (codegen.settings_for)."""
    from lmmviz.codegen import APP_MAX_SECONDS, settings_for

    settings = settings_for(model, start, None, None, None, maxeval, APP_MAX_SECONDS)
    return lmmviz.fit(engine_data(data_key), model, reml=reml, optimizer=optimizer, settings=settings)


@lru_cache(maxsize=64)
def engine_data(data_key: str):
    """'seed', 'preset:<name>', 'sim:<settings tuple repr>' or 'csv:<text>'."""
    kind, _, rest = data_key.partition(":")
    if kind == "seed":
        return lmmviz.seed()
    if kind == "preset":
        return lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS[rest]))
    if kind == "sim":
        vals = eval(rest)  # a tuple of numbers written by sim_key()
        return lmmviz.frame_to_data(lmmviz.simulate(lmmviz.SimulationSettings(*vals)))
    if kind == "csv":
        y, x, g, text = rest.split("\x00", 3)
        return lmmviz.load(text.encode("utf-8"), y=y, x=x, group=g)
    raise ValueError(data_key)


def sim_key(settings) -> str:
    return "sim:" + repr(tuple(settings.__dict__.values()))


def csv_key(text: str, y: str, x: str, g: str) -> str:
    return "csv:" + "\x00".join((y, x, g, text))


def expected_metrics(data_key: str, models=("intercept", "slope"), reml: bool = True,
                     optimizer: str = "robust", maxeval: int = 10_000,
                     ols=("pooled", "per_group")) -> dict[str, str]:
    """The metrics the Fit tab should show, formatted as the app formats them; `ols` names the
    ticked OLS boxes (an unticked box takes its big number away)."""
    import numpy as np

    data = engine_data(data_key)
    out = {}
    if "pooled" in ols:
        out["Pooled OLS"] = signed(lmmviz.pooled_ols(data).slope)
    s = lmmviz.per_group_ols(data)["slope"].to_numpy(float)
    s = s[np.isfinite(s)]
    if len(s) and "per_group" in ols:
        out["Own OLS, mean"] = signed(float(np.mean(s)))
    names = {"intercept": "Random intercept", "slope": "Random slope", "uncorrelated": "Uncorrelated"}
    for m in models:
        ft = engine_fit(data_key, m, reml, optimizer, maxeval)
        if m == "within_between":
            out["Within"] = signed(ft.beta[1])
            out["Between"] = signed(ft.beta[2])
        else:
            out[names[m]] = signed(ft.slope)
    return out


def expected_summary(data_key: str, model: str, name: str, reml: bool = True, optimizer: str = "robust",
                     maxeval: int = 10_000) -> str:
    return summary_text(engine_fit(data_key, model, reml, optimizer, maxeval), name)


def norm(text: str) -> str:
    """Whitespace-insensitive form of a text block (trailing spaces, blank lines)."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def number_after(text: str, prefix: str) -> float:
    m = re.search(re.escape(prefix) + r"\s*([+\-\u2212]?[\d,]*\.?\d+)", text)
    if not m:
        raise AssertionError(f"no number after {prefix!r} in {text[:300]!r}")
    return float(m.group(1).replace(MINUS, "-").replace(",", ""))
