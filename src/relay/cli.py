"""The ``relay`` command line: thin, parses arguments and calls the stages.

User mistakes (:class:`relay.errors.RelayInputError`) print one paragraph on
stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .commands import COMMAND_MODULES
from .errors import RelayInputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relay",
        description="Plan data-relay sessions between Mars orbiters and surface assets.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except RelayInputError as exc:
        print(f"relay {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"relay {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
