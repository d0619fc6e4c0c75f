"""volumes.npz: what re-planning needs of a plan beside its instance (:class:`ReplanState`).

The link stage's pass table and its :class:`~relay.links.table.VolumeTable`,
the Earth-Mars geometry (light times, for latencies), the planner's settings,
the scenario's station names and the frozen period, written as a zip of .npy
arrays (no pickled object, a fixed zip date: the same plan gives the same
bytes).  Read back member by member: each array's shape, type and size are
checked against its zip member from the .npy header before it is loaded, the
whole inflated size is capped, and its numbers must be finite; anything else
is one :class:`~relay.errors.RelayInputError` naming the file.  Part of the
plan folder (:mod:`relay.planfolder`).
"""
from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import RelayInputError
from .fileio import regular_file
from .ids import LABEL_COLUMN, LabelledVolumes, legacy_pass_label
from .links.table import VolumeTable
from .planning.problem import DownlinkChunk, OutageSpan, SessionOption, VetoSpan
from .planning.settings import PlanningSettings

#: the file of a plan directory that holds the :class:`ReplanState`
STATE_FILE = "volumes.npz"
_STATE_SCHEMA = "relay.replan_state"
#: version 2: passes named by stable ids (relay.ids); a version-1 file (ids ``P00028``) is read
#: with its pass table given those ids (column ``pass_label``), which it then keeps
_STATE_VERSION = 2
_READ_VERSIONS = (1, 2)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)   # fixed: the same plan gives a byte-identical file
#: the largest volumes.npz read (a 60-day horizon of a large network holds a few tens of MB)
MAX_STATE_BYTES = 1 << 30
#: the most its arrays may hold once inflated, and the most arrays it may hold
MAX_STATE_INFLATED_BYTES = 2 << 30
MAX_STATE_MEMBERS = 4096
#: the pass table's columns that must hold numbers (the others may be empty, NaN)
_PASS_NUMBERS = ("rise_tdb_s", "set_tdb_s", "duration_s", "volume_mbit")


@dataclass(frozen=True)
class ReplanState:
    """What re-planning needs beyond the instance: the link stage's pass table (geometry and
    volume columns, :data:`relay.pipeline.Volumes.passes`) and its VolumeTable, the Earth-Mars
    geometry (light times, for latencies), the planner's settings, the scenario's station
    names (an outage may name a station without windows in the horizon) and the frozen period."""

    volume_table: Any                         # relay.links.table.VolumeTable
    passes: pd.DataFrame
    earth_mars: pd.DataFrame | None = None
    settings: Any = None                      # relay.planning.settings.PlanningSettings
    stations: tuple[str, ...] = ()
    frozen_until_tdb_s: float | None = None
    extra: dict = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """``volumes.npz``: every array under its name (deflated), no pickled object, a fixed zip date."""
        arrays = {f"vt.{k}": np.asarray(v) for k, v in self.volume_table.to_arrays().items()}
        frames = {}
        for name, df in (("passes", self.passes), ("earth_mars", self.earth_mars)):
            if df is None:
                continue
            frames[name] = list(map(str, df.columns))
            for k, c in enumerate(df.columns):
                arrays[f"{name}.{k}"] = column_array(df[c])
        meta = {"schema": _STATE_SCHEMA, "version": _STATE_VERSION, "frames": frames,
                "settings": self.settings.model_dump(mode="json") if self.settings is not None else None,
                "stations": list(self.stations), "frozen_until_tdb_s": self.frozen_until_tdb_s,
                "extra": self.extra}
        arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name in sorted(arrays):
                one = io.BytesIO()
                np.lib.format.write_array(one, np.asarray(arrays[name]), allow_pickle=False)
                # deflate level 1: a tenth of the size for a few milliseconds
                zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE), one.getvalue(),
                            compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        return buf.getvalue()

    def originals(self) -> dict:
        """What re-plans removed, cut or replaced (:func:`relay.planning.apply.apply`'s
        ``originals``): ``options`` and ``downlinks`` (id -> the un-cut option or chunk) and
        ``applied`` (the outages and vetoes whose cuts are kept) and ``twins`` (the ids of the
        forward options made for requests), what lifting restores."""
        raw = self.extra.get("originals") or {}
        try:
            return {"options": {d["option_id"]: SessionOption(**d) for d in raw.get("options", ())},
                    "downlinks": {d["chunk_id"]: DownlinkChunk(**d) for d in raw.get("downlinks", ())},
                    "applied": [OutageSpan(**d["outage"]) if "outage" in d else VetoSpan(**d["veto"])
                                for d in raw.get("applied", ())],
                    "twins": set(raw.get("twins", ()))}
        except (KeyError, TypeError) as exc:
            raise RelayInputError(f"holds re-planning records relay cannot read ({exc}); expected the volumes.npz "
                                  "relay replan writes", source=STATE_FILE) from None

    def with_originals(self, book: dict) -> "ReplanState":
        """This state keeping ``book`` (see :meth:`originals`) for the next re-plan."""
        raw = {"options": [dataclasses.asdict(x) for _, x in sorted(book.get("options", {}).items())],
               "downlinks": [dataclasses.asdict(x) for _, x in sorted(book.get("downlinks", {}).items())],
               "applied": [{"outage" if isinstance(x, OutageSpan) else "veto": dataclasses.asdict(x)}
                           for x in book.get("applied", ())],
               "twins": sorted(book.get("twins", ()))}
        return dataclasses.replace(self, extra={**self.extra, "originals": raw})

    @classmethod
    def read(cls, path) -> "ReplanState":
        """The state of a ``volumes.npz`` file; anything else is a RelayInputError naming it."""
        p = regular_file(path, "link volumes (volumes.npz)", MAX_STATE_BYTES)
        try:
            a = state_arrays(p)
            meta = json.loads(bytes(a["meta"]).decode("utf-8"))
            if meta.get("schema") != _STATE_SCHEMA or meta.get("version") not in _READ_VERSIONS:
                raise ValueError("not the schema of relay's link volumes")
            check_numbers(a, meta["frames"]["passes"])
            table = VolumeTable.from_arrays({k[3:]: v for k, v in a.items() if k.startswith("vt.")})
            frames = {name: pd.DataFrame({c: a[f"{name}.{k}"] for k, c in enumerate(cols)}, columns=cols)
                      for name, cols in meta["frames"].items()}
            settings = PlanningSettings.model_validate(meta["settings"]) if meta.get("settings") else None
        except (KeyError, ValueError, TypeError, AttributeError, OSError, EOFError, zipfile.BadZipFile,
                UnicodeDecodeError) as exc:
            why = f" ({exc})" if isinstance(exc, ValueError) and str(exc) else ""
            raise RelayInputError(f"is not the volumes.npz relay plan writes{why}; expected the link volumes saved "
                                  "beside problem.json (re-run relay plan to write it)", source=str(p)) from None
        passes = frames["passes"]
        if meta["version"] == 1 and LABEL_COLUMN not in passes.columns:
            passes[LABEL_COLUMN] = [legacy_pass_label(p) for p in passes["pass_id"]]
        return cls(table, passes, frames.get("earth_mars"), settings, tuple(meta.get("stations") or ()),
                   meta.get("frozen_until_tdb_s"), dict(meta.get("extra") or {}))

    @cached_property
    def volumes(self) -> LabelledVolumes:
        """``(pass id, t0, t1) -> Mbit``: the volume table under the ids of the instance's passes
        (:func:`relay.ids.pass_labels` of :attr:`passes`), what re-planning and the explanations query."""
        return LabelledVolumes.of(self.volume_table, self.passes)


def column_array(col: pd.Series) -> np.ndarray:
    """A table column as volumes.npz stores it: numbers and booleans as they are, the rest as text."""
    if col.dtype == bool or col.dtype.kind in "iuf":
        return col.to_numpy()
    return np.asarray(col.astype(str).to_numpy(), dtype=str)


def npy_header(fh) -> tuple[tuple, bool, np.dtype]:
    """(shape, Fortran order, dtype) of the .npy stream ``fh``, read from its header alone."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"npy format version {version[0]}.{version[1]}")


def member_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The bytes the array of zip member ``info`` declares, checked against the member's size
    and type (numbers, booleans or text; no objects) before anything is loaded."""
    name = info.filename
    with zf.open(info) as fh:
        shape, _, dtype = npy_header(fh)
        header = fh.tell()
    if dtype.hasobject or dtype.names is not None or dtype.kind not in "biufU":
        raise ValueError(f"member {name} holds {dtype} values, not numbers or text")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"member {name} declares the shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != info.file_size - header:
        raise ValueError(f"member {name} declares a {shape} array of {dtype} ({nbytes:,} bytes) in "
                         f"{info.file_size - header:,} bytes")
    return nbytes


def state_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a volumes.npz file by name, each checked (:func:`member_size`) before it is
    read, the whole inflated size capped (:data:`MAX_STATE_INFLATED_BYTES`)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_STATE_MEMBERS:
            raise ValueError(f"{len(infos):,} members, at most {MAX_STATE_MEMBERS:,}")
        total = sum(i.file_size for i in infos)
        if total > MAX_STATE_INFLATED_BYTES:
            raise ValueError(f"{total:,} bytes once inflated, at most {MAX_STATE_INFLATED_BYTES:,}")
        arrays = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename} is not an array (.npy)")
            member_size(zf, info)
            with zf.open(info) as fh:
                arrays[info.filename[:-4]] = np.lib.format.read_array(fh, allow_pickle=False)
    return arrays


def check_numbers(arrays: dict[str, np.ndarray], pass_columns: list[str]) -> None:
    """A ValueError unless every number is finite: the volume table's and the Earth-Mars
    geometry's all of them, the pass table's (columns ``pass_columns``) its times, durations and
    volumes (its other columns may be empty, NaN, never infinite)."""
    must = {f"passes.{k}" for k, c in enumerate(pass_columns) if c in _PASS_NUMBERS}
    for name, a in arrays.items():
        if a.dtype.kind != "f":
            continue
        if np.isinf(a).any() or ((name in must or not name.startswith("passes.")) and np.isnan(a).any()):
            raise ValueError(f"member {name}.npy holds a value that is not a finite number")


__all__ = ["STATE_FILE", "MAX_STATE_BYTES", "MAX_STATE_INFLATED_BYTES", "MAX_STATE_MEMBERS", "ReplanState",
           "column_array", "npy_header", "member_size", "state_arrays", "check_numbers"]
