"""Each data source, driven through its controls, changes the numbers to what the
engine computes in the test process."""

from __future__ import annotations

from pathlib import Path

import pytest

import app_ui as ui
import lmmviz
from helpers import shot
from lmmviz.simulator import PRESET_LABELS, PRESETS

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def check_fit_tab(page, data_key: str, name: str, models=("intercept", "slope")) -> None:
    """Metrics, criteria and both summaries equal the engine's on ``data_key``."""
    ui.open_tab(page, "Fit")
    assert ui.metrics(page) == ui.expected_metrics(data_key, models)
    caps = ui.metric_captions(page)
    for m in models:
        ft = ui.engine_fit(data_key, m)
        assert any(c.startswith(f"REML {ft.criterion:.1f}") for c in caps), (m, ft.criterion, caps)
    sums = ui.summaries(page)
    assert [ui.norm(s) for s in sums] == [ui.norm(ui.expected_summary(data_key, m, name)) for m in models]


def test_seed_is_the_default_and_comes_back(page, app_server):
    ui.load(page, app_server + "/?src=preset&preset=many_subjects")
    assert ui.metrics(page)["Pooled OLS"] == ui.expected_metrics("preset:many_subjects")["Pooled OLS"]
    ui.select(page, "Data source", "Seed example (3 subjects)")
    check_fit_tab(page, "seed", "seed")
    assert ui.query(page) == {}
    ui.assert_clean(page)


def test_each_preset(page, app_server):
    """Every preset through the sidebar's Preset select, one after another in one page."""
    ui.load(page, app_server + "/")
    ui.select(page, "Data source", "Simulator preset")
    for preset in PRESETS:
        ui.select(page, "Preset", PRESET_LABELS[preset])
        assert ui.query(page)["src"] == ["preset"]
        assert ui.query(page).get("preset", ["classic"]) == [preset]
        check_fit_tab(page, f"preset:{preset}", preset)
        line = ui.paradox_text(page)
        pooled = ui.expected_metrics(f"preset:{preset}")["Pooled OLS"]
        assert f"pooled OLS slope {pooled}" in line, (preset, line)
        caps = " ".join(ui.metric_captions(page))
        n = PRESETS[preset].n_subjects
        assert f"{n} subjects' slopes" in caps, (preset, caps)
        if preset in ("no_confounding", "singular"):  # no confounding: no paradox
            assert line.startswith("No paradox here"), line
        else:
            assert line.startswith("Simpson's paradox"), (preset, line)
        if preset == "singular":
            assert "singular" in ui.text_of(page).lower()
        if preset in ("classic", "many_subjects"):
            shot(page, f"preset_{preset}")
        ui.assert_clean(page)


def test_simulator_with_changed_settings(page, app_server):
    ui.load(page, app_server + "/")
    ui.select(page, "Data source", "Simulator (your settings)")
    ui.open_tab(page, "Data")
    ui.fill_text(page, "Subjects", "8")
    ui.fill_text(page, "Observations per subject", "5")
    ui.fill_text(page, "Random seed", "42")
    # A slider, by keyboard: two steps of 0.5 up from 17.
    slider = page.get_by_role("slider", name="Confounding")
    slider.focus()
    ui.act(page, lambda: page.keyboard.press("ArrowRight"))
    ui.act(page, lambda: page.keyboard.press("ArrowRight"))
    q = ui.query(page)
    assert q["src"] == ["sim"] and q["n"] == ["8"] and q["m"] == ["5"] and q["seed"] == ["42"], q
    assert q["cf"] == ["18"], q
    settings = lmmviz.SimulationSettings(n_subjects=8, n_obs=5, seed=42, confounding=18.0)
    # The CLI line shown under the simulator is the same generator.
    cli = [c for c in ui.code_blocks(page) if c.startswith("python -m lmmviz simulate")]
    assert cli and "--n-subjects 8" in cli[0] and "--seed 42" in cli[0] and "--confounding 18.0" in cli[0], cli
    shot(page, "simulator_changed")
    check_fit_tab(page, ui.sim_key(settings), "simulated")
    # Deterministic: a fresh page from the same link shows the same numbers.
    url = page.url
    m = ui.metrics(page)
    page2 = ui.new_page(page.context)
    try:
        ui.load(page2, url)
        assert ui.metrics(page2) == m
        ui.assert_clean(page2)
    finally:
        page2.close()
    ui.assert_clean(page)


def test_preset_setting_changed_becomes_simulator(page, app_server):
    """Moving one setting of a preset makes it the user's own simulation."""
    ui.load(page, app_server + "/?src=preset&preset=classic&tab=data")
    ui.fill_text(page, "Random seed", "8")
    q = ui.query(page)
    assert q["src"] == ["sim"] and q["seed"] == ["8"] and q["n"] == ["5"] and q["m"] == ["6"], q
    settings = lmmviz.SimulationSettings(**{**PRESETS["classic"].__dict__, "seed": 8})
    check_fit_tab(page, ui.sim_key(settings), "simulated")
    ui.assert_clean(page)


def test_upload_valid_csv(page, app_server):
    ui.load(page, app_server + "/")
    ui.upload(page, CORPUS / "clean.csv")
    q = ui.query(page)
    assert q["src"] == ["upload"] and q["y"] == ["pain"] and q["x"] == ["dose"] and q["g"] == ["subject"], q
    assert "data" in q  # 30 rows travel in the link
    # The Data tab names the file, shows the mapping guessed, a preview and the validation.
    text = ui.text_of(page)
    assert "Uploaded file: clean.csv" in text
    for label, value in (("Group column", "subject"), ("x column", "dose"), ("y column", "pain")):
        assert page.get_by_role("combobox", name=label).input_value() == value
    assert "Preview of the file (30 rows" in text
    assert any("30 rows" in t for t in ui.alert_texts(page, "Success")), ui.alert_texts(page, "Success")
    shot(page, "upload_clean")
    key = ui.csv_key((CORPUS / "clean.csv").read_text(), "pain", "dose", "subject")
    check_fit_tab(page, key, "upload")
    assert ui.engine_fit(key, "intercept").criterion == pytest.approx(120.25926503244165, abs=1e-6)
    ui.assert_clean(page)


def test_upload_then_remap_columns(page, app_server):
    """Unused columns (one named twice) are previewed; the column mapping is editable:
    choosing another column as x refits on it."""
    ui.load(page, app_server + "/")
    ui.upload(page, CORPUS / "extra_columns.csv")
    ui.assert_clean(page)
    assert page.get_by_role("combobox", name="x column").input_value() == "dose"
    assert "id" in ui.select_options(page, "x column")
    ui.select(page, "x column", "id")
    q = ui.query(page)
    assert q["x"] == ["id"], q
    key = ui.csv_key((CORPUS / "extra_columns.csv").read_text(), "pain", "id", "subject")
    check_fit_tab(page, key, "upload")
    ui.assert_clean(page)


def test_edit_a_value_in_the_table(page, app_server):
    ui.load(page, app_server + "/?tab=data")
    grid = page.locator('[data-testid="stDataFrame"]').last
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # Row 1, column "pain" (the last one): double-click opens the cell editor.
    x, y = box["x"] + box["width"] - 50, box["y"] + 35 + 17
    page.mouse.dblclick(x, y)
    cell = page.locator("#portal input.gdg-input, #portal textarea.gdg-input").first
    cell.wait_for(state="visible")
    assert cell.input_value() == "92.2"
    cell.fill("150")
    ui.act(page, lambda: cell.press("Enter"))
    q = ui.query(page)
    assert q["src"] == ["edited"] and "data" in q, q
    frame = lmmviz.seed().frame.reset_index(drop=True).copy()
    assert frame.loc[0, "pain"] == pytest.approx(92.2)
    frame.loc[0, "pain"] = 150.0
    key = ui.csv_key(frame.to_csv(index=False), "pain", "dosage", "subject_id")
    shot(page, "edited_table")
    check_fit_tab(page, key, "edited")
    # The change moved subject 1's first point: the numbers differ from the seed's.
    assert ui.metrics(page) != ui.expected_metrics("seed")
    ui.assert_clean(page)
