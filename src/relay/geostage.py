"""The span of a run and the passes of a scenario as numpy columns, without pandas.

:mod:`relay.pipeline` builds its stages (DataFrames) on these; ``relay passes``
uses them directly, so that its process never imports pandas (issue 23: pandas
and pyarrow are half a second of start-up the command does not need).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from .config import Scenario
from .config_nightly import next_planning_day
from .ephem import DE421_SPAN, de421_span_tdb_s
from .errors import CoverageError
from .geometry.bodyfixed import BodyFixed
from .geometry.passes import PassColumns, find_pass_columns, merge_pass_columns
from .orbits import ephemerides_of
from .timescales import parse_utc, tdb_s_to_iso, utc_to_tdb_s


@dataclass(frozen=True)
class Span:
    """The planning horizon: TDB seconds past J2000, checked against de421's coverage."""

    start_tdb_s: float
    end_tdb_s: float
    days: float

    @property
    def start_iso(self) -> str:
        return tdb_s_to_iso(self.start_tdb_s)

    @property
    def end_iso(self) -> str:
        return tdb_s_to_iso(self.end_tdb_s)


def default_start() -> str:
    """The next 00:00 UTC (the start of "the coming week")."""
    return next_planning_day(datetime.now(timezone.utc))


def span_of(start, days: float) -> Span:
    """The horizon of ``days`` from ``start`` (ISO 8601 UTC); checked against de421's coverage."""
    if not (days > 0):
        raise CoverageError(f"--days must be positive, got {days}", source="command line", where="--days")
    t0 = utc_to_tdb_s(parse_utc(start, where="--start"))
    t1 = t0 + float(days) * 86400.0
    lo, hi = de421_span_tdb_s()
    if t0 < lo + 86400 or t1 > hi - 86400:
        where = "--start" if t0 < lo + 86400 else "--days"
        raise CoverageError(
            f"the span {tdb_s_to_iso(t0)} to {tdb_s_to_iso(t1)} is outside the planetary ephemeris "
            f"(de421 covers {DE421_SPAN[0]} to {DE421_SPAN[1]})", source="command line", where=where)
    return Span(t0, t1, float(days))


def pass_columns(scenario: Scenario, span: Span, ephemerides: dict | None = None) -> PassColumns:
    """The passes of every orbiter over every asset (:class:`relay.geometry.passes.PassColumns`).
    Orbiters with their own grid step are searched one by one and merged in time order."""
    ephs = ephemerides_of(scenario) if ephemerides is None else ephemerides
    t0, t1 = span.start_tdb_s, span.end_tdb_s
    sites, prof_step = scenario.sites(), scenario.geometry.profile_step_s
    steps = {o.name: o.step_s for o in scenario.orbiters}
    if not any(steps.values()):
        return find_pass_columns(ephs, sites, t0, t1, profile_step_s=prof_step)
    bf = BodyFixed(t0, t1)
    parts = [find_pass_columns({name: eph}, sites, t0, t1, step_s=steps[name], profile_step_s=prof_step,
                               body_fixed=bf)
             for name, eph in ephs.items()]
    return merge_pass_columns(parts, t0, t1)


__all__ = ["Span", "default_start", "span_of", "pass_columns"]
