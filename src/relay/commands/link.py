"""``relay link``: print a link budget term by term (issue 3).

    relay link CONFIG --orbiter MRO --asset Curiosity [--range-km R] [--elevation-deg E]
    relay link CONFIG --orbiter MRO --station DSS-26 --earth-range-au 2.5 --elevation-deg 30

Planners check budgets line by line: every term is printed in dB with its sign
as it enters the sum, then the supportable and the selected table rate.

Also the link columns that ``relay passes`` and ``relay tracks``
(:mod:`relay.commands.passes`) add to their tables: :func:`annotate_passes`,
:func:`annotate_tracks`, and :func:`pass_link_columns` (the columns of
:func:`annotate_passes` without pandas).
"""

from __future__ import annotations

from . import number


def register(sub) -> None:
    p = sub.add_parser(
        "link", help="print a UHF (or X-band) link budget term by term",
        description="Print the UHF return-link budget of an orbiter-asset pair at a range and "
                    "elevation (and, with --station, the orbiter's X-band downlink budget).")
    p.add_argument("config", help="scenario YAML file")
    p.add_argument("--orbiter", required=True, help="orbiter name as in the config")
    p.add_argument("--asset", default=None, help="asset name (UHF budget)")
    p.add_argument("--station", default=None, help="station name (X-band budget)")
    p.add_argument("--range-km", type=number("--range-km", 1, 1e6, unit=" km"), default=None,
                   help="UHF slant range, km (default: from --elevation-deg and --altitude-km)")
    p.add_argument("--elevation-deg", type=number("--elevation-deg", -90, 90, unit=" deg"), default=90.0,
                   help="elevation of the orbiter seen from the asset (or of the orbiter seen from "
                        "the station with --station), deg (default 90)")
    p.add_argument("--altitude-km", type=number("--altitude-km", 1, 577_000, unit=" km"), default=300.0,
                   help="orbiter altitude used when --range-km is not given (default 300)")
    p.add_argument("--earth-range-au", type=number("--earth-range-au", 0.3, 3, unit=" AU"), default=1.5,
                   help="Earth-orbiter distance for the X-band budget, AU (default 1.5)")
    p.set_defaults(func=run)


def _fmt(df) -> str:
    lines = []
    for term, value, unit in df.itertuples(index=False):
        if isinstance(value, float):
            v = f"{value:14.3f}"
        else:
            v = f"{str(value):>14}"
        lines.append(f"  {term:<30} {v}  {unit}")
    return "\n".join(lines)


def run(args) -> int:
    from ..config import load_scenario
    from ..config_links import StationXBand, XBandSpec
    from ..errors import RelayInputError, excerpt
    from ..constants import AU_KM
    from ..links.budget import range_from_elevation_km
    from ..links.uhf import uhf_budget_table, uhf_pairs_from_scenario
    from ..links.xband import xband_budget_table

    if args.asset is None and args.station is None:
        raise RelayInputError("give --asset NAME (UHF budget) and/or --station NAME (X-band "
                              "budget)", source="command line")
    if not -90.0 <= args.elevation_deg <= 90.0:
        raise RelayInputError(f"--elevation-deg {args.elevation_deg}: expected -90 to 90",
                              source="command line")
    if args.range_km is not None and not args.range_km > 0:
        raise RelayInputError(f"--range-km {args.range_km}: expected a positive range",
                              source="command line")
    sc = load_scenario(args.config)
    orbiters = {o.name: o for o in sc.orbiters}
    if args.orbiter not in orbiters:
        raise RelayInputError(f"--orbiter {excerpt(args.orbiter)} is not in the scenario; known: "
                              f"{', '.join(orbiters)}", source="command line")
    if args.asset is not None:
        if args.asset not in {a.name for a in sc.assets}:
            raise RelayInputError(f"--asset {excerpt(args.asset)} is not in the scenario; known: "
                                  f"{', '.join(a.name for a in sc.assets)}", source="command line")
        pair = uhf_pairs_from_scenario(sc, [(args.orbiter, args.asset)])[(args.orbiter, args.asset)]
        rng = args.range_km if args.range_km is not None else float(
            range_from_elevation_km(args.elevation_deg, args.altitude_km))
        print(f"UHF return link {args.asset} -> {args.orbiter} "
              f"(rates {', '.join(f'{r:g}' for r in pair.rates_kbps) or 'none in common'} kbps)")
        print(_fmt(uhf_budget_table(pair, rng, args.elevation_deg)))
    if args.station is not None:
        stations = {s.name: s for s in sc.stations}
        if args.station not in stations:
            raise RelayInputError(f"--station {excerpt(args.station)} is not in the scenario; known: "
                                  f"{', '.join(stations) or '(none)'}", source="command line")
        if not args.earth_range_au > 0:
            raise RelayInputError(f"--earth-range-au {args.earth_range_au}: expected > 0",
                                  source="command line")
        xo = getattr(orbiters[args.orbiter], "xband", None) or XBandSpec()
        xs = getattr(stations[args.station], "xband", None) or StationXBand()
        if args.asset is not None:
            print()
        print(f"X-band downlink {args.orbiter} -> {args.station}")
        print(_fmt(xband_budget_table(xo, xs, args.earth_range_au * AU_KM, args.elevation_deg,
                                      args.orbiter, args.station)))
    return 0


def annotate_passes(scenario, pass_set, table):
    """Add volume_mbit, rate_mode, peak_rate_kbps, fixed_rate_kbps, forward_min_duration_s,
    forward_fits to the user-facing pass ``table`` (matched on pass_id), and return
    ``(table, profiles)`` where profiles is ``pass_set.profiles`` plus supportable_kbps
    and rate_kbps.  ``pass_set`` has ``.passes`` and ``.profiles`` (geometry stage); the
    columns are :func:`pass_link_columns`', as DataFrames.
    """
    import numpy as np
    import pandas as pd

    from ..links.volumes import PASS_VOLUME_COLUMNS

    vol, prof = pass_link_columns(scenario, pass_set.passes, pass_set.profiles)
    extra = pd.DataFrame({c: vol[c] for c in PASS_VOLUME_COLUMNS}, index=np.asarray(pass_set.passes["pass_id"]))
    table = table.copy()
    for c in PASS_VOLUME_COLUMNS:
        table[c] = extra[c].reindex(table["pass_id"].to_numpy()).to_numpy()
    return table, pd.DataFrame(prof)


def pass_link_columns(scenario, passes, profiles, *, with_profiles: bool = True):
    """The link columns of ``relay passes``, without pandas (:func:`annotate_passes` wraps them in
    DataFrames): ``passes`` and ``profiles`` are the geometry stage's columns
    (:class:`relay.geometry.passes.PassColumns`, or DataFrames).  Returns ``(volumes,
    profiles)``: the volume columns of the passes (row for row, volume_mbit rounded to the kbit)
    and, with ``with_profiles``, the profiles sorted by pass_id and time with supportable_kbps and
    rate_kbps (None without)."""
    import numpy as np

    from ..links.volumes import pair_keys, pass_volume_columns
    from ..links.uhf import uhf_pairs_from_scenario

    pairs = uhf_pairs_from_scenario(scenario, pair_keys(passes))
    vol, rp, _ = pass_volume_columns(pairs, passes, profiles, with_rate_profiles=with_profiles)
    vol = {**vol, "volume_mbit": np.round(vol["volume_mbit"].astype(float), 3)}
    if rp is None:
        return vol, None
    prof = {c: np.asarray(v)[np.lexsort((profiles["tdb_s"], profiles["pass_id"]))] for c, v in profiles.items()}
    rp = {c: v[np.lexsort((rp["tdb_s"], rp["pass_id"]))] for c, v in rp.items()}
    if len(prof["pass_id"]) == len(rp["pass_id"]) and np.array_equal(prof["pass_id"], rp["pass_id"]):
        return vol, {**prof, "supportable_kbps": rp["supportable_kbps"], "rate_kbps": rp["rate_kbps"]}
    # samples the link stage added or dropped: each profile row gets the rates of its (pass_id, time)
    at = {(p, t): k for k, (p, t) in enumerate(zip(rp["pass_id"].tolist(), rp["tdb_s"].tolist()))}
    rows = [at.get(key, -1) for key in zip(prof["pass_id"].tolist(), prof["tdb_s"].tolist())]
    rows = np.asarray(rows, dtype=np.int64)
    known = rows >= 0
    for c in ("supportable_kbps", "rate_kbps"):
        prof[c] = np.full(rows.size, np.nan)
        prof[c][known] = rp[c][rows[known]]
    return vol, prof


def annotate_tracks(scenario, track_set, table):
    """Add volume_mbit (whole visible window), rate_kbps (the top rate reached),
    mean_rate_kbps and used_volume_mbit (under the bookings or the daily cap) to the
    user-facing track ``table`` (matched on track_id).  Reads ``scenario.bookings``
    (a CSV path, relative to ``scenario.path``'s folder) when set.
    """
    from ..inputs import bookings_path
    from ..links.stations import track_capacities

    out, _, _ = track_capacities(scenario, track_set.tracks, track_set.profiles,
                                 bookings=bookings_path(scenario))
    ex = out.set_index("track_id")
    table = table.copy()
    ids = table["track_id"].to_numpy()
    table["rate_kbps"] = ex["max_rate_kbps"].reindex(ids).to_numpy()
    table["mean_rate_kbps"] = ex["mean_rate_kbps"].reindex(ids).to_numpy().round(3)
    table["volume_mbit"] = ex["volume_mbit"].reindex(ids).to_numpy().round(3)
    table["used_volume_mbit"] = ex["used_volume_mbit"].reindex(ids).to_numpy().round(3)
    return table
