"""Every documentation page (README.md and docs/*.md) against the repository and the code.

- every relative link and image points to a file that exists, and every `#anchor` to a heading
  of that page;
- no heading is repeated across the pages (one place for each subject);
- every code block marked `<!-- run -->` runs: console blocks command by command with their
  shown output compared, Python blocks of a page in order in one namespace (tests/docpages.py
  says how), and the numbers the Python examples' comments claim are recomputed. The numbers
  are read from the pages, so editing either side is caught.
"""

from __future__ import annotations

import collections

import pytest

import docpages

PAGES = docpages.pages()
CONSOLE = docpages.runnable("console")
PYTHON_PAGES = [p for p in PAGES if docpages.python_code(p).strip()]


def test_the_docs_pages_are_there():
    for page in ("docs/app.md", "docs/explore.md", "docs/cli-and-api.md", "docs/engine.md",
                 "docs/benchmarks.md", "docs/testing.md"):
        assert page in PAGES, page


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_resolve(page):
    problems = [f"{page}:{line}: {why}" for line, target in docpages.links(page)
                if (why := docpages.broken(page, target))]
    assert not problems, "\n".join(problems)


def test_no_heading_is_repeated_across_pages():
    where = collections.defaultdict(list)
    for page in PAGES:
        for _, title in docpages.headings(page):
            where[title].append(page)
    assert not {t: p for t, p in where.items() if len(p) > 1}


def test_run_marks_stand_above_console_or_python_blocks():
    marks = sum(line.strip() == docpages.RUN_MARK for p in PAGES for line in docpages.text(p).splitlines())
    marked = [b for p in PAGES for b in docpages.blocks(p) if b.run]
    assert len(marked) == marks, "a `<!-- run -->` that is not just above a code block"
    assert all(b.lang in ("console", "python") for b in marked), [b.id for b in marked]
    # the front door and the reference page both have runnable examples
    assert {b.page for b in marked} >= {"README.md", "docs/cli-and-api.md"}
    for b in CONSOLE:
        assert docpages.sessions(b), f"{b.id}: a runnable console block without a `$ ` command"


@pytest.mark.parametrize("block", CONSOLE, ids=[b.id for b in CONSOLE])
def test_console_block_runs_and_prints_what_the_page_shows(block, tmp_path):
    docpages.run_console(block, tmp_path)


@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_python_blocks_run(page):
    docpages.python_namespace(page)


def test_compare_sample_is_documented():
    shown = [c for b in CONSOLE for c, out in docpages.sessions(b)
             if c.startswith("lmmviz compare ") and "--json" not in c and out]
    assert shown, "no `$ lmmviz compare …` sample with its output"


def test_python_api_example_numbers_hold():
    page = docpages.page_with(r"lmmviz\.make_deviance\(")
    code = docpages.python_code(page)
    assert 'load("lmmviz/examples/seed.csv"' in code  # a file that exists, not a user's own
    ns = docpages.python_namespace(page)
    assert ns["fit"].criterion == pytest.approx(68.0749, abs=1e-3)
    texts = docpages.claimed(r"f\(\[1, 0, 1\]\)\s+# ([\d.]+) on the seed", code)
    docpages.assert_close([ns["f"]([1, 0, 1])], texts)


def test_landscape_api_example_numbers_hold():
    page = docpages.page_with(r"L\.curve_1d\(")
    code = docpages.python_code(page)
    ns = docpages.python_namespace(page)
    minima = sorted(ns["curve"].minima["criterion"], reverse=True)
    docpages.assert_close(minima, docpages.claimed(r"# curve\.minima: ([\d.]+ and [\d.]+)", code))
    texts = docpages.claimed(r"interval = L\.profile_interval\([^)]*\)\s+# (\([\d., ]+\))", code)
    docpages.assert_close(list(ns["interval"]), texts)
