"""No state shared between users by accident (issue 12, part 5).

The app serves every session from one process, each in its own thread: a mutable
container at a module's top level is shared by all of them. Tables are read-only
(tuples, frozensets, ``MappingProxyType``); what one session computes for itself lives in
its own ``st.session_state``.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import lmmviz

PACKAGE = Path(lmmviz.__file__).parent

MUTABLE_CALLS = frozenset({
    "dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque", "ChainMap",
    "WeakKeyDictionary", "WeakValueDictionary", "WeakSet",
})
MUTABLE_LITERALS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)

# What may stay, and why. Every other module-level mutable container fails the test.
ALLOWED = {
    # the registry is filled at import (lme4opt puts its twins first), then read only
    # through REGISTRY, a MappingProxyType of it
    ("optimizers.py", "_REGISTRY"),
}


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, MUTABLE_LITERALS):
        return True
    if isinstance(value, ast.Call):
        f = value.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return name in MUTABLE_CALLS
    return False


def module_level_mutables(source: str) -> list[tuple[str, int]]:
    """(name, line) of every top-level assignment of a mutable container, and of every
    ``global`` statement (a function rebinding module state), in one module's source.
    ``__all__`` is a list by convention and is never written."""
    found = []
    tree = ast.parse(source)
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            for name in ast.walk(t):
                if isinstance(name, ast.Name) and name.id != "__all__" and _mutable(node.value):
                    found.append((name.id, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found += [(f"global {n}", node.lineno) for n in node.names]
    return found


def test_the_check_finds_mutable_module_state():
    src = ("import weakref\nA = {}\nB: list = []\nC = weakref.WeakKeyDictionary()\nD = {k: 1 for k in 'ab'}\n"
           "E = (1, 2)\nF = frozenset({1})\n__all__ = ['A']\n"
           "def f():\n    global G\n    G = 1\n")
    assert module_level_mutables(src) == [("A", 2), ("B", 3), ("C", 4), ("D", 5), ("global G", 10)]


def test_no_module_in_lmmviz_keeps_mutable_state_at_module_level():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, line in module_level_mutables(path.read_text(encoding="utf-8")):
            if (path.name, name) not in ALLOWED:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} {name}")
    assert found == [], "module-level mutable state (make it a tuple, frozenset or MappingProxyType):\n" + \
        "\n".join(found)


def test_the_allow_list_names_only_what_exists():
    present = {(p.name, n) for p in PACKAGE.rglob("*.py") for n, _ in module_level_mutables(p.read_text("utf-8"))}
    assert ALLOWED - present == set(), "stale allow-list entries: remove them"


def test_shared_tables_cannot_be_changed():
    from lmmviz import share, tour
    from lmmviz.optimizers import REGISTRY

    with pytest.raises(TypeError):
        REGISTRY["mine"] = REGISTRY["nlopt_bobyqa"]  # type: ignore[index]
    with pytest.raises(TypeError):
        tour.STEPS[2].params["opt"] = "nlopt_bobyqa"  # type: ignore[index]
    with pytest.raises(TypeError):
        share.SIM_PARAMS["n"] = ("n_subjects", int, 0, 1)  # type: ignore[index]
    assert tour.STEPS[2].params["opt"] == "pybobyqa"
    assert share.optimizer_choices() is share.optimizer_choices()  # one immutable tuple for every session
    assert share.optimizer_choices()[0] == "robust" and "lme4:bobyqa" in share.optimizer_choices()


def test_sessions_in_threads_decode_and_fit_without_seeing_each_other():
    # Eight sessions at once, each with its own link: every one gets back its own state and
    # its own fit, as when it runs alone.
    from lmmviz.share import decode_state, encode_state

    seed = lmmviz.seed()
    links = [{"opt": opt, "maxeval": str(m), "models": "intercept"} | ({"ml": "1"} if ml else {})
             for opt, m, ml in (("nlopt_bobyqa", 500, False), ("pybobyqa", 600, True), ("nlopt_sbplx", 700, False),
                                ("lme4:bobyqa", 800, True))] * 2
    alone = {}
    for link in links[:4]:
        state, _ = decode_state(link)
        alone[tuple(sorted(link.items()))] = lmmviz.fit(seed, "intercept", settings=state.settings).criterion
    results: dict[int, tuple] = {}
    barrier = threading.Barrier(len(links))

    def session(i: int, link: dict) -> None:
        barrier.wait()
        state, notices = decode_state(link)
        ft = lmmviz.fit(seed, "intercept", settings=state.settings.for_model("intercept"))
        results[i] = (encode_state(state), notices, ft.criterion, ft.reml, ft.optimizer)

    threads = [threading.Thread(target=session, args=(i, link)) for i, link in enumerate(links)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == list(range(len(links)))
    for i, link in enumerate(links):
        params, notices, criterion, reml, optimizer = results[i]
        assert params == link and notices == []
        assert criterion == alone[tuple(sorted(link.items()))]
        assert reml == ("ml" not in link) and optimizer == link["opt"]
    # the seed's random-intercept REML criterion, as lme4 gives it
    assert results[0][2] == pytest.approx(77.411303, abs=1e-5)


def _data_key_page():
    """One session's page: hashes its own data set with explore.data_key (twice)."""
    import streamlit as st

    import lmmviz
    from lmmviz.ui import explore

    n = st.session_state["n_subjects"]
    data = lmmviz.frame_to_data(lmmviz.simulate(lmmviz.SimulationSettings(n_subjects=n)), y="pain", x="dosage",
                                group="subject_id")
    st.session_state["key"] = explore.data_key(data)
    st.session_state["again"] = explore.data_key(data)
    st.session_state["memo"] = len(st.session_state[explore.DATA_KEYS])
    st.session_state["hash"] = explore.hash_data(data)


def test_data_keys_are_each_sessions_own():
    # Six sessions, each with its own data: each gets its own data's key, and its memo holds its
    # own data only (the memo lives in the session's state, not the module). One after another:
    # AppTest's sessions share Streamlit's test runtime, so run in threads they interrupt each
    # other's scripts (a limit of AppTest, not of the app; tests/browser/test_many_users.py opens
    # real sessions at once).
    from streamlit.testing.v1 import AppTest

    from lmmviz.ui import explore

    sizes = (3, 4, 5, 6, 7, 8)
    apps = []
    for n in sizes:
        at = AppTest.from_function(_data_key_page, default_timeout=120)
        at.session_state["n_subjects"] = n
        at.run()
        apps.append(at)
    keys = []
    for n, at in zip(sizes, apps):
        assert not at.exception, at.exception
        ss = at.session_state
        want = explore.hash_data(lmmviz.frame_to_data(lmmviz.simulate(lmmviz.SimulationSettings(n_subjects=n)),
                                                      y="pain", x="dosage", group="subject_id"))
        assert ss["key"] == ss["again"] == ss["hash"] == want and len(want) == 24
        assert ss["memo"] == 1
        keys.append(ss["key"])
    assert len(set(keys)) == len(sizes)
    assert not hasattr(explore, "_KEYS")
