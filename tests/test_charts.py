"""The main chart's spec, read through ``to_dict()``: which layers exist, with which encodings."""

from __future__ import annotations

import numpy as np
import pytest

import lmmviz
from lmmviz.charts import (
    LAYERS, chart_frames, chart_png, chart_svg, find_layer, fit_chart, layer_names, signed, static_spec,
    unit_word,
)


@pytest.fixture(scope="module")
def seed_parts():
    data = lmmviz.seed()
    fits = {m: lmmviz.fit(data, m) for m in ("intercept", "slope")}
    return data, fits, lmmviz.pooled_ols(data), lmmviz.per_group_ols(data)


@pytest.fixture(scope="module")
def seed_frames(seed_parts):
    data, fits, pooled, per_group = seed_parts
    return chart_frames(data, fits, pooled, per_group)


@pytest.fixture(scope="module")
def seed_spec(seed_frames):
    return fit_chart(seed_frames, x_title="dosage", y_title="pain", group_title="subject_id").to_dict()


def test_frames_hold_points_subject_lines_and_population_lines(seed_frames):
    fr = seed_frames
    assert len(fr.points) == 12 and fr.subjects == ("1", "2", "3") and not fr.sampled
    assert {"subject", "x", "y", "fit_intercept", "fit_slope"} <= set(fr.points.columns)
    sl = fr.subject_lines
    # two rows (x_min, x_max) per subject and line kind: own OLS, random intercept, random slope
    assert sorted(sl["model"].value_counts().to_dict().items()) == [("intercept", 6), ("per_group", 6), ("slope", 6)]
    own = sl[sl["model"] == "per_group"].drop_duplicates("subject").set_index("subject")["slope"]
    assert np.round(own.to_numpy(), 2).tolist() == [-7.47, -6.27, -10.94]
    s1 = sl[(sl["model"] == "per_group") & (sl["subject"] == "1")]
    assert s1["x"].tolist() == [1.0, 4.0]
    pop = fr.population.drop_duplicates("model").set_index("model")
    assert pop.loc["pooled", "slope"] == pytest.approx(7.855254, abs=1e-5)
    assert pop.loc["intercept", "slope"] == pytest.approx(-8.1568, abs=1e-3)
    assert pop.loc["slope", "slope"] == pytest.approx(-8.2150, abs=1e-3)
    assert pop.loc["pooled", "text"] == "Pooled OLS +7.86"
    assert pop.loc["intercept", "text"] == "Random intercept \u22128.16"
    # population lines span the whole x range
    assert sorted(fr.population[fr.population["model"] == "slope"]["x"]) == [1.0, 54.0]


def test_fitted_values_in_the_tooltips_match_the_fit(seed_parts, seed_frames):
    data, fits, *_ = seed_parts
    np.testing.assert_allclose(seed_frames.points["fit_slope"], fits["slope"].fitted)


def test_every_layer_is_named_and_drawn(seed_spec):
    assert layer_names(seed_spec) == ["points", "per_group", "subject_lines", "pooled", "population",
                                      "labels_halo", "labels", "labels_below_halo", "labels_below"]
    assert seed_spec["height"] == 400 and seed_spec["width"] == "container"
    assert seed_spec["resolve"] == {"scale": {"color": "independent", "strokeDash": "independent"}}


def test_points_layer_encodings(seed_spec):
    pts = find_layer(seed_spec, "points")
    enc = pts["encoding"]
    assert pts["mark"]["type"] == "point" and pts["mark"]["filled"] is True
    assert enc["x"]["field"] == "x" and enc["x"]["title"] == "dosage"
    assert enc["y"]["field"] == "y" and enc["y"]["title"] == "pain"
    assert enc["color"]["field"] == "subject" and enc["color"]["legend"]["title"] == "subject_id"
    assert enc["color"]["scale"]["domain"] == ["1", "2", "3"]
    tips = [t["field"] for t in enc["tooltip"]]
    assert tips == ["subject", "x", "y", "fit_intercept", "fit_slope"]
    assert enc["opacity"]["condition"]["param"] == "pick"


def test_selection_highlights_a_subject_by_click_or_legend(seed_spec, seed_frames):
    params = {p["name"]: p for p in seed_spec["params"]}
    pick = params["pick"]
    assert pick["select"]["type"] == "point" and pick["select"]["fields"] == ["subject"]
    assert pick["bind"] == "legend" and pick["views"] == ["points"]
    assert params["zoom"]["bind"] == "scales"
    for name in ("per_group", "subject_lines"):
        assert find_layer(seed_spec, name)["encoding"]["opacity"]["condition"]["param"] == "pick"
    preselected = fit_chart(seed_frames, selected="2").to_dict()
    pick = next(p for p in preselected["params"] if p["name"] == "pick")
    assert pick["value"] == [{"subject": "2"}]
    # an unknown label is not preselected
    nothing = fit_chart(seed_frames, selected="nobody").to_dict()
    assert "value" not in next(p for p in nothing["params"] if p["name"] == "pick")


def test_within_subject_lines_are_coloured_by_subject_and_dashed_by_model(seed_spec):
    sl = find_layer(seed_spec, "subject_lines")
    enc = sl["encoding"]
    assert sl["mark"]["type"] == "line"
    assert enc["color"]["field"] == "subject" and enc["color"]["legend"] is None
    assert enc["detail"]["field"] == "subject"
    assert enc["strokeDash"]["field"] == "label"
    assert enc["strokeDash"]["scale"]["domain"] == ["Own OLS line", "Random intercept", "Random slope"]
    assert enc["strokeDash"]["title"] == "Within each subject" and enc["strokeDash"]["legend"]["orient"] == "bottom"
    assert [t["field"] for t in enc["tooltip"]] == ["subject", "label", "slope", "intercept"]


def test_pooled_and_population_lines_have_their_own_colours_and_legend(seed_spec):
    pooled = find_layer(seed_spec, "pooled")
    pop = find_layer(seed_spec, "population")
    assert pooled["encoding"]["color"]["field"] == "label"
    domain = pooled["encoding"]["color"]["scale"]["domain"]
    assert domain == ["Pooled OLS (ignores subjects)", "Random intercept: population line",
                      "Random slope: population line"]
    assert pooled["encoding"]["strokeDash"]["scale"]["range"][0] == [9, 5]  # pooled is dashed
    assert pooled["encoding"]["color"]["title"] == "Pooled and population lines"
    assert pooled["encoding"]["color"]["legend"]["orient"] == "bottom"
    assert pop["encoding"]["color"]["legend"] is None
    # on a phone the longest names ("Uncorrelated random slope: population line") wrap instead of being cut
    expr = pooled["encoding"]["color"]["legend"]["labelExpr"]
    assert "width <" in expr and "split(datum.label, ': ')" in expr
    assert pop["mark"]["strokeWidth"] > find_layer(seed_spec, "subject_lines")["mark"]["strokeWidth"]
    texts = [r["text"] for r in seed_spec["datasets"][find_layer(seed_spec, "labels")["data"]["name"]]]
    below = [r["text"] for r in seed_spec["datasets"][find_layer(seed_spec, "labels_below")["data"]["name"]]]
    assert texts == ["Pooled OLS +7.86"]
    assert sorted(below) == ["Random intercept \u22128.16", "Random slope \u22128.215"]


@pytest.mark.parametrize("layers,expected", [
    (("points",), ["points"]),
    (("points", "pooled"), ["points", "pooled", "labels_halo", "labels"]),
    (("population",), ["points", "population", "labels_below_halo", "labels_below"]),
    (("subject_lines", "per_group"), ["points", "per_group", "subject_lines"]),
    ((), ["points"]),
])
def test_layer_toggles(seed_frames, layers, expected):
    spec = fit_chart(seed_frames, layers=layers).to_dict()
    assert layer_names(spec) == expected
    pts = find_layer(spec, "points")
    visible = pts["encoding"]["opacity"]["condition"]["value"]
    assert (visible > 0) == ("points" in layers)


def test_many_subjects_stay_readable():
    data = lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS["many_subjects"]))
    fits = {"intercept": lmmviz.fit(data, "intercept")}
    fr = chart_frames(data, fits, lmmviz.pooled_ols(data), lmmviz.per_group_ols(data))
    assert fr.n_subjects == 200 and len(fr.subjects) == 200 and len(fr.points) == 1000
    spec = fit_chart(fr).to_dict()
    pts = find_layer(spec, "points")
    assert pts["encoding"]["color"]["legend"] is None  # no 200-entry legend
    assert "bind" not in next(p for p in spec["params"] if p["name"] == "pick")  # click on points instead
    assert pts["mark"]["size"] < 70
    assert find_layer(spec, "subject_lines")["mark"]["strokeWidth"] < 2


def test_large_data_are_thinned_for_drawing_and_the_selection_kept():
    data = lmmviz.frame_to_data(lmmviz.simulate(n_subjects=2000, n_obs=5, dose_spacing=0.1, seed=3))
    fr = chart_frames(data, {}, lmmviz.pooled_ols(data), lmmviz.per_group_ols(data), max_points=800,
                      max_subjects=150, keep="1999")
    assert fr.sampled and fr.n_subjects == 2000 and fr.n_points == 10_000
    assert len(fr.subjects) == 150 and "1999" in fr.subjects
    assert len(fr.points) == 750 and set(fr.points["subject"]) <= set(fr.subjects)
    again = chart_frames(data, {}, None, lmmviz.per_group_ols(data), max_points=800, max_subjects=150,
                         keep="1999")
    assert again.subjects == fr.subjects  # reproducible


def _label_centres(spec: dict) -> list[tuple[float, float, str]]:
    """(x, y of the label's centre in pixels from the top of the plot, text) of every
    line label, from the spec: the row's y on the y scale plus the text mark's dy."""
    y0, y1 = find_layer(spec, "points")["encoding"]["y"]["scale"]["domain"]
    height = spec["height"]
    out = []
    for name in ("labels", "labels_below"):
        layer = find_layer(spec, name)
        if layer is None:
            continue
        for r in spec["datasets"][layer["data"]["name"]]:
            out.append((r["x"], (y1 - r["y"]) / (y1 - y0) * height + layer["mark"]["dy"], r["text"]))
    return out


@pytest.fixture(scope="module")
def many_frames():
    data = lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS["many_subjects"]))
    fits = {m: lmmviz.fit(data, m) for m in ("intercept", "slope")}
    return chart_frames(data, fits, lmmviz.pooled_ols(data), lmmviz.per_group_ols(data))


@pytest.mark.parametrize("height", [400, 300])
def test_labels_stay_inside_the_plot_and_apart(many_frames, height):
    # 200 subjects: both mixed models' lines end at the bottom of the plot, where the x ticks are
    many_spec = fit_chart(many_frames, height=height).to_dict()
    labels = _label_centres(many_spec)
    assert sorted(t for *_, t in labels) == ["Pooled OLS +8.99", "Random intercept \u22127.92",
                                              "Random slope \u22127.93"]
    height = many_spec["height"]
    for _, y, text in labels:  # a 12 px label centred 10 px inside: clear of the axis and its ticks
        assert 10 <= y <= height - 10, (text, y)
    below = sorted(y for x, y, t in labels if "Random" in t)
    assert below[1] - below[0] >= 14  # two labels at the same x do not overprint (12 px text)


def test_labels_of_the_seed_are_inside_the_plot(seed_spec):
    for _, y, text in _label_centres(seed_spec):
        assert 10 <= y <= seed_spec["height"] - 10, (text, y)


def test_subject_lines_are_drawn_over_small_half_filled_points(seed_spec):
    names = layer_names(seed_spec)
    # points first: every line of a subject is drawn on top of its points
    assert names.index("points") < names.index("per_group") < names.index("subject_lines")
    pts = find_layer(seed_spec, "points")["mark"]
    line = find_layer(seed_spec, "subject_lines")["mark"]
    # the points let the lines through them: small, their fill half transparent
    assert pts["size"] <= 50 and pts["fillOpacity"] <= 0.5
    assert line["strokeWidth"] >= 2.5


def test_population_lines_fit_in_the_plot_and_are_clipped(seed_frames, seed_spec):
    y0, y1 = find_layer(seed_spec, "points")["encoding"]["y"]["scale"]["domain"]
    pop = seed_frames.population
    # the random-slope population line starts above every point (536 at dosage 1): the axis makes room
    assert pop["y"].max() > seed_frames.points["y"].max() + 30
    assert y0 <= pop["y"].min() and pop["y"].max() <= y1
    for name in ("pooled", "population"):
        assert find_layer(seed_spec, name)["mark"]["clip"] is True


def test_a_far_away_population_line_is_clipped_not_followed(seed_parts):
    data, fits, pooled, per_group = seed_parts
    fr = chart_frames(data, fits, pooled, per_group)
    pop = fr.population.copy()
    pop.loc[pop["model"] == "slope", "y"] = [5000.0, -5000.0]  # a line far off the data
    far = type(fr)(fr.points, fr.subject_lines, pop, fr.subjects, fr.n_subjects, fr.n_points, fr.unit)
    spec = fit_chart(far).to_dict()
    y0, y1 = find_layer(spec, "points")["encoding"]["y"]["scale"]["domain"]
    span = fr.points["y"].max() - fr.points["y"].min()
    assert span / (y1 - y0) >= 0.4  # the data keep a good part of the plot...
    assert y0 > -5000 and y1 < 5000  # ...and the far line runs out of it, clipped
    assert find_layer(spec, "population")["mark"]["clip"] is True


def test_within_between_draws_the_between_line():
    data = lmmviz.seed()
    wb = lmmviz.fit(data, "within_between")
    fr = chart_frames(data, {"within_between": wb}, None, lmmviz.per_group_ols(data))
    pop = fr.population.drop_duplicates("model").set_index("model")
    assert pop.loc["within_between", "slope"] == pytest.approx(7.9035, abs=1e-3)
    assert pop.loc["within_between", "label"] == "Within-between: between-subject line"
    lines = fr.subject_lines[fr.subject_lines["model"] == "within_between"]
    assert np.allclose(lines["slope"], wb.beta[1])


def test_exports_png_and_svg(seed_spec):
    png = chart_png(seed_spec, width=500, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    svg = chart_svg(seed_spec, width=500)
    assert svg.lstrip().startswith("<svg") and "Pooled OLS +7.86" in svg
    static = static_spec(seed_spec)
    assert static["width"] == 760 and [p["name"] for p in static["params"]] == ["pick"]


def test_small_helpers():
    assert signed(7.8553) == "+7.86" and signed(7.855) == "+7.855" and signed(-8.157) == "\u22128.16" and signed(0.0) == "0.00"
    assert signed(float("nan")) == "n/a"
    assert unit_word("subject_id") == "subject" and unit_word("Subject") == "subject"
    assert unit_word("school") == "school" and unit_word("Chick") == "chick" and unit_word("batch") == "group"
    assert set(LAYERS) == {"points", "subject_lines", "population", "pooled", "per_group"}


def test_signed_adds_a_digit_on_a_rounding_boundary():
    """The seed's random-slope optimum is -8.21498 (lme4: -8.2150): at two decimals it sits on
    the boundary between -8.21 and -8.22, so which one shows would hang on an optimizer's last bits."""
    from lmmviz.charts import signed

    assert signed(-8.21498081) == signed(-8.2150281) == "\u22128.215"
    assert signed(7.855254) == "+7.86" and signed(-8.1568038) == "\u22128.16" and signed(7.2037) == "+7.20"
    assert signed(0.0) == "0.00" and signed(float("nan")) == "n/a"


def test_palette_dark_shades_first_and_a_shape_per_shade():
    from lmmviz.palette import subject_colors, subject_shapes

    light = {"#CC99BB", "#77AADD", "#77CCCC", "#88CCAA", "#DDDD77", "#DDAA77", "#DD7788"}
    six = subject_colors([str(i) for i in range(6)])
    assert len(set(six)) == 6 and not {"#F0E442", "#000000"} & set(six)  # faint yellow and black come last
    fourteen = subject_colors([str(i) for i in range(14)])
    assert len(set(fourteen)) == 14 and not light & set(fourteen)  # 14 subjects need no light shade
    many = subject_colors([str(i) for i in range(22)])
    assert len(set(many[:21])) == 21 and many[21] == many[0]  # then the 21 colours repeat
    assert subject_shapes(["a", "b", "c"]) is None
    assert subject_shapes([str(i) for i in range(14)]) == ["circle"] * 7 + ["square"] * 7
