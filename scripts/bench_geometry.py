"""Geometry benchmark: one Earth year of passes, 5 orbiters x 6 assets, relay vs SPICE.

    .venv/bin/python scripts/bench_geometry.py [--days 365.25] [--repeat 3] [--no-spice]
        [--spice-step 60] [--no-tracks]

Prints relay's wall time (median of ``--repeat`` runs in one process, each
run listed, with the process's CPU time: on a shared machine the wall time
moves with the other load, the CPU time much less), passes per second and
peak memory; the station tracks of ``configs/baseline.yaml``'s week (median
of 5); then the same pass search through SPICE's geometry finder (gfposc,
tests/spice_ref.py kernels) in the same run, the speed ratio, and the
agreement of every matched rise and set.  It also times the UHF volumes of
every pass.  Orbits and sites: scripts/bench_spice_passes.py (phases
illustrative).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_spice_passes import ORBITS, SITES, spice_year_of_passes, start_et_default  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


RADIOS = {"Odyssey": "Odyssey-UHF", "MEX": "MEX-Melacom"}


def bench_scenario():
    """The benchmark's orbits and sites as a relay Scenario (radios and links at their defaults)."""
    from relay.config import scenario_from_dict
    from relay.timescales import tdb_s_to_iso

    epoch = tdb_s_to_iso(start_et_default())
    orbiters = [{"name": n, "radio": RADIOS.get(n, "Electra"),
                 "orbit": {"type": "keplerian", "epoch": epoch, "semi_major_axis_km": el[0],
                           "eccentricity": el[1], "inclination_deg": el[2], "raan_deg": el[3],
                           "arg_periapsis_deg": el[4], "mean_anomaly_deg": el[5]}}
                for n, el in ORBITS]
    assets = [{"name": n, "latitude_deg": lat, "longitude_deg": lon, "height_m": h} for n, lat, lon, h in SITES]
    return scenario_from_dict({"orbiters": orbiters, "assets": assets}, source="bench")


def relay_year(days: float, start_et: float, repeat: int = 1):
    """The pass search ``repeat`` times: (last PassSet, wall times, CPU times, scenario)."""
    from relay.geometry.passes import find_passes
    from relay.orbits import ephemerides_of

    sc = bench_scenario()
    ephs, sites = ephemerides_of(sc), sc.sites()
    walls, cpus, ps = [], [], None
    for _ in range(max(1, repeat)):
        ps = None  # free the previous run's profiles first
        t0, c0 = time.perf_counter(), time.process_time()
        ps = find_passes(ephs, sites, start_et, start_et + days * 86400.0)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return ps, walls, cpus, sc


def baseline_tracks(repeat: int = 5):
    """Station tracks of configs/baseline.yaml over a week: (tracks, wall times, CPU times)."""
    from relay.config import load_scenario
    from relay.geometry.earth import stations_of
    from relay.geometry.tracks import find_tracks
    from relay.orbits import ephemerides_of
    from relay.timescales import utc_to_tdb_s

    sc = load_scenario(ROOT / "configs" / "baseline.yaml")
    t0 = utc_to_tdb_s("2026-12-01T00:00:00Z")
    ephs, stations = ephemerides_of(sc), stations_of(sc)
    args = (ephs, stations, t0, t0 + 7 * 86400.0)
    kw = {"profile_step_s": sc.geometry.track_profile_step_s}
    find_tracks(*args, **kw)  # warm-up: the planetary ephemeris and its tables
    walls, cpus = [], []
    for _ in range(repeat):
        a, c = time.perf_counter(), time.process_time()
        tr = find_tracks(*args, **kw)
        walls.append(time.perf_counter() - a)
        cpus.append(time.process_time() - c)
    return tr, walls, cpus


def compare(ps, ref: dict):
    """Match relay's windows to SPICE's per pair; max |d rise|, |d set| (s) and unmatched counts."""
    worst_r = worst_s = 0.0
    only_relay = only_spice = 0
    short_missed = []
    for (orb, site), w in ref.items():
        ours = ps.passes[(ps.passes.orbiter == orb) & (ps.passes.asset == site)]
        r = ours[["rise_tdb_s", "set_tdb_s"]].to_numpy()
        tr_s = ours["truncated_start"].to_numpy()
        tr_e = ours["truncated_end"].to_numpy()
        used = np.zeros(len(r), bool)
        for a, b in w:
            j = np.flatnonzero((np.abs(r[:, 0] - a) < 5.0) | (np.abs(r[:, 1] - b) < 5.0))
            if j.size == 0:
                only_spice += 1
                short_missed.append(b - a)
                continue
            k = j[0]
            used[k] = True
            if not tr_s[k]:
                worst_r = max(worst_r, abs(r[k, 0] - a))
            if not tr_e[k]:
                worst_s = max(worst_s, abs(r[k, 1] - b))
        only_relay += int((~used).sum())
    return worst_r, worst_s, only_relay, only_spice, short_missed


def startup_s() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "relay", "passes", "--help"], capture_output=True, check=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=365.25)
    ap.add_argument("--repeat", type=int, default=3, help="pass searches to time (the median is quoted)")
    ap.add_argument("--no-spice", action="store_true")
    ap.add_argument("--no-tracks", action="store_true")
    ap.add_argument("--spice-step", type=float, default=60.0,
                    help="gfposc step: 60 s is below the shortest monotone interval of elevation "
                         "measured over the year (88 s), so it finds every window")
    args = ap.parse_args(argv)
    start_et = start_et_default()
    print(f"relay geometry benchmark: {len(ORBITS)} orbiters x {len(SITES)} assets, "
          f"{args.days:g} days, 10 deg mask")
    print(f"  `relay passes --help` starts in {startup_s():.2f} s")
    ps, walls, cpus, sc = relay_year(args.days, start_et, args.repeat)
    wall = float(np.median(walls))
    n = len(ps.passes)
    print(f"  relay : {n} passes in {wall:.2f} s median of {len(walls)} "
          f"({', '.join(f'{w:.2f}' for w in walls)} s; CPU {float(np.median(cpus)):.2f} s) "
          f"({n / wall:,.0f} passes/s), {len(ps.profiles):,} profile samples, "
          f"peak memory {peak_rss_mib():.0f} MiB")
    if not args.no_tracks:
        tr, tw, tc = baseline_tracks()
        print(f"  station tracks, configs/baseline.yaml, 7 days: {len(tr.tracks)} tracks in "
              f"{float(np.median(tw)) * 1e3:.0f} ms median of {len(tw)} "
              f"(CPU {float(np.median(tc)) * 1e3:.0f} ms)")
    from relay.links.volumes import pass_volumes
    t0 = time.perf_counter()
    out, _, _ = pass_volumes(sc, ps.passes, ps.profiles, with_rate_profiles=False)
    vt = time.perf_counter() - t0
    print(f"  UHF volumes of every pass: {vt:.2f} s (+{100 * vt / wall:.0f} % of the geometry), "
          f"{out.volume_mbit.sum() / 1e6:.2f} Tbit in all")
    if args.no_spice:
        return 0
    ref = spice_year_of_passes(days=args.days, start_et=start_et, step_s=args.spice_step)
    print(f"  SPICE : {ref['n_passes']} passes in {ref['search_s']:.2f} s of gfposc "
          f"(step {ref['step_s']:g} s; kernels written in {ref['build_s']:.2f} s)")
    print(f"  relay is {ref['search_s'] / wall:.1f}x faster than SPICE gfposc")
    wr, ws, only_relay, only_spice, missed = compare(ps, ref["windows"])
    print(f"  agreement: max |rise - SPICE| {wr * 1e3:.2f} ms, max |set - SPICE| {ws * 1e3:.2f} ms; "
          f"windows only relay found: {only_relay}, only SPICE found: {only_spice}"
          + (f" (durations {np.round(missed, 1).tolist()} s)" if missed else ""))
    print(f"  peak memory of the whole run: {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
