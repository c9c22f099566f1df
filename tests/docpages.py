"""The documentation as the tests read it: README.md and docs/*.md, their headings and anchors,
relative links, and the code blocks marked runnable, with the one way such a block is run.

tests/test_readme.py (the README's own rules) and tests/test_docs.py (every page) both use this
module, so a page moved between the README and docs/ is checked the same way wherever it lands.

A code block is runnable when the line just above its opening fence is `<!-- run -->` (an HTML
comment: invisible on GitHub). Two kinds:

- ```console blocks: each line starting with `$ ` is a command, run by bash from a scratch
  directory that mirrors the repository's top level (relative paths such as
  lmmviz/examples/seed.csv work, files a command writes land in the scratch directory), with
  `lmmviz` and `python` meaning this interpreter. Every command must exit with status 0. The
  lines after a command, up to the next `$ `, are its output as the page shows it: a line `…`
  stands for any number of lines; `lmmviz compare` tables are compared row by row with a
  tolerance on the numbers' last digit and on evaluation counts.
- ```python blocks: all runnable Python blocks of a page run in order in one namespace, from the
  repository root, as a reader would run them going down the page.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RUN_MARK = "<!-- run -->"
ELLIPSIS = "…"


def pages() -> list[str]:
    """Every documentation page, as a path relative to the repository root."""
    return ["README.md"] + sorted(p.relative_to(ROOT).as_posix() for p in DOCS.glob("*.md"))


@functools.lru_cache(maxsize=None)
def text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# code blocks

FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # line of the opening fence, 1-based
    lang: str
    code: str
    run: bool

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """The page's fenced code blocks, in order, each with whether it is marked runnable."""
    t = text(page)
    out = []
    for m in FENCE.finditer(t):
        before = t[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        out.append(Block(page, t.count("\n", 0, m.start()) + 1, m.group("info").strip().split(" ")[0],
                         m.group("code"), before == RUN_MARK))
    return out


def runnable(lang: str) -> list[Block]:
    """Every runnable block of the given language on every page."""
    return [b for page in pages() for b in blocks(page) if b.run and b.lang == lang]


def without_code(t: str) -> str:
    """The text with fenced blocks blanked (line numbers kept) and inline code spans removed."""
    t = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), t)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", t)


def section(page: str, heading: str) -> str:
    """The text under `heading` (e.g. "## Set up") up to the next heading of its level or above."""
    t = text(page)
    start = t.index(f"\n{heading}\n")
    level = len(heading.split(" ", 1)[0])
    m = re.compile(rf"^#{{1,{level}}} ", re.M).search(t, start + len(heading) + 2)
    return t[start:m.start() if m else None]


# ---------------------------------------------------------------------------------------------
# headings, anchors and links

def headings(page: str) -> list[tuple[int, str]]:
    """(level, title) of every heading outside code blocks."""
    return [(len(m.group(1)), m.group(2).strip())
            for m in re.finditer(r"^(#{1,6}) +(.+?) *#*$", without_code(text(page)), re.M)]


def slug(title: str) -> str:
    """GitHub's anchor for a heading: the text without markup, lower case, characters other than
    letters, digits, `_`, `-` and spaces dropped, spaces made `-`."""
    title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)  # links: their text
    title = re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", title)  # code, emphasis
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(page: str) -> set[str]:
    """The anchors GitHub gives the page's headings (a repeated one gets -1, -2, …)."""
    seen: dict[str, int] = {}
    out = set()
    for _, title in headings(page):
        s = slug(title)
        out.add(s if s not in seen else f"{s}-{seen[s]}")
        seen[s] = seen.get(s, 0) + 1
    return out


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")


def links(page: str) -> list[tuple[int, str]]:
    """(line, target) of every link and image outside code, relative targets only (no scheme)."""
    t = without_code(text(page))
    return [(t.count("\n", 0, m.start()) + 1, m.group(1)) for m in LINK.finditer(t)
            if not re.match(r"[a-z][a-z0-9+.-]*:", m.group(1), re.I)]


def broken(page: str, target: str) -> str | None:
    """Why a relative link of `page` does not resolve, or None when it does."""
    path, _, anchor = target.partition("#")
    dest = (ROOT / page).parent / path if path else ROOT / page
    try:
        rel = dest.resolve().relative_to(ROOT)
    except ValueError:
        return f"{target}: outside the repository"
    if not dest.exists():
        return f"{target}: no file {rel.as_posix()}"
    if anchor:
        if dest.suffix != ".md":
            return f"{target}: an anchor into a file that is not Markdown"
        if anchor not in anchors(rel.as_posix()):
            return f"{target}: no heading with anchor #{anchor} in {rel.as_posix()}"
    return None


# ---------------------------------------------------------------------------------------------
# running console blocks

def sessions(block: Block) -> list[tuple[str, list[str]]]:
    """(command, shown output lines) for each `$ ` line of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            assert out, f"{block.id}: output before any `$ ` command: {line!r}"
            out[-1][1].append(line)
    return out


def scratch(tmp: Path) -> Path:
    """A directory mirroring the repository's top level (symlinks), plus `bin/` with `lmmviz` and
    `python` running this interpreter."""
    work = tmp / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv"}:
            (work / entry.name).symlink_to(entry)
    bin_ = tmp / "bin"
    bin_.mkdir()
    for name, args in (("lmmviz", "-m lmmviz"), ("python", "")):
        script = bin_ / name
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {args} "$@"\n')
        script.chmod(0o755)
    return work


def run_command(command: str, work: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{work.parent / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run(["bash", "-c", f"set -eo pipefail\n{command}"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=timeout)


def output_mismatch(got: str, shown: list[str]) -> str | None:
    """None when the output matches the page's lines (`…` = any lines), else what differs."""
    shown = [s.rstrip() for s in shown]
    while shown and not shown[-1]:
        shown.pop()
    if not shown:
        return None
    pattern = "".join("(?:.*\n)*?" if s == ELLIPSIS else re.escape(s) + r"[ \t]*\n" for s in shown)
    if re.fullmatch(pattern, got.rstrip("\n") + "\n"):
        return None
    missing = next((s for s in shown if s != ELLIPSIS and s not in [g.rstrip() for g in got.splitlines()]),
                   None)
    return (f"shown line not printed: {missing!r}" if missing is not None else
            "the shown lines are printed, but not in this order or with lines between them that "
            "the page does not elide with …")


COMPARE_ROW = re.compile(r"(\S+)\s+(\d+|-)\s+(best|local optimum|failed|not run|no twin)"
                         r"(?:\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(\d+))?\s*(.*)")


def compare_rows(lines: list[str]) -> dict[str, tuple]:
    """`lmmviz compare`'s table rows by optimizer: (optimum, verdict, criterion, slope,
    evaluations, message); section titles ("lme4 (…):"), column headers and blank lines are
    skipped."""
    rows = {}
    for line in lines:
        line = line.strip()
        if not line or line.endswith(":") or line.startswith("optimizer "):
            continue
        m = COMPARE_ROW.fullmatch(line)
        assert m, f"not a compare row: {line!r}"
        name, optimum, verdict, crit, slope, evals, message = m.groups()
        rows[name] = (optimum, verdict, None if crit is None else float(crit),
                      None if slope is None else float(slope), None if evals is None else int(evals),
                      message.strip())
    return rows


def _same_everywhere(name: str) -> bool:
    from lmmviz.optimizers import REGISTRY

    info = REGISTRY.get(name) or REGISTRY.get("lme4:" + name)
    return info is None or info.same_everywhere  # the robust default and "no twin" rows


def compare_mismatch(got: str, shown: list[str]) -> str | None:
    """None when `lmmviz compare` printed the page's table: same rows, optima and verdicts, and,
    for every optimizer that gives the same bits on every computer (tests/test_numerics.py),
    the same numbers, evaluations and message. The few that do linear algebra through the
    machine's BLAS (OptimizerInfo.same_everywhere) must reach the same optimum (±2 in the last
    printed digit); their evaluation counts and messages follow the CPU."""
    got_lines, want = got.strip().splitlines(), "\n".join(shown).strip().splitlines()
    if got_lines[0] != want[0]:
        return f"first line {got_lines[0]!r}, shown {want[0]!r}"
    got_rows, want_rows = compare_rows(got_lines[1:]), compare_rows(want[1:])
    if got_rows.keys() != want_rows.keys():
        return f"optimizers {list(got_rows)}, shown {list(want_rows)}"
    for name, (optimum, verdict, crit, slope, evals, message) in want_rows.items():
        g = got_rows[name]
        if _same_everywhere(name):
            if g != want_rows[name]:
                return f"{name}: printed {g}, shown {want_rows[name]}"
        elif g[:2] != (optimum, verdict) or abs(g[2] - crit) > 2e-4 or abs(g[3] - slope) > 2e-4:
            return f"{name}: printed {g}, shown {want_rows[name]}"
    return None


def run_console(block: Block, tmp: Path) -> None:
    """Run a console block's commands in a fresh scratch directory; AssertionError on the first
    command that fails or prints other than the page shows."""
    work = scratch(tmp)
    for command, shown in sessions(block):
        p = run_command(command, work)
        assert p.returncode == 0, f"{block.id}: `{command}` exited {p.returncode}\n{p.stderr}"
        is_compare = re.match(r"lmmviz compare\b", command) and "--json" not in command
        problem = (compare_mismatch if is_compare and shown else output_mismatch)(p.stdout, shown)
        assert problem is None, f"{block.id}: `{command}`: {problem}\n--- printed:\n{p.stdout}"


# ---------------------------------------------------------------------------------------------
# running python blocks

def python_code(page: str) -> str:
    """The page's runnable Python blocks, joined in order."""
    return "\n".join(b.code for b in blocks(page) if b.run and b.lang == "python")


@functools.lru_cache(maxsize=None)
def python_namespace(page: str) -> dict:
    """Run the page's runnable Python blocks in one namespace from the repository root; the
    namespace afterwards (computed once per page and test process)."""
    ns: dict = {"__name__": "__docs__"}
    with contextlib.chdir(ROOT):
        exec(compile(python_code(page), f"{page} (runnable Python blocks)", "exec"), ns)
    return ns


def page_with(pattern: str) -> str:
    """The one page whose runnable Python code matches `pattern`."""
    found = [p for p in pages() if re.search(pattern, python_code(p))]
    assert len(found) == 1, f"{pattern!r} is in the runnable Python of {found or 'no page'}"
    return found[0]


def claimed(pattern: str, code: str) -> list[str]:
    """The numbers (as printed) in the first group of `pattern`'s match in `code`."""
    m = re.search(pattern, code)
    assert m, f"the docs no longer have {pattern!r}"
    return re.findall(r"-?\d+(?:\.\d+)?", m.group(1))


def assert_close(got: list[float], texts: list[str]) -> None:
    """Each value equals the page's number to the digits printed there."""
    assert len(got) == len(texts), (got, texts)
    for value, t in zip(got, texts):
        decimals = len(t.split(".")[1]) if "." in t else 0
        assert abs(value - float(t)) <= 0.5 * 10.0 ** -decimals + 1e-12, (value, t)
