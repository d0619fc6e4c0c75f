"""A request given as a mission sol and an LMST window is labelled with that sol in requests.csv,
also when its window opens at the sol's first instant (LMST 00:00), where rounding of the
boundary once labelled it with the sol before (issue 18)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from relay.cli import main

BASELINE = Path(__file__).resolve().parents[1] / "configs" / "baseline.yaml"


def test_requests_by_sol_and_lmst_are_labelled_with_their_sol(tmp_path):
    req = tmp_path / "requests.csv"
    req.write_text("id,asset,kind,sol,lmst_window,min_mbit,priority\n"
                   "first-instant,Curiosity,return,5086,00:00-01:00,1,preferred\n"
                   "late,Curiosity,return,5085,23:00-24:00,1,preferred\n"
                   "noon,Curiosity,return,5087,12:00:00-12:30,1,preferred\n")
    out = tmp_path / "plan"
    assert main(["plan", str(BASELINE), "--start", "2026-11-26T00:00:00Z", "--days", "3", "--requests", str(req),
                 "--out", str(out), "--quiet"]) == 0
    got = pd.read_csv(out / "requests.csv").set_index("id")["sol"].to_dict()
    assert got == {"first-instant": 5086, "late": 5085, "noon": 5087}


def test_a_request_by_a_sol_before_the_landing_is_refused(tmp_path, capsys):
    """Mission sols count from 0, the sol of the landing: sol -1 of Perseverance is refused with
    the usual paragraph (file, line, column value, what is expected), and nothing is written."""
    req = tmp_path / "requests.csv"
    req.write_text("id,asset,kind,sol,lmst_window,min_mbit,priority\n"
                   "ok,Perseverance,return,2066,12:00-13:00,1,preferred\n"
                   "early,Perseverance,return,-1,12:00-13:00,1,preferred\n")
    out = tmp_path / "plan"
    assert main(["plan", str(BASELINE), "--start", "2026-11-26T00:00:00Z", "--days", "1", "--requests", str(req),
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "requests.csv" in err and "line 3" in err and "sol -1 of Perseverance is before its landing" in err
    assert "Traceback" not in err and not out.exists()
