"""Structure rules of the planning package and the nightly job (issue 9), checked on the source."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "relay"
MAX_LINES = 80


def _files(*parts: str) -> list[Path]:
    out = []
    for part in parts:
        p = SRC / part
        for q in ([p] if p.is_dir() else sorted(SRC.glob(part))):
            out += sorted(q.rglob("*.py")) if q.is_dir() else [q]
    return out


def long_functions(paths) -> list[tuple[str, str, int]]:
    """(file name, function, lines) of every function longer than MAX_LINES."""
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    out.append((path.name, node.name, n))
    return out


def test_the_checker_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "long.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions([tmp_path / "long.py"]) == [("long.py", "long", MAX_LINES + 1)]


@pytest.mark.parametrize("part", ["planning", "nightly*"])
def test_no_function_longer_than_80_lines(part):
    files = _files(part)
    assert files, part
    assert long_functions(files) == []


def test_no_module_of_planning_imports_another_modules_private_name():
    bad = []
    for path in _files("planning"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                bad += [f"{path.name}: from {node.module} import {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and isinstance(node.value, ast.Name) and node.value.id in ("greedy", "cpsat", "mip", "windows",
                                                                               "formulation", "validate", "fm"):
                bad.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert bad == []


def test_the_validator_shares_nothing_with_the_model():
    tree = ast.parse((SRC / "planning" / "validate.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"formulation", "cpsat", "mip", "greedy", "windows", "solve"}
    # timescales: the UTC day of a downlink (rule R29), time conversion checked on its own, no model code;
    # bisect and itertools: the standard library's searches and running sums (rules R14 and R22 on a year)
    assert imported <= {"__future__", "bisect", "collections", "dataclasses", "itertools", "typing", "plan", "problem",
                        "timescales"}
