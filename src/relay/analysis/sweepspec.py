"""A sweep specification read into its runs: :func:`load_sweep_spec`.

Sweep specification (YAML; paths relative to the sweep file)::

    base: baseline.yaml                 # the base config
    days: 7                             # horizon of every run (default 7)
    starts: ["2026-11-23T00:00:00Z"]    # or  start: ...  + weeks: N (N consecutive weeks)
    grid:                               # Cartesian product of every axis
      assets.Curiosity.min_elevation_deg: [10, 15, 20]
      tgo_altitude_km:                  # an axis that sets several keys to the same value
        set: [orbiters.TGO.orbit.periapsis_altitude_km, orbiters.TGO.orbit.apoapsis_altitude_km]
        values: [300, 400]
    variants:                           # and/or a list of named override sets
      - {name: no-mex, set: {orbiters.MEX.radio: ...}}
    plan: {time_limit_s: 30, workers: 1, seed: 0}   # relay.plan options of every run
    cluster: {n_workers: 2}             # LocalCluster size (default: cores // plan.workers)
    metric: delivered_mbit              # default metric of --plot

With both ``grid`` and ``variants`` every variant is combined with every grid
point.  Every combination is run for every start.  Keys are dotted overrides
(:mod:`relay.analysis.overrides`).

The file is checked before any run starts (:class:`SweepFile`, a pydantic
model): a value of the wrong type, an unknown key (at any level), a grid key
that names no key of the base config, or more than :data:`MAX_RUNS` runs is a
:class:`relay.errors.RelayInputError` naming the file, the key, the bad value
and what is expected.  A variant's keys are checked run by run: a misspelt one
fails that variant's runs, and the others are planned.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import read_yaml
from ..errors import RelayInputError, excerpt
from ..timescales import iso_z, parse_utc
from .metrics import METRICS, is_metric
from .overrides import check_override_path, raw_config

#: the most runs a sweep may have (variants x grid points x starts): some hours of week-long runs
MAX_RUNS = 10_000


@dataclass
class Run:
    """One run of a sweep: a start and the overrides of the base config."""

    run_id: int
    start: str
    params: dict          # column name -> value (the swept parameters)
    overrides: dict       # dotted key -> value
    variant: str | None = None


@dataclass
class SweepSpec:
    """A sweep: its base config (absolute path), horizon, starts, every run and the options."""

    base: str
    days: float
    starts: list[str]
    runs: list[Run]
    params: list[str]
    plan_options: dict
    n_workers: int | None
    metric: str
    source: str

    @property
    def solver_workers(self) -> int:
        return int(self.plan_options.get("workers") or 1)


#: a grid axis: (column name, the dotted keys it sets, its values)
Axis = tuple[str, list[str], list]


def _iso_week(start: str, k: int) -> str:
    t = datetime.fromisoformat(str(start).replace("Z", "+00:00")) + timedelta(days=7 * k)
    return iso_z(t, 3 if t.microsecond else 0)


def _iso_start(value, source: str, where: str) -> str:
    """A start time as ISO 8601 UTC with Z (YAML turns unquoted times into datetimes)."""
    if isinstance(value, datetime):
        t = parse_utc(value, source=source, where=where)  # refuses a time without a zone
    elif isinstance(value, date):
        t = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    else:
        t = parse_utc(str(value), source=source, where=where)
    return iso_z(t, 3 if t.microsecond else 0)


class _Part(BaseModel):
    """A part of a sweep file: values of the right type (no conversions), no unknown keys."""

    model_config = ConfigDict(strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _mapping_of_known_keys(cls, data):
        keys = ", ".join(sorted(cls.model_fields))
        if not isinstance(data, Mapping):
            raise ValueError(f"got {_shown(data)}; expected a mapping of {keys}")
        unknown = sorted(str(k) for k in data if k not in cls.model_fields)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; valid keys: {keys}")
        return data


class PlanOptions(_Part):
    """``plan:``: the :func:`relay.plan` options of every run."""

    solver: Literal["cpsat", "mip"] | None = None
    time_limit_s: float | None = Field(None, gt=0, le=86400)
    workers: int | None = Field(None, ge=1, le=64)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    gap_limit: float | None = Field(None, ge=0, lt=1)


class ClusterOptions(_Part):
    """``cluster:``: the LocalCluster a sweep starts."""

    n_workers: int | None = Field(None, ge=1, le=256)


class GridAxis(_Part):
    """A grid axis that sets several dotted keys to each of its values."""

    set: list[str] = Field(min_length=1)
    values: list = Field(min_length=1)

    @field_validator("set", mode="before")
    @classmethod
    def _one_key(cls, v):
        return [v] if isinstance(v, str) else v


class Variant(_Part):
    """A named set of dotted overrides."""

    name: str | None = None
    set: dict[str, Any] | None = None


class SweepFile(_Part):
    """A sweep file as written (see the module docstring); ``starts`` and ``start`` are read
    by :func:`_starts`, the axes of ``grid`` by :func:`_grid_axes`."""

    base: str
    days: float = 7.0
    starts: Any = None
    start: Any = None
    weeks: int = Field(1, ge=1, le=MAX_RUNS)
    grid: dict[str, Any] | None = None
    variants: list[Variant] | None = None
    plan: PlanOptions | None = None
    cluster: ClusterOptions | None = None
    metric: str = "delivered_mbit"
    name: str | None = None
    description: str | None = None

    @field_validator("base", mode="before")
    @classmethod
    def _path_as_text(cls, v):
        return os.fspath(v) if isinstance(v, os.PathLike) else v  # a Path, from Python

    @field_validator("days")
    @classmethod
    def _horizon(cls, v: float) -> float:
        if not 0 < v <= 60:
            raise ValueError("expected a number of days above 0 and at most 60")
        return v

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if not is_metric(v):
            raise ValueError(f"expected one of {', '.join(METRICS)}, or METRIC.ASSET / METRIC.ORBITER")
        return v


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def _shown(value) -> str:
    """A bad value as a message quotes it: strings escaped, anything else as Python writes it."""
    text = excerpt(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else excerpt(text)


def _refusal(exc: ValidationError, source: str, prefix: tuple = ()) -> RelayInputError:
    """One paragraph from the first of pydantic's errors: the key, the bad value, what is expected."""
    errors = exc.errors()
    err = errors[0]
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "required key is missing"
    elif not msg.startswith(("got ", "unknown key")):
        msg = f"got {_shown(err['input'])}; {msg[:1].lower()}{msg[1:]}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return RelayInputError(msg + more, source=source, where=_where((*prefix, *err["loc"])))


def _validated(model: type[_Part], data, source: str, prefix: tuple = ()):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _refusal(exc, source, prefix) from None


def _base_path(value: str, source: str, base_dir: Path) -> Path:
    """The base config file (relative to the sweep file's folder); it must exist."""
    base = Path(value)
    base = base if base.is_absolute() else (base_dir / base)
    if not base.is_file():
        raise RelayInputError(f"got {excerpt(value)}: the base config {base} does not exist (or is not a file); "
                              "expected a scenario YAML file, relative to the sweep file", source=source, where="base")
    return base


def _starts(f: SweepFile, source: str) -> list[str]:
    """Every start: ``starts``, or ``start`` and the ``weeks - 1`` weeks after it."""
    if f.starts is not None:
        starts = [f.starts] if isinstance(f.starts, str) else f.starts
        if not isinstance(starts, list) or not starts:
            raise RelayInputError(f"got {_shown(f.starts)}; expected a list of ISO 8601 UTC times",
                                  source=source, where="starts")
    elif f.start is not None:
        first = _iso_start(f.start, source, "start")
        starts = [_iso_week(first, k) for k in range(f.weeks)]
    else:
        raise RelayInputError("give `starts: [...]` or `start:` (+ `weeks: N`)", source=source, where="starts")
    return [_iso_start(s, source, f"starts[{i}]") for i, s in enumerate(starts)]


def _grid_axes(grid: dict, source: str) -> list[Axis]:
    """The axes of ``grid``: a dotted key and its values, or ``{set: [keys], values: [...]}``."""
    axes: list[Axis] = []
    for col, spec_v in grid.items():
        if isinstance(spec_v, Mapping):
            axis = _validated(GridAxis, spec_v, source, ("grid", col))
            axes.append((str(col), list(axis.set), axis.values))
        elif isinstance(spec_v, list) and spec_v:
            axes.append((str(col), [str(col)], spec_v))
        else:
            raise RelayInputError(f"got {_shown(spec_v)}; expected a non-empty list of values, or "
                                  "{set: [dotted keys], values: [...]}", source=source, where=f"grid.{col}")
    return axes


def _check_grid_keys(axes: list[Axis], base: Path, source: str) -> None:
    """Every key of the grid names a key of the base config (it applies to every run)."""
    base_raw = raw_config(base)
    for col, keys, _ in axes:
        for key in keys:
            try:
                check_override_path(key, base_raw, source=str(base))
            except RelayInputError as exc:
                one = keys == [col]  # the axis is the key: no need to say it twice
                raise RelayInputError(f"{'' if one else key + ': '}{exc.detail} (in the base config {base.name})",
                                      source=source, where=f"grid.{col}" if one else f"grid.{col}.set") from None


def _variants(items: list[Variant]) -> list[tuple[str | None, dict]]:
    """(name, overrides) of every variant; one unnamed variant without overrides if none."""
    variants = [(v.name if v.name is not None else f"variant{i + 1}", dict(v.set or {}))
                for i, v in enumerate(items)]
    return variants or [(None, {})]


def _check_run_count(axes: list[Axis], n_variants: int, n_starts: int, source: str) -> None:
    n = n_variants * math.prod(len(values) for _, _, values in axes) * n_starts
    if n > MAX_RUNS:
        shape = " x ".join([f"{n_variants} variant(s)"] + [f"{len(v)} {col}" for col, _, v in axes] +
                           [f"{n_starts} start(s)"])
        raise RelayInputError(f"got {n:,} runs ({shape}); a sweep runs at most {MAX_RUNS:,}: thin the grid, "
                              "or split it into several sweeps", source=source,
                              where="grid" if axes else "variants" if n_variants > 1 else "starts")


def _runs(axes: list[Axis], variants: list[tuple[str | None, dict]], starts: list[str]) -> list[Run]:
    """Every variant x every grid point x every start, numbered in that order."""
    runs = []
    points = list(itertools.product(*[a[2] for a in axes])) if axes else [()]
    rid = 0
    for vname, vset in variants:
        for point in points:
            ov = dict(vset)
            prm = {}
            for (col, keys, _), value in zip(axes, point):
                prm[col] = value
                for k in keys:
                    ov[k] = value
            for s in starts:
                runs.append(Run(rid, s, prm, ov, vname))
                rid += 1
    return runs


def load_sweep_spec(spec: str | Path | Mapping) -> SweepSpec:
    """Read a sweep specification (see the module docstring) into runs; a wrong one is refused
    (:class:`RelayInputError` naming the key, the bad value and what is expected) before any run."""
    if isinstance(spec, Mapping):
        data, source, base_dir = dict(spec), "sweep", Path.cwd()
    else:
        data, source, base_dir = read_yaml(spec), str(spec), Path(spec).resolve().parent
    f = _validated(SweepFile, data, source)
    base = _base_path(f.base, source, base_dir)
    starts = _starts(f, source)
    axes = _grid_axes(f.grid or {}, source)
    variants = _variants(f.variants or [])
    _check_run_count(axes, len(variants), len(starts), source)
    _check_grid_keys(axes, base, source)
    plan_options = dict(data.get("plan") or {})  # as written: the cache keys hold them
    plan_options.setdefault("workers", 1)
    cluster = f.cluster or ClusterOptions()
    return SweepSpec(base=str(base.resolve()), days=float(f.days), starts=starts,
                     runs=_runs(axes, variants, starts), params=[a[0] for a in axes],
                     plan_options=plan_options, n_workers=cluster.n_workers, metric=f.metric, source=source)
