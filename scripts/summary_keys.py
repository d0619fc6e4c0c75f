"""Print the summary.json keys as the README's markdown table (generated from relay.summary).

    python scripts/summary_keys.py            # print the table
    python scripts/summary_keys.py --check    # exit 1 if README.md's table differs
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from relay.summary import summary_table  # noqa: E402

BEGIN, END = "<!-- summary-keys: begin -->", "<!-- summary-keys: end -->"


def readme_table(text: str) -> str:
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


if __name__ == "__main__":
    table = summary_table()
    if "--check" in sys.argv[1:]:
        ok = readme_table((ROOT / "README.md").read_text(encoding="utf-8")) == table
        print("README summary keys are current" if ok else "README summary keys differ: run scripts/summary_keys.py")
        sys.exit(0 if ok else 1)
    print(table)
