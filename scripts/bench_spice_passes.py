"""SPICE half of the geometry benchmark: a year of passes through gfposc.

    .venv/bin/python scripts/bench_spice_passes.py [--days 365.25] [--step 60]
        [--compare-step 300] [--extrema]

Builds the reference kernels (tests/spice_ref.py: IAU 2015 Mars PCK,
topocentric frames and site SPK, one SPK type 17 per orbiter with J2 secular
rates) and finds every window in which each of 5 orbiters is above each of 6
assets' 10 deg mask with ``gfposc`` (elevation = LATITUDE in the topocentric
frame, no aberration correction), one pair after another in one process.

``scripts/bench_geometry.py`` imports :func:`spice_year_of_passes` for its
"SPICE in the same run" ratio.  The orbits are illustrative (domain.md: the
real orbiters' phases are not public); the nodes and anomalies below are
arbitrary.

Step
----
gfposc samples the *rate* of elevation every ``step`` seconds to find the
intervals on which elevation is monotone, then solves for the mask crossings
inside each (to 1e-6 s).  It misses a window only if a local maximum and a
neighbouring minimum of elevation fall within one step, so the step must be
shorter than the shortest monotone interval of elevation -- not, as with plain
sampling, shorter than the shortest window (windows of 6 s are found with a
300 s step here).  Measured over the year (``--extrema --extrema-days 365.25
--extrema-step 60``, gfposc LOCMAX/LOCMIN): the shortest monotone interval is
88 s (MEX over Rosalind Franklin); intervals under 400 s occur only for MAVEN
and MEX, as shallow wiggles (about 0.01 deg or less) of elevation 12-41 deg *below* the
horizon near apoapsis; TGO, MRO and Odyssey's are >= 980 s.  The default step,
60 s, is shorter than 88 s, so gfposc finds every extremum and hence every
window, of any length.  ``--compare-step 300`` finds the same 26,659 windows
(edges within 2e-6 s) because the sub-300 s wiggles are all below the mask.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

import spice_ref as R  # noqa: E402

RE = R.MARS_RE_KM


def _ellipse(rp_alt_km: float, ra_alt_km: float):
    rp, ra = RE + rp_alt_km, RE + ra_alt_km
    return 0.5 * (rp + ra), (ra - rp) / (ra + rp)


_MAVEN_A, _MAVEN_E = _ellipse(150.0, 4500.0)
_MEX_A, _MEX_E = _ellipse(298.0, 10107.0)

#: (name, (a km, e, i deg, RAAN deg, argp deg, M deg)); the epoch is the start.
ORBITS = [
    ("TGO", (RE + 400.0, 0.0, 74.0, 0.0, 0.0, 0.0)),
    ("MRO", (RE + 287.5, 0.0093, 92.6, 60.0, 270.0, 30.0)),
    ("Odyssey", (RE + 400.0, 0.0, 93.06, 150.0, 0.0, 90.0)),
    ("MAVEN", (_MAVEN_A, _MAVEN_E, 75.0, 220.0, 30.0, 180.0)),
    ("MEX", (_MEX_A, _MEX_E, 86.0, 300.0, 250.0, 270.0)),
]

#: (name, planetocentric lat deg, east lon deg, height m).  Heights from
#: domain.md where given, else 0; "Gale-like" is an illustrative point in Gale
#: crater's centre.
SITES = [
    ("Curiosity", -4.5895, 137.4417, 0.0),
    ("Perseverance", 18.4447, 77.4508, 0.0),
    ("InSight", 4.502384, 135.623447, -2613.0),
    ("Zhurong", 25.066, 109.925, -4099.0),
    ("Rosalind Franklin", 18.20, 335.45, -3000.0),
    ("Gale-like", -5.4, 137.8, -4500.0),
]

START_UTC = "2026-11-23T00:00:00Z"
DEFAULT_STEP_S = 60.0


def start_et_default() -> float:
    """TDB seconds past J2000 of START_UTC (relay's converter when importable)."""
    try:
        from relay.timescales import utc_to_tdb_s
        return float(utc_to_tdb_s(START_UTC))
    except Exception:   # relay not importable yet: UTC + 37 s + 32.184 s (TDB-TT < 2 ms)
        from datetime import datetime, timezone
        j2000_tt = datetime(2000, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
        t = datetime(2026, 11, 23, tzinfo=timezone.utc)
        return (t - j2000_tt).total_seconds() + 37.0 + 32.184


def spice_year_of_passes(orbits=ORBITS, sites=SITES, start_et: float | None = None,
                         days: float = 365.25, mask_deg: float = 10.0,
                         step_s: float = DEFAULT_STEP_S, workdir=None) -> dict:
    """Every (orbiter, site) window above ``mask_deg`` over ``days`` through gfposc.

    ``orbits``: (name, elements) or (name, elements, epoch_et) with elements
    (a km, e, i, RAAN, argp, M; deg) referred to Mars's IAU 2015 equator and
    node at the epoch (default epoch: ``start_et``); J2 secular rates with
    GM 42828.37, Re 3396.19, J2 1.96045e-3.  ``sites``: (name, lat, lon,
    height m).  ``mask_deg``: a number or a {site name: deg} dict.

    Returns a dict: ``windows`` {(orbiter, site): (N,2) ET array},
    ``n_passes``, ``build_s`` (writing kernels), ``search_s`` (loading
    kernels and all gfposc calls), ``wall_s`` (both), ``step_s``.
    """
    if start_et is None:
        start_et = start_et_default()
    t0 = time.perf_counter()
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="relay-spice-bench-")
        workdir = tmp.name
    try:
        orbit_specs = [(o[0], o[1], float(o[2]) if len(o) > 2 else float(start_et))
                       for o in orbits]
        kit = R.build_kit(workdir, sites, orbit_specs)
        t1 = time.perf_counter()
        et1 = start_et + days * 86400.0
        windows = {}
        with kit.loaded():
            for oname, oid in kit.orbiters.items():
                for s in kit.sites:
                    mask = mask_deg[s.name] if isinstance(mask_deg, dict) else mask_deg
                    windows[(oname, s.name)] = R.spice_passes(
                        None, s.naif_id, s.frame_name, oid, start_et, et1, mask, step_s)
        t2 = time.perf_counter()
    finally:
        if tmp is not None:
            tmp.cleanup()
    return {
        "windows": windows,
        "n_passes": int(sum(len(w) for w in windows.values())),
        "build_s": t1 - t0,
        "search_s": t2 - t1,
        "wall_s": t2 - t0,
        "step_s": step_s,
        "start_et": start_et,
        "days": days,
    }


def elevation_extrema(orbits=ORBITS, sites=SITES, start_et: float | None = None,
                      days: float = 30.0, step_s: float = DEFAULT_STEP_S) -> dict:
    """Shortest interval between consecutive local extrema of elevation, per pair.

    Uses gfposc LOCMAX / LOCMIN with ``step_s``: it bounds the gfposc step
    below which no window can be missed for these orbits (extrema closer than
    ``step_s`` would themselves be missed, so read it as "at least").
    """
    import spiceypy as sp
    import spiceypy.utils.support_types as stypes

    if start_et is None:
        start_et = start_et_default()
    et1 = start_et + days * 86400.0
    out = {}
    with tempfile.TemporaryDirectory(prefix="relay-spice-ext-") as d:
        kit = R.build_kit(d, sites, [(o[0], o[1], start_et) for o in orbits])
        with kit.loaded():
            for oname, oid in kit.orbiters.items():
                for s in kit.sites:
                    times = []
                    for rel in ("LOCMAX", "LOCMIN"):
                        nint = int(days * 86400.0 / 300.0) + 2000
                        cnf = stypes.SPICEDOUBLE_CELL(2)
                        sp.wninsd(start_et, et1, cnf)
                        res = stypes.SPICEDOUBLE_CELL(2 * nint)
                        sp.gfposc(str(oid), s.frame_name, "NONE", str(s.naif_id), "LATITUDINAL",
                                  "LATITUDE", rel, 0.0, 0.0, step_s, nint, cnf, res)
                        times += [sp.wnfetd(res, j)[0] for j in range(sp.wncard(res))]
                    times = np.sort(np.array(times))
                    times = times[(times > start_et + 1) & (times < et1 - 1)]
                    out[(oname, s.name)] = float(np.diff(times).min()) if times.size > 1 else math.inf
    return out


def _compare(a: dict, b: dict) -> tuple[int, int, float]:
    """(pairs whose window counts differ, total count difference, max edge difference s)."""
    bad = diff = 0
    worst = 0.0
    for k in a:
        wa, wb = a[k], b[k]
        if wa.shape != wb.shape:
            bad += 1
            diff += abs(len(wa) - len(wb))
        elif wa.size:
            worst = max(worst, float(np.abs(wa - wb).max()))
    return bad, diff, worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=365.25)
    ap.add_argument("--step", type=float, default=DEFAULT_STEP_S, help="gfposc step, s")
    ap.add_argument("--mask", type=float, default=10.0)
    ap.add_argument("--compare-step", type=float, default=None,
                    help="also run with this step and compare the windows")
    ap.add_argument("--extrema", action="store_true",
                    help="report the shortest monotone interval of elevation")
    ap.add_argument("--extrema-days", type=float, default=30.0)
    ap.add_argument("--extrema-step", type=float, default=20.0)
    ap.add_argument("--skip-passes", action="store_true", help="only the --extrema analysis")
    args = ap.parse_args(argv)

    if not args.skip_passes:
        print(f"SPICE gfposc: {len(ORBITS)} orbiters x {len(SITES)} assets, {args.days:g} days "
              f"from {START_UTC}, mask {args.mask:g} deg, step {args.step:g} s", flush=True)
        r = spice_year_of_passes(days=args.days, mask_deg=args.mask, step_s=args.step)
        durs = np.concatenate([w[:, 1] - w[:, 0] for w in r["windows"].values() if len(w)])
        print(f"  passes: {r['n_passes']}  (shortest {durs.min():.1f} s, median "
              f"{np.median(durs):.0f} s, longest {durs.max():.0f} s)")
        print(f"  wall time: {r['wall_s']:.2f} s  (kernels {r['build_s']:.2f} s, "
              f"gfposc {r['search_s']:.2f} s)  -> {r['n_passes'] / r['wall_s']:.0f} passes/s")
        print("    " + " " * 9 + " ".join(f"{s[0][:5]:>5s}" for s in SITES))
        for oname, _ in ORBITS:
            counts = [len(r["windows"][(oname, s[0])]) for s in SITES]
            print(f"    {oname:8s} " + " ".join(f"{c:5d}" for c in counts))
        if args.compare_step:
            r2 = spice_year_of_passes(days=args.days, mask_deg=args.mask, step_s=args.compare_step)
            bad, diff, worst = _compare(r["windows"], r2["windows"])
            print(f"  step {args.compare_step:g} s: {r2['n_passes']} passes in {r2['wall_s']:.2f} s; "
                  f"pairs differing {bad} (by {diff} windows), max edge difference {worst:.2e} s")
    if args.extrema:
        t = time.perf_counter()
        ext = elevation_extrema(days=args.extrema_days, step_s=args.extrema_step)
        k = min(ext, key=ext.get)
        print(f"  shortest monotone interval of elevation ({args.extrema_days:g} days, "
              f"LOCMAX/LOCMIN step {args.extrema_step:g} s): {ext[k]:.0f} s ({k[0]} / {k[1]}); "
              f"{time.perf_counter() - t:.0f} s")
        for oname, _ in ORBITS:
            print(f"    {oname:8s} " + " ".join(f"{ext[(oname, s[0])]:6.0f}" for s in SITES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
