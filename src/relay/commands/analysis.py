"""``relay compare`` and ``relay sweep``: what-if analysis over several configurations.

Rule for overrides in ``relay compare``:

* ``--set KEY=VALUE`` applies to **every** config on the command line (and to
  the variants), e.g. a common planner setting;
* ``--variant NAME:KEY=VALUE[,KEY=VALUE...]`` adds a config named NAME: the
  **first** config with these overrides (after ``--set``).  Repeat ``--variant``
  with the same NAME to add more keys to it.

KEY is a dotted path (``assets.Curiosity.min_elevation_deg``, list items by
name or index); VALUE is parsed as YAML (``15`` is a number, ``[1, 2]`` a list,
``Electra`` a string).  A KEY that does not exist is an error listing the
valid keys at that level.
"""

from __future__ import annotations

import re
import sys

from . import MAX_PLAN_DAYS, MAX_SEED, integer, number, out_dir, utc_time

_EPILOG_COMPARE = """\
overrides:
  --set KEY=VALUE                  applies to every config (and variant)
  --variant NAME:KEY=VALUE[,K=V]   adds NAME: the first config with these overrides
  KEY is dotted (assets.Curiosity.min_elevation_deg; list items by name or index),
  VALUE is YAML (15, [1, 2], Electra).

example:
  relay compare configs/baseline.yaml configs/insight-2019.yaml --start 2026-11-23T00:00:00Z --days 28 \\
      --variant mask20:assets.Curiosity.min_elevation_deg=20,assets.Perseverance.min_elevation_deg=20 --out out/cmp
"""

_EPILOG_SWEEP = """\
SWEEP.yaml (paths relative to it):
  base: baseline.yaml
  days: 7
  start: "2026-11-23T00:00:00Z"      # + weeks: N,  or  starts: [...]
  grid:                              # Cartesian product
    assets.Curiosity.min_elevation_deg: [10, 15, 20]
    tgo_altitude_km: {set: [orbiters.TGO.orbit.periapsis_altitude_km,
                            orbiters.TGO.orbit.apoapsis_altitude_km], values: [300, 400]}
  variants: [{name: NAME, set: {KEY: VALUE}}]     # optional, combined with the grid
  plan: {time_limit_s: 30, workers: 1, seed: 0}
  cluster: {n_workers: 2}
  metric: delivered_mbit

Writes DIR/results.parquet and DIR/results.csv (one row per run, the swept
parameters as columns, failed runs with their error) and caches every run in
DIR/cache/, so running the same command again only plans what is missing.
A wrong SWEEP.yaml (a wrong type, an unknown key, a grid key the base config
does not have, more than 10,000 runs) is refused before any run, and a sweep
that fails before any run is planned leaves DIR as it was.
"""


def register(sub) -> None:
    import argparse

    c = sub.add_parser("compare", help="plan several configs over the same horizon and compare them",
                       description="Plan every config (and variant) over the same horizon; write compare.csv, "
                                   "a self-contained compare.html and each plan in DIR/<config>/.",
                       epilog=_EPILOG_COMPARE, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("configs", nargs="+", metavar="CONFIG", help="scenario YAML files (the first is the reference)")
    c.add_argument("--start", default=None, type=utc_time("--start"),
                   help="ISO 8601 UTC start (default: next 00:00 UTC)")
    c.add_argument("--days", type=number("--days", 0, MAX_PLAN_DAYS, lo_open=True, unit=" days"), default=28.0,
                   help="horizon in days (default 28)")
    c.add_argument("--out", required=True, type=out_dir("--out"), help="output directory")
    c.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override applied to every config (repeatable)")
    c.add_argument("--variant", dest="variants", action="append", default=[], metavar="NAME:KEY=VALUE[,...]",
                   help="a variant of the first config (repeatable)")
    c.add_argument("--time-limit", type=number("--time-limit", 0, 86400, lo_open=True, unit=" s"), default=None,
                   help="CP-SAT time limit per plan (s)")
    c.add_argument("--solver-workers", type=integer("--solver-workers", 1, 64), default=None,
                   help="CP-SAT workers per plan")
    c.add_argument("--seed", type=integer("--seed", 0, MAX_SEED), default=None, help="CP-SAT random seed")
    c.add_argument("--no-plans", action="store_true", help="do not write each plan's files")
    c.set_defaults(func=run_compare)

    s = sub.add_parser("sweep", help="plan every combination of a parameter sweep on Dask",
                       description="Plan every combination of a sweep (grid or list of overrides x start weeks) "
                                   "on a dask.distributed cluster; one row per run in DIR/results.parquet.",
                       epilog=_EPILOG_SWEEP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("spec", metavar="SWEEP.yaml", help="the sweep specification")
    s.add_argument("--out", required=True, type=out_dir("--out"), help="output directory (results and cache)")
    s.add_argument("--scheduler", default=None,
                   help="address of an existing Dask scheduler (tcp://host:8786); 'serial' runs in this "
                        "process; default: a LocalCluster sized to the cores")
    s.add_argument("--workers", type=integer("--workers", 1, 256), default=None, help="LocalCluster worker processes")
    s.add_argument("--plot", nargs="?", const=True, default=False, metavar="METRIC",
                   help="draw DIR/sweep_METRIC.png: METRIC against each swept parameter "
                        "(default metric: the spec's `metric`, else delivered_mbit)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=run_sweep)


def _parse_assignment(text: str, where: str) -> tuple[str, object]:
    import yaml

    from ..errors import RelayInputError

    if "=" not in text:
        raise RelayInputError(f"got {text!r}; expected KEY=VALUE (e.g. assets.Curiosity.min_elevation_deg=15)",
                              source="command line", where=where)
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise RelayInputError(f"got {text!r}; the KEY before '=' is empty", source="command line", where=where)
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as exc:
        raise RelayInputError(f"the value {value!r} of {key} is not valid YAML ({exc})",
                              source="command line", where=where) from None
    return key, parsed


def parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items:
        k, v = _parse_assignment(item, "--set")
        out[k] = v
    return out


def parse_variants(items: list[str]) -> dict[str, dict]:
    """``NAME:K=V,K=V`` (a comma splits only before another ``KEY=``) into {NAME: overrides}."""
    from ..errors import RelayInputError

    out: dict[str, dict] = {}
    for item in items:
        name, sep, rest = item.partition(":")
        if not sep or not name.strip() or not rest.strip():
            raise RelayInputError(f"got {item!r}; expected NAME:KEY=VALUE[,KEY=VALUE...]",
                                  source="command line", where="--variant")
        parts = re.split(r",(?=\s*[A-Za-z_][\w.\-]*\s*=)", rest)
        from ..inputs import check_plain_name

        ov = out.setdefault(check_plain_name(name.strip(), "the variant name", "--variant"), {})
        for part in parts:
            k, v = _parse_assignment(part, "--variant")
            ov[k] = v
    return out


def run_compare(args) -> int:
    from ..analysis.compare import compare
    from ..api import default_start
    from ..errors import RelayInputError

    sets = parse_sets(args.sets)
    variants = parse_variants(args.variants)
    if len(args.configs) + len(variants) < 2:
        raise RelayInputError("nothing to compare: give two or more configs, or a config and a --variant",
                              source="command line")
    names = [c for c in args.configs]
    start = args.start or default_start()
    plan_options = {k: v for k, v in (("time_limit_s", args.time_limit), ("workers", args.solver_workers),
                                      ("seed", args.seed)) if v is not None}
    res = compare(names, start, args.days, out=args.out, overrides=sets, variants=variants,
                  plan_options=plan_options, write_plans=not args.no_plans, progress=True)
    print(f"{len(res.names)} configs, {args.days:g} days from {start} (changes against {res.names[0]}):")
    print(comparison_text(res.totals))
    print(f"wrote {args.out}/compare.html and compare.csv")
    return 0


def run_sweep(args) -> int:
    from ..analysis.sweep import sweep

    df = sweep(args.spec, out=args.out, scheduler=args.scheduler, progress=not args.no_progress,
               plot=args.plot, n_workers=args.workers)
    ok = int(df["ok"].sum()) if "ok" in df.columns else 0
    failed = len(df) - ok
    print(f"{len(df)} runs: {ok} ok, {failed} failed; results in {args.out}/results.parquet and results.csv")
    if failed:
        for rec in df[~df["ok"]].head(5).itertuples(index=False):
            print(f"  run {rec.run_id} ({rec.start}): {rec.error}", file=sys.stderr)
        if failed > 5:
            print(f"  ... and {failed - 5} more (column `error`)", file=sys.stderr)
    return 0


#: the terminal's comparison columns: (column, header, format)
_CLI_COLUMNS = [("config", "config", "{}"), ("status", "status", "{}"),
                ("delivered_mbit", "delivered Mbit", "{:,.1f}"), ("d_delivered_pct", "change %", "{:+.2f}"),
                ("spare_capacity_mbit", "spare Mbit", "{:,.1f}"), ("sessions", "sessions", "{:,.0f}"),
                ("mean_latency_h", "mean lat h", "{:.1f}"), ("worst_latency_h", "worst lat h", "{:.1f}"),
                ("decisional_sols_met", "decisional", "{:.0f}"), ("utilisation_pct", "util %", "{:.1f}"),
                ("gap", "gap %", "{:.3f}")]


def comparison_text(totals) -> str:
    """The totals of a comparison as an aligned table of rounded figures (text left, numbers right)."""
    import math

    cols = [c for c in _CLI_COLUMNS if c[0] in totals.columns]
    rows = [[h for _, h, _ in cols]]
    for rec in totals.to_dict("records"):
        row = []
        for c, _, f in cols:
            v = rec.get(c)
            if isinstance(v, float) and not math.isfinite(v):
                row.append("-")
            elif c == "gap" and isinstance(v, (int, float)):
                row.append(f.format(100.0 * v))
            else:
                row.append(f.format(v) if v is not None else "-")
        rows.append(row)
    widths = [max(len(r[k]) for r in rows) for k in range(len(cols))]
    text = [(c, w) for c, w in zip(cols, widths)]
    return "\n".join("  ".join(cell.ljust(w) if c[0] in ("config", "status") else cell.rjust(w)
                               for cell, (c, w) in zip(r, text)) for r in rows)
