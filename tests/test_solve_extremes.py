"""relay solve of a problem.json edited to extreme or negative values gets the usual one-paragraph
error naming the file, the key and the value, exit 2, no output; never an exception from OR-Tools,
HiGHS or pandas (issue 18)."""
from __future__ import annotations

import copy
import json

import pytest

from relay.cli import main

START = "2026-12-08T00:00:00Z"


@pytest.fixture(scope="module")
def problem(small_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "plan"
    assert main(["plan", str(small_config), "--start", START, "--days", "1", "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "problem.json").read_text())


def _set(doc, path, value):
    *head, last = path
    for k in head:
        doc = doc[k]
    doc[last] = value


@pytest.mark.parametrize("path, value, words", [
    (("options", 0, "capacity_mbit"), 1e300, "options[0].capacity_mbit"),
    (("orbiters", 0, "capacity_mbit"), 1e300, "orbiters[0].capacity_mbit"),
    (("assets", 0, "backlog_mbit"), 1e300, "assets[0].backlog_mbit"),
    (("downlinks", 0, "capacity_mbit"), -1.0, "downlinks[0].capacity_mbit"),
    (("turnaround_s",), -5.0, "turnaround_s"),
    (("volume_unit_mbit",), 1e-300, "volume_unit_mbit"),
    (("objective", "delivered_per_mbit"), -3.0, "objective.delivered_per_mbit"),
    (("objective", "forward_shortfall_penalty"), 1e300, "objective.forward_shortfall_penalty"),
    (("assets", 0, "priority_weight"), -1.0, "assets[0].priority_weight"),
])
def test_extreme_values_are_refused_with_the_key(problem, tmp_path, capsys, path, value, words):
    doc = copy.deepcopy(problem)
    _set(doc, path, value)
    f = tmp_path / "p.json"
    f.write_text(json.dumps(doc))
    rc = main(["solve", str(f), "--out", str(tmp_path / "out"), "--time-limit", "5"])
    err = capsys.readouterr().err
    assert rc == 2 and str(f) in err and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_veto_of_an_unknown_pass_is_refused(problem, tmp_path, capsys):
    doc = copy.deepcopy(problem)
    doc["forbid"] = [{"pass_id": "P99999", "orbiter": None, "asset": None, "start_tdb_s": None,
                      "end_tdb_s": None, "note": ""}]
    f = tmp_path / "p.json"
    f.write_text(json.dumps(doc))
    rc = main(["solve", str(f), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "forbid[0].pass_id" in err and "P99999" in err
