"""Structure rules of the whole package (issue 9), checked on the source: no module imports
another module's private (underscore) name; the API module stays a thin surface."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "relay"


def private_imports(paths) -> list[str]:
    bad = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                bad += [f"{path.relative_to(SRC)}: from {'.' * node.level}{node.module or ''} import {a.name}"
                        for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return bad


def test_the_checker_finds_a_private_import(tmp_path):
    (tmp_path / "m.py").write_text("from .config import _hidden, public\n")
    global SRC
    old, SRC = SRC, tmp_path
    try:
        assert private_imports([tmp_path / "m.py"]) == ["m.py: from .config import _hidden"]
    finally:
        SRC = old


def test_no_module_imports_another_modules_private_name():
    assert private_imports(sorted(SRC.rglob("*.py"))) == []


def test_api_is_a_thin_surface():
    """relay.api holds no pipeline logic: every function body is a few lines (the stages live in
    relay.pipeline, the plan's tables and files in relay.result)."""
    tree = ast.parse((SRC / "api.py").read_text(encoding="utf-8"))
    long = [(f.name, f.end_lineno - f.lineno + 1) for f in tree.body if isinstance(f, ast.FunctionDef)
            and f.end_lineno - f.lineno + 1 > 40]
    assert long == []
