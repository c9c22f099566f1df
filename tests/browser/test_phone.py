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


# Each option's text, measured in the select's own font, against the room the select gives it.
FITS_IN_SELECT = """([label, texts]) => {
  const input = document.querySelector(`[data-testid="stSidebar"] input[aria-label="${label}"]`);
  const s = getComputedStyle(input);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return texts.filter(t => ctx.measureText(t).width > room).map(t => [t, Math.round(ctx.measureText(t).width), room]);
}"""


@pytest.mark.parametrize("width", [W, 1400])
def test_every_optimizer_name_shows_whole_in_the_sidebar(browser, app_server, width):
    """No choice of optimizer is cut off in the sidebar's select, on a phone or a desktop."""
    from lmmviz.optimizers import optimizer_names
    from lmmviz.ui.sidebar import SOURCE_LABELS, optimizer_text

    ctx = browser.new_context(viewport={"width": width, "height": H})
    pg = ctx.new_page()
    pg.script_runs = RunTracker().attach(pg)
    ui.load(pg, app_server + "/")
    if width == W:
        pg.locator('[data-testid="stExpandSidebarButton"]').first.click()
    pg.wait_for_function("""() => { const e = document.querySelector('[data-testid="stSidebar"] input[aria-label="Optimizer"]');
        return e && e.clientWidth > 100 && e.getBoundingClientRect().left >= 0; }""", timeout=15000)
    names = [optimizer_text(n) for n in optimizer_names()]
    assert len(names) == 16
    assert pg.evaluate(FITS_IN_SELECT, ["Optimizer", names]) == []
    assert pg.evaluate(FITS_IN_SELECT, ["Data source", list(SOURCE_LABELS.values())]) == []
    ctx.close()
