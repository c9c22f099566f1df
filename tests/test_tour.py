"""The guided tour: every claim in its text holds against the engine, every number in
the text is covered by a claim, and every step's link decodes into the state the app
shows."""

from __future__ import annotations

import re
import textwrap
from urllib.parse import parse_qsl, urlparse

import pytest

from lmmviz import tour
from lmmviz.share import MODEL_KEYS, TABS, decode_state


@pytest.fixture(scope="module")
def facts():
    return tour.seed_facts()


def test_seven_steps_in_order():
    assert tour.N_STEPS == 7 == len(tour.STEPS)
    assert [s.number for s in tour.STEPS] == list(range(1, 8))
    titles = [s.title.lower() for s in tour.STEPS]
    for words, title in zip(
        (("paradox",), ("random intercept",), ("random slope", "101.34"), ("landscape",),
         ("compare optimizers",), ("three subjects",), ("within-between",)), titles):
        assert all(w in title for w in words), title
    assert tour.step(0) is tour.STEPS[0] and tour.step(99) is tour.STEPS[-1]


@pytest.mark.parametrize("step", tour.STEPS, ids=lambda s: f"step{s.number}")
def test_every_claim_holds(step, facts):
    results = tour.check(step, facts)
    failed = [c.says for c, ok in results if not ok]
    assert not failed, failed
    assert len(results) >= 3


@pytest.mark.parametrize("step", tour.STEPS, ids=lambda s: f"step{s.number}")
def test_every_number_in_the_text_is_checked(step):
    assert _uncovered_numbers(step) == []
    # and no claim lists a number the text does not contain
    written = set(numbers_in(step.title + " " + step.text))
    for c in step.claims:
        assert set(c.numbers) <= written, (c.says, set(c.numbers) - written)


@pytest.mark.parametrize("step", tour.STEPS, ids=lambda s: f"step{s.number}")
def test_text_is_a_few_sentences_for_students(step):
    sentences = [x for x in step.text.replace("?", ".").split(". ") if x.strip()]
    assert 3 <= len(sentences) <= 9
    assert len(step.text) < 1100
    assert step.look and len(step.look) < 200


@pytest.mark.parametrize("step", tour.STEPS, ids=lambda s: f"step{s.number}")
def test_each_step_has_its_own_link_and_state(step):
    params = step.params
    assert params["tour"] == str(step.number) and params["src"] == "seed"
    assert params["tab"] in TABS
    assert set(params["models"].split(",")) <= set(MODEL_KEYS)
    state, notices = decode_state(params)
    assert notices == []
    assert state.tour == step.number and state.tab == params["tab"] and state.src == "seed"
    assert state.models == tuple(params["models"].split(","))
    assert state.opt == params.get("opt", "robust")
    link = step.link("http://localhost:8501/")
    assert urlparse(link).path == "/" and dict(parse_qsl(urlparse(link).query)) == params


def test_links_differ_and_steps_point_where_the_text_says():
    links = {s.link() for s in tour.STEPS}
    assert len(links) == 7
    tabs = [s.params["tab"] for s in tour.STEPS]
    assert tabs == ["fit", "fit", "fit", "landscape", "compare", "landscape", "fit"]
    # the stuck fit of step 3 uses an optimizer that stops at 101.34 from lme4's start
    assert tour.step(3).params["opt"] == "pybobyqa"


def test_numbers_and_rounding_helpers():
    assert numbers_in("lme4 gives −8.21 at θ = (1, 0, 1); 95% of 3.84") == ["8.21", "1", "0", "1", "95", "3.84"]
    assert tour.rounds_to(7.855254, "+7.86") and tour.rounds_to(-8.2149, "−8.21")
    assert not tour.rounds_to(7.855254, "7.85") and not tour.rounds_to(float("nan"), "1")
    assert tour.rounds_to(402.34, "402") and not tour.rounds_to(-8.16, "8.16")


def test_a_claim_that_fails_is_reported(facts):
    bad = tour.Step(9, "t", "x", "y", {}, (tour.Claim("never", (), lambda f: 1 / 0),
                                           tour.Claim("false", (), lambda f: False)))
    assert [ok for _, ok in tour.check(bad, facts)] == [False, False]


APP = textwrap.dedent('''
    import streamlit as st
    from lmmviz.ui import explore
    explore.render_tour(st.query_params.get("step") and int(st.query_params["step"]))
''')


def test_render_tour_buttons_queue_the_steps_state(tmp_path):
    from streamlit.testing.v1 import AppTest

    from lmmviz.ui.state import PENDING_KEY

    script = tmp_path / "tour_app.py"
    script.write_text(APP)
    at = AppTest.from_file(str(script), default_timeout=60)
    at.query_params["step"] = "3"
    at.run()
    assert not at.exception
    assert len(at.expander) == 7 and [e.label for e in at.expander][2].startswith("Step 3")
    assert any("tour=3" in c.value for c in at.code)
    at.button(key="tour_go_5").click().run()
    assert at.session_state[PENDING_KEY] == tour.step(5).params
    at.toggle(key="tour_check_3").set_value(True).run()
    assert not at.exception
    checks = [m.value for m in at.markdown if "check_circle" in m.value or "cancel" in m.value]
    assert len(checks) == len(tour.step(3).claims) and all("check_circle" in c for c in checks)


def _uncovered_numbers(s) -> list[str]:
    """Numbers written in the step's title or text that no claim of the step covers."""
    covered = {n for c in s.claims for n in c.numbers}
    return [n for n in numbers_in(s.title + " " + s.text) if n not in covered]


def numbers_in(text: str) -> list[str]:
    """Every number written in ``text`` (digits, optionally with decimals; signs
    are not part of it, and digits inside a word such as "lme4" do not count)."""
    return re.findall(r"(?<![A-Za-z_\d.])\d+(?:\.\d+)?", text)
