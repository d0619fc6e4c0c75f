"""Tables as plain columns (name -> array or list), without pandas: the spelling of their cells in
the CSV files and on the terminal, ISO 8601 UTC times and the local-time columns.

``relay passes`` builds its tables this way (issue 23: its process never imports pandas); the
spelling of every cell is the one pandas' ``to_csv`` writes for the same values (floats as
Python's ``repr``, NaN and None as an empty cell, booleans ``True``/``False``; the file laid out
by the standard ``csv`` module, as pandas does), so the files are the same bytes either way
(tests/test_passes_columns.py).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..fileio import atomic_path
from ..ids import TRUE_RISE_COLUMN, stable_labels
from ..timescales import tdb_s_to_iso

#: the geometry columns of a pass table that :func:`pass_table` spells otherwise (or drops)
_RESPELLED = ("pass_id", "rise_tdb_s", "set_tdb_s", "max_elevation_tdb_s", "truncated_start", "truncated_end",
              TRUE_RISE_COLUMN)


def iso(values) -> list[str]:
    """ISO 8601 UTC strings (Z, milliseconds) of TDB seconds."""
    return list(tdb_s_to_iso(np.asarray(values, dtype=float))) if len(values) else []


def local_time_columns(table, clocks: dict, start: str, end: str) -> dict[str, list]:
    """``sol`` (the asset's mission sol of ``start``), ``lmst_start`` and ``lmst_end`` (HH:MM:SS) of
    each row of a table (a DataFrame or a mapping of columns) with ``asset`` and TDB-second columns
    ``start`` and ``end``; ``clocks``: a :class:`relay.sols.SolClock` per asset (an asset without
    one gets empty cells)."""
    assets = list(table["asset"])
    sol, l0, l1 = [""] * len(assets), [""] * len(assets), [""] * len(assets)
    rows: dict = {}
    for k, a in enumerate(assets):
        rows.setdefault(a, []).append(k)
    for asset, idx in rows.items():
        c = clocks.get(asset)
        if c is None:
            continue
        idx = np.asarray(idx, dtype=np.int64)
        t0 = np.asarray(table[start], dtype=float)[idx]
        t1 = np.asarray(table[end], dtype=float)[idx]
        for k, a, b, v in zip(idx.tolist(), c.lmst(t0), c.lmst(t1), c.sol(t0)):
            sol[k], l0[k], l1[k] = int(v), a, b
    return {"sol": sol, "lmst_start": l0, "lmst_end": l1}


def pass_table(passes: Mapping[str, np.ndarray], extra: Mapping[str, Sequence] = ()) -> dict[str, Sequence]:
    """The user-facing pass table of the geometry stage's columns (``relay.geometry.passes.PassColumns
    .passes``) and ``extra`` columns (the link stage's), the columns ``labelled(passes_frame(...))``
    of :mod:`relay.outputs.tables` has, as text for the times: the stable pass ids
    (:mod:`relay.ids`), ISO 8601 UTC times with a Z, rounded durations, elevations and ranges, and
    the truncation as text."""
    rise = np.asarray(passes["rise_tdb_s"], dtype=float)
    ids_rise = rise
    if TRUE_RISE_COLUMN in passes:
        true = np.asarray(passes[TRUE_RISE_COLUMN], dtype=float)
        ids_rise = np.where(np.isfinite(true), true, rise)
    ts = np.asarray(passes["truncated_start"], dtype=bool)
    te = np.asarray(passes["truncated_end"], dtype=bool)
    out: dict[str, Sequence] = {
        "pass_id": stable_labels(passes["orbiter"], passes["asset"], ids_rise),
        "orbiter": passes["orbiter"], "asset": passes["asset"],
        "rise": iso(rise), "set": iso(passes["set_tdb_s"]),
        "duration_s": np.round(np.asarray(passes["duration_s"], dtype=float), 3),
        "max_elevation_deg": np.round(np.asarray(passes["max_elevation_deg"], dtype=float), 4),
        "max_elevation_time": iso(passes["max_elevation_tdb_s"]),
        "min_range_km": np.round(np.asarray(passes["min_range_km"], dtype=float), 3),
        "truncated": np.where(ts & te, "both", np.where(ts, "start", np.where(te, "end", ""))),
    }
    out.update((c, v) for c, v in passes.items() if c not in out and c not in _RESPELLED)
    out["rise_tdb_s"], out["set_tdb_s"] = rise, passes["set_tdb_s"]
    out.update(extra)
    return out


def cells(values, nan: str = "") -> list[str]:
    """The text of each value of a column as pandas' ``to_csv`` writes it (``nan=""``, the
    default: a missing value is an empty cell) or as ``relay passes`` prints it (``nan="NaN"``:
    a float NaN is ``NaN``, None ``None``)."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if nan == "":
        return ["" if v is None or v != v else str(v) for v in items]
    return [nan if isinstance(v, float) and v != v else str(v) for v in items]


def write_csv(columns: Mapping[str, Sequence], target: str | Path) -> None:
    """A table of columns as CSV, atomically (:func:`relay.fileio.atomic_path`): the bytes
    ``DataFrame(columns).to_csv(target, index=False, lineterminator="\\n")`` writes."""
    target = Path(target)
    texts = [cells(v) for v in columns.values()]
    with atomic_path(target, suffix=target.suffix) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow([str(c) for c in columns])
        out.writerows(zip(*texts))


__all__ = ["iso", "local_time_columns", "pass_table", "cells", "write_csv"]
