"""One reader per user input file, all with the same rules.

The CSV files a user hands relay (station bookings, asset backlogs, fixed or
previous sessions; outages, relay requests and vetoes are declared the same way
next) are each read by one function here, used by ``relay plan``, the nightly
job's drop-folder checks and the API alike.  Every reader follows the same rules:

* the file must be a regular file (not a directory, device or pipe) of at most
  :data:`MAX_CSV_BYTES`, UTF-8 (a leading BOM is dropped);
* blank lines and lines starting with ``#`` are skipped; the first other line is
  the header, whose names are matched ignoring case and surrounding spaces;
  extra columns are ignored; every row has as many fields as the header;
* times are ISO 8601 UTC (``2026-11-23T00:00:00Z`` or a bare date); impossible
  dates (``2026-02-30``) and years outside :data:`YEAR_RANGE` are rejected;
* numbers are finite and inside the column's range; names of orbiters, assets
  or stations are checked against the scenario's when the caller gives them;
* every mistake raises :class:`~relay.errors.RelayInputError` naming the file,
  the line and column, the bad value (a short escaped excerpt) and what is
  expected.

A reader also accepts a ``pandas.DataFrame`` with the same columns (the API's
form); its rows are then named ``row N`` (from 1).  The tables returned carry
a ``line`` column and ``df.attrs["source"]`` (the file's name for messages), so
later stages can name the row of a committed session that does not fit.

A file is read through :mod:`relay.fileio` (regular files only, size cap,
UTF-8).  Two small helpers for users' names live here too:
:func:`check_plain_name` (a user name that becomes a path) and
:func:`bookings_path` (a scenario's ``bookings:`` path, relative to its file).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import RelayInputError, excerpt
from .fileio import DEFAULT_MAX_BYTES, read_text
from .operations import (MAX_ID_CHARS, MAX_NOTE_CHARS, check_unique_ids, outage_record, parse_lmst_window,
                         request_record, veto_record)
from .timescales import iso_z, parse_utc, tdb_s_to_iso, utc_to_tdb_s

#: Largest CSV relay reads (bytes); a plan's own tables stay far below it.
MAX_CSV_BYTES = DEFAULT_MAX_BYTES
#: Years a time in a user file may fall in (the ephemerides and time scales cover them).
YEAR_RANGE = (1950, 2200)
#: Longest name (orbiter, asset, station) a CSV cell may hold.
MAX_NAME_CHARS = 200


# ----------------------------------------------------------------------------- names and paths
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def check_plain_name(name: str, what: str, source: str = "command line") -> str:
    """``name`` if it is a plain name (letters, digits, ``. _ + -``, not starting with a dot or
    dash, at most 64 characters) that can become a file or folder name; else an input error."""
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or ".." in name:
        raise RelayInputError(
            f"{what} {excerpt(name)} is not a plain name; expected 1 to 64 letters, digits, '.', '_', '+' "
            "or '-', starting with a letter or digit, without '..' (it becomes a folder name)",
            source=source)
    return name


def bookings_path(scenario) -> Path | None:
    """The scenario's ``bookings:`` CSV as a path (relative paths from the scenario file's
    folder), or None when it has none."""
    b = getattr(scenario, "bookings", None)
    if not b:
        return None
    p = Path(b)
    base = getattr(scenario, "path", None)
    if not p.is_absolute() and base:
        p = Path(base).parent / p
    return p


def check_landings(scenario, start_tdb_s: float, end_tdb_s: float) -> None:
    """The scenario's asset landings (``assets[i].landing.date``, from which mission sols count)
    in the years of :data:`YEAR_RANGE` and not after the horizon ``[start, end)`` planned; an
    input error naming the scenario file and the key otherwise.  (Called by the plan pipeline
    once the horizon is known.)"""
    src = str(getattr(scenario, "path", None) or "scenario")
    for i, a in enumerate(scenario.assets):
        landing = getattr(a, "landing", None)
        if landing is None:
            continue
        where = f"assets[{i}].landing.date"
        when = parse_utc(landing.date, source=src, where=where)
        if not YEAR_RANGE[0] <= when.year <= YEAR_RANGE[1]:
            raise RelayInputError(f"got {excerpt(landing.date)}, expected a landing in the years {YEAR_RANGE[0]} "
                                  f"to {YEAR_RANGE[1]}", source=src, where=where)
        t = float(utc_to_tdb_s(when))
        if t >= end_tdb_s:
            raise RelayInputError(f"got {excerpt(landing.date)}, after the horizon planned "
                                  f"({tdb_s_to_iso(start_tdb_s)} to {tdb_s_to_iso(end_tdb_s)}); expected the landing "
                                  f"of {a.name} before the end of the plan (its mission sols count from it)",
                                  source=src, where=where)


# ----------------------------------------------------------------------------- table specs
@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``kind``: ``text`` (kept as stripped text), ``name`` (text checked against the caller's
    known names ``known[name_of]`` when given), ``time`` (ISO 8601 UTC; the table gains
    ``<name>_tdb_s``), ``number`` (finite float in ``[minimum, maximum]``) or ``choice`` (one
    of ``choices``).  An optional column (``required=False``) takes ``default`` when absent
    or empty; a required text column may not be empty.  A cell longer than ``max_chars`` is
    refused (not cut), naming the file, the row and the column.
    """

    name: str
    kind: str = "text"
    required: bool = True
    default: str | None = None
    name_of: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    meaning: str = ""
    max_chars: int = MAX_NAME_CHARS


@dataclass(frozen=True)
class TableSpec:
    """An input table: what it holds (for messages) and its columns."""

    what: str
    columns: tuple[Column, ...]

    @property
    def expected(self) -> str:
        return ", ".join(c.name if c.required else f"[{c.name}]" for c in self.columns)


def _time_cell(text: str, source: str, where: str) -> tuple[str, float]:
    if len(text) > 64:
        raise RelayInputError(f"got {excerpt(text)}, expected an ISO 8601 UTC time such as "
                              "2026-11-23T00:00:00Z", source=source, where=where)
    when = parse_utc(text, source=source, where=where)
    if not YEAR_RANGE[0] <= when.year <= YEAR_RANGE[1]:
        raise RelayInputError(f"got {text!r}, expected a time in the years {YEAR_RANGE[0]} to {YEAR_RANGE[1]}",
                              source=source, where=where)
    return iso_z(when), float(utc_to_tdb_s(when))


def number_cell(text: str, source: str, where: str, *, minimum: float | None = None,
                maximum: float | None = None, meaning: str = "a number") -> float:
    """A finite number in ``[minimum, maximum]`` from a text cell; an input error otherwise."""
    try:
        v = float(text) if len(text) <= 64 else math.nan
    except ValueError:
        v = math.nan
    lo = "" if minimum is None else f" from {minimum:g}"
    hi = "" if maximum is None else f" to {maximum:g}"
    if not math.isfinite(v) or (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise RelayInputError(f"got {excerpt(text)}, expected {meaning}{lo}{hi}", source=source, where=where)
    return v


def _header(fields: list[str]) -> list[str]:
    return [f.strip().lower() for f in fields]


class _Lines:
    """The physical lines of CSV text as :func:`csv.reader` asks for them, numbered from 1.  Blank
    lines and ``#`` comments are skipped where a record would start (inside a quoted field they are
    part of it); ``first`` is the line a record starts on, ``last`` the line it ends on."""

    def __init__(self, text: str):
        self._lines = iter(io.StringIO(text, newline=""))
        self.last = 0
        self.first = 0
        self.start_text = ""
        self.at_start = True

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            self.last += 1
            if not self.at_start:
                return line
            if line.strip() and not line.lstrip().startswith("#"):
                self.at_start = False
                self.first = self.last
                self.start_text = line
                return line


def _records(text: str, source: str):
    """``(first line, last line, fields, first line's text)`` of every CSV record of ``text``
    (quoted fields may hold commas, quotes and newlines); a record the csv module cannot parse is
    an input error naming its line."""
    if csv.field_size_limit() <= len(text):   # a field may be as long as the text (131,072 by default)
        csv.field_size_limit(len(text) + 1)
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    while True:
        lines.at_start = True
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            span = (f" (the row runs on to line {lines.last}: a quote may be unbalanced)"
                    if lines.last > lines.first else "")
            raise RelayInputError(f"cannot read the row {excerpt(lines.start_text.strip())}: {exc}{span}; expected "
                                  "comma-separated fields, a field holding a comma, a quote or a line break in "
                                  "double quotes (a quote inside it doubled)", source=source,
                                  where=f"line {lines.first}") from None
        yield lines.first, lines.last, fields, lines.start_text


def _column_list(header: list[str], limit: int = 200) -> str:
    """The header's names for a message, cut after ``limit`` characters."""
    text = ", ".join(header)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(header):,} columns)"


def _rows_of_text(text: str, source: str, spec: TableSpec):
    """(line number, header, rows as (line, fields)) of CSV text: comments and blank lines
    skipped, every row as long as the header.  A row's line is the line it starts on."""
    records = _records(text, source)
    first = next(records, None)
    if first is None:
        raise RelayInputError(f"the {spec.what} file is empty; expected a header line "
                              f"'{spec.expected}' and one row per line", source=source)
    header_line, _, header_fields, _ = first
    header = _header(header_fields)
    rows = []
    for n, last, fields, start_text in records:
        if len(fields) != len(header):
            span = f" (the row runs on to line {last}: a quote may be unbalanced)" if last > n else ""
            raise RelayInputError(
                f"got {len(fields)} field(s) in {excerpt(start_text.strip())}{span}, expected {len(header)} "
                f"({_column_list(header)}); a quote or comma may be missing, or the file truncated",
                source=source, where=f"line {n}")
        rows.append((n, fields))
    return header_line, header, rows


def _rows_of_frame(df, spec: TableSpec):
    header = _header([str(c) for c in df.columns])
    rows = [(i, ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in r])
            for i, r in enumerate(df.itertuples(index=False, name=None), start=1)]
    return None, header, rows


def _check_header(header: list[str], header_line, spec: TableSpec, source: str) -> None:
    """No column named twice, every required column present."""
    where = f"line {header_line}" if header_line else None
    dup = sorted(h for h, n in Counter(header).items() if h and n > 1)
    if dup:
        raise RelayInputError(f"the header names column(s) {_column_list(dup)} twice; expected {spec.expected}",
                              source=source, where=where)
    missing = [c.name for c in spec.columns if c.required and c.name not in header]
    if missing:
        raise RelayInputError(
            f"missing column(s): the header {excerpt(', '.join(header))} lacks column(s) "
            f"{', '.join(missing)}; expected {spec.expected}", source=source, where=where)


def _cell(c: Column, text: str, source: str, where: str, row: str, names: set | None):
    """The value of one cell of column ``c`` (a time as ``(iso, tdb_s)``); an input error naming
    the file, the row and the column otherwise."""
    if len(text) > c.max_chars:
        raise RelayInputError(f"got {excerpt(text)}, expected at most {c.max_chars:,} characters in column "
                              f"{c.name}", source=source, where=where)
    if c.kind == "time":
        return _time_cell(text, source, where)
    if c.kind == "number":
        return number_cell(text, source, where, minimum=c.minimum, maximum=c.maximum, meaning=c.meaning or "a number")
    if c.kind == "choice" and text not in c.choices:
        raise RelayInputError(f"{c.name} {excerpt(text)} is not one of "
                              f"{', '.join(repr(x) for x in c.choices)}", source=source, where=where)
    if c.kind == "name" and (not text or len(text) > MAX_NAME_CHARS or (names is not None and text not in names)):
        exp = (f"expected one of {', '.join(sorted(names))}" if names is not None
               else f"expected a name of at most {MAX_NAME_CHARS} characters")
        raise RelayInputError(f"{c.name} {excerpt(text)} is not in the scenario; {exp}", source=source, where=row)
    if c.kind == "text" and c.required and not text:
        raise RelayInputError(f"column {c.name} is empty; expected {c.meaning or 'a value'}", source=source,
                              where=where)
    return text


def read_table(src, spec: TableSpec, *, known: Mapping[str, Iterable[str]] | None = None):
    """Read one input table (a CSV path or a DataFrame) by ``spec``; returns a DataFrame of
    ``line`` and the spec's columns (text stripped, numbers as floats, times as ISO text
    to the millisecond plus ``<name>_tdb_s``) with ``attrs["source"]`` set."""
    import pandas as pd

    frame = isinstance(src, pd.DataFrame)
    source = spec.what if frame else str(src)
    if frame:
        header_line, header, rows = _rows_of_frame(src, spec)
        label = "row"
    else:
        header_line, header, rows = _rows_of_text(read_text(src, spec.what, MAX_CSV_BYTES), source, spec)
        label = "line"
    _check_header(header, header_line, spec, source)
    known_sets = {k: set(v) for k, v in (known or {}).items() if v is not None}
    pos = {c.name: header.index(c.name) for c in spec.columns if c.name in header}
    out: dict[str, list] = {"line": []}
    for c in spec.columns:
        out[c.name] = []
        if c.kind == "time":
            out[f"{c.name}_tdb_s"] = []
    for n, fields in rows:
        out["line"].append(n)
        for c in spec.columns:
            text = fields[pos[c.name]].strip() if c.name in pos else ""
            if not text and not c.required:
                text = c.default or ""
                if c.kind != "time" and c.kind != "number":
                    out[c.name].append(text)
                    continue
            value = _cell(c, text, source, f"{label} {n}, column {c.name}", f"{label} {n}",
                          known_sets.get(c.name_of or c.name) if c.kind == "name" else None)
            if c.kind == "time":
                out[c.name].append(value[0])
                out[f"{c.name}_tdb_s"].append(value[1])
            else:
                out[c.name].append(value)
    df = pd.DataFrame(out)
    for c in spec.columns:
        if c.kind == "number":
            df[c.name] = df[c.name].astype(float)
        elif c.kind == "time":
            df[f"{c.name}_tdb_s"] = df[f"{c.name}_tdb_s"].astype(float)
    df.attrs["source"] = source
    df.attrs["label"] = label
    return df


def _check_order(df, first: str, second: str, label: str) -> None:
    """Each row's ``second`` time is after its ``first``."""
    src = df.attrs["source"]
    for r in df.itertuples(index=False):
        if not getattr(r, f"{second}_tdb_s") > getattr(r, f"{first}_tdb_s"):
            raise RelayInputError(f"{second} {getattr(r, second)} is not after {first} {getattr(r, first)}; "
                                  f"expected {second} > {first}", source=src, where=f"{label} {r.line}")


def read_csv_table(src, columns: tuple[str, ...], expected: str, what: str):
    """A CSV file (all cells as stripped text) or a DataFrame copy with the required ``columns``
    (other columns kept as text); returns ``(table, name for messages)``.  For the files relay
    itself writes (a plan folder's tables); user input files have their own readers below."""
    import pandas as pd

    if isinstance(src, pd.DataFrame):
        df = src.copy()
        df.columns = _header([str(c) for c in df.columns])
        name = what
    else:
        name = str(src)
        _, header, rows = _rows_of_text(read_text(src, what, MAX_CSV_BYTES), name, TableSpec(what, ()))
        df = pd.DataFrame([[f.strip() for f in fields] for _, fields in rows], columns=header, dtype=str)
        if not len(rows):
            df = pd.DataFrame(columns=header, dtype=str)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RelayInputError(f"missing column(s) {', '.join(missing)}; expected {expected}", source=name)
    return df, name


# ----------------------------------------------------------------------------- bookings
BOOKINGS = TableSpec("bookings", (
    Column("orbiter", "name", name_of="orbiter"), Column("station", "name", name_of="station"),
    Column("start", "time"), Column("end", "time")))
BOOKING_COLUMNS = ("orbiter", "station", "start", "end")


def read_bookings(path, *, orbiters: Iterable[str] | None = None,
                  stations: Iterable[str] | None = None):
    """Station bookings (``orbiter, station, start, end``): a DataFrame of ``line, orbiter,
    station, start_tdb_s, end_tdb_s``, each booking's end after its start."""
    df = read_table(path, BOOKINGS, known={"orbiter": orbiters, "station": stations})
    _check_order(df, "start", "end", df.attrs["label"])
    out = df[["line", "orbiter", "station", "start_tdb_s", "end_tdb_s"]].copy()
    out.attrs = dict(df.attrs)
    return out


# ----------------------------------------------------------------------------- backlogs
#: Largest backlog a row may state (Mbit): 1e9 Mbit is a petabit, far above any store.
MAX_BACKLOG_MBIT = 1e9
BACKLOGS = TableSpec("backlogs", (
    Column("asset", "name", name_of="asset"), Column("time", "time"),
    Column("backlog_mbit", "number", minimum=0.0, maximum=MAX_BACKLOG_MBIT, meaning="megabits")))


def read_backlog_table(src, assets: Iterable[str] | None = None):
    """Asset backlogs (``asset, time, backlog_mbit``), every row checked: a DataFrame of
    ``line, asset, time`` (ISO to the millisecond), ``time_tdb_s, backlog_mbit``."""
    return read_table(src, BACKLOGS, known={"asset": assets})


def read_backlogs(src, start_tdb_s: float, assets: Iterable[str] | None = None) -> dict[str, float]:
    """Each asset's backlog at the horizon start: the latest row at or before ``start_tdb_s``
    wins.  Every row is checked (unknown assets too, when ``assets`` is given)."""
    if src is None:
        return {}
    df = read_backlog_table(src, assets)
    best: dict[str, tuple[float, float]] = {}
    for r in df.itertuples(index=False):
        t = float(r.time_tdb_s)
        if t <= start_tdb_s and (r.asset not in best or t >= best[r.asset][0]):
            best[r.asset] = (t, float(r.backlog_mbit))
    return {k: v for k, (_, v) in best.items()}


# ----------------------------------------------------------------------------- sessions
SESSIONS = TableSpec("fixed sessions", (
    Column("orbiter", "name", name_of="orbiter"), Column("asset", "name", name_of="asset"),
    Column("start", "time"), Column("end", "time"),
    Column("kind", "choice", required=False, default="return", choices=("return", "forward"))))
SESSION_COLUMNS = ["orbiter", "asset", "start", "end", "kind", "start_tdb_s", "end_tdb_s"]


def read_sessions_table(src, what: str = "fixed sessions", *, orbiters: Iterable[str] | None = None,
                        assets: Iterable[str] | None = None, min_session_s: float | None = None,
                        turnaround_s: float | None = None):
    """Sessions (``orbiter, asset, start, end[, kind]``; fixed or an earlier plan's): a
    DataFrame of ``line`` and :data:`SESSION_COLUMNS`.  A table this function already returned
    is returned as is.  With ``min_session_s`` / ``turnaround_s`` the sessions are also checked
    to be feasible together (:func:`check_sessions`)."""
    import pandas as pd

    if src is None:
        return pd.DataFrame(columns=["line", *SESSION_COLUMNS])
    if isinstance(src, pd.DataFrame) and "start_tdb_s" in src.columns and "source" in src.attrs:
        df = src
    else:
        df = read_table(src, TableSpec(what, SESSIONS.columns), known={"orbiter": orbiters, "asset": assets})
        _check_order(df, "start", "end", df.attrs["label"])
    if min_session_s is not None or turnaround_s is not None:
        check_sessions(df, min_session_s or 0.0, turnaround_s or 0.0)
    return df


def check_sessions(df, min_session_s: float, turnaround_s: float) -> None:
    """Committed sessions that can be held together: each lasts at least ``min_session_s``,
    and sessions of one orbiter or of one asset are ``turnaround_s`` apart (so none overlap).
    An error names the file and the line(s)."""
    src = df.attrs.get("source", "fixed sessions")
    label = df.attrs.get("label", "line")
    for r in df.itertuples(index=False):
        d = float(r.end_tdb_s) - float(r.start_tdb_s)
        if d < min_session_s - 1e-6:
            raise RelayInputError(
                f"the session {r.orbiter} -> {r.asset} {r.start} to {r.end} lasts {d:.3f} s; expected at least "
                f"operations.min_session_s = {min_session_s:g} s", source=src, where=f"{label} {r.line}")
    for key in ("orbiter", "asset"):
        for name, g in df.groupby(key, sort=True):
            g = g.sort_values("start_tdb_s")
            rows = list(g.itertuples(index=False))
            for a, b in zip(rows, rows[1:]):
                gap = float(b.start_tdb_s) - float(a.end_tdb_s)
                if gap < turnaround_s - 1e-6:
                    what = "overlaps" if gap < 0 else f"starts {gap:.3f} s after"
                    raise RelayInputError(
                        f"the session {b.orbiter} -> {b.asset} {b.start} to {b.end} {what} the session of "
                        f"{label} {a.line} ({a.orbiter} -> {a.asset} {a.start} to {a.end}) on {key} {name}; "
                        f"expected sessions of one {key} at least operations.turnaround_s = {turnaround_s:g} s "
                        "apart", source=src, where=f"{label} {b.line}")


# ----------------------------------------------------------------------------- operations (issue 11)
#: a note column: free text of at most MAX_NOTE_CHARS characters (a longer note is refused, not cut)
NOTE = Column("note", required=False, default="", meaning="a note", max_chars=MAX_NOTE_CHARS)
OUTAGES = TableSpec("outages", (
    Column("target", "name", name_of="target"), Column("what", "choice", choices=("uhf", "xband", "all")),
    Column("start", "time"), Column("end", "time"), NOTE, Column("orbiter", required=False, default="")))
FORBID = TableSpec("forbid", (
    Column("orbiter", required=False, default=""), Column("asset", required=False, default=""),
    Column("start", required=False, default=""), Column("end", required=False, default=""),
    Column("pass_id", required=False, default="", max_chars=MAX_ID_CHARS), NOTE))
REQUESTS = TableSpec("requests", (
    Column("id", meaning="a request id", max_chars=MAX_ID_CHARS), Column("asset", "name", name_of="asset"),
    Column("orbiter", required=False, default=""),
    Column("kind", "choice", required=False, default="return", choices=("return", "forward")),
    Column("start", required=False, default=""), Column("end", required=False, default=""),
    Column("sol", required=False, default=""), Column("lmst_window", required=False, default=""),
    Column("priority", "choice", required=False, default="required", choices=("required", "preferred")),
    Column("min_mbit", "number", required=False, default="0", minimum=0.0, maximum=MAX_BACKLOG_MBIT,
           meaning="megabits"),
    Column("min_duration_s", "number", required=False, default="0", minimum=0.0, maximum=86400.0,
           meaning="seconds"),
    Column("points", "number", required=False, default="0", minimum=0.0, maximum=1e9, meaning="points"), NOTE))


def _opt_time(text: str, source: str, where: str) -> float | None:
    return _time_cell(text, source, where)[1] if text else None


def read_outages(src, *, orbiters: Iterable[str] | None = None, stations: Iterable[str] | None = None,
                 assets: Iterable[str] | None = None) -> tuple:
    """Outages (``target, what, start, end[, note][, orbiter]``) as :class:`relay.operations.Outage`
    records; ``target`` an orbiter, station or asset of the scenario, end after start."""
    known = None
    if orbiters is not None or stations is not None or assets is not None:
        known = {"target": [*(orbiters or ()), *(stations or ()), *(assets or ())]}
    df = read_table(src, OUTAGES, known=known)
    src_name, label = df.attrs["source"], df.attrs["label"]
    return tuple(outage_record(r.target, r.what, r.start_tdb_s, r.end_tdb_s, note=r.note, orbiter=r.orbiter or None,
                               source=src_name, where=f"{label} {r.line}", orbiters=orbiters, stations=stations,
                               assets=assets) for r in df.itertuples(index=False))


def read_forbid(src, *, orbiters: Iterable[str] | None = None, assets: Iterable[str] | None = None) -> tuple:
    """Vetoes (``orbiter, asset, start, end, pass_id, note``; either of orbiter and asset may be
    empty, or a pass_id alone) as :class:`relay.operations.Veto` records."""
    df = read_table(src, FORBID)
    src_name, label = df.attrs["source"], df.attrs["label"]
    out = []
    for r in df.itertuples(index=False):
        where = f"{label} {r.line}"
        out.append(veto_record(r.orbiter or None, r.asset or None, _opt_time(r.start, src_name, where + ", column start"),
                               _opt_time(r.end, src_name, where + ", column end"), r.pass_id or None, r.note,
                               source=src_name, where=where, orbiters=orbiters, assets=assets))
    return tuple(out)


def read_requests(src, *, assets=None, orbiters: Iterable[str] | None = None) -> tuple:
    """Relay requests (``id, asset[, orbiter], kind, start, end`` or ``sol, lmst_window``,
    ``priority, min_mbit, min_duration_s, points, note``) as :class:`relay.operations.Request`
    records.  ``assets``: names, or a mapping name -> :class:`relay.sols.SolClock` (needed for
    requests by sol; ``lmst_window`` as ``13:00-15:30`` or ``13-15.5``)."""
    names = list(assets) if assets is not None else None
    df = read_table(src, REQUESTS, known={"asset": names})
    src_name, label = df.attrs["source"], df.attrs["label"]
    out = []
    for r in df.itertuples(index=False):
        where = f"{label} {r.line}"
        sol = int(number_cell(r.sol, src_name, where + ", column sol", minimum=-100000, maximum=100000,
                              meaning="a sol number")) if r.sol else None
        if sol is not None and float(r.sol) != sol:
            raise RelayInputError(f"got {excerpt(r.sol)}, expected a whole sol number", source=src_name,
                                  where=where + ", column sol")
        lmst = parse_lmst_window(r.lmst_window, src_name, where + ", column lmst_window") if r.lmst_window else None
        if (sol is None) != (lmst is None):
            raise RelayInputError("a request by sol needs both sol and lmst_window", source=src_name, where=where)
        if sol is not None and (r.start or r.end):
            raise RelayInputError("a request gives start and end, or sol and lmst_window, not both",
                                  source=src_name, where=where)
        out.append(request_record(r.id, r.asset, r.kind, _opt_time(r.start, src_name, where + ", column start"),
                                  _opt_time(r.end, src_name, where + ", column end"), r.priority,
                                  orbiter=r.orbiter or None, min_mbit=r.min_mbit, min_duration_s=r.min_duration_s,
                                  points=r.points, note=r.note, sol=sol, lmst_window=lmst, source=src_name,
                                  where=where, orbiters=orbiters, assets=assets))
    check_unique_ids(out)
    return tuple(out)
