"""Benchmark of the link model: UHF volumes for one Earth year of synthetic passes.

Builds ~60,000 passes (5 orbiters x 6 assets, realistic per-pair counts and
durations: 10 s samples, 255-400 km orbiters with ~8-17 min passes, higher
MAVEN/Mars Express-like orbits with 30-60 min passes), then times
:func:`relay.links.volumes.pass_volumes_from_pairs` and 10,000 sub-window queries of
the :class:`relay.links.table.VolumeTable`, and the X-band capacities of a year of
station tracks.  Prints the figures; asserts nothing on time.

    .venv/bin/python scripts/bench_links.py [--passes 60000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from relay.config_links import (AssetUHF, LinkSettings, OrbiterUHF, StationXBand,
                                default_xband, merge_radios)
from relay.constants import AU_KM
from relay.links.stations import track_capacities_from_specs
from relay.links.synthetic import synthetic_pass
from relay.links.uhf import resolve_uhf_pair
from relay.links.volumes import pass_volumes_from_pairs

ORBITERS = [("TGO", "Electra", 400.0, 0.24), ("MRO", "Electra", 300.0, 0.24),
            ("Odyssey", "Odyssey-UHF", 400.0, 0.24), ("MAVEN", "Electra", 2500.0, 0.16),
            ("MEX", "MEX-Melacom", 4000.0, 0.12)]
ASSETS = [("Curiosity", "Electra-Lite"), ("Perseverance", "Electra-Lite"),
          ("InSight", "Electra-Lite"), ("Rosalind Franklin", "ExoMars-Rover-UHF"),
          ("Zhurong", "Electra-Lite"), ("Asset6", "Electra-Lite")]


def build(n_passes: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    radios = merge_radios(None)
    link = LinkSettings()
    pairs, shapes = {}, {}
    for o, orad, alt, _ in ORBITERS:
        ou = OrbiterUHF(rate_mode="fixed" if orad != "Electra" else "adaptive")
        for a, arad in ASSETS:
            pairs[(o, a)] = resolve_uhf_pair(o, radios[orad], ou, a, radios[arad], AssetUHF(), link)
        shapes[o] = [synthetic_pass(alt, mx, step_s=10.0) for mx in (5, 10, 20, 30, 45, 60, 75, 89)]
    weights = np.array([w for *_, w in ORBITERS])
    which = rng.choice(len(ORBITERS), size=n_passes, p=weights / weights.sum())
    asset = rng.integers(0, len(ASSETS), size=n_passes)
    shape = rng.integers(0, 8, size=n_passes)
    t_list, el_list, r_list, pid_list = [], [], [], []
    rows = []
    t0 = 0.0
    for k in range(n_passes):
        o = ORBITERS[which[k]][0]
        tt, el, rr = shapes[o][shape[k]]
        t_list.append(tt + t0)
        el_list.append(el)
        r_list.append(rr)
        pid_list.append(np.full(len(tt), k))
        rows.append((k, o, ASSETS[asset[k]][0], t0 + tt[0], t0 + tt[-1], tt[-1] - tt[0]))
        t0 += 365.25 * 86400 / n_passes
    passes = pd.DataFrame(rows, columns=["pass_id", "orbiter", "asset", "rise_tdb_s", "set_tdb_s",
                                         "duration_s"])
    profiles = pd.DataFrame({"pass_id": np.concatenate(pid_list), "tdb_s": np.concatenate(t_list),
                             "elevation_deg": np.concatenate(el_list),
                             "range_km": np.concatenate(r_list)})
    return pairs, passes, profiles


def build_tracks(days: int = 365, step_s: float = 60.0):
    """Per orbiter and station, ~1 window of ~7 h per station-day (coarse, for timing)."""
    rows, prof = [], []
    tid = 0
    for o, *_ in ORBITERS:
        for s_i, s in enumerate(["DSS-14", "DSS-43", "DSS-63", "DSS-26", "NNO", "CEB"]):
            for d in range(days):
                start = d * 86400.0 + s_i * 4 * 3600.0
                tt = np.arange(start, start + 7 * 3600.0 + 1, step_s)
                x = (tt - start) / (7 * 3600.0)
                el = 10 + 60 * np.sin(np.pi * x)
                rows.append((tid, o, s, tt[0], tt[-1], tt[-1] - tt[0]))
                prof.append((np.full(len(tt), tid), tt, el,
                             np.full(len(tt), (0.5 + 2.0 * d / days) * AU_KM)))
                tid += 1
    tracks = pd.DataFrame(rows, columns=["track_id", "orbiter", "station", "start_tdb_s",
                                         "end_tdb_s", "duration_s"])
    track_profiles = pd.DataFrame({"track_id": np.concatenate([p[0] for p in prof]),
                                   "tdb_s": np.concatenate([p[1] for p in prof]),
                                   "elevation_deg": np.concatenate([p[2] for p in prof]),
                                   "range_km": np.concatenate([p[3] for p in prof])})
    return tracks, track_profiles


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    pairs, passes, profiles = build(args.passes)
    print(f"passes: {len(passes)}  profile samples: {len(profiles)}")
    for with_rp in (False, True):
        best = np.inf
        for _ in range(args.repeat):
            t = time.perf_counter()
            out, rp, table = pass_volumes_from_pairs(pairs, passes, profiles,
                                                     with_rate_profiles=with_rp)
            best = min(best, time.perf_counter() - t)
        what = "volumes + VolumeTable" + (" + rate-profile DataFrame" if with_rp else "")
        print(f"UHF {what}: {best:.3f} s (best of {args.repeat}; "
              f"{1e9 * best / len(profiles):.0f} ns per profile sample)")
    print(f"  total {out.volume_mbit.sum() / 1e6:.2f} Tbit, median {out.volume_mbit.median():.1f} "
          "Mbit per pass")
    rng = np.random.default_rng(2)
    q = rng.integers(0, len(passes), 10000)
    r, s = passes.rise_tdb_s.to_numpy()[q], passes.set_tdb_s.to_numpy()[q]
    a = r + rng.random(len(q)) * (s - r)
    b = a + rng.random(len(q)) * (s - a)
    t = time.perf_counter()
    table.volume_mbit(passes.pass_id.to_numpy()[q], a, b)
    print(f"10,000 sub-window volume queries: {1e3 * (time.perf_counter() - t):.1f} ms")
    tracks, tp = build_tracks()
    xo = {o: default_xband(o) for o, *_ in ORBITERS}
    xs = {s: StationXBand(dish_diameter_m=70.0 if s == "DSS-14" else 34.0)
          for s in tracks.station.unique()}
    t = time.perf_counter()
    tr, dl, _ = track_capacities_from_specs(xo, xs, tracks, tp)
    print(f"X-band capacities: {len(tracks)} tracks, {len(tp)} samples: "
          f"{time.perf_counter() - t:.3f} s; {len(dl)} downlink windows")


if __name__ == "__main__":
    main()
