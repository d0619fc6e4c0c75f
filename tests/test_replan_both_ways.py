"""Re-planning both ways (issue 19): ``relay replan`` and ``PlanResult.replan`` lift or shorten
an outage, lift a veto, withdraw a request and release a lock, and what they had removed or cut
comes back exactly (the instance equals the one before they were given).  The small scenario's
first day (11 sessions, one per pass)."""
from __future__ import annotations

import pandas as pd
import pytest

import relay.api as api
from relay.cli import main
from relay.errors import RelayInputError
from relay.result import result_from_folder

from test_diff_causes import START, base, write  # noqa: F401  (the same small plan, the fixture)

# takes TGO-Perseverance-20261123T0952 (09:52-10:05)
OUTAGE = "TGO,all,2026-11-23T09:00:00Z,2026-11-23T10:30:00Z,safe mode\n"

pytestmark = pytest.mark.xdist_group("replan")


def instance(result):
    P = result.problem
    return (P.options, P.downlinks, P.outages, P.forbid, P.requests)


def pass_ids(result) -> set:
    return set(result.sessions["pass_id"])


def test_an_outage_lifted_by_file_and_line_gives_back_the_instance_and_the_plan(base, tmp_path, capsys):
    result, folder = base
    outages = write(tmp_path / "outages.csv", "target,what,start,end,note\n" + OUTAGE)
    one = tmp_path / "one"
    assert main(["replan", str(folder), "--outages", str(outages), "--out", str(one), "--quiet"]) == 0
    assert "TGO-Perseverance-20261123T0952" not in pass_ids(result_from_folder(one))
    two = tmp_path / "two"
    assert main(["replan", str(one), "--lift-outage", f"{outages}:2", "--out", str(two)]) == 0
    text = capsys.readouterr().out
    back = result_from_folder(two)
    assert instance(back) == instance(result)
    assert back.sessions[["pass_id", "kind", "start_tdb_s", "end_tdb_s"]].equals(
        result.sessions[["pass_id", "kind", "start_tdb_s", "end_tdb_s"]])
    table = pd.read_csv(two / "diff.csv")
    row = table[(table["change"] == "added") & (table["pass_id"] == "TGO-Perseverance-20261123T0952")]
    assert list(row["cause"]) == ["lifted outage of TGO (all) 2026-11-23T09:00Z to 2026-11-23T10:30Z 'safe mode' "
                                  "(outages.csv line 2)"]
    assert "cause: lifted outage of TGO" in text


def test_a_shortened_outage_is_the_old_row_lifted_and_the_new_one_given(base, tmp_path):
    result, _ = base
    one = result.replan(outages=[{"target": "TGO", "what": "all", "start": "2026-11-23T09:00:00Z",
                                  "end": "2026-11-23T10:30:00Z", "note": "safe mode"}])
    assert "TGO-Perseverance-20261123T0952" not in pass_ids(one)
    short = {"target": "TGO", "what": "all", "start": "2026-11-23T09:00:00Z", "end": "2026-11-23T09:30:00Z"}
    two = one.replan(lift_outages=[{"target": "TGO", "what": "all", "start": "2026-11-23T09:00:00Z",
                                    "end": "2026-11-23T10:30:00Z"}], outages=[short])
    assert [(o.target, round(o.end_tdb_s - o.start_tdb_s, 3)) for o in two.problem.outages] == [("TGO", 1800.0)]
    assert "TGO-Perseverance-20261123T0952" in pass_ids(two)   # the pass (09:52-10:05) lies after the shortened outage
    assert two.problem.options == result.problem.options
    frame = two.diff
    assert isinstance(frame, pd.DataFrame) and (frame["change"] == "added").any()
    assert frame.loc[frame["change"] != "asset_volume", "cause"].str.len().gt(0).all()


def test_a_veto_lifted_and_a_request_withdrawn_give_back_the_instance(base, tmp_path):
    result, _ = base
    veto = write(tmp_path / "veto.csv", "pass_id,note\nTGO-Curiosity-20261123T0548,\n")
    req = write(tmp_path / "req.csv", "id,asset,orbiter,kind,start,end,min_duration_s\n"
                "PER-up,Perseverance,TGO,forward,2026-11-23T09:30:00Z,2026-11-23T10:30:00Z,300\n")
    one = result.replan(forbid=veto, requests=req)
    assert "TGO-Curiosity-20261123T0548" not in pass_ids(one)
    assert one.sessions.set_index("pass_id").loc["TGO-Perseverance-20261123T0952", "kind"] == "forward"
    two = one.replan(lift_vetoes=pd.DataFrame({"pass_id": ["TGO-Curiosity-20261123T0548"]}), withdraw="PER-up")
    assert instance(two) == instance(result)      # the forward twin made for the request is gone too
    causes = {r["pass_id"]: r["cause"] for r in two.diff_record["added"] + two.diff_record["changed_kind"]}
    # the row that lifted it
    assert causes["TGO-Curiosity-20261123T0548"] == "lifted veto of pass TGO-Curiosity-20261123T0548 (forbid row 1)"
    assert causes["TGO-Perseverance-20261123T0952"] == "withdrawn request PER-up"


def test_a_released_lock_gives_back_the_pass_options(base, tmp_path):
    result, _ = base
    lock = write(tmp_path / "lock.csv", "orbiter,asset,start,end\nMRO,Perseverance,2026-11-23T15:45:00Z,"
                 "2026-11-23T15:50:00Z\n")
    one = result.replan(lock=lock)
    assert any(x.fixed for x in one.problem.options)
    two = one.replan(release_locks=f"{lock}:2")
    assert instance(two) == instance(result)
    moved = [r for r in two.diff_record["moved"] if r["pass_id"] == "MRO-Perseverance-20261123T1544"]
    assert moved and moved[0]["cause"].startswith("released lock MRO -> Perseverance")


def test_lifting_what_the_plan_does_not_hold_is_an_input_error(base, tmp_path, capsys):
    result, folder = base
    with pytest.raises(RelayInputError, match="not one of the plan's outages"):
        result.replan(lift_outages=[{"target": "TGO", "what": "all", "start": "2026-11-23T09:00:00Z",
                                     "end": "2026-11-23T10:30:00Z"}])
    with pytest.raises(RelayInputError, match="not a request of the plan"):
        result.replan(withdraw=["nope"])
    outages = write(tmp_path / "o.csv", "target,what,start,end,note\n" + OUTAGE)
    out = tmp_path / "x"
    assert main(["replan", str(folder), "--lift-outage", f"{outages}:7", "--out", str(out)]) == 2
    assert "has no row at line 7" in capsys.readouterr().err and not out.exists()


def test_an_outage_the_plan_was_made_with_is_lifted_through_the_api(small_config, tmp_path):
    outages = write(tmp_path / "o.csv", "target,what,start,end,note\n" + OUTAGE)
    planned = api.plan(str(small_config), START, 1.0, outages=str(outages))
    lifted = planned.replan(lift_outages=str(outages))
    plain = api.plan(str(small_config), START, 1.0)
    assert lifted.problem.to_json_text() == plain.problem.to_json_text()
    assert len(lifted.sessions) == len(plain.sessions)


def test_an_outage_relay_plan_applied_can_be_lifted_exactly(small, tmp_path):
    """relay plan with an outage, then relay replan --lift-outage: the instance is the one relay
    plan makes without the outage, byte for byte (volumes.npz keeps what the plan's outages cut)."""
    from relay.cli import main

    outages = tmp_path / "outages.csv"
    outages.write_text("target,what,start,end,note\nTGO,all,2026-12-08T02:00:00Z,2026-12-08T14:00:00Z,safe mode\n")
    common = ["--start", "2026-12-08T00:00:00Z", "--days", "1", "--quiet"]
    assert main(["plan", str(small), *common, "--outages", str(outages), "--out", str(tmp_path / "with")]) == 0
    assert main(["plan", str(small), *common, "--out", str(tmp_path / "without")]) == 0
    with_text = (tmp_path / "with" / "problem.json").read_text()
    without_text = (tmp_path / "without" / "problem.json").read_text()
    assert with_text != without_text                                     # the outage cut something
    assert main(["replan", str(tmp_path / "with"), "--lift-outage", str(outages), "--out", str(tmp_path / "lifted"),
                 "--quiet"]) == 0
    assert (tmp_path / "lifted" / "problem.json").read_text() == without_text
