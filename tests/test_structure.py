"""The house rules over the whole of src/relay (issue 17), and the checker's own tests."""
from __future__ import annotations

import ast

import pytest

import structure as st


@pytest.fixture(scope="module")
def mods():
    return st.load()


def test_no_import_circle(mods):
    assert st.circles(st.graph(mods)) == []


def test_no_function_longer_than_80_lines(mods):
    assert st.long_functions(mods) == []


def test_no_module_reaches_another_modules_private_name(mods):
    assert st.private_reaches(mods) == []


def test_relay_imports_stand_at_the_top_outside_the_command_layer(mods):
    assert st.lazy_imports(mods) == []


def _house(tmp_path, files: dict[str, str]):
    root = tmp_path / "relay"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return st.load(root)


def test_the_checker_finds_a_circle_through_a_function_import(tmp_path):
    mods = _house(tmp_path, {"__init__.py": "", "a.py": "from .b import x\n",
                             "b.py": "def f():\n    from relay.c import y\n",
                             "c.py": "from relay import a\n", "d.py": "from . import a\n"})
    assert st.circles(st.graph(mods)) == [["relay.a", "relay.b", "relay.c"]]
    assert st.lazy_imports(mods) == ["relay.b:2 imports relay.c inside a function"]


def test_the_checker_resolves_relative_imports_in_packages(tmp_path):
    mods = _house(tmp_path, {"__init__.py": "", "p/__init__.py": "from .q import z\n",
                             "p/q.py": "from ..r import w\n", "r.py": "from .p import q\n"})
    g = st.graph(mods)
    assert g["relay.p"] == {"relay.p.q"} and g["relay.p.q"] == {"relay.r"} and g["relay.r"] == {"relay.p.q"}
    assert st.circles(g) == [["relay.p.q", "relay.r"]]


def test_the_checker_finds_long_functions_private_reaches_and_allows_a_marked_lazy_import(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(st.MAX_LINES))
    mods = _house(tmp_path, {"__init__.py": "", "m.py": "_W = 1\n",
                             "long.py": f"def short():\n    return 1\n\n\ndef long():\n{body}\n",
                             "reach.py": "from . import m\nfrom .m import _W\nprint(m._W)\n",
                             "ok.py": "def f():\n    from .m import _W  # lazy: test\n    return _W\n"})
    assert st.long_functions(mods) == [("relay.long", "long", st.MAX_LINES + 1)]
    assert st.private_reaches(mods) == ["relay.ok: from relay.m import _W", "relay.reach: from relay.m import _W",
                                        "relay.reach: m._W"]
    assert st.lazy_imports(mods) == []


def test_api_is_a_thin_surface(mods):
    """relay.api holds no pipeline logic: every function body is a few lines (the stages live in
    relay.pipeline, the plan's tables and files in relay.result)."""
    tree = mods["relay.api"].tree
    long = [(f.name, f.end_lineno - f.lineno + 1) for f in tree.body if isinstance(f, ast.FunctionDef)
            and f.end_lineno - f.lineno + 1 > 40]
    assert long == []
