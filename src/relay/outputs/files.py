"""Plan tables as files: CSV (relay's text form of each column) or Parquet, written atomically.

The atomic write itself (a temporary file in the same folder, flushed and
renamed over the target) is :func:`relay.fileio.atomic_path`; this module adds
the table formats on top of it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..fileio import atomic_path
from .tables import as_text


def write_table(df: pd.DataFrame, target: str | Path) -> None:
    """CSV (default) or Parquet (``.parquet``), atomically, rows as given, no index."""
    target = Path(target)
    with atomic_path(target, suffix=target.suffix) as tmp:
        if target.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            as_text(df).to_csv(tmp, index=False, lineterminator="\n")
