"""Problem JSON round trip and errors; builder helpers (options, chunks, LMST); planner settings."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from planning_helpers import T0, linear_volume, tiny
from relay.errors import RelayInputError
from relay.planning import synthetic
from relay.planning.options import chunk_downlinks, session_options
from relay.planning.problem import Problem, PassWindow, generation_steps, lmst_intervals, sol_spans
from relay.planning.settings import AssetOperations, OrbiterStorage, PlanningSettings
from relay.timescales import lmst_hours, local_sol


def test_json_round_trip(tmp_path):
    P = synthetic.instance(2, requirements=True, days=1.0)
    path = P.to_json(tmp_path / "p.json")
    back = Problem.from_json(path)
    assert back == P
    assert json.loads(path.read_text())["schema"] == "relay.problem"
    assert json.loads(path.read_text())["version"] == 1
    assert back.to_json(tmp_path / "q.json").read_bytes() == path.read_bytes()


def _bad(tmp_path, mutate):
    data = json.loads(json.dumps(synthetic.instance(0, days=0.5).to_dict()))
    mutate(data)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(RelayInputError) as err:
        Problem.from_json(p)
    assert str(p) in str(err.value)
    return err.value


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["options"][1].__setitem__("start_tdb_s", "soon"), "options[1].start_tdb_s"),
    (lambda d: d["orbiters"][0].pop("capacity_mbit"), "orbiters[0].capacity_mbit"),
    (lambda d: d["downlinks"][0].__setitem__("colour", "red"), "downlinks[0].colour"),
    (lambda d: d["options"][0].__setitem__("orbiter", "Voyager"), "options[0].orbiter"),
    (lambda d: d["options"][2].__setitem__("kind", "sideways"), "options[2].kind"),
    (lambda d: d.__setitem__("end_tdb_s", d["start_tdb_s"] - 1), "end_tdb_s"),
    (lambda d: d["options"].append(dict(d["options"][0])), "options[%d].option_id"),
    (lambda d: d.__setitem__("version", 99), "version"),
    (lambda d: d.__setitem__("min_downlink_s", -1.0), "min_downlink_s"),
])
def test_bad_json_names_the_key(tmp_path, mutate, where):
    err = _bad(tmp_path, mutate)
    if "%d" in where:
        where = where % (len(synthetic.instance(0, days=0.5).options))
    assert err.where == where, str(err)


def test_overlapping_downlinks_of_one_orbiter_are_refused(tmp_path):
    def overlap(d):
        first = d["downlinks"][0]
        d["downlinks"].append(dict(first, chunk_id="again", station="Elsewhere",
                                   start_tdb_s=first["start_tdb_s"] + 1.0))
    err = _bad(tmp_path, overlap)
    assert err.where == f"downlinks[{len(synthetic.instance(0, days=0.5).downlinks)}]"
    assert "one downlink at a time per orbiter" in str(err)


def test_not_json(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{ not json")
    with pytest.raises(RelayInputError, match="not valid JSON"):
        Problem.from_json(p)
    with pytest.raises(RelayInputError, match="cannot read"):
        Problem.from_json(tmp_path / "missing.json")


# -- options ------------------------------------------------------------------------------

def test_options_of_overlapping_passes():
    passes = [PassWindow("a", "O", "A", 0.0, 600.0), PassWindow("b", "O", "B", 300.0, 900.0),
              PassWindow("c", "O2", "B", 0.0, 600.0)]
    opts = session_options(passes, linear_volume(), min_session_s=120.0, turnaround_s=60.0)
    by_pass = {}
    for x in opts:
        by_pass.setdefault(x.pass_id, []).append((x.start_tdb_s, x.end_tdb_s))
    assert by_pass["c"] == [(0.0, 600.0)]  # nothing overlaps it on O2
    assert (0.0, 600.0) in by_pass["a"] and (300.0, 900.0) in by_pass["b"]
    assert (0.0, 240.0) in by_pass["a"]           # cut at b's rise, with turnaround
    assert (660.0, 900.0) in by_pass["b"]         # cut at a's set, with turnaround
    assert (0.0, 420.0) in by_pass["a"] and (480.0, 900.0) in by_pass["b"]  # midpoint 450 +- 30
    for x in opts:
        assert x.duration_s >= 120.0 - 1e-9
        assert x.capacity_mbit == pytest.approx(x.duration_s)
    assert [x.option_id for x in opts if x.pass_id == "a"][0] == "a#0" or any(x.option_id == "a#0" for x in opts)
    assert next(x for x in opts if x.option_id == "a#0").duration_s == 600.0


def test_volume_optimal_cut_matches_brute_force():
    # a fast first pass and a slow second one: the best cut is late in the overlap, not the midpoint
    passes = [PassWindow("a", "O", "A", 0.0, 1000.0), PassWindow("b", "O", "B", 200.0, 1200.0)]
    rate = {"a": 4.0, "b": 1.0}

    def volume(pid, t0, t1):
        return rate[pid] * max(0.0, t1 - t0)

    opts = session_options(passes, volume, min_session_s=120.0, turnaround_s=60.0)
    best_pair = 0.0
    for xa in (x for x in opts if x.pass_id == "a"):
        for xb in (x for x in opts if x.pass_id == "b"):
            if xb.start_tdb_s >= xa.end_tdb_s + 60.0 - 1e-6:
                best_pair = max(best_pair, xa.capacity_mbit + xb.capacity_mbit)
    brute = max(volume("a", 0, c - 30) + volume("b", c + 30, 1200) for c in range(200, 1001))
    assert best_pair >= brute - 1.0  # within a second of cut resolution x rate


def test_forward_assets_and_shape_a():
    passes = [PassWindow("a", "O", "A", 0.0, 600.0), PassWindow("b", "O", "B", 300.0, 900.0)]
    opts = session_options(passes, linear_volume(), forward_assets={"A"}, split=False)
    assert sorted((x.pass_id, x.kind) for x in opts) == [("a", "forward"), ("a", "return"), ("b", "return")]
    zero = session_options(passes, lambda p, a, b: 0.0)
    assert zero == []


def test_chunk_downlinks():
    chunks = chunk_downlinks([("w", "O", "DSS-14", 0.0, 3000.0, 300.0)], chunk_s=1000.0)
    assert [(c.chunk_id, c.start_tdb_s, c.end_tdb_s, c.capacity_mbit) for c in chunks] == [
        ("w.0", 0.0, 1000.0, 100.0), ("w.1", 1000.0, 2000.0, 100.0), ("w.2", 2000.0, 3000.0, 100.0)]
    assert [c.chunk_id for c in chunk_downlinks([("w", "O", "D", 0.0, 3000.0, 300.0)])] == ["w"]


# -- LMST helpers ------------------------------------------------------------------------

def test_lmst_intervals_are_the_lmst_window():
    lon = 137.4  # Gale crater
    start = 8.0e8
    wins = lmst_intervals(start, start + 5 * 86400, lon, 9.0, 20.0)
    assert len(wins) in (5, 6)
    for sol, s, e in wins:
        if s > start and e < start + 5 * 86400:
            assert float(lmst_hours(s, lon)) == pytest.approx(9.0, abs=1e-4)
            assert float(lmst_hours(e - 1e-3, lon)) == pytest.approx(20.0, abs=1e-4)
            assert int(local_sol(s, lon)) == sol
    wrap = lmst_intervals(start, start + 3 * 86400, lon, 22.0, 2.0)
    for _, s, e in wrap:
        assert e - s <= 4 / 24 * 88775.244147 + 1e-6
    spans = sol_spans(start, start + 3 * 86400, lon)
    assert spans[0][1] <= start < spans[0][2] and all(a[2] == pytest.approx(b[1]) for a, b in zip(spans, spans[1:]))


def test_generation_steps_total():
    steps = generation_steps(0.0, 88775.244147, 500.0, 3600.0)
    assert sum(v for _, v in steps) == pytest.approx(500.0)
    assert steps[0][0] == 3600.0


# -- settings ---------------------------------------------------------------------------------

def test_settings_defaults_and_errors():
    s = PlanningSettings()
    assert (s.horizon_days, s.time_limit_s, s.solver, s.volume_unit_mbit) == (7.0, 60.0, "cpsat", 0.1)
    assert AssetOperations().min_session_s == 120.0 and AssetOperations().turnaround_s == 60.0
    with pytest.raises(ValidationError):
        PlanningSettings(solver="highs")
    with pytest.raises(ValidationError, match="decrease"):
        PlanningSettings(weights={"decisional_per_sol": 5000.0})
    with pytest.raises(ValidationError, match="exceeds"):
        OrbiterStorage(capacity_mbit=10, initial_fill_mbit=20)
    with pytest.raises(ValidationError, match="both"):
        AssetOperations(energy_wh_per_sol=10)
    with pytest.raises(ValidationError):
        AssetOperations(wake_windows_lmst=[[9, 25]])
    with pytest.raises(ValidationError):
        PlanningSettings(colour="red")


def test_tiny_helper_builds_valid_problem():
    P = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 1000, 5000, 1e5)])
    P.check()
    assert P.start_tdb_s == T0


@pytest.mark.parametrize("extra", [{}, {"confidence": True}])
def test_to_dict_is_what_dataclasses_asdict_gives(extra):
    """Problem.to_dict serializes through pydantic-core (ten times faster than dataclasses.asdict on a
    year); the reference is dataclasses.asdict with the optional keys dropped as before: equal dicts
    (tuples kept) and the same problem.json text, with issue 22's and issue 19's keys set or unset."""
    import dataclasses

    P = synthetic.instance(3, requirements=True, days=1.0)
    if extra:
        data = P.to_dict()
        data["orbiters"][0]["downlink_hours_per_day"] = 2.5
        data["confidence"] = {"volume_quantile": 0.16, "guarantee_confidence": 0.84, "calibration": "test",
                              "options": [{"option_id": P.options[0].option_id, "predicted_mbit": 40.0,
                                           "guaranteed_mbit": 5.0, "mu": 0.0, "sigma": 0.5}]}
        data["guarantees"] = [{"asset": P.assets[0].name, "sol": 0, "start_tdb_s": P.start_tdb_s,
                               "end_tdb_s": P.start_tdb_s + 6000.0, "min_mbit": 50.0, "penalty_points": 10.0}]
        P = Problem.from_dict(data)
    ref = dataclasses.asdict(P)
    if not extra:
        ref.pop("confidence")
        ref.pop("guarantees")
    for o in ref["orbiters"]:
        if o.get("downlink_hours_per_day") is None:
            o.pop("downlink_hours_per_day")
    got = P.to_dict()
    assert got == ref
    assert json.dumps(got, indent=1, allow_nan=False) == json.dumps(ref, indent=1, allow_nan=False)
    assert ("confidence" in got) == bool(extra) and ("downlink_hours_per_day" in got["orbiters"][0]) == bool(extra)
