"""Write the malformed-file corpus and its manifest (``python tests/corpus/make_corpus.py``).

Every file is small and committed; the script is kept so that the corpus can be
re-made and read. ``manifest.json`` lists, for each file, what it is and one or
more cases (columns, model, expected outcome):

* ``{"outcome": "error", "phrase": ...}`` — ``load``/``fit`` raise a ``DataError``
  whose one-line message contains ``phrase`` (case-insensitive); the CLI exits 2.
* ``{"outcome": "fit", "n_obs": ..., "dropped_rows": ..., "n_groups": ...,
  "criterion": ...}`` — a fit with these numbers. ``criterion`` (when present) is
  computed here, independently of lmmviz, by a dense O(n³) evaluation of lme4's
  profiled REML criterion for the random-intercept model on the data as it should
  be read, minimised over θ by a grid plus Brent's method.

Some cases are generated at test time instead of being committed (``generate``):
the one-megabyte fields.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

HERE = Path(__file__).parent
FILES: dict[str, bytes] = {}
MANIFEST: dict[str, dict] = {}


# --------------------------------------------------------------------------- independent criterion


def dense_criterion(groups, x, y, reml: bool = True) -> float:
    """lme4's profiled criterion for ``y ~ x + (1 | g)`` by dense linear algebra.

    For θ: V0 = I + θ² Z Z'; β̂ = GLS; r = y − Xβ̂; s = r'V0⁻¹r. REML:
    log|V0| + log|X'V0⁻¹X| + (n−p)(1 + log(2π s/(n−p))); ML: log|V0| + n(1 + log(2π s/n)).
    """
    groups = np.asarray(groups).astype(str)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(y)
    levels, codes = np.unique(groups, return_inverse=True)
    Z = np.zeros((n, len(levels)))
    Z[np.arange(n), codes] = 1.0
    X = np.column_stack([np.ones(n), x])
    p = X.shape[1]
    ZZ = Z @ Z.T

    def crit(theta: float) -> float:
        V = np.eye(n) + theta**2 * ZZ
        L = np.linalg.cholesky(V)
        Xs = np.linalg.solve(L, X)
        ys = np.linalg.solve(L, y)
        beta, *_ = np.linalg.lstsq(Xs, ys, rcond=None)
        r = ys - Xs @ beta
        s = float(r @ r)
        logdet_v = 2 * np.log(np.diag(L)).sum()
        if reml:
            sign, logdet_x = np.linalg.slogdet(Xs.T @ Xs)
            return logdet_v + logdet_x + (n - p) * (1 + math.log(2 * math.pi * s / (n - p)))
        return logdet_v + n * (1 + math.log(2 * math.pi * s / n))

    grid = np.concatenate([[0.0], np.logspace(-4, 3, 300)])
    vals = [crit(t) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    if i == 0:
        return float(vals[0])
    res = minimize_scalar(crit, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    return float(min(res.fun, vals[i]))


# --------------------------------------------------------------------------- base data

# Six subjects, five rows each; x varies within and between subjects. Values are
# written with at most one decimal so that every encoding below reads them exactly.
_rng = np.random.default_rng(20240611)
LABELS = ["A", "B", "C", "D", "E", "F"]
BASE_G = np.repeat(LABELS, 5)
BASE_X = np.round(np.tile(np.arange(5.0), 6) + np.repeat(np.arange(6) * 1.5, 5), 1)
BASE_Y = np.round(
    40 + np.repeat(_rng.normal(0, 4, 6), 5) - 1.5 * BASE_X + _rng.normal(0, 1.5, 30), 1
)
HEADER = ("subject", "dose", "pain")
COLS = {"y": "pain", "x": "dose", "group": "subject"}


def rows_text(g, x, y, sep=",", decimal=".", header=HEADER, eol="\n") -> str:
    def num(v):
        s = f"{v:g}" if isinstance(v, float) else str(v)
        return s.replace(".", decimal) if decimal != "." else s

    lines = [sep.join(header)]
    lines += [sep.join((str(a), num(b), num(c))) for a, b, c in zip(g, x, y)]
    return eol.join(lines) + eol


CLEAN_TEXT = rows_text(BASE_G, BASE_X, BASE_Y)
CLEAN_CRIT = dense_criterion(BASE_G, BASE_X, BASE_Y)
CLEAN_FIT = {"model": "intercept", **COLS, "outcome": "fit", "n_obs": 30, "dropped_rows": 0, "n_groups": 6,
             "criterion": CLEAN_CRIT}


def add(name: str, content: bytes | str, what: str, cases: list[dict]) -> None:
    if isinstance(content, str):
        content = content.encode("utf-8")
    FILES[name] = content
    MANIFEST[name] = {"what": what, "cases": cases}


def case(outcome: str, model: str = "intercept", cols: dict | None = None, **kw) -> dict:
    return {"model": model, **(cols or COLS), "outcome": outcome, **kw}


def err(phrase: str, model: str = "intercept", cols: dict | None = None) -> dict:
    return case("error", model, cols, phrase=phrase)


def ok(model: str = "intercept", cols: dict | None = None, **expect) -> dict:
    return case("fit", model, cols, **expect)


def fit_like(g, x, y, dropped=0, model="intercept", cols=None, criterion=True) -> dict:
    g = np.asarray(g).astype(str)
    expect = {"n_obs": len(y), "dropped_rows": dropped, "n_groups": len(set(g))}
    if criterion:
        expect["criterion"] = dense_criterion(g, x, y)
    return ok(model, cols, **expect)


# --------------------------------------------------------------------------- binary / not a table


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def xlsx_bytes() -> bytes:
    """A real (minimal) Office Open XML workbook holding the first rows of the base data."""
    cells = []
    for r, row in enumerate([HEADER] + list(zip(BASE_G[:6], BASE_X[:6], BASE_Y[:6])), start=1):
        out = []
        for c, v in enumerate(row):
            ref = f"{'ABC'[c]}{r}"
            if isinstance(v, str):
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>')
            else:
                out.append(f'<c r="{ref}"><v>{float(v):g}</v></c>')
        cells.append(f'<row r="{r}">{"".join(out)}</row>')
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{ns}/spreadsheetml/2006/main" '
            f'xmlns:r="{ns}/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="{ns}/spreadsheetml/2006/main"><sheetData>{"".join(cells)}'
            "</sheetData></worksheet>"
        ),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info, text)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def build() -> None:
    add("empty.csv", b"", "a file of zero bytes", [err("empty")])
    add("blank_lines_only.csv", "\n \n\t\n\n", "only whitespace and blank lines", [err("empty")])
    add("header_only.csv", "subject,dose,pain\n", "a header and no data rows", [err("no data rows")])
    rng = np.random.default_rng(7)
    add("random_binary.csv", b"\x00\x01" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        "4 KB of random bytes (with NULs)", [err("binary")])
    add("random_binary_no_nul.bin.csv", rng.integers(1, 256, 4000, dtype=np.uint8).tobytes(),
        "4 KB of random bytes without any NUL byte", [err("binary")])
    add("png_renamed.csv", png_bytes(), "a real 1x1 PNG image renamed to .csv", [err("PNG image")])
    add("xlsx_renamed.csv", xlsx_bytes(), "a real minimal xlsx workbook renamed to .csv",
        [err("spreadsheet")])
    add("pdf_renamed.csv", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
        "the start of a PDF document renamed to .csv", [err("PDF")])
    records = [{"subject": str(a), "dose": float(b), "pain": float(c)}
               for a, b, c in zip(BASE_G, BASE_X, BASE_Y)]
    add("json_renamed.csv", json.dumps(records, indent=1), "a JSON array of records renamed to .csv",
        [err("JSON")])
    add("svg_renamed.csv", '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">\n'
        '<rect width="10" height="10"/>\n</svg>\n', "an SVG image (XML without a declaration)", [err("XML")])
    add("rtf_renamed.csv", "{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\nsubject, dose, pain\\par\n}\n",
        "a rich-text (RTF) document, as WordPad saves", [err("RTF")])
    add("utf16_truncated.csv", b"\xff\xfe" + CLEAN_TEXT.encode("utf-16-le") + b"\x0a",
        "UTF-16 with BOM and an odd number of bytes (cut off mid-character)", [err("UTF-16")])
    add("html_page.csv",
        "<!DOCTYPE html>\n<html><head><title>data</title></head><body>\n<table>\n"
        "<tr><th>subject</th><th>dose</th><th>pain</th></tr>\n"
        "<tr><td>A</td><td>0</td><td>40</td></tr>\n</table></body></html>\n",
        "an HTML page (what a browser saves from a web table)", [err("HTML")])
    add("gzip_truncated.csv.gz", gzip_bytes(CLEAN_TEXT.encode())[:60],
        "a gzip file cut off after 60 bytes (an interrupted download)", [err("cut short")])
    corrupt = bytearray(gzip_bytes(CLEAN_TEXT.encode()))
    corrupt[20:30] = b"\xff" * 10
    add("gzip_corrupt.csv.gz", bytes(corrupt), "a gzip file with ten bytes overwritten", [err("gzip")])
    add("one_column.csv", "pain\n1\n2\n3\n4\n", "a single column, no separators",
        [err("only one column")])

    # ---------------------------------------------------------------- encodings and dialects
    add("clean.csv", CLEAN_TEXT, "the base data, cleanly written (reference for the variants)",
        [CLEAN_FIT, ok("slope", n_obs=30, dropped_rows=0, n_groups=6),
         ok("uncorrelated", n_obs=30, n_groups=6), ok("within_between", n_obs=30, n_groups=6)])
    add("utf8_bom.csv", b"\xef\xbb\xbf" + CLEAN_TEXT.encode(), "UTF-8 with a byte-order mark",
        [CLEAN_FIT])
    add("utf16le_bom.csv", b"\xff\xfe" + CLEAN_TEXT.encode("utf-16-le"), "UTF-16 LE with BOM (Excel's 'Unicode text')",
        [CLEAN_FIT])
    add("utf16le_nobom.csv", CLEAN_TEXT.encode("utf-16-le"), "UTF-16 LE without BOM", [CLEAN_FIT])
    add("utf16be_bom.csv", b"\xfe\xff" + CLEAN_TEXT.encode("utf-16-be"), "UTF-16 BE with BOM", [CLEAN_FIT])
    add("semicolon_decimal_comma.csv", rows_text(BASE_G, BASE_X, BASE_Y, sep=";", decimal=","),
        "semicolon separated with decimal commas (European Excel)", [CLEAN_FIT])
    dotted = np.repeat(["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"], 5)
    xi = np.tile(np.arange(5.0), 6) + np.repeat(np.arange(6.0), 5)
    add("semicolon_dotted_labels.csv", rows_text(dotted, xi, BASE_Y, sep=";", decimal=","),
        "semicolon file: group labels like '1.1', whole-number x, y with decimal commas",
        [fit_like(dotted, xi, BASE_Y)])
    add("semicolon_decimal_comma_exponent.csv",
        "subject;dose;pain\n" + "".join(f"{a};{b:.2e};{c:.4e}\n".replace(".", ",")
                                         for a, b, c in zip(BASE_G, BASE_X, BASE_Y)),
        "semicolon file with decimal commas in scientific notation ('3,8100e+01')", [CLEAN_FIT])
    add("tab_separated.tsv", rows_text(BASE_G, BASE_X, BASE_Y, sep="\t"), "tab separated", [CLEAN_FIT])
    add("pipe_separated.csv", rows_text(BASE_G, BASE_X, BASE_Y, sep="|"), "bar separated", [CLEAN_FIT])
    add("gzip_compressed.csv.gz", gzip_bytes(CLEAN_TEXT.encode()), "gzip-compressed CSV", [CLEAN_FIT])
    add("crlf.csv", CLEAN_TEXT.replace("\n", "\r\n"), "Windows CRLF line endings", [CLEAN_FIT])
    add("cr_only.csv", CLEAN_TEXT.replace("\n", "\r"), "old Mac CR-only line endings", [CLEAN_FIT])
    add("trailing_blank_lines.csv", CLEAN_TEXT + "\n\n   \n,,\n\n",
        "blank lines, a whitespace line and an all-empty row (',,') at the end: skipped, not counted",
        [CLEAN_FIT])
    ws = ["subject , dose ,  pain"] + [f"  {a}  ,\t{b:g} , {c:g}  " for a, b, c in zip(BASE_G, BASE_X, BASE_Y)]
    add("whitespace_around_values.csv", "\n".join(ws) + "\n", "spaces and tabs around names and values",
        [CLEAN_FIT])
    add("scientific_notation.csv",
        "subject,dose,pain\n" + "".join(f"{a},{b:.3e},{c:.4E}\n" for a, b, c in zip(BASE_G, BASE_X, BASE_Y)),
        "numbers in scientific notation (1.500e+00)", [CLEAN_FIT])
    latin = ["Müller", "Größe", "Ørsted", "José", "Zoë", "Ñandú"]
    lab = np.repeat(latin, 5)
    add("cp1252.csv", rows_text(lab, BASE_X, BASE_Y).encode("cp1252"),
        "Windows-1252 encoded accented group labels", [fit_like(lab, BASE_X, BASE_Y)])
    add("extra_columns.csv",
        "id,note,subject,dose,pain,note\n" + "".join(
            f"{i},\"free, text\",{a},{b:g},{c:g},x\n" for i, (a, b, c) in enumerate(zip(BASE_G, BASE_X, BASE_Y))),
        "unused columns, one of them named twice and holding text with commas",
        [CLEAN_FIT, {**CLEAN_FIT, "y": None, "x": None, "group": None}])
    add("excel_sep_directive.csv",
        "sep=;\n" + rows_text(BASE_G, BASE_X, BASE_Y, sep=";", decimal=","),
        "Excel's 'sep=;' first line, then a semicolon file with decimal commas", [CLEAN_FIT])
    add("leading_blank_lines.csv", "\n\n,,\n" + CLEAN_TEXT, "blank lines and an empty row before the header",
        [CLEAN_FIT])
    neg = np.round(BASE_Y - 45, 1)
    add("unicode_minus.csv", rows_text(BASE_G, BASE_X, neg).replace("-", "\u2212"),
        "negative numbers written with the Unicode minus sign (U+2212), as copied from web pages",
        [fit_like(BASE_G, BASE_X, neg)])
    nl = rows_text(BASE_G, np.tile(np.arange(5.0), 6), BASE_Y, header=("subject", '"dose\nmg"', "pain"))
    add("newline_in_column_name.csv", nl,
        "the x column's quoted name holds a line break; equal group means of x",
        [err("same mean", "within_between", {"y": "pain", "x": "dose\nmg", "group": "subject"}),
         fit_like(BASE_G, np.tile(np.arange(5.0), 6), BASE_Y,
                  cols={"y": "pain", "x": "dose\nmg", "group": "subject"})])

    # ---------------------------------------------------------------- structure errors
    ragged = CLEAN_TEXT.splitlines()
    ragged[7] += ",99,extra"
    add("ragged_rows.csv", "\n".join(ragged) + "\n", "one row with two extra fields", [err("fields")])
    quotes = CLEAN_TEXT.splitlines()
    quotes[4] = 'A,"3,41.2'
    add("unbalanced_quotes.csv", "\n".join(quotes) + "\n", "a quote that is never closed", [err("quote")])
    add("missing_column.csv", CLEAN_TEXT.replace("pain", "score", 1), "no column named pain",
        [err("no column named 'pain'")])
    dup = CLEAN_TEXT.splitlines()
    dup = [ln + "," + ln.split(",")[2] for ln in dup]
    dup[0] = "subject,dose,pain,pain"
    add("duplicated_columns.csv", "\n".join(dup) + "\n", "the y column name appears twice",
        [err("appears 2 times")])
    long = CLEAN_TEXT.replace("\nC,", "\n" + "C" * 300 + ",")
    add("long_group_label.csv", long, "a group label of 300 characters", [err("characters long")])

    # ---------------------------------------------------------------- value errors
    bad_y = CLEAN_TEXT.splitlines()
    a, b, c = bad_y[9].split(",")
    bad_y[9] = f"{a},{b},high"
    add("nonnumeric_y.csv", "\n".join(bad_y) + "\n", "one y value is the word 'high' (in row 10)",
        [err("row 10 holds 'high'")])
    bad_x = CLEAN_TEXT.splitlines()
    a, b, c = bad_x[3].split(",")
    bad_x[3] = f"{a},2 mg,{c}"
    add("nonnumeric_x.csv", "\n".join(bad_x[:2] + ["", ",,"] + bad_x[2:]) + "\n",
        "one x value carries a unit ('2 mg'), in row 6 after a blank line and an empty row",
        [err("row 6 holds '2 mg'")])
    dc = "subject,dose,pain\n" + "".join(f'{a},"{b:g}","{c:g}"\n'.replace(".", ",")
                                         for a, b, c in zip(BASE_G, BASE_X, BASE_Y))
    add("decimal_comma_comma_separated.csv", dc,
        'comma separated with quoted decimal commas ("1,5"): refused with a hint', [err("decimal comma")])
    add("y_all_missing.csv", rows_text(BASE_G, BASE_X, ["NA"] * 30), "every y value is NA",
        [err("no usable rows")])
    # Missing values in each column, written in the usual ways: rows are dropped and counted.
    miss = CLEAN_TEXT.splitlines()
    keep = np.ones(30, bool)
    for row, col, marker in ((2, 2, "NA"), (5, 1, ""), (11, 2, "."), (17, 0, ""), (20, 2, "#N/A"),
                             (26, 1, "NaN")):
        parts = miss[row + 1].split(",")
        parts[col] = marker
        miss[row + 1] = ",".join(parts)
        keep[row] = False
    add("some_missing.csv", "\n".join(miss) + "\n",
        "six missing values (NA, empty, '.', '#N/A', NaN) spread over the three columns",
        [fit_like(BASE_G[keep], BASE_X[keep], BASE_Y[keep], dropped=6)])
    inf = CLEAN_TEXT.splitlines()
    keep = np.ones(30, bool)
    for row, col, marker in ((3, 2, "inf"), (14, 1, "-Infinity"), (22, 2, "-inf")):
        parts = inf[row + 1].split(",")
        parts[col] = marker
        inf[row + 1] = ",".join(parts)
        keep[row] = False
    add("inf_values.csv", "\n".join(inf) + "\n", "three infinite values (inf, -Infinity, -inf): dropped",
        [fit_like(BASE_G[keep], BASE_X[keep], BASE_Y[keep], dropped=3)])
    big = CLEAN_TEXT.splitlines()
    a, b, c = big[12].split(",")
    big[12] = f"{a},{b},1e300"
    add("huge_values.csv", "\n".join(big) + "\n", "one y value of 1e300 (squares overflow)",
        [err("overflow")])
    big_x = CLEAN_TEXT.splitlines()
    a, b, c = big_x[12].split(",")
    big_x[12] = f"{a},-1.5e300,{c}"
    add("huge_x.csv", "\n".join(big_x) + "\n", "one x value of -1.5e300", [err("overflow")])
    add("tiny_spread_x.csv", rows_text(BASE_G, [float(f"{v:g}e-200") for v in BASE_X], BASE_Y),
        "x in units of 1e-200: its squares underflow", [err("too little")])
    big_y = CLEAN_TEXT.splitlines()
    a, b, c = big_y[20].split(",")
    big_y[20] = f"{a},{b},2e400"
    add("beyond_float_range.csv", "\n".join(big_y) + "\n",
        "a y value of 2e400, beyond the float range (not an infinity marker): refused", [err("overflow")])

    # ---------------------------------------------------------------- thousands separators
    ty = np.round(BASE_Y * 100 + 1000, 1)
    tx = np.round(BASE_X * 1000, 1)
    text = "subject,dose,pain\n" + "".join(
        f'{a},"{b:,.1f}","{c:,.1f}"\n' for a, b, c in zip(BASE_G, tx, ty))
    add("thousands_comma.csv", text, 'quoted numbers with thousands commas ("1,234.5")',
        [fit_like(BASE_G, tx, ty)])
    text = "subject;dose;pain\n" + "".join(
        f"{a};{b:,.1f};{c:,.1f}\n".replace(",", "_").replace(".", ",").replace("_", ".")
        for a, b, c in zip(BASE_G, tx, ty))
    add("thousands_dot_semicolon.csv", text, "semicolon file with '1.234,5' numbers",
        [fit_like(BASE_G, tx, ty)])

    # ---------------------------------------------------------------- groups and models
    add("single_group.csv", rows_text(["A"] * 30, BASE_X, BASE_Y), "every row in one group",
        [err("only one group")])
    sg = [f"s{i}" for i in range(30)]
    add("singleton_groups.csv", rows_text(sg, BASE_X, BASE_Y), "30 groups of one row each",
        [err("random effects"), err("random effects", "slope")])
    g2 = np.repeat(["A", "B", "C", "D", "E", "F", "G"], 2)
    add("fewer_obs_than_slope_effects.csv", rows_text(g2, BASE_X[:14], BASE_Y[:14]),
        "7 groups of 2 rows: 14 observations, 14 random effects in the slope model",
        [err("random effects", "slope"), err("random effects", "uncorrelated"),
         fit_like(g2, BASE_X[:14], BASE_Y[:14])])
    xc = np.repeat(np.arange(6) * 2.0, 5)
    add("x_constant_within_groups.csv", rows_text(BASE_G, xc, BASE_Y),
        "x is each subject's own constant (a between-subject covariate)",
        [err("constant within every group", "slope"), err("constant within every group", "uncorrelated"),
         err("constant within every group", "within_between"), fit_like(BASE_G, xc, BASE_Y)])
    add("constant_y.csv", rows_text(BASE_G, BASE_X, [42.0] * 30), "y is 42 in every row",
        [err("no variation"), err("no variation", "slope")])
    add("constant_x.csv", rows_text(BASE_G, [3.0] * 30, BASE_Y), "x is 3 in every row",
        [err("no variation")])
    xe = np.tile(np.arange(5.0), 6)
    add("equal_group_means_x.csv", rows_text(BASE_G, xe, BASE_Y),
        "every subject has doses 0..4, so the group means of x are all equal",
        [err("same mean", "within_between"), fit_like(BASE_G, xe, BASE_Y),
         ok("slope", n_obs=30, n_groups=6), ok("uncorrelated", n_obs=30, n_groups=6)])
    lz = np.repeat(["01", "1", "001", "2", "02", "10"], 5)
    add("leading_zero_labels.csv", rows_text(lz, BASE_X, BASE_Y),
        "labels 01, 1, 001, 2, 02, 10: six different groups (labels are text)",
        [fit_like(lz, BASE_X, BASE_Y)])
    na_like = np.repeat(["none", "-", "missing", "Nan", "0", "False"], 5)
    add("label_words.csv", rows_text(na_like, BASE_X, BASE_Y),
        "group labels 'none', '-', 'missing', 'Nan', '0', 'False' are ordinary labels",
        [fit_like(na_like, BASE_X, BASE_Y)])
    script = [
        "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "<b>bold</b>",
        "&amp; &lt;", "\"quoted\"", "javascript:alert(3)",
    ]
    sl = np.repeat(script, 5)
    body = "".join(
        '"{}",{:g},{:g}\n'.format(a.replace('"', '""'), b, c) for a, b, c in zip(sl, BASE_X, BASE_Y))
    cols = {"y": "<script>alert('y')</script>", "x": "dose<br>", "group": "<i>subject</i>"}
    add("script_tags.csv",
        "\"<i>subject</i>\",dose<br>,\"<script>alert('y')</script>\"\n" + body,
        "<script> and other HTML in column names and group labels: fits, labels kept verbatim",
        [{**fit_like(sl, BASE_X, BASE_Y, cols=cols), "labels": script}])
    ml = np.repeat(["first\nline", "A", "B", "C", "D", "E"], 5)
    body = "".join('"{}",{:g},{:g}\n'.format(a, b, c) for a, b, c in zip(ml, BASE_X, BASE_Y))
    add("multiline_label.csv", "subject,dose,pain\n" + body, "a quoted group label containing a newline",
        [{**fit_like(ml, BASE_X, BASE_Y), "labels": ["first\nline"]}])
    # The one-megabyte field: 1 MB of text in an unused column of an otherwise clean file.
    lines = CLEAN_TEXT.splitlines()
    lines = [lines[0] + ",note"] + [ln + ",short" for ln in lines[1:]]
    lines[5] = lines[5].rsplit(",", 1)[0] + "," + "x" * (1 << 20)
    add("one_mb_field.csv.gz", gzip_bytes(("\n".join(lines) + "\n").encode()),
        "gzip of a CSV with a one-megabyte text field in an unused column", [CLEAN_FIT])

    MANIFEST["@one_mb_field_group.csv"] = {
        "what": "generated at test time: a one-megabyte group label (uncompressed 1 MB file)",
        "generate": "one_mb_field_group",
        "cases": [err("characters long")],
    }
    MANIFEST["@one_mb_field_y.csv"] = {
        "what": "generated at test time: a one-megabyte y value",
        "generate": "one_mb_field_y",
        "cases": [err("not numeric")],
    }
    MANIFEST["@one_mb_field_unused.csv"] = {
        "what": "generated at test time: a one-megabyte field in an unused column (uncompressed)",
        "generate": "one_mb_field_unused",
        "cases": [CLEAN_FIT],
    }
    MANIFEST["@one_mb_column_name.csv"] = {
        "what": "generated at test time: a one-megabyte column name where y's name should be",
        "generate": "one_mb_column_name",
        "cases": [err("no column named 'pain'")],
    }


README_HEAD = """# Malformed-file corpus

Small files that users really hand to a data tool, each with its expected outcome.
`tests/test_bad_input.py` runs every one through the Python API (`lmmviz.load` +
`lmmviz.fit`) and the CLI's code (`lmmviz.cli.main`), and one file per distinct outcome
through the command itself (`python -m lmmviz fit FILE ...`).

* `manifest.json` is the machine-readable list: for each file, `what` it is and its
  `cases` (columns `y`, `x`, `group` — `null` means "let lmmviz guess" — the `model`,
  and the `outcome`):
  * `"error"` with `phrase`: a `DataError` (a `ValueError`) whose message is one line
    containing the phrase (case-insensitive); the CLI exits 2 with one `error: ...` line.
  * `"fit"` with `n_obs`, `dropped_rows`, `n_groups` and, for random-intercept cases,
    `criterion`: the REML criterion computed independently of lmmviz by a dense O(n³)
    evaluation of lme4's profiled criterion on the data as it should be read (see
    `dense_criterion` in `make_corpus.py`). Most readable variants must reproduce the
    criterion of `clean.csv`, the same data written cleanly.
* Names starting with `@` are generated at test time (the one-megabyte fields), so that
  the repository does not carry megabytes; `one_mb_field.csv.gz` is the committed,
  gzip-compressed (1 KB) one-megabyte case.
* `make_corpus.py` writes every file and the manifest: `python tests/corpus/make_corpus.py`.
  Edit it rather than the files.

"""


def readme() -> str:
    rows = ["| file | what | expected |", "|---|---|---|"]
    for name, entry in MANIFEST.items():
        outs = []
        for c in entry["cases"]:
            if c["outcome"] == "error":
                outs.append(f"{c['model']}: error \u201c{c['phrase']}\u201d")
            else:
                bits = [f"{k}={c[k]}" for k in ("n_obs", "dropped_rows") if k in c]
                bits += ["criterion"] if "criterion" in c else []
                outs.append(f"{c['model']}: fit ({', '.join(bits)})")
        what = entry["what"].replace("|", "/").replace("\n", " ")
        rows.append(f"| `{name}` | {what} | {'; '.join(outs).replace('|', '/')} |")
    return README_HEAD + "\n".join(rows) + "\n"


def main() -> None:
    build()
    for name, content in FILES.items():
        (HERE / name).write_bytes(content)
    manifest = {"clean_text": CLEAN_TEXT, "files": MANIFEST}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    (HERE / "README.md").write_text(readme(), encoding="utf-8")
    print(f"wrote {len(FILES)} files, manifest.json ({len(MANIFEST)} entries) and README.md")


if __name__ == "__main__":
    main()
