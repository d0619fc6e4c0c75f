"""The plan summary as typed records: how the solve went and what the plan holds.

``SolveReport`` is written by every solver path (CP-SAT, MIP, the greedy and
the rolling-window mode); ``PlanFigures`` is computed from the plan itself;
``PlanSummary`` adds the run (scenario, span, latency, stage timings).  The
reports, compare, sweep and the nightly job read these through attributes.
``summary.json`` is :meth:`PlanSummary.to_json`: one flat object whose keys
are the field names below (see :func:`summary_keys`; the README lists them).

Two objectives are reported and they mean different things:
``objective_points`` is the solver's objective, whose weights are rounded to
0.01 point per volume unit and per session (the model's integer scale);
``weighted_sum_points`` is the plan's exact weighted sum by the documented
weights (``relay validate`` recomputes it from problem.json and the files).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

#: the plan's stages, in order: the keys of ``timings_s`` and the nightly log's stage names
PLAN_STAGES = ("geometry", "tracks", "volumes", "downlinks", "problem", "solve", "tables")

#: summary.json keys that hold wall-clock figures; a reproducible write leaves them out
VOLATILE_KEYS = ("solve_time_s", "build_time_s", "timings_s", "reproducible", "window_time_s", "lp_time_s")
#: summary.json keys written only where they apply (issue 22: a plan at a confidence), so plans
#: without them keep their summary.json byte for byte; not in :func:`summary_keys`, in the table
OPTIONAL_KEYS = ("confidence",)


def _doc(text: str, default: Any = None, factory=None):
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class Violation:
    """A requirement the plan does not meet."""

    asset: str
    sol: int | None  # the asset's mission sol (local MSD without a landing; None: not tied to one sol)
    requirement: str  # "forward_link" | "decisional" | "fixed_session" | ...
    detail: str
    local_sol: int | None = None  # the planning instance's own sol number (problem.json), when it differs
    reason: str | None = None  # why, in relay.explain.REASONS' vocabulary
    request_id: str | None = None  # the relay request unmet (requirement "request"), by its exact id


@dataclass(frozen=True)
class Latency:
    """Hours from the end of a relay session to the data's arrival on Earth (FIFO)."""

    mean_h: float
    worst_h: float
    mbit: float


@dataclass(frozen=True)
class Changes:
    """Sessions of the previous plan (inside this horizon) kept exactly, moved or dropped."""

    previous: int
    kept: int
    moved: int
    dropped: int


@dataclass(frozen=True)
class SolveReport:
    """How the solve went, written alike by CP-SAT, the MIP backend, the greedy and the window mode."""

    solver: str = _doc('"cpsat", "mip" or "greedy"', "greedy")
    status: str = _doc('"OPTIMAL" (proven within the gap limit) or "FEASIBLE" (no proof: time limit, '
                       'or a fallback plan, see note)', "FEASIBLE")
    objective_points: float = _doc("the solver's objective in points (weights rounded to 0.01 point)", 0.0)
    bound: float | None = _doc("best proven upper bound on objective_points (null when none)")
    gap: float | None = _doc("relative gap (bound - objective) / max(1, |bound|); 0 when proven optimal")
    bound_source: str | None = _doc('where the bound came from: "cpsat", "mip (SCIP)", or "lp relaxation '
                                    '(HiGHS dual simplex, dual-certified)" on long horizons (see lp_bound)')
    backend: str | None = _doc("the MIP backend (SCIP, CBC...) when solver is mip")
    solve_time_s: float | None = _doc("wall-clock seconds in the solver (volatile)")
    build_time_s: float | None = _doc("wall-clock seconds building the model (volatile)")
    workers: int | None = _doc("CP-SAT search workers")
    deterministic: bool | None = _doc("CP-SAT ran with a deterministic time limit")
    seed: int | None = _doc("solver random seed")
    time_limit_s: float | None = _doc("the solver's time limit")
    reproducible: bool | None = _doc("a rerun gives the same plan (volatile)")
    note: str | None = _doc("what the planner did that a reader should know (fallback plans, ...)")
    windows: int | None = _doc("rolling windows solved first (long horizons on one thread)")
    window_statuses: tuple[str, ...] | None = _doc("status of each rolling window")
    window_time_s: float | None = _doc("wall-clock seconds in the window solves (volatile)")
    window_objective: float | None = _doc("objective of the joined window plan in points")
    lp_status: str | None = _doc('long horizons on one thread: how the LP relaxation ended ("OPTIMAL", or why not)')
    lp_bound: float | None = _doc("the LP relaxation's bound in points, certified from its duals (null when none)")
    lp_time_s: float | None = _doc("wall-clock seconds building and solving the LP relaxation (volatile)")
    guided_status: str | None = _doc("CP-SAT's status on the model with the LP's integral session choices fixed")
    guided_objective: float | None = _doc("objective of that LP-guided plan in points")
    greedy_delivered_mbit: float | None = _doc("what the greedy baseline delivers")
    greedy_objective: float | None = _doc("the greedy baseline's objective in points")
    gain_vs_greedy_pct: float | None = _doc("delivered volume over the greedy's, in percent")
    excluded_options: int | None = _doc("session options excluded before the solve (too small to hold)")

    def replace(self, **kw) -> "SolveReport":
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class PlanFigures:
    """What the plan holds, computed from its sessions and downlinks."""

    delivered_mbit: float = _doc("data on Earth by the end of the horizon", 0.0)
    relayed_mbit: float = _doc("data relayed from the surface to the orbiters", 0.0)
    onboard_end_mbit: float = _doc("data still aboard the orbiters at the end", 0.0)
    delivered_by_asset: Mapping[str, float] = _doc("delivered Mbit per asset", factory=dict)
    delivered_by_orbiter: Mapping[str, float] = _doc("delivered Mbit per orbiter", factory=dict)
    sessions_by_asset: Mapping[str, int] = _doc("relay sessions per asset", factory=dict)
    decisional_sols_met: Mapping[str, int] = _doc("sols whose decisional data reached Earth in time", factory=dict)
    violations: tuple[Violation, ...] = _doc("requirements not met", factory=tuple)
    conjunction: bool = _doc("the horizon overlaps solar conjunction", False)
    volume_unit_mbit: float = _doc("the volume unit of the model", 0.1)
    sessions: int = _doc("relay sessions held", 0)
    weighted_sum_points: float | None = _doc("the plan's exact weighted sum by the documented weights")
    confidence: Mapping[str, Any] | None = _doc(
        "a plan at a confidence (link.calibration, planning.volume_quantile, min_sol_mbit; present only then): "
        "volume_quantile, guarantee_confidence, calibration, per asset the planned volume (at the quantile), the "
        "expected and the predicted volume of its sessions, and per decisional sol the probability it is met "
        "(that its session achieves the decisional volume)")

    def replace(self, **kw) -> "PlanFigures":
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class PlanSummary:
    """The summary of a plan: its solve report, its figures and the run that made it."""

    solve: SolveReport
    figures: PlanFigures
    scenario: str | None = _doc("scenario name")
    scenario_hash: str | None = _doc("hash of the validated scenario")
    start: str | None = _doc("start of the horizon (ISO 8601 UTC)")
    end: str | None = _doc("end of the horizon (ISO 8601 UTC)")
    days: float | None = _doc("length of the horizon in days")
    latency_by_asset: Mapping[str, Latency] = _doc("latency to Earth per asset", factory=dict)
    changes_vs_previous: Changes | None = _doc("sessions of the previous plan kept, moved, dropped")
    warnings: tuple[str, ...] = _doc("what a planner must know: an outage, veto or lock that matches nothing "
                                     "(its file and row), data stranded aboard an orbiter with no downlink, or "
                                     "much of the relayed data still aboard at the end", factory=tuple)
    sol_numbering: Mapping[str, str] = _doc('per asset, "mission" (sols from its landing) or "MSD" (no '
                                            'landing given: sols are the local Mars Sol Date)', factory=dict)
    timings_s: Mapping[str, float] = _doc("wall-clock seconds per stage (volatile)", factory=dict)

    # -- attribute shortcuts for the figures every reader wants -------------------------------
    @property
    def status(self) -> str:
        return self.solve.status

    @property
    def delivered_mbit(self) -> float:
        return self.figures.delivered_mbit

    @property
    def violations(self) -> tuple[Violation, ...]:
        return self.figures.violations

    def replace(self, **kw) -> "PlanSummary":
        return dataclasses.replace(self, **kw)

    # -- summary.json ---------------------------------------------------------------------------
    def to_json(self, *, reproducible: bool = False) -> dict:
        """The flat summary.json object (keys: :func:`summary_keys`); ``reproducible`` leaves
        the wall-clock figures (:data:`VOLATILE_KEYS`) out."""
        out: dict[str, Any] = {}
        for part in (self.solve, self.figures):
            for f in fields(part):
                out[f.name] = _plain(getattr(part, f.name))
        for f in fields(self):
            if f.name not in ("solve", "figures"):
                out[f.name] = _plain(getattr(self, f.name))
        if reproducible:
            for k in VOLATILE_KEYS:
                out.pop(k, None)
        for k in OPTIONAL_KEYS:
            if out.get(k) is None:
                out.pop(k, None)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PlanSummary":
        """The summary of a summary.json object (unknown keys are ignored, missing ones default)."""
        def part(klass):
            kw = {}
            for f in fields(klass):
                if f.name in data and f.name not in ("solve", "figures"):
                    kw[f.name] = data[f.name]
            return kw

        fig = part(PlanFigures)
        fig["violations"] = tuple(Violation(**v) for v in fig.get("violations") or ())
        rep = part(SolveReport)
        if rep.get("window_statuses") is not None:
            rep["window_statuses"] = tuple(rep["window_statuses"])
        top = part(cls)
        top["warnings"] = tuple(top.get("warnings") or ())
        top["latency_by_asset"] = {k: Latency(**v) for k, v in (top.get("latency_by_asset") or {}).items()}
        if top.get("changes_vs_previous"):
            top["changes_vs_previous"] = Changes(**top["changes_vs_previous"])
        return cls(solve=SolveReport(**rep), figures=PlanFigures(**fig), **top)


def _plain(value):
    """JSON-ready form of a field value (records to dicts, tuples to lists, mappings sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def summary_keys(optional: bool = False) -> list[tuple[str, str]]:
    """``(key, description)`` of every summary.json key, in the order written (with ``optional``,
    the :data:`OPTIONAL_KEYS` too, written only where they apply)."""
    out = []
    for klass in (SolveReport, PlanFigures, PlanSummary):
        for f in fields(klass):
            if f.name not in ("solve", "figures") and (optional or f.name not in OPTIONAL_KEYS):
                out.append((f.name, f.metadata.get("doc", "")))
    return out


def summary_table() -> str:
    """The summary.json keys as a markdown table (the README's copy is checked against it)."""
    part = {}
    for klass, where in ((SolveReport, "summary.solve"), (PlanFigures, "summary.figures"), (PlanSummary, "summary")):
        for f in fields(klass):
            part.setdefault(f.name, where)
    rows = ["| key | Python attribute | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{k}` | `{part[k]}.{k}` | {doc} |" for k, doc in summary_keys(optional=True)]
    return "\n".join(rows)


__all__ = ["summary_table", "PLAN_STAGES", "VOLATILE_KEYS", "OPTIONAL_KEYS", "Violation", "Latency", "Changes", "SolveReport", "PlanFigures",
           "PlanSummary", "summary_keys"]
