"""Each command imports only what it uses (issue 23): checked by the modules a command's process
holds when it ends (``sys.modules`` of ``python -m relay ARGS``, the command line as a user runs
it), never by its time.  ``scripts/bench_startup.py`` prints the times."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: ``python -m relay ARGS`` (what the ``relay`` script runs), writing the names of every module its
#: process holds at the end to the file named by the first argument
RUN_AND_LIST = (
    "import runpy, sys\n"
    "out, sys.argv = sys.argv[1], ['relay', *sys.argv[2:]]\n"
    "try:\n"
    "    runpy.run_module('relay', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    open(out, 'w').write('\\n'.join(sorted(sys.modules)))\n")

#: what ``relay passes`` never needs: the solvers (OR-Tools' CP-SAT and MathOpt, HiGHS, SCIP through
#: OR-Tools), the page and chart code (Jinja2, plotly, matplotlib and relay's report, pages and
#: result modules), the planner, the service (Django) and the Dask cluster
NOT_FOR_PASSES = ("ortools", "highspy", "jinja2", "markupsafe", "plotly", "matplotlib", "django", "dask",
                  "distributed", "relay.planning.solve", "relay.planning.cpsat", "relay.planning.mip",
                  "relay.planning.relaxation", "relay.planning.problem", "relay.planning.build",
                  "relay.planning.greedy", "relay.result", "relay.explain", "relay.plantables", "relay.planfolder",
                  "relay.planstate", "relay.summary", "relay.outputs.report", "relay.outputs.pages",
                  "relay.outputs.horizon_views", "relay.outputs.compare_report", "relay.outputs.actuals_views",
                  "relay.service", "relay.nightly", "relay.analysis", "relay.actuals", "relay.workers")

#: all ``relay --help`` may import of relay: the command line and its argument checks
HELP_RELAY = {"relay", "relay.cli", "relay.commands", "relay.errors", "relay.terminal"}


def imported(*args: str, tmp: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules the process of ``relay ARGS`` holds when the command ends, and the process."""
    listing = tmp / "modules.txt"
    proc = subprocess.run([sys.executable, "-c", RUN_AND_LIST, str(listing), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    return set(listing.read_text().split("\n")), proc


def among(mods: set[str], names) -> list[str]:
    """The modules of ``mods`` that are one of ``names`` or inside one of them."""
    return sorted(m for m in mods if any(m == n or m.startswith(n + ".") for n in names))


#: what ``relay passes`` writing CSV (or printing) never imports: pandas and pyarrow (0.5 s of start-up;
#: its tables are numpy columns written with the csv module, relay.outputs.columns), and Skyfield's
#: download machinery (``skyfield.api``, ``skyfield.iokit``: urllib's request, ssl, http; about 50 ms):
#: relay builds Skyfield's builtin timescale and opens de421 without it (relay.timescales, relay.ephem)
NOT_FOR_CSV = ("pandas", "pyarrow", "skyfield.api", "skyfield.iokit", "ssl", "urllib.request", "http")


def test_the_listing_holds_what_a_command_imports(tmp_path):
    """The checks below are not vacuous: the listing holds the modules a command does import,
    those imported by name at run time (the command modules, importlib.import_module) included,
    and pandas and pyarrow when the command writes a Parquet file."""
    mods, proc = imported("passes", "configs/baseline.yaml", "--start", "2026-12-08T00:00:00Z", "--days", "0.2",
                          "--quiet", "--out", str(tmp_path / "passes.parquet"), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"relay.cli", "relay.commands.passes", "relay.geometry.passes", "relay.links.volumes", "pandas",
            "pyarrow", "numpy"} <= mods
    import pandas as pd

    ids = pd.read_parquet(tmp_path / "passes.parquet")["pass_id"]
    assert len(ids) and ids.str.startswith(("TGO-", "MRO-", "MAVEN-", "Odyssey-", "MEX-")).all()


def test_relay_passes_imports_no_solver_report_or_service(tmp_path):
    """relay passes (printing the table and writing --out and --profiles) needs the scenario, the
    geometry and the link stages only."""
    out = tmp_path / "passes.csv"
    mods, proc = imported("passes", "configs/baseline.yaml", "--start", "2026-12-08T00:00:00Z", "--days", "0.5",
                          "--out", str(out), "--profiles", str(tmp_path / "profiles.csv"), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_text().startswith("pass_id,orbiter,asset,rise,set,sol,lmst_start,lmst_end,")
    assert "TGO" in proc.stdout and "Curiosity" in proc.stdout
    assert among(mods, NOT_FOR_PASSES) == []
    assert among(mods, NOT_FOR_CSV) == []


def test_relay_passes_imports_no_pandas(tmp_path):
    """relay passes printing its table (and writing --out CSV, above) imports neither pandas nor
    pyarrow, and prints what the same command writing Parquet (through pandas) prints."""
    span = ("--start", "2026-12-08T00:00:00Z", "--days", "0.5")
    mods, proc = imported("passes", "configs/exomars-2030.yaml", *span, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert among(mods, NOT_FOR_CSV) == [] and "relay.geometry.passes" in mods
    with_pandas, proc2 = imported("passes", "configs/exomars-2030.yaml", *span, "--out",
                                  str(tmp_path / "p.parquet"), tmp=tmp_path)
    assert proc2.returncode == 0 and "pandas" in with_pandas
    assert "Rosalind Franklin" in proc.stdout and proc.stdout == proc2.stdout


def test_relay_tracks_imports_no_solver_report_or_service(tmp_path):
    mods, proc = imported("tracks", "configs/baseline.yaml", "--start", "2026-12-08T00:00:00Z", "--days", "0.2",
                          tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ground-station windows" in proc.stdout
    assert among(mods, NOT_FOR_PASSES) == []


@pytest.mark.parametrize("args", [("--help",), ("passes", "--help"), ("plan", "--help"), ()])
def test_relay_help_imports_the_command_line_only(args, tmp_path):
    """``relay --help`` (and a command's help, and no command at all) imports relay's command
    line and the standard library only: none of numpy, pandas, pydantic, YAML, Skyfield, OR-Tools,
    Jinja2 or Django, and of relay only the command modules and their argument checks."""
    mods, proc = imported(*args, tmp=tmp_path)
    assert proc.returncode == (0 if args else 2), proc.stderr[-2000:]
    assert "usage: relay" in (proc.stdout if args else proc.stderr)
    heavy = ("numpy", "pandas", "pyarrow", "pydantic", "yaml", "skyfield", "jplephem", "ortools", "jinja2",
             "plotly", "matplotlib", "django", "dask")
    assert among(mods, heavy) == []
    relay_mods = {m for m in mods if m == "relay" or m.startswith("relay.")}
    assert {m for m in relay_mods if not m.startswith("relay.commands.")} <= HELP_RELAY


def test_relay_plan_imports_no_plot_library_or_service(tmp_path):
    """relay plan writes report.html with relay's own chart markup and plotly.min.js read from the
    installed package: plotly, matplotlib, Django and Dask stay out of its process."""
    mods, proc = imported("plan", "configs/baseline.yaml", "--start", "2026-12-08T00:00:00Z", "--days", "1",
                          "--out", str(tmp_path / "plan"), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "plan" / "report.html").exists()
    assert {"ortools", "jinja2", "relay.outputs.report"} <= mods
    assert among(mods, ("plotly", "matplotlib", "django", "dask", "distributed", "relay.service",
                        "relay.analysis", "relay.actuals", "relay.workers")) == []


def test_the_passes_table_is_laid_out_as_pandas_lays_out_text():
    """relay passes prints its table with relay.terminal.text_table instead of pandas' formatter:
    for cells of text (what it prints: the CSV's spelling of each value) the layout is pandas'
    ``to_string(index=False)`` character for character, wide headers and wide cells alike."""
    import pandas as pd

    from relay.terminal import text_table

    df = pd.DataFrame({"orbiter": ["TGO", "MAVEN", "Odyssey"], "asset": ["Rosalind Franklin", "Curiosity", "x"],
                       "sol": ["-1253", "5090", "7"], "volume_mbit": ["358.843", "3.107", "NaN"],
                       "truncated": ["", "start", ""], "w": ["a", "bb", "a very long cell"]}, dtype=object)
    expected = df.to_string(index=False)
    assert text_table(list(df.columns), [df[c].tolist() for c in df.columns]) == expected
    assert text_table(["a", "bbb"], [[], []]) == "a bbb"   # no rows: the header alone


#: ``python -m relay ARGS``, writing the value OPENBLAS_NUM_THREADS had when numpy was first imported
#: (an audit hook on the import event) to the file named by the first argument
BLAS_AT_NUMPY = (
    "import os, runpy, sys\n"
    "out, sys.argv = sys.argv[1], ['relay', *sys.argv[2:]]\n"
    "seen = []\n"
    "def hook(event, args):\n"
    "    if event == 'import' and args[0] == 'numpy' and not seen:\n"
    "        seen.append(os.environ.get('OPENBLAS_NUM_THREADS', 'unset'))\n"
    "sys.addaudithook(hook)\n"
    "try:\n"
    "    runpy.run_module('relay', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    open(out, 'w').write(','.join(seen))\n")


@pytest.mark.parametrize("user", [None, "2"])
def test_the_geometry_commands_ask_openblas_for_one_thread_unless_the_user_chose(tmp_path, user):
    """relay passes sets OPENBLAS_NUM_THREADS=1 before numpy's first import (its thread pool costs
    start-up and the command does no BLAS work that threads would help), also when --start is
    checked while the arguments are parsed (that check imports numpy); a value the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user is not None:
        env["OPENBLAS_NUM_THREADS"] = user
    out = tmp_path / "blas.txt"
    proc = subprocess.run([sys.executable, "-c", BLAS_AT_NUMPY, str(out), "passes", "configs/exomars-2030.yaml",
                           "--start", "2026-12-01T00:00:00Z", "--days", "1", "--out", str(tmp_path / "p.csv")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (user or "1")
