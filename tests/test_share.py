"""App state <-> URL: round trips, data in the link, and tampered links that fall back."""

from __future__ import annotations

import base64
import zlib
from dataclasses import fields

import pytest

import lmmviz
from lmmviz.data import SimulationSettings
from lmmviz.share import _num  # noqa: E402  the notice shows defaults as the link writes them
from lmmviz.share import (
    DEFAULT, LAYERS, MAX_LINK_ROWS, MODEL_KEYS, SIM_PARAMS, TABS, LinkDataError, State, count_rows,
    decode_state, encode_state, fits_in_link, pack_data, query_string, share_url, shown, unpack_data,
)

SEED_CSV = lmmviz.data.example_bytes("seed").decode("utf-8")


def roundtrip(state: State) -> State:
    params = encode_state(state)
    back, notices = decode_state(params)
    assert notices == [], notices
    assert encode_state(back) == params
    return back


def test_default_state_is_an_empty_link():
    assert encode_state(DEFAULT) == {}
    state, notices = decode_state({})
    assert state == DEFAULT and notices == []
    assert DEFAULT.models == ("pooled", "per_group", "intercept", "slope")
    assert DEFAULT.opt == "robust" and DEFAULT.reml and DEFAULT.tab == "fit" and DEFAULT.tour is None


def test_simulator_parameters_follow_the_settings_fields_in_order():
    names = [f.name for f in fields(SimulationSettings)]
    assert [name for name, *_ in SIM_PARAMS.values()] == names
    assert list(SIM_PARAMS) == ["n", "m", "sp", "rg", "cf", "sl", "ssd", "sig", "b0", "bsd", "seed"]


@pytest.mark.parametrize("state", [
    State(opt="pybobyqa", models=("slope",), tab="compare"),
    State(src="preset", preset="many_subjects", ml=True, layers=("points", "pooled")),
    State(src="sim", sim=SimulationSettings(n_subjects=12, n_obs=7, dose_spacing=2.5, dose_range=4.0,
                                            confounding=-3.25, slope=1.5, slope_sd=0.0, sigma=0.75,
                                            intercept=-20.0, baseline_sd=12.5, seed=99)),
    State(models=(), layers=(), sel="2", xlab="dose (mg)", ylab="pain ∈ [0, 500]"),
    State(models=MODEL_KEYS, start=(300.0, 0.0, 1.5), step=0.25, ftol=1e-10, xtol=2e-9, maxeval=777,
          opt="nlopt_neldermead"),
    State(tab="tour", tour=3, models=("pooled", "slope"), opt="pybobyqa"),
    State(src="upload", data=SEED_CSV, y="pain", x="dosage", g="subject_id", sel="3"),
    State(src="edited", data="g,x,y\na,1,2\na,2,3.5\nb,1,7\nb,3,8\n", y="y", x="x", g="g"),
])
def test_encode_decode_round_trip(state):
    assert roundtrip(state) == state


def test_every_tab_and_layer_round_trips():
    for tab in TABS:
        assert roundtrip(State(tab=tab)).tab == tab
    for layer in LAYERS:
        assert roundtrip(State(layers=(layer,))).layers == (layer,)


def test_link_only_carries_what_differs_from_the_defaults():
    params = encode_state(State(opt="pybobyqa", ml=True))
    assert params == {"ml": "1", "opt": "pybobyqa"}
    assert query_string(State(models=("slope",))) == "models=slope"
    url = share_url("http://host:8501/app?old=1#frag", State(tab="data"))
    assert url == "http://host:8501/app?tab=data"
    assert share_url("http://host:8501/", DEFAULT) == "http://host:8501/"


def test_sim_link_writes_every_setting():
    params = encode_state(State(src="sim"))
    assert set(SIM_PARAMS) <= set(params)
    assert params["n"] == "3" and params["sp"] == "25" and params["ssd"] == "0.5"


def test_small_data_travels_in_the_link_and_large_does_not():
    assert pack_data(SEED_CSV) and unpack_data(pack_data(SEED_CSV)) == SEED_CSV
    small = "g,x,y\n" + "".join(f"{i % 7},{i},{i * 1.5}\n" for i in range(MAX_LINK_ROWS))
    big = small + "1,1,1\n"
    assert count_rows(small) == MAX_LINK_ROWS and fits_in_link(small)
    assert count_rows(big) == MAX_LINK_ROWS + 1 and not fits_in_link(big)
    assert "data" in encode_state(State(src="upload", data=small, y="y", x="x", g="g"))
    params = encode_state(State(src="upload", data=big, y="y", x="x", g="g"))
    assert "data" not in params and params["src"] == "upload"
    # opening such a link: the seed, and a notice saying to upload again
    state, notices = decode_state(params)
    assert state.src == "seed" and any("upload the file again" in n for n in notices)


def test_token_is_url_safe_and_compact():
    token = pack_data(SEED_CSV)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    text = lmmviz.simulate(lmmviz.PRESETS["many_subjects"]).head(200).to_csv(index=False)
    assert count_rows(text) == 200 and fits_in_link(text)
    assert len(pack_data(text)) < 0.7 * len(text)


def test_damaged_and_oversized_data_tokens_are_refused():
    with pytest.raises(LinkDataError):
        unpack_data("not base64 !!")
    with pytest.raises(LinkDataError):
        unpack_data(pack_data(SEED_CSV)[:-6])  # cut short
    bomb = base64.urlsafe_b64encode(zlib.compress(b"0" * 5_000_000, 9)).decode().rstrip("=")
    with pytest.raises(LinkDataError, match="too much"):
        unpack_data(bomb)
    with pytest.raises(LinkDataError, match="too long"):
        unpack_data("A" * 50_000)


NOT_ZLIB = base64.urlsafe_b64encode(b"this is not zlib data at all").decode().rstrip("=")
NOT_UTF8 = base64.urlsafe_b64encode(zlib.compress(b"g,x,y\n\xff\xfe,1,2\n")).decode().rstrip("=")
MANY_ROWS = pack_data("g,x,y\n" + "a,1,2\n" * 1001)

# (link parameters, what the rule guards, words of the notice that rule gives,
#  the value the page keeps for it when that is not the default)
TAMPERED = [
    ({"n": "abc"}, "n", "n=“abc” in the link: the simulator's “Subjects” must be a whole number; using 3"),
    ({"n": "1e9"}, "n", "n=“1e9” in the link: the simulator's “Subjects” must be between 2 and 20,000"),
    ({"n": "-5"}, "n", "n=“-5” in the link: the simulator's “Subjects” must be between 2 and 20,000"),
    ({"n": "9" * 5000}, "n", "the simulator's “Subjects” must be between 2 and 20,000"),
    ({"m": "2.5"}, "m", "the simulator's “Observations per subject” must be a whole number"),
    ({"sig": "nan"}, "sig", "sig=“nan” in the link: the simulator's “Residual SD” must be a number; using 3"),
    ({"sig": "inf"}, "sig", "sig=“inf” in the link: the simulator's “Residual SD” must be between 0 and 1,000,000"),
    ({"sp": "1e400"}, "sp", "the simulator's “Spacing of subjects' doses” must be between −1,000,000 and 1,000,000"),
    ({"seed": "1.5"}, "seed", "seed=“1.5” in the link: the simulator's “Random seed” must be a whole number; using 1"),
    ({"src": "sim", "n": "20000", "m": "1000"}, "simulator size",
     "20,000 subjects × 1,000 observations exceeds 2,000,000 rows; using the default size"),
    ({"opt": "evil; rm -rf /"}, "opt", "opt=“evil; rm -rf /” in the link: no optimizer has that name"),
    ({"opt": "<script>alert(1)</script>"}, "opt", "no optimizer has that name"),
    ({"models": "foo"}, "models", "unknown models in the link: “foo” (known: pooled, per_group, intercept, "
                                  "slope, uncorrelated, within_between); using the defaults."),
    ({"models": "slope,<img src=x>"}, "models", "unknown models in the link: “<img src=x>” (known:"),
    ({"tab": "<script>"}, "tab", "tab=“<script>” in the link: the tab must be one of fit, data, compare"),
    ({"tour": "99"}, "tour", "tour=“99” in the link: the tour step must be between 1 and 7; using no tour"),
    ({"tour": "two"}, "tour", "tour=“two” in the link: the tour step must be a whole number"),
    ({"start": "1,2,3,4"}, "start", "start θ has at most 3 numbers"),
    ({"start": "a,b"}, "start", "start=“a,b” in the link: start θ must be numbers separated by commas"),
    ({"start": ","}, "start", "start θ must be numbers separated by commas"),
    ({"start": "1e300"}, "start", "each start θ value must be between -100000000 and 100000000"),
    ({"maxeval": "0"}, "maxeval", "the maximum number of evaluations must be between 1 and 100,000; using 10,000"),
    ({"maxeval": "1000000000000"}, "maxeval", "the maximum number of evaluations must be between 1 and 100,000"),
    ({"maxeval": "12.5"}, "maxeval", "the maximum number of evaluations must be a whole number"),
    ({"step": "-1"}, "step", "step=“-1” in the link: the initial step must be a positive number"),
    ({"step": "1e7"}, "step", "the initial step must be at most 1000000"),
    ({"ftol": "zero"}, "ftol", "ftol=“zero” in the link: the tolerance on the criterion must be a number"),
    ({"xtol": "0"}, "xtol", "the tolerance on θ must be a positive number"),
    ({"ml": "maybe"}, "ml", "ml=“maybe” in the link: the fitting method (“Fit by”) must be 1 (maximum likelihood) or 0 (REML)"),
    ({"src": "ftp"}, "src", "src=“ftp” in the link: the data source must be one of seed, preset, sim"),
    ({"preset": "nope"}, "preset", "preset=“nope” in the link: the preset must be one of classic"),
    ({"src": "upload", "data": "!!!***"}, "data", "the data in the link has characters that do not belong there"),
    ({"src": "upload", "data": "A" * 30_000}, "data", "the data in the link is too long (30,000 characters)"),
    ({"src": "upload", "data": "AAAAA"}, "data", "the data in the link is damaged: a character is missing or extra"),
    ({"src": "upload", "data": NOT_ZLIB}, "data", "the data in the link is damaged: it does not unpack"),
    ({"src": "upload", "data": pack_data(SEED_CSV)[:-8]}, "data", "the data in the link is cut short"),
    ({"src": "upload", "data": NOT_UTF8}, "data", "the data in the link is not text"),
    ({"src": "upload", "data": MANY_ROWS}, "data", "the data in the link has 1,001 rows, more than a link carries"),
    ({"src": "upload"}, "src", "This link was made with an uploaded file that is not inside the link"),
    ({"sel": "x" * 1000}, "sel", "a subject label must be at most 200 characters; using no selection"),
    ({"sel": "\x01"}, "sel", "a subject label must have at least one printable character"),
    ({"xlab": "y" * 500}, "xlab", "an axis label must be at most 80 characters; using the column name"),
    ({"ylab": "\x00"}, "ylab", "an axis label must have at least one printable character"),
    ({"y": "\x00\x01"}, "y", "y=“??” in the link: a column name must have at least one printable character"),
    ({"g": "g" * 201}, "g", "a column name must be at most 200 characters; using a guessed column"),
    ({"tab": ["data", "fit"]}, "tab", "The link gives “tab” 2 times; the last value was used."),
    ({"utm_source": "mail"}, "unknown", "Ignored unknown link parameter “utm_source”."),
    ({"layers": "points,glitter"}, "layers", "unknown chart layers in the link: “glitter” (known: points,"),
]
# What the page keeps where the link's value was partly usable.
KEPT = {"models": ("slope",), "layers": ("points",)}


def kept(state: State, what: str):
    """The value of what a tampered parameter controls."""
    if what in SIM_PARAMS:
        return getattr(state.sim, SIM_PARAMS[what][0])
    if what == "simulator size":
        return state.sim.n_subjects, state.sim.n_obs
    if what == "unknown":
        return state
    return getattr(state, what)


@pytest.mark.parametrize("params,what,notice", TAMPERED, ids=[w + str(i) for i, (_, w, _) in enumerate(TAMPERED)])
def test_tampered_links_fall_back_with_the_notice_of_their_rule(params, what, notice):
    state, notices = decode_state(params)
    assert any(notice in n for n in notices), notices
    # the value the rule guards falls back (or keeps only its good part)
    if what == "tab" and isinstance(params["tab"], list):
        assert state.tab == "fit"
    elif what in KEPT and "," in params[what]:
        assert kept(state, what) == KEPT[what]
    else:
        assert kept(state, what) == kept(DEFAULT, what)
    assert all("\x00" not in n and "\n" not in n and len(n) < 600 for n in notices)
    # notices use the names a user sees, never the settings' field names
    internal = {f.name for f in fields(SimulationSettings)} - {"seed", "slope", "intercept", "confounding"}
    assert not any(name in n for n in notices for name in internal), notices
    # the page never ends up with a value outside the schema
    assert state.src in ("seed", "preset", "sim", "upload", "edited")
    assert state.opt in lmmviz.optimizer_names()
    assert set(state.models) <= set(MODEL_KEYS) and set(state.layers) <= set(LAYERS)
    assert state.tab in TABS and (state.tour is None or 1 <= state.tour <= 7)
    assert 1 <= state.maxeval <= 100_000
    state.sim.check()


def test_a_bug_in_the_decoder_is_raised_not_turned_into_defaults(monkeypatch):
    # Only the faults a link can carry become notices; anything else must surface.
    def broken():
        raise RuntimeError("registry broken")

    monkeypatch.setattr("lmmviz.share.optimizer_choices", broken)
    with pytest.raises(RuntimeError, match="registry broken"):
        decode_state({"opt": "pybobyqa"})


def test_each_bad_value_keeps_the_good_ones():
    state, notices = decode_state({"opt": "pybobyqa", "n": "abc", "src": "sim", "m": "6", "tab": "nope"})
    assert state.opt == "pybobyqa" and state.src == "sim"
    assert state.sim.n_subjects == DEFAULT.sim.n_subjects and state.sim.n_obs == 6
    assert state.tab == "fit"
    assert len(notices) == 2


def test_repeated_keys_use_the_last_value_with_a_notice():
    state, notices = decode_state({"opt": ["nlopt_bobyqa", "pybobyqa"]})
    assert state.opt == "pybobyqa"
    assert any("2 times" in n for n in notices)
    state, notices = decode_state({"opt": ["pybobyqa", "pybobyqa"]})
    assert state.opt == "pybobyqa" and notices == []


def test_unknown_models_are_dropped_and_known_ones_kept_in_order():
    state, notices = decode_state({"models": "slope,foo,pooled,slope"})
    assert state.models == ("pooled", "slope") and len(notices) == 1
    state, _ = decode_state({"models": "none"})
    assert state.models == ()


def test_streamlit_own_parameters_are_not_reported():
    state, notices = decode_state({"embed": "true", "embed_options": "light_theme"})
    assert notices == [] and state == DEFAULT


def test_notices_quote_user_input_safely():
    assert shown("a\x00b\nc" + "z" * 100).startswith("a?b?c")
    assert len(shown("z" * 100)) == 40
    _, notices = decode_state({"tab": "<b>\u202ebad</b>"})
    assert "\u202e" not in notices[0]


def test_decoded_sim_settings_make_the_same_data_as_the_cli():
    state, _ = decode_state({"src": "sim", "n": "4", "m": "3", "seed": "5"})
    a = lmmviz.simulate(state.sim)
    b = lmmviz.simulate(SimulationSettings(n_subjects=4, n_obs=3, seed=5))
    assert a.equals(b) and len(a) == 12


@pytest.mark.parametrize("key,text", [("n", "abc"), ("n", "1"), ("m", "2.5"), ("bsd", "-4"), ("seed", "-3")])
def test_simulator_notices_name_the_setting_as_the_data_tab_labels_it(key, text):
    """A bad simulator value in a link is named by its label on the Data tab
    ("Subjects"), never by the internal field name (n_subjects)."""
    from lmmviz.share import SIM_LABELS, SIM_PARAMS

    _, notices = decode_state({"src": "sim", key: text})
    (notice,) = notices
    field = SIM_PARAMS[key][0]
    assert f"“{SIM_LABELS[key]}”" in notice, notice
    if field != key:  # "seed" is both the link's key and the field
        assert field not in notice, notice
    assert f"using {_num(getattr(DEFAULT.sim, field))}." in notice


def test_simulator_labels_in_notices_match_the_data_tab():
    from lmmviz.share import SIM_LABELS
    from lmmviz.ui.data_tab import SIM_WIDGETS

    assert SIM_LABELS == {k: v[0] for k, v in SIM_WIDGETS.items()}


def test_range_notice_gives_the_limits_in_plain_digits():
    _, (notice,) = decode_state({"cf": "1e9"})
    assert "between \u22121,000,000 and 1,000,000" in notice, notice
    _, (notice,) = decode_state({"n": "99999"})
    assert "between 2 and 20,000" in notice and "n_subjects" not in notice, notice
