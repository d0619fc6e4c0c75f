"""The nightly job's settings: the ``nightly:`` section of a scenario, one pydantic model.

:class:`NightlyOptions` is the schema of that section (``Scenario.nightly``)
and the one place its defaults live.  The command line overrides it key by
key (:func:`resolve`: defaults < the config's section < command-line values
that are not None).  Relative paths in the section are relative to the
config file.  The planning horizon ``days`` defaults to the scenario's
``planning.horizon_days``; the change penalty to ``planning.change_penalty_mbit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import RelayInputError

#: keys whose value is a path (relative to the config file when given in it)
PATH_KEYS = ("archive", "out", "drop", "log")


class NightlyOptions(BaseModel):
    """Settings of ``relay nightly`` (the ``nightly:`` section; docs/nightly.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    archive: str | None = Field(None, description="SQLite archive file (created on the first run)")
    out: str | None = Field(None, description="plan files: OUT/runs/<id>/ and OUT/current "
                                              "(default ARCHIVE_STEM-out/ beside the archive)")
    drop: str | None = Field(None, description="drop folder of new orbit files, bookings and backlogs")
    log: str | None = Field(None, description="JSON-lines log file (default OUT/nightly.jsonl)")
    start: str | None = Field(None, description="ISO 8601 UTC start (default: the next day boundary)")
    day_boundary: str = Field("00:00", description="UTC time of day at which planning days start, HH:MM")
    days: float | None = Field(None, gt=0, le=60, description="planning horizon in days "
                                                              "(default: planning.horizon_days)")
    freeze_hours: float = Field(48.0, ge=0, description="sessions of the base plan starting this many "
                                                        "hours from the start are kept exactly")
    change_penalty_mbit: float | None = Field(None, ge=0, description="cost of moving or dropping a base "
                                              "session beyond the freeze (default: planning.change_penalty_mbit)")
    max_drop_pct: float = Field(10.0, ge=0, le=100, description="exit 3 when the returned volume over the "
                                "span both plans cover is down more than this percentage")
    time_limit_s: float | None = Field(None, gt=0, le=86400, description="solver time limit, s")
    workers: int | None = Field(None, ge=1, le=256, description="solver workers")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="solver random seed")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any):
        if isinstance(data, dict):
            unknown = sorted(set(map(str, data)) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(cls.model_fields)}")
        elif data is not None:
            raise ValueError("must be a mapping of the job's settings")
        return data

    @field_validator("day_boundary")
    @classmethod
    def _boundary(cls, v):
        try:
            parse_day_boundary(v)
        except RelayInputError as exc:  # pydantic reports ValueErrors with the key's path
            raise ValueError(exc.detail) from None
        return v

    @field_validator("start")
    @classmethod
    def _start(cls, v):
        from ..timescales import parse_utc

        if v is not None:
            try:
                parse_utc(v, source=None)
            except RelayInputError as exc:
                raise ValueError(exc.detail) from None
        return v


@dataclass(frozen=True)
class NightlyRun:
    """One invocation: the config file and its resolved options."""

    config: str
    options: NightlyOptions
    days: float  # the horizon in effect (options.days or the scenario's)
    change_penalty_mbit: float  # the penalty in effect
    quiet: bool = False


def resolve(config: str, cli: dict) -> NightlyRun:
    """Defaults < the config's ``nightly:`` section < command-line values (not None).

    A bad value anywhere is a :class:`RelayInputError` naming the config key or
    the command-line option."""
    from ..config import load_scenario

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
    if opts.archive is None:
        raise RelayInputError("no archive given: pass --archive PATH or set nightly.archive in the config",
                              source="command line", where="--archive")
    penalty = sc.planning.change_penalty_mbit if opts.change_penalty_mbit is None else opts.change_penalty_mbit
    return NightlyRun(str(config), opts, days, float(penalty), quiet=bool(cli.get("quiet")))


def parse_day_boundary(text) -> tuple[int, int]:
    """(hour, minute) of a ``HH:MM`` UTC time of day."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::00)?\s*Z?\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise RelayInputError(f"got {text!r}, expected a UTC time of day HH:MM such as 00:00 or 12:30",
                              source="command line", where="day_boundary")
    return int(m.group(1)), int(m.group(2))


def next_planning_day(now: datetime, day_boundary: str = "00:00") -> str:
    """The first day boundary strictly after ``now`` (UTC), as ISO 8601 with a Z."""
    hh, mm = parse_day_boundary(day_boundary)
    now = now.astimezone(timezone.utc)
    t = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if t <= now:
        t += timedelta(days=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
