"""A plan: the chosen sessions, the downlinks, the store fill series and a summary.

:meth:`Plan.save` writes the solver's raw plan to a directory (tests and
scripts; ``relay plan`` and ``relay solve`` write their folder through
:class:`relay.result.PlanResult` instead):

* ``schedule.csv``: one row per session (orbiter, asset, start, end,
  duration_s, volume_mbit, kind, pass_id, option_id, fixed 0/1, start_tdb_s,
  end_tdb_s);
* ``downlinks.csv``: one row per downlink chunk *and data owner*: orbiter,
  station, start, end, volume_mbit, ``asset`` (the asset whose data was sent,
  ``(onboard)`` for data aboard at the start), window_id, chunk_id,
  start_tdb_s, end_tdb_s;
* ``store.csv`` (fill of each orbiter store after each event) and
  ``summary.json``.

The folder ``relay plan`` writes differs in two ways: its schedule.csv
(:func:`relay.result.sessions_table`) writes ``fixed`` as True/False and may
add the asset's local time, and its downlinks.csv has one row per chunk used,
``volume_mbit`` summed over the owners and ``assets`` listing them as
``asset=Mbit`` pairs separated by ``;`` (:func:`relay.result.downlinks_table`;
:func:`relay.result.load_plan_dir` reads it back into :class:`Downlink` rows,
one per owner).  Files are written atomically and deterministically (fixed
column order, sorted rows, fixed number formats).  Times are ISO 8601 UTC
with a Z plus the TDB seconds.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RelayInputError
from ..fileio import write_text
from ..summary import PlanFigures, PlanSummary, SolveReport
from ..timescales import tdb_s_to_iso

ONBOARD = "(onboard)"


@dataclass(frozen=True)
class Session:
    option_id: str
    pass_id: str
    orbiter: str
    asset: str
    start_tdb_s: float
    end_tdb_s: float
    volume_mbit: float
    kind: str = "return"
    fixed: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_tdb_s - self.start_tdb_s


@dataclass(frozen=True)
class Downlink:
    chunk_id: str
    window_id: str
    orbiter: str
    station: str
    asset: str
    start_tdb_s: float
    end_tdb_s: float
    volume_mbit: float


@dataclass(frozen=True)
class StorePoint:
    orbiter: str
    tdb_s: float
    fill_mbit: float


@dataclass
class Plan:
    """The solver's plan: sessions, downlinks, store series, how the solve went (``report``)
    and what the plan holds (``figures``; None for a plan read back without its summary)."""

    sessions: list[Session]
    downlinks: list[Downlink]
    store: list[StorePoint] = field(default_factory=list)
    report: SolveReport | None = None
    figures: PlanFigures | None = None

    def __post_init__(self):
        self.sessions = sorted(self.sessions, key=lambda s: (s.start_tdb_s, s.orbiter, s.asset, s.option_id))
        self.downlinks = sorted(self.downlinks, key=lambda d: (d.start_tdb_s, d.orbiter, d.chunk_id, d.asset))
        self.store = sorted(self.store, key=lambda p: (p.orbiter, p.tdb_s))

    @property
    def delivered_mbit(self) -> float:
        return sum(d.volume_mbit for d in self.downlinks)

    # -- files ---------------------------------------------------------------
    def save(self, out_dir: str | Path) -> list[Path]:
        """Write schedule.csv, downlinks.csv, store.csv and summary.json into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)

        def iso(ts):
            return list(tdb_s_to_iso(ts)) if ts else []

        rows = []
        si, ei = iso([s.start_tdb_s for s in self.sessions]), iso([s.end_tdb_s for s in self.sessions])
        for s, a, b in zip(self.sessions, si, ei):
            rows.append([s.orbiter, s.asset, a, b, _f(s.duration_s, 3), _f(s.volume_mbit), s.kind, s.pass_id,
                         s.option_id, int(s.fixed), _f(s.start_tdb_s, 3), _f(s.end_tdb_s, 3)])
        files = [_write_csv(out / "schedule.csv", ["orbiter", "asset", "start", "end", "duration_s", "volume_mbit",
                                                    "kind", "pass_id", "option_id", "fixed", "start_tdb_s",
                                                    "end_tdb_s"], rows)]
        rows = []
        si, ei = iso([d.start_tdb_s for d in self.downlinks]), iso([d.end_tdb_s for d in self.downlinks])
        for d, a, b in zip(self.downlinks, si, ei):
            rows.append([d.orbiter, d.station, a, b, _f(d.volume_mbit), d.asset, d.window_id, d.chunk_id,
                         _f(d.start_tdb_s, 3), _f(d.end_tdb_s, 3)])
        files.append(_write_csv(out / "downlinks.csv", ["orbiter", "station", "start", "end", "volume_mbit", "asset",
                                                        "window_id", "chunk_id", "start_tdb_s", "end_tdb_s"], rows))
        ti = iso([p.tdb_s for p in self.store])
        rows = [[p.orbiter, t, _f(p.tdb_s, 3), _f(p.fill_mbit)] for p, t in zip(self.store, ti)]
        files.append(_write_csv(out / "store.csv", ["orbiter", "time", "tdb_s", "fill_mbit"], rows))
        if self.report is not None and self.figures is not None:
            summary = PlanSummary(solve=self.report, figures=self.figures).to_json()
            files.append(_atomic(out / "summary.json",
                                 json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n"))
        return files

    @classmethod
    def load(cls, out_dir: str | Path) -> "Plan":
        """Read a plan written by :meth:`save` (times from the ``*_tdb_s`` columns)."""
        out = Path(out_dir)
        sessions = [Session(option_id=r["option_id"], pass_id=r["pass_id"], orbiter=r["orbiter"], asset=r["asset"],
                            start_tdb_s=float(r["start_tdb_s"]), end_tdb_s=float(r["end_tdb_s"]),
                            volume_mbit=float(r["volume_mbit"]), kind=r["kind"], fixed=r["fixed"] == "1")
                    for r in _read_csv(out / "schedule.csv")]
        downlinks = [Downlink(chunk_id=r["chunk_id"], window_id=r["window_id"], orbiter=r["orbiter"],
                              station=r["station"], asset=r["asset"], start_tdb_s=float(r["start_tdb_s"]),
                              end_tdb_s=float(r["end_tdb_s"]), volume_mbit=float(r["volume_mbit"]))
                     for r in _read_csv(out / "downlinks.csv")]
        store = []
        if (out / "store.csv").exists():
            store = [StorePoint(r["orbiter"], float(r["tdb_s"]), float(r["fill_mbit"]))
                     for r in _read_csv(out / "store.csv")]
        try:
            summary = PlanSummary.from_json(json.loads((out / "summary.json").read_text(encoding="utf-8")))
        except FileNotFoundError:
            return cls(sessions, downlinks, store)
        except json.JSONDecodeError as exc:
            raise RelayInputError(f"not valid JSON: {exc.msg}", source=str(out / "summary.json")) from None
        return cls(sessions, downlinks, store, summary.solve, summary.figures)


def _f(x: float, places: int = 6) -> str:
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _atomic(path: Path, text: str) -> Path:
    write_text(path, text)
    return path


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return _atomic(path, buf.getvalue())


def _read_csv(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        raise RelayInputError("missing plan file", source=str(path)) from None


def store_series(sessions, downlinks, initial_fill_mbit: dict[str, float], start_tdb_s: float) -> list[StorePoint]:
    """Fill of each orbiter store after each event (sessions in at their end, downlinks out at their end)."""
    events: dict[str, list[tuple[float, int, float]]] = {}
    for s in sessions:
        events.setdefault(s.orbiter, []).append((s.end_tdb_s, 0, s.volume_mbit))
    for d in downlinks:
        events.setdefault(d.orbiter, []).append((d.end_tdb_s, 1, -d.volume_mbit))
    out = []
    for orb, fill0 in sorted(initial_fill_mbit.items()):
        fill = fill0
        out.append(StorePoint(orb, start_tdb_s, round(fill, 6)))
        by_t: dict[float, float] = {}
        for t, _, dv in sorted(events.get(orb, [])):
            by_t[t] = by_t.get(t, 0.0) + dv
        for t in sorted(by_t):
            fill += by_t[t]
            out.append(StorePoint(orb, t, round(fill, 6)))
    return out


__all__ = ["Plan", "Session", "Downlink", "StorePoint", "ONBOARD", "store_series"]
