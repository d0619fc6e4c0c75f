"""``relay replan``: re-solve a written plan after an operational change (issue 11)."""

from __future__ import annotations

from . import out_dir, writing


def register(sub) -> None:
    from .plan import operations_options

    p = sub.add_parser(
        "replan", help="re-solve a written plan with new locks, vetoes, outages or requests",
        description="Re-solve the plan in PLANDIR from its saved instance (problem.json) and link volumes "
                    "(volumes.npz), no geometry recomputed, with the new inputs applied on top of the ones the "
                    "plan already had; write the new plan to --out with diff.csv (sessions added, removed, "
                    "moved, volume per asset before and after) and print the diff. PLANDIR is never changed.")
    p.add_argument("plandir", metavar="PLANDIR", help="a plan folder written by relay plan (or relay replan)")
    p.add_argument("--lock", default=None, metavar="CSV",
                   help="sessions to keep exactly (orbiter, asset, start, end[, kind]), as relay plan --fixed")
    operations_options(p, "the plan's")
    p.add_argument("--out", required=True, type=out_dir("--out"), help="output folder of the new plan")
    p.add_argument("--time-limit", default=None, type=_time_limit, metavar="S",
                   help="solver time limit in seconds (default: the plan's own setting)")
    p.add_argument("--quiet", action="store_true", help="print only the diff's counts")
    p.set_defaults(func=run_replan)


def _time_limit(text: str) -> float:
    from . import number

    return number("--time-limit", 0, 86400, lo_open=True, unit=" s")(text)


def _same_folder(a, b) -> bool:
    from pathlib import Path

    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def run_replan(args) -> int:
    import gc

    # a re-plan is one short pass over one plan's tables: the cyclic garbage collector, run every
    # 700 allocations, would walk the objects of the imports and tables again and again (0.05 s of
    # a one-second command) to free a megabyte or two; it is turned back on when the command ends
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _replan(args)
    finally:
        if enabled:
            gc.enable()


def _replan(args) -> int:
    from ..errors import RelayInputError
    from ..plandiff import diff_lines
    from .plan import plan_folder_out
    from ..result import result_from_folder

    if _same_folder(args.plandir, args.out):
        raise RelayInputError(f"{args.out} is PLANDIR itself; expected another folder (relay replan never changes "
                              "the plan it starts from)", source="command line", where="--out")
    plan_folder_out(args, {"PLANDIR": args.plandir, "--lock": args.lock, "--forbid": args.forbid,
                           "--outages": args.outages, "--requests": args.requests}, input_folders=("PLANDIR",))
    base = result_from_folder(args.plandir)
    settings = None
    if args.time_limit is not None and base.state is not None and base.state.settings is not None:
        settings = base.state.settings.model_copy(update={"time_limit_s": float(args.time_limit)})
    result = base.replan(lock=args.lock, forbid=args.forbid, outages=args.outages, requests=args.requests,
                         settings=settings)
    with writing("--out", args.out):
        files = result.write(args.out)
    text = diff_lines(result.diff, str(args.plandir), str(args.out))
    if args.quiet:
        print(text.split("\n")[0])
    else:
        from .plan import print_summary

        print_summary(result)
        print(text)
        print(f"wrote {', '.join(f.name for f in files)} to {args.out}/")
    return 0
