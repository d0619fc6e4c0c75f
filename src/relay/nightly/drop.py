"""The drop folder: new orbit files, station bookings and asset backlogs for the next run.

Only regular files are read: symbolic links (never followed), directories,
devices and files whose name starts with a dot (uploads in progress, written
as ``.name.part`` and renamed when complete) are reported and ignored.

* ``*.oem`` (CCSDS OEM, one object per file) and ``*.bsp`` (SPICE SPK, one
  spacecraft) orbit files.  A file belongs to the orbiter whose name equals
  the orbit's own name (the OEM ``OBJECT_NAME``, the SPK body's SPICE name),
  case and punctuation ignored; otherwise to the orbiter whose name prefixes
  the file name (``MRO_20261122.oem``, ``mars-express-v2.bsp``: the name then
  ``_``, ``-``, ``.`` or the end; the longest matching name wins).  Of an
  orbiter's files, those covering the whole horizon plus
  :data:`COVERAGE_MARGIN_S` either side are candidates, and the newest wins:
  by the OEM ``CREATION_DATE`` (else the modification time), then the latest
  coverage start, then the name.  Every orbit file is read, so a corrupt one
  stops the run (exit 2).
* ``bookings*.csv`` (``orbiter, station, start, end``): the last by name is used.
* ``backlog*.csv`` (``asset, time, backlog_mbit``): all files, every row checked.
* ``outage*.csv``, ``request*.csv``, ``forbid*.csv`` (issue 11's operational inputs, read by
  :func:`relay.inputs.read_outages`, ``read_requests``, ``read_forbid``): all files, every row
  checked; their records join the scenario's own.  Records that do not overlap the run's horizon
  are left out (and noted), and so are vetoes by pass id (a pass id names a pass of one plan):
  :func:`relay.nightly.horizon.operations_within`.
* ``ack*.csv`` (``violation, until[, note]``): acknowledgements of known problems
  (:mod:`relay.nightly.alerts`), every row checked; in force for the runs whose plan starts
  before ``until``, and stored in the archive with the run.

:data:`DROP_FILE_KINDS` lists every kind (docs/nightly.md and ``relay nightly --help`` say the same).

An error in a drop file names the file and line and quotes at most a short,
escaped excerpt of the offending line (:func:`bounded`), never more of a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RelayInputError
from ..inputs import read_backlog_table, read_bookings, read_forbid, read_outages, read_requests
from ..operations import Operations, merge
from ..orbits.oem import read_oem
from ..orbits.spk import read_spk
from ..timescales import iso_z, tdb_s_to_iso
from .alerts import read_ack_file

#: Margin of orbit-file coverage required beyond each end of the horizon (light time, edge passes).
COVERAGE_MARGIN_S = 3600.0
#: The longest error detail a drop file may produce (a short excerpt of one line at most).
MAX_DETAIL_CHARS = 300
#: every kind of drop-folder file: its name pattern(s) and what it holds
DROP_FILE_KINDS = (
    (("*.oem", "*.bsp"), "orbit files (CCSDS OEM, SPICE SPK), one orbiter each"),
    (("bookings*.csv",), "station bookings: orbiter, station, start, end (the last by name)"),
    (("backlog*.csv",), "asset backlogs: asset, time, backlog_mbit"),
    (("outage*.csv",), "outages of orbiters, stations or assets (as relay plan --outages)"),
    (("request*.csv",), "relay requests of assets (as relay plan --requests)"),
    (("forbid*.csv",), "vetoes of sessions (as relay plan --forbid)"),
    (("ack*.csv",), "acknowledgements of known problems: violation, until[, note] (as relay ack)"),
)


def sha256_file(path: str | Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def bounded(exc: RelayInputError) -> RelayInputError:
    """The error with its detail cut to :data:`MAX_DETAIL_CHARS` and control characters escaped."""
    detail = "".join(c if c.isprintable() else repr(c)[1:-1] for c in exc.detail)
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[:MAX_DETAIL_CHARS] + "... (cut)"
    return RelayInputError(detail, source=exc.source, where=exc.where)


def _norm(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", str(name).upper()).strip("_")


def orbiter_for_file(path: Path, own_name: str | None, orbiters: list[str]) -> tuple[str | None, str]:
    """(orbiter, rule) of a drop-folder orbit file; see the module docstring."""
    if own_name:
        for o in orbiters:
            if _norm(o) == _norm(own_name):
                return o, "object name"
    stem = _norm(path.name.rsplit(".", 1)[0])
    best = None
    for o in orbiters:
        n = _norm(o)
        if n and (stem == n or stem.startswith(n + "_")):
            if best is None or len(n) > len(_norm(best)):
                best = o
    return best, "file name"


@dataclass
class OrbitFile:
    path: Path
    kind: str  # oem | spk
    own_name: str | None
    orbiter: str | None
    rule: str
    coverage: list[tuple[float, float]]
    created: str  # ISO UTC, from the file or its mtime
    created_from: str
    sha256: str
    bytes: int
    covers: bool = False
    status: str = ""  # used | superseded by X | not used: ... | ignored: ...

    def detail(self) -> dict:
        return {"kind": self.kind, "object": self.own_name, "orbiter": self.orbiter, "rule": self.rule,
                "coverage": [[tdb_s_to_iso(a), tdb_s_to_iso(b)] for a, b in self.coverage],
                "created": self.created, "created_from": self.created_from, "status": self.status}


@dataclass
class DropInputs:
    orbit_files: list[OrbitFile] = field(default_factory=list)
    overrides: dict = field(default_factory=dict)
    bookings: Path | None = None
    bookings_files: list[Path] = field(default_factory=list)
    backlogs: Any = None  # DataFrame asset, time, time_tdb_s, backlog_mbit
    backlog_files: list[Path] = field(default_factory=list)
    operation_files: list[Path] = field(default_factory=list)
    operations: Any = None  # relay.operations.Operations of every operation file, or None
    ack_files: list[Path] = field(default_factory=list)
    acks: list[dict] = field(default_factory=list)  # relay.nightly.alerts.read_ack_file's records
    ignored: list[tuple[Path, str]] = field(default_factory=list)

    def record(self) -> dict:
        """Which files were used or ignored (the JSON log's ``drop`` event)."""
        return {"orbit": {f.path.name: f.status for f in self.orbit_files},
                "bookings": {p.name: "used" if p == self.bookings else f"superseded by {self.bookings.name}"
                             for p in self.bookings_files},
                "backlogs": {p.name: "read" for p in self.backlog_files},
                "operations": {p.name: "read" for p in self.operation_files},
                "acks": {p.name: "read" for p in self.ack_files},
                "ignored": {p.name: why for p, why in self.ignored}}


def _created_of(path: Path, header: dict | None) -> tuple[str, str]:
    raw = (header or {}).get("CREATION_DATE")
    if raw:
        s = str(raw).strip().rstrip("Z")
        try:
            d = datetime.fromisoformat(s)
            d = d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)
            return iso_z(d, 6), "CREATION_DATE"
        except ValueError:
            pass
    d = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return iso_z(d, 6), "mtime"


def read_orbit_file(path: Path, orbiters: list[str]) -> OrbitFile:
    kind = "oem" if path.suffix.lower() == ".oem" else "spk"
    if kind == "oem":
        check_complete_text(path)
        eph = read_oem(path)
        own, coverage, header = eph.segments[0].object_name, list(eph.intervals_tdb_s), eph.header
    else:
        eph = read_spk(path)
        own, header = eph.name, None
        coverage = [(float(a), float(b)) for a, b in eph.intervals_tdb_s]
        eph.close()
    orbiter, rule = orbiter_for_file(path, own, orbiters)
    created, created_from = _created_of(path, header)
    digest, size = sha256_file(path)
    return OrbitFile(path, kind, own, orbiter, rule, coverage, created, created_from, digest, size)


def check_complete_text(path: Path) -> None:
    """A text orbit file must end with a line end: one that does not was cut short (an upload
    still running, a full disk), even when its last line still parses as a number."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            raise RelayInputError("is empty", source=str(path))
        fh.seek(size - 1)
        if fh.read(1) not in (b"\n", b"\r"):
            fh.seek(0)
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) + 1
            raise RelayInputError("the last line has no line end: the file looks truncated (an upload "
                                  "still in progress?); drop-folder files must be complete, written under a "
                                  "name starting with a dot and renamed when done",
                                  source=str(path), where=f"line {lines}")


def _entries(drop: Path, out: DropInputs) -> list[Path]:
    """The drop folder's regular files, by name; everything else goes to ``out.ignored``."""
    files = []
    with os.scandir(drop) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.name.startswith("."):
            continue
        st = e.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            out.ignored.append((Path(e.path), "a symbolic link: the drop folder takes regular files only "
                                              "and follows no link"))
        elif not stat.S_ISREG(st.st_mode):
            out.ignored.append((Path(e.path), "not a regular file"))
        else:
            files.append(Path(e.path))
    return files


def scan_drop(drop: str | Path, orbiters: list[str], assets: list[str], t0: float, t1: float,
              stations: list[str] | None = None, clocks=None) -> DropInputs:
    """Read and check every file of the drop folder (CSV files by :mod:`relay.inputs`'s readers);
    choose the orbit file of each orbiter.  ``clocks`` (asset name -> SolClock) reads requests
    given by sol."""
    drop = Path(drop)
    if not drop.is_dir():
        raise RelayInputError("the drop folder does not exist (or is not a directory)", source=str(drop))
    out = DropInputs()
    for p in _entries(drop, out):
        low = p.name.lower()
        try:
            if low.endswith((".oem", ".bsp")):
                out.orbit_files.append(read_orbit_file(p, orbiters))
            elif low.endswith(".csv") and low.startswith("booking"):
                read_bookings(p, orbiters=orbiters, stations=stations)
                out.bookings_files.append(p)
            elif low.endswith(".csv") and low.startswith("backlog"):
                out.backlog_files.append(p)
            elif low.endswith(".csv") and low.startswith(("outage", "request", "forbid")):
                out.operations = _read_operations(p, out.operations, orbiters, assets, stations, clocks)
                out.operation_files.append(p)
            elif low.endswith(".csv") and low.startswith("ack"):
                out.acks.extend(read_ack_file(p))
                out.ack_files.append(p)
            else:
                kinds = [pat for pats, _ in DROP_FILE_KINDS for pat in pats]
                out.ignored.append((p, f"not a drop-folder file kind ({', '.join(kinds[:-1])} or {kinds[-1]})"))
        except RelayInputError as exc:
            raise bounded(exc) from None
    if out.bookings_files:
        out.bookings = out.bookings_files[-1]
    if out.backlog_files:
        import pandas as pd

        try:
            frames = [read_backlog_table(p, assets)[["asset", "time", "time_tdb_s", "backlog_mbit"]]
                      for p in out.backlog_files]
        except RelayInputError as exc:
            raise bounded(exc) from None
        df = pd.concat(frames, ignore_index=True)
        out.backlogs = df.sort_values(["time", "asset"], kind="mergesort").reset_index(drop=True)
    _choose_orbits(out, orbiters, t0, t1)
    return out


def _read_operations(p: Path, ops, orbiters, assets, stations, clocks):
    """``ops`` with the records of one outage*/request*/forbid* file added."""
    low = p.name.lower()
    if low.startswith("outage"):
        new = Operations(outages=read_outages(p, orbiters=orbiters, stations=stations, assets=assets))
    elif low.startswith("request"):
        new = Operations(requests=read_requests(p, assets=clocks if clocks is not None else assets,
                                                orbiters=orbiters))
    else:
        new = Operations(forbid=read_forbid(p, orbiters=orbiters, assets=assets))
    return merge(ops, new)


def _choose_orbits(out: DropInputs, orbiters: list[str], t0: float, t1: float) -> None:
    lo, hi = t0 - COVERAGE_MARGIN_S, t1 + COVERAGE_MARGIN_S
    by_orbiter: dict[str, list[OrbitFile]] = {}
    for f in out.orbit_files:
        if f.orbiter is None:
            f.status = "ignored: names no orbiter of the scenario"
            out.ignored.append((f.path, f"orbit of {f.own_name!r} matches no orbiter ({', '.join(orbiters)})"))
            continue
        f.covers = any(a <= lo and b >= hi for a, b in f.coverage)
        if not f.covers:
            f.status = "not used: does not cover the horizon"
        by_orbiter.setdefault(f.orbiter, []).append(f)
    for name in orbiters:
        cands = [f for f in by_orbiter.get(name, []) if f.covers]
        if not cands:
            continue
        cands.sort(key=lambda f: (f.created, max(a for a, _ in f.coverage), f.path.name))
        best = cands[-1]
        best.status = "used"
        for f in cands[:-1]:
            f.status = f"superseded by {best.path.name}"
        out.overrides[f"orbiters.{orbiters.index(name)}.orbit"] = {"type": best.kind,
                                                                   "path": str(best.path.resolve())}
