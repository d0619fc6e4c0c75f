"""``relay passes`` and ``relay tracks`` on a short span of the baseline (issue 19): ISO 8601 times
with a Z on the terminal as in the files, and each pass's mission sol and LMST in ``--out``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPAN = ("--start", "2026-12-08T00:00:00Z", "--days", "0.2")


def relay_cli(*args):
    return subprocess.run([sys.executable, "-m", "relay", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_passes_print_iso_z_and_write_sols_and_lmst(tmp_path):
    out = tmp_path / "passes.csv"
    r = relay_cli("passes", "configs/baseline.yaml", *SPAN, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "+00:00" not in r.stdout
    # the first pass of the week, as the baseline plan's passes.csv has it (sol 5097 of Curiosity)
    first = [line for line in r.stdout.splitlines() if "TGO" in line and "Curiosity" in line][0].split()
    assert first[:6] == ["TGO", "Curiosity", "2026-12-08T00:32:02.830Z", "2026-12-08T00:42:45.176Z", "5097",
                         "07:32:46"]
    df = pd.read_csv(out, dtype=str)
    cols = list(df.columns)
    assert cols[cols.index("set") + 1:cols.index("set") + 4] == ["sol", "lmst_start", "lmst_end"]
    # the stable id: orbiter, asset and the UTC minute of the rise (relay.ids)
    row = df[df["pass_id"] == "TGO-Curiosity-20261208T0032"].iloc[0]
    assert (row["rise"], row["sol"], row["lmst_start"], row["lmst_end"]) == \
        ("2026-12-08T00:32:02.830Z", "5097", "07:32:46", "07:43:11")
    # 642.3 s of UTC is 10 min 25 s of LMST (a Mars second is 1.02749 s)
    assert row["duration_s"] == "642.346" and round(642.346 / 1.0274912517) == 10 * 60 + 25
    # every pass has its asset's sol: Perseverance's are sols ~2,0xx, Curiosity's ~5,0xx
    per = df.groupby("asset")["sol"].agg(lambda s: sorted(set(s.astype(int))))
    assert per["Curiosity"] == [5097] and all(2000 < s < 2100 for s in per["Perseverance"])


def test_tracks_print_iso_z():
    r = relay_cli("tracks", "configs/baseline.yaml", *SPAN)
    assert r.returncode == 0, r.stderr
    assert "+00:00" not in r.stdout
    assert "2026-12-08T00:00:00.000Z 2026-12-08T00:35:56.805Z" in r.stdout   # MAVEN from Cebreros and Madrid
