"""Tampered links opened in a real browser: each shows a visible notice (quoting the bad
value as text) and the default for what was bad, never an exception, a console error,
a dialog or user markup in the DOM. Each link is opened in a new page (a new Streamlit
session)."""

from __future__ import annotations

import base64
import zlib
from urllib.parse import parse_qs, quote

import pytest

import app_ui as ui
from helpers import exception_texts, shot
from lmmviz.share import DEFAULT, decode_state, encode_state, pack_data

SMALL_CSV = "subject,dose,pain\n" + "".join(f"{s},{d},{100 - 8 * d + 30 * i}\n" for i, s in enumerate("ABC")
                                            for d in range(4))
BOMB = base64.urlsafe_b64encode(zlib.compress(b"a,b,c\n" + b"1,2,3\n" * 200_000, 9)).decode().rstrip("=")
NOT_ZLIB = base64.urlsafe_b64encode(b"this is not zlib data at all").decode().rstrip("=")
CUT_SHORT = pack_data(SMALL_CSV)[:-12]

# name -> (query string, words the notice must contain, state expected: "default" or a dict
# of parameters the page keeps)
LINKS = {
    # wrong types
    "n_text": ("src=sim&n=abc", ["n=“abc”", "whole number"], {"src": "sim"}),
    "several_wrong_types": ("ml=maybe&maxeval=12.5&start=one,two",
                            ["ml=“maybe”", "maxeval=“12.5”", "start=“one,two”"], "default"),
    # out of range
    "n_one": ("src=sim&n=1", ["n=“1”", "between 2 and 20,000"], {"src": "sim"}),
    "maxeval_zero": ("maxeval=0", ["maxeval=“0”"], "default"),
    "several_out_of_range": ("step=-5&tour=99&start=1,2,3,4",
                             ["step=“-5”", "positive", "tour=“99”", "start=“1,2,3,4”"], "default"),
    # enormous values
    "n_huge": ("src=sim&n=99999999999999999999&sp=1e308", ["n=“99999999999999999999”", "sp=“1e308”"],
               {"src": "sim"}),
    "maxeval_inf": ("maxeval=1e400", ["maxeval=“1e400”"], "default"),
    "sim_too_big": ("src=sim&n=20000&m=1000", ["exceeds 2,000,000 rows"], {"src": "sim", "n": "3"}),
    "models_huge": ("models=" + "slope," * 3000 + "x", ["Ignored unknown models", "“x”"],
                    {"models": "slope"}),
    "ylab_long": ("ylab=" + "y" * 300, ["ylab=“yyyy", "at most 80"], "default"),
    # unknown keys and values
    "unknown_keys": ("foo=bar&utm_source=mail&x1=2", ["unknown link parameters", "“foo”", "“utm_source”"], "default"),
    "unknown_opt": ("opt=simulated_annealing", ["opt=“simulated_annealing”", "no optimizer"], "default"),
    "unknown_models": ("models=quadratic&layers=sparkles&tab=settings",
                       ["Ignored unknown models", "“quadratic”", "using the defaults", "“sparkles”",
                        "tab=“settings”"], "default"),
    "unknown_preset": ("src=preset&preset=../../etc/passwd", ["preset=“../../etc/passwd”"], {"src": "preset"}),
    # corrupted or oversized data
    "data_bad_chars": ("src=upload&data=!!!not*base64", ["data in the link has characters"], "default"),
    "data_not_zlib": (f"src=upload&data={NOT_ZLIB}", ["data in the link is damaged"], "default"),
    "data_too_long": ("src=upload&data=" + "A" * 30_000, ["too long (30,000 characters)"], "default"),
    "data_bomb": (f"src=upload&data={BOMB}", ["unpacks to too much text"], "default"),
    "upload_without_data": ("src=upload&y=pain", ["upload the file again"], "default"),
    "data_wrong_column": (f"src=upload&data={pack_data(SMALL_CSV)}&y=nonexistent",
                          ["y=“nonexistent”", "no such column"], {"src": "upload", "y": "pain"}),
    # script injection
    "opt_script": ("opt=" + quote("<script>alert(1)</script>"), ["opt=“<script>alert(1)</script>”"], "default"),
    "src_img": ("src=" + quote("<img src=x onerror=alert(1)>"), ["src=“<img src=x onerror=alert(1)>”"], "default"),
    "sel_script": ("sel=" + quote("<script>alert(1)</script>"), ["sel=“<script>alert(1)</script>”",
                                                                   "no subject"], "default"),
    "key_script": (quote("<script>alert(1)</script>") + "=1", ["unknown link parameter", "“<script>alert(1)</s…”"],
                   "default"),
    "md_link_and_bytes": ("tab=" + quote("[click](javascript:alert(1))") + "&g=%00%01&opt=%FF%FE",
                          ["tab=“[click](javascript:alert(1))”", "g=“??”", "opt=“"], "default"),
    # repeated keys
    "repeated_seed": ("src=sim&seed=1&seed=2", ["“seed” 2 times", "last value"], {"src": "sim", "seed": "2"}),
    "repeated_opt": ("opt=pybobyqa&opt=bogus", ["“opt” 2 times", "opt=“bogus”"], "default"),
}
# Labels that are valid text are kept, and shown as text (no notice needed, no markup).
TEXT_LINKS = {
    "xlab_img": "xlab=" + quote("<img src=x onerror=alert(1)>"),
    "ylab_script": "ylab=" + quote("<script>alert('y')</script>"),
}


def read(page, name: str, url: str) -> dict:
    ui.load(page, url)
    r = {
        "notice": ui.notices(page),
        "exceptions": exception_texts(page),
        "console": list(page.console_errors),
        "dialogs": list(page.dialogs),
        "query": ui.query(page),
        "captions": ui.metric_captions(page) if ui.open_tab_name(page) == "Fit" else None,
        "dom": ui.no_user_html(page),
        "chart_texts": ui.chart_texts(page) if name in TEXT_LINKS else [],
    }
    if name in ("opt_script", "data_bomb", "several_out_of_range"):
        shot(page, f"tampered_{name}")
    return r


@pytest.fixture
def opened(page, app_server):
    """Open one link in a new session and read what the page shows."""
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return lambda name: read(page, name, f"{app_server}/?{LINKS[name][0] if name in LINKS else TEXT_LINKS[name]}")


def _clean(r) -> None:
    assert r["exceptions"] == [], r["exceptions"]
    assert r["console"] == [], r["console"]
    assert r["dialogs"] == [], r["dialogs"]
    assert r["dom"] == ui.NO_USER_HTML, r["dom"]


def test_at_least_20_links():
    assert len(LINKS) >= 20


@pytest.mark.parametrize("name", list(LINKS))
def test_tampered_link(opened, name):
    query, words, expected = LINKS[name]
    r = opened(name)
    _clean(r)
    notice = " ".join(r["notice"].split())
    assert notice.startswith("Parts of the link could not be used:"), (name, r["notice"])
    for w in words:
        assert w in notice, (name, w, notice)
    # What was bad fell back to its default: the page's own link holds only what was good.
    if expected == "default":
        assert r["query"] == {}, (name, r["query"])
        assert r["captions"] is not None and "REML 77.4" in r["captions"] and "REML 68.1" in r["captions"], r
    else:
        got = {k: v[-1] for k, v in r["query"].items()}
        for k, v in expected.items():
            assert got.get(k) == v, (name, k, got)
        # ... and equals what decoding the link gives (the app applied exactly that).
        state, _ = decode_state(parse_qs(query, keep_blank_values=True))
        if name not in ("data_wrong_column",):
            assert got == encode_state(state), (name, got, encode_state(state))


@pytest.mark.parametrize("name", list(TEXT_LINKS))
def test_label_markup_is_text(opened, name):
    r = opened(name)
    _clean(r)
    assert r["notice"] == ""
    label = parse_qs(TEXT_LINKS[name])[TEXT_LINKS[name].split("=")[0]][0]
    assert label in r["chart_texts"], (label, r["chart_texts"])
    assert r["query"] == parse_qs(TEXT_LINKS[name])


def test_notice_can_be_dismissed(page, app_server):
    ui.load(page, app_server + "/?opt=bogus&tab=nowhere")
    assert "opt=“bogus”" in ui.notices(page) and "tab=“nowhere”" in ui.notices(page)
    ui.click_button(page, "Dismiss")
    assert ui.notices(page) == ""
    assert "REML 68.1" in ui.metric_captions(page)
    ui.assert_clean(page)


def test_default_state_is_really_default():
    """(The expectations above rely on it: the seed, the four default models.)"""
    assert encode_state(DEFAULT) == {}
