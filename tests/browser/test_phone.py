"""A phone (390×844): the sidebar starts closed, every tab is reachable, the paradox line and the
chart are on the first screen, and nothing in the main area is wider than the screen (a box that
scrolls sideways on purpose, as the lme4 text or a wide chart in its own box, is allowed)."""

from __future__ import annotations

import pytest

import app_ui as ui
from helpers import RunTracker

TABS = ["Fit", "Data", "Compare optimizers", "Landscape", "Random effects", "Tour"]
W, H = 390, 844

# Elements wider than the screen whose own box does not scroll: the page itself would scroll.
OVERFLOW = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const bad = [];
  for (const e of main.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= 390.5) continue;
    let scroller = false;
    for (let a = e; a && a !== main; a = a.parentElement) {
      const s = getComputedStyle(a);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden') && a.getBoundingClientRect().right <= 390.5) { scroller = true; break; }
    }
    if (!scroller) bad.push((e.getAttribute('data-testid') || e.tagName) + ' ' + Math.round(r.right));
  }
  return [main.scrollWidth, bad.slice(0, 5)];
}"""


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport={"width": W, "height": H}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    pg.script_runs = RunTracker().attach(pg)
    pg.console_errors = []
    yield pg
    ctx.close()


def test_phone_first_screen_and_every_tab(phone, app_server):
    ui.load(phone, app_server + "/")
    assert phone.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
    for name in TABS:  # every tab is on the screen, none hidden off the end of the bar
        box = phone.get_by_role("tab", name=name, exact=True).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= W, (name, box)
    assert phone.locator('[data-testid="stAlertContainer"]').first.bounding_box()["y"] < H  # the paradox line
    chart = phone.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
    assert chart["y"] < H - 100, chart  # the chart starts on the first screen
    for name in TABS:
        ui.open_tab(phone, name)
        width, bad = phone.evaluate(OVERFLOW)
        assert width <= W and bad == [], (name, width, bad)
