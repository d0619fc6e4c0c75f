"""Config model of the nightly job: the ``nightly:`` section of a scenario (``Scenario.nightly``).

:class:`NightlyOptions` is the schema of that section and the one place its
defaults live; :mod:`relay.nightly.options` merges it with the command line.
:class:`AlertHook` is the schema of its ``on_degraded`` and ``on_failure``
alerts (a command or a URL; :mod:`relay.nightly.alerts` calls them).
Beside it, the planning day: :func:`parse_day_boundary` reads the ``HH:MM``
UTC time of day at which planning days start, and :func:`next_planning_day`
gives the first day boundary after a moment (the default start of a plan, of
``relay nightly`` and of the other commands alike: the next 00:00 UTC).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import RelayInputError
from .timescales import iso_z, parse_utc

#: keys of the section whose value is a path (relative to the config file when given in it)
PATH_KEYS = ("archive", "out", "drop", "log")
#: the longest an alert hook may take (s)
MAX_ALERT_TIMEOUT_S = 600.0


class AlertHook(BaseModel):
    """An alert of the nightly job (``nightly.on_degraded``, ``nightly.on_failure``): run
    ``command`` (an argv list, no shell) with the run's JSON summary on stdin, or POST it to
    ``url`` (http or https), within ``timeout_s``.  Its failure is logged, never the run's status."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    command: list[str] | None = Field(None, min_length=1, description="argv of the command (no shell)")
    url: str | None = Field(None, description="http(s) URL the JSON summary is POSTed to")
    timeout_s: float = Field(30.0, gt=0, le=MAX_ALERT_TIMEOUT_S, description="the hook's time limit, s")

    @model_validator(mode="after")
    def _one_target(self):
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (an argv list) and url")
        if self.command is not None and not all(str(a) for a in self.command[:1]):
            raise ValueError("command: the program (first item) is empty")
        if self.url is not None and not re.match(r"https?://[^/\s]+", self.url):
            raise ValueError(f"url: got {self.url[:80]!r}, expected an http:// or https:// URL")
        return self


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
    on_degraded: AlertHook | None = Field(None, description="alert when a run exits 3 (planned, degraded)")
    on_failure: AlertHook | None = Field(None, description="alert when a run exits 1 or 2 (failed, rejected)")

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
        if v is not None:
            try:
                parse_utc(v, source=None)
            except RelayInputError as exc:
                raise ValueError(exc.detail) from None
        return v


def parse_day_boundary(text) -> tuple[int, int]:
    """(hour, minute) of a ``HH:MM`` UTC time of day."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::00)?\s*Z?\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise RelayInputError(f"got {text!r}, expected a UTC time of day HH:MM such as 00:00 or 12:30",
                              source="command line", where="day_boundary")
    return int(m.group(1)), int(m.group(2))


def next_planning_day(now: datetime, day_boundary: str = "00:00") -> str:
    """The first day boundary strictly after ``now`` (UTC), as ISO 8601 with a Z; with the
    default boundary, the next 00:00 UTC."""
    hh, mm = parse_day_boundary(day_boundary)
    now = now.astimezone(timezone.utc)
    t = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if t <= now:
        t += timedelta(days=1)
    return iso_z(t, 0)
