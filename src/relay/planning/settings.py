"""Config models of the planner (issue 4), embedded by :mod:`relay.config`.

``orbiters[].storage`` -> :class:`OrbiterStorage`, ``assets[].data`` ->
:class:`AssetData`, ``assets[].operations`` -> :class:`AssetOperations`, the
top-level ``planning`` -> :class:`PlanningSettings`.  Every field has a default
and a description; unknown keys are refused (``extra="forbid"``).

Local times are Local Mean Solar Time (LMST) hours at the asset, 0 to 24; a
window whose end is before its start wraps past local midnight (``[20, 4]``).
The problem builder turns them into absolute TDB intervals with
:func:`relay.planning.problem.lmst_intervals`.

Objective
---------
The planner maximises, in this order (``objective_order``)::

    delivered   priority-weighted Mbit downlinked to Earth within the horizon
                (+ data still aboard the orbiters at the end x end_store_discount)
    decisional  sols whose decisional data reached Earth by its deadline
    latency     Mbit x days by which data reaches Earth before the horizon end
    elevation   sessions x elevation score (0-1) of the pass

as one weighted sum of integer "points" (``ObjectiveWeights``).  The weights
express the order: with the defaults, one priority-weighted Mbit delivered
(1000 points) outweighs a decisional sol (100 points), which outweighs a Mbit
delivered a day earlier (1 point), which outweighs a higher-elevation session
(at most 1 point).  Penalties for violated soft requirements are subtracted.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

#: the smallest volume unit (Mbit) a plan may use, in a scenario or a problem file: a smaller one makes
#: the volumes too large for the solvers (HiGHS stops with an internal error at 1e-14)
MIN_UNIT_MBIT = 1e-3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def without_unset(out: dict, model: BaseModel, defaults: dict) -> dict:
    """``out`` (a model's dump) without the keys of ``defaults`` whose value is the default: the
    keys added since (issues 19, 22, 23), so a scenario or settings that do not use them dump, hash
    and save (volumes.npz) exactly as before."""
    for key, default in defaults.items():
        if getattr(model, key) == default:
            out.pop(key, None)
    return out


LmstWindow = tuple[float, float]


def _check_lmst(v: LmstWindow | None) -> LmstWindow | None:
    if v is None:
        return v
    a, b = v
    for h in (a, b):
        if not 0.0 <= h <= 24.0:
            raise ValueError(f"LMST hours must be from 0 to 24, got {h}")
    if a == b:
        raise ValueError("an LMST window needs a start different from its end")
    return v


class OrbiterStorage(_Strict):
    """The orbiter's relay data store (``orbiters[].storage``)."""

    capacity_mbit: float = Field(
        16000.0, gt=0, description="relay data store capacity, Mbit (default 2 GB)")
    initial_fill_mbit: float = Field(
        0.0, ge=0, description="data aboard at the start of the horizon, Mbit; it counts as delivered "
                               "when downlinked, at `initial_fill_weight`")
    initial_fill_weight: float = Field(
        1.0, ge=0, description="priority weight of the data aboard at the start")

    @model_validator(mode="after")
    def _fits(self):
        if self.initial_fill_mbit > self.capacity_mbit:
            raise ValueError(f"initial_fill_mbit {self.initial_fill_mbit} exceeds capacity_mbit "
                             f"{self.capacity_mbit}")
        return self


class AssetData(_Strict):
    """The asset's data to return (``assets[].data``)."""

    backlog_mbit: float = Field(
        2000.0, ge=0, description="data waiting aboard the asset at the start of the horizon, Mbit")
    generation_mbit_per_sol: float = Field(
        500.0, ge=0, description="data produced per sol, Mbit")
    generation_step_h: float = Field(
        1.0, ge=0.1, le=24.66, description="the produced data becomes available in steps of this many "
                                           "hours, 0.1 to 24.66 (each step adds rate x step at its end)")
    priority_weight: float = Field(
        1.0, ge=0, le=100, description="value of one Mbit of this asset's data (resolution 0.01)")


class ForwardLink(_Strict):
    """A forward-link (commanding) requirement (``assets[].operations.forward_link``)."""

    sessions_per_sol: int = Field(1, ge=0, le=10, description="command sessions needed per sol")
    lmst_window: LmstWindow = Field((6.0, 18.0), description="LMST window the sessions must lie in")
    min_duration_s: float = Field(300.0, ge=0, description="shortest session that carries the command load")

    @field_validator("lmst_window")
    @classmethod
    def _lmst(cls, v):
        return _check_lmst(v)


class DecisionalData(_Strict):
    """Decisional data (``assets[].operations.decisional``): each sol, the data of a session in
    ``lmst_window`` should reach Earth before the deadline (UTC hour of the next day after the
    window, or an LMST hour of the next sol: give exactly one)."""

    lmst_window: LmstWindow = Field((13.0, 18.0), description="LMST window of the decisional session")
    deadline_utc_hour: float | None = Field(
        None, ge=0, lt=24, description="deadline: first time at this UTC hour after the window ends")
    deadline_lmst_hour: float | None = Field(
        None, ge=0, lt=24, description="deadline: first time at this LMST hour after the window ends")
    min_volume_mbit: float = Field(
        10.0, ge=0, description="the decisional data: the session must carry at least this much "
                                "(illustrative default)")

    @field_validator("lmst_window")
    @classmethod
    def _lmst(cls, v):
        return _check_lmst(v)

    @model_validator(mode="after")
    def _one_deadline(self):
        if (self.deadline_utc_hour is None) == (self.deadline_lmst_hour is None):
            raise ValueError("give exactly one of deadline_utc_hour and deadline_lmst_hour")
        return self


class AssetOperations(_Strict):
    """When and how the asset may relay (``assets[].operations``)."""

    wake_windows_lmst: list[LmstWindow] | None = Field(
        None, description="LMST windows in which the asset may relay, e.g. [[9, 20]]; null: always")
    max_sessions_per_sol: int | None = Field(
        None, ge=0, description="most relay sessions per local sol; null: no cap")
    energy_wh_per_uhf_min: float | None = Field(
        None, ge=0, description="energy per minute of UHF session, Wh; null: energy not limiting")
    energy_wh_per_sol: float | None = Field(
        None, ge=0, description="energy available for UHF sessions per local sol, Wh")
    forward_link: ForwardLink | None = Field(
        None, description="forward-link (commanding) requirement; null: none")
    decisional: DecisionalData | None = Field(
        None, description="decisional-data requirement; null: none")
    min_session_s: float = Field(120.0, ge=0, description="shortest relay session, s")
    min_session_mbit: float = Field(
        0.0, ge=0, description="a return session carries at least this much (not worth waking the "
                               "radio for less), Mbit; every held return session carries at least one "
                               "volume unit")
    turnaround_s: float = Field(60.0, ge=0, description="gap between two sessions of one radio, s")
    min_sol_mbit: float | None = Field(
        None, ge=0, le=1e6, description="guaranteed minimum per local sol, Mbit (NASA lesson learned 1765: MER "
                                        "planned to a guaranteed 30 Mbit): the sol's sessions, each counted at "
                                        "its volume at planning.guarantee_confidence, carry at least this much, "
                                        "or the sol costs planning.guarantee_penalty_points (soft); null: none")

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        return without_unset(handler(self), self, {"min_sol_mbit": None})

    @field_validator("wake_windows_lmst")
    @classmethod
    def _wake(cls, v):
        if v is not None:
            for w in v:
                _check_lmst(w)
        return v

    @model_validator(mode="after")
    def _energy_pair(self):
        if (self.energy_wh_per_uhf_min is None) != (self.energy_wh_per_sol is None):
            raise ValueError("give both energy_wh_per_uhf_min and energy_wh_per_sol, or neither")
        return self


class ObjectiveWeights(_Strict):
    """Points of the objective (see the module docstring for the order they express)."""

    delivered_per_mbit: float = Field(
        1000.0, gt=0, description="points per priority-weighted Mbit delivered within the horizon")
    end_store_discount: float = Field(
        0.5, ge=0, le=1, description="data aboard an orbiter at the horizon end counts at this "
                                     "fraction of delivered")
    decisional_per_sol: float = Field(
        100.0, ge=0, description="points per sol whose decisional data reached Earth by its deadline")
    latency_per_mbit_day: float = Field(
        1.0, ge=0, description="points per Mbit x day by which a downlink ends before the horizon end")
    elevation_per_session: float = Field(
        1.0, ge=0, description="points per session x elevation score (0-1)")
    forward_shortfall_penalty: float = Field(
        1_000_000.0, ge=0, description="points lost per missing forward-link session (soft requirement)")


#: The longest planning horizon (days): a year and a day (``relay plan --days`` shares it).
MAX_HORIZON_DAYS = 366.0


class PlanningSettings(_Strict):
    """The planner (``planning``)."""

    horizon_days: float = Field(7.0, gt=0, le=MAX_HORIZON_DAYS, description="planning horizon, days (over 4.5 x block_days: planned block by block)")
    solver: Literal["cpsat", "mip"] = Field(
        "cpsat", description="cpsat: OR-Tools CP-SAT; mip: the same model through OR-Tools' MIP "
                             "interface with SCIP")
    time_limit_s: float = Field(60.0, gt=0, description="solver time limit, s")
    gap_limit: float = Field(
        1e-4, ge=0, lt=1, description="stop once the plan is proven within this relative gap of the bound "
                                      "(default 1e-4: 0.01 % of the points, about 9 Mbit of a 28-day network "
                                      "plan; 0: prove optimal)")
    workers: int = Field(2, ge=1, le=64, description="CP-SAT threads when not deterministic")
    seed: int = Field(1, ge=0, description="solver random seed")
    deterministic: bool = Field(
        True, description="CP-SAT: one search thread and deterministic work limits (on a short horizon "
                          "10 deterministic seconds of CP-SAT on the whole model, then, if that proves "
                          "nothing within gap_limit, the LP relaxation's bound and the plan it guides; the "
                          "wall clock only a safety net far above), so a rerun gives the same plan byte "
                          "for byte unless the wall clock cut it; on a horizon longer than 1.5 "
                          "windows the bound comes from the LP relaxation (relay.planning.relaxation; "
                          "28 days of 5 orbiters x 6 assets: a 0.008 % gap in 16 s); false: `workers` "
                          "threads race (never reproducible)")
    greedy_hint: bool = Field(
        False, description="give the greedy plan to CP-SAT as a hint (the prototype measured it "
                           "neutral to harmful; see scripts/bench_plan_models.py)")
    volume_unit_mbit: float = Field(
        0.1, ge=MIN_UNIT_MBIT, le=10, description="integer volume unit of the model, 0.001 to 10 Mbit (what a problem "
                                          "file may hold: a smaller unit makes volumes too large for the "
                                          "solvers' integers); each session and downlink loses at most one "
                                          "unit to rounding down")
    downlink_chunk_s: float = Field(
        0.0, ge=0, le=86400, description="split each downlink window into chunks of about this length, "
                                         "0 (one chunk per window) or 60 to 86400 s; fewer chunks, smaller model")
    min_downlink_s: float = Field(
        10.0, ge=0, le=86400, description="no downlink shorter than this, s: shorter pieces of a downlink "
                                          "window (e.g. slivers left where station bookings meet) are "
                                          "not used; carried in problem.json and checked by relay validate")
    window_days: float = Field(
        7.0, ge=0, le=60, description="deterministic CP-SAT on a horizon longer than 1.5 windows of this many "
                                      "days: bound and plan from the LP relaxation (relay.planning.relaxation), "
                                      "or, when the LP gives none in half the time limit, the joined plan of "
                                      "consecutive windows (relay.planning.windows); the whole-horizon solve "
                                      "starts from that plan unless it is already proven within gap_limit "
                                      "(0: none of this, else 1 to 60 days)")
    block_days: float = Field(
        7.0, ge=0, le=60, description="deterministic CP-SAT on a horizon longer than 4.5 blocks of this many "
                                      "days (31.5 by default): bounded by the sum of the LP bounds of blocks twice as long, relaxed "
                                      "at their edges and priced (relay.planning.horizon), then planned in windows "
                                      "of one block solved in sequence, each 2/7 of a block (2 days of 7) longer than it keeps and "
                                      "selling what it leaves at the bound's prices (relay.planning.windows); "
                                      "deterministic work limits only "
                                      "(0: never, else 1 to 60 days)")
    earth_leg: Literal["first-come", "chosen"] = Field(
        "chosen", description="station time under an orbiter's daily downlink hours (xband.max_hours_per_day): "
                              "chosen (the default), every window offered in pieces of at most 3 h and the "
                              "model picks which to use within the daily hours (a joint relay and Earth-leg "
                              "plan); first-come, the first station windows of each UTC day (before issue 19)")
    split_passes: bool = Field(
        True, description="where two assets see one orbiter at once, offer sessions that split the "
                          "overflight between them (false: whole passes only)")
    change_penalty_mbit: float = Field(
        50.0, ge=0, description="re-planning against a previous plan (relay nightly, relay.plan("
                                "previous_sessions=...)): dropping or moving one of its sessions costs "
                                "this many priority-weighted Mbit of value, so the plan does not churn "
                                "for a marginal gain")
    objective_order: list[Literal["delivered", "decisional", "latency", "elevation"]] = Field(
        ["delivered", "decisional", "latency", "elevation"],
        description="the order of the objective terms; the weights must decrease along it "
                    "(checked per unit: Mbit, sol, Mbit-day, session)")
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    volume_quantile: float = Field(
        0.5, ge=0.01, le=0.99, description="plan every session option at this quantile of its calibrated volume "
                                           "(link.calibration; issue 22): 0.5 the median, 0.16 one sigma below "
                                           "(NASA lesson learned 1765); pairs the calibration does not name keep "
                                           "the link model's volume")
    guarantee_confidence: float | None = Field(
        None, ge=0.01, le=0.99, description="assets[].operations.min_sol_mbit counts each session at the volume it "
                                            "achieves with this probability (its 1 - confidence quantile); null: "
                                            "1 - volume_quantile (0.84 when planning at 0.16)")
    guarantee_penalty_points: float = Field(
        100_000.0, ge=0, le=1e9, description="points lost per sol that misses its guaranteed minimum (default: "
                                             "100 Mbit of delivered data)")

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        return without_unset(handler(self), self, {"volume_quantile": 0.5, "guarantee_confidence": None,
                                                   "guarantee_penalty_points": 100_000.0, "block_days": 7.0})

    @field_validator("downlink_chunk_s")
    @classmethod
    def _chunk(cls, v):
        if 0 < v < 60:
            raise ValueError("expected 0 (one chunk per window) or at least 60 s (shorter chunks only make "
                             "the model larger)")
        return v

    @field_validator("window_days", "block_days")
    @classmethod
    def _window(cls, v):
        if 0 < v < 1:
            raise ValueError("expected 0 (no windows) or at least 1 day (shorter windows only multiply the solves)")
        return v

    @model_validator(mode="after")
    def _order(self):
        if sorted(self.objective_order) != sorted(["delivered", "decisional", "latency", "elevation"]):
            raise ValueError("objective_order must list delivered, decisional, latency and elevation once each")
        w = self.weights
        per_unit = {"delivered": w.delivered_per_mbit, "decisional": w.decisional_per_sol,
                    "latency": w.latency_per_mbit_day, "elevation": w.elevation_per_session}
        vals = [per_unit[k] for k in self.objective_order]
        if any(a < b for a, b in zip(vals, vals[1:])):
            raise ValueError(f"weights {per_unit} do not decrease along objective_order "
                             f"{self.objective_order}")
        return self
