"""Accessibility: axe-core (bundled by axe-playwright-python) finds no serious or critical
violation on any of the six tabs of the seed page (WCAG 2.1 AA rules), and none of the
moderate ones that are ours to fix (heading order, a scrolling box without keyboard focus)."""

import pytest
from axe_playwright_python.sync_playwright import Axe

import app_ui as ui

TABS = ["Fit", "Random effects", "Compare optimizers", "Landscape", "Tour", "Data"]
# WCAG 2.0/2.1 A and AA, as the issue asks; best-practice rules that are ours too.
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
           "resultTypes": ["violations"]}
# axe-core 4.12 aborts color-contrast for the whole page ("Element midpoint exceeds the grid
# bounds") on the text inside a box that scrolls sideways (the lme4 summary), and reports that only
# as "incomplete". So the code text is left out of the run (the box itself, which must take
# keyboard focus, is still checked), and a rule that errors fails the test instead of passing.
CONTEXT = {"exclude": [['[data-testid="stCode"] code']]}
OURS = {"heading-order", "scrollable-region-focusable", "color-contrast", "empty-heading", "page-has-heading-one"}


def _problems(page) -> list[str]:
    res = Axe().run(page, context=CONTEXT, options={**OPTIONS, "resultTypes": ["violations", "incomplete"]})
    out = [f"{v['id']} could not run: {v['error']['message']}" for v in res.response["incomplete"] if v.get("error")]
    for v in res.response["violations"]:
        if v["impact"] in ("serious", "critical") or v["id"] in OURS:
            where = "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"][0])
                              for n in v["nodes"][:3])
            out.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} at {where}")
    return out


@pytest.mark.parametrize("tab", TABS)
def test_no_serious_axe_violation(page, app_server, tab):
    ui.load(page, app_server + "/")
    ui.open_tab(page, tab)
    assert _problems(page) == []
    # every chart says what it shows, in numbers, not only "Vega visualization"
    labels = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
        .filter(e => e.offsetParent).map(e => e.getAttribute('aria-label') || '')""")
    assert all(len(a) > 40 and any(ch.isdigit() for ch in a) for a in labels), labels


def test_start_the_tour_moves_keyboard_focus_to_the_step(page, app_server):
    """After "Start the tour" a keyboard user is on step 1, not at the top of the page."""
    ui.load(page, app_server + "/")
    ui.open_tab(page, "Tour")
    ui.click_button(page, "Start the tour")
    page.wait_for_function("""() => { const a = document.activeElement;
        return !!a && (!!a.closest('.st-key-tour_banner') || (a.tagName === 'SUMMARY' && a.innerText.includes('Step 1'))); }""",
                           timeout=15000)
    where = page.evaluate("() => document.activeElement.innerText.slice(0, 80)")
    assert "Step 1" in where or "step 1" in where, where


def test_arrowing_along_the_tab_bar_renders_only_the_tab_it_stops_on(page, app_server, app_server_proc):
    """Arrow keys select every tab they pass (each selection a rerun); the tabs passed on the way,
    Compare and Landscape among them, are not computed: the server log names the tabs rendered."""
    ui.load(page, app_server + "/")
    log = app_server_proc.log_path
    start = log.stat().st_size
    page.get_by_role("tab", name="Fit").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    ui.eventually(lambda: page.get_by_role("tab", selected=True).inner_text(), lambda t: t == "Tour")
    ui.main(page).get_by_role("button", name="Start the tour").wait_for(timeout=30000)
    with open(log, "rb") as f:
        f.seek(start)
        rendered = [ln.split(" tab ")[1].split()[0] for ln in f.read().decode(errors="replace").splitlines()
                    if "lmmviz.ui tab " in ln]
    assert rendered[-1:] == ["tour"], rendered
    assert not {"compare", "landscape", "effects"} & set(rendered), rendered
