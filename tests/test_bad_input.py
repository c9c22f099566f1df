"""The malformed-file corpus (tests/corpus/, see its README) through the Python API and the CLI.

Every case of ``manifest.json`` is checked through ``lmmviz.load`` + ``lmmviz.fit``:
an expected refusal is a ``DataError`` (a ``ValueError``) whose message is one line
holding the key phrase; an expected fit gives the listed n_obs, dropped rows, groups
and, where listed, the criterion computed independently by a dense evaluation.

Every case also goes through ``cli.main`` in-process (the command's code without the
0.5 s interpreter start): exit 2 and exactly one stderr line ``error: ...`` without a
traceback, or exit 0 with JSON that agrees. The real command in a subprocess runs once
per distinct expected outcome (one file for each refusal phrase, one readable file):
files with the same outcome take the same path through the same code, and 71 interpreter
starts were a sixth of the suite's time.
"""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import lmmviz
from lmmviz import DataError
from lmmviz.cli import main as cli_main

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
FILES: dict[str, dict] = MANIFEST["files"]
CLEAN_TEXT: str = MANIFEST["clean_text"]
CLI_TIMEOUT = 120  # seconds; a hang is a failure, not a stuck test run
MB = 1 << 20


def _generated(kind: str) -> bytes:
    """The one-megabyte cases, made at test time instead of committing 1 MB."""
    head, *rows = CLEAN_TEXT.splitlines()
    if kind == "one_mb_field_group":
        rows[3] = "G" * MB + "," + rows[3].split(",", 1)[1]
    elif kind == "one_mb_field_y":
        rows[3] = rows[3].rsplit(",", 1)[0] + "," + "9" * 10 + "x" * MB
    elif kind == "one_mb_field_unused":
        head += ",note"
        rows = [r + ",short" for r in rows]
        rows[3] = rows[3].rsplit(",", 1)[0] + ',"' + ("lorem, ipsum " * (MB // 13 + 1)) + '"'
    elif kind == "one_mb_column_name":
        head = head.replace("pain", "p" * MB)
    else:  # pragma: no cover - a manifest typo
        raise KeyError(kind)
    return ("\n".join([head, *rows]) + "\n").encode()


ALL_FILES = FILES
CASES = [(name, i) for name, entry in ALL_FILES.items() for i in range(len(entry["cases"]))]


def _case_id(name: str, i: int) -> str:
    c = ALL_FILES[name]["cases"][i]
    return f"{name.lstrip('@')}-{c['model']}-{c['outcome']}" + (f"-{i}" if i else "")


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("generated")
    for name, entry in ALL_FILES.items():
        if "generate" in entry:
            (d / name.lstrip("@")).write_bytes(_generated(entry["generate"]))
    return d


def _path(name: str, generated_dir: Path) -> Path:
    return generated_dir / name.lstrip("@") if name.startswith("@") else CORPUS / name


def _cli_args(path: Path, case: dict, json_out: bool = True) -> list[str]:
    args = ["fit", str(path), "--model", case["model"]]
    for role in ("y", "x", "group"):
        if case[role] is not None:
            args += [f"--{role}", case[role]]
    return args + (["--json"] if json_out else [])


def _check_message(msg: str, phrase: str) -> None:
    assert "\n" not in msg and "\r" not in msg, f"message is not one line: {msg!r}"
    assert phrase.lower() in msg.lower(), f"{phrase!r} not in {msg!r}"
    assert len(msg) < 400, f"message too long ({len(msg)} chars)"
    assert "Traceback" not in msg


def _check_fit_numbers(got: dict, case: dict) -> None:
    for key in ("n_obs", "dropped_rows", "n_groups"):
        if key in case:
            assert got[key] == case[key], f"{key}: {got[key]} != {case[key]}"
    if "criterion" in case:
        assert got["criterion"] == pytest.approx(case["criterion"], rel=1e-7, abs=1e-6)
    assert math.isfinite(got["criterion"])


# --------------------------------------------------------------------------- corpus sanity


def test_corpus_is_complete_and_small():
    on_disk = {p.name for p in CORPUS.iterdir()} - {"manifest.json", "README.md", "make_corpus.py"}
    assert on_disk == {n for n in FILES if not n.startswith("@")}, "manifest and files differ"
    assert len(on_disk) + sum(n.startswith("@") for n in ALL_FILES) >= 35
    for name in on_disk:
        assert (CORPUS / name).stat().st_size < 100_000, name
    for entry in ALL_FILES.values():
        assert entry["what"] and entry["cases"]
        for c in entry["cases"]:
            assert c["outcome"] in ("error", "fit")
            assert c["model"] in ("intercept", "slope", "uncorrelated", "within_between")
            assert c["outcome"] == "fit" or c["phrase"]


def test_the_committed_one_mb_case_really_holds_a_megabyte_field():
    text = gzip.decompress((CORPUS / "one_mb_field.csv.gz").read_bytes()).decode()
    assert max(len(cell) for line in text.splitlines() for cell in line.split(",")) >= MB


# --------------------------------------------------------------------------- Python API


@pytest.mark.parametrize("name,i", CASES, ids=[_case_id(n, i) for n, i in CASES])
def test_api(name, i, generated_dir):
    case = ALL_FILES[name]["cases"][i]
    path = _path(name, generated_dir)
    if case["outcome"] == "error":
        with pytest.raises(DataError) as info:
            data = lmmviz.load(path, y=case["y"], x=case["x"], group=case["group"])
            lmmviz.fit(data, case["model"])
        assert isinstance(info.value, ValueError)
        _check_message(str(info.value), case["phrase"])
        return
    data = lmmviz.load(path, y=case["y"], x=case["x"], group=case["group"])
    assert data.dropped_rows == case.get("dropped_rows", data.dropped_rows)
    fit = lmmviz.fit(data, case["model"])
    _check_fit_numbers(fit.to_dict(), case)
    for label in case.get("labels", ()):
        # Group labels are text, kept verbatim (never escaped, never interpreted).
        assert label in set(fit.ranef["group"]), label
        assert label in fit.to_dict()["ranef"], label


def test_api_reads_bytes_and_file_objects_like_paths():
    raw = (CORPUS / "utf16le_bom.csv").read_bytes()
    with open(CORPUS / "utf16le_bom.csv", "rb") as fh:
        from_handle = lmmviz.load(fh, y="pain", x="dose", group="subject")
    from_bytes = lmmviz.load(raw, y="pain", x="dose", group="subject")
    assert from_bytes.frame.equals(from_handle.frame)
    assert from_bytes.frame.equals(lmmviz.load(CORPUS / "clean.csv", y="pain", x="dose",
                                               group="subject").frame)


def test_leading_zero_labels_are_distinct_groups_in_their_own_order():
    fit = lmmviz.fit(lmmviz.load(CORPUS / "leading_zero_labels.csv", y="pain", x="dose", group="subject"))
    labels = list(fit.ranef["group"])
    assert sorted(labels) == sorted(["01", "1", "001", "2", "02", "10"])


def test_missing_and_dropped_rows_are_reported_in_words():
    data = lmmviz.load(CORPUS / "some_missing.csv", y="pain", x="dose", group="subject")
    assert data.dropped == {"missing value": 6}
    assert "6 dropped" in data.report()
    data = lmmviz.load(CORPUS / "inf_values.csv", y="pain", x="dose", group="subject")
    assert data.dropped == {"infinite value": 3}


def test_nonexistent_path_and_folder_are_refused_in_one_line(tmp_path):
    for src, phrase in ((tmp_path / "nope.csv", "no such file"), (tmp_path, "folder")):
        with pytest.raises(DataError) as info:
            lmmviz.load(src, y="pain", x="dose", group="subject")
        _check_message(str(info.value), phrase)


def test_data_error_is_always_one_line():
    assert str(DataError("a\nb\r\nc\u2028d")) == "a b c d"


# --------------------------------------------------------------------------- CLI


def _run_cli(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lmmviz", *args], input=stdin, capture_output=True, timeout=CLI_TIMEOUT,
    )


def _check_cli_outcome(returncode: int, stdout: str, stderr: str, case: dict) -> None:
    assert "Traceback" not in stderr and "Traceback" not in stdout
    if case["outcome"] == "error":
        lines = stderr.splitlines()
        assert returncode == 2, (returncode, stderr)
        assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
        assert lines[0].startswith("error: ")
        _check_message(lines[0], case["phrase"])
        assert stdout == ""
    else:
        assert returncode == 0, stderr
        _check_fit_numbers(json.loads(stdout), case)


def _one_file_per_outcome() -> list[str]:
    """The first file (in manifest order) for each distinct expected outcome of a first case."""
    seen: dict[tuple, str] = {}
    for name, entry in ALL_FILES.items():
        case = entry["cases"][0]
        seen.setdefault((case["outcome"], case.get("phrase")), name)
    return list(seen.values())


SUBPROCESS_FILES = _one_file_per_outcome()


@pytest.mark.parametrize("name", SUBPROCESS_FILES, ids=[n.lstrip("@") for n in SUBPROCESS_FILES])
def test_cli_subprocess(name, generated_dir):
    """The real command, once per distinct outcome (its first case)."""
    case = ALL_FILES[name]["cases"][0]
    p = _run_cli(_cli_args(_path(name, generated_dir), case))
    _check_cli_outcome(p.returncode, p.stdout.decode(), p.stderr.decode("utf-8", "replace"), case)


@pytest.mark.parametrize("name,i", CASES, ids=[_case_id(n, i) for n, i in CASES])
def test_cli_in_process(name, i, generated_dir, capsys):
    """Every case through ``cli.main`` (same code as the command, no interpreter start)."""
    case = ALL_FILES[name]["cases"][i]
    code = cli_main(_cli_args(_path(name, generated_dir), case))
    out, err = capsys.readouterr()
    _check_cli_outcome(code, out, err, case)


def test_cli_summary_prints_html_in_labels_and_names_verbatim():
    case = FILES["script_tags.csv"]["cases"][0]
    p = _run_cli(_cli_args(CORPUS / "script_tags.csv", case, json_out=False))
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "<script>alert('y')</script>" in out  # the formula line, unescaped
    assert "&lt;" not in out.replace("&amp; &lt;", "")  # nothing was HTML-escaped


def test_cli_guesses_columns_when_not_named():
    p = _run_cli(["fit", str(CORPUS / "clean.csv"), "--json"])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["criterion"] == pytest.approx(FILES["clean.csv"]["cases"][0]["criterion"], rel=1e-7)
    assert set(out["fixef"]) == {"(Intercept)", "dose"}


@pytest.mark.parametrize("name", ["empty.csv", "gzip_compressed.csv.gz", "utf16le_nobom.csv", "png_renamed.csv"])
def test_cli_reads_stdin(name):
    case = FILES[name]["cases"][0]
    args = _cli_args(Path("-"), case)
    p = _run_cli(args, stdin=(CORPUS / name).read_bytes())
    _check_cli_outcome(p.returncode, p.stdout.decode(), p.stderr.decode(), case)


def test_cli_missing_file_and_folder(tmp_path):
    for target, phrase in ((tmp_path / "missing.csv", "no such file"), (tmp_path, "folder")):
        code = cli_main(["fit", str(target), "--y", "a", "--x", "b", "--group", "c"])
        assert code == 2
    p = _run_cli(["fit", str(tmp_path / "missing.csv")])
    _check_cli_outcome(p.returncode, p.stdout.decode(), p.stderr.decode(),
                       {"outcome": "error", "phrase": "no such file"})


# --------------------------------------------------------------------------- in-memory frames (the app's path)


def _frames():
    import numpy as np
    import pandas as pd

    base = pd.read_csv(CORPUS / "clean.csv")
    na_first = [None] + list(base.pain[1:])
    return {
        "int column names": (base.set_axis([0, 1, 2], axis=1), ("2", "1", "0"), {}),
        "nullable Float64 with NA": (base.assign(pain=pd.array(na_first, dtype="Float64")), None,
                                     {"missing value": 1}),
        "nullable Int64 with NA": (base.assign(dose=pd.array([None] + [int(v) for v in base.dose[1:] * 10],
                                                             dtype="Int64")), None, {"missing value": 1}),
        "float NaN and inf": (base.assign(pain=[np.nan, np.inf] + list(base.pain[2:])), None,
                              {"missing value": 1, "infinite value": 1}),
        "category group": (base.assign(subject=base.subject.astype("category")), None, {}),
        "string group": (base.assign(subject=base.subject.astype("string")), None, {}),
        "numeric group": (base.assign(subject=base.subject.map({c: i for i, c in enumerate("ABCDEF")})),
                          None, {}),
    }


@pytest.mark.parametrize("name", list(_frames()))
def test_prepare_in_memory_frames(name):
    frame, cols, dropped = _frames()[name]
    y, x, group = cols or ("pain", "dose", "subject")
    data = lmmviz.prepare(frame, y=y, x=x, group=group)
    assert data.dropped == dropped
    assert data.n_obs == 30 - sum(dropped.values())
    assert data.frame[group].map(type).eq(str).all()


def test_prepare_refuses_an_empty_frame_in_one_line():
    import pandas as pd

    with pytest.raises(DataError) as info:
        lmmviz.prepare(pd.DataFrame({"g": [], "x": [], "y": []}), y="y", x="x", group="g")
    _check_message(str(info.value), "no data rows")
