"""relay.inputs: one reader per input file, the same rules for each."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from relay.errors import RelayInputError, excerpt
from relay.inputs import (bookings_path, check_plain_name, read_backlog_table, read_backlogs, read_bookings,
                          read_csv_table, read_sessions_table)
from relay.timescales import utc_to_tdb_s

T = "2026-11-23T01:00:00Z"
T2 = "2026-11-23T02:00:00Z"

READERS = {
    "bookings": (lambda p: read_bookings(p, orbiters=["MRO"], stations=["DSS-26"]),
                 "orbiter,station,start,end", f"MRO,DSS-26,{T},{T2}"),
    "backlogs": (lambda p: read_backlog_table(p, ["Curiosity"]), "asset,time,backlog_mbit", f"Curiosity,{T},5"),
    "sessions": (lambda p: read_sessions_table(p, orbiters=["MRO"], assets=["Curiosity"]),
                 "orbiter,asset,start,end", f"MRO,Curiosity,{T},{T2}"),
}


def write(tmp_path, text, name="in.csv", mode="w"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("reader", sorted(READERS))
def test_common_rules_comments_bom_header_case(tmp_path, reader):
    read, header, row = READERS[reader]
    text = "# a comment\n\n" + " " + header.upper().replace(",", " , ") + "\n# again\n" + row + "\n"
    p = write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    df = read(p)
    assert list(df["line"]) == [5]
    assert df.attrs["source"] == str(p)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case,content,where,words", [
    ("empty", "", None, ["empty"]),
    ("comments only", "# x\n\n", None, ["empty"]),
    ("not utf-8", b"HEADER\nMRO,caf\xe9\n", "line 2", ["not UTF-8", "0xe9"]),
    ("impossible date", "ROW:2026-02-30T00:00:00Z", "line 2", ["2026-02-30"]),
    ("no zone", "ROW:2026-11-23T01:00:00", "line 2", ["add a Z"]),
    ("far year", "ROW:3026-11-23T01:00:00Z", "line 2", ["3026", "years"]),
    ("short row", "HEADER\nMRO\n", "line 2", ["expected"]),
    ("long row", "HEADER\nROW,x,y\n", "line 2", ["expected"]),
])
def test_common_errors_name_file_line_value(tmp_path, reader, case, content, where, words):
    read, header, row = READERS[reader]
    if isinstance(content, str) and content.startswith("ROW:"):
        content = f"{header}\n{row.replace(T, content[4:])}\n"
    if isinstance(content, bytes):
        content = content.replace(b"HEADER", header.encode())
    else:
        content = content.replace("HEADER", header).replace("ROW", row)
    p = write(tmp_path, content)
    with pytest.raises(RelayInputError) as e:
        read(p)
    msg = str(e.value)
    assert msg.startswith(str(p))
    if where:
        assert where in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("reader", sorted(READERS))
def test_directories_devices_and_missing_files(tmp_path, reader):
    read = READERS[reader][0]
    with pytest.raises(RelayInputError, match="is a directory"):
        read(tmp_path)
    with pytest.raises(RelayInputError, match="not a regular file"):
        read("/dev/zero")
    with pytest.raises(RelayInputError, match="does not exist"):
        read(tmp_path / "nope.csv")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(RelayInputError, match="not a regular file"):
        read(fifo)


def test_symlinks_refused_where_asked(tmp_path):
    from relay.fileio import regular_file

    target = write(tmp_path, "asset,time,backlog_mbit\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert regular_file(link, "backlogs") == link
    with pytest.raises(RelayInputError, match="link.csv: is a symbolic link"):
        regular_file(link, "backlogs", follow_symlinks=False)
    assert regular_file(target, "backlogs", follow_symlinks=False) == target


def test_unknown_names_and_numbers_out_of_range(tmp_path):
    p = write(tmp_path, f"asset,time,backlog_mbit\nCuriosity,{T},5\nCuriosty,2030-01-01T00:00:00Z,5\n")
    with pytest.raises(RelayInputError, match=r"line 3: asset 'Curiosty' is not in the scenario; expected one of "
                                              "Curiosity"):
        read_backlogs(p, 0.0, ["Curiosity"])       # a row after the start is checked too
    for bad in ("nan", "inf", "-1", "1e300", "lots", ""):
        p = write(tmp_path, f"asset,time,backlog_mbit\nCuriosity,{T},{bad}\n")
        with pytest.raises(RelayInputError) as e:
            read_backlogs(p, 1e12, ["Curiosity"])
        assert "line 2, column backlog_mbit" in str(e.value) and repr(bad) in str(e.value)


def test_backlogs_latest_row_at_or_before_start(tmp_path):
    p = write(tmp_path, "asset,time,backlog_mbit\nA,2026-11-22T00:00:00Z,1\nA,2026-11-23T00:00:00Z,2\n"
                        "A,2026-11-24T00:00:00Z,3\nB,2026-11-25T00:00:00Z,4\n")
    assert read_backlogs(p, utc_to_tdb_s("2026-11-23T00:00:00Z")) == {"A": 2.0}
    df = read_backlog_table(p)
    assert list(df.time) == ["2026-11-22T00:00:00.000Z", "2026-11-23T00:00:00.000Z", "2026-11-24T00:00:00.000Z",
                             "2026-11-25T00:00:00.000Z"]


def test_sessions_kind_default_and_check(tmp_path):
    p = write(tmp_path, f"orbiter,asset,start,end,kind\nMRO,Curiosity,{T},{T2},\nTGO,Curiosity,{T2},"
                        "2026-11-23T03:00:00Z,forward\n")
    df = read_sessions_table(p)
    assert list(df.kind) == ["return", "forward"]
    assert df.start_tdb_s[0] == pytest.approx(utc_to_tdb_s(T))
    assert read_sessions_table(df) is df          # already read: returned as is
    with pytest.raises(RelayInputError, match=r"line 3: the session TGO -> Curiosity .* starts 0.000 s after "
                                              r"the session of line 2 .* on asset Curiosity"):
        read_sessions_table(p, min_session_s=120, turnaround_s=60)
    p = write(tmp_path, f"orbiter,asset,start,end\nMRO,Curiosity,{T},2026-11-23T01:01:00Z\n")
    with pytest.raises(RelayInputError, match=r"line 2: .*lasts 60.000 s; expected at least "
                                              r"operations.min_session_s = 120 s"):
        read_sessions_table(p, min_session_s=120, turnaround_s=60)
    p = write(tmp_path, f"orbiter,asset,start,end,kind\nMRO,Curiosity,{T},{T2},both\n")
    with pytest.raises(RelayInputError, match="line 2, column kind: kind 'both' is not one of 'return', 'forward'"):
        read_sessions_table(p)


def test_sessions_from_a_dataframe_name_rows():
    df = pd.DataFrame({"orbiter": ["MRO"], "asset": ["Curiosity"], "start": [T2], "end": [T]})
    with pytest.raises(RelayInputError, match="fixed sessions: row 1: end .* is not after start"):
        read_sessions_table(df)


def test_csv_table_for_plan_files(tmp_path):
    p = write(tmp_path, "a,b\n1,2\n")
    df, name = read_csv_table(p, ("a",), "a, b", "x.csv")
    assert name == str(p) and list(df.columns) == ["a", "b"] and df.b[0] == "2"
    with pytest.raises(RelayInputError, match="missing column"):
        read_csv_table(p, ("c",), "c", "x.csv")


def test_plain_names_and_excerpts():
    assert check_plain_name("fast-2", "variant") == "fast-2"
    for bad in ("..", "../x", "a/b", ".hidden", "-x", "", "x" * 65, "a b", "a\nb", "..."):
        with pytest.raises(RelayInputError, match="not a plain name"):
            check_plain_name(bad, "variant")
    assert excerpt("root:x:0:0:" * 40).endswith("(440 characters)")
    assert len(excerpt("x" * 10_000_000)) < 100
    assert excerpt("a\nb") == "'a\\nb'"


def test_bookings_path_relative_to_the_scenario(tmp_path):
    from types import SimpleNamespace

    assert bookings_path(SimpleNamespace(bookings=None)) is None
    sc = SimpleNamespace(bookings="b.csv", path=str(tmp_path / "s.yaml"))
    assert bookings_path(sc) == tmp_path / "b.csv"
    assert bookings_path(SimpleNamespace(bookings="/x/b.csv", path="s.yaml")) == tmp_path.root / __import__(
        "pathlib").Path("x/b.csv")


def test_quoted_fields_may_hold_newlines_commas_and_quotes(tmp_path):
    # the csv module reads the whole text: a quoted field may span lines, and a row's line is the
    # physical line (from 1) it starts on, comments and blank lines counted
    from relay.inputs import read_requests

    rows = ('# requests\nid,asset,start,end,note\n'
            f'R1,Curiosity,{T},{T2},"two lines,\n# not a comment: inside the quotes, with a ""quote"""\n'
            '# between rows\n\n'
            f'R2,Curiosity,{T},{T2},plain\n')
    reqs = read_requests(write(tmp_path, rows), assets=["Curiosity"])
    assert [r.note for r in reqs] == ['two lines,\n# not a comment: inside the quotes, with a "quote"', "plain"]
    assert [r.where for r in reqs] == ["line 3", "line 7"]
    p = write(tmp_path, rows + f"R3,Curiosity,{T},2026-02-30T00:00:00Z,bad\n", "bad.csv")
    with pytest.raises(RelayInputError) as e:
        read_requests(p, assets=["Curiosity"])
    assert e.value.source == str(p) and e.value.where.startswith("line 8") and "2026-02-30" in str(e.value)
    # an unbalanced quote runs on to the end of the file: the row's first line is named
    p = write(tmp_path, rows + f'R3,Curiosity,{T},{T2},"open\nR4,Curiosity,{T},{T2},x\n', "open.csv")
    with pytest.raises(RelayInputError) as e:
        read_requests(p, assets=["Curiosity"])
    assert e.value.where == "line 8" and "unbalanced" in str(e.value)


def test_plan_tables_read_back_with_quoted_newlines(tmp_path):
    p = write(tmp_path, 'id,note\n1,"a\nb"\n2,c\n')
    df, name = read_csv_table(p, ("id", "note"), "id, note", "requests")
    assert list(df["note"]) == ["a\nb", "c"] and name == str(p)
