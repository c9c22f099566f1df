"""The code's shape (issue 12): no function over 80 lines, and no function, method or
class that nothing uses.

"Used" means that code refers to the name (a string or comment does not count)
somewhere in lmmviz/ or app.py outside its own definition. A name that only tests or
benchmarks use passes only if it is documented public API: in ``lmmviz.__all__`` or a
module's ``__all__``. The check goes by name, so a dead method that shares its name
with a used one passes; it finds what nothing calls, not every dead branch.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import lmmviz

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80
SOURCES = sorted((ROOT / "lmmviz").rglob("*.py")) + [ROOT / "app.py"]
USERS = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))

# Names called only from outside Python code here (a string, a config file), each with
# why. Empty now: entry points (lmmviz.cli:main, lmmviz.ui.main) are also called in code,
# and getattr(obj, "name") counts as a use.
CALLED_FROM_OUTSIDE: dict[str, str] = {
    # explore's stand-alone views, for other Streamlit apps (explore.__all__); run by
    # tests/test_charts_explore.py inside an AppTest script, a string this check does not read
    "render_compare": "stand-alone view (explore.__all__)",
    "render_landscape": "stand-alone view (explore.__all__)",
    "render_effects": "stand-alone view (explore.__all__)",
}


def _names(tree: ast.AST) -> list[tuple[str, int]]:
    """(name, line) of every name the code refers to: variables, attributes, imported
    names and getattr(obj, "name"), f-string expressions included; other strings and
    comments do not count."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.append((node.id, node.lineno))
        elif isinstance(node, ast.Attribute):
            out.append((node.attr, node.end_lineno))
        elif isinstance(node, ast.alias):
            out += [(part, node.lineno) for part in node.name.split(".")]
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr")
              and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)):
            out.append((node.args[1].value, node.lineno))  # getattr(obj, "name")
    return out


def _definitions(tree: ast.Module):
    """Top-level functions and classes, and the methods of top-level classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node
        if isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _module_all(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {e.value for e in getattr(node.value, "elts", []) if isinstance(e, ast.Constant)}
    return set()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def long_functions(sources=SOURCES) -> list[str]:
    """Every function and method (nested ones too) over MAX_LINES lines."""
    out = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    out.append(f"{_rel(path)}:{node.lineno} {node.name} ({n} lines)")
    return out


def unused_definitions(sources=SOURCES, users=USERS, exported=tuple(lmmviz.__all__)) -> list[str]:
    """Definitions that no code in ``sources`` refers to, unless they are public API
    (``exported`` or a module's ``__all__``) that ``users`` (tests, benchmarks) use."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sources}
    refs = {p: _names(t) for p, t in trees.items()}
    in_code = Counter(name for names in refs.values() for name, _ in names)
    in_users = Counter(name for p in users for name, _ in _names(ast.parse(p.read_text(encoding="utf-8"))))
    public = set(exported).union(*(_module_all(t) for t in trees.values()))
    out = []
    for path, tree in trees.items():
        for node in _definitions(tree):
            name = node.name
            if (name.startswith("__") and name.endswith("__")) or name in CALLED_FROM_OUTSIDE:
                continue
            own = sum(1 for n, line in refs[path] if n == name and node.lineno <= line <= node.end_lineno)
            if in_code[name] - own > 0:
                continue
            if name in public and in_users[name]:
                continue
            why = "used only by tests or benchmarks, and not public API" if in_users[name] else "used nowhere"
            out.append(f"{_rel(path)}:{node.lineno} {name} ({why})")
    return out


def test_no_function_is_over_80_lines():
    offenders = long_functions()
    assert not offenders, (f"{len(offenders)} functions over {MAX_LINES} lines; split them into functions "
                           "that each do one thing:\n  " + "\n  ".join(offenders))


def test_nothing_is_defined_that_nothing_uses():
    offenders = unused_definitions()
    assert not offenders, (f"{len(offenders)} definitions nothing uses; remove them (or, if they are called "
                           "from outside Python, add them to CALLED_FROM_OUTSIDE with the reason):\n  "
                           + "\n  ".join(offenders))


MADE_UP = '''
def at_limit():
{body}
    return x0


def over_limit():
{body}
    x = 1
    return x


def in_fstring():
    return 1


def by_getattr():
    return 2


def recursive(n):
    return recursive(n - 1) if n else 0


def only_named():
    """only_named in a docstring"""  # and only_named in a comment


def for_tests():
    return 3


def public_for_tests():
    return 4


class Thing:
    def __repr__(self):
        return "Thing"

    def method(self):
        return f"{in_fstring()}" + str(getattr(self, "by_getattr"))


print(Thing().method(), at_limit(), over_limit(), "only_named")
__all__ = ["public_for_tests"]
'''


def test_the_checks_find_what_they_should(tmp_path):
    """On a made-up module: the line limit is inclusive (80 lines pass, 81 fail), and a
    name counts as used when code refers to it, in an f-string or through getattr too,
    but not in a string, a comment or its own body."""
    mod = tmp_path / "mod.py"
    mod.write_text(MADE_UP.replace("{body}", "\n".join(f"    x{i} = {i}" for i in range(78))))
    test = tmp_path / "test_mod.py"
    test.write_text("from mod import for_tests, public_for_tests\n\nfor_tests()\npublic_for_tests()\n")
    assert long_functions([mod]) == ["mod.py:84 over_limit (81 lines)"]
    assert unused_definitions([mod], [test], ()) == [
        "mod.py:175 recursive (used nowhere)",
        "mod.py:179 only_named (used nowhere)",
        "mod.py:183 for_tests (used only by tests or benchmarks, and not public API)",
    ]
