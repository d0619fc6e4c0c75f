"""User-facing tables of the geometry stage: ISO 8601 UTC times (Z, to the millisecond)
beside the TDB seconds the numerics use, and pass tables under the stable pass ids of every file."""
from __future__ import annotations

import numpy as np
import pandas as pd


from ..ids import LABEL_COLUMN, TRUE_RISE_COLUMN, pass_labels
from ..timescales import iso_z
from .columns import iso, local_time_columns  # noqa: F401  (pandas-free; imported from here by their callers)


def utc(values) -> pd.Series:
    """pandas UTC timestamps (to the millisecond, as written in the files) of TDB seconds."""
    return pd.Series(pd.to_datetime(iso(values), utc=True, format="ISO8601") if len(values)
                     else pd.DatetimeIndex([], tz="UTC"), dtype="datetime64[ns, UTC]")


def iso_text(ts) -> list[str]:
    """The file spelling of UTC timestamps (empty for a missing one)."""
    ms = utc_ms(ts)
    if ms is None:
        return [iso_z(t) if not pd.isna(t) else "" for t in ts]
    return ["" if t == "NaT" else t + "Z" for t in np.datetime_as_string(ms, unit="ms").tolist()]


_YEAR_1000, _YEAR_10000 = np.datetime64("1000-01-01", "ms"), np.datetime64("10000-01-01", "ms")


def utc_ms(ts) -> np.ndarray | None:
    """A column of UTC timestamps as numpy datetime64[ms] (floored to the millisecond, as
    :func:`iso_z` spells them; NaT kept), or None when ``ts`` is not such a column (another
    zone, plain values, a year outside 1000-9999): one numpy call instead of a strftime each."""
    dtype = getattr(ts, "dtype", None)
    if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) != "UTC" or not hasattr(ts, "to_numpy"):
        return None
    ms = ts.to_numpy(dtype="datetime64[ms]")
    known = ms[~np.isnat(ms)]
    if len(known) and (known.min() < _YEAR_1000 or known.max() >= _YEAR_10000):
        return None
    return ms


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose UTC timestamp columns are ISO 8601 text (what the CSV files hold)."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = iso_text(out[c])
    return out


def csv_text(df: pd.DataFrame) -> str:
    """A table as CSV text, timestamps as ISO 8601 UTC with a Z."""
    return as_text(df).to_csv(index=False, lineterminator="\n")


def passes_frame(passes: pd.DataFrame) -> pd.DataFrame:
    """The user-facing table of a pass DataFrame (geometry columns, plus any others it has)."""
    df = passes.copy()
    out = pd.DataFrame({
        "pass_id": df["pass_id"].astype(int),
        "orbiter": df["orbiter"], "asset": df["asset"],
        "rise": utc(df["rise_tdb_s"]).to_numpy(), "set": utc(df["set_tdb_s"]).to_numpy(),
        "duration_s": df["duration_s"].round(3),
        "max_elevation_deg": df["max_elevation_deg"].round(4),
        "max_elevation_time": utc(df["max_elevation_tdb_s"]).to_numpy(),
        "min_range_km": df["min_range_km"].round(3),
        "truncated": np.where(df["truncated_start"] & df["truncated_end"], "both",
                              np.where(df["truncated_start"], "start",
                                       np.where(df["truncated_end"], "end", ""))),
    })
    for col in df.columns:
        if col not in out.columns and col not in ("rise_tdb_s", "set_tdb_s", "max_elevation_tdb_s",
                                                  "truncated_start", "truncated_end"):
            out[col] = df[col].values
    out["rise_tdb_s"] = df["rise_tdb_s"].values
    out["set_tdb_s"] = df["set_tdb_s"].values
    return out


def labelled(df: pd.DataFrame, passes: pd.DataFrame | None = None) -> pd.DataFrame:
    """A copy of a pass table with its integer pass ids replaced by the stable ids of every file
    (:func:`relay.ids.pass_labels`; the columns they are made of beside orbiter, asset and rise,
    ``true_rise_tdb_s`` and ``pass_label``, are dropped).  A table of other rows that name passes
    by their integer id (the profiles) gives ``passes``, the pass table that numbers them."""
    ids = dict(zip(passes["pass_id"].astype(int), pass_labels(passes))) if passes is not None else None
    out = df.drop(columns=[c for c in (TRUE_RISE_COLUMN, LABEL_COLUMN) if c in df.columns])
    out["pass_id"] = pass_labels(df) if ids is None else [ids[int(p)] for p in df["pass_id"]]
    return out


def tracks_frame(tracks: pd.DataFrame) -> pd.DataFrame:
    """The user-facing table of station tracks."""
    df = tracks
    out = pd.DataFrame({
        "track_id": df["track_id"].astype(int),
        "orbiter": df["orbiter"], "station": df["station"],
        "start": utc(df["start_tdb_s"]).to_numpy(), "end": utc(df["end_tdb_s"]).to_numpy(),
        "duration_s": df["duration_s"].astype(float).round(3),
        "max_elevation_deg": df["max_elevation_deg"].astype(float).round(3),
    })
    for col in df.columns:
        if col not in out.columns and col not in ("start_tdb_s", "end_tdb_s", "truncated_start", "truncated_end"):
            out[col] = df[col].values
    out["start_tdb_s"] = df["start_tdb_s"].values
    out["end_tdb_s"] = df["end_tdb_s"].values
    return out
