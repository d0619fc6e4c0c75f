"""The nightly job's settings: the ``nightly:`` section of a scenario merged with the command line.

The section's schema and defaults are :class:`relay.config_nightly.NightlyOptions`
(``Scenario.nightly``).  The command line overrides it key by key
(:func:`resolve`: defaults < the config's section < command-line values that
are not None).  Relative paths in the section are relative to the config
file.  The planning horizon ``days`` defaults to the scenario's
``planning.horizon_days``; the change penalty to ``planning.change_penalty_mbit``.
``--db`` (record the run in the relay service's database) is given on the command
line only: its URL may hold a password, which a scenario file should not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..config import load_scenario
from ..config_nightly import PATH_KEYS, NightlyOptions
from ..errors import RelayInputError


@dataclass(frozen=True)
class NightlyRun:
    """One invocation: the config file and its resolved options."""

    config: str
    options: NightlyOptions
    days: float  # the horizon in effect (options.days or the scenario's)
    change_penalty_mbit: float  # the penalty in effect
    quiet: bool = False
    force: bool = False  # make the run current even when it plans an earlier night than the current plan
    db: str | None = None  # also record the run in the relay service's database (``--db``, command line only)


def resolve(config: str, cli: dict) -> NightlyRun:
    """Defaults < the config's ``nightly:`` section < command-line values (not None).

    A bad value anywhere is a :class:`RelayInputError` naming the config key or
    the command-line option."""
    sc = load_scenario(config)
    section = (sc.nightly or NightlyOptions()).model_dump(exclude_unset=True)
    base = Path(config).resolve().parent
    for k in PATH_KEYS:
        if section.get(k) is not None:
            q = Path(section[k])
            section[k] = str(q if q.is_absolute() else base / q)
    given = {k: v for k, v in cli.items() if v is not None and k in NightlyOptions.model_fields}
    for k in PATH_KEYS:
        if isinstance(given.get(k), str) and given[k] == "":
            raise RelayInputError("got an empty path", source="command line", where=f"--{k}")
    if given.get("start") == "":
        raise RelayInputError("got an empty time; give an ISO 8601 UTC time such as 2026-11-23T00:00:00Z "
                              "or leave --start out for the next planning day", source="command line",
                              where="--start")
    try:
        opts = NightlyOptions.model_validate({**section, **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"]) or "options"
        msg = err["msg"][len("Value error, "):] if err["msg"].startswith("Value error, ") else err["msg"]
        src = "command line" if key in given or not section else str(config)
        where = f"--{key.replace('_', '-')}" if src == "command line" else f"nightly.{key}"
        msg = msg if msg.startswith("got ") else f"got {err.get('input')!r}: {msg[:1].lower() + msg[1:]}"
        raise RelayInputError(msg, source=src, where=where) from None
    days = float(opts.days if opts.days is not None else sc.planning.horizon_days)
    if opts.freeze_hours > days * 24:
        raise RelayInputError(f"the freeze horizon ({opts.freeze_hours:g} h) is longer than the planning "
                              f"horizon ({days:g} days)", source="command line", where="freeze_hours")
    if cli.get("db") == "":
        raise RelayInputError("got an empty database; give postgresql://..., sqlite:///PATH or the service's data "
                              "folder, or leave --db out", source="command line", where="--db")
    if opts.archive is None:
        raise RelayInputError("no archive given: pass --archive PATH or set nightly.archive in the config",
                              source="command line", where="--archive")
    penalty = sc.planning.change_penalty_mbit if opts.change_penalty_mbit is None else opts.change_penalty_mbit
    return NightlyRun(str(config), opts, days, float(penalty), quiet=bool(cli.get("quiet")),
                      force=bool(cli.get("force")), db=cli.get("db"))
