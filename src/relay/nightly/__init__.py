"""The nightly planning job: rolling-horizon re-planning, safe to run unattended.

``relay nightly CONFIG --archive PATH`` plans the scenario from the start of
the next planning day and stores the run in the archive (:mod:`relay.archive`);
``relay history`` and ``relay diff`` read it.  See ``docs/nightly.md``.

The package, one job per module:

``options``  the ``nightly:`` section of a scenario (:class:`NightlyOptions`, a
             pydantic model of ``Scenario``; the one place of the defaults) and
             its merge with the command line (:func:`resolve`)
``drop``     the drop folder: regular files only, orbit files chosen per orbiter,
             bookings and backlogs read by :mod:`relay.inputs`
``base``     the base plan: frozen and previous sessions, the backlogs carried
             over, the span both plans cover
``safety``   the lock, the JSON log, fsynced writes, the ``current`` link and the
             repair of interrupted runs
``job``      one run, from its inputs to the archived, current plan; exit codes
``diff``     what changed between two plans; the history list

Names are imported lazily (``relay.config`` imports :mod:`.options`, and the
job imports the planner, which imports ``relay.config``).
"""

from __future__ import annotations

import importlib

from .options import NightlyOptions, NightlyRun, next_planning_day, parse_day_boundary, resolve

_LAZY = {
    "drop": ("COVERAGE_MARGIN_S", "DropInputs", "OrbitFile", "orbiter_for_file", "scan_drop", "sha256_file"),
    "base": ("BasePlan", "carried_backlogs", "load_base", "returned_by_asset"),
    "safety": ("JsonLog", "LockHeld", "RunLock", "checkpoint", "reconcile_outputs", "set_current"),
    "job": ("JOB_STAGES", "Prepared", "default_out", "plan_kwargs", "prepare", "run_nightly"),
    "diff": ("DIFF_CSV_COLUMNS", "HISTORY_HEADER", "diff_runs", "diff_sessions", "diff_table", "diff_text",
             "history_lines"),
}
_WHERE = {name: mod for mod, names in _LAZY.items() for name in names}

__all__ = ["NightlyOptions", "NightlyRun", "next_planning_day", "parse_day_boundary", "resolve", *_WHERE]


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
