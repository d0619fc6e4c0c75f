"""Bad operational inputs (issue 18): every one is refused with one paragraph naming the file, the
row and the value (exit 2, nothing written), or, when it only changes nothing, reported.

- a CSV field of any length (a 200,000-character note) is an input error naming the column,
  never the csv module's own error; a quoted field may span lines;
- a veto by pass_id must agree with the orbiter, asset and span it also gives;
- a request id may not be empty; an LMST window's minutes and seconds are below 60;
- an outage or veto that touches nothing, and a lock outside the horizon, are reported;
- a landing in year 1 or after the horizon is refused;
- request status matches requests by their own record: ids with spaces or shared prefixes.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import relay.api as api
from planning_helpers import T0, tiny
from relay.cli import main
from relay.errors import RelayInputError
from relay.inputs import check_landings, read_requests
from relay.operations import Operations, Outage, Veto
from relay.planning.apply import apply
from relay.planning.problem import RelayRequest
from relay.planning.requests import request_status
from relay.timescales import parse_utc, utc_to_tdb_s

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
START = "2026-11-23T00:00:00Z"
T = "2026-11-23T01:00:00Z"
T2 = "2026-11-23T02:00:00Z"

pytestmark = pytest.mark.xdist_group("replan")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The baseline's first day, planned and written: (result, plan folder)."""
    out = tmp_path_factory.mktemp("base") / "plan"
    result = api.plan(str(BASELINE), START, 1.0)
    result.write(out)
    return result, out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def refused(base, tmp_path, capsys, option: str, text: str) -> tuple[str, Path]:
    """``relay replan`` with one input file: exit 2, one paragraph naming the file, nothing written."""
    _, out = base
    before = snapshot(out)
    f = tmp_path / f"{option}.csv"
    f.write_text(text, encoding="utf-8")
    rc = main(["replan", str(out), f"--{option}", str(f), "--out", str(tmp_path / "new")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert str(f) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists() and snapshot(out) == before
    return err, f


# ----------------------------------------------------------------------------- CSV fields

def test_a_200000_character_note_is_refused_naming_file_line_and_column(base, tmp_path, capsys):
    note = "x" * 200_000
    err, _ = refused(base, tmp_path, capsys, "requests",
                     f"id,asset,kind,start,end,priority,note\nR1,Curiosity,return,{T},{T2},preferred,{note}\n")
    assert "line 2, column note" in err and "200,000 characters" in err and "at most 1,000" in err
    assert len(err) < 600          # an excerpt of the value, not the value


def test_a_huge_quoted_field_spanning_lines_is_read_by_the_csv_rules(tmp_path):
    # any length within the file's size cap: the csv module's field limit (131,072) never shows
    p = tmp_path / "r.csv"
    huge = "y" * 300_000 + "\n" + "z" * 1000
    p.write_text(f'id,asset,start,end,extra,note\nR1,A,{T},{T2},"{huge}",ok\n', encoding="utf-8")
    (r,) = read_requests(p, assets=["A"])
    assert (r.id, r.note, r.where) == ("R1", "ok", "line 2")
    p.write_text(f'id,asset,start,end,note\nR1,A,{T},{T2},"{"y" * 300_000}\nmore"\n', encoding="utf-8")
    with pytest.raises(RelayInputError) as e:
        read_requests(p, assets=["A"])
    assert e.value.where == "line 2, column note" and "300,005 characters" in str(e.value)


def test_any_number_of_columns_gives_a_short_message(tmp_path):
    extra = ",".join(f"c{i}" for i in range(100_000))
    p = tmp_path / "r.csv"
    p.write_text(f"id,asset,start,end,{extra}\nR1,A,{T},{T2}\n", encoding="utf-8")
    with pytest.raises(RelayInputError) as e:
        read_requests(p, assets=["A"])
    assert e.value.where == "line 2" and "got 4 field(s)" in str(e.value) and "100,004 columns" in str(e.value)
    assert len(str(e.value)) < 800
    p.write_text(f"{extra},{extra}\n", encoding="utf-8")
    with pytest.raises(RelayInputError) as e:
        read_requests(p, assets=["A"])
    assert e.value.where == "line 1" and "twice" in str(e.value) and len(str(e.value)) < 800


def test_an_empty_request_id_is_refused(base, tmp_path, capsys):
    err, _ = refused(base, tmp_path, capsys, "requests",
                     f"id,asset,kind,start,end,priority\n  ,Curiosity,return,{T},{T2},preferred\n")
    assert "line 2, column id" in err and "empty" in err
    df = pd.DataFrame({"id": [" "], "asset": ["A"], "start": [T], "end": [T2]})
    with pytest.raises(RelayInputError, match="row 1, column id: column id is empty"):
        read_requests(df, assets=["A"])


@pytest.mark.parametrize("window", ["13:75-15", "13:30:60-14", "24:01-2", "25-2"])
def test_an_lmst_window_with_impossible_minutes_is_refused(base, tmp_path, capsys, window):
    err, _ = refused(base, tmp_path, capsys, "requests",
                     f"id,asset,kind,sol,lmst_window,priority\nR1,Curiosity,return,5086,{window},preferred\n")
    assert "line 2, column lmst_window" in err and repr(window) in err


# ----------------------------------------------------------------------------- vetoes by pass id

def test_a_veto_by_pass_id_must_agree_with_its_orbiter_asset_and_span(base, tmp_path, capsys):
    result, _ = base
    p = result.problem.passes[0]
    other = next(o.name for o in result.problem.orbiters if o.name != p.orbiter)
    err, _ = refused(base, tmp_path, capsys, "forbid", f"pass_id,orbiter,note\n{p.pass_id},{other},x\n")
    assert "line 2" in err and p.pass_id in err and repr(other) in err and p.orbiter in err
    far = "2026-11-23T23:00:00Z" if p.rise_tdb_s < utc_to_tdb_s(parse_utc("2026-11-23T12:00:00Z")) else T
    far2 = "2026-11-23T23:30:00Z" if far != T else T2
    err, _ = refused(base, tmp_path, capsys, "forbid",
                     f"pass_id,asset,start,end\n{p.pass_id},{p.asset},{far},{far2}\n")
    assert "line 2" in err and p.pass_id in err and "outside the veto's span" in err


# ----------------------------------------------------------------------------- inputs that change nothing

def nothing_problem():
    return tiny([("pA", "O1", "A", 0, 600), ("pB", "O2", "B", 2000, 2600)],
                [("dl1", "O1", 1000, 2000, 2000.0)], horizon_s=6000.0)


def test_inputs_that_touch_nothing_are_reported_not_silently_accepted():
    P = nothing_problem()
    locks = pd.DataFrame({"line": [4], "orbiter": ["O1"], "asset": ["A"], "start": ["x"], "end": ["y"],
                          "kind": ["return"], "start_tdb_s": [T0 + 90_000.0], "end_tdb_s": [T0 + 90_600.0]})
    locks.attrs.update(source="lock.csv", label="line")
    ops = Operations(
        outages=(Outage("O1", "uhf", T0 + 100, T0 + 200, source="out.csv", where="line 2"),      # cuts pA
                 Outage("O2", "uhf", T0 + 3000, T0 + 4000, source="out.csv", where="line 3"),    # touches nothing
                 Outage("O1", "xband", T0 + 1500, T0 + 1600, source="out.csv", where="line 4")),  # cuts dl1
        forbid=(Veto("O2", "B", T0 + 1900, T0 + 2700, source="veto.csv", where="line 2"),        # forbids pB
                Veto("O1", "B", T0 + 2100, T0 + 2200, source="veto.csv", where="line 3")),       # no O1 -> B
        locks=locks)
    warnings: list[str] = []
    Q = apply(P, ops, warnings=warnings)
    assert len(warnings) == 3
    assert warnings[0].startswith("lock.csv: line 4: the locked session O1 -> A ")
    assert "outside the horizon" in warnings[0]
    assert warnings[1].startswith("out.csv: line 3: the outage of O2 (uhf) ") and "changes nothing" in warnings[1]
    assert warnings[2].startswith("veto.csv: line 3: the veto of O1 -> B ") and "changes nothing" in warnings[2]
    assert [x.option_id for x in Q.options] == ["pA#0"]
    # the same inputs without a list to collect warnings: the same instance, no error
    assert apply(P, ops) == Q


def test_a_landing_in_year_1_or_after_the_horizon_is_refused():
    start = float(utc_to_tdb_s(parse_utc(START)))
    sc = SimpleNamespace(path="sc.yaml", assets=[
        SimpleNamespace(name="Curiosity", landing=SimpleNamespace(date="2012-08-06T05:17:57Z", sol=0)),
        SimpleNamespace(name="Late", landing=SimpleNamespace(date="0001-01-01", sol=0))])
    with pytest.raises(RelayInputError, match=r"sc.yaml: assets\[1\].landing.date: got '0001-01-01', expected a "
                                              r"landing in the years 1950 to 2200"):
        check_landings(sc, start, start + 86400.0)
    sc.assets[1].landing.date = "2026-11-25T00:00:00Z"
    with pytest.raises(RelayInputError, match=r"assets\[1\].landing.date: got '2026-11-25T00:00:00Z', after the "
                                              "horizon planned"):
        check_landings(sc, start, start + 86400.0)
    check_landings(sc, start, start + 3 * 86400.0)      # a landing inside the horizon is allowed


# ----------------------------------------------------------------------------- request status

def test_request_status_matches_each_request_by_its_own_record():
    P = nothing_problem()
    sessions = [SimpleNamespace(option_id="pA#0", orbiter="O1", asset="A", kind="return", start_tdb_s=T0 + 0.0,
                                end_tdb_s=T0 + 600.0, volume_mbit=600.0)]
    reqs = (RelayRequest("R1", "A", "return", T0, T0 + 700, "required"),
            RelayRequest("R1 x", "A", "return", T0 + 1000, T0 + 1700, "required"),    # a prefix of R1's id, unmet
            RelayRequest("R10", "A", "forward", T0, T0 + 700, "required"),            # forward: unmet
            RelayRequest("request R1", "A", "return", T0 - 1, T0 + 601, "preferred", points=5.0))
    rows = request_status(P.__class__(**{**P.__dict__, "requests": reqs}), sessions)
    assert [(r["id"], r["met"], r["sessions"], r["points"]) for r in rows] == [
        ("R1", True, "pA#0", 0.0), ("R1 x", False, "", 0.0), ("R10", False, "", 0.0),
        ("request R1", True, "pA#0", 5.0)]


@pytest.mark.parametrize("date", ["0001-01-01", "2030-01-01T00:00:00Z"])
def test_relay_plan_refuses_a_landing_in_year_1_or_after_the_horizon(tmp_path, capsys, date):
    import yaml

    assets = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))["assets"]
    assets[0]["landing"] = {"date": date, "sol": 0}
    sc = tmp_path / "sc.yaml"
    sc.write_text(yaml.safe_dump({"extends": str(BASELINE), "assets": assets}), encoding="utf-8")
    rc = main(["plan", str(sc), "--start", START, "--days", "1", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and str(sc) in err and "assets[0].landing.date" in err and date in err
    assert not (tmp_path / "out").exists()
