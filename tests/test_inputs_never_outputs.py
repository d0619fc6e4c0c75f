"""A path a command writes is never one of its inputs (issue 18): refused before anything is
read or written, exit 2, the input unchanged."""
from __future__ import annotations

from relay.cli import main


def test_relay_diff_does_not_write_its_csv_over_the_archive(tmp_path, capsys):
    archive = tmp_path / "plans.db"
    archive.write_bytes(b"SQLite format 3\x00 stand-in")
    rc = main(["diff", "--archive", str(archive), "--out", str(archive)])
    err = capsys.readouterr().err
    assert rc == 2 and "--out" in err and "--archive" in err and str(archive) in err
    assert archive.read_bytes() == b"SQLite format 3\x00 stand-in"


def test_relay_diff_does_not_write_over_the_archive_through_a_link(tmp_path, capsys):
    archive = tmp_path / "plans.db"
    archive.write_bytes(b"archive")
    (tmp_path / "alias.csv").symlink_to(archive)
    rc = main(["diff", "--archive", str(archive), "--out", str(tmp_path / "alias.csv")])
    assert rc == 2 and "--out" in capsys.readouterr().err
    assert archive.read_bytes() == b"archive"
