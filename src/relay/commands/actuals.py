"""``relay actuals``: pass performance reports, accountability, calibration (issue 22).

    relay actuals ingest F.csv --plan DIR [--tolerance-s 60]     # match and store the reports (DIR/actuals.csv),
                                                                 # and put them in DIR/report.html
    relay actuals account --plan DIR [--sessions] [--report]     # planned against received, per asset and sol
    relay actuals backlog --plan DIR (--out B.csv | --drop DROPDIR) [--at TIME]
    relay actuals calibrate --plan DIR [DIR ...] --out FILE.json [--label TEXT]   # + FILE.png
    relay actuals simulate --plan DIR --out F.csv [--seed 1]     # reports drawn from the illustrative truth
"""

from __future__ import annotations

from . import number, out_file, utc_time, writing


def register(sub) -> None:
    p = sub.add_parser("actuals", help="pass performance reports: ingest, accountability, backlog, calibration",
                       description="Predicted against achieved: store pass performance reports beside a plan, "
                                   "account for them, carry what a short pass left on the lander into the next "
                                   "plan's backlog, and calibrate the link model from them.")
    acts = p.add_subparsers(dest="actuals_command", metavar="ACTION", required=True)
    a = acts.add_parser("ingest", help="match a report CSV to a plan's sessions, store it in the plan folder and "
                                           "put it in the folder's report.html")
    a.add_argument("reports", metavar="F.csv", help="orbiter, asset, start, end, achieved_mbit[, outcome, note, "
                                                    "session_id]")
    a.add_argument("--plan", required=True, metavar="DIR", help="the plan folder the sessions were planned in")
    a.add_argument("--tolerance-s", type=number("--tolerance-s", 0, 3600, unit=" s"), default=60.0,
                   help="a report without session_id matches a session starting and ending this close (60 s)")
    a.set_defaults(func=run_ingest)
    c = acts.add_parser("account", help="planned against received per asset and sol (and per session)")
    c.add_argument("--plan", required=True, metavar="DIR")
    c.add_argument("--sessions", action="store_true", help="also list every session")
    c.add_argument("--report", action="store_true", help="also re-render the Predicted vs achieved section of the "
                                                         "plan folder's report.html (ingest does it too)")
    c.set_defaults(func=run_account)
    b = acts.add_parser("backlog", help="the data left on the landers, as a backlogs CSV for the next plan")
    b.add_argument("--plan", required=True, metavar="DIR")
    dest = b.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", type=out_file("--out"), metavar="B.csv", help="the backlogs CSV to write")
    dest.add_argument("--drop", metavar="DROPDIR", help="the nightly job's drop folder (writes backlog-actuals.csv)")
    b.add_argument("--at", type=utc_time("--at"), default=None, metavar="TIME",
                   help="the time of the backlog (default: the end of the latest reported session)")
    b.set_defaults(func=run_backlog)
    k = acts.add_parser("calibrate", help="fit the link model's calibration from stored reports")
    k.add_argument("--plan", required=True, nargs="+", metavar="DIR")
    k.add_argument("--out", required=True, type=out_file("--out"), metavar="FILE.json")
    k.add_argument("--label", default="", help="a label stored in the record")
    k.set_defaults(func=run_calibrate)
    s = acts.add_parser("simulate", help="draw reports of a plan's sessions from the illustrative truth")
    s.add_argument("--plan", required=True, metavar="DIR")
    s.add_argument("--out", required=True, type=out_file("--out"), metavar="F.csv")
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(func=run_simulate)


def run_ingest(args) -> int:
    from ..actuals.reports import ingest

    with writing("--plan", args.plan):
        done = ingest(args.reports, args.plan, tolerance_s=args.tolerance_s)
    print(f"{done.matched} report(s) matched to planned sessions; {len(done.actuals)} stored in {done.path}")
    if done.replaced:
        print(f"replaced the stored report of {len(done.replaced)} session(s): {', '.join(done.replaced)}")
    print(f"{len(done.unmatched)} report(s) match no planned session (stored, unplanned):")
    for line in done.unmatched:
        print(f"  {line}")
    print(f"{len(done.unreported)} planned session(s) without a report:")
    for line in done.unreported:
        print(f"  {line}")
    print(rerender(args.plan), flush=True)   # after the lists: an error here leaves the reports stored, and said so
    return 0


def rerender(plan) -> str:
    """Put the "Predicted vs achieved" section in the plan folder's report.html; what was done."""
    from ..actuals.report_section import render_report_section

    with writing("--plan", plan):
        path = render_report_section(plan)
    return (f"updated {path} (its Predicted vs achieved section; manifest.json updated)" if path is not None
            else f"{plan} has no report.html: no report updated")


def run_account(args) -> int:
    from ..actuals.accounting import ledger, session_accounts, sol_accounts

    led = ledger(args.plan)
    sols = sol_accounts(led)
    print("asset          sol  sessions  reported  lost  unplanned  planned_mbit  received_mbit  shortfall_mbit")
    for r in sols.itertuples(index=False):
        print(f"{r.asset:<13} {r.sol:>5} {r.sessions:>9} {r.reported:>9} {r.lost:>5} {r.unplanned:>10} "
              f"{r.planned_mbit:>13.1f} {r.received_mbit:>14.1f} {r.shortfall_mbit:>15.1f}")
    if args.sessions:
        for r in session_accounts(led).itertuples(index=False):
            print(f"  {r.option_id:<12} {r.orbiter:>8} -> {r.asset:<13} sol {r.sol:>5} "
                  f"predicted {r.predicted_mbit:8.1f} planned {r.planned_mbit:8.1f} achieved {r.achieved_mbit:8.1f} "
                  f"{r.outcome}")
    if args.report:
        print(rerender(args.plan))
    return 0


def run_backlog(args) -> int:
    from pathlib import Path

    from ..actuals.accounting import backlog_at, backlogs_text, latest_report_tdb_s, ledger
    from ..errors import RelayInputError
    from ..fileio import write_text
    from ..timescales import parse_utc, tdb_s_to_iso, utc_to_tdb_s

    led = ledger(args.plan)
    t = float(utc_to_tdb_s(parse_utc(args.at, where="--at"))) if args.at else latest_report_tdb_s(led)
    if t is None:
        raise RelayInputError("holds no pass performance report; give --at or ingest reports first",
                              source=str(args.plan))
    path = Path(args.out) if args.out else Path(args.drop) / "backlog-actuals.csv"
    backlogs = backlog_at(led, t)
    with writing("--out" if args.out else "--drop", path):
        write_text(path, backlogs_text(backlogs, t))
    for asset, mbit in sorted(backlogs.items()):
        print(f"{asset}: {mbit:.1f} Mbit on the lander at {tdb_s_to_iso(t)}")
    print(f"wrote {path} (relay plan --backlogs, or the nightly job's drop folder)")
    return 0


def run_calibrate(args) -> int:
    from pathlib import Path

    from ..actuals.calibrate import calibrate, calibration_lines, plot, stored_reports

    cal = calibrate(args.plan, label=args.label)
    print("\n".join(calibration_lines(cal)))
    png = Path(args.out).with_suffix(".png")
    with writing("--out", args.out):
        cal.write(args.out)
        plot(cal, stored_reports(args.plan), png)
    print(f"wrote {args.out} and {png}")
    return 0


def run_simulate(args) -> int:
    import numpy as np

    from ..actuals.accounting import ledger
    from ..actuals.simulate import BASELINE_TRUTH, draw_reports, reports_csv
    from ..fileio import write_text

    led = ledger(args.plan)
    reports = draw_reports(led.planned, BASELINE_TRUTH, np.random.default_rng(args.seed))
    with writing("--out", args.out):
        write_text(args.out, reports_csv(reports))
    print(f"wrote {len(reports)} simulated report(s) to {args.out}")
    return 0
