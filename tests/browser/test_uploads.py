"""Uploads through the browser's file chooser: odd but usable files fit, bad files give
one line of error and leave the app usable, and user strings never become HTML."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from pathlib import Path

import pytest

import app_ui as ui
import lmmviz
from helpers import RunTracker, _is_idle, app_state, run_count, shot, wait_for_idle
from lmmviz.charts import signed

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]


def back_to_seed(page) -> None:
    """The app is still usable: the seed example comes back with its numbers."""
    ui.select(page, "Data source", "Seed example (3 subjects)")
    ui.open_tab(page, "Fit")
    assert "REML 77.4" in ui.metric_captions(page)
    assert "REML 68.1" in ui.metric_captions(page)
    assert ui.metrics(page)["Random slope"] == "−8.215"
    assert ui.query(page) == {}


# Where the app's words differ from the reader's (the app first guesses the columns).
APP_PHRASES = {"duplicated_columns.csv": "cannot tell which columns are group, x and y"}


def phrase(name: str) -> str:
    return APP_PHRASES.get(name) or MANIFEST[name]["cases"][0]["phrase"]


# An image, a web page, damaged UTF-16: each in its own page.
BAD_FILES = ["png_renamed.csv", "html_page.csv", "utf16_truncated.csv"]
# More, one after another in one page (each upload replaces the last).
MORE_BAD_FILES = ["ragged_rows.csv", "xlsx_renamed.csv", "json_renamed.csv", "random_binary.csv", "empty.csv", "gzip_corrupt.csv.gz",
                  "unbalanced_quotes.csv", "nonnumeric_y.csv", "beyond_float_range.csv", "duplicated_columns.csv",
                  "svg_renamed.csv", "pdf_renamed.csv"]


def check_one_line_error(page, name: str, words: str | None = None) -> str:
    errors = ui.alert_texts(page, "Error")
    assert len(errors) == 1, (name, errors, page.url, page.script_runs.finish_statuses)
    err = errors[0]
    assert "\n" not in err, f"more than one line: {err!r}"
    assert name in err and (words or phrase(name)).lower() in err.lower(), err
    assert err.endswith("Showing the seed example instead."), err
    return err


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_upload_one_line_error_then_usable(page, app_server, name):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.load(page, app_server + "/")
    ui.upload(page, CORPUS / name)
    err = check_one_line_error(page, name)
    # Meanwhile the seed is shown, and the Fit tab says why in the same words.
    ui.open_tab(page, "Fit")
    assert ui.alert_texts(page, "Error") == [err]
    assert "REML 77.4" in ui.metric_captions(page)
    if name in ("png_renamed.csv", "html_page.csv"):
        shot(page, f"bad_upload_{name}")
    back_to_seed(page)
    assert not ui.alert_texts(page, "Error")
    assert not dialogs
    ui.assert_clean(page)


def test_more_bad_uploads_in_a_row(page, app_server):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.load(page, app_server + "/")
    for name in MORE_BAD_FILES:
        ui.upload(page, CORPUS / name)
        check_one_line_error(page, name)
        ui.assert_clean(page)
    back_to_seed(page)
    assert not dialogs
    ui.assert_clean(page)


@pytest.mark.parametrize("name", ["utf16le_bom.csv", "gzip_compressed.csv.gz"])
def test_odd_but_usable_upload_fits(page, app_server, name):
    ui.load(page, app_server + "/")
    ui.upload(page, CORPUS / name)
    assert not ui.alert_texts(page, "Error"), ui.alert_texts(page, "Error")
    ui.open_tab(page, "Fit")
    want = MANIFEST[name]["cases"][0]["criterion"]
    assert f"REML {want:.1f}" in ui.metric_captions(page), ui.metric_captions(page)
    assert f"REML criterion at convergence: {want:.1f}" in ui.summaries(page)[0]
    back_to_seed(page)
    ui.assert_clean(page)


def test_columns_chosen_by_hand(page, app_server):
    """A semicolon file with decimal commas: the columns cannot be guessed (their values
    are text until the decimal commas are read), the error says so in one line, and
    choosing y and x in the mapping fits it."""
    name = "semicolon_decimal_comma.csv"
    ui.load(page, app_server + "/")
    ui.upload(page, CORPUS / name)
    err = ui.alert_texts(page, "Error")
    assert len(err) == 1 and "cannot tell which columns are group, x and y" in err[0], err
    ui.select(page, "y column", "pain")
    ui.select(page, "x column", "dose")
    ui.select(page, "Group column", "subject")
    assert not ui.alert_texts(page, "Error"), ui.alert_texts(page, "Error")
    q = ui.query(page)
    assert (q["y"], q["x"], q["g"]) == (["pain"], ["dose"], ["subject"]), q
    ui.open_tab(page, "Fit")
    want = MANIFEST[name]["cases"][0]["criterion"]
    assert f"REML {want:.1f}" in ui.metric_captions(page), ui.metric_captions(page)
    ui.assert_clean(page)


def _dom_is_clean(page, dialogs) -> None:
    found = ui.no_user_html(page)
    assert found == ui.NO_USER_HTML, found
    assert not dialogs, dialogs


def test_script_tags_are_text_never_html(page, app_server, browser):
    """Column names and group labels full of HTML fit, and show as text everywhere: the
    summaries, the column mapping, the highlight list, the share link opened anew."""
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.load(page, app_server + "/")
    ui.upload(page, CORPUS / "script_tags.csv")
    case = MANIFEST["script_tags.csv"]["cases"][0]
    assert not ui.alert_texts(page, "Error")
    # The mapping shows the names verbatim.
    assert page.get_by_role("combobox", name="Group column").input_value() == case["group"]
    assert page.get_by_role("combobox", name="y column").input_value() == case["y"]
    assert "Uploaded file: script_tags.csv" in ui.text_of(page)
    _dom_is_clean(page, dialogs)
    ui.open_tab(page, "Fit")
    sums = ui.summaries(page)
    assert sums and f"REML criterion at convergence: {case['criterion']:.1f}" in sums[0]
    assert case["group"] in sums[0] and case["y"] in sums[0]
    # The paradox line names x as text.
    line = ui.paradox_text(page)
    assert f"slopes of {case['x']} agree" in line, line
    # Every group label is an option of the highlight list, as text.
    options = ui.select_options(page, "Highlight a subject")
    for label in case["labels"]:
        assert label in options, (label, options)
    ui.select(page, "Highlight a subject", "<img src=x onerror=alert(2)>")
    assert ui.query(page)["sel"] == ["<img src=x onerror=alert(2)>"]
    shot(page, "script_tags_fit")
    _dom_is_clean(page, dialogs)
    for tab in ("Compare optimizers", "Random effects", "Data"):
        ui.open_tab(page, tab)
        _dom_is_clean(page, dialogs)
    ui.assert_clean(page)
    # The same data through the share link, in a fresh browser context.
    url = page.url
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        p2 = ctx.new_page()
        p2.console_errors = []
        p2.on("pageerror", lambda exc: p2.console_errors.append(str(exc)))
        p2.on("console", lambda m: p2.console_errors.append(m.text) if m.type == "error" else None)
        p2.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        p2.script_runs = RunTracker().attach(p2)
        ui.load(p2, url)
        assert ui.open_tab_name(p2) == "Data"
        _dom_is_clean(p2, dialogs)
        ui.open_tab(p2, "Fit")
        assert ui.summaries(p2) == sums
        assert p2.get_by_role("combobox", name="Highlight a subject").input_value() == \
            "<img src=x onerror=alert(2)>"
        _dom_is_clean(p2, dialogs)
        ui.assert_clean(p2)
    finally:
        ctx.close()


def test_row_cap_message(page, app_server):
    """The simulator shares the app's 2,000,000-row cap: a message, then the seed."""
    ui.load(page, app_server + "/?src=sim&tab=data")
    ui.fill_text(page, "Subjects", "20000")
    ui.fill_text(page, "Observations per subject", "1000")
    errs = ui.alert_texts(page, "Error")
    assert any("20,000,000 rows is more than the app simulates (2,000,000)" in e for e in errs), errs
    assert any("at most 2,000,000 rows can be simulated in the app" in e for e in errs), errs
    back_to_seed(page)
    ui.assert_clean(page)


def _gzip(parts) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([c.compress(p) for p in parts] + [c.flush()])


def test_oversized_uploads_refused_before_parsing(page, app_server, tmp_path):
    """A 26 KB gzip file of 3,000,000 rows and a 0.5 MB gzip bomb (300 MB of text): each
    refused in one line, quickly (lines are counted, never parsed), then the app goes on."""
    rows = tmp_path / "three_million_rows.csv.gz"
    rows.write_bytes(_gzip([b"subject,dose,pain\n"] + [b"A,1,1\nB,2,2\n" * 500_000] * 3))
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(_gzip([b"subject,dose,pain\n"] + [b"x" * 50_000_000] * 6))
    assert rows.stat().st_size < 100_000 and bomb.stat().st_size < 1_000_000
    ui.load(page, app_server + "/")
    for path, words in ((rows, "the file has more than 2,000,000 lines; the app takes at most 2,000,000 rows"),
                        (bomb, "the gzip file unpacks to more than 256 MB of text")):
        t0 = time.monotonic()
        ui.upload(page, path)
        seconds = time.monotonic() - t0
        err = check_one_line_error(page, path.name, words)
        assert seconds < 30, (path.name, seconds, err)
    back_to_seed(page)
    ui.assert_clean(page)


def test_million_row_upload_stays_responsive(page, app_server, tmp_path):
    """1,000,000 rows (10,000 subjects, 6.5 MB gzip): the page shows what it is doing
    (spinners) and keeps answering while the server reads, then the numbers are the
    engine's."""
    frame = lmmviz.simulate(lmmviz.SimulationSettings(n_subjects=10_000, n_obs=100, dose_spacing=0.01, seed=3))
    raw = gzip.compress(frame.to_csv(index=False).encode(), 6)
    path = tmp_path / "million.csv.gz"
    path.write_bytes(raw)
    ui.load(page, app_server + "/")
    ui.open_tab(page, "Data")
    inp = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    before = run_count(page)
    t0 = time.monotonic()
    inp.set_input_files(str(path))
    seen, probes = set(), []
    while True:
        t = time.monotonic()
        state = app_state(page)  # a round trip into the page: it answers while the server works
        probes.append(time.monotonic() - t)
        for text in page.locator('[data-testid="stSpinner"]').all_inner_texts():
            seen.add(text.strip())
        if page.script_runs.finished > before and _is_idle(state):
            break
        assert time.monotonic() - t0 < 180, "the upload did not finish in 3 minutes"
        time.sleep(0.05)
    page.wait_for_function(ui.UPLOADED_JS, arg=path.name, timeout=180000)
    wait_for_idle(page, timeout=180000)
    read_seconds = time.monotonic() - t0
    # A spinner says what the server is doing ("Reading the file…", "Checking the data…",
    # "Fitting 2 mixed model(s) to 1,000,000 rows…": which ones show depends on their speed).
    assert seen, "no spinner while 1,000,000 rows were read and fitted"
    assert max(probes) < 3, max(probes)
    assert any("1000000 rows used, none dropped" in t for t in ui.alert_texts(page, "Success"))
    t1 = time.monotonic()
    ui.open_tab(page, "Fit", timeout=180000)
    fit_seconds = time.monotonic() - t1
    data = lmmviz.load(raw, y="pain", x="dosage", group="subject_id")
    want = {"Pooled OLS": signed(lmmviz.pooled_ols(data).slope)}
    for model, label in (("intercept", "Random intercept"), ("slope", "Random slope")):
        want[label] = signed(lmmviz.fit(data, model).slope)
    got = ui.metrics(page)
    assert {k: got[k] for k in want} == want, (got, want)
    shot(page, "million_rows_fit")
    print(f"\n1M-row upload: read and checked in {read_seconds:.1f} s (spinners: {sorted(seen)}, slowest page "
          f"round trip meanwhile {max(probes) * 1000:.0f} ms); Fit tab in {fit_seconds:.1f} s")
    back_to_seed(page)
    ui.assert_clean(page)
