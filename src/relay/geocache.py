"""A content-addressed, on-disk cache of the geometry stage (passes and station tracks).

Sweep variants that share their orbits, sites and span have the same passes,
and variants that share orbits, ground stations and span the same station
tracks.  With a cache folder active (:func:`using`, or the environment variable
``RELAY_GEOMETRY_CACHE``), :func:`get` returns the stored result when one with
the same key exists and otherwise computes, stores and returns it.

The key of an entry is the SHA-256 of everything that determines it:

* passes: the span (TDB seconds), every orbiter's name, orbit definition and
  pass-search step, the CONTENTS of every file an orbit names (an OEM, an SPK
  kernel, an elements file), every asset's site (latitude, longitude, height,
  elevation mask and terrain mask) and the profile step;
* tracks: the span, the orbits (as above), every ground station (position,
  elevation mask) and the track profile step;
* both: a fingerprint of relay's own source files and of the versions of
  numpy, pandas, skyfield and skyfield-data, so that an upgrade never reads an
  entry computed by other code.

Nothing else is read from the scenario, so a change of anything above is a
different key (a miss) and a change of anything else (link, planning,
storage, ...) is not.  Entries are written atomically
(:func:`relay.fileio.atomic_path`: a temporary file, flushed, then a rename),
so workers on several machines may share one folder (for example the sweep's
output folder on a shared file system): a half-written entry is never read,
and two workers that compute the same entry write the same bytes.
Entries are pickles: share the folder only with your own workers.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .fileio import atomic_path
from .geometry.earth import stations_of

#: the environment variable naming a cache folder (used when :func:`using` is not)
ENV = "RELAY_GEOMETRY_CACHE"
_FORMAT = 1
_dir: contextvars.ContextVar[str | None] = contextvars.ContextVar("relay_geometry_cache", default=None)


@contextlib.contextmanager
def using(folder):
    """Use ``folder`` (created if missing) as the geometry cache inside the ``with`` block
    (``None``: no cache, even if :data:`ENV` is set)."""
    if folder is not None:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = None  # a folder that cannot be made: no cache (the runs go on)
    token = _dir.set("" if folder is None else str(folder))
    try:
        yield
    finally:
        _dir.reset(token)


def folder() -> Path | None:
    """The active cache folder, or None."""
    d = _dir.get()
    if d is None:
        d = os.environ.get(ENV) or ""
    return Path(d) if d else None


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of relay's source files and of the versions of the libraries the geometry uses."""
    from importlib import metadata

    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    for dist in ("numpy", "pandas", "skyfield", "skyfield-data"):
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=none".encode())
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    st = path.stat()
    return _digest_of(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _orbits(scenario) -> list:
    """Every orbiter's name, orbit definition, step and the contents of the files it names."""
    out = []
    for o in scenario.orbiters:
        orbit = o.orbit.model_dump(mode="json")
        files = {}
        for v in _strings(orbit):
            try:
                p = scenario.resolve_path(v)
                if p.is_file():
                    files[v] = _file_digest(p)
            except (OSError, ValueError):
                continue
        out.append({"name": o.name, "orbit": orbit, "step_s": o.step_s, "files": files})
    return out


def _strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _strings(v)


def _exact(x):
    """Arrays as lists of exact floats (a repr would round them)."""
    return x.tolist() if hasattr(x, "tolist") else repr(x)


def key(kind: str, scenario, start_tdb_s: float, end_tdb_s: float) -> str:
    """The content address of ``kind`` ("passes" or "tracks") of ``scenario`` over the span."""
    g = scenario.geometry
    doc: dict[str, Any] = {"format": _FORMAT, "kind": kind, "code": code_fingerprint(),
                           "span": [float(start_tdb_s).hex(), float(end_tdb_s).hex()], "orbits": _orbits(scenario)}
    if kind == "passes":
        doc["sites"] = [dataclasses.asdict(s) for s in scenario.sites()]
        doc["profile_step_s"] = g.profile_step_s
    elif kind == "tracks":
        doc["stations"] = [dataclasses.asdict(s) for s in stations_of(scenario)]
        doc["track_profile_step_s"] = g.track_profile_step_s
    else:
        raise ValueError(f"unknown geometry kind {kind!r}")
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=_exact)
    return hashlib.sha256(blob.encode()).hexdigest()


def get(kind: str, scenario, start_tdb_s: float, end_tdb_s: float, compute: Callable[[], Any]):
    """``compute()``, or the stored result of the same key when a cache folder is active."""
    d = folder()
    if d is None:
        return compute()
    path = d / f"{kind}-{key(kind, scenario, start_tdb_s, end_tdb_s)[:40]}.pkl"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        pass
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass  # a damaged or foreign entry: computed again and replaced
    value = compute()
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        pass  # a read-only or full cache folder: the run goes on uncached
    return value


__all__ = ["ENV", "using", "folder", "key", "get", "code_fingerprint"]
