"""Plan tables as files: CSV (relay's text form of each column) or Parquet, written atomically.

The atomic write itself (a temporary file in the same folder, flushed and
renamed over the target) is :func:`relay.fileio.atomic_path`; this module adds
the table formats on top of it.  Tables of plain columns (no pandas) are
written by :func:`relay.outputs.columns.write_csv`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..fileio import atomic_path

if TYPE_CHECKING:
    import pandas as pd


def write_table(df: pd.DataFrame, target: str | Path) -> None:
    """CSV (default) or Parquet (``.parquet``), atomically, rows as given, no index."""
    from .tables import as_text  # lazy: pandas, 0.4-0.5 s of import a caller without a DataFrame never needs

    target = Path(target)
    with atomic_path(target, suffix=target.suffix) as tmp:
        if target.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            as_text(df).to_csv(tmp, index=False, lineterminator="\n")
