"""Are two plan folders the same plan?  Compares every CSV, JSON and npz file of the two folders byte
for byte, summary.json without its wall-clock keys (relay.summary.VOLATILE_KEYS).

    python scripts/same_plan.py OLD_DIR NEW_DIR     # exit 0 when the same, 1 with the differing files

Files only NEW_DIR has (a format's new file, such as manifest.json) are listed, not counted as
differences.  Used to check that a restructuring changes no output (issue 17): plan the baseline week and
network-6 before and after, then compare the folders.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from relay.summary import VOLATILE_KEYS

KINDS = (".csv", ".json", ".npz")


def content(path: Path) -> bytes:
    if path.name == "summary.json":
        data = {k: v for k, v in json.loads(path.read_text()).items() if k not in VOLATILE_KEYS}
        return json.dumps(data, sort_keys=True).encode()
    return path.read_bytes()


def differences(a: Path, b: Path) -> list[str]:
    names_a = {p.name for p in a.iterdir() if p.suffix in KINDS}
    names_b = {p.name for p in b.iterdir() if p.suffix in KINDS}
    out = [f"only in {a}: {n}" for n in sorted(names_a - names_b)]
    out += [f"differs: {n}" for n in sorted(names_a & names_b) if content(a / n) != content(b / n)]
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    diff = differences(Path(sys.argv[1]), Path(sys.argv[2]))
    names = sorted(p.name for p in Path(sys.argv[1]).iterdir() if p.suffix in KINDS)
    extra = sorted({p.name for p in Path(sys.argv[2]).iterdir() if p.suffix in KINDS} - set(names))
    print("\n".join(diff) or f"same plan: {', '.join(names)}" + (f" (new files: {', '.join(extra)})" if extra else ""))
    sys.exit(1 if diff else 0)
