"""The house rules of ``src/relay``, read from the source (no relay module is imported).

Used by ``tests/test_structure.py`` and runnable by hand::

    python tests/structure.py          # prints every breach, exits 1 if any

Rules (issue 17):
- no import circle between relay's modules, imports inside functions (and
  under ``if TYPE_CHECKING``) included;
- no function longer than :data:`MAX_LINES` lines;
- no module reaches another module's underscore name (``from x import _y``,
  ``x._y`` where ``x`` is an imported relay module);
- imports of relay's own modules stand at the top of the module, except in the
  command layer (``cli.py``, ``commands/``) and where the line carries a
  ``# lazy:`` comment saying what start-up cost it saves.

An import ``from relay.a.b import c`` is an arrow to ``relay.a.b.c`` when that
is a module, else to ``relay.a.b``; a package's ``__init__`` is a module like
any other.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "relay"
MAX_LINES = 80
#: modules whose relay imports may stay inside functions (the command layer)
LAZY_ALLOWED = ("relay.cli", "relay.commands", "relay.__main__")
LAZY_MARK = "# lazy:"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: tuple[str, ...]


def module_name(path: Path, root: Path = SRC) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def load(root: Path = SRC) -> dict[str, Module]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(path, root)
        out[name] = Module(name, path, ast.parse(text, str(path)), tuple(text.splitlines()))
    return out


def _is_package(mod: Module) -> bool:
    return mod.path.name == "__init__.py"


def _base(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = mod.name.split(".")
    if not _is_package(mod):
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def imports_of(mod: Module, known: dict) -> list[tuple[str, ast.stmt]]:
    """(target module, import node) for every import of a relay module anywhere in ``mod``."""
    out = []
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = _base(mod, node)
            for a in node.names:
                full = f"{base}.{a.name}"
                if full in known:
                    out.append((full, node))
                elif base in known:
                    out.append((base, node))
    return out


def graph(mods: dict[str, Module]) -> dict[str, set[str]]:
    return {name: {t for t, _ in imports_of(m, mods) if t != name} for name, m in mods.items()}


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        work = [(v, iter(sorted(g.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g.get(w, ())))))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def long_functions(mods: dict[str, Module], max_lines: int = MAX_LINES) -> list[tuple[str, str, int]]:
    out = []
    for name, m in mods.items():
        for node in ast.walk(m.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > max_lines:
                    out.append((name, node.name, n))
    return sorted(out)


def private_reaches(mods: dict[str, Module]) -> list[str]:
    """``from x import _y`` and ``x._y`` where x is another relay module."""
    bad = []
    for name, m in mods.items():
        aliases = {}
        for node in ast.walk(m.tree):
            if isinstance(node, ast.ImportFrom):
                base = _base(m, node)
                for a in node.names:
                    full = f"{base}.{a.name}"
                    if full in mods:
                        aliases[a.asname or a.name] = full
                    elif base in mods and base != name and a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{name}: from {base} import {a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in mods:
                        aliases[a.asname or a.name.split(".")[0]] = a.asname and a.name or a.name.split(".")[0]
        for node in ast.walk(m.tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and aliases.get(node.value.id, name) != name):
                bad.append(f"{name}: {node.value.id}.{node.attr}")
    return sorted(set(bad))


def lazy_imports(mods: dict[str, Module]) -> list[str]:
    """Imports of relay modules inside a function, outside the command layer, with no ``# lazy:`` reason."""
    bad = []
    for name, m in mods.items():
        if name.startswith(LAZY_ALLOWED):
            continue
        inner = set()
        for node in ast.walk(m.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner |= {id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))}
        for target, node in imports_of(m, mods):
            if id(node) in inner and LAZY_MARK not in m.lines[node.lineno - 1]:
                bad.append(f"{name}:{node.lineno} imports {target} inside a function")
    return sorted(set(bad))


def report(root: Path = SRC) -> list[str]:
    mods = load(root)
    out = [f"circle: {' <-> '.join(c)}" for c in circles(graph(mods))]
    out += [f"long: {m}.{f} {n} lines" for m, f, n in long_functions(mods)]
    out += [f"private: {p}" for p in private_reaches(mods)]
    out += [f"lazy: {p}" for p in lazy_imports(mods)]
    return out


if __name__ == "__main__":
    lines = report(Path(sys.argv[1]) if len(sys.argv) > 1 else SRC)
    print("\n".join(lines) or "the house rules hold")
    sys.exit(1 if lines else 0)
