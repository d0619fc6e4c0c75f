"""``relay passes`` and ``relay tracks``: overflights and ground-station windows."""

from __future__ import annotations

import os
import sys

from . import MAX_SPAN_DAYS, number, out_file, utc_time, writing


def _common(p):
    p.add_argument("config", help="scenario YAML file")
    p.add_argument("--start", default=None, type=utc_time("--start"),
                   help="ISO 8601 UTC start, e.g. 2026-11-23T00:00:00Z (default: next 00:00 UTC)")
    p.add_argument("--days", type=number("--days", 0, MAX_SPAN_DAYS, lo_open=True, unit=" days"), default=7.0,
                   help=f"length of the span in days (default 7, at most {MAX_SPAN_DAYS:g})")
    p.add_argument("--out", default=None, type=out_file("--out"),
                   help="write the table to this CSV (or .parquet) file")
    p.add_argument("--quiet", action="store_true", help="do not print the table")


def register(sub) -> None:
    # before the arguments are parsed (checking --start imports relay.timescales, and numpy with it),
    # once for both commands: their functions are reached only through the parser this builds (only
    # relay passes, relay tracks and relay --help register this module)
    one_blas_thread()
    p = sub.add_parser("passes", help="overflights of every orbiter over every asset",
                       description="Find every window in which an orbiter is above an asset's mask.")
    _common(p)
    p.add_argument("--profiles", default=None, type=out_file("--profiles"),
                   help="write the sampled profile (and rate) of every pass to this CSV/Parquet file")
    p.add_argument("--tracks", default=None, type=out_file("--tracks"),
                   help="also write ground-station windows to this file")
    p.set_defaults(func=run_passes)
    t = sub.add_parser("tracks", help="ground-station windows of every orbiter",
                       description="Find every window in which a station sees an orbiter above its mask, "
                                   "not hidden by Mars (light time included).")
    _common(t)
    t.set_defaults(func=run_tracks)


#: the columns ``relay passes`` prints
PASS_PRINTED = ["orbiter", "asset", "rise", "set", "sol", "lmst_start", "duration_s", "max_elevation_deg",
                "min_range_km", "volume_mbit", "rate_mode", "peak_rate_kbps", "truncated"]


def _print(table, cols, title):
    """Print the ``cols`` of a table (a mapping of columns, times as ISO text) under ``title``."""
    from ..outputs.columns import cells
    from ..terminal import text_table

    shown = [c for c in cols if c in table]
    print(title)
    if not shown or not len(table[shown[0]]):
        print("(none)")
        return
    print(text_table(shown, [cells(table[c], nan="NaN") for c in shown]))


def text_columns(df) -> dict:
    """A DataFrame's columns as lists, its UTC timestamps as ISO text (what the CSV files hold)."""
    from ..outputs.tables import as_text

    shown = as_text(df)
    return {str(c): shown[c].tolist() for c in shown.columns}


def _is_parquet(path) -> bool:
    from pathlib import Path

    return path is not None and Path(path).suffix.lower() == ".parquet"


def one_blas_thread() -> None:
    """Before numpy is first imported: OpenBLAS starts one thread per core at import unless told
    otherwise, and the geometry commands do no BLAS work of a size threads would help (0.1 s of
    `relay passes`' 0.7 at load 1, 2026-12-07); a value the user set is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def run_passes(args) -> int:
    from ..config import load_scenario
    from ..geostage import default_start, pass_columns, span_of

    sc = load_scenario(args.config)
    start = args.start or default_start()
    pc = pass_columns(sc, span_of(start, args.days))
    if _is_parquet(args.out) or _is_parquet(args.profiles):
        table, profiles = pass_frames(sc, pc)   # pandas and pyarrow: only for a Parquet file
        _write(args, table, profiles, columns=False)
        shown = text_columns(table) if not args.quiet else {}
    else:  # columns and the csv module: the command never imports pandas (issue 23)
        shown, profiles = pass_table_columns(sc, pc, with_profiles=bool(args.profiles))
        _write(args, shown, profiles, columns=True)
    if args.tracks:
        from ..outputs.files import write_table

        tracks = _tracks(sc, start, args.days)
        with writing("--tracks", args.tracks):
            write_table(tracks, args.tracks)
    if not args.quiet:
        _print(shown, PASS_PRINTED, f"{len(pc)} passes of {len(sc.orbiters)} orbiter(s) over {len(sc.assets)} "
                                    f"asset(s), {args.days:g} days from {start}:")
    return 0


def _write(args, table, profiles, columns: bool) -> None:
    """--out and --profiles: DataFrames through relay.outputs.files (any format), or, without
    pandas, the column tables as CSV (``columns``)."""
    if columns:
        from ..outputs.columns import write_csv as write
    else:
        from ..outputs.files import write_table as write

    if args.out:
        with writing("--out", args.out):
            write(table, args.out)
    if args.profiles:
        with writing("--profiles", args.profiles):
            write(profiles, args.profiles)


def pass_frames(sc, pc):
    """The pass table and the profiles of ``relay passes`` as DataFrames, from the geometry
    stage's columns ``pc`` (:class:`relay.geometry.passes.PassColumns`)."""
    from ..outputs.tables import labelled, passes_frame
    from .link import annotate_passes

    ps = pc.pass_set()
    table, profiles = annotate_passes(sc, ps, passes_frame(ps.passes))
    return with_local_times(sc, labelled(table)), labelled(profiles, table)


def pass_table_columns(sc, pc, *, with_profiles: bool = True):
    """:func:`pass_frames` without pandas: the pass table and the profiles (None without
    ``with_profiles``) as mappings of columns, times as ISO text; written as CSV they are the
    same bytes as the DataFrames."""
    from ..outputs.columns import local_time_columns, pass_table
    from ..sols import clock_of
    from .link import pass_link_columns

    volumes, profiles = pass_link_columns(sc, pc.passes, pc.profiles, with_profiles=with_profiles)
    table = pass_table(pc.passes, volumes)
    clocks = {a.name: clock_of(a.longitude_deg, a.landing) for a in sc.assets}
    local = local_time_columns(table, clocks, "rise_tdb_s", "set_tdb_s")
    table, columns = {}, table
    for c, col in columns.items():
        table[c] = col
        if c == "set":  # sol, lmst_start, lmst_end after set, as in passes.csv and schedule.csv
            table.update(local)
    if profiles is not None:  # the profiles name their passes by the same stable ids
        ids = dict(zip(pc.passes["pass_id"].tolist(), table["pass_id"]))
        profiles = {**profiles, "pass_id": [ids[p] for p in profiles["pass_id"].tolist()]}
    return table, profiles


def with_local_times(sc, table):
    """The pass table with each asset's mission sol at rise and LMST at rise and set (``sol,
    lmst_start, lmst_end`` after ``set``, as in passes.csv and schedule.csv; relay.sols)."""
    from ..outputs.columns import local_time_columns
    from ..sols import clock_of

    clocks = {a.name: clock_of(a.longitude_deg, a.landing) for a in sc.assets}
    local = local_time_columns(table, clocks, "rise_tdb_s", "set_tdb_s")
    out = table.copy()
    at = list(out.columns).index("set") + 1
    for k, col in enumerate(("sol", "lmst_start", "lmst_end")):
        out.insert(at + k, col, local[col])
    return out


def _tracks(sc, start, days):
    from ..api import track_set, tracks_table

    from .link import annotate_tracks

    ts = track_set(sc, start, days)
    return annotate_tracks(sc, ts, tracks_table(ts))


def run_tracks(args) -> int:
    from ..api import default_start
    from ..config import load_scenario
    from ..outputs.files import write_table

    sc = load_scenario(args.config)
    start = args.start or default_start()
    table = _tracks(sc, start, args.days)
    if args.out:
        with writing("--out", args.out):
            write_table(table, args.out)
    if not args.quiet:
        _print(text_columns(table), ["orbiter", "station", "start", "end", "duration_s", "max_elevation_deg",
                                      "rate_kbps", "volume_mbit"],
               f"{len(table)} ground-station windows, {args.days:g} days from {start}:")
    if not sc.stations:
        print("(the scenario has no stations: add a `stations:` list)", file=sys.stderr)
    return 0
