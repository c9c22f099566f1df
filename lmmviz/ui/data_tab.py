"""The Data tab: examples and the simulator, upload with column mapping, the table
editor, axis labels, the validation report and a preview."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pandas as pd
import streamlit as st

from lmmviz import describe
from lmmviz.simulator import PRESET_LABELS, PRESETS
from lmmviz.share import State

from . import compute
from .state import SIM_KEYS, STATE_KEY, UPLOAD_KEY
from .tables import md

# widget: (label, kind, min, max, step, help)
SIM_WIDGETS = MappingProxyType({
    "n": ("Subjects", "int", 2, 20_000, 1, "Number of subjects."),
    "m": ("Observations per subject", "int", 1, 1_000, 1, None),
    "sp": ("Spacing of subjects' doses", "slider", 0.0, 100.0, 0.5,
           "How far apart the subjects' dose levels are: subject i starts at i × spacing."),
    "rg": ("Each subject's dose range", "slider", 0.0, 50.0, 0.5, None),
    "cf": ("Confounding", "slider", -40.0, 40.0, 0.5,
           "How strongly baseline pain rises with a subject's dose level (per unit of dose), across "
           "subjects. This is what makes the pooled slope lie."),
    "sl": ("Within-subject slope", "slider", -30.0, 30.0, 0.5, "Mean change in pain per unit of dose, "
                                                                 "inside a subject."),
    "ssd": ("SD of slopes between subjects", "slider", 0.0, 20.0, 0.1, None),
    "sig": ("Residual SD", "slider", 0.0, 50.0, 0.5, None),
    "b0": ("Baseline pain at dose 0", "slider", -200.0, 400.0, 5.0, None),
    "bsd": ("SD of baselines", "slider", 0.0, 100.0, 1.0, None),
    "seed": ("Random seed", "int", 0, 2**31 - 1, 1, "The same seed gives the same data."),
})


def _to_sim() -> None:
    st.session_state["src"] = "sim"


def _on_upload() -> None:
    ss = st.session_state
    f = ss.get("upload")
    if f is None:
        ss.pop(UPLOAD_KEY, None)
        if ss.get("src") == "upload":
            ss["src"] = "seed"
        return
    ss[UPLOAD_KEY] = {"name": f.name, "bytes": f.getvalue()}
    ss["src"] = "upload"
    for key in ("map_y", "map_x", "map_g"):
        ss.pop(key, None)
    ss["sel"] = ""
    ss[STATE_KEY] = replace(ss.get(STATE_KEY, State()), y=None, x=None, g=None, data=None, sel=None)


def apply_edits(frame: pd.DataFrame, delta: dict) -> pd.DataFrame:
    """Apply ``st.data_editor``'s edits (edited, added and deleted rows) to ``frame``."""
    out = frame.reset_index(drop=True).copy()
    out = out.astype({c: object for c in out.columns})
    for idx, changes in (delta.get("edited_rows") or {}).items():
        i = int(idx)
        if 0 <= i < len(out):
            for col, value in changes.items():
                if col in out.columns:
                    out.at[i, col] = value
    deleted = [int(i) for i in (delta.get("deleted_rows") or []) if 0 <= int(i) < len(out)]
    out = out.drop(index=deleted)
    added = [r for r in (delta.get("added_rows") or []) if isinstance(r, dict)]
    if added:
        extra = pd.DataFrame([{c: r.get(c) for c in frame.columns} for r in added], columns=frame.columns)
        out = pd.concat([out, extra.astype(object)], ignore_index=True)
    return out.reset_index(drop=True)


def _on_edit(editor_key: str, base_csv: str, y: str, x: str, g: str) -> None:
    ss = st.session_state
    delta = ss.get(editor_key) or {}
    if not any(delta.get(k) for k in ("edited_rows", "added_rows", "deleted_rows")):
        return
    base = pd.read_csv(__import__("io").StringIO(base_csv), dtype={g: str}, keep_default_na=False,
                       na_values=[""])
    edited = apply_edits(base, delta)
    text = edited.to_csv(index=False)
    ss["src"] = "edited"
    ss[STATE_KEY] = replace(ss.get(STATE_KEY, State()), src="edited", data=text, y=y, x=x, g=g)
    ss["map_y"], ss["map_x"], ss["map_g"] = y, x, g


def render_data_tab(page) -> None:
    state, loaded, data = page.state, page.loaded, page.data
    # One slot, filled or not: the elements below keep their place in the page, so the
    # file uploader is not rebuilt (which dropped a file being uploaded) when an error
    # comes or goes between two runs.
    slot = st.empty()
    if loaded.error:
        slot.error(md(loaded.error), icon=":material/error:")
    left, right = st.columns([1, 1.15], gap="large")
    with left:
        _source_text(page)
        with st.expander("Simulator", expanded=state.src in ("sim", "preset")):
            _simulator(page)
        with st.expander("Upload a CSV or TSV file", expanded=state.src == "upload"):
            _upload(page)
        with st.expander("Axis labels and units"):
            st.text_input(f"x axis label (default: {md(data.x)})", key="xlab", max_chars=80,
                          placeholder="e.g. dosage (mg)")
            st.text_input(f"y axis label (default: {md(data.y)})", key="ylab", max_chars=80,
                          placeholder="e.g. pain (0-500 scale)")
    with right:
        st.markdown("## Validation")
        _report(page)
        st.vega_lite_chart(spec=page.chart_spec(selected=state.sel, height=300, interactive=False), width="stretch",
                           theme=None, alt=describe.fit_chart_alt(page.pooled, page.per_group, page.fits,
                                                                  page.data.x, page.data.y, page.unit))
    _editor(page)


def _source_text(page) -> None:
    s = page.state
    loaded = page.loaded
    if loaded.source == "seed":
        st.markdown("**Seed example.** Three subjects took four doses of a painkiller each. Inside every "
                    "subject pain falls with the dose; subjects on higher doses started far higher, so the "
                    "pooled line rises. These 12 rows come from the question that started lmmviz.")
    elif loaded.source == "preset":
        st.markdown(f"**Simulator preset: {md(PRESET_LABELS.get(s.preset, s.preset))}.** Its settings are "
                    "shown in the simulator below; change any of them to make it your own.")
    elif loaded.source == "sim":
        st.markdown("**Simulator.** The same generator as `python -m lmmviz simulate`; the same seed gives "
                    "the same data.")
    elif loaded.source == "upload":
        upload = st.session_state.get(UPLOAD_KEY)
        name = upload["name"] if upload else "from the link"
        st.markdown(f"**Uploaded file:** {md(name)}")
    elif loaded.source == "edited":
        st.markdown("**Edited table.** Your changes to the table below; the fits follow every edit.")


def _simulator(page) -> None:
    ss = st.session_state
    cols = st.columns(2)
    for i, (url, (label, kind, lo, hi, step, help_text)) in enumerate(SIM_WIDGETS.items()):
        key = SIM_KEYS[url]
        col = cols[i % 2]
        if kind == "int":
            col.number_input(label, min_value=int(lo), max_value=int(hi), step=int(step), key=key,
                             help=help_text, on_change=_to_sim)
        else:
            v = float(ss.get(key, 0.0))
            col.slider(label, min_value=min(float(lo), v), max_value=max(float(hi), v), step=float(step),
                       key=key, help=help_text, on_change=_to_sim)
    sim = page.state.sim
    if page.state.src == "preset":
        sim = PRESETS[page.state.preset]
    args = " ".join(f"--{name.replace('_', '-')} {v}" for name, v in sim.__dict__.items())
    st.caption("The same data from the command line:")
    st.code(f"python -m lmmviz simulate {args} --out sim.csv", language="bash", wrap_lines=True)
    rows = sim.n_subjects * sim.n_obs
    if rows > compute.MAX_ROWS:
        st.error(f"{rows:,} rows is more than the app simulates ({compute.MAX_ROWS:,}).")


def _upload(page) -> None:
    st.file_uploader("CSV or TSV, optionally gzip-compressed", type=["csv", "tsv", "txt", "tab", "gz"],
                     key="upload", on_change=_on_upload,
                     help=f"Up to {compute.MAX_ROWS:,} rows. Columns are guessed from their names and types; "
                          "change them below.")
    loaded = page.loaded
    cols = list(loaded.table_columns)
    if page.state.src not in ("upload", "edited") or not cols:
        st.caption("Any table with a group column (e.g. subject), a numeric x and a numeric y.")
        return
    ss = st.session_state
    guessed = loaded.guessed
    c1, c2, c3 = st.columns(3)
    for col, key, label, role in ((c1, "map_g", "Group column", "g"), (c2, "map_x", "x column", "x"),
                                  (c3, "map_y", "y column", "y")):
        if ss.get(key) not in cols:
            ss[key] = guessed.get(role) if guessed.get(role) in cols else cols[0]
        col.selectbox(label, cols, key=key)
    if loaded.table is not None:
        st.caption(f"Preview of the file ({loaded.raw_rows:,} rows, first 100 shown, as read):")
        st.dataframe(preview_frame(loaded.table.frame), width="stretch", height=220)
        if loaded.table.notes:
            st.caption(md("; ".join(loaded.table.notes)))


def preview_frame(frame: pd.DataFrame, rows: int = 100) -> pd.DataFrame:
    """The first rows of a file as read, safe to show: column names made unique (Arrow
    refuses duplicates, e.g. two unused columns called "note")."""
    head = frame.head(rows).copy()
    seen: dict[str, int] = {}
    names = []
    for c in map(str, head.columns):
        seen[c] = seen.get(c, 0) + 1
        names.append(c if seen[c] == 1 else f"{c} ({seen[c]})")
    while len(set(names)) < len(names):  # "note (2)" was itself a column name
        names = [f"{n} [{i + 1}]" for i, n in enumerate(names)]
    head.columns = names
    return head


def _report(page) -> None:
    data = page.data
    n_groups = len(page.per_group) if page.per_group is not None else 0
    line = (f"{data.report()} Columns: group **{md(data.group)}**, x **{md(data.x)}**, y **{md(data.y)}**; "
            f"{n_groups:,} {page.unit}s.")
    if data.dropped:
        st.warning(md(data.report()), icon=":material/filter_alt:")
        st.caption(line)
    else:
        st.success(line, icon=":material/check:")
    for note in getattr(data, "notes", ()) or ():
        st.caption(md(note))
    if page.per_group is not None:
        single = int((page.per_group["n"] < 2).sum())
        flat = int(page.per_group["slope"].isna().sum())
        if single or flat:
            st.caption(md(f"{flat:,} {page.unit}s have fewer than two distinct x values: they have no own "
                          f"OLS line ({single:,} have a single row)."))


def _editor(page) -> None:
    data = page.data
    st.markdown("## Edit the data")
    if data.n_obs > compute.MAX_EDIT_ROWS:
        st.caption(f"The editor takes data sets up to {compute.MAX_EDIT_ROWS:,} rows; this one has "
                   f"{data.n_obs:,}. Download the CSV, edit it and upload it.")
        return
    st.caption("Change a value, add a row at the bottom or delete rows, and every fit follows. Try moving one "
               f"{page.unit}'s points and watch the slopes.")
    frame = data.frame.reset_index(drop=True)
    base_csv = frame.to_csv(index=False)
    editor_key = f"editor_{compute.digest(base_csv.encode())[:12]}"
    st.data_editor(
        frame, key=editor_key, num_rows="dynamic", width="stretch", height=min(420, 38 + 35 * (len(frame) + 1)),
        on_change=_on_edit, args=(editor_key, base_csv, data.y, data.x, data.group),
        column_config={
            data.group: st.column_config.TextColumn(data.group, required=True, max_chars=200),
            data.x: st.column_config.NumberColumn(data.x, required=True),
            data.y: st.column_config.NumberColumn(data.y, required=True),
        },
    )
