"""``relay passes`` and ``relay tracks``: overflights and ground-station windows."""

from __future__ import annotations

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


def _print(df, cols, title):
    from ..outputs.tables import as_text
    from ..terminal import text_table

    shown = as_text(df[[c for c in cols if c in df.columns]])   # ISO 8601 UTC with a Z, as in the files
    print(title)
    if not len(shown):
        print("(none)")
        return
    print(text_table([str(c) for c in shown.columns], [[_cell(v) for v in shown[c].tolist()] for c in shown.columns]))


def _cell(value) -> str:
    """A value as the table prints it: numbers as the CSV spells them, a missing one as NaN."""
    return "NaN" if isinstance(value, float) and value != value else str(value)


def run_passes(args) -> int:
    from ..api import default_start, pass_set
    from ..config import load_scenario
    from .link import annotate_passes
    from ..outputs.files import write_table
    from ..outputs.tables import labelled, passes_frame

    sc = load_scenario(args.config)
    start = args.start or default_start()
    ps = pass_set(sc, start, args.days)
    table, profiles = annotate_passes(sc, ps, passes_frame(ps.passes))
    table, profiles = with_local_times(sc, labelled(table)), labelled(profiles, table)
    if args.out:
        with writing("--out", args.out):
            write_table(table, args.out)
    if args.profiles:
        with writing("--profiles", args.profiles):
            write_table(profiles, args.profiles)
    if args.tracks:
        tracks = _tracks(sc, start, args.days)
        with writing("--tracks", args.tracks):
            write_table(tracks, args.tracks)
    if not args.quiet:
        _print(table, ["orbiter", "asset", "rise", "set", "sol", "lmst_start", "duration_s", "max_elevation_deg",
                       "min_range_km", "volume_mbit", "rate_mode", "peak_rate_kbps", "truncated"],
               f"{len(table)} passes of {len(sc.orbiters)} orbiter(s) over {len(sc.assets)} asset(s), "
               f"{args.days:g} days from {start}:")
    return 0


def with_local_times(sc, table):
    """The pass table with each asset's mission sol at rise and LMST at rise and set (``sol,
    lmst_start, lmst_end`` after ``set``, as in passes.csv and schedule.csv; relay.sols)."""
    from ..outputs.tables import local_time_columns
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
        _print(table, ["orbiter", "station", "start", "end", "duration_s", "max_elevation_deg",
                       "rate_kbps", "volume_mbit"],
               f"{len(table)} ground-station windows, {args.days:g} days from {start}:")
    if not sc.stations:
        print("(the scenario has no stations: add a `stations:` list)", file=sys.stderr)
    return 0
