"""The ``relay`` command line: thin, parses arguments and calls the stages.

User mistakes (:class:`relay.errors.RelayInputError`) print one paragraph on
stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from .commands import COMMAND_MODULES
from .errors import RelayInputError
from .terminal import guarded

#: exit status when the reader of our output went away (``relay passes ... | head``): 128 + SIGPIPE,
#: what a shell reports for a process that SIGPIPE ended
EXIT_BROKEN_PIPE = 141


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand, or of ``command``'s module only (all that running
    ``relay COMMAND ...`` needs: the same options, help and errors for it)."""
    parser = argparse.ArgumentParser(
        prog="relay",
        description="Plan data-relay sessions between Mars orbiters and surface assets.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, commands in COMMAND_MODULES.items():
        if command is not None and command not in commands:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return parser


def _command_of(argv: list[str] | None) -> str:
    words = sys.argv[1:] if argv is None else argv
    return next((w for w in words if not w.startswith("-")), "")


def _known_command(argv: list[str] | None) -> str | None:
    """The subcommand ``argv`` starts with, if it names one (``relay -h ...`` and typos: None)."""
    words = sys.argv[1:] if argv is None else argv
    first = words[0] if words else ""
    return first if any(first in names for names in COMMAND_MODULES.values()) else None


def main(argv: list[str] | None = None) -> int:
    """Run one command (``argv``, default the command line) and return its exit status."""
    try:
        with guarded():
            return _run(argv)
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        if argv is None:
            # the command line's process ends with the command: the interpreter's last garbage
            # collections need not walk the hundreds of thousands of objects pandas, ortools and
            # pydantic made (0.1-0.2 s of a one-second relay replan).  Every file is written and
            # closed before the command returns, so nothing waits on a collection at exit.
            gc.freeze()


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush at exit does not
    fail again on the closed pipe (the recipe of Python's signal module documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing left to flush


def _run(argv: list[str] | None) -> int:
    parser = build_parser(_known_command(argv))
    command = _command_of(argv)
    try:
        args = parser.parse_args(argv)   # the options' types raise RelayInputError on bad values
        command = args.command
        status = args.func(args)
    except RelayInputError as exc:
        print(f"relay {command}: error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        # a user's input nested beyond what any check foresaw: still an input problem, not a crash
        print(f"relay {command}: error: an input is nested too deeply to read", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"relay {command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
