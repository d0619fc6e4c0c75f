"""``relay passes`` without pandas (issue 23): the geometry and link stages as numpy columns, and
the command's tables written with the csv module, give what the DataFrames give, value for value
and byte for byte.

References: the DataFrame path of the same command (``pass_frames``: relay.outputs.tables and
pandas' ``to_csv``), and the merge of orbiters searched one by one as the pipeline did it in
pandas before (concat, stable sort on rise, orbiter, asset, renumbering), written out here."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from relay.commands.passes import text_columns, pass_frames, pass_table_columns
from relay.config import load_scenario
from relay.geometry.passes import PASS_COLUMNS, PROFILE_COLUMNS, PassSet, find_pass_columns
from relay.geostage import pass_columns, span_of
from relay.orbits import ephemerides_of
from relay.outputs.columns import cells, local_time_columns, write_csv
from relay.outputs.files import write_table
from relay.sols import clock_of

ROOT = Path(__file__).resolve().parents[1]


def _with_steps(tmp: Path) -> Path:
    """The baseline with a grid step of its own for TGO (30 s) and MRO (45 s): orbiters searched
    one by one and merged."""
    text = (ROOT / "configs/baseline.yaml").read_text().replace("../ephemerides/", f"{ROOT.as_posix()}/ephemerides/")
    text = text.replace("file: " + f"{ROOT.as_posix()}/ephemerides/tgo.yaml}}\n    radio: Electra\n",
                        "file: " + f"{ROOT.as_posix()}/ephemerides/tgo.yaml}}\n    radio: Electra\n    step_s: 30\n")
    text = text.replace("file: " + f"{ROOT.as_posix()}/ephemerides/mro.yaml}}\n    radio: Electra\n",
                        "file: " + f"{ROOT.as_posix()}/ephemerides/mro.yaml}}\n    radio: Electra\n    step_s: 45\n")
    assert text.count("step_s:") == 2
    p = tmp / "steps.yaml"
    p.write_text(text)
    return p


CASES = {  # config, start, days: the baseline (Odyssey's fixed rates: NaN and numbers), a lander
    # whose mission sols are negative, a span without passes, and orbiters with their own steps
    "baseline": ("configs/baseline.yaml", "2026-12-08T00:00:00Z", 1.0),
    "exomars": ("configs/exomars-2030.yaml", "2026-12-01T00:00:00Z", 2.0),
    "empty": ("configs/exomars-2030.yaml", "2026-12-01T00:00:00Z", 0.002),
    "steps": (None, "2026-11-23T00:00:00Z", 0.5),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory):
    cfg, start, days = CASES[request.param]
    if cfg is None:
        cfg = _with_steps(tmp_path_factory.mktemp("steps"))
    sc = load_scenario(ROOT / cfg)
    return request.param, sc, pass_columns(sc, span_of(start, days))


def test_the_command_tables_as_columns_are_the_dataframes_byte_for_byte(case, tmp_path):
    """The pass table and the profiles of the column path, written by the csv module, are the
    bytes the DataFrame path writes with pandas; and the cells printed are the same text."""
    name, sc, pc = case
    frame, frame_prof = pass_frames(sc, pc)
    table, prof = pass_table_columns(sc, pc)
    assert list(table) == list(frame.columns) and list(prof) == list(frame_prof.columns)
    for cols, df, stem in ((table, frame, "passes"), (prof, frame_prof, "profiles")):
        write_table(df, tmp_path / f"{stem}-pandas.csv")
        write_csv(cols, tmp_path / f"{stem}-columns.csv")
        assert (tmp_path / f"{stem}-columns.csv").read_bytes() == (tmp_path / f"{stem}-pandas.csv").read_bytes()
    shown = text_columns(frame)
    assert {c: cells(v, nan="NaN") for c, v in table.items()} == {c: cells(v, nan="NaN") for c, v in shown.items()}
    if name == "empty":
        assert len(pc) == 0 and (tmp_path / "passes-columns.csv").read_text().count("\n") == 1
    else:
        assert len(pc) > 0 and len(table["pass_id"]) == len(pc)
    if name == "baseline":  # Odyssey's fixed rates: numbers and missing values both spelled
        assert {"fixed", "adaptive"} <= set(table["rate_mode"].tolist())
        assert np.isnan(table["fixed_rate_kbps"]).any() and np.isfinite(table["fixed_rate_kbps"]).any()


def test_the_pass_set_of_the_columns_is_the_dataframe_one(case):
    """PassColumns.pass_set() holds the same rows, values and dtypes as the columns."""
    _, _, pc = case
    ps = pc.pass_set()
    assert list(ps.passes.columns) == PASS_COLUMNS and list(ps.profiles.columns) == PROFILE_COLUMNS
    assert len(ps.passes) == len(pc) and len(ps.profiles) == len(pc.profiles["pass_id"])
    for c in PASS_COLUMNS:
        assert ps.passes[c].tolist() == pc.passes[c].tolist(), c
    if len(pc):
        assert ps.passes["pass_id"].tolist() == list(range(len(pc)))
        assert ps.passes["orbiter"].dtype == pd.StringDtype(na_value=np.nan)
        assert ps.passes["truncated_start"].dtype == bool
        for c in PROFILE_COLUMNS:
            assert np.array_equal(ps.profiles[c].to_numpy(), pc.profiles[c]), c


def _merge_like_pandas(parts: list[PassSet]) -> PassSet:
    """The merge of passes searched orbiter by orbiter as the pipeline wrote it with pandas."""
    rows, profiles, offset = [], [], 0
    for p in parts:
        q, pr = p.passes.copy(), p.profiles.copy()
        q["pass_id"] += offset
        pr["pass_id"] += offset
        offset += len(q)
        rows.append(q)
        profiles.append(pr)
    passes = pd.concat(rows, ignore_index=True).sort_values(["rise_tdb_s", "orbiter", "asset"], kind="mergesort")
    remap = dict(zip(passes["pass_id"], range(len(passes))))
    passes["pass_id"] = passes["pass_id"].map(remap)
    prof = pd.concat(profiles, ignore_index=True)
    prof["pass_id"] = prof["pass_id"].map(remap)
    prof = prof.sort_values(["pass_id", "tdb_s"], kind="mergesort").reset_index(drop=True)
    return PassSet(passes.reset_index(drop=True), prof, parts[0].start_tdb_s, parts[0].end_tdb_s)


def test_orbiters_with_their_own_steps_merge_as_pandas_merged_them(tmp_path):
    sc = load_scenario(_with_steps(tmp_path))
    span = span_of("2026-11-23T00:00:00Z", 0.5)
    ephs = ephemerides_of(sc)
    steps = {o.name: o.step_s for o in sc.orbiters}
    assert steps["TGO"] == 30 and steps["MRO"] == 45 and steps["MAVEN"] is None
    parts = [find_pass_columns({n: e}, sc.sites(), span.start_tdb_s, span.end_tdb_s, step_s=steps[n],
                               profile_step_s=sc.geometry.profile_step_s).pass_set() for n, e in ephs.items()]
    ref = _merge_like_pandas(parts)
    got = pass_columns(sc, span, ephs).pass_set()
    assert len(got.passes) > 10 and got.passes["orbiter"].nunique() > 2
    assert_frame_equal(got.passes, ref.passes, check_exact=True)
    assert_frame_equal(got.profiles, ref.profiles, check_exact=True)


def test_columns_are_written_as_pandas_writes_them(tmp_path):
    """Cells pandas' to_csv spells in its own way: floats (shortest repr, exponents, -0.0, inf),
    NaN and None (empty), booleans, and text that needs quoting (commas, quotes, newlines)."""
    floats = [1e16, 1e-05, 0.1, 123456789.123, -0.0, math.inf, -math.inf, 1e22, 5e-324, math.nan, 2048.0,
              1 / 3, 1e15, 1.2345678901234568e17]
    n = len(floats)
    text = ["a,b", 'say "hi"', "", " lead", "=1+2", "two\nlines", None, "Rosalind Franklin", "ü", "x", "y", "z",
            "w", "v"]
    cols = {"f": np.array(floats), "b": np.arange(n) % 2 == 0, "i": np.arange(n, dtype=np.int64) - 3,
            "t": text, "mixed": [5097, "", -1253, "", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "u": np.where(np.arange(n) % 3 == 0, "fixed", "adaptive")}
    write_csv(cols, tmp_path / "c.csv")
    pd.DataFrame(cols).to_csv(tmp_path / "p.csv", index=False, lineterminator="\n")
    assert (tmp_path / "c.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    empty = {"a": np.zeros(0), "b": []}
    write_csv(empty, tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_bytes() == b"a,b\n"
    assert cells([math.nan, 1.5, None, True], nan="NaN") == ["NaN", "1.5", "None", "True"]


def test_local_times_of_columns_and_of_a_dataframe_agree(case):
    """relay.outputs.columns.local_time_columns reads a mapping of columns as it reads a DataFrame;
    an asset without a clock gets empty cells."""
    _, sc, pc = case
    clocks = {a.name: clock_of(a.longitude_deg, a.landing) for a in sc.assets[:1]}
    from_cols = local_time_columns(pc.passes, clocks, "rise_tdb_s", "set_tdb_s")
    from_frame = local_time_columns(pd.DataFrame({c: pc.passes[c] for c in ("asset", "rise_tdb_s", "set_tdb_s")}),
                                    clocks, "rise_tdb_s", "set_tdb_s")
    assert from_cols == from_frame
    first = sc.assets[0].name
    for k, a in enumerate(pc.passes["asset"].tolist()):
        assert (from_cols["sol"][k] == "") == (a != first)
        if a == first:
            assert from_cols["sol"][k] == int(clocks[a].sol(pc.passes["rise_tdb_s"][k]))
            assert from_cols["lmst_start"][k] == clocks[a].lmst([pc.passes["rise_tdb_s"][k]])[0]


def test_an_orbiter_of_its_own_step_without_passes_leaves_the_columns_typed(tmp_path):
    """TGO and MRO (their own steps) have no pass in the first 72 minutes: the merge keeps the
    others' passes with their numeric and boolean dtypes (pandas' concat with the empty tables made
    every column object, and volumes.npz then held the numbers as text, which relay replan could
    not read back), with the values pandas' merge gives."""
    sc = load_scenario(_with_steps(tmp_path))
    span = span_of("2026-11-23T00:00:00Z", 0.05)
    ephs = ephemerides_of(sc)
    steps = {o.name: o.step_s for o in sc.orbiters}
    parts = [find_pass_columns({n: e}, sc.sites(), span.start_tdb_s, span.end_tdb_s, step_s=steps[n],
                               profile_step_s=sc.geometry.profile_step_s).pass_set() for n, e in ephs.items()]
    assert [len(p.passes) == 0 for p in parts] == [True, True, False, False, False]   # TGO, MRO: none
    got = pass_columns(sc, span, ephs).pass_set()
    assert got.passes["rise_tdb_s"].dtype == float and got.passes["truncated_end"].dtype == bool
    assert got.passes["pass_id"].dtype == np.int64 and got.profiles["tdb_s"].dtype == float
    ref = _merge_like_pandas(parts)
    assert_frame_equal(got.passes, ref.passes, check_dtype=False, check_exact=True)
    assert_frame_equal(got.profiles, ref.profiles, check_dtype=False, check_exact=True)
