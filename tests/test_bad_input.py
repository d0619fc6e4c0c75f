"""Bad input never crashes (issue 13): every case is exit 2 with one paragraph naming the file,
the key or line, the bad value and what is expected, and no traceback.

One row per case: a name, how to build the input in a fresh folder, the command line, the exit
status, the words the message must contain (and those it must not).  The commands run through
``relay.cli.main`` in this process (the real argument parser and error handler); the OEM that
used to crash the interpreter runs in a subprocess.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from relay.cli import main
from relay.commands import MAX_PLAN_DAYS
from relay.orbits.keplerian import KeplerianOrbit
from relay.orbits.oem import write_oem
from relay.timescales import utc_to_tdb_s
from scenario_texts import MINIMAL

START = "2026-11-23T00:00:00Z"


OEM_SCENARIO = """\
orbiters:
  - name: TGO
    orbit: {type: oem, path: %s}
assets:
  - {name: Curiosity, latitude_deg: -4.5895, longitude_deg: 137.4417}
"""


def _tgo():
    return KeplerianOrbit("TGO", utc_to_tdb_s(START), 3796.19, 0.0, 74.0, 0.0, 0.0, 0.0)


def good_oem(path: Path, hours: float = 24.0) -> Path:
    t0 = utc_to_tdb_s(START)
    return write_oem(path, _tgo(), start_tdb_s=t0 - 3600, stop_tdb_s=t0 + hours * 3600, step_s=60.0,
                     object_name="TGO", time_system="UTC")


def data_lines(text: str) -> list[int]:
    lines = text.splitlines()
    k = lines.index("META_STOP")
    return [i for i in range(k + 1, len(lines)) if lines[i][:1].isdigit()]


def oem_edit(fn, hours: float = 24.0):
    """An OEM case: ``hours`` of good TGO states edited by ``fn(lines, data_indices)``."""
    def build(d: Path):
        p = good_oem(d / "tgo.oem", hours)
        lines = p.read_text().splitlines()
        fn(lines, data_lines(p.read_text()))
        p.write_text("\n".join(lines) + "\n")
        (d / "s.yaml").write_text(OEM_SCENARIO % "tgo.oem")
    return build


def scale_line(k, factor):
    def fn(lines, idx):
        parts = lines[idx[k]].split()
        lines[idx[k]] = " ".join([parts[0]] + [f"{float(x) * factor:.6f}" for x in parts[1:]])
    return fn


def drop_hours(h0, h1):
    def fn(lines, idx):
        for i in sorted(idx[h0 * 60:h1 * 60], reverse=True):
            del lines[i]
    return fn


def cfg(text: str, name: str = "s.yaml"):
    def build(d: Path):
        (d / name).write_text(text)
    return build


def edit(old: str, new: str):
    assert old in MINIMAL
    return cfg(MINIMAL.replace(old, new, 1))


def add_asset_key(text: str):
    return edit("height_m: 0, min_elevation_deg: 10}", "height_m: 0, min_elevation_deg: 10,\n     " + text + "}")


def add_orbiter_key(text: str):
    return edit("  - name: TGO\n", "  - name: TGO\n    " + text + "\n")


def files(**named):
    """Several files: name -> text (str), bytes, or a callable building it."""
    def build(d: Path):
        (d / "s.yaml").write_text(MINIMAL)
        for name, content in named.items():
            name = name.replace("__", ".")
            if callable(content):
                content(d / name)
            elif isinstance(content, bytes):
                (d / name).write_bytes(content)
            else:
                (d / name).write_text(content)
    return build


def two_in_one_pass(d: Path):
    """Two sessions, each long enough and a turnaround apart, inside the longest pass of the day."""
    from datetime import timedelta

    from relay.api import find_passes

    (d / "s.yaml").write_text(MINIMAL)
    ps = find_passes(str(d / "s.yaml"), START, 1)
    p = ps.loc[ps["duration_s"].idxmax()]
    assert p["duration_s"] > 400
    rise = p["rise"].to_pydatetime()

    def at(s):
        return (rise + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (d / "f.csv").write_text(sessions((at(10), at(140)), (at(220), at(360))))


def sessions(*rows):
    return "orbiter,asset,start,end\n" + "".join(f"TGO,Curiosity,{a},{b}\n" for a, b in rows)


PLAN = ["plan", "s.yaml", "--start", START, "--days", "1", "--quiet", "--time-limit", "5"]
PASSES = ["passes", "s.yaml", "--start", START, "--days", "1", "--quiet"]

# name: (build, argv, exit status, words the message must contain, words it must not contain)
CASES = {
    # --- nonsense numbers in the scenario
    "raan nan": (edit("raan_deg: 0.0", "raan_deg: .nan"), PASSES, 2, ["s.yaml", "orbiters[0].orbit.raan_deg", "nan"]),
    "mean anomaly inf": (edit("mean_anomaly_deg: 0.0", "mean_anomaly_deg: .inf"), PASSES, 2,
                         ["orbiters[0].orbit.mean_anomaly_deg", "inf"]),
    "j2 nan": (edit("mean_anomaly_deg: 0.0", "mean_anomaly_deg: 0.0, j2: .nan"), PASSES, 2,
               ["orbiters[0].orbit.j2", "nan"]),
    "latitude true": (edit("latitude_deg: -4.5895", "latitude_deg: true"), PASSES, 2,
                      ["assets[0].latitude_deg", "true", "expected a number"]),
    "latitude as text": (edit("latitude_deg: -4.5895", "latitude_deg: '-4.5'"), PASSES, 2,
                         ["assets[0].latitude_deg", "'-4.5'", "expected a number"]),
    "duplicate key": (edit("height_m: 0,", "height_m: 0, latitude_deg: 5,"), PASSES, 2,
                      ["s.yaml", "line 8", "'latitude_deg' appears twice"]),
    "deeply nested": (cfg("a: " + "[" * 5000 + "]" * 5000 + "\n"), PASSES, 2, ["s.yaml", "nested"]),
    "semi-major axis huge": (edit("semi_major_axis_km: 3796.19", "semi_major_axis_km: 1.0e+300"), PASSES, 2,
                             ["semi_major_axis_km", "1e+300"]),
    "semi-major axis beyond SOI": (edit("semi_major_axis_km: 3796.19", "semi_major_axis_km: 600000"), PASSES, 2,
                                   ["semi_major_axis_km", "600000", "577000"]),
    "apoapsis beyond SOI": (cfg(MINIMAL.replace("semi_major_axis_km: 3796.19, eccentricity: 0.0",
                                                "semi_major_axis_km: 300000, eccentricity: 0.95")), PASSES, 2,
                            ["sphere of influence"]),
    "storage inf": (add_orbiter_key("storage: {capacity_mbit: .inf}"), PASSES, 2,
                    ["orbiters[0].storage.capacity_mbit", "inf"]),
    "storage huge": (add_orbiter_key("storage: {capacity_mbit: 1.0e+200}"), PASSES, 2,
                     ["orbiters[0].storage.capacity_mbit", "1e+200", "at most 1e+09"]),
    "backlog huge": (add_asset_key("data: {backlog_mbit: 1.0e+300}"), PLAN, 2,
                     ["assets[0].data.backlog_mbit", "1e+300"]),
    "generation huge": (add_asset_key("data: {generation_mbit_per_sol: 1.0e+18}"), PLAN, 2,
                        ["assets[0].data.generation_mbit_per_sol"]),
    "sessions per sol huge": (add_asset_key("operations: {max_sessions_per_sol: 1180591620717411303424}"), PLAN, 2,
                              ["assets[0].operations.max_sessions_per_sol"]),
    "forward sessions huge": (add_asset_key("operations: {forward_link: {sessions_per_sol: 100000}}"), PLAN, 2,
                              ["assets[0].operations.forward_link.sessions_per_sol", "100000"]),
    "seed in config huge": (cfg(MINIMAL + "planning: {seed: 1180591620717411303424}\n"), PLAN, 2,
                            ["planning.seed"]),
    # --- unbounded work
    "profile step tiny": (cfg(MINIMAL + "geometry: {profile_step_s: 1.0e-4}\n"), PASSES, 2,
                          ["geometry.profile_step_s", "0.0001"]),
    "downlink chunk tiny": (cfg(MINIMAL + "planning: {downlink_chunk_s: 1.0e-4}\n"), PASSES, 2,
                            ["planning.downlink_chunk_s", "0.0001", "at least 60 s"]),
    "rolling window tiny": (cfg(MINIMAL + "planning: {window_days: 1.0e-4}\n"), PASSES, 2,
                            ["planning.window_days", "0.0001", "at least 1 day"]),
    "generation step tiny": (add_asset_key("data: {generation_step_h: 1.0e-9}"), PASSES, 2,
                             ["assets[0].data.generation_step_h", "1e-09", "0.1"]),
    "orbiter step tiny": (add_orbiter_key("step_s: 0.01"), PASSES, 2, ["orbiters[0].step_s", "0.01"]),
    "long asset name": (edit("name: Curiosity", "name: " + "C" * 500), PASSES, 2,
                        ["assets[0].name", "100 characters"], ["C" * 200]),
    "10 MB asset name": (edit("name: Curiosity", "name: " + "C" * 10_000_000), PASSES, 2,
                         ["s.yaml", "bytes"], ["CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC" * 2]),
    "orbit path /dev/zero": (cfg(OEM_SCENARIO % "/dev/zero"), PASSES, 2,
                             ["orbiters[0].orbit.path", "/dev/zero", "not a regular file"]),
    "orbit path a directory": (cfg(OEM_SCENARIO % "/tmp"), PASSES, 2,
                               ["orbiters[0].orbit.path", "is a directory"]),
    "config a directory": (lambda d: (d / "s.yaml").mkdir(), PASSES, 2, ["s.yaml", "is a directory"]),
    "config not UTF-8": (lambda d: (d / "s.yaml").write_bytes(MINIMAL.replace("Curiosity", "Curiosit\xe9")
                                                                .encode("latin-1")),
                         PASSES, 2, ["s.yaml", "not UTF-8", "line 8"]),
    # --- security: no file content echoed
    "orbit path /etc/passwd": (cfg(OEM_SCENARIO % "/etc/passwd"), PASSES, 2,
                               ["/etc/passwd", "line 1", "CCSDS_OEM_VERS"], ["root", "/bin/"]),
    "compare variant with dots": (cfg(MINIMAL), ["compare", "s.yaml", "--variant", "..:planning.seed=2", "--days",
                                                 "1", "--out", "cmp"], 2,
                                  ["--variant", "'..'", "plain name"]),
    "compare variant with a slash": (cfg(MINIMAL), ["compare", "s.yaml", "--variant", "a/b:planning.seed=2",
                                                    "--days", "1", "--out", "cmp"], 2, ["'a/b'", "plain name"]),
    "sweep days inf": (files(sw__yaml="base: s.yaml\ndays: .inf\ngrid: {planning.seed: [1]}\n"),
                       ["sweep", "sw.yaml", "--out", "swo", "--scheduler", "serial"], 2, ["sw.yaml", "days", "inf"]),
    # --- messages naming the file and key
    "unknown radio": (add_orbiter_key("radio: Nope"), PASSES, 2,
                      ["s.yaml", "orbiters[0].radio", "'Nope'", "Electra"],
                      ["config:"]),
    "broken extends": (cfg("extends: nowhere.yaml\n"), PASSES, 2, ["s.yaml: extends:", "nowhere.yaml", "does not exist"]),
    "extends not a path": (cfg("extends: [1]\n"), PASSES, 2, ["s.yaml: extends:", "expected the path"]),
    "broken bookings reference": (cfg(MINIMAL + "bookings: nowhere.csv\n"), PASSES, 2,
                                  ["s.yaml: bookings:", "nowhere.csv", "does not exist"]),
    "billion laughs": (cfg(MINIMAL + "nightly:\n  a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
        f"  {k}: &{k} [{', '.join(['*' + p] * 9)}]\n" for p, k in zip("abcdefgh", "bcdefghi"))), PASSES, 2,
        ["s.yaml", "200,000 values"]),
    "extends a directory": (cfg("extends: /tmp\n"), PASSES, 2, ["s.yaml: extends: /tmp", "is a directory"]),
    "elements file a device": (edit("orbit: {type: keplerian,", "orbit: {type: keplerian, file: /dev/zero,"), PASSES,
                               2, ["s.yaml: orbiters[0].orbit.file: /dev/zero", "not a regular file"]),
    "problem a device": (files(), ["solve", "/dev/zero", "--out", "o"], 2, ["/dev/zero", "not a regular file"]),
    "problem a directory": (files(), ["solve", ".", "--out", "o"], 2, ["is a directory", "problem"]),
    "validate a file": (files(), ["validate", "s.yaml"], 2, ["s.yaml", "not a plan directory"]),
    "link range inf": (files(), ["link", "s.yaml", "--orbiter", "TGO", "--asset", "Curiosity", "--range-km", "inf"],
                       2, ["--range-km", "'inf'"]),
    # --- command-line values
    "start empty": (cfg(MINIMAL), ["passes", "s.yaml", "--start", ""], 2, ["--start", "''", "ISO 8601"]),
    "start impossible": (cfg(MINIMAL), ["plan", "s.yaml", "--start", "2026-02-30T00:00:00Z"], 2,
                         ["--start", "2026-02-30", "day is out of range"]),
    "days inf": (cfg(MINIMAL), ["plan", "s.yaml", "--days", "inf"], 2, ["--days", "'inf'", f"{MAX_PLAN_DAYS:g}"]),
    "days nan": (cfg(MINIMAL), ["passes", "s.yaml", "--days", "nan"], 2, ["--days", "'nan'"]),
    "days 100000": (cfg(MINIMAL), ["passes", "s.yaml", "--start", START, "--days", "100000"], 2,
                    ["--days", "100000"], ["--start"]),
    "seed 2**70": (cfg(MINIMAL), ["plan", "s.yaml", "--seed", str(2 ** 70)], 2, ["--seed", str(2 ** 70)]),
    "workers 0": (cfg(MINIMAL), ["plan", "s.yaml", "--workers", "0"], 2, ["--workers", "'0'"]),
    "time limit inf": (cfg(MINIMAL), ["plan", "s.yaml", "--time-limit", "inf"], 2, ["--time-limit", "'inf'"]),
    "out is a file": (files(taken="x"), ["plan", "s.yaml", "--out", "taken"], 2,
                      ["--out", "taken", "not a folder"]),
    "out under a file": (files(taken="x"), ["plan", "s.yaml", "--out", "taken/plan"], 2,
                         ["--out", "taken", "not a folder"]),
    "out on a file system that refuses it": (files(), PLAN + ["--out", "/proc/relay-plan"], 2,
                                             ["--out", "cannot write", "/proc/relay-plan"]),
    "passes out on /proc": (files(), PASSES + ["--out", "/proc/relay-passes.csv"], 2,
                            ["--out", "cannot write", "/proc/relay-passes.csv"]),
    "save-problem a directory": (files(), ["plan", "s.yaml", "--save-problem", "."], 2,
                                 ["--save-problem", "is a folder"]),
    "passes out a directory": (files(), ["passes", "s.yaml", "--out", "."], 2, ["--out", "is a folder"]),
    # --- CSV inputs
    "backlog unknown asset after the start": (
        files(b__csv="asset,time,backlog_mbit\nCuriosity,2026-11-22T00:00:00Z,5\n"
                     "Curiosty,2026-12-01T00:00:00Z,5\n"),
        PLAN + ["--backlogs", "b.csv"], 2, ["b.csv", "line 3", "'Curiosty'", "Curiosity"]),
    "backlog infinite": (files(b__csv="asset,time,backlog_mbit\nCuriosity,2026-11-22T00:00:00Z,inf\n"),
                         PLAN + ["--backlogs", "b.csv"], 2, ["b.csv", "line 2", "backlog_mbit", "'inf'"]),
    "backlog huge": (files(b__csv="asset,time,backlog_mbit\nCuriosity,2026-11-22T00:00:00Z,1e300\n"),
                     PLAN + ["--backlogs", "b.csv"], 2, ["b.csv", "line 2", "'1e300'"]),
    "backlog impossible date": (files(b__csv="asset,time,backlog_mbit\nCuriosity,2026-02-30T00:00:00Z,5\n"),
                                PLAN + ["--backlogs", "b.csv"], 2, ["b.csv", "line 2", "2026-02-30"]),
    "backlogs a directory": (files(), PLAN + ["--backlogs", "."], 2, ["is a directory", "backlogs"]),
    "backlogs not UTF-8": (files(b__csv=b"asset,time,backlog_mbit\nCuriosit\xe9,2026-11-22T00:00:00Z,5\n"),
                           PLAN + ["--backlogs", "b.csv"], 2, ["b.csv", "not UTF-8", "line 2"]),
    "bookings not UTF-8": (files(k__csv=b"orbiter,station,start,end\nTGO,DSS\xff,2026-11-23T01:00:00Z,"
                                        b"2026-11-23T02:00:00Z\n"),
                           PLAN + ["--bookings", "k.csv"], 2, ["k.csv", "not UTF-8", "line 2"]),
    "bookings unknown station": (files(k__csv="orbiter,station,start,end\nTGO,DSS-99,2026-11-23T01:00:00Z,"
                                             "2026-11-23T02:00:00Z\n"),
                                 PLAN + ["--bookings", "k.csv"], 2, ["k.csv", "line 2", "'DSS-99'"]),
    "fixed overlapping on one orbiter": (
        files(f__csv=sessions(("2026-11-23T10:00:00Z", "2026-11-23T10:05:00Z"),
                              ("2026-11-23T10:04:00Z", "2026-11-23T10:09:00Z"))),
        PLAN + ["--fixed", "f.csv"], 2, ["f.csv", "line 3", "overlaps", "line 2", "turnaround_s"]),
    "fixed closer than the turnaround": (
        files(f__csv=sessions(("2026-11-23T10:00:00Z", "2026-11-23T10:05:00Z"),
                              ("2026-11-23T10:05:30Z", "2026-11-23T10:09:00Z"))),
        PLAN + ["--fixed", "f.csv"], 2, ["f.csv", "line 3", "starts 30.000 s after", "60 s"]),
    "fixed shorter than the minimum": (
        files(f__csv=sessions(("2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z"))),
        PLAN + ["--fixed", "f.csv"], 2, ["f.csv", "line 2", "lasts 60.000 s", "min_session_s = 120"]),
    "fixed two in one pass": (two_in_one_pass, PLAN + ["--fixed", "f.csv"], 2,
                              ["f.csv", "line 3", "same pass", "line 2", "one session per pass"]),
    "fixed unknown asset": (files(f__csv="orbiter,asset,start,end\nTGO,Opportunity,2026-11-23T10:00:00Z,"
                                        "2026-11-23T10:05:00Z\n"),
                            PLAN + ["--fixed", "f.csv"], 2, ["f.csv", "line 2", "'Opportunity'"]),
    "fixed end before start": (files(f__csv=sessions(("2026-11-23T10:05:00Z", "2026-11-23T10:00:00Z"))),
                               PLAN + ["--fixed", "f.csv"], 2, ["f.csv", "line 2", "is not after"]),
    "fixed outside every pass": (files(f__csv=sessions(("2026-11-23T00:00:10Z", "2026-11-23T00:03:00Z"))),
                                 PLAN + ["--fixed", "f.csv"], 2, ["f.csv", "line 2", "overlaps no visibility"]),
    "fixed a directory": (files(), PLAN + ["--fixed", "/tmp"], 2, ["/tmp", "is a directory"]),
    # --- orbit files
    "OEM all-zero position": (oem_edit(scale_line(30, 0.0)), PASSES, 2, ["tgo.oem", "inside Mars", "0.000 km"]),
    "OEM beyond SOI": (oem_edit(scale_line(30, 1000.0)), PASSES, 2, ["tgo.oem", "sphere of influence"]),
    "OEM one-day hole": (oem_edit(drop_hours(4, 28), hours=48), PASSES, 2, ["tgo.oem", "interpolation cannot bridge"]),
    "OEM truncated last number": (lambda d: (good_oem(d / "tgo.oem"),
                                             (d / "tgo.oem").write_text((d / "tgo.oem").read_text().rstrip()[:-4]),
                                             (d / "s.yaml").write_text(OEM_SCENARIO % "tgo.oem")),
                                  PASSES, 2, ["tgo.oem", "truncated"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exit_2_one_paragraph(case, tmp_path, monkeypatch, capsys):
    build, argv, status, words, *banned = CASES[case]
    monkeypatch.chdir(tmp_path)
    build(tmp_path)
    got = main(list(argv))
    err = capsys.readouterr().err
    assert got == status, err
    assert "Traceback" not in err
    assert err.startswith(f"relay {argv[0]}: error: ") and err.count("\n") == 1, err     # one paragraph
    for w in words:
        assert w in err, (w, err)
    for w in (banned[0] if banned else []):
        assert w not in err, (w, err)
    assert len(err) < 1500


def test_impossible_epoch_in_a_long_oem_segment_is_an_error_not_a_crash(tmp_path):
    """numpy's string-to-datetime conversion segfaulted on 2026-02-30 in a segment of a few hundred
    lines (exit 139); the reader must name the line instead."""
    p = good_oem(tmp_path / "tgo.oem", hours=6)
    text = p.read_text()
    lines = text.splitlines()
    k = data_lines(text)[200]
    lines[k] = "2026-02-30T" + lines[k][len("2026-11-23T"):]
    p.write_text("\n".join(lines) + "\n")
    (tmp_path / "s.yaml").write_text(OEM_SCENARIO % "tgo.oem")
    r = subprocess.run([sys.executable, "-m", "relay", "passes", "s.yaml", "--start", START, "--days", "0.2"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"tgo.oem: line {k + 1}:" in r.stderr and "2026-02-30" in r.stderr
    assert "Traceback" not in r.stderr


def test_asset_name_with_mathtext_is_drawn_as_plain_text(tmp_path, monkeypatch, capsys):
    """An asset named ``$\\nosuch$`` failed inside matplotlib's mathtext while drawing the report."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(MINIMAL.replace("name: Curiosity", "name: '$\\nosuch$ <b>'"))
    assert main(PLAN + ["--out", "out"]) == 0, capsys.readouterr().err
    html = (tmp_path / "out" / "report.html").read_text()
    assert "$\\nosuch$ &lt;b&gt;" in html and "<b>" not in html.replace("<b>relay", "")


def test_variant_names_never_leave_the_out_folder(tmp_path):
    from relay.analysis.compare import _entries
    from relay.errors import RelayInputError

    for bad in ("..", "../x", "/etc", ".", "a/../../b"):
        with pytest.raises(RelayInputError, match="plain name"):
            _entries(["a.yaml"], {bad: {}})
    assert [n for n, _, _ in _entries(["a.yaml"], {"fast-2": {}})] == ["a", "fast-2"]


def test_no_message_quotes_more_than_an_excerpt(tmp_path, monkeypatch, capsys):
    """A CSV line of 100,000 characters is quoted as a short escaped excerpt."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(MINIMAL)
    (tmp_path / "b.csv").write_text("asset,time,backlog_mbit\n" + "X\x1b[31m" * 20000 + ",2026-11-22T00:00:00Z,5\n")
    assert main(PLAN + ["--backlogs", "b.csv"]) == 2
    err = capsys.readouterr().err
    assert len(err) < 600 and "\x1b" not in err and "\\x1b" in err and "characters" in err


def test_failed_plan_leaves_an_existing_plan_untouched(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(MINIMAL)
    out = tmp_path / "out"
    out.mkdir()
    (out / "schedule.csv").write_text("keep me\n")
    (tmp_path / "f.csv").write_text(sessions(("2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z")))
    assert main(PLAN + ["--out", "out", "--fixed", "f.csv"]) == 2
    assert (out / "schedule.csv").read_text() == "keep me\n"
    assert sorted(x.name for x in out.iterdir()) == ["schedule.csv"]
