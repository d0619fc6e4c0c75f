"""The Python API: the functions the command line and notebooks share.

>>> import relay
>>> sc = relay.load_scenario("configs/baseline.yaml")            # doctest: +SKIP
>>> passes = relay.find_passes(sc, "2026-11-23T00:00:00Z", days=7)  # doctest: +SKIP
>>> result = relay.plan(sc, "2026-11-23T00:00:00Z", days=7)        # doctest: +SKIP
>>> result.summary.solve.status, result.summary.figures.delivered_mbit  # doctest: +SKIP

A thin surface over :mod:`relay.pipeline` (the typed stages) and
:mod:`relay.result` (the plan's tables, summary and files).  Results are
pandas DataFrames with ISO 8601 UTC time columns (``rise``, ``set``, ...)
beside the TDB seconds the numerics use (``rise_tdb_s``...).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from . import pipeline
from .config import Scenario, load_scenario
from .errors import RelayInputError
from .geometry.earth import earth_mars
from .geostage import default_start
from .operations import merge
from .outputs.tables import iso, labelled, passes_frame, tracks_frame

if TYPE_CHECKING:
    import pandas as pd

    from .result import PlanResult

#: the public names of plan results and plan folders, imported on first use (PEP 562): the result's
#: tables, explanations and report code cost 0.05-0.1 s of import that relay passes never needs
_LAZY = {"PlanResult": "relay.result", "result_from_plan": "relay.result", "load_plan_dir": "relay.planfolder"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'relay.api' has no attribute {name!r}")


def span_tdb_s(start, days: float) -> tuple[float, float]:
    """(start, end) TDB seconds of a span; checked against de421's coverage."""
    span = pipeline.span_of(start, days)
    return span.start_tdb_s, span.end_tdb_s


def _scenario(scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def pass_set(scenario: Scenario, start, days: float = 7.0):
    """The geometry stage: a :class:`relay.geometry.PassSet` for the scenario and span."""
    return pipeline.find_pass_set(scenario, pipeline.span_of(start, days))


def passes_table(ps) -> pd.DataFrame:
    """The user-facing pass table of a PassSet: ISO times with Z, to the millisecond, and pass
    ids spelled as in every plan file (``TGO-Curiosity-20261214T0312``, :mod:`relay.ids`)."""
    return labelled(passes_frame(ps.passes))


def find_passes(scenario: Scenario | str, start, days: float = 7.0) -> pd.DataFrame:
    """Every pass of every orbiter over every asset, as a DataFrame (see :func:`passes_table`)."""
    return passes_table(pass_set(_scenario(scenario), start, days))


def track_set(scenario: Scenario, start, days: float = 7.0):
    """Ground-station tracks (a :class:`relay.geometry.TrackSet`)."""
    return pipeline.find_track_set(scenario, pipeline.span_of(start, days))


def tracks_table(ts) -> pd.DataFrame:
    """The user-facing table of a TrackSet."""
    return tracks_frame(ts.tracks)


def find_tracks(scenario: Scenario | str, start, days: float = 7.0) -> pd.DataFrame:
    """Every window in which a station sees an orbiter (above its mask, not hidden by Mars)."""
    return tracks_table(track_set(_scenario(scenario), start, days))


def earth_mars_table(scenario: Scenario, start, days: float = 7.0, step_s: float = 3600.0) -> pd.DataFrame:
    """Earth-Mars range, light time, Sun-Earth-Mars angle and the conjunction flag on a grid."""
    span = pipeline.span_of(start, days)
    df = earth_mars(span.start_tdb_s, span.end_tdb_s, step_s, scenario.geometry.conjunction_deg)
    df.insert(0, "time", iso(df["tdb_s"]))
    return df


def settings_for(ps, solver=None, time_limit_s=None, workers=None, seed=None, gap_limit=None):
    """The :class:`~relay.planning.settings.PlanningSettings` ``ps`` with the given overrides
    (None: keep); a bad value is an input error naming the option."""
    upd = {}
    if gap_limit is not None:
        upd["gap_limit"] = float(gap_limit)
    if solver is not None:
        upd["solver"] = solver
    if time_limit_s is not None:
        upd["time_limit_s"] = float(time_limit_s)
    if workers is not None:
        upd["workers"] = int(workers)
        # more than one worker races threads: faster, not reproducible
        upd["deterministic"] = int(workers) == 1 and ps.deterministic
    if seed is not None:
        upd["seed"] = int(seed)
    if not upd:
        return ps
    try:
        return ps.model_validate({**ps.model_dump(), **upd})
    except Exception as exc:  # pydantic ValidationError: a bad option value
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        raise RelayInputError(f"got {upd.get(key, err.get('input'))!r}: {err['msg']}",
                              source="planner options", where=key) from None


def plan(scenario: Scenario | str, start, days: float = 7.0, *, fixed_sessions=None,
         previous_sessions=None, change_penalty_mbit: float | None = None, backlogs=None,
         bookings=None, solver: str | None = None, time_limit_s: float | None = None,
         workers: int | None = None, seed: int | None = None, gap_limit: float | None = None,
         frozen_until=None, save_problem=None, outages=None, requests=None, forbid=None, operations=None,
         dropped_locks: list | None = None) -> PlanResult:
    """Plan relay sessions and downlinks over ``days`` from ``start`` (ISO 8601 UTC with Z).

    ``fixed_sessions`` (CSV path or DataFrame ``orbiter, asset, start, end[, kind]``) are kept
    exactly; ``previous_sessions`` (an earlier plan's schedule) are preferred: dropping or moving
    one costs ``change_penalty_mbit`` (default ``planning.change_penalty_mbit``) Mbit of value.
    ``backlogs`` (CSV path or DataFrame ``asset, time, backlog_mbit``; the latest row at or before
    ``start`` wins) overrides the configured backlogs; ``bookings`` (CSV path) replaces the
    scenario's station bookings.  ``solver``, ``time_limit_s``, ``workers``, ``seed``, ``gap_limit``
    override the scenario's ``planning`` settings.  ``frozen_until`` (ISO UTC): no session may start
    before it except the fixed ones (the commands up to then are already on their way).
    ``save_problem`` writes the solver's instance as JSON.  ``outages``, ``requests`` and
    ``forbid`` (CSV paths or DataFrames, see :mod:`relay.operations`) join the scenario's own, and
    so do ``operations`` (records).  With a ``dropped_locks`` list, a fixed session an outage or
    veto covers is dropped (not an error) and ``(option, record, why)`` appended to it.
    """
    scenario = _scenario(scenario)
    settings = settings_for(scenario.planning, solver, time_limit_s, workers, seed, gap_limit)
    span = pipeline.span_of(start, days)
    inputs = pipeline.read_inputs(scenario, span, fixed_sessions=fixed_sessions,
                                  previous_sessions=previous_sessions, backlogs=backlogs, bookings=bookings,
                                  change_penalty_mbit=change_penalty_mbit, frozen_until=frozen_until,
                                  outages=outages, requests=requests, forbid=forbid)
    if operations is not None or dropped_locks is not None:
        inputs = replace(inputs, operations=merge(inputs.operations, operations),
                         drop_covered_locks=dropped_locks is not None,
                         dropped_locks=[] if dropped_locks is None else dropped_locks)
    return pipeline.run(scenario, span, inputs, settings, save_problem=save_problem)


__all__ = ["default_start", "span_tdb_s", "pass_set", "passes_table", "find_passes", "track_set", "tracks_table",
           "find_tracks", "earth_mars_table", "settings_for", "plan", "PlanResult", "load_plan_dir",
           "result_from_plan", "passes_frame"]
