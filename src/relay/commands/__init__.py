"""Subcommands of the ``relay`` command line.

Each module here exposes ``register(subparsers)`` which adds its subcommand
and sets ``func`` (called with the parsed ``argparse.Namespace``; returns the
exit status).  ``relay.cli`` imports only these light modules; heavy imports
(skyfield, ortools, pandas) happen inside the ``func`` bodies so that
``relay --help`` starts fast.
"""

#: each subcommand module and the subcommands it registers: ``relay CMD ...`` imports and
#: registers only CMD's module (tests/test_replan_speed_cli.py checks the names against the modules)
COMMAND_MODULES = {
    "relay.commands.passes": ("passes", "tracks"),              # issue 2
    "relay.commands.link": ("link",),                           # issue 3
    "relay.commands.plan": ("plan", "solve", "validate"),       # issue 4
    "relay.commands.analysis": ("compare", "sweep"),            # issue 5
    "relay.commands.nightly": ("nightly", "history", "diff", "show", "ack", "promote"),  # issues 6, 19
    "relay.commands.replan": ("replan",),                       # issue 11
    "relay.commands.actuals": ("actuals",),                     # issue 22
    "relay.commands.serve": ("serve", "db"),                    # issue 20
}


# ----------------------------------------------------------------------------- argument checks
# argparse ``type=`` functions for the values every subcommand shares.  They raise
# RelayInputError (source "command line", where the option), which relay.cli turns into one
# paragraph and exit status 2, like every other input mistake.  Light imports only.

def _error(option: str, value, expected: str):
    from ..errors import RelayInputError, excerpt

    return RelayInputError(f"got {excerpt(value)}, expected {expected}", source="command line", where=option)


def utc_time(option: str):
    """An ISO 8601 UTC time (``2026-11-23T00:00:00Z``); the empty string is refused."""
    def parse(text: str) -> str:
        from ..timescales import parse_utc

        if not text.strip():
            raise _error(option, text, "an ISO 8601 UTC time such as 2026-11-23T00:00:00Z (omit the option "
                                       "for the default)")
        parse_utc(text, source="command line", where=option)
        return text.strip()
    return parse


def number(option: str, lo: float, hi: float, *, lo_open: bool = False, unit: str = ""):
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    def parse(text: str) -> float:
        import math

        try:
            v = float(text) if len(text) <= 64 else math.nan
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
            left = "above" if lo_open else "from"
            raise _error(option, text, f"a number {left} {lo:g} to {hi:g}{unit}")
        return v
    return parse


def integer(option: str, lo: int, hi: int):
    """An integer in ``[lo, hi]``."""
    def parse(text: str) -> int:
        try:
            v = int(text) if len(text) <= 32 else None
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise _error(option, text, f"an integer from {lo} to {hi}")
        return v
    return parse


def _writable_folder(option: str, folder, what: str) -> None:
    """The nearest existing ancestor of ``folder`` is a folder we may write into."""
    import os
    from pathlib import Path

    from ..errors import RelayInputError

    p = Path(folder).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise RelayInputError(f"{p} is not a folder, so {what} cannot be created; expected a path inside a "
                              "writable folder", source="command line", where=option)
    if not os.access(p, os.W_OK | os.X_OK):
        raise RelayInputError(f"the folder {p} is not writable, so {what} cannot be written", source="command line",
                              where=option)


def out_dir(option: str):
    """An output folder: absent (created) or an existing writable folder, never a file."""
    def parse(text: str) -> str:
        from pathlib import Path

        from ..errors import RelayInputError

        if not text.strip():
            raise _error(option, text, "a folder path")
        p = Path(text)
        if p.exists() and not p.is_dir():
            raise RelayInputError(f"{text} exists and is not a folder; expected an output folder (new or existing)",
                                  source="command line", where=option)
        _writable_folder(option, p, text)
        return text
    return parse


def out_file(option: str):
    """An output file: not a folder, in a folder we may write into."""
    def parse(text: str) -> str:
        from pathlib import Path

        from ..errors import RelayInputError

        if not text.strip():
            raise _error(option, text, "a file path")
        p = Path(text)
        if p.is_dir() or text.endswith(("/", "\\")):
            raise RelayInputError(f"{text} is a folder; expected a file path to write", source="command line",
                                  where=option)
        if p.exists() and not p.is_file():
            raise RelayInputError(f"{text} is not a regular file; expected a file path to write",
                                  source="command line", where=option)
        _writable_folder(option, p.parent, text)
        return text
    return parse


def _same_path(a, b) -> bool:
    import os
    from pathlib import Path

    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path, folder) -> bool:
    from pathlib import Path

    p, f = Path(path).resolve(), Path(folder).resolve()
    return p == f or f in p.parents


def inputs_are_not_outputs(inputs: dict, outputs: dict, folders: tuple[str, ...] = ()) -> None:
    """Refuse, before anything is read or written, a path the command would write that is one
    of its inputs (the same file, by any name or link) or lies inside an input folder, and an
    output folder replaced as a whole that holds an input or another output.  ``inputs`` and
    ``outputs``: option (or argument name) -> path, None where not given; ``folders``: the
    names of those that are folders.  Used by every command that writes (plan, solve, replan)."""
    from ..errors import RelayInputError

    given_in = {k: v for k, v in inputs.items() if v is not None and not hasattr(v, "columns")}
    given_out = {k: v for k, v in outputs.items() if v is not None}
    for opt, out in given_out.items():
        for name, src in given_in.items():
            if _same_path(out, src):
                why = (f"{out} is also given as {name} ({src}); relay never writes over an input of the command, "
                       f"so expected another path for {opt}")
            elif opt in folders and _inside(src, out):
                why = (f"{out} holds {src}, given as {name}, and relay replaces that folder as a whole; expected "
                       f"a folder holding none of the command's inputs for {opt}")
            elif name in folders and _inside(out, src):
                why = (f"{out} is inside {src}, given as {name}, which relay never changes; expected a path "
                       f"outside it for {opt}")
            else:
                continue
            raise RelayInputError(why, source="command line", where=opt)
        for other, path in given_out.items():
            if other != opt and opt in folders and _inside(path, out):
                raise RelayInputError(f"{path} ({other}) is inside {out} ({opt}), which relay replaces as a whole; "
                                      f"expected a path outside it for {other}", source="command line", where=other)


#: Longest horizon of ``relay plan`` (days): the schema's bound on planning.horizon_days,
#: relay.planning.settings.MAX_HORIZON_DAYS (not imported: the command layer stays light;
#: tests/test_config.py checks that the two agree).
MAX_PLAN_DAYS = 366.0
#: Longest span of ``relay passes`` / ``relay tracks`` (days).
MAX_SPAN_DAYS = 400.0
#: Largest solver seed (CP-SAT takes a 32-bit seed).
MAX_SEED = 2**31 - 1


def writing(option: str, path):
    """A context in which an OSError writing ``path`` (given by ``option``) becomes an input error
    naming it: the checks above cannot foresee every read-only or special file system."""
    from contextlib import contextmanager

    @contextmanager
    def guard():
        from ..errors import RelayInputError

        try:
            yield
        except OSError as exc:
            raise RelayInputError(f"cannot write {path}: {exc.strerror or exc}; expected a "
                                  "path relay may write to", source="command line", where=option) from None
    return guard()
