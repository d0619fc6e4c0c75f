"""CCSDS Orbit Ephemeris Messages (OEM), text (KVN) form: reader and writer.

The format is CCSDS 502.0-B-2 (OEM version 2.0; versions 1.0 and 3.0 read the
same way here, 3.0's extra header keywords MESSAGE_ID and CLASSIFICATION are
accepted).  A message is a header, then one or more segments, each a
``META_START``/``META_STOP`` block followed by data lines
``epoch x y z vx vy vz [ax ay az]`` (km, km/s, km/s^2) and optional
``COVARIANCE_START``/``COVARIANCE_STOP`` blocks (skipped).  ``COMMENT`` lines
may appear anywhere.

What relay accepts, and what it does with it:

* ``CENTER_NAME``: ``MARS``, or ``MARS BARYCENTER`` (accepted as Mars: the
  planetary ephemerides put Mars's centre at the Mars barycentre, the
  4 -> 499 segment of de421 is identically zero, and the moons' share is
  below a metre).  Anything else is refused.
* ``REF_FRAME``: ``ICRF``; ``EME2000`` (rotated to the ICRF by the IERS frame
  bias, about 23 mas); ``MCI`` (also written ``MARS_MCI``,
  ``MARS_MEAN_EQUATOR``, ``MARS_MEAN``): Mars's mean equator and IAU node of
  ``REF_FRAME_EPOCH`` (J2000 when absent), see :mod:`relay.orbits.frames`.
* ``TIME_SYSTEM``: ``UTC``, ``TDB``, ``TT``, ``TAI`` (Skyfield's builtin
  timescale and leap-second table).
* ``INTERPOLATION``: ``LAGRANGE`` or ``HERMITE`` with ``INTERPOLATION_DEGREE``
  (Lagrange degree 7 when the message declares none); see
  :mod:`relay.orbits.interp` for what the degree means for Hermite.
* Usable span of a segment: ``USEABLE_START_TIME``..``USEABLE_STOP_TIME`` when
  given, else ``START_TIME``..``STOP_TIME``, clipped to the data.  Where the
  usable spans of two segments overlap, the later segment in the file is
  used (it is usually the newer solution); a time in no segment's span is a
  :class:`~relay.errors.CoverageError` naming the covered intervals.
* Accelerations, when present, are read and ignored.
* Checks beyond the format: epochs are real calendar times (``2026-02-30`` is
  refused naming its line; epochs are parsed in integers, never by numpy's
  string-to-datetime conversion, which crashed on such dates), positions lie
  between Mars's polar radius and its sphere of influence (577,000 km), no two
  states are further apart than an eighth of the orbital period there (a hole
  interpolation would fill with an invented orbit), and a last data line
  without a line end is refused as truncated.  Files are read only when they
  are regular files of at most :data:`MAX_OEM_BYTES`.

A maintained reader was considered instead (issue 9): ``oem`` 0.4.5 from the
package index, run on the cases of ``tests/test_oem.py``, accepts 8 of the 19
malformed files this reader refuses (unknown frame, centre, time system and
interpolation, too few points for the degree, a bad version, an epoch after
STOP_TIME), and also all-zero positions and a cut last number; its errors name
no file and often no line ("Malformed data section" for 2026-02-30), and it
brings astropy.  It is not adopted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date as _date, datetime, timedelta as _timedelta, timezone
from pathlib import Path

import numpy as np

from ..errors import CoverageError, RelayInputError
from ..fileio import read_bytes
from ..mars import GM_KM3_S2
from ..timescales import skyfield_to_tdb_s, tdb_s_to_skyfield, timescale
from .base import coverage_message
from .frames import MARS_MEAN_EQUATOR_NAMES, eme2000_to_icrf_matrix, mars_mean_equator_to_icrf_matrix
from .interp import StateInterpolator, nodes_needed

__all__ = ["OemEphemeris", "OemSegment", "read_oem", "write_oem"]

DEFAULT_INTERPOLATION = "LAGRANGE"
DEFAULT_DEGREE = 7
#: Times this close outside a segment's usable span are still served (epochs in
#: files are rounded, typically to the microsecond; the polynomial is extended).
_SLACK_S = 1e-6

_HEADER_KEYS = {"CCSDS_OEM_VERS", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "CLASSIFICATION"}
_META_KEYS = {
    "OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM",
    "START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME",
    "INTERPOLATION", "INTERPOLATION_DEGREE",
}
_META_REQUIRED = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
                  "START_TIME", "STOP_TIME")
_CENTERS = ("MARS", "MARS BARYCENTER", "MARS BARYCENTRE")
_FRAMES = ("ICRF", "EME2000") + MARS_MEAN_EQUATOR_NAMES
_TIME_SYSTEMS = ("UTC", "TDB", "TT", "TAI")
_SUPPORTED_VERSIONS = ("1.0", "2.0", "3.0")
#: Lines that open or close a block; anything else in a data section is a data line.
_BLOCK_MARKERS = {"META_START", "META_STOP", "COVARIANCE_START", "COVARIANCE_STOP"}

_EPOCH_RE = re.compile(
    r"^(\d{4})-(?:(\d{2})-(\d{2})|(\d{3}))T(\d{2}):(\d{2}):(\d{2}(?:\.\d*)?)Z?$"
)
_EPOCH_HELP = "an epoch such as 2026-11-23T00:00:00.000 or 2026-327T00:00:00.000"
_DATA_HELP = ("a data line 'epoch x y z vx vy vz' (km, km/s) with optional accelerations "
              "'ax ay az' (km/s^2)")


# ----------------------------------------------------------------------------- time
_J2000_DATE = np.datetime64("2000-01-01", "D")
#: Largest OEM file relay reads (bytes): a year of 10-second states in KVN is about 500 MB.
MAX_OEM_BYTES = 1024 * 2**20
#: A position is Mars-centred and inside Mars's sphere of influence: from the polar radius (a
#: state nearer the centre is inside Mars) to 577,000 km.
MIN_RADIUS_KM = 3376.20
MAX_RADIUS_KM = 577_000.0
#: Largest step between two data lines, as a fraction of the orbital period there, that the
#: interpolation can bridge (an eighth of an orbit: 45 degrees of anomaly).
MAX_STEP_PERIOD_FRACTION = 0.125


_DATE_CACHE: dict[str, int] = {}


def _epoch_parts(text: str, source: str, lineno: int):
    """``(days since 2000-01-01, seconds of day)`` of an OEM epoch string."""
    date_text, sep, time_text = text.partition("T")
    days = _DATE_CACHE.get(date_text)
    if days is not None and sep:
        parts = time_text.rstrip("Z").split(":")
        if len(parts) == 3 and len(parts[0]) == 2 and len(parts[1]) == 2 and parts[2][:2].isdigit():
            try:
                h, mi, s = int(parts[0]), int(parts[1]), float(parts[2])
            except ValueError:
                h = 99
            if h <= 23 and mi <= 59 and 0.0 <= s < 61.0 and (len(parts[2]) == 2 or parts[2][2] == "."):
                return days, h * 3600.0 + mi * 60.0 + s
    m = _EPOCH_RE.match(text)
    if not m:
        raise RelayInputError(f"got {text!r}, expected {_EPOCH_HELP}", source=source,
                              where=f"line {lineno}")
    year, month, day, doy, hh, mm, ss = m.groups()
    try:
        if doy is not None:
            if not 1 <= int(doy) <= 366:
                raise ValueError("day of year out of range")
            date = _date(int(year), 1, 1) + _timedelta(days=int(doy) - 1)
            if date.year != int(year):
                raise ValueError("day of year out of range")
        else:
            date = _date(int(year), int(month), int(day))   # rejects 2026-02-30
        h, mi, s = int(hh), int(mm), float(ss)
        if h > 23 or mi > 59 or s >= 61.0:
            raise ValueError("time of day out of range")
    except ValueError as exc:
        raise RelayInputError(f"got {text[:40]!r} ({exc}), expected {_EPOCH_HELP}", source=source,
                              where=f"line {lineno}") from None
    days = (date - _date(2000, 1, 1)).days
    if len(_DATE_CACHE) < 100_000:
        _DATE_CACHE[text.partition("T")[0]] = days
    return days, h * 3600.0 + mi * 60.0 + s


def _to_tdb_s(days: np.ndarray, sod: np.ndarray, time_system: str) -> np.ndarray:
    """TDB seconds past J2000 of calendar days (since 2000-01-01) and seconds of day."""
    days = np.asarray(days, dtype=np.int64)
    sod = np.asarray(sod, dtype=float)
    if time_system == "TDB":
        return (days.astype(float) - 0.5) * 86400.0 + sod
    ts = timescale()
    whole = 2451544.5 + days.astype(float)
    if time_system == "TT":
        t = ts.tt_jd(whole, sod / 86400.0)
    elif time_system == "TAI":
        t = ts.tai_jd(whole, sod / 86400.0)
    elif time_system == "UTC":
        # Skyfield's utc() accepts a day count past the month's end and seconds >= 60
        # on a leap-second day.
        t = ts.utc(2000, 1, 1 + days, 0, 0, sod)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(time_system)
    return np.asarray(skyfield_to_tdb_s(t), dtype=float)


def _format_epoch(tdb_s: np.ndarray, time_system: str, places: int = 6) -> list[str]:
    """OEM epoch strings (calendar form, no zone letter) for TDB seconds."""
    tdb_s = np.atleast_1d(np.asarray(tdb_s, dtype=float))
    if time_system == "UTC":
        return [s.rstrip("Z") for s in tdb_s_to_skyfield(tdb_s).utc_iso(places=places)]
    if time_system != "TDB":
        raise ValueError("write_oem writes TIME_SYSTEM UTC or TDB")
    out = []
    unit = 10 ** places
    for v in tdb_s:
        total = round((v + 43200.0) * unit)  # units past 2000-01-01T00:00:00
        days, rem = divmod(total, 86400 * unit)
        date = _J2000_DATE + int(days)
        secs, frac = divmod(rem, unit)
        hh, rest = divmod(secs, 3600)
        mi, ss = divmod(rest, 60)
        out.append(f"{date}T{hh:02d}:{mi:02d}:{ss:02d}.{frac:0{places}d}")
    return out


# ----------------------------------------------------------------------------- model
@dataclass
class OemSegment:
    """One META/data block of an OEM, converted to TDB seconds and Mars-centred ICRF axes."""

    object_name: str
    object_id: str
    center_name: str
    ref_frame: str
    time_system: str
    interpolation: str
    degree: int
    start_tdb_s: float
    stop_tdb_s: float
    line: int  # line of META_START
    meta: dict = field(repr=False)
    t: np.ndarray = field(repr=False)
    pos_km: np.ndarray = field(repr=False)
    vel_km_s: np.ndarray = field(repr=False)
    interpolator: StateInterpolator = field(repr=False)

    @property
    def usable_tdb_s(self) -> tuple[float, float]:
        return self.start_tdb_s, self.stop_tdb_s


class OemEphemeris:
    """An orbiter's ephemeris from an OEM file; implements the Ephemeris protocol."""

    def __init__(self, name: str, segments: list[OemSegment], source: str, header: dict | None = None):
        if not segments:
            raise ValueError("no segments")
        self.name = name
        self.segments = segments
        self.source = source
        self.header = dict(header or {})
        self._starts = np.array([s.start_tdb_s for s in segments])
        self._stops = np.array([s.stop_tdb_s for s in segments])

    @property
    def coverage_tdb_s(self) -> tuple[float, float]:
        return float(self._starts.min()), float(self._stops.max())

    @property
    def intervals_tdb_s(self) -> list[tuple[float, float]]:
        """Covered intervals (usable spans of the segments, merged), sorted."""
        return _merge(list(zip(self._starts, self._stops)))

    def segment_index(self, tdb_s) -> np.ndarray:
        """Index of the segment used for each time (-1 where none covers it)."""
        tdb_s = np.atleast_1d(np.asarray(tdb_s, dtype=float))
        idx = np.full(tdb_s.shape, -1, dtype=np.int64)
        eps = _SLACK_S
        for k in range(len(self.segments) - 1, -1, -1):
            free = idx < 0
            if not free.any():
                break
            inside = free & (tdb_s >= self._starts[k] - eps) & (tdb_s <= self._stops[k] + eps)
            idx[inside] = k
        return idx

    def state_km(self, tdb_s) -> tuple[np.ndarray, np.ndarray]:
        tdb_s = np.atleast_1d(np.asarray(tdb_s, dtype=float))
        idx = self.segment_index(tdb_s)
        if (idx < 0).any():
            bad = float(tdb_s[np.argmax(idx < 0)])
            raise CoverageError(coverage_message(self.name, self.intervals_tdb_s, bad), source=self.source)
        pos = np.empty((tdb_s.size, 3))
        vel = np.empty((tdb_s.size, 3))
        if len(self.segments) == 1:
            seg = self.segments[0]
            pos[:], vel[:] = seg.interpolator(tdb_s)
            return pos, vel
        for k, seg in enumerate(self.segments):
            sel = idx == k
            if sel.any():
                pos[sel], vel[sel] = seg.interpolator(tdb_s[sel])
        return pos, vel

    def __repr__(self) -> str:
        return f"OemEphemeris({self.name!r}, {len(self.segments)} segment(s) from {self.source})"


def _merge(intervals):
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals):
        if out and a <= out[-1][1] + 1e-9:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


# ----------------------------------------------------------------------------- reader
def read_oem(path, name: str | None = None, object_name: str | None = None) -> OemEphemeris:
    """Read a KVN OEM file.

    ``name`` is the orbiter's display name (default: the OBJECT_NAME).  A file
    holding several objects needs ``object_name`` (an OBJECT_NAME or
    OBJECT_ID) to say which one to use.
    """
    path = Path(path)
    source = str(path)
    raw = read_bytes(path, "OEM", MAX_OEM_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RelayInputError("is not a text file; expected a CCSDS OEM in KVN (text) form",
                              source=source) from None
    header, raw_segments = _parse(text, source)
    tail = text.rstrip(" \t")
    if raw_segments and raw_segments[-1]["data"] and tail and not tail.endswith(("\n", "\r")):
        last = raw_segments[-1]["data"][-1]
        if text.rstrip().endswith(last[1]):
            raise RelayInputError("the last data line has no line end: the file looks truncated (its last "
                                  "number may be cut); expected every line to end with a newline",
                                  source=source, where=f"line {last[0]}")
    if not raw_segments:
        raise RelayInputError("has no META_START block; expected at least one segment "
                              "(META_START ... META_STOP followed by data lines)", source=source)
    segments = [_build_segment(r, source) for r in raw_segments]

    objects: dict[str, list[OemSegment]] = {}
    for seg in segments:
        objects.setdefault(seg.object_id or seg.object_name, []).append(seg)
    if object_name is not None:
        key = object_name.strip().upper()
        chosen = [s for s in segments if key in (s.object_name.upper(), s.object_id.upper())]
        if not chosen:
            found = ", ".join(sorted({f"{s.object_name} ({s.object_id})" for s in segments}))
            raise RelayInputError(f"has no object {object_name!r}; the file holds {found}", source=source)
    elif len(objects) > 1:
        found = ", ".join(sorted({f"{s.object_name} ({s.object_id})" for s in segments}))
        raise RelayInputError(f"holds several objects ({found}); say which one to use with its "
                              "OBJECT_NAME or OBJECT_ID", source=source)
    else:
        chosen = segments
    return OemEphemeris(name or chosen[0].object_name, chosen, source, header)


def _split_kv(line: str):
    if "=" not in line:
        return None, None
    key, _, value = line.partition("=")
    value = value.strip()
    # KVN allows units in square brackets after a value
    value = re.sub(r"\s*\[[^\]]*\]\s*$", "", value)
    return key.strip().upper(), value


def _parse(text: str, source: str):
    """Header dict and raw segments: dicts with meta, meta line numbers and data lines.

    Blank and COMMENT lines aside, each line is read in a state: ``start`` (the version line),
    ``header``, ``meta`` (a metadata block), ``data`` (data lines and block markers) or
    ``covariance`` (a covariance block, skipped).
    """
    header: dict[str, str] = {}
    segments: list[dict] = []
    state = "start"
    block_line = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("COMMENT"):
            continue
        if state == "data" and s not in _BLOCK_MARKERS:
            segments[-1]["data"].append((lineno, s))   # the bulk of a file: one line per state
        elif state == "start":
            header["CCSDS_OEM_VERS"] = _version_line(lineno, s, source)
            state = "header"
        elif state == "header":
            state = _header_line(header, segments, s, lineno, source)
        elif state == "meta":
            state = _meta_line(segments[-1], s, lineno, source)
        elif state == "data":
            state = _block_marker(segments, s, lineno, source)
            if state == "covariance":
                block_line = lineno
        else:
            state = _covariance_line(s, lineno, block_line, source)
    _check_end(state, segments, block_line, source)
    return header, segments


def _version_line(lineno: int, s: str, source: str) -> str:
    """The version of the first line, which must be ``CCSDS_OEM_VERS = <a version relay reads>``."""
    if s.startswith("<"):
        raise RelayInputError("is an XML document; relay reads the KVN (text) form of OEM "
                              "(CCSDS 502.0-B-2), starting 'CCSDS_OEM_VERS = 2.0'",
                              source=source, where=f"line {lineno}")
    key, value = _split_kv(s)
    if key != "CCSDS_OEM_VERS":
        # not an OEM at all: its content is not quoted (it may be any file)
        raise RelayInputError("the first line is not 'CCSDS_OEM_VERS = ...'; expected a CCSDS OEM in "
                              "KVN form starting 'CCSDS_OEM_VERS = 2.0'", source=source,
                              where=f"line {lineno}")
    if value not in _SUPPORTED_VERSIONS:
        raise RelayInputError(f"CCSDS_OEM_VERS is {value!r}; relay reads versions "
                              f"{', '.join(_SUPPORTED_VERSIONS)}", source=source,
                              where=f"line {lineno}")
    return value


def _new_segment(lineno: int) -> dict:
    """A raw segment whose META_START is at ``lineno``."""
    return {"meta": {}, "meta_lines": {}, "line": lineno, "data": []}


def _header_line(header: dict, segments: list, s: str, lineno: int, source: str) -> str:
    """Read a header line (a header keyword, or the first META_START); the next state."""
    if s == "META_START":
        for req in ("CREATION_DATE", "ORIGINATOR"):
            if req not in header:
                raise RelayInputError(f"the header has no {req} before META_START; "
                                      "expected CCSDS_OEM_VERS, CREATION_DATE and ORIGINATOR",
                                      source=source, where=f"line {lineno}")
        segments.append(_new_segment(lineno))
        return "meta"
    key, value = _split_kv(s)
    if key not in _HEADER_KEYS:
        raise RelayInputError(f"got {s[:80]!r} in the header, expected one of "
                              f"{', '.join(sorted(_HEADER_KEYS))} or META_START",
                              source=source, where=f"line {lineno}")
    header[key] = value
    return "header"


def _meta_line(seg: dict, s: str, lineno: int, source: str) -> str:
    """Read a line of a metadata block (a metadata keyword, or META_STOP); the next state."""
    if s == "META_STOP":
        _check_meta(seg, source, lineno)
        return "data"
    key, value = _split_kv(s)
    if key not in _META_KEYS:
        raise RelayInputError(f"got {s[:80]!r} in a metadata block, expected "
                              f"'KEYWORD = value' with a keyword of {', '.join(sorted(_META_KEYS))}, "
                              "or META_STOP", source=source, where=f"line {lineno}")
    if not value:
        raise RelayInputError(f"{key} has no value", source=source, where=f"line {lineno}")
    seg["meta"][key] = value
    seg["meta_lines"][key] = lineno
    return "meta"


def _block_marker(segments: list, s: str, lineno: int, source: str) -> str:
    """Read a block marker met among data lines (a new segment or a covariance block); the next state."""
    if s == "META_START":
        _check_data_count(segments[-1], source, lineno)
        segments.append(_new_segment(lineno))
        return "meta"
    if s == "COVARIANCE_START":
        return "covariance"
    raise RelayInputError(f"got {s} with no matching start line", source=source,
                          where=f"line {lineno}")


def _covariance_line(s: str, lineno: int, block_line: int, source: str) -> str:
    """Skip a line of the covariance block opened at ``block_line``; the next state."""
    if s == "COVARIANCE_STOP":
        return "data"
    if s == "META_START":
        raise RelayInputError(f"the covariance block opened at line {block_line} has no "
                              "COVARIANCE_STOP before this META_START", source=source,
                              where=f"line {lineno}")
    return "covariance"


def _check_end(state: str, segments: list, block_line: int, source: str) -> None:
    """The file may end only after a segment's data lines (or in its header)."""
    if state == "start":
        raise RelayInputError("is empty; expected a CCSDS OEM starting 'CCSDS_OEM_VERS = 2.0'",
                              source=source)
    if state == "meta":
        raise RelayInputError(f"ends inside the metadata block opened at line {segments[-1]['line']} "
                              "(no META_STOP); the file looks truncated", source=source)
    if state == "covariance":
        raise RelayInputError(f"ends inside the covariance block opened at line {block_line} "
                              "(no COVARIANCE_STOP); the file looks truncated", source=source)
    if segments:
        _check_data_count(segments[-1], source, None)


def _check_meta(seg: dict, source: str, lineno: int) -> None:
    meta = seg["meta"]
    missing = [k for k in _META_REQUIRED if k not in meta]
    if missing:
        raise RelayInputError(f"the metadata block opened at line {seg['line']} has no "
                              f"{', '.join(missing)}; expected all of {', '.join(_META_REQUIRED)}",
                              source=source, where=f"line {lineno}")


def _check_data_count(seg: dict, source: str, lineno: int | None) -> None:
    if not seg["data"]:
        raise RelayInputError(f"the segment whose metadata starts at line {seg['line']} has no data "
                              f"lines; expected {_DATA_HELP}", source=source,
                              where=f"line {lineno}" if lineno else None)


def _meta_choice(seg: dict, key: str, allowed, source: str, what: str) -> str:
    value = " ".join(seg["meta"][key].upper().split())
    if value not in allowed:
        raise RelayInputError(f"{key} is {seg['meta'][key]!r}; relay reads {what}: "
                              f"{', '.join(allowed)}", source=source,
                              where=f"line {seg['meta_lines'][key]}")
    return value


def _meta_time(seg: dict, key: str, time_system: str, source: str) -> float:
    days, sod = _epoch_parts(seg["meta"][key], source, seg["meta_lines"][key])
    return float(_to_tdb_s(np.array([days]), np.array([sod]), time_system)[0])


def _build_segment(seg: dict, source: str) -> OemSegment:
    """An OemSegment of a raw segment: metadata checked, epochs in TDB, states on ICRF axes."""
    meta = seg["meta"]
    center = _meta_choice(seg, "CENTER_NAME", _CENTERS, source, "Mars-centred orbits, CENTER_NAME")
    frame = _meta_choice(seg, "REF_FRAME", _FRAMES, source, "the inertial frames")
    tsys = _meta_choice(seg, "TIME_SYSTEM", _TIME_SYSTEMS, source, "the time systems")
    method, degree = _interpolation(seg, source)
    start, stop, ustart, ustop = _declared_spans(seg, tsys, source)
    t, values = _segment_states(seg, tsys, start, stop, source)
    need = nodes_needed(method, degree)
    if len(t) < need:
        raise RelayInputError(f"the segment whose metadata starts at line {seg['line']} has {len(t)} "
                              f"data line(s), but {method} interpolation of degree {degree} needs at "
                              f"least {need}", source=source, where=f"line {seg['data'][-1][0]}")
    pos, vel = _to_icrf(values[:, :3], values[:, 3:], frame, seg, tsys, source)
    _check_states(t, values, seg["data"], source)
    ustart = max(ustart, float(t[0]))
    ustop = min(ustop, float(t[-1]))
    if ustop < ustart:
        raise RelayInputError("the usable span of the segment does not overlap its data",
                              source=source, where=f"line {seg['line']}")
    return OemSegment(
        object_name=meta["OBJECT_NAME"], object_id=meta["OBJECT_ID"], center_name=center,
        ref_frame=frame, time_system=tsys, interpolation=method, degree=degree,
        start_tdb_s=ustart, stop_tdb_s=ustop, line=seg["line"], meta=dict(meta),
        t=t, pos_km=pos, vel_km_s=vel,
        interpolator=StateInterpolator(t, pos, vel, method, degree),
    )


def _interpolation(seg: dict, source: str) -> tuple[str, int]:
    """``(method, degree)`` of a segment's INTERPOLATION and INTERPOLATION_DEGREE (defaults when absent)."""
    meta = seg["meta"]
    method = DEFAULT_INTERPOLATION
    degree = DEFAULT_DEGREE
    if "INTERPOLATION" in meta:
        method = _meta_choice(seg, "INTERPOLATION", ("LAGRANGE", "HERMITE"), source,
                              "the interpolation methods")
    if "INTERPOLATION_DEGREE" in meta:
        text = meta["INTERPOLATION_DEGREE"]
        if not re.fullmatch(r"\d+", text) or not 1 <= int(text) <= 31:
            raise RelayInputError(f"INTERPOLATION_DEGREE is {text!r}; expected a whole number "
                                  "from 1 to 31", source=source,
                                  where=f"line {seg['meta_lines']['INTERPOLATION_DEGREE']}")
        degree = int(text)
    return method, degree


def _declared_spans(seg: dict, tsys: str, source: str) -> tuple[float, float, float, float]:
    """``(start, stop, usable start, usable stop)`` TDB seconds the metadata declare, in order."""
    meta = seg["meta"]
    start = _meta_time(seg, "START_TIME", tsys, source)
    stop = _meta_time(seg, "STOP_TIME", tsys, source)
    if stop < start:
        raise RelayInputError(f"STOP_TIME {meta['STOP_TIME']} is before START_TIME {meta['START_TIME']}",
                              source=source, where=f"line {seg['meta_lines']['STOP_TIME']}")
    ustart = _meta_time(seg, "USEABLE_START_TIME", tsys, source) if "USEABLE_START_TIME" in meta else start
    ustop = _meta_time(seg, "USEABLE_STOP_TIME", tsys, source) if "USEABLE_STOP_TIME" in meta else stop
    if ustop < ustart:
        raise RelayInputError(f"USEABLE_STOP_TIME {meta.get('USEABLE_STOP_TIME')} is before "
                              f"USEABLE_START_TIME {meta.get('USEABLE_START_TIME')}", source=source,
                              where=f"line {seg['meta_lines'].get('USEABLE_STOP_TIME', seg['line'])}")
    return start, stop, ustart, ustop


def _segment_states(seg: dict, tsys: str, start: float, stop: float, source: str):
    """``(TDB seconds, states as rows x y z vx vy vz)`` of a segment's data lines, in the file's frame;
    the epochs strictly increasing and inside START_TIME..STOP_TIME."""
    meta = seg["meta"]
    lines = seg["data"]
    # a vectorised pass, and a line-by-line one to explain a failure
    parsed = _parse_data_fast(lines)
    if parsed is None:
        parsed = _parse_data_slow(lines, source)
    days, sod, values = parsed
    t = _to_tdb_s(days, sod, tsys)
    steps = np.diff(t)
    if len(lines) > 1 and not np.all(steps > 0):
        k = int(np.argmax(steps <= 0)) + 1
        raise RelayInputError(f"epoch {lines[k][1].split()[0]} is not after the previous one "
                              f"({lines[k - 1][1].split()[0]}, line {lines[k - 1][0]}); expected "
                              "strictly increasing epochs within a segment", source=source,
                              where=f"line {lines[k][0]}")
    tol = 1e-3
    outside = (t < start - tol) | (t > stop + tol)
    if outside.any():
        k = int(np.argmax(outside))
        raise RelayInputError(f"epoch {lines[k][1].split()[0]} lies outside the segment's "
                              f"START_TIME..STOP_TIME ({meta['START_TIME']} to {meta['STOP_TIME']}, "
                              f"metadata at line {seg['line']})", source=source,
                              where=f"line {lines[k][0]}")
    return t, values


def _to_icrf(pos: np.ndarray, vel: np.ndarray, frame: str, seg: dict, tsys: str, source: str):
    """``(pos, vel)`` rotated from the segment's REF_FRAME to the ICRF axes."""
    if frame == "EME2000":
        m = eme2000_to_icrf_matrix()
        pos, vel = pos @ m.T, vel @ m.T
    elif frame in MARS_MEAN_EQUATOR_NAMES:
        epoch = 0.0
        if "REF_FRAME_EPOCH" in seg["meta"]:
            epoch = _meta_time(seg, "REF_FRAME_EPOCH", tsys, source)
        m = mars_mean_equator_to_icrf_matrix(epoch)
        pos, vel = pos @ m.T, vel @ m.T
    return pos, vel


def _check_states(t: np.ndarray, values: np.ndarray, lines, source: str) -> None:
    """Physical checks of a segment's states (in the file's frame; radii do not depend on it):
    every position between :data:`MIN_RADIUS_KM` and :data:`MAX_RADIUS_KM` from Mars's centre,
    and no step between data lines longer than :data:`MAX_STEP_PERIOD_FRACTION` of the orbital
    period there (a hole the interpolation would fill with an invented orbit)."""
    r = np.linalg.norm(values[:, :3], axis=1)
    bad = (r < MIN_RADIUS_KM) | (r > MAX_RADIUS_KM)
    if bad.any():
        k = int(np.argmax(bad))
        where = "inside Mars" if r[k] < MIN_RADIUS_KM else "beyond Mars's sphere of influence"
        raise RelayInputError(
            f"the position {values[k, 0]:.3f} {values[k, 1]:.3f} {values[k, 2]:.3f} km is {r[k]:,.3f} km from "
            f"Mars's centre, {where}; expected Mars-centred positions from {MIN_RADIUS_KM:,.0f} to "
            f"{MAX_RADIUS_KM:,.0f} km (check the units, km, and CENTER_NAME)", source=source,
            where=f"line {lines[k][0]}")
    if len(t) < 2:
        return
    v2 = np.einsum("ij,ij->i", values[:, 3:6], values[:, 3:6])
    inv_a = 2.0 / r - v2 / GM_KM3_S2
    with np.errstate(invalid="ignore", divide="ignore"):
        period = np.where(inv_a > 0, 2 * np.pi * np.sqrt(np.abs(1.0 / inv_a) ** 3 / GM_KM3_S2), np.inf)
    limit = MAX_STEP_PERIOD_FRACTION * np.minimum(period[:-1], period[1:])
    steps = np.diff(t)
    gap = steps > limit
    if gap.any():
        k = int(np.argmax(gap))
        raise RelayInputError(
            f"the data jump {steps[k]:,.1f} s from line {lines[k][0]} to this line, more than "
            f"{MAX_STEP_PERIOD_FRACTION:g} of the orbital period there ({limit[k] / MAX_STEP_PERIOD_FRACTION:,.1f} s): "
            "interpolation cannot bridge it; expected states at most that far apart (start a new segment "
            "after a gap: the time between segments is then reported as not covered)", source=source,
            where=f"line {lines[k + 1][0]}")


_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":")}


def _epochs_fast(epochs: np.ndarray):
    """Vectorised ``(days, seconds of day)`` of calendar epochs of one width, or None."""
    e = np.asarray(epochs).astype("S")
    w = e.dtype.itemsize
    if w < 19 or w == 20 or w > 29:
        return None
    b = e.view(np.uint8).reshape(e.size, w)
    digit = (b >= 48) & (b <= 57)
    expected = np.ones(w, dtype=bool)
    for col, ch in _SEPARATORS.items():
        if not (b[:, col] == ch).all():
            return None
        expected[col] = False
    if w > 19:
        if not (b[:, 19] == ord(".")).all():
            return None
        expected[19] = False
    if not digit[:, expected].all():
        return None
    d = (b - 48).astype(np.int64)

    def num(a, z):
        out = np.zeros(len(d), dtype=np.int64)
        for col in range(a, z):
            out = out * 10 + d[:, col]
        return out

    year, month, day = num(0, 4), num(5, 7), num(8, 10)
    hour, minute, sec = num(11, 13), num(14, 16), num(17, 19)
    # calendar checks in integers (numpy's string-to-datetime conversion crashes on 2026-02-30)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)] + \
        ((month == 2) & leap)
    if not ((month >= 1) & (month <= 12) & (day >= 1) & (day <= mdays) & (hour <= 23) & (minute <= 59)
            & (sec <= 59)).all():
        return None  # impossible dates or a leap second (23:59:60): the line-by-line parse explains
    # days from the civil date (H. Hinnant's days_from_civil), counted from 2000-01-01
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468 - 10957
    frac_digits = w - 20 if w > 19 else 0
    ns = (hour * 3600 + minute * 60 + sec) * 1_000_000_000
    if frac_digits:
        ns = ns + num(20, w) * 10 ** (9 - frac_digits) if frac_digits <= 9 else ns
    return days, ns / 1e9


def _parse_data_fast(lines):
    """``(days, seconds of day, values)`` of well-formed data lines, or None to explain errors."""
    if len(lines) > 5000:
        return _parse_data_pandas(lines)
    fields = [s.split() for _, s in lines]
    width = len(fields[0])
    if width not in (7, 10) or any(len(f) != width for f in fields):
        return None
    arr = np.array(fields)
    try:
        values = arr[:, 1:7].astype(float)
        if width == 10:
            arr[:, 7:].astype(float)
    except ValueError:
        return None
    return _finish_fast(arr[:, 0], values)


def _parse_data_pandas(lines):
    import io

    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO("\n".join(s for _, s in lines)), sep=r"\s+", header=None,
                         engine="c", dtype={0: str}, na_filter=True, comment=None)
    except Exception:
        return None
    if df.shape != (len(lines), 7) and df.shape != (len(lines), 10):
        return None
    num = df.iloc[:, 1:]
    if not all(np.issubdtype(t, np.floating) or np.issubdtype(t, np.integer) for t in num.dtypes):
        return None
    values = num.iloc[:, :6].to_numpy(dtype=float)
    if not np.isfinite(num.to_numpy(dtype=float)).all():
        return None
    return _finish_fast(df[0].to_numpy(dtype=str), values)


def _finish_fast(epochs, values):
    if not np.isfinite(values).all():
        return None
    parts = _epochs_fast(epochs)
    if parts is None:
        return None
    return parts[0], parts[1], values


def _parse_data_slow(lines, source: str):
    n = len(lines)
    days = np.empty(n, dtype=np.int64)
    sod = np.empty(n)
    values = np.empty((n, 6))
    for k, (lineno, s) in enumerate(lines):
        parts = s.split()
        if len(parts) not in (7, 10):
            raise RelayInputError(f"got {s[:120]!r} ({len(parts)} fields), expected {_DATA_HELP}"
                                  + ("; the file looks truncated" if k == n - 1 else ""),
                                  source=source, where=f"line {lineno}")
        days[k], sod[k] = _epoch_parts(parts[0], source, lineno)
        for p in parts[1:]:
            try:
                x = float(p)
            except ValueError:
                raise RelayInputError(f"got {p!r} in {s[:120]!r}, expected a number; {_DATA_HELP}",
                                      source=source, where=f"line {lineno}") from None
            if not math.isfinite(x):
                raise RelayInputError(f"got {p!r} in {s[:120]!r}, expected a finite number; "
                                      f"{_DATA_HELP}", source=source, where=f"line {lineno}")
        values[k] = [float(p) for p in parts[1:7]]
    return days, sod, values


# ----------------------------------------------------------------------------- writer
def write_oem(path, source, *, start_tdb_s: float | None = None, stop_tdb_s: float | None = None,
              step_s: float = 60.0, times_tdb_s=None, object_name: str | None = None,
              object_id: str = "UNKNOWN", originator: str = "relay", time_system: str = "UTC",
              ref_frame: str = "ICRF", interpolation: str = "LAGRANGE", degree: int = 7,
              comments=(), creation_date: str | None = None) -> Path:
    """Write a one-segment KVN OEM (version 2.0), Mars-centred.

    ``source`` is an Ephemeris (sampled at ``times_tdb_s``, or every ``step_s``
    seconds from ``start_tdb_s`` to ``stop_tdb_s``, the stop included) or a
    tuple ``(times_tdb_s, pos_km, vel_km_s)`` of states on ICRF axes.
    ``ref_frame`` is ``ICRF`` or ``EME2000`` (states are rotated to it);
    ``time_system`` is ``UTC`` or ``TDB``.  Numbers are written with 1 mm and
    1 micrometre/s resolution; epochs to the microsecond.
    """
    ref_frame = ref_frame.upper()
    time_system = time_system.upper()
    if ref_frame not in ("ICRF", "EME2000"):
        raise ValueError("write_oem writes REF_FRAME ICRF or EME2000")
    if isinstance(source, tuple):
        t, pos, vel = (np.asarray(x, dtype=float) for x in source)
        name = object_name or "UNKNOWN"
    else:
        if times_tdb_s is not None:
            t = np.asarray(times_tdb_s, dtype=float)
        else:
            if start_tdb_s is None or stop_tdb_s is None:
                raise ValueError("give times_tdb_s, or start_tdb_s and stop_tdb_s")
            count = int(math.floor((stop_tdb_s - start_tdb_s) / step_s + 1e-9))
            t = start_tdb_s + step_s * np.arange(count + 1)
            if t[-1] < stop_tdb_s - 1e-6:
                t = np.append(t, stop_tdb_s)
        pos, vel = source.state_km(t)
        name = object_name or getattr(source, "name", "UNKNOWN")
    t = np.atleast_1d(t)
    pos = np.asarray(pos, dtype=float).reshape(-1, 3)
    vel = np.asarray(vel, dtype=float).reshape(-1, 3)
    if ref_frame == "EME2000":
        m = eme2000_to_icrf_matrix().T
        pos, vel = pos @ m.T, vel @ m.T
    epochs = _format_epoch(t, time_system)
    if creation_date is None:
        creation_date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    out = [
        "CCSDS_OEM_VERS = 2.0",
        *(f"COMMENT {c}" for c in comments),
        f"CREATION_DATE = {creation_date}",
        f"ORIGINATOR = {originator}",
        "",
        "META_START",
        f"OBJECT_NAME = {name}",
        f"OBJECT_ID = {object_id}",
        "CENTER_NAME = MARS",
        f"REF_FRAME = {ref_frame}",
        f"TIME_SYSTEM = {time_system}",
        f"START_TIME = {epochs[0]}",
        f"STOP_TIME = {epochs[-1]}",
        f"INTERPOLATION = {interpolation.upper()}",
        f"INTERPOLATION_DEGREE = {int(degree)}",
        "META_STOP",
        "",
    ]
    rows = np.hstack([pos, vel])
    out.extend(
        f"{e} {r[0]:.6f} {r[1]:.6f} {r[2]:.6f} {r[3]:.9f} {r[4]:.9f} {r[5]:.9f}"
        for e, r in zip(epochs, rows)
    )
    path = Path(path)
    path.write_text("\n".join(out) + "\n")
    return path
