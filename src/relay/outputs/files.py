"""Atomic file writing: a file is either the old one or the complete new one.

Everything relay writes goes to a temporary file in the same directory which
is then renamed over the target (``os.replace`` is atomic on POSIX), so a run
killed at any moment never leaves a half-written output.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


_UMASK = _umask()


@contextmanager
def atomic_path(target: str | Path, suffix: str = ""):
    """Yield a temporary path next to ``target``; rename it over ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(df: pd.DataFrame, target: str | Path) -> None:
    """CSV (default) or Parquet (``.parquet``), atomically, rows as given, no index."""
    target = Path(target)
    with atomic_path(target, suffix=target.suffix) as tmp:
        if target.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            from .tables import as_text

            as_text(df).to_csv(tmp, index=False, lineterminator="\n")
