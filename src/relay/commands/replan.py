"""``relay replan``: re-solve a written plan after an operational change (issue 11)."""

from __future__ import annotations

from . import out_dir, writing


def register(sub) -> None:
    from .plan import operations_options

    p = sub.add_parser(
        "replan", help="re-solve a written plan with new locks, vetoes, outages or requests",
        description="Re-solve the plan in PLANDIR from its saved instance (problem.json) and link volumes "
                    "(volumes.npz), no geometry recomputed, with the new inputs applied on top of the ones the "
                    "plan already had (or taken away, see below); write the new plan to --out with diff.csv "
                    "(sessions added, removed, moved, changed in volume or kind, each with its pass, sol, LMST "
                    "and cause: the outage, veto, request or lock with its file and line, or the session that "
                    "displaced it; downlinks removed, added or moved, each with its cause; volume and latency to Earth "
                    "per asset before and after) and print the diff. Inputs may name one "
                    "row as FILE:LINE. PLANDIR is never changed.")
    p.add_argument("plandir", metavar="PLANDIR", help="a plan folder written by relay plan (or relay replan)")
    p.add_argument("--lock", default=None, metavar="CSV",
                   help="sessions to keep exactly (orbiter, asset, start, end[, kind]), as relay plan --fixed")
    operations_options(p, "the plan's")
    lifting = p.add_argument_group(
        "re-planning the other way",
        "Take away what the plan (or an earlier re-plan) was given: name an outage, veto or lock by its row, "
        "the same row as given before (FILE: every row of it; FILE:LINE: the row at that line), matched to "
        "the plan's record of the same target, kind and span; a request by its id. The sessions an outage or "
        "veto removed or cut come back exactly (relay plan and each re-plan keep them in volumes.npz). A shortened "
        "outage: --lift-outage the old row and --outages the new one. Repeatable.")
    lifting.add_argument("--lift-outage", action="append", default=None, metavar="FILE[:LINE]",
                         help="lift the outage(s) of these rows")
    lifting.add_argument("--lift-veto", action="append", default=None, metavar="FILE[:LINE]",
                         help="lift the veto(es) of these rows")
    lifting.add_argument("--withdraw", action="append", default=None, metavar="REQUEST_ID",
                         help="withdraw the request of this id")
    lifting.add_argument("--release-lock", action="append", default=None, metavar="FILE[:LINE]",
                         help="release the locked session(s) of these rows (as given to --lock)")
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


def _file_part(ref: str) -> str:
    """The file of a ``FILE[:LINE]`` reference."""
    import re
    from pathlib import Path

    m = re.fullmatch(r"(.+):(\d+)", ref)
    return m.group(1) if m and not Path(ref).exists() else ref


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
    inputs = {"PLANDIR": args.plandir, "--lock": args.lock, "--forbid": args.forbid, "--outages": args.outages,
              "--requests": args.requests}
    for opt in ("lift_outage", "lift_veto", "release_lock"):
        for k, ref in enumerate(getattr(args, opt) or ()):
            inputs[f"--{opt.replace('_', '-')} {k + 1}"] = _file_part(ref)
    plan_folder_out(args, inputs, input_folders=("PLANDIR",))
    base = result_from_folder(args.plandir)
    settings = None
    if args.time_limit is not None and base.state is not None and base.state.settings is not None:
        settings = base.state.settings.model_copy(update={"time_limit_s": float(args.time_limit)})
    result = base.replan(lock=args.lock, forbid=args.forbid, outages=args.outages, requests=args.requests,
                         settings=settings, lift_outages=args.lift_outage, lift_vetoes=args.lift_veto,
                         withdraw=args.withdraw, release_locks=args.release_lock)
    with writing("--out", args.out):
        files = result.write(args.out)
    text = diff_lines(result.diff_record, str(args.plandir), str(args.out))
    if args.quiet:
        print(text.split("\n")[0])
    else:
        from .plan import print_summary

        print_summary(result)
        print(text)
        print(f"wrote {', '.join(f.name for f in files)} to {args.out}/")
    return 0
