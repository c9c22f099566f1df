"""The README's set-up commands and command-line samples against the code, so they cannot drift.

The two set-up commands must agree with `.ci/run` (CI runs the README's test command) and name
files that exist; each `$ lmmviz …` sample is run and its output compared with the README's.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI_RUN = ROOT / ".ci" / "run"


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


SETUP = _section("Set up")
BLOCKS = re.findall(r"```bash\n(.*?)```", SETUP, flags=re.S)


def _steps(command: str) -> list[list[str]]:
    """A one-line `a && b && c` command as its steps, each split like the shell does."""
    return [shlex.split(step) for step in command.split("&&")]


def _ci_lines() -> list[list[str]]:
    """.ci/run's command lines (continued lines joined, no comments or blank lines), split like
    the shell."""
    text = CI_RUN.read_text(encoding="utf-8").replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_set_up_has_exactly_two_one_line_commands():
    assert len(BLOCKS) == 2, BLOCKS
    for block in BLOCKS:
        assert len(block.strip().splitlines()) == 1, block


def test_app_command_makes_a_venv_and_runs_the_app_from_it():
    steps = _steps(BLOCKS[0].strip())
    # Debian's python3 is externally managed: the venv (and its pip, from python3-venv) comes first.
    assert ["apt-get", "install", "-y", "-qq", "python3-venv"] in steps
    venv = steps.index(["python3", "-m", "venv", ".venv"])
    pip = steps.index([".venv/bin/pip", "install", "-r", "requirements.txt", "-e", "."])
    assert venv < pip < len(steps) - 1
    assert steps[-1] == [".venv/bin/python", "-m", "streamlit", "run", "app.py"]
    for name in ("app.py", "requirements.txt", "pyproject.toml"):
        assert (ROOT / name).is_file(), name
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()


def test_test_command_is_ci_run_and_ci_runs_the_readmes_test_line():
    assert BLOCKS[1].strip() == "bash .ci/run"
    assert CI_RUN.is_file()
    # The README quotes the line that runs the tests; .ci/run ends with exactly that line.
    quoted = re.findall(r"runs `([^`]*pytest[^`]*)`", SETUP)
    assert len(quoted) == 1, quoted
    lines = _ci_lines()
    assert lines[-1] == shlex.split(quoted[0])
    # .ci/run installs into the same venv the same way the app command does, before the tests.
    app_steps = _steps(BLOCKS[0].strip())
    for step in (["python3", "-m", "venv", ".venv"], [".venv/bin/pip", "install", "-r", "requirements.txt", "-e", "."]):
        assert step in app_steps and step in lines, step
    ci = CI_RUN.read_text(encoding="utf-8")
    for package in ("python3-venv", "chromium", "fonts-dejavu-core", "r-base-core", "r-cran-lme4",
                    "r-cran-jsonlite"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", ci), package


# `$ lmmviz …` samples in the README, each followed by its output up to the closing fence.
SAMPLES = re.findall(r"```\n\$ (lmmviz [^\n]*)\n(.*?)```", README, flags=re.S)


def test_readme_has_cli_samples():
    assert SAMPLES, "no `$ lmmviz …` sample found"


ROW = re.compile(r"(\S+)\s+(\d+|-)\s+(best|local optimum|failed|not run|no twin)"
                 r"(?:\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(\d+))?\s*(.*)")


def _rows(lines: list[str]) -> dict[str, tuple]:
    """compare's table rows by optimizer: (optimum, verdict, criterion, slope, evaluations,
    message); section titles ("lme4 (…):"), column headers and blank lines are skipped."""
    rows = {}
    for line in lines:
        line = line.strip()
        if not line or line.endswith(":") or line.startswith("optimizer "):
            continue
        m = ROW.fullmatch(line)
        assert m, f"not a compare row: {line!r}"
        name, optimum, verdict, crit, slope, evals, message = m.groups()
        rows[name] = (optimum, verdict, None if crit is None else float(crit),
                      None if slope is None else float(slope), None if evals is None else int(evals),
                      message.strip())
    return rows


@pytest.mark.parametrize("command,expected", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_cli_sample_matches_what_the_cli_prints(command, expected):
    assert command.startswith("lmmviz compare "), "only compare samples are parsed here"
    args = shlex.split(command)[1:]
    p = subprocess.run([sys.executable, "-m", "lmmviz", *args], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    got, want = p.stdout.strip().splitlines(), expected.strip().splitlines()
    assert got[0] == want[0]
    got_rows, want_rows = _rows(got[1:]), _rows(want[1:])
    assert got_rows.keys() == want_rows.keys(), "\n".join(got)
    for name, (optimum, verdict, crit, slope, evals, message) in want_rows.items():
        g = got_rows[name]
        assert (g[0], g[1], g[5]) == (optimum, verdict, message), (name, g)
        if crit is None:
            assert g[2:5] == (None, None, None), (name, g)
            continue
        # printed to 4 decimals: allow the last digit to move with the arithmetic's last bits
        assert g[2] == pytest.approx(crit, abs=2e-4) and g[3] == pytest.approx(slope, abs=2e-4), (name, g)
        # evaluation counts follow the same bits: a few percent, not a different run
        assert g[4] == pytest.approx(evals, rel=0.05), (name, g)


# The README's Python examples: each section's blocks run in order in one namespace (from the
# repository root, where their relative paths point), and the numbers their comments claim are
# recomputed. The numbers are read from the README, so editing either side is caught.
def _python_blocks(heading: str) -> str:
    start = README.index(f"\n{heading}\n")
    end = README.find("\n#", start + len(heading) + 2)
    return "\n".join(re.findall(r"```python\n(.*?)```", README[start:end], flags=re.S))


def _claimed(pattern: str, code: str) -> list[float]:
    m = re.search(pattern, code)
    assert m, f"README no longer has {pattern!r}"
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", m.group(1))]


def _close(got: list[float], claimed_text: list[float], pattern: str, code: str):
    """Each value equals the README's number to the digits printed there."""
    texts = re.findall(r"-?\d+(?:\.\d+)?", re.search(pattern, code).group(1))
    assert len(got) == len(texts), (got, texts)
    for value, text in zip(got, texts):
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert abs(value - float(text)) <= 0.5 * 10.0 ** -decimals + 1e-12, (value, text)


def test_python_api_example_runs_and_its_numbers_hold(monkeypatch):
    code = _python_blocks("## Python API")
    assert 'load("lmmviz/examples/seed.csv"' in code  # a file that exists, not a user's own
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), ns)
    assert ns["fit"].criterion == pytest.approx(68.0749, abs=1e-3)
    pattern = r"f\(\[1, 0, 1\]\)\s+# ([\d.]+) on the seed"
    _close([ns["f"]([1, 0, 1])], _claimed(pattern, code), pattern, code)


def test_landscape_api_example_runs_and_its_numbers_hold():
    code = _python_blocks("### Python API")
    ns: dict = {}
    exec(compile(code, "README.md (landscape API)", "exec"), ns)
    pattern = r"# curve\.minima: ([\d.]+ and [\d.]+)"
    minima = sorted(ns["curve"].minima["criterion"], reverse=True)
    _close(minima, _claimed(pattern, code), pattern, code)
    pattern = r"interval = L\.profile_interval\([^)]*\)\s+# (\([\d., ]+\))"
    _close(list(ns["interval"]), _claimed(pattern, code), pattern, code)
