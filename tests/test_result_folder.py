"""The plan folder contract (issue 18), through the command line: the manifest and its refusals,
the folder written as a whole, files read safely (FIFOs, /dev/zero, lying .npy headers), the
summary's claims recomputed by relay validate, and inputs never overwritten by outputs.

Every refusal: exit status 2, one paragraph naming the file, and the folders involved untouched
(byte for byte)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relay.api as api
from relay.cli import main
from relay.errors import RelayInputError
from relay.planfolder import MANIFEST_FILE, PLAN_FILES, read_manifest, verify_plan_folder
from relay.planstate import STATE_FILE, ReplanState

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
START = "2026-11-23T00:00:00Z"

pytestmark = pytest.mark.xdist_group("replan")


def run(args, capsys):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def copy_plan(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def reseal(folder: Path, name: str) -> None:
    """Record ``name``'s present bytes in the manifest (a plan edited by someone who also knows
    how to edit the manifest: only what the files say can catch it then)."""
    path = folder / MANIFEST_FILE
    m = json.loads(path.read_text())
    data = (folder / name).read_bytes()
    m["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    path.write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def one_day(tmp_path_factory):
    """The baseline's first day with one required request it meets, planned and written."""
    out = tmp_path_factory.mktemp("folder") / "plan"
    req = pd.DataFrame({"id": ["R1"], "asset": ["Curiosity"], "kind": ["return"], "start": [START],
                        "end": ["2026-11-24T00:00:00Z"], "priority": ["required"]})
    result = api.plan(str(BASELINE), START, 1.0, requests=req)
    result.write(out)
    return result, out


def refused(rc: int, err: str, *needles) -> bool:
    return (rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
            and all(str(n) in err for n in needles))


# ----------------------------------------------------------------------------- the manifest

def test_the_manifest_lists_every_file_with_its_digest_and_the_run(one_day):
    result, out = one_day
    m = read_manifest(out)
    files = sorted(p.name for p in out.iterdir() if p.name != MANIFEST_FILE)
    assert sorted(m["files"]) == files and set(files) <= set(PLAN_FILES)
    for name, entry in m["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    s = result.summary
    assert (m["scenario"], m["scenario_hash"], m["start"], m["end"], m["days"]) == \
        (s.scenario, s.scenario_hash, s.start, s.end, s.days)
    import relay
    assert m["relay_version"] == relay.__version__
    assert verify_plan_folder(out) == m


@pytest.mark.parametrize("change, name", [
    ("edit", "schedule.csv"), ("remove", "requests.csv"), ("extra", "diff.csv"), ("edit", STATE_FILE)])
def test_replan_and_validate_refuse_a_folder_that_does_not_match_its_manifest(one_day, tmp_path, capsys, change,
                                                                            name):
    _, out = one_day
    bad = copy_plan(out, tmp_path / "bad")
    if change == "edit":
        with open(bad / name, "ab") as fh:
            fh.write(b"\n")
    elif change == "remove":
        (bad / name).unlink()
    else:
        (bad / name).write_text("change,orbiter\n")
    before = snapshot(bad)
    rc, _, err = run(["replan", bad, "--out", tmp_path / "new"], capsys)
    assert refused(rc, err, bad / name, "relay plan"), err
    assert not (tmp_path / "new").exists() and snapshot(bad) == before
    with pytest.raises(RelayInputError, match=name):   # the nightly job's base plan reader
        verify_plan_folder(bad)
    # relay validate lists the disagreement as it lists a broken rule
    rc, text, err = run(["validate", bad], capsys)
    assert rc == 1, err
    assert f"manifest: {name}" in text and snapshot(bad) == before


def test_a_folder_without_a_manifest_is_refused_as_an_older_relay(one_day, tmp_path, capsys):
    _, out = one_day
    old = copy_plan(out, tmp_path / "old")
    (old / MANIFEST_FILE).unlink()
    before = snapshot(old)
    for cmd in (["replan", old, "--out", tmp_path / "new"], ["validate", old]):
        rc, _, err = run(cmd, capsys)
        assert refused(rc, err, old, MANIFEST_FILE, "older relay", "relay plan"), err
    assert snapshot(old) == before and not (tmp_path / "new").exists()


# ----------------------------------------------------------------------------- written as a whole

def test_a_plan_replaces_the_folder_whole_no_stale_diff_no_leftovers(one_day, tmp_path, capsys):
    result, out = one_day
    veto = tmp_path / "veto.csv"
    veto.write_text(f"pass_id,note\n{result.sessions['pass_id'].iloc[0]},x\n")
    target = tmp_path / "plans" / "week"
    assert run(["replan", out, "--forbid", veto, "--out", target, "--quiet"], capsys)[0] == 0
    assert (target / "diff.csv").exists()
    # leftovers of two killed writes (their processes are gone) beside the folder
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    for kind in ("tmp", "old"):
        (target.parent / f"week.{kind}-{dead}").mkdir()
        (target.parent / f"week.{kind}-{dead}" / "schedule.csv").write_text("half\n")
    rc, _, err = run(["plan", BASELINE, "--start", START, "--days", "1", "--out", target, "--quiet"], capsys)
    assert rc == 0, err
    assert not (target / "diff.csv").exists()          # a stale diff.csv never survives a plan
    assert sorted(p.name for p in target.parent.iterdir()) == ["week"]
    verify_plan_folder(target)
    assert run(["validate", target], capsys)[0] == 0


def test_a_folder_holding_anything_but_a_plan_is_not_replaced(one_day, tmp_path, capsys):
    _, out = one_day
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes\n")
    (mine / "schedule.csv").write_text("previous\n")
    before = snapshot(mine)
    rc, _, err = run(["replan", out, "--out", mine], capsys)
    assert refused(rc, err, mine, "notes.txt"), err
    assert snapshot(mine) == before


# ----------------------------------------------------------------------------- bounded and safe to read

def test_a_fifo_or_a_link_to_dev_zero_is_refused_without_hanging(one_day, tmp_path):
    _, out = one_day
    for kind in ("fifo", "zero"):
        bad = copy_plan(out, tmp_path / kind)
        (bad / "summary.json").unlink()
        if kind == "fifo":
            os.mkfifo(bad / "summary.json")
        else:
            os.symlink("/dev/zero", bad / "summary.json")
        for cmd in (["replan", bad, "--out", tmp_path / f"{kind}-new"], ["validate", bad]):
            r = subprocess.run([sys.executable, "-m", "relay", *map(str, cmd)], capture_output=True, text=True,
                               timeout=120)
            assert r.returncode == 2 and "summary.json" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (tmp_path / f"{kind}-new").exists()


def npy_bytes(header_shape, dtype, payload: bytes) -> bytes:
    """A .npy member whose header declares ``header_shape`` whatever ``payload`` holds."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                               "shape": header_shape})
    return buf.getvalue() + payload


def with_member(src: Path, dst: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info), compress_type=zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize("member, data, needle", [
    ("vt.t.npy", npy_bytes((7 * 2**40 // 8,), "<f8", bytes(48 * 1024)), "vt.t.npy"),      # 7 TiB declared
    ("vt.cum.npy", npy_bytes((2, 2), "|O", bytes(32)), "object"),                        # no objects
    ("vt.rise.npy", None, "finite"),                                                      # a NaN
])
def test_a_broken_volumes_npz_is_one_paragraph_before_anything_is_loaded(one_day, tmp_path, capsys, member, data,
                                                                        needle):
    _, out = one_day
    bad = copy_plan(out, tmp_path / "bad")
    if data is None:
        a = ReplanState.read(out / STATE_FILE).volume_table.rise_tdb_s.copy()
        a[0] = np.nan
        one = io.BytesIO()
        np.lib.format.write_array(one, a)
        data = one.getvalue()
    with_member(out / STATE_FILE, bad / STATE_FILE, member, data)
    reseal(bad, STATE_FILE)                      # the manifest agrees: the reader itself must refuse it
    before = snapshot(bad)
    rc, _, err = run(["replan", bad, "--out", tmp_path / "new"], capsys)
    assert refused(rc, err, bad / STATE_FILE, needle), err
    assert "MemoryError" not in err and snapshot(bad) == before and not (tmp_path / "new").exists()


# ----------------------------------------------------------------------------- relay validate recomputes

@pytest.mark.parametrize("edit, needle", [
    (lambda s: s["delivered_by_asset"].update(Curiosity=s["delivered_by_asset"]["Curiosity"] + 100.0),
     "delivered_by_asset[Curiosity]"),
    (lambda s: s["delivered_by_orbiter"].update(MRO=s["delivered_by_orbiter"]["MRO"] + 1.0),
     "delivered_by_orbiter[MRO]"),
    (lambda s: s["sessions_by_asset"].update(Perseverance=s["sessions_by_asset"]["Perseverance"] + 1),
     "sessions_by_asset[Perseverance]"),
    (lambda s: s.update(sessions=s["sessions"] - 1), "sessions ="),
    (lambda s: s.update(relayed_mbit=s["relayed_mbit"] + 5.0), "relayed_mbit"),
    (lambda s: s.update(onboard_end_mbit=s["onboard_end_mbit"] - 5.0), "onboard_end_mbit"),
    (lambda s: s.update(start="2026-11-22T00:00:00.000Z"), "start"),
    (lambda s: s.update(days=2.0), "days"),
])
def test_validate_fails_on_a_summary_claim_the_files_do_not_give(one_day, tmp_path, capsys, edit, needle):
    _, out = one_day
    assert run(["validate", out], capsys)[0] == 0
    bad = copy_plan(out, tmp_path / "bad")
    s = json.loads((bad / "summary.json").read_text())
    edit(s)
    (bad / "summary.json").write_text(json.dumps(s, indent=1, sort_keys=True) + "\n")
    reseal(bad, "summary.json")
    rc, text, _ = run(["validate", bad], capsys)
    assert rc == 1 and "summary: summary.json claims " + needle in text, text


def test_validate_recomputes_each_request_status(one_day, tmp_path, capsys):
    _, out = one_day
    req = pd.read_csv(out / "requests.csv")
    assert list(req["status"]) == ["met"]
    bad = copy_plan(out, tmp_path / "bad")
    req.loc[0, "status"] = "unmet"
    req.to_csv(bad / "requests.csv", index=False)
    reseal(bad, "requests.csv")
    rc, text, _ = run(["validate", bad], capsys)
    assert rc == 1 and "request R1 is unmet, the sessions make it met" in text, text


# ----------------------------------------------------------------------------- inputs are never outputs

def test_no_command_writes_over_its_inputs(one_day, tmp_path, capsys):
    _, out = one_day
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(BASELINE.read_text().replace("../ephemerides/", f"{ROOT / 'ephemerides'}/"))
    veto = tmp_path / "v" / "veto.csv"
    veto.parent.mkdir()
    veto.write_text("pass_id,note\nP00001,x\n")
    plan_copy = copy_plan(out, tmp_path / "plan")
    cases = [
        (["plan", cfg, "--days", "1", "--start", START, "--save-problem", cfg, "--out", tmp_path / "o1"],
         "--save-problem", cfg),
        (["plan", cfg, "--days", "1", "--start", START, "--out", tmp_path], "--out", cfg),
        (["plan", cfg, "--days", "1", "--start", START, "--out", tmp_path / "o2",
          "--save-problem", tmp_path / "o2" / "p.json"], "--save-problem", tmp_path / "o2"),
        (["solve", plan_copy / "problem.json", "--out", plan_copy], "--out", plan_copy / "problem.json"),
        (["replan", plan_copy, "--forbid", veto, "--out", veto.parent], "--out", veto),
        (["replan", plan_copy, "--out", plan_copy / "sub"], "--out", plan_copy),
    ]
    before = {p: p.read_bytes() for p in (cfg, veto)}
    plan_before = snapshot(plan_copy)
    for args, option, named in cases:
        rc, _, err = run(args, capsys)
        assert refused(rc, err, option, named), (args, err)
    assert {p: p.read_bytes() for p in (cfg, veto)} == before and snapshot(plan_copy) == plan_before
    assert not any((tmp_path / d).exists() for d in ("o1", "o2")) and not (plan_copy / "sub").exists()
