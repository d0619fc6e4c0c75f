"""Pass performance reports (issue 22): ingest, matching, the usual input errors, accountability and
the backlog they leave; on a small plan folder written by ``relay solve`` (no geometry)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from relay.actuals.accounting import backlog_at, latest_report_tdb_s, ledger, session_accounts, sol_accounts
from relay.actuals.reports import ACTUALS_FILE, ingest, read_actuals
from relay.cli import main
from relay.inputs import read_backlog_table
from relay.planfolder import verify_plan_folder
from relay.planning import synthetic


def run(args, capsys) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out + out.err


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("actuals")
    P = synthetic.instance(4, n_orbiters=2, n_assets=2, days=2.0)
    pj = root / "problem.json"
    P.to_json(pj)
    out = root / "plan"
    assert main(["solve", str(pj), "--out", str(out), "--time-limit", "10", "--quiet"]) == 0
    return out


def schedule(plan_dir: Path) -> pd.DataFrame:
    return pd.read_csv(plan_dir / "schedule.csv")


def fresh(plan_dir: Path, tmp_path: Path) -> Path:
    """A copy of the plan folder (reports are stored in it)."""
    import shutil

    out = tmp_path / "plan"
    shutil.copytree(plan_dir, out)
    return out


def write_reports(path: Path, rows: list[dict], header: str = "orbiter,asset,start,end,achieved_mbit,outcome,note"):
    cols = header.split(",")
    lines = [header] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def report_of(row, achieved: float, outcome: str = "ok", shift_s: float = 0.0) -> dict:
    def shifted(iso):
        t = pd.Timestamp(iso) + pd.Timedelta(seconds=shift_s)
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"orbiter": row.orbiter, "asset": row.asset, "start": shifted(row.start), "end": shifted(row.end),
            "achieved_mbit": achieved, "outcome": outcome, "note": "test"}


def test_reports_are_matched_stored_and_listed(plan_dir, tmp_path, capsys):
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    assert len(ses) >= 4
    rows = [report_of(ses[0], 0.5 * ses[0].volume_mbit, "partial", shift_s=30.0),   # within the 60 s tolerance
            report_of(ses[1], 0.0, "failed"),
            {**report_of(ses[2], 12.0), "start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:10:00Z"}]  # unmatched
    rep = tmp_path / "reports.csv"
    write_reports(rep, rows)
    rc, text = run(["actuals", "ingest", rep, "--plan", out], capsys)
    assert rc == 0, text
    assert "2 report(s) matched" in text and "1 report(s) match no planned session" in text
    assert f"{len(ses) - 2} planned session(s) without a report" in text
    stored = read_actuals(out)
    assert len(stored) == 3                       # the unmatched report is kept, never dropped
    assert set(stored["option_id"]) == {ses[0].option_id, ses[1].option_id, ""}
    verify_plan_folder(out)                       # actuals.csv never makes the folder fail verification
    assert run(["validate", out], capsys)[0] == 0
    # a later report of the same session replaces the stored one
    write_reports(rep, [report_of(ses[0], 0.9 * ses[0].volume_mbit, "partial")])
    rc, text = run(["actuals", "ingest", rep, "--plan", out], capsys)
    assert rc == 0 and "replaced the stored report of 1 session" in text
    stored = read_actuals(out)
    assert len(stored) == 3
    got = stored.loc[stored["option_id"] == ses[0].option_id, "achieved_mbit"].iloc[0]
    assert got == pytest.approx(0.9 * ses[0].volume_mbit, abs=1e-6)


def test_a_session_id_matches_alone(plan_dir, tmp_path):
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    row = {**report_of(ses[0], 5.0, shift_s=3600.0), "session_id": ses[3].option_id,
           "orbiter": ses[3].orbiter, "asset": ses[3].asset}
    rep = tmp_path / "r.csv"
    write_reports(rep, [row], "orbiter,asset,start,end,achieved_mbit,session_id")
    done = ingest(rep, out)
    assert done.matched == 1 and done.actuals["option_id"].tolist() == [ses[3].option_id]


@pytest.mark.parametrize("edit, where, what", [
    (lambda r: r.update(achieved_mbit="lots"), "line 2, column achieved_mbit", "'lots'"),
    (lambda r: r.update(achieved_mbit="-3"), "line 2, column achieved_mbit", "'-3'"),
    (lambda r: r.update(outcome="lost"), "line 2, column outcome", "'lost'"),
    (lambda r: r.update(orbiter="Hubble"), "line 2", "'Hubble'"),
    (lambda r: r.update(start="2026-02-30T00:00:00Z"), "line 2, column start", "2026-02-30"),
    (lambda r: r.update(outcome="failed", achieved_mbit="4"), "line 2, column achieved_mbit", "failed"),
    (lambda r: r.update(end=r["start"]), "line 2, column end", "not after"),
])
def test_a_bad_report_file_is_one_paragraph_and_writes_nothing(plan_dir, tmp_path, capsys, edit, where, what):
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    row = report_of(ses[0], 10.0)
    edit(row)
    rep = tmp_path / "bad.csv"
    write_reports(rep, [row])
    rc, text = run(["actuals", "ingest", rep, "--plan", out], capsys)
    assert rc == 2, text
    assert f"{rep}: {where}:" in text and what in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1
    assert not (out / ACTUALS_FILE).exists()


def test_the_same_session_twice_in_one_file_is_refused(plan_dir, tmp_path, capsys):
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    rep = tmp_path / "twice.csv"
    write_reports(rep, [report_of(ses[0], 1.0), report_of(ses[0], 2.0, shift_s=10.0)])
    rc, text = run(["actuals", "ingest", rep, "--plan", out], capsys)
    assert rc == 2 and "line 3" in text and "line 2" in text and ses[0].option_id in text
    assert not (out / ACTUALS_FILE).exists()


def test_accounts_and_the_backlog_a_short_pass_leaves(plan_dir, tmp_path, capsys):
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    short = ses[0]
    rep = tmp_path / "r.csv"
    write_reports(rep, [report_of(short, 0.0, "missed"), report_of(ses[1], ses[1].volume_mbit)])
    ingest(rep, out)
    led = ledger(out)
    acc = session_accounts(led).set_index("option_id")
    assert acc.loc[short.option_id, "shortfall_mbit"] == pytest.approx(short.volume_mbit)
    assert acc.loc[ses[2].option_id, "outcome"] == "unreported"
    sols = sol_accounts(led)
    assert sols["planned_mbit"].sum() == pytest.approx(schedule(out)["volume_mbit"].sum())
    assert sols["lost"].sum() == 1
    # the missed pass's data is still on the lander at the time of the latest report
    t = latest_report_tdb_s(led)
    P = json.loads((out / "problem.json").read_text())
    a = next(x for x in P["assets"] if x["name"] == short.asset)
    gen = sum(v for ts, v in a["generation"] if ts <= t)
    sched = schedule(out)
    planned_before = sched[(sched["asset"] == short.asset) & (sched["end_tdb_s"] <= t)]["volume_mbit"].sum()
    want = a["backlog_mbit"] + gen - planned_before + short.volume_mbit
    assert backlog_at(led, t)[short.asset] == pytest.approx(max(0.0, want), abs=1e-3)
    # written in the backlogs format relay plan --backlogs and the nightly drop folder read
    drop = tmp_path / "drop"
    drop.mkdir()
    rc, text = run(["actuals", "backlog", "--plan", out, "--drop", drop], capsys)
    assert rc == 0, text
    table = read_backlog_table(drop / "backlog-actuals.csv", assets=[x["name"] for x in P["assets"]])
    assert dict(zip(table["asset"], table["backlog_mbit"]))[short.asset] == pytest.approx(max(0.0, want), abs=1e-3)
    rc, text = run(["actuals", "account", "--plan", out, "--sessions"], capsys)
    assert rc == 0 and short.option_id in text and "missed" in text


def test_the_nightly_drop_folder_reads_the_backlog(plan_dir, tmp_path, capsys):
    from relay.nightly.drop import scan_drop

    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    rep = tmp_path / "r.csv"
    write_reports(rep, [report_of(ses[0], 0.0, "failed")])
    ingest(rep, out)
    drop = tmp_path / "drop"
    drop.mkdir()
    assert run(["actuals", "backlog", "--plan", out, "--drop", drop], capsys)[0] == 0
    P = json.loads((out / "problem.json").read_text())
    found = scan_drop(drop, [o["name"] for o in P["orbiters"]], [a["name"] for a in P["assets"]],
                      P["start_tdb_s"], P["end_tdb_s"])
    assert [p.name for p in found.backlog_files] == ["backlog-actuals.csv"]
    assert set(found.backlogs["asset"]) == {a["name"] for a in P["assets"]}


def test_simulated_reports_calibrate_from_the_command_line(plan_dir, tmp_path, capsys):
    out = fresh(plan_dir, tmp_path)
    rep = tmp_path / "sim.csv"
    rc, text = run(["actuals", "simulate", "--plan", out, "--out", rep, "--seed", "3"], capsys)
    assert rc == 0, text
    assert run(["actuals", "ingest", rep, "--plan", out], capsys)[0] == 0
    cal = tmp_path / "cal.json"
    rc, text = run(["actuals", "calibrate", "--plan", out, "--out", cal, "--label", "t"], capsys)
    assert rc == 0, text
    data = json.loads(cal.read_text())
    assert data["format"] == "relay.calibration" and data["version"] == 1 and data["label"] == "t"
    assert {(p["orbiter"], p["asset"]) for p in data["pairs"]} == set(zip(schedule(out)["orbiter"],
                                                                          schedule(out)["asset"]))
    assert cal.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio(median)" in text and "q0.16" in text
    # a folder without reports cannot be calibrated: one paragraph, exit 2, nothing written
    rc, text = run(["actuals", "calibrate", "--plan", plan_dir, "--out", tmp_path / "none.json"], capsys)
    assert rc == 2 and "ingest reports first" in text and not (tmp_path / "none.json").exists()


def test_a_session_id_of_another_pair_is_refused(plan_dir, tmp_path, capsys):
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    other = next(s for s in ses if (s.orbiter, s.asset) != (ses[0].orbiter, ses[0].asset))
    rep = tmp_path / "r.csv"
    write_reports(rep, [{**report_of(ses[0], 1.0), "session_id": other.option_id}],
                  "orbiter,asset,start,end,achieved_mbit,session_id")
    rc, text = run(["actuals", "ingest", rep, "--plan", out], capsys)
    assert rc == 2 and "line 2, column session_id" in text and other.option_id in text
    assert not (out / ACTUALS_FILE).exists()


def test_a_running_accountability_over_archived_runs(plan_dir, tmp_path):
    import shutil

    from relay.actuals.accounting import run_accounts

    out = tmp_path / "OUT"
    for run_id in (1, 2):
        shutil.copytree(plan_dir, out / "runs" / str(run_id))
    ses = list(schedule(plan_dir).itertuples(index=False))
    rep = tmp_path / "r.csv"
    write_reports(rep, [report_of(ses[0], 0.0, "failed"), report_of(ses[1], ses[1].volume_mbit)])
    ingest(rep, out / "runs" / "2")
    runs = [{"id": 1, "exit_code": 0, "out_dir": str(out)}, {"id": 2, "exit_code": 3, "out_dir": str(out)},
            {"id": 3, "exit_code": 1, "out_dir": str(out)}]
    lines = run_accounts(runs)
    assert len(lines) == 2 and lines[1].split()[:3] == ["2", "2", "1"]
    assert float(lines[1].split()[-1]) == pytest.approx(ses[0].volume_mbit, abs=0.06)
