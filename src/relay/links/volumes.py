"""UHF volumes of passes: the pass table's volume columns and the :class:`VolumeTable` of the passes.

:func:`pass_volumes` (a scenario) and :func:`pass_volumes_from_pairs` (resolved
pairs) evaluate the UHF budget (:mod:`relay.links.uhf`) at every profile sample,
floor it to the pair's rate table, and integrate the rates
(:mod:`relay.links.table`): whole-pass volumes, peak and fixed rates, the
forward-link fit, and the table the planner queries for any sub-window.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from .budget import floor_rate_index
from .table import (VolumeTable, group_rows, group_sample_bounds, prepare_samples, row_peaks,
                    sample_starts, segment_cumsum)
from .uhf import UhfPair, uhf_pairs_from_scenario, uhf_supportable_db

if TYPE_CHECKING:
    import pandas as pd

#: the columns :func:`pass_volumes` adds to the pass table
PASS_VOLUME_COLUMNS = ["volume_mbit", "rate_mode", "peak_rate_kbps", "fixed_rate_kbps",
                       "forward_min_duration_s", "forward_fits"]


def pass_volumes(scenario, passes: pd.DataFrame, profiles: pd.DataFrame, *,
                 with_rate_profiles: bool = True):
    """UHF volumes of every pass of a scenario (see :func:`pass_volumes_from_pairs`).

    Reads the attributes listed in :func:`~relay.links.uhf.uhf_pairs_from_scenario`.
    Returns ``(passes_out, rate_profiles, VolumeTable)``; pass
    ``with_rate_profiles=False`` (rate_profiles is then None) when no
    ``--profiles`` file is wanted: building that frame costs about as much as
    the volumes.
    """
    pairs = uhf_pairs_from_scenario(scenario, pair_keys(passes))
    return pass_volumes_from_pairs(pairs, passes, profiles, with_rate_profiles=with_rate_profiles)


def pair_keys(passes) -> list[tuple[str, str]]:
    """The sorted (orbiter, asset) pairs of a pass table (a DataFrame or a mapping of columns)."""
    return sorted(set(zip((str(o) for o in passes["orbiter"]), (str(a) for a in passes["asset"]))))


def pass_volume_columns(pairs: Mapping[tuple[str, str], UhfPair], passes, profiles, *,
                        with_rate_profiles: bool = True):
    """:func:`pass_volumes_from_pairs` on columns, without pandas: ``passes`` and ``profiles`` are
    mappings of column name -> array (or DataFrames).  Returns ``(volume_columns, rate_profiles,
    table)``: a dict of :data:`PASS_VOLUME_COLUMNS` (arrays in the row order of ``passes``), the
    rate profiles as a dict of arrays (None without ``with_rate_profiles``) and the
    :class:`~relay.links.table.VolumeTable`."""
    pid = np.asarray(passes["pass_id"], dtype=np.int64)
    n = len(pid)
    pair_list, code_t, order = _pairs_in_table_order(pairs, passes)
    ids = pid[order]
    rise = np.asarray(passes["rise_tdb_s"], dtype=float)[order]
    sett = np.asarray(passes["set_tdb_s"], dtype=float)[order]
    dur = (np.asarray(passes["duration_s"], dtype=float)[order] if "duration_s" in passes
           else sett - rise)

    t, (el, rng), counts, first = prepare_samples(
        ids, rise, sett, np.asarray(profiles["pass_id"], dtype=np.int64), np.asarray(profiles["tdb_s"], dtype=float),
        [np.asarray(profiles["elevation_deg"], dtype=float), np.asarray(profiles["range_km"], dtype=float)],
        [-90.0, 1e12])
    pass_start = sample_starts(counts)
    bounds = group_sample_bounds(code_t, len(pair_list), pass_start, len(t))
    supp_db, adr_rate, rate_for_cum, fixed_groups = _pair_rates(pair_list, bounds, t, el, rng, first)

    cum = segment_cumsum(t, rate_for_cum, first)
    hail = np.array([p.link.hailing_s for p in pair_list])[code_t] if n else np.zeros(0)
    eff = np.array([p.link.protocol_efficiency for p in pair_list])[code_t] if n else np.zeros(0)
    table = VolumeTable(ids, rise, sett, code_t, hail, eff, counts, t, cum, fixed_groups)

    vol = table.volume_mbit(ids, rise, sett) if n else np.zeros(0)
    fixed_rate = table.fixed_rate_kbps(ids, rise, sett) if n else np.zeros(0)
    fixed_pass = table.mode_fixed
    peak = np.where(fixed_pass, np.nan_to_num(fixed_rate), row_peaks(adr_rate, counts, pass_start))
    fwd = np.array([p.forward_min_duration_s for p in pair_list])[code_t] if n else np.zeros(0)

    rate_profiles = None
    if with_rate_profiles:  # costs about as much as the volumes themselves on big inputs
        used = _used_rates(adr_rate, fixed_pass, fixed_rate, counts)
        with np.errstate(over="ignore"):
            supp_kbps = 10.0 ** (supp_db / 10.0) * 1e-3
        rate_profiles = {"pass_id": np.repeat(ids, counts), "tdb_s": t, "elevation_deg": el, "range_km": rng,
                         "supportable_kbps": supp_kbps, "rate_kbps": used}

    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out = {"volume_mbit": vol[inv], "rate_mode": np.where(fixed_pass, "fixed", "adaptive")[inv],
           "peak_rate_kbps": peak[inv], "fixed_rate_kbps": fixed_rate[inv], "forward_min_duration_s": fwd[inv],
           "forward_fits": (dur >= fwd)[inv]}
    return out, rate_profiles, table


def pass_volumes_from_pairs(pairs: Mapping[tuple[str, str], UhfPair], passes: pd.DataFrame,
                            profiles: pd.DataFrame, *, with_rate_profiles: bool = True):
    """UHF volumes of every pass, from resolved pairs.

    ``pairs`` maps (orbiter, asset) -> :class:`~relay.links.uhf.UhfPair`;
    ``passes`` and ``profiles`` are the geometry stage's tables (profiles
    sorted by pass_id, tdb_s; they are sorted here if not).  Returns
    ``(passes_out, rate_profiles, table)``:

    - passes_out: ``passes`` (same row order) plus volume_mbit (whole pass,
      after hailing and protocol efficiency), rate_mode ('adaptive'/'fixed',
      effective), peak_rate_kbps, fixed_rate_kbps (NaN in adaptive mode),
      forward_min_duration_s, forward_fits;
    - rate_profiles (None if ``with_rate_profiles`` is false): pass_id, tdb_s,
      elevation_deg, range_km, supportable_kbps (unquantised budget rate),
      rate_kbps (the rate used: ADR rate, or the pass's fixed rate where it
      closes, else 0); rows grouped by pair, then pass_id, then time;
    - table: a :class:`~relay.links.table.VolumeTable` over all passes.
    """
    import pandas as pd

    passes = passes.reset_index(drop=True)
    cols, rate_profiles, table = pass_volume_columns(pairs, passes, profiles, with_rate_profiles=with_rate_profiles)
    out = passes.copy()
    for c in PASS_VOLUME_COLUMNS:
        out[c] = cols[c]
    return out, None if rate_profiles is None else pd.DataFrame(rate_profiles), table


def _pairs_in_table_order(pairs: Mapping[tuple[str, str], UhfPair], passes):
    """The pairs of the passes (sorted), each pass's pair code and the table order of the passes.

    Table order: by pair, then pass_id.  Raises KeyError for a pair without
    parameters, ValueError for a repeated pass_id.
    """
    pid = np.asarray(passes["pass_id"], dtype=np.int64)
    keys = list(zip((str(o) for o in passes["orbiter"]), (str(a) for a in passes["asset"])))
    uniq, code, order = group_rows(pid, keys)
    missing_pairs = [k for k in uniq if k not in pairs]
    if missing_pairs:
        raise KeyError(f"no UHF link parameters for pair(s) {missing_pairs}")
    if len(pid) > 1 and np.any(np.diff(np.sort(pid)) == 0):
        raise ValueError("passes: pass_id values must be unique")
    return [pairs[k] for k in uniq], code[order], order


def _pair_rates(pair_list: list[UhfPair], bounds: np.ndarray, t, el, rng, first):
    """Budget and rates at every sample, pair by pair (pair c owns samples bounds[c]:bounds[c+1]).

    Returns ``(supp_db, adr_rate, rate_for_cum, fixed_groups)``: the supportable
    rate (10 log10 bps), the table rate that closes (ADR), the rate integrated
    for the adaptive cumulative (0 on fixed pairs), and for each fixed pair its
    rates, the cumulative time each rate closes and its first sample row.
    """
    n_rows = len(t)
    supp_db = np.empty(n_rows)
    adr_rate = np.zeros(n_rows)
    rate_for_cum = np.zeros(n_rows)
    fixed_groups: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
    for c, p in enumerate(pair_list):
        r0, r1 = int(bounds[c]), int(bounds[c + 1])
        if r1 == r0:
            continue
        s = uhf_supportable_db(p, el[r0:r1], rng[r0:r1])
        supp_db[r0:r1] = s
        if not p.rates_kbps:
            if p.mode == "fixed":
                fixed_groups[c] = (np.zeros(0), np.zeros((r1 - r0, 0)), r0)
            continue
        lv = floor_rate_index(p.rates_db, s)
        rates = np.concatenate([[0.0], np.asarray(p.rates_kbps)])
        adr_rate[r0:r1] = rates[lv + 1]
        if p.mode == "fixed":
            L = len(p.rates_kbps)
            ind = (lv[:, None] >= np.arange(L)[None, :]).astype(float)
            fixed_groups[c] = (np.asarray(p.rates_kbps, dtype=float),
                               segment_cumsum(t[r0:r1], ind, first[r0:r1]), r0)
        else:
            rate_for_cum[r0:r1] = adr_rate[r0:r1]
    return supp_db, adr_rate, rate_for_cum, fixed_groups


def _used_rates(adr_rate, fixed_pass, fixed_rate, counts) -> np.ndarray:
    """The rate used at each sample: the ADR rate, or the pass's fixed rate where it closes, else 0."""
    if not np.any(fixed_pass):
        return adr_rate
    fr = np.repeat(np.nan_to_num(fixed_rate), counts)
    fixed_rows = np.repeat(fixed_pass, counts)
    return np.where(fixed_rows, np.where(adr_rate >= fr, fr, 0.0), adr_rate)
