"""What-if analysis: relay.compare, relay sweep on a LocalCluster, the CLI, the notebook example.

Horizons are one day, solver limits short; the sweep runs on a LocalCluster of
2 process workers (one thread each, CP-SAT with one worker).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from relay.errors import RelayInputError

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-23T00:00:00Z"
SOLVER = {"time_limit_s": 10, "workers": 1, "seed": 0}

def relay_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "relay", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=900)


# ---------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key, words", [
    ("assets.Curiosity.min_elev", ["no key 'min_elev' under assets.Curiosity", "min_elevation_deg", "latitude_deg"]),
    ("assets.Curio.min_elevation_deg", ["no item 'Curio' under assets", "Curiosity, Perseverance"]),
    ("planing.time_limit_s", ["no key 'planing' under (top level)", "orbiters", "planning"]),
    ("orbiters.TGO.orbit.periapsis_alt", ["periapsis_altitude_km", "inclination_deg"]),
    ("assets.Curiosity.min_elevation_deg.x", ["is a value, not a section"]),
])
def test_bad_override_path_lists_valid_keys(small, key, words):
    from relay.analysis.overrides import resolve

    with pytest.raises(RelayInputError) as exc:
        resolve(small, {key: 5})
    msg = str(exc.value)
    assert "small.yaml" in msg and key in msg
    for w in words:
        assert w in msg, msg


def test_overrides_apply_to_paths_and_scenarios(small):
    from relay.analysis.overrides import resolve
    from relay.config import load_scenario, scenario_hash

    sc = resolve(small, {"assets.Curiosity.min_elevation_deg": 15,
                         "orbiters.TGO.orbit.periapsis_altitude_km": 300,
                         "orbiters.TGO.orbit.apoapsis_altitude_km": 300})
    assert sc.asset("Curiosity").min_elevation_deg == 15
    assert sc.orbiter("TGO").orbit.size()[0] == pytest.approx(3396.19 + 300)
    again = resolve(load_scenario(small), {"assets.Curiosity.min_elevation_deg": 15,
                                          "orbiters.TGO.orbit.periapsis_altitude_km": 300,
                                          "orbiters.TGO.orbit.apoapsis_altitude_km": 300})
    assert scenario_hash(again) == scenario_hash(sc)
    assert scenario_hash(resolve(small)) != scenario_hash(sc)


def test_sweep_spec_grid_axes_and_errors(small, tmp_path):
    from relay.analysis.sweepspec import load_sweep_spec

    spec = load_sweep_spec({"base": str(small), "days": 1, "start": START, "weeks": 2,
                            "grid": {"assets.Curiosity.min_elevation_deg": [10, 15, 20],
                                     "alt": {"set": ["orbiters.TGO.orbit.periapsis_altitude_km",
                                                     "orbiters.TGO.orbit.apoapsis_altitude_km"],
                                             "values": [300, 400]}}})
    assert len(spec.runs) == 12 and spec.params == ["assets.Curiosity.min_elevation_deg", "alt"]
    assert spec.starts == [START, "2026-11-30T00:00:00Z"]
    assert spec.runs[0].overrides == {"assets.Curiosity.min_elevation_deg": 10,
                                      "orbiters.TGO.orbit.periapsis_altitude_km": 300,
                                      "orbiters.TGO.orbit.apoapsis_altitude_km": 300}
    with pytest.raises(RelayInputError, match="valid keys: .*grid"):
        load_sweep_spec({"base": str(small), "start": START, "gird": {}})
    with pytest.raises(RelayInputError, match="does not exist"):
        load_sweep_spec({"base": str(tmp_path / "nope.yaml"), "start": START})
    with pytest.raises(RelayInputError, match="add a Z|ISO"):
        load_sweep_spec({"base": str(small), "starts": ["2026-11-23T00:00:00"]})
    assert load_sweep_spec({"base": str(small), "starts": ["2026-11-23"]}).starts == [START]
    shipped = load_sweep_spec(ROOT / "configs" / "sweep-example.yaml")
    assert len(shipped.runs) == 12 and shipped.base.endswith("baseline.yaml")


# ---------------------------------------------------------------------------
# Compare
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_compare_tables_differences_and_report(small, tmp_path):
    import relay

    res = relay.compare([small], START, days=1, out=tmp_path / "cmp", plan_options=SOLVER,
                        variants={"mask20": {"assets.Curiosity.min_elevation_deg": 20}})
    assert res.names == ["small", "mask20"]
    t = res.table
    assert set(t["scope"]) == {"total", "asset", "orbiter"}
    assert set(t[t["scope"] == "asset"]["name"]) == {"Curiosity", "Perseverance"}
    assert set(t[t["scope"] == "orbiter"]["name"]) == {"TGO", "MRO"}
    for col in ["delivered_mbit", "sessions", "mean_latency_h", "worst_latency_h", "decisional_sols_met",
                "utilisation_pct", "gap", "d_delivered_mbit", "d_delivered_pct"]:
        assert col in t.columns
    first = t[t["config"] == "small"]
    assert (first["d_delivered_mbit"].fillna(0) == 0).all()
    # totals agree with the plans
    for name, plan in res.plans.items():
        tot = res.totals.set_index("config").loc[name]
        assert tot["delivered_mbit"] == pytest.approx(plan.summary.figures.delivered_mbit)
        assert tot["sessions"] == len(plan.sessions)
        cur = t[(t["config"] == name) & (t["name"] == "Curiosity")].iloc[0]
        assert cur["sessions"] == (plan.sessions["asset"] == "Curiosity").sum()
    a = res.totals.set_index("config")
    assert a.loc["mask20", "d_delivered_mbit"] == pytest.approx(a.loc["mask20", "delivered_mbit"]
                                                                - a.loc["small", "delivered_mbit"])
    # a higher mask cannot give Curiosity more sessions time
    cur = res.by_asset.set_index(["config", "name"])["session_hours"]
    assert cur[("mask20", "Curiosity")] <= cur[("small", "Curiosity")] + 1e-9
    csv = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert len(csv) == len(t) and list(csv.columns) == list(t.columns)
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    for tid in ("table-total", "table-asset", "table-orbiter", "table-sols"):
        assert f"id='{tid}'" in page
    assert (tmp_path / "cmp" / "mask20" / "summary.json").exists()
    # spare link capacity: what the candidate passes could carry in the instance less what was relayed
    for name, plan in res.plans.items():
        tot = res.totals.set_index("config").loc[name]
        offered = plan.passes["usable_mbit"].sum()
        assert tot["spare_capacity_mbit"] == pytest.approx(max(offered - plan.sessions["volume_mbit"].sum(), 0.0))
    from relay.explain import LIMITS

    assert set(res.by_asset["limited_by"]) <= set(LIMITS)
    # headers in words with units, utilisation defined on the page
    assert "delivered (Mbit)" in page and "d_delivered_pct" not in page and "Link utilisation</b> is" in page
    fig = res.plot("delivered_mbit")
    assert [t.name for t in fig.data] == ["small", "mask20"]
    assert list(fig.data[0].y) == list(res.by_asset[res.by_asset["config"] == "small"]["delivered_mbit"])


# ---------------------------------------------------------------------------
# Sweep on a LocalCluster
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_sweep_on_localcluster_equals_serial_records_failures_and_caches(small, tmp_path, capsys):
    from relay.analysis.sweep import sweep
    from relay.analysis.sweepspec import load_sweep_spec
    from relay.workers import execute_run

    spec = {"base": str(small), "days": 1,
            # the second start is outside de421: planned, fails on the worker, recorded
            "starts": [START, "2099-06-01T00:00:00Z"],
            "grid": {"assets.Curiosity.min_elevation_deg": [10, 25]},
            "variants": [{"name": "base", "set": {}},
                         {"name": "typo", "set": {"assets.Curiosity.min_elev": 5}}],
            "plan": SOLVER, "cluster": {"n_workers": 2}}
    out = tmp_path / "sweep"
    df = sweep(spec, out=out, plot="delivered_mbit")
    err = capsys.readouterr().err
    assert "8/8 done, 6 failed, 0 remaining" in err
    assert len(df) == 8 and list(df["run_id"]) == list(range(8))
    assert "assets.Curiosity.min_elevation_deg" in df.columns and "variant" in df.columns
    ok = df[df["ok"]]
    assert len(ok) == 2 and set(ok["start"]) == {START} and set(ok["variant"]) == {"base"}
    far = df[(df["variant"] == "base") & (df["start"] != START)]
    assert (~far["ok"]).all() and far["error"].str.contains("de421").all()
    assert far["planned"].all()                            # ran on the workers and failed there
    typo = df[df["variant"] == "typo"]
    assert (~typo["ok"]).all() and typo["error"].str.contains("valid keys").all()
    assert typo["error"].str.contains("min_elevation_deg").all() and not typo["planned"].any()
    # files: one row per run, the swept parameters as columns
    for f in ("results.parquet", "results.csv"):
        assert (out / f).exists()
    pq = pd.read_parquet(out / "results.parquet")
    assert len(pq) == 8 and "assets.Curiosity.min_elevation_deg" in pq.columns
    assert (out / "sweep_delivered_mbit.png").stat().st_size > 5000
    assert len(list((out / "cache").glob("*.json"))) == 4   # 2 ok + 2 coverage failures

    # the same configs one by one, in this process: the same results
    runs = load_sweep_spec(spec).runs
    for rec in ok.itertuples(index=False):
        run = runs[rec.run_id]
        one = execute_run(str(small.resolve()), run.overrides, run.start, 1.0,
                          {**SOLVER})
        assert one["ok"]
        assert one["delivered_mbit"] == pytest.approx(rec.delivered_mbit, rel=1e-9, abs=1e-6)
        assert one["sessions"] == rec.sessions
        assert one["status"] == rec.status

    # a rerun plans nothing new and gives the same table
    df2 = sweep(spec, out=out, scheduler="serial", progress=False)
    assert not df2["planned"].any()
    assert df2.loc[df2["ok"] | df2["error_type"].eq("CoverageError"), "cached"].all()
    keep = ["run_id", "ok", "delivered_mbit", "sessions", "error"]
    pd.testing.assert_frame_equal(df[keep], df2[keep])

    # an interrupted sweep (one cache file lost) redoes only what is missing
    victim = sorted((out / "cache").glob("*.json"))[0]
    lost = json.loads(victim.read_text())
    victim.unlink()
    df3 = sweep(spec, out=out, scheduler="serial", progress=False)
    assert df3["planned"].sum() == 1
    assert df3.loc[df3["planned"], "ok"].iloc[0] == lost["ok"]


@pytest.mark.slow
def test_cli_compare_sweep_and_errors(small, tmp_path):
    out = tmp_path / "cmp"
    r = relay_cli("compare", small, "--start", START, "--days", "1", "--out", out, "--time-limit", "10",
                  "--solver-workers", "1", "--seed", "0", "--no-plans",
                  "--set", "assets.Perseverance.min_elevation_deg=12",
                  "--variant", "low-tgo:orbiters.TGO.orbit.periapsis_altitude_km=300,"
                               "orbiters.TGO.orbit.apoapsis_altitude_km=300")
    assert r.returncode == 0, r.stderr
    assert "low-tgo" in r.stdout
    t = pd.read_csv(out / "compare.csv")
    assert list(dict.fromkeys(t["config"])) == ["small", "low-tgo"]
    assert (out / "compare.html").exists() and not (out / "small").exists()

    r = relay_cli("compare", small, "--start", START, "--days", "1", "--out", tmp_path / "bad",
                  "--variant", "x:assets.Curiosity.min_elev=5")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no key 'min_elev'" in r.stderr and "min_elevation_deg" in r.stderr
    r = relay_cli("compare", small, "--out", tmp_path / "one")
    assert r.returncode == 2 and "nothing to compare" in r.stderr
    r = relay_cli("compare", small, small, "--out", tmp_path / "bad2", "--set", "nokey")
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr

    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"base: {small.name}\ndays: 1\nstart: '{START}'\n"
                    "grid:\n  assets.Curiosity.min_elevation_deg: [10, 20]\n"
                    "plan: {time_limit_s: 10, workers: 1, seed: 0}\n")
    r = relay_cli("sweep", spec, "--out", tmp_path / "sw", "--scheduler", "serial", "--plot")
    assert r.returncode == 0, r.stderr
    assert "2 runs: 2 ok, 0 failed" in r.stdout
    assert "2/2 done, 0 failed, 0 remaining" in r.stderr
    assert (tmp_path / "sw" / "sweep_delivered_mbit.png").exists()
    r = relay_cli("sweep", spec, "--out", tmp_path / "sw", "--scheduler", "serial", "--plot", "nometric")
    assert r.returncode == 2 and "no metric 'nometric'" in r.stderr and "delivered_mbit" in r.stderr


@pytest.mark.slow
def test_notebook_example_runs_end_to_end(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "notebook_example.py"), "--days", "1",
                        "--time-limit", "10", "--out", str(tmp_path)], capture_output=True, text=True,
                       timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "passes" in r.stdout and "comparison" in r.stdout and "masks-20" in r.stdout
    assert (tmp_path / "plan" / "report.html").exists()
    assert (tmp_path / "compare" / "compare.html").exists()
    assert (tmp_path / "compare" / "compare.csv").exists()


@pytest.mark.slow
def test_sweep_submits_to_an_existing_scheduler_by_address(small, tmp_path):
    import logging

    from distributed import LocalCluster

    from relay.analysis.sweep import sweep

    spec = {"base": str(small), "days": 1, "starts": [START],
            "grid": {"assets.Perseverance.min_elevation_deg": [10, 20]}, "plan": SOLVER}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        df = sweep(spec, out=tmp_path / "sw", scheduler=cluster.scheduler_address, progress=False)
        assert len(cluster.scheduler.workers) == 1          # the cluster was used, and left running
    assert df["ok"].all() and df["planned"].all(), df["error"].tolist()
    assert df["worker_pid"].nunique() == 1


# ---------------------------------------------------------------------------
# issue 19: usable spare capacity, whole counts and rounded percentages, readable charts
# ---------------------------------------------------------------------------

def test_an_orbiter_out_for_the_whole_horizon_offers_no_spare_capacity(small, tmp_path):
    import relay

    out = tmp_path / "mro-out.yaml"
    out.write_text(f"extends: {small.as_posix()}\nname: mro-out\noutages:\n"
                   "  - {target: MRO, what: all, start: '2026-11-23T00:00:00Z', end: '2026-11-24T00:00:00Z'}\n")
    res = relay.compare([small, out], START, days=1, out=tmp_path / "cmp", plan_options=SOLVER, write_plans=False)
    orb = res.by_orbiter.set_index(["config", "name"])
    # MRO's passes still have link volume, but none is usable: no spare capacity, and less than before
    mro = res.plans["mro-out"].passes.query("orbiter == 'MRO'")
    assert len(mro) and mro["volume_mbit"].sum() > 0 and (mro["usable_mbit"] == 0).all()
    assert orb.loc[("mro-out", "MRO"), "spare_capacity_mbit"] == 0.0
    assert orb.loc[("mro-out", "MRO"), "d_spare_capacity_mbit"] == -orb.loc[("small", "MRO"), "spare_capacity_mbit"]
    tot = res.totals.set_index("config")
    assert tot.loc["mro-out", "d_spare_capacity_mbit"] < 0
    # counts are whole numbers, percentages rounded to 0.1, in compare.csv as in the table
    csv = (tmp_path / "cmp" / "compare.csv").read_text().splitlines()
    head = csv[0].split(",")
    for line in csv[1:]:
        cells = dict(zip(head, line.split(",")))
        for c in ("sessions", "d_sessions", "decisional_sols_met", "violations"):
            assert "." not in cells[c], (c, cells[c])
        for c in ("utilisation_pct", "d_utilisation_pct", "d_delivered_pct"):
            assert cells[c] == "" or len(cells[c].split(".")[-1]) <= 1, (c, cells[c])
    assert str(res.table["sessions"].dtype) == "Int64"


def _fake_comparison(n_sols: int):
    from types import SimpleNamespace

    rows = [{"asset": a, "sol": base + k, "volume_mbit": 1.0} for a, base in (("Curiosity", 5082),
                                                                               ("Perseverance", 2047))
            for k in range(n_sols) for _ in range(1 + k % 3)]
    plans = {n: SimpleNamespace(sessions=pd.DataFrame(rows)) for n in ("base", "variant")}
    return SimpleNamespace(names=["base", "variant"], plans=plans)


def test_the_sessions_per_sol_chart_labels_do_not_overlap():
    from relay.outputs.compare_report import chart_sessions_per_sol

    fig = chart_sessions_per_sol(_fake_comparison(29))      # 28 days: 29 sols of each asset
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert len(fig.axes) == 2                                # one panel per asset
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        assert 4 <= len(labels) <= 16
        boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))   # no two labels overlap
        assert all(t.get_text().isdigit() for t in labels)          # sol numbers
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_sweep_plots_draw_a_line_per_variant_and_start_week(tmp_path):
    from relay.analysis.results import plot_sweep, sweep_groups

    rows = [{"variant": v, "start": s, "mask": m, "ok": True, "delivered_mbit": d + 10 * m}
            for v, d0 in (("a", 100.0), ("b", 200.0)) for s, d in (("2026-11-23T00:00:00Z", d0),
                                                                    ("2026-11-30T00:00:00Z", d0 + 1000))
            for m in (5, 10, 15)]
    df = pd.DataFrame(rows)
    groups = sweep_groups(df, "mask", ["variant", "start"], "delivered_mbit")
    assert [label for label, _ in groups] == ["a, 2026-11-23", "a, 2026-11-30", "b, 2026-11-23", "b, 2026-11-30"]
    # each line holds its own runs, never a mean across weeks or variants
    a2 = dict(groups[1][1][["mask", "delivered_mbit"]].itertuples(index=False))
    assert a2 == {5: 1150.0, 10: 1200.0, 15: 1250.0}
    path = plot_sweep(df, ["mask"], "delivered_mbit", tmp_path / "p.png")
    assert path.stat().st_size > 5000


def test_a_change_in_spare_capacity_is_neither_green_nor_red():
    from relay.outputs.compare_report import table_view

    df = pd.DataFrame({"config": ["a"], "d_spare_capacity_mbit": [-9275.0], "d_delivered_mbit": [-12.5],
                       "d_sessions": pd.array([3], dtype="Int64"), "d_utilisation_pct": [1.26]})
    (row,) = table_view(df, "t").rows
    assert row[1] == ("", "-9,275.0") and row[2] == ("bad", "-12.500")
    assert row[3] == ("ok", "+3") and row[4] == ("ok", "+1.3")
