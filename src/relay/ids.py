"""Identifiers shared by every stage: the spelling of a pass id.

The geometry stage numbers the passes of a span (an integer, the row of the pass
in time order); that number only indexes arrays (the link stage's
:class:`~relay.links.table.VolumeTable`, the profiles).  From the planning
instance on, and in every file, a pass is named by a **stable id** made of its
orbiter, its asset and its rise time to the minute in UTC::

    TGO-Curiosity-20261214T0312
    MRO-Rosalind_Franklin-20261215T2247

so the same overflight has the same id in every run and re-plan whose span
holds it (a week from Monday and a nightly run from Tuesday alike), and a person
can refer to it from one night to the next.  The rules (:func:`pass_labels`):

* Names are kept as written with every run of characters other than ASCII
  letters and digits replaced by one ``_`` (no ``-``, space, comma, quote or
  slash: the id is a plain token in file names, CSV and HTML).
* The rise is the pass's **true** rise (the geometry's ``true_rise_tdb_s``):
  a pass the span's start cuts is followed back (up to a day, see
  :data:`relay.geometry.passes.LOOKBACK_S`) to where it really rises, so it
  keeps the id the run whose span holds its rise gives it.  A pass up all
  that time, or whose orbit file does not reach back, is named by the span's
  start (the only such id that can change from run to run).  The end of a span
  changes nothing (the id holds no set time).
* Minute of the UTC rise, floored (rise 03:12:59.9 is ``T0312``).  The refined
  rise is the same to well under a millisecond from run to run, so an id flips
  only for a rise within that of a whole minute, or when a new orbit file moves
  the pass.
* Collisions within one pass table (never seen: two passes of a pair cannot
  rise within a minute except under a terrain mask that splits a pass, and two
  names differ only in the characters replaced, such as ``Rosalind Franklin``
  and ``Rosalind_Franklin``): passes of different pairs sharing an id each get
  ``-`` and four hex digits of a hash of their exact names; then the second and
  later of a pair within the same minute get ``-2``, ``-3``, ... in rise order.

Plan folders written before these ids (volumes.npz version 1) keep the old
spelling, ``P`` and five digits of the row (:func:`legacy_pass_label`), so that
their re-plans stay consistent with their problem.json.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Mapping

import numpy as np

from .timescales import tdb_s_to_iso

#: a pass table column that, when present, holds the ids (old plan folders: ``P00028``)
LABEL_COLUMN = "pass_label"
#: the geometry's true rise of each pass (the rise the id is made of; NaN: unknown)
TRUE_RISE_COLUMN = "true_rise_tdb_s"

_NOT_TOKEN = re.compile(r"[^A-Za-z0-9]+")


def legacy_pass_label(pass_id) -> str:
    """The spelling of a pass id before stable ids (plan folders of volumes.npz version 1):
    ``P`` and five digits of the pass's row."""
    return f"P{int(pass_id):05d}"


def name_token(name) -> str:
    """A name as it appears in a pass id: runs of characters other than ASCII letters and
    digits become one ``_`` (none at either end); ``X`` if nothing is left."""
    return _NOT_TOKEN.sub("_", str(name)).strip("_") or "X"


def _minutes(rise_tdb_s) -> list[str]:
    """``YYYYMMDDTHHMM`` of each UTC time (floored to the minute)."""
    t = np.asarray(rise_tdb_s, dtype=float)
    if t.size == 0:
        return []
    return [s[0:4] + s[5:7] + s[8:10] + "T" + s[11:13] + s[14:16] for s in tdb_s_to_iso(t)]


def _pair_hash(orbiter, asset) -> str:
    return hashlib.sha256(f"{orbiter}\0{asset}".encode()).hexdigest()[:4]


def stable_labels(orbiters, assets, rise_tdb_s) -> list[str]:
    """The stable ids of passes given by their orbiters, assets and (true) rise times (see the
    module's rules, collisions included)."""
    orbiters, assets = [str(o) for o in orbiters], [str(a) for a in assets]
    rise = np.asarray(rise_tdb_s, dtype=float)
    tok: dict[str, str] = {}
    base = [f"{tok.setdefault(o, name_token(o))}-{tok.setdefault(a, name_token(a))}-{m}"
            for o, a, m in zip(orbiters, assets, _minutes(rise))]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, b in enumerate(base):
        groups[b].append(i)
    out = list(base)
    for b, idx in groups.items():
        if len(idx) == 1:
            continue
        mixed = len({(orbiters[i], assets[i]) for i in idx}) > 1
        seen: dict[str, int] = defaultdict(int)
        for i in sorted(idx, key=lambda i: (rise[i], orbiters[i], assets[i])):
            label = f"{b}-{_pair_hash(orbiters[i], assets[i])}" if mixed else b
            seen[label] += 1
            out[i] = label if seen[label] == 1 else f"{label}-{seen[label]}"
    return out


def pass_labels(passes) -> list[str]:
    """The ids of the rows of a pass table (``orbiter``, ``asset``, ``rise_tdb_s`` and, from the
    geometry stage, ``true_rise_tdb_s``; a ``pass_label`` column, when present, is used as it
    is): see the module's rules."""
    if LABEL_COLUMN in passes.columns:
        return [str(x) for x in passes[LABEL_COLUMN]]
    rise = passes["rise_tdb_s"].to_numpy(dtype=float)
    if TRUE_RISE_COLUMN in passes.columns:
        true = passes[TRUE_RISE_COLUMN].to_numpy(dtype=float)
        rise = np.where(np.isfinite(true), true, rise)
    return stable_labels(passes["orbiter"], passes["asset"], rise)


def pass_numbers(passes) -> dict[str, int]:
    """id -> the integer ``pass_id`` of each row of a pass table (see :func:`pass_labels`)."""
    return dict(zip(pass_labels(passes), (int(p) for p in passes["pass_id"])))


class LabelledVolumes:
    """``(pass id, t0, t1) -> Mbit`` of a volume table numbered by the geometry's integer pass
    ids (a :class:`relay.links.table.VolumeTable`); ``numbers`` maps each id to its number
    (:func:`pass_numbers`).  An id the table does not know gives None."""

    def __init__(self, table, numbers: Mapping[str, int]):
        self.table, self.numbers = table, dict(numbers)

    @classmethod
    def of(cls, table, passes) -> "LabelledVolumes":
        """The volumes of ``table`` under the ids of the pass table ``passes``."""
        return cls(table, pass_numbers(passes))

    def __call__(self, pass_id, t0, t1):
        n = self.numbers.get(str(pass_id))
        return None if n is None else self.table.volume_mbit(n, t0, t1)


__all__ = ["LABEL_COLUMN", "TRUE_RISE_COLUMN", "legacy_pass_label", "name_token", "stable_labels", "pass_labels",
           "pass_numbers", "LabelledVolumes"]
