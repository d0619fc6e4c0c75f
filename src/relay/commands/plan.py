"""``relay plan``, ``relay solve`` and ``relay validate``: the weekly relay plan."""

from __future__ import annotations

import sys

from . import MAX_PLAN_DAYS, MAX_SEED, inputs_are_not_outputs, integer, number, out_dir, out_file, utc_time, writing
from ..terminal import plain

#: longest requirement detail or warning printed whole (the files keep them whole)
DETAIL_LIMIT = 300


def _solver_options(p) -> None:
    p.add_argument("--solver", choices=["cpsat", "mip"], default=None,
                   help="cpsat (OR-Tools CP-SAT, default) or mip (the same model through OR-Tools' MIP "
                        "interface with SCIP); default: the config's planning.solver")
    p.add_argument("--time-limit", type=number("--time-limit", 0, 86400, lo_open=True, unit=" s"), default=None,
                   metavar="S",
                   help="solver time limit in seconds (default: planning.time_limit_s, 60)")
    p.add_argument("--gap-limit", type=number("--gap-limit", 0, 0.999999), default=None, metavar="G",
                   help="stop at this relative gap, e.g. 0.01 (default: planning.gap_limit, 0: prove optimal)")
    p.add_argument("--workers", type=integer("--workers", 1, 64), default=None,
                   help="CP-SAT threads; more than 1 races threads (faster on large instances, "
                        "not reproducible). Default: planning settings (1 thread, deterministic)")
    p.add_argument("--seed", type=integer("--seed", 0, MAX_SEED), default=None,
                   help="solver random seed (default: planning.seed)")
    p.add_argument("--quiet", action="store_true", help="do not print the summary table")


def operations_options(p, joins: str) -> None:
    """--outages, --requests and --forbid (issue 11's operational inputs), joining ``joins`` own."""
    p.add_argument("--outages", default=None, metavar="CSV",
                   help="outages (target, what = uhf|xband|all, start, end[, note][, orbiter]): an orbiter, "
                        f"station or asset unavailable; joins {joins} outages")
    p.add_argument("--requests", default=None, metavar="CSV",
                   help="relay requests (id, asset[, orbiter], kind, start, end or sol + lmst_window, min_mbit, "
                        f"min_duration_s, priority = required|preferred, points, note); joins {joins} requests")
    p.add_argument("--forbid", default=None, metavar="CSV",
                   help="vetoes (orbiter, asset, start, end, note; or pass_id, note): no session of that orbiter "
                        f"and/or asset overlaps the span, or none in that pass; joins {joins} vetoes")


def register(sub) -> None:
    p = sub.add_parser(
        "plan", help="plan relay sessions and downlinks that return the most data",
        description="Compute every pass and downlink window, their volumes, and choose the relay sessions "
                    "and downlinks that deliver the most priority-weighted data to Earth (OR-Tools CP-SAT), "
                    "beside a greedy baseline; validate the plan independently and write it to --out: "
                    "schedule.csv, downlinks.csv, passes.csv, store.csv, summary.json, report.html, "
                    "problem.json.")
    p.add_argument("config", help="scenario YAML file")
    p.add_argument("--start", default=None, type=utc_time("--start"),
                   help="ISO 8601 UTC start, e.g. 2026-11-23T00:00:00Z (default: next 00:00 UTC)")
    p.add_argument("--days", type=number("--days", 0, MAX_PLAN_DAYS, lo_open=True, unit=" days"), default=None,
                   help="horizon in days (default: planning.horizon_days, 7)")
    p.add_argument("--out", default="out", type=out_dir("--out"), help="output folder (default: out)")
    p.add_argument("--fixed", default=None, metavar="CSV",
                   help="committed sessions (orbiter, asset, start, end[, kind]) kept exactly")
    p.add_argument("--backlogs", default=None, metavar="CSV",
                   help="asset backlogs (asset, time, backlog_mbit); the latest row at or before --start wins")
    p.add_argument("--bookings", default=None, metavar="CSV",
                   help="station bookings (orbiter, station, start, end) replacing the config's")
    operations_options(p, "the config's")
    p.add_argument("--save-problem", default=None, metavar="JSON", type=out_file("--save-problem"),
                   help="also write the solver's instance to this file (re-solve it with relay solve)")
    _solver_options(p)
    p.set_defaults(func=run_plan)

    s = sub.add_parser("solve", help="solve a saved problem.json without recomputing geometry",
                       description="Solve an instance written by relay plan --save-problem (schema: "
                                   "relay.planning.problem) and write the plan to --out.")
    s.add_argument("problem", help="problem JSON file")
    s.add_argument("--out", default="out", type=out_dir("--out"), help="output folder (default: out)")
    _solver_options(s)
    s.set_defaults(func=run_solve)

    v = sub.add_parser("validate", help="re-check a written plan against its problem from scratch",
                       description="Re-check the plan in DIR (schedule.csv, downlinks.csv) against the "
                                   "instance it was made for (DIR/problem.json) with the independent "
                                   "validator, its files against DIR/manifest.json, and every figure "
                                   "summary.json claims against the sessions and downlinks. Exit 0 if valid, "
                                   "1 with the list of violations otherwise.")
    v.add_argument("dir", help="a plan folder written by relay plan or relay solve")
    v.set_defaults(func=run_validate)


def _num(x) -> str:
    return "n/a" if x is None else f"{x:,.1f}"


def print_summary(result, out=None) -> None:
    """The terminal summary: solver status and figures, then per asset and per orbiter."""
    s = result.summary
    rep, fig = s.solve, s.figures
    gap = rep.gap
    lines = [
        f"plan {s.scenario or ''}: {s.start or ''} to {s.end or ''}",
        f"  solver {rep.solver} {rep.status}: objective {_num(rep.objective_points)} points, "
        f"bound {_num(rep.bound)}{' (LP relaxation)' if (rep.bound_source or '').startswith('lp') else ''}, "
        f"gap {'n/a' if gap is None else f'{100 * gap:.3f} %'}, "
        f"{rep.solve_time_s or 0:.2f} s",
        f"  delivered {fig.delivered_mbit:,.1f} Mbit to Earth (greedy baseline "
        f"{rep.greedy_delivered_mbit or 0:,.1f} Mbit, gain {rep.gain_vs_greedy_pct or 0:+.2f} %); "
        f"still aboard at the end {fig.onboard_end_mbit:,.1f} Mbit",
    ]
    if rep.note:
        lines.append(f"  note: {plain(rep.note, DETAIL_LIMIT)}")
    lat, dec = s.latency_by_asset, fig.decisional_sols_met
    rows = [("asset", "sessions", "delivered Mbit", "mean latency h", "decisional sols")]
    for a in sorted(fig.delivered_by_asset):
        rows.append((a, str(fig.sessions_by_asset.get(a, 0)), f"{fig.delivered_by_asset[a]:,.1f}",
                     f"{lat[a].mean_h:.1f}" if a in lat else "-", str(dec.get(a, "-"))))
    rows.append(("orbiter", "", "delivered Mbit", "", ""))
    for o, v in sorted(fig.delivered_by_orbiter.items()):
        rows.append((o, "", f"{v:,.1f}", "", ""))
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))))
    if fig.violations:
        lines.append(f"  {len(fig.violations)} requirement(s) not met:")
        for v in fig.violations:
            sol = "" if v.sol is None else f" sol {v.sol}"
            lines.append(f"    {plain(v.asset)}{sol}: {v.requirement}: {plain(v.detail, DETAIL_LIMIT)}")
    else:
        lines.append("  every requirement met")
    if fig.conjunction:
        lines.append("  solar conjunction in the horizon: no commanded sessions then")
    for w in s.warnings:
        lines.append(f"  warning: {plain(w, DETAIL_LIMIT)}")
    print("\n".join(lines), file=out or sys.stdout)


def _write_and_report(result, args) -> int:
    """Write the plan to --out, then (unless --quiet) print its summary and the files written."""
    with writing("--out", args.out):
        files = result.write(args.out)
    if not args.quiet:
        print_summary(result)
        print(f"wrote {', '.join(f.name for f in files)} to {args.out}/")
    return 0


def _fixed(sc, path):
    """The --fixed CSV read and checked to be feasible together (each session long enough, those of
    one orbiter or asset a turnaround apart), so a mistake names the CSV line before any solve."""
    if path is None:
        return None
    from ..inputs import read_sessions_table

    ops = [a.operations for a in sc.assets]
    return read_sessions_table(path, orbiters=[o.name for o in sc.orbiters], assets=[a.name for a in sc.assets],
                               min_session_s=min(o.min_session_s for o in ops),
                               turnaround_s=max(o.turnaround_s for o in ops))


def plan_folder_out(args, inputs: dict, outputs: dict | None = None, input_folders: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, an --out (or other output) that is an input, holds one or lies in
    an input folder, and an --out folder holding anything but a plan (relay writes a plan folder
    as a whole)."""
    from ..planfolder import check_replaceable

    inputs_are_not_outputs(inputs, {"--out": args.out, **(outputs or {})}, folders=("--out", *input_folders))
    check_replaceable(args.out)


def run_plan(args) -> int:
    from ..api import default_start, plan
    from ..config import load_scenario

    plan_folder_out(args, {"CONFIG": args.config, "--fixed": args.fixed, "--backlogs": args.backlogs,
                           "--bookings": args.bookings, "--outages": args.outages, "--requests": args.requests,
                           "--forbid": args.forbid}, {"--save-problem": args.save_problem})
    sc = load_scenario(args.config)
    start = args.start or default_start()
    days = args.days if args.days is not None else sc.planning.horizon_days
    result = plan(sc, start, days, fixed_sessions=_fixed(sc, args.fixed), backlogs=args.backlogs,
                  bookings=args.bookings,
                  solver=args.solver, time_limit_s=args.time_limit, workers=args.workers, seed=args.seed,
                  gap_limit=args.gap_limit, save_problem=args.save_problem, outages=args.outages,
                  requests=args.requests, forbid=args.forbid)
    return _write_and_report(result, args)


def run_solve(args) -> int:
    from ..api import settings_for
    from ..result import result_from_plan
    from ..planning.problem import Problem
    from ..planning.settings import PlanningSettings
    from ..planning.solve import solve

    plan_folder_out(args, {"PROBLEM": args.problem})
    problem = Problem.from_json(args.problem)
    settings = settings_for(PlanningSettings(), args.solver, args.time_limit, args.workers, args.seed,
                            args.gap_limit)
    return _write_and_report(result_from_plan(problem, solve(problem, settings)), args)


def run_validate(args) -> int:
    from ..planvalidate import check_folder

    found = check_folder(args.dir)
    plan, problems = found.plan, found.violations
    if problems:
        print(f"{args.dir}: {len(problems)} violation(s):")
        for v in problems:
            print(f"  {v}")
        return 1
    print(f"{args.dir}: valid ({len(plan.sessions)} sessions, {len({d.chunk_id for d in plan.downlinks})} "
          f"downlinks, {sum(d.volume_mbit for d in plan.downlinks):,.1f} Mbit delivered)")
    return 0
