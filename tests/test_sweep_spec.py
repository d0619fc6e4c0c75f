"""A wrong sweep file is refused before any run (issue 18), and a failed sweep leaves --out as it was.

Every case runs ``relay sweep`` through ``relay.cli.main`` in this process (the real argument
parser and error handler): exit status 2, one paragraph naming the sweep file, the key, the bad
value and what is expected, no traceback, and the output folder untouched (an existing one keeps
only what it held, a new one is not created).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import relay.analysis.sweep as sweep_module
from relay.analysis.sweepspec import MAX_RUNS
from relay.cli import main
from relay.workers import execute_run

START = "2026-11-23T00:00:00Z"
HEAD = f"base: small.yaml\ndays: 1\nstart: '{START}'\nplan: {{time_limit_s: 10, workers: 1, seed: 0}}\n"
GOOD_GRID = "grid: {assets.Curiosity.min_elevation_deg: [10, 20]}\n"
HUGE_GRID = "grid:\n" + "".join(f"  {k}: [{', '.join(str(v) for v in range(1, 101))}]\n" for k in (
    "planning.seed", "planning.time_limit_s", "assets.Curiosity.min_elevation_deg",
    "assets.Perseverance.min_elevation_deg", "orbiters.TGO.storage.capacity_mbit"))


def sweep_cli(folder: Path, spec: str, out: str = "out", *extra: str) -> int:
    (folder / "sw.yaml").write_text(spec)
    return main(["sweep", str(folder / "sw.yaml"), "--out", str(folder / out), "--no-progress", *extra])


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def here(small, monkeypatch):
    """A folder with the small scenario and an output folder that already holds a file."""
    folder = small.parent
    (folder / "out").mkdir()
    (folder / "out" / "keep.txt").write_text("mine\n")
    monkeypatch.chdir(folder)
    return folder


# (name, sweep file, the words the message must contain)
REFUSED = [
    ("days a word", HEAD.replace("days: 1", "days: seven") + GOOD_GRID, ["days", "'seven'", "number"]),
    ("days infinite", HEAD.replace("days: 1", "days: .inf") + GOOD_GRID, ["days", "inf", "at most 60"]),
    ("grid a list", HEAD + "grid: [10, 20]\n", ["grid", "[10, 20]", "dictionary"]),
    ("grid values not a list", HEAD + "grid: {assets.Curiosity.min_elevation_deg: 10}\n",
     ["grid.assets.Curiosity.min_elevation_deg", "10", "non-empty list of values"]),
    ("planner option a word", HEAD.replace("workers: 1", "workers: two") + GOOD_GRID,
     ["plan.workers", "'two'", "integer"]),
    ("cluster not a mapping", HEAD + GOOD_GRID + "cluster: 2\n", ["cluster", "2", "mapping of n_workers"]),
    ("misspelt grid key", HEAD + "grid: {assets.Curiosity.min_elev: [10, 20]}\n",
     ["grid.assets.Curiosity.min_elev", "no key 'min_elev'", "min_elevation_deg", "small.yaml"]),
    ("misspelt item of a grid key", HEAD + "grid: {assets.Curio.min_elevation_deg: [10, 20]}\n",
     ["grid.assets.Curio.min_elevation_deg", "no item 'Curio'", "Curiosity, Perseverance"]),
    ("misspelt key of a set axis", HEAD + "grid:\n  alt: {set: [orbiters.TGO.orbit.periapsis_alt], "
                                         "values: [300]}\n",
     ["grid.alt.set", "orbiters.TGO.orbit.periapsis_alt", "periapsis_altitude_km"]),
    ("misspelt axis key", HEAD + "grid:\n  alt: {set: [planning.seed], value: [1]}\n",
     ["grid.alt", "value", "valid keys: set, values"]),
    ("misspelt top-level key", HEAD + "gird: {planning.seed: [1]}\n", ["gird", "valid keys", "grid"]),
    ("misspelt planner option", HEAD.replace("time_limit_s", "time_limit") + GOOD_GRID,
     ["plan", "time_limit", "valid keys", "time_limit_s"]),
    ("misspelt variant key", HEAD + "variants: [{name: a, sett: {planning.seed: 1}}]\n",
     ["variants[0]", "sett", "valid keys: name, set"]),
    ("unknown metric", HEAD + GOOD_GRID + "metric: delivered\n", ["metric", "'delivered'", "delivered_mbit"]),
    ("10^10 runs", HEAD + HUGE_GRID, ["grid", "10,000,000,000 runs", f"at most {MAX_RUNS:,}"]),
    ("too many weeks", HEAD.replace("days: 1", "days: 1\nweeks: 100000") + GOOD_GRID,
     ["weeks", "100000", f"{MAX_RUNS}"]),
    ("missing base", HEAD.replace("small.yaml", "nowhere.yaml") + GOOD_GRID, ["base", "nowhere.yaml", "does not exist"]),
]


@pytest.mark.parametrize("name, spec, words", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_wrong_sweep_file_is_refused_before_any_run(here, capsys, monkeypatch, name, spec, words):
    def no_run(*a, **k):
        raise AssertionError("a run started")

    monkeypatch.setattr(sweep_module, "execute_run", no_run)
    monkeypatch.setattr(sweep_module, "run_on_dask", no_run)
    assert sweep_cli(here, spec) == 2
    err = capsys.readouterr().err
    assert "sw.yaml" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    assert listing(here / "out") == ["keep.txt"]
    assert sweep_cli(here, spec, "new/out") == 2
    assert not (here / "new").exists()


def test_a_sweep_failing_before_any_result_leaves_out_as_it_was(here, capsys):
    # a scheduler that is no address: found when the first run is submitted, after --out was prepared
    assert sweep_cli(here, HEAD + GOOD_GRID, "out", "--scheduler", "seriall") == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and "'seriall'" in err and "tcp://host:8786" in err
    assert listing(here / "out") == ["keep.txt"]
    assert sweep_cli(here, HEAD + GOOD_GRID, "new/out", "--scheduler", "seriall") == 2
    assert not (here / "new").exists()


def test_an_interrupted_sweep_keeps_only_what_existed(here, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "run_on_dask", interrupted)
    assert sweep_cli(here, HEAD + GOOD_GRID) == 130
    assert listing(here / "out") == ["keep.txt"]
    assert sweep_cli(here, HEAD + GOOD_GRID, "new/out") == 130
    assert not (here / "new").exists()


@pytest.mark.slow
def test_an_interrupted_sweep_with_a_result_keeps_it_and_resumes(here, monkeypatch, capsys):
    calls = []

    def second_interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return execute_run(*a, **k)

    monkeypatch.setattr(sweep_module, "execute_run", second_interrupted)
    assert sweep_cli(here, HEAD + GOOD_GRID, "out", "--scheduler", "serial") == 130
    cached = sorted((here / "out" / "cache").glob("*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["ok"]
    df = pd.read_csv(here / "out" / "results.csv")
    assert list(df["run_id"]) == [0, 1] and list(df["done"]) == [True, False]
    assert (here / "out" / "keep.txt").read_text() == "mine\n"

    monkeypatch.setattr(sweep_module, "execute_run", execute_run)
    capsys.readouterr()
    assert sweep_cli(here, HEAD + GOOD_GRID, "out", "--scheduler", "serial") == 0
    assert "2 runs: 2 ok, 0 failed" in capsys.readouterr().out
    df = pd.read_csv(here / "out" / "results.csv")
    assert list(df["cached"]) == [True, False] and list(df["planned"]) == [False, True]
