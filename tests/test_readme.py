"""The README's own rules: it is the front door, under 200 lines, with exactly two set-up commands
that agree with `.ci/run` (CI runs the README's test command) and name files that exist, a
picture, and a link to every page of docs/.

What holds for every page, the README included (links resolve, runnable blocks run, the numbers
in the Python examples hold), is in tests/test_docs.py; both read the pages through
tests/docpages.py.
"""

from __future__ import annotations

import re
import shlex

import docpages

ROOT = docpages.ROOT
README = docpages.text("README.md")
CI_RUN = ROOT / ".ci" / "run"

SETUP = docpages.section("README.md", "## Set up")
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



def test_readme_is_under_200_lines():
    assert len(README.splitlines()) < 200, len(README.splitlines())


def test_readme_shows_the_app_and_links_every_docs_page():
    assert "](docs/img/app_fit_1400.png)" in README
    linked = {target.split("#")[0] for _, target in docpages.links("README.md")}
    for page in docpages.pages()[1:]:
        assert page in linked, f"the README does not link {page}"


def test_readme_tells_the_seed_story():
    story = docpages.section("README.md", "## The question it answers")
    for fact in ("+7.855", "-8.157", "REML 77.41", "REML 101.34", "**+7.204**", "Corr -1",
                 "REML 68.07", "-8.215", "**random slope, lmmviz default**"):
        assert fact in story, fact
