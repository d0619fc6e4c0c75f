"""The horizon of a nightly run: its span, and the operational records that bear on it.

:func:`run_span` is the run's span (start, end, end of the freeze) from the
options and the clock.  An outage, veto or request that does not overlap the
span is left out of the run with a note, never an error: the scenario's
``outages:``, ``forbid:`` and ``requests:`` of past days must not stop every
later night (:func:`scenario_within`), and neither may the drop folder's
records (:func:`operations_within`, which also leaves out vetoes by pass id:
a pass id names a pass of one plan).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..config_nightly import next_planning_day
from ..operations import Operations, operations_from_scenario
from ..timescales import iso_z, parse_utc, tdb_s_to_iso, utc_to_tdb_s
from .options import NightlyRun


def run_span(job: NightlyRun) -> tuple[str, str, str, float, float, float]:
    """(start, end, freeze end) as ISO 8601 UTC and (start, end, freeze end) in TDB s."""
    o = job.options
    start = o.start or next_planning_day(datetime.now(timezone.utc), o.day_boundary)
    d0 = parse_utc(start, where="--start")
    end, freeze = d0 + timedelta(days=job.days), d0 + timedelta(hours=o.freeze_hours)
    t0 = utc_to_tdb_s(d0)
    return (iso_z(d0, 0), iso_z(end, 0), iso_z(freeze, 0), t0, t0 + job.days * 86400.0, t0 + o.freeze_hours * 3600.0)


def outside(rec, t0: float, t1: float) -> str | None:
    """The side of [t0, t1) (TDB s) the record's span lies wholly on, ``"before"`` or ``"after"``;
    None when it overlaps the horizon or has no span (a veto by pass id)."""
    if rec.start_tdb_s is None or rec.end_tdb_s is None:
        return None
    if rec.end_tdb_s <= t0:
        return "before"
    if rec.start_tdb_s >= t1:
        return "after"
    return None


def operations_within(ops: Operations | None, t0: float, t1: float) -> tuple[Operations, list[str]]:
    """The drop folder's records that bear on the horizon [t0, t1) (TDB s), and a note for each
    record left out."""
    ops = ops or Operations()
    notes = []

    def inside(r, what: str, name: str) -> bool:
        if r.start_tdb_s is None or r.end_tdb_s is None:
            notes.append(f"drop folder: {r.source} {r.where}: {what} {name} by pass id left out (a pass id "
                         "names a pass of one plan; give the orbiter and/or asset and a span)")
            return False
        if outside(r, t0, t1):
            notes.append(f"drop folder: {r.source} {r.where}: {what} {name} outside this run's horizon, left out")
            return False
        return True

    return Operations(tuple(o for o in ops.outages if inside(o, "outage of", o.target)),
                      tuple(v for v in ops.forbid if inside(v, "veto", v.pass_id or "")),
                      tuple(q for q in ops.requests if inside(q, "request", q.id))), notes


def _what(key: str, r) -> str:
    if key == "outages":
        return f"outage of {r.target}"
    if key == "forbid":
        return "veto of " + " -> ".join(x for x in (r.orbiter, r.asset) if x)
    return f"request {r.id}"


def scenario_within(sc, t0: float, t1: float):
    """The scenario without its outages, vetoes and requests that miss the horizon [t0, t1)
    (TDB s), and a note for each one left out.  The scenario itself when none is."""
    ops = operations_from_scenario(sc)
    update, notes = {}, []
    for key, records in (("outages", ops.outages), ("forbid", ops.forbid), ("requests", ops.requests)):
        side = [outside(r, t0, t1) for r in records]
        for r, why in zip(records, side):
            if why:
                edge = f"starts {tdb_s_to_iso(t0)}" if why == "before" else f"ends {tdb_s_to_iso(t1)}"
                notes.append(f"{r.source}: {r.where}: the {_what(key, r)} ({tdb_s_to_iso(r.start_tdb_s)} to "
                             f"{tdb_s_to_iso(r.end_tdb_s)}) lies {why} this run's horizon (which {edge}); "
                             "left out")
        if any(side):
            update[key] = [item for item, why in zip(getattr(sc, key), side) if not why]
    return (sc.model_copy(update=update) if update else sc), notes
