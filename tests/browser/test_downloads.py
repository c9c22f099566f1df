"""Every download button: file name, type (the server's Content-Type), and the content
parsed back and compared with the page and the engine."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

import app_ui as ui
import lmmviz
from lmmviz.report import summary_text

# The state the downloads are taken in: not the defaults, so that the files must follow it.
URL = "/?src=preset&preset=few_subjects&models=pooled,per_group,intercept,slope&opt=nlopt_bobyqa"
CLI_KEYS = {"model", "reml", "optimizer", "criterion", "loglik", "aic", "bic", "theta", "fixef", "se", "sigma",
            "varcorr", "singular", "converged", "warnings", "n_obs", "n_groups", "dropped_rows", "evaluations",
            "seconds", "formula", "x", "ranef", "diagnostics", "runs"}


@pytest.fixture(scope="module")
def downloads(browser, app_server):
    """Open the page once and take every download (module-scoped: one page, 7 files)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    from helpers import RunTracker

    page.script_runs = RunTracker().attach(page)
    ui.load(page, app_server + URL)
    out = {}
    for label in ("Data (CSV)", "Results (JSON)", "Summaries (text)", "Chart (PNG)", "Chart (SVG)",
                  "R script (lme4)", "Python script"):
        with page.expect_download(timeout=60000) as info:
            page.get_by_role("button", name=label).click()
        d = info.value
        body = open(d.path(), "rb").read()
        head = page.request.get(d.url)
        out[label] = {"name": d.suggested_filename, "body": body, "type": head.headers.get("content-type", ""),
                      "disposition": head.headers.get("content-disposition", ""), "served": head.body()}
    out["_metrics"] = ui.metrics(page)
    out["_summaries"] = ui.summaries(page)
    ui.assert_clean(page)
    yield out
    ctx.close()


def _data():
    return ui.engine_data("preset:few_subjects")


def _fits():
    return {m: ui.engine_fit("preset:few_subjects", m, True, "nlopt_bobyqa") for m in ("intercept", "slope")}


def _check_common(d, name, mime):
    assert d["name"] == name
    assert d["type"].split(";")[0] == mime, d["type"]
    assert f'filename="{name}"' in d["disposition"]
    assert d["served"] == d["body"]


def test_data_csv(downloads):
    d = downloads["Data (CSV)"]
    _check_common(d, "lmmviz-data.csv", "text/csv")
    got = pd.read_csv(io.BytesIO(d["body"]), dtype={"subject_id": str})
    want = _data().frame.reset_index(drop=True)
    assert list(got.columns) == ["subject_id", "dosage", "pain"]
    pd.testing.assert_frame_equal(got, want[["subject_id", "dosage", "pain"]].astype({"subject_id": str}),
                                  check_dtype=False)
    # The file loads back into the same data and the same fit.
    again = lmmviz.load(d["body"], y="pain", x="dosage", group="subject_id")
    assert lmmviz.fit(again, "intercept").criterion == pytest.approx(ui.engine_fit(
        "preset:few_subjects", "intercept").criterion, abs=1e-8)


def test_results_json(downloads):
    d = downloads["Results (JSON)"]
    _check_common(d, "lmmviz-results.json", "application/json")
    res = json.loads(d["body"])
    assert {"lmmviz", "data", "settings", "fits", "errors", "link", "pooled_ols", "per_group_ols"} <= set(res)
    assert res["data"]["n_obs"] == 15 and res["data"]["source"] == "preset"
    assert res["settings"]["optimizer"] == "nlopt_bobyqa" and res["settings"]["reml"] is True
    assert res["link"] == {"src": "preset", "preset": "few_subjects", "opt": "nlopt_bobyqa"}
    fits = _fits()
    assert [f["model"] for f in res["fits"]] == ["intercept", "slope"]
    for f in res["fits"]:
        assert CLI_KEYS <= set(f), CLI_KEYS - set(f)
        want = fits[f["model"]]
        assert f["optimizer"] == "nlopt_bobyqa"
        assert f["criterion"] == pytest.approx(want.criterion, abs=1e-9)
        assert f["fixef"]["dosage"] == pytest.approx(want.slope, abs=1e-9)
        assert f["theta"] == pytest.approx(list(want.theta), abs=1e-9)
    assert res["pooled_ols"]["slope"] == pytest.approx(lmmviz.pooled_ols(_data()).slope)
    assert len(res["per_group_ols"]) == 3


def test_summary_text(downloads):
    d = downloads["Summaries (text)"]
    _check_common(d, "lmmviz-summary.txt", "text/plain")
    text = d["body"].decode("utf-8")
    for m, ft in _fits().items():
        assert summary_text(ft, "few_subjects") in text
    for shown in downloads["_summaries"]:
        assert ui.norm(shown) in ui.norm(text)
    assert "Likelihood-ratio test (refitted by ML)" in text
    assert "Pooled OLS: pain = " in text


def test_chart_png(downloads):
    from PIL import Image

    d = downloads["Chart (PNG)"]
    _check_common(d, "lmmviz-chart.png", "image/png")
    assert d["body"][:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(d["body"]))
    img.load()  # decodes every pixel
    w, h = img.size
    assert 400 <= w <= 4000 and 300 <= h <= 4000, img.size
    lo, hi = img.convert("L").getextrema()
    assert hi - lo > 100  # not blank: dark marks on a light background


def test_chart_svg(downloads):
    d = downloads["Chart (SVG)"]
    _check_common(d, "lmmviz-chart.svg", "image/svg+xml")
    root = ET.fromstring(d["body"])
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter() if t.tag.endswith("text") and t.text]
    pooled = ui.expected_metrics("preset:few_subjects", ())["Pooled OLS"]
    assert f"Pooled OLS {pooled}" in texts, texts
    assert "dosage" in texts and "pain" in texts


def test_r_script(downloads):
    d = downloads["R script (lme4)"]
    _check_common(d, "lmmviz-fit.R", "text/plain")
    text = d["body"].decode("utf-8")
    assert "library(lme4)" in text
    assert "pain ~ dosage + (1 | subject_id)" in text and "pain ~ dosage + (1 + dosage | subject_id)" in text
    assert 'nloptwrap' in text and "NLOPT_LN_BOBYQA" in text, text[:2000]
    assert "REML = TRUE" in text


def test_python_script(downloads, tmp_path):
    """The downloaded script runs and prints the criteria the page shows."""
    import re
    import subprocess
    import sys

    d = downloads["Python script"]
    _check_common(d, "lmmviz-fit.py", "text/x-python")
    text = d["body"].decode("utf-8")
    assert "import lmmviz" in text and "optimizer = 'nlopt_bobyqa'" in text
    assert "seed=11" in text and "n_subjects=3" in text
    script = tmp_path / d["name"]
    script.write_bytes(d["body"])
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    for model, ft in _fits().items():
        got = float(re.search(rf"criterion\[{model}\] = ([-\d.]+)", out.stdout).group(1))
        assert got == pytest.approx(ft.criterion, abs=1e-5)
