"""The typed plan summary: summary.json is generated from it, round-trips, and is documented."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from relay.pipeline import StageTimer
from relay.summary import (PLAN_STAGES, VOLATILE_KEYS, Changes, Latency, PlanFigures, PlanSummary, SolveReport,
                           Violation, summary_keys)

ROOT = Path(__file__).resolve().parents[1]


def _summary() -> PlanSummary:
    return PlanSummary(
        solve=SolveReport(solver="cpsat", status="OPTIMAL", objective_points=12.5, bound=12.5, gap=0.0,
                          solve_time_s=0.3, window_statuses=("OPTIMAL", "FEASIBLE")),
        figures=PlanFigures(delivered_mbit=10.0, delivered_by_asset={"B": 4.0, "A": 6.0},
                            violations=(Violation("A", 3, "decisional", "late"),), sessions=2),
        scenario="s", start="2026-12-01T00:00:00.000Z", latency_by_asset={"A": Latency(1.0, 2.0, 6.0)},
        changes_vs_previous=Changes(4, 2, 1, 1), timings_s={"solve": 0.3})


def test_summary_json_round_trips_and_has_every_documented_key():
    s = _summary()
    data = json.loads(json.dumps(s.to_json(), allow_nan=False))
    assert list(data) == [k for k, _ in summary_keys()]
    assert data["delivered_by_asset"] == {"A": 6.0, "B": 4.0}  # mappings sorted
    assert data["violations"] == [{"asset": "A", "sol": 3, "requirement": "decisional", "detail": "late",
                                   "local_sol": None, "reason": None, "request_id": None}]
    assert PlanSummary.from_json(data) == s


def test_reproducible_summary_leaves_out_exactly_the_wall_clock_keys():
    data = _summary().to_json(reproducible=True)
    assert set(VOLATILE_KEYS) & set(data) == set()
    assert set(data) | set(VOLATILE_KEYS) == {k for k, _ in summary_keys()}


def test_readme_documents_the_generated_keys():
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "summary_keys.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_stage_timer_knows_only_the_plan_stages():
    mark = StageTimer()
    for name in PLAN_STAGES:
        mark(name)
    assert list(mark.timings) == list(PLAN_STAGES)
    with pytest.raises(ValueError, match="unknown stage"):
        mark("geometyr")


@pytest.mark.slow
def test_a_plan_writes_its_summary_from_the_dataclass(tmp_path):
    import relay

    r = relay.plan(str(ROOT / "configs" / "baseline.yaml"), "2026-12-01T00:00:00Z", 1.0)
    assert list(r.summary.timings_s) == list(PLAN_STAGES)
    r.write(tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert list(data) == sorted(k for k, _ in summary_keys())  # written with sorted keys
    back = PlanSummary.from_json(data)
    assert back.figures == r.summary.figures and back.solve == r.summary.solve
    assert repr(r).startswith("<PlanResult baseline 2026-12-01T00:00:00.000Z")
