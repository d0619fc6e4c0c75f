"""The Earth leg first-come vs chosen on one horizon (issue 19); prints the figures quoted in the README.

    .venv/bin/python scripts/bench_earth_leg.py [--config configs/baseline.yaml] [--start 2026-12-14T00:00:00Z]
        [--days 7] [--legs first-come,chosen] [--outage STATION,START,HOURS]

Per Earth leg: downlinks used per station (count and Mbit), delivered Mbit, mean and worst
latency per asset, the solver's status, gap and solve time, and the wall time of the plan.
``--outage Goldstone,2026-12-16T12:00:00Z,8`` also plans with that station out for 8 h from then.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta

import relay.api as api
from relay.config import load_scenario


def figures(r, label: str, wall: float) -> None:
    s = r.summary
    rep = s.solve
    dl = r.downlinks
    print(f"== {label}: {rep.status}, gap {rep.gap}, solve {rep.solve_time_s} s, plan wall {wall:.2f} s "
          f"(load {os.getloadavg()[0]:.2f})")
    print(f"   delivered {s.figures.delivered_mbit:,.1f} Mbit, downlinks {len(dl)}")
    g = dl.groupby("station")["volume_mbit"].agg(["count", "sum"]).sort_values("sum", ascending=False)
    for st, row in g.iterrows():
        print(f"   {st:<12} {int(row['count']):4d} downlinks {row['sum']:10,.1f} Mbit")
    for a, lat in sorted(s.latency_by_asset.items()):
        print(f"   latency {a:<14} mean {lat.mean_h:6.2f} h  worst {lat.worst_h:6.2f} h  ({lat.mbit:,.1f} Mbit)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/baseline.yaml")
    ap.add_argument("--start", default="2026-12-14T00:00:00Z")
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--legs", default="first-come,chosen")
    ap.add_argument("--outage", default=None, help="STATION,START,HOURS: that station out for HOURS from START")
    ap.add_argument("--time-limit", type=float, default=None)
    a = ap.parse_args()
    for leg in a.legs.split(","):
        sc = load_scenario(a.config, overrides={"planning.earth_leg": leg})
        t0 = time.perf_counter()
        r = api.plan(sc, a.start, a.days, time_limit_s=a.time_limit)
        figures(r, f"{a.config} {a.days:g} d from {a.start}, earth_leg {leg}", time.perf_counter() - t0)
        if a.outage:
            st, when, hours = a.outage.split(",")
            t = datetime.fromisoformat(when.replace("Z", "+00:00"))
            with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
                f.write("target,what,start,end,note\n"
                        f"{st},all,{t:%Y-%m-%dT%H:%M:%SZ},{t + timedelta(hours=float(hours)):%Y-%m-%dT%H:%M:%SZ},"
                        "bench outage\n")
            t0 = time.perf_counter()
            r2 = api.plan(sc, a.start, a.days, time_limit_s=a.time_limit, outages=f.name)
            figures(r2, f"  with {st} out {hours} h", time.perf_counter() - t0)
            os.unlink(f.name)


if __name__ == "__main__":
    main()
