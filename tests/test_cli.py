"""The command line: tables, CSV columns, exit status 2 without a traceback on bad input."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scenario_texts import MINIMAL

ROOT = Path(__file__).resolve().parents[1]


def relay(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "relay", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_passes_csv_columns_and_times(tmp_path):
    cfg = tmp_path / "min.yaml"
    cfg.write_text(MINIMAL)
    out = tmp_path / "passes.csv"
    r = relay("passes", cfg, "--start", "2026-11-23T00:00:00Z", "--days", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    for col in ["orbiter", "asset", "rise", "set", "duration_s", "max_elevation_deg",
                "max_elevation_time", "min_range_km"]:
        assert col in df.columns
    assert len(df) > 0
    assert df["rise"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    assert "Curiosity" in r.stdout


@pytest.mark.parametrize("args, words", [
    (["--start", "2026-11-23T00:00:00"], "add a Z"),
    (["--start", "yesterday"], "ISO 8601"),
    (["--start", "2060-01-01T00:00:00Z"], "de421 covers"),
])
def test_bad_command_line_values_exit_2(tmp_path, args, words):
    cfg = tmp_path / "min.yaml"
    cfg.write_text(MINIMAL)
    r = relay("passes", cfg, *args)
    assert r.returncode == 2
    assert words in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_config_exit_2_names_file_and_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(MINIMAL.replace("latitude_deg: -4.5895", "latitude_deg: 95"))
    r = relay("passes", cfg, "--start", "2026-11-23T00:00:00Z")
    assert r.returncode == 2
    assert "bad.yaml" in r.stderr and "assets[0].latitude_deg" in r.stderr and "95" in r.stderr
    assert "Traceback" not in r.stderr


def test_failed_run_leaves_existing_output_intact(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(MINIMAL.replace("eccentricity: 0.0", "eccentricity: 2"))
    out = tmp_path / "passes.csv"
    out.write_text("previous,results\n")
    r = relay("passes", cfg, "--start", "2026-11-23T00:00:00Z", "--out", out)
    assert r.returncode == 2
    assert out.read_text() == "previous,results\n"


def test_tracks_command(tmp_path):
    out = tmp_path / "tracks.csv"
    r = relay("tracks", ROOT / "configs" / "exomars-2030.yaml", "--start", "2030-06-03T00:00:00Z",
              "--days", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert {"orbiter", "station", "start", "end", "duration_s"} <= set(df.columns)
    assert (df["duration_s"] > 0).all()


def test_no_expired_finals_warning(tmp_path):
    cfg = tmp_path / "min.yaml"
    cfg.write_text(MINIMAL)
    r = relay("passes", cfg, "--start", "2026-11-23T00:00:00Z", "--days", "1")
    assert r.returncode == 0
    assert "expired" not in r.stderr and "Warning" not in r.stderr
