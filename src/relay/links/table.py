"""Cumulative rate profiles and the volume query object, :class:`VolumeTable`.

Rate modes
----------
- adaptive (ADR): the rate follows the samples.
- fixed: one rate for the whole session, chosen to maximise the session's
  volume ``r * (time the link closes at r)``.  The rate is re-optimised for
  every sub-window the planner asks about (each relay session is configured
  on its own).

Volume integration
------------------
Rates are integrated with the trapezoid rule over the samples (for fixed mode
the indicator "closes at r" is integrated the same way, so the fraction of a
sample step at the edges of closure counts half).  The cumulative integral at
any time between samples is interpolated linearly.  Because both modes use the
same scheme, adaptive never carries less than the best fixed rate over the
same window, exactly.  Every session loses ``link.hailing_s`` seconds at its
start (hailing, acquisition) and carries ``link.protocol_efficiency`` of the
channel rate as user data.

The same machinery gives the X-band capacity of station windows (no hailing,
efficiency 1; :mod:`relay.links.stations`).  :func:`prepare_samples` gathers
profile samples into table order and :func:`segment_cumsum` integrates them.
"""
from __future__ import annotations

import numpy as np


def segment_cumsum(t: np.ndarray, y: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per-segment cumulative trapezoid integral of y(t); ``first`` marks segment starts.

    Works on 1-D or 2-D ``y`` (samples along axis 0).  Each segment starts at
    (numerically) 0 and never decreases when y >= 0.  One cumulative sum: at each
    segment start the previous segment's total is subtracted.
    """
    n = t.shape[0]
    if n == 0:
        return np.zeros(y.shape, dtype=float)
    dt = np.diff(t)
    dt *= 0.5
    inc = np.empty(y.shape, dtype=float)
    inc[0] = 0.0
    if y.ndim == 1:
        np.add(y[1:], y[:-1], out=inc[1:])
        inc[1:] *= dt
    else:
        np.add(y[1:], y[:-1], out=inc[1:])
        inc[1:] *= dt[:, None]
    starts = np.flatnonzero(first)
    inc[starts] = 0.0
    if len(starts) > 1:
        totals = np.add.reduceat(inc, starts, axis=0)
        inc[starts[1:]] = -totals[:-1]
    cum = np.cumsum(inc, axis=0, out=inc)
    cum[starts] = 0.0
    np.maximum(cum, 0.0, out=cum)
    return cum


def prepare_samples(table_ids: np.ndarray, rise: np.ndarray, sett: np.ndarray,
                     prof_ids: np.ndarray, t: np.ndarray, cols: list[np.ndarray],
                     fill: list[float]):
    """Gather profile samples into table order (rows grouped by id, time-sorted).

    ``table_ids`` are the ids in the wanted order.  Samples of ids not in the
    table are dropped; an id without samples gets two samples at its rise and
    set with the ``fill`` values (so it carries nothing).  Returns
    ``(t, cols, counts, first)`` in table order.
    """
    n = len(table_ids)
    if len(prof_ids) > 1:
        d = np.diff(prof_ids)
        if np.any(d < 0) or np.any((d == 0) & (np.diff(t) < 0)):
            srt = np.lexsort((t, prof_ids))
            prof_ids, t, cols = prof_ids[srt], t[srt], [c[srt] for c in cols]
    m = len(prof_ids)
    gfirst = np.ones(m, dtype=bool)
    if m > 1:
        gfirst[1:] = prof_ids[1:] != prof_ids[:-1]
    gstart = np.flatnonzero(gfirst)
    gcount = np.diff(np.append(gstart, m))
    gid = prof_ids[gstart]
    tab_order = np.argsort(table_ids, kind="stable")
    sorted_ids = table_ids[tab_order]
    pos = np.searchsorted(sorted_ids, gid)
    pos_c = np.clip(pos, 0, max(n - 1, 0))
    known = (sorted_ids[pos_c] == gid) if n else np.zeros(len(gid), dtype=bool)
    src_start = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    rows = tab_order[pos_c[known]] if n else np.zeros(0, dtype=np.int64)
    src_start[rows] = gstart[known]
    counts[rows] = gcount[known]
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        extra_t = np.column_stack([rise[missing], sett[missing]]).ravel()
        src_start[missing] = m + 2 * np.arange(missing.size)
        counts[missing] = 2
        t = np.concatenate([t, extra_t])
        cols = [np.concatenate([c, np.full(extra_t.shape, f)]) for c, f in zip(cols, fill)]
    total = int(counts.sum())
    cum_start = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(counts[:-1], out=cum_start[1:])
    idx = np.arange(total, dtype=np.int64) + np.repeat(src_start - cum_start, counts)
    first = np.zeros(total, dtype=bool)
    first[cum_start[counts > 0]] = True
    return t[idx], [c[idx] for c in cols], counts, first


def group_rows(ids: np.ndarray, keys: list[tuple[str, str]]):
    """Table order of rows grouped by key: ``(uniq, code, order)``.

    ``uniq`` are the distinct keys sorted, ``code`` the index in ``uniq`` of
    each row's key, ``order`` the rows sorted by (code, id): the rows of a key,
    and their samples, are contiguous in table order.
    """
    uniq = sorted(set(keys))
    code_of = {k: i for i, k in enumerate(uniq)}
    code = np.fromiter((code_of[k] for k in keys), dtype=np.int64, count=len(keys))
    return uniq, code, np.lexsort((ids, code))


def sample_starts(counts: np.ndarray) -> np.ndarray:
    """Index of each row's first sample (samples of a row are contiguous, in row order)."""
    start = np.zeros(len(counts), dtype=np.int64)
    if len(counts):
        np.cumsum(counts[:-1], out=start[1:])
    return start


def group_sample_bounds(code_t: np.ndarray, n_groups: int, starts: np.ndarray, n_samples: int):
    """Sample slice bounds of each group: group c holds samples ``[b[c], b[c + 1])``."""
    row_bounds = np.searchsorted(code_t, np.arange(n_groups + 1))
    return np.append(starts, n_samples)[row_bounds]


def row_peaks(values: np.ndarray, counts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Largest sample value of each row (0 for a row without samples)."""
    peak = np.zeros(len(counts))
    if len(values):
        peak[counts > 0] = np.maximum.reduceat(values, starts[counts > 0])
    return peak


class VolumeTable:
    """Volume of any sub-window of any pass, cheap and vectorised (Mbit).

    ``volume_mbit(pass_id, t0, t1)`` accepts scalars or arrays (broadcast).  A
    session over [t0, t1] (clipped to the pass's [rise, set]) loses its first
    ``hailing_s`` seconds, then carries ``protocol_efficiency`` x the integral
    of the rate::

        adaptive:  V = eff * (C(t1) - C(min(t0 + hail, t1)))
        fixed:     V = eff * max_r  r * (T_r(t1) - T_r(min(t0 + hail, t1)))

    where C is the cumulative (trapezoid) integral of the ADR rate and T_r the
    cumulative time the link closes at rate r, both interpolated linearly
    between samples.  In fixed mode the rate is RE-OPTIMISED for the sub-window
    (each relay session is configured with its own rate), so a short session
    at low elevation may use a lower rate than the whole pass;
    :meth:`fixed_rate_kbps` tells which.

    Properties (tested): volume never exceeds the whole pass's; never
    decreases when the window grows; adaptive >= fixed over any window; for
    adaptive, V(a, b) + V(b, c) = V(a, c) - eff * (C(b + hail) - C(b)) (additive
    up to the second session's hailing); for fixed, the parts sum to at least
    V(a, c) minus one hailing at the top rate and at most the adaptive V(a, c).
    Cost: one binary search per query end; 10,000 queries take milliseconds.
    """

    def __init__(self, ids, rise_tdb_s, set_tdb_s, group, hailing_s, efficiency, counts, t_s,
                 cum_adaptive_kbit, fixed_groups: dict[int, tuple[np.ndarray, np.ndarray, int]]):
        self.pass_ids = np.asarray(ids, dtype=np.int64)
        n = len(self.pass_ids)
        self._order = np.argsort(self.pass_ids, kind="stable")
        self._sorted_ids = self.pass_ids[self._order]
        if n > 1 and np.any(np.diff(self._sorted_ids) == 0):
            raise ValueError("ids must be unique")
        self.rise_tdb_s = np.asarray(rise_tdb_s, dtype=float)
        self.set_tdb_s = np.asarray(set_tdb_s, dtype=float)
        self.group = np.asarray(group, dtype=np.int64)
        self.hailing_s = np.asarray(hailing_s, dtype=float)
        self.efficiency = np.asarray(efficiency, dtype=float)
        self.sample_count = np.asarray(counts, dtype=np.int64)
        self.sample_start = sample_starts(self.sample_count)
        self.t_s = np.asarray(t_s, dtype=float)
        self.cum_adaptive_kbit = np.asarray(cum_adaptive_kbit, dtype=float)
        #: group -> (rates_kbps (L,), cumulative closing time (rows, L) s, first global row)
        self.fixed_groups = dict(fixed_groups)
        self.mode_fixed = np.isin(self.group, np.fromiter(self.fixed_groups, dtype=np.int64,
                                                          count=len(self.fixed_groups)))
        span = (self.set_tdb_s - self.rise_tdb_s) if n else np.zeros(0)
        self._K = float(np.max(span) + 1.0) if n else 1.0
        row_pass = np.repeat(np.arange(n, dtype=np.int64), self.sample_count)
        self._key = row_pass * self._K + (self.t_s - np.repeat(self.rise_tdb_s, self.sample_count))

    def __len__(self) -> int:
        return len(self.pass_ids)

    def to_npz(self, path) -> None:
        """Save the table (its arrays, exactly) to an ``.npz`` file; :meth:`from_npz` reads it back."""
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **self.to_arrays())

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The table as named arrays (what :meth:`to_npz` saves; :meth:`from_arrays` rebuilds it)."""
        arrays = {"ids": self.pass_ids, "rise": self.rise_tdb_s, "set": self.set_tdb_s, "group": self.group,
                  "hail": self.hailing_s, "eff": self.efficiency, "counts": self.sample_count, "t": self.t_s,
                  "cum": self.cum_adaptive_kbit, "fixed_keys": np.array(sorted(self.fixed_groups), dtype=np.int64)}
        for g in sorted(self.fixed_groups):
            rates, cum, first = self.fixed_groups[g]
            arrays[f"fr{g}"], arrays[f"fc{g}"], arrays[f"ff{g}"] = rates, cum, np.array(first, dtype=np.int64)
        return arrays

    @classmethod
    def from_npz(cls, path) -> "VolumeTable":
        """The table :meth:`to_npz` saved (no pickles are read)."""
        with np.load(path, allow_pickle=False) as z:
            return cls.from_arrays(z)

    @classmethod
    def from_arrays(cls, z) -> "VolumeTable":
        """The table of :meth:`to_arrays`' arrays (any mapping of those names)."""
        fixed = {int(g): (z[f"fr{g}"], z[f"fc{g}"], int(z[f"ff{g}"])) for g in z["fixed_keys"]}
        return cls(z["ids"], z["rise"], z["set"], z["group"], z["hail"], z["eff"], z["counts"], z["t"],
                   z["cum"], fixed)

    def index_of(self, pass_id) -> np.ndarray:
        """Row index of each pass id; raises KeyError for an unknown id."""
        pid = np.asarray(pass_id, dtype=np.int64)
        if len(self._sorted_ids) == 0:
            if pid.size:
                raise KeyError(f"unknown id(s) {np.atleast_1d(pid)[:5].tolist()}")
            return np.zeros(pid.shape, dtype=np.int64)
        pos = np.clip(np.searchsorted(self._sorted_ids, pid), 0, len(self._sorted_ids) - 1)
        ok = self._sorted_ids[pos] == pid
        if not np.all(ok):
            raise KeyError(f"unknown id(s) {np.atleast_1d(pid)[~np.atleast_1d(ok)][:5].tolist()}")
        return self._order[pos]

    def _locate(self, pi: np.ndarray, t: np.ndarray):
        """Sample index i (start <= i <= end-2), j = i + 1 and fraction f with t ~ t_i + f dt."""
        start = self.sample_start[pi]
        count = self.sample_count[pi]
        qkey = pi * self._K + (t - self.rise_tdb_s[pi])
        i = np.searchsorted(self._key, qkey, side="right") - 1
        i = np.clip(i, start, start + np.maximum(count - 2, 0))
        j = np.minimum(i + 1, start + count - 1)
        dt = self.t_s[j] - self.t_s[i]
        safe = np.where(dt > 0, dt, 1.0)
        f = np.where(dt > 0, (t - self.t_s[i]) / safe, 0.0)
        return i, j, np.clip(f, 0.0, 1.0)

    def _cum_adaptive(self, pi, t):
        i, j, f = self._locate(pi, t)
        c = self.cum_adaptive_kbit
        return c[i] + f * (c[j] - c[i])

    def _fixed_volumes_kbit(self, pi, a, b):
        """(n, L) volume at each level (kbit, before efficiency) and the level rates (n, L)."""
        out_v, out_r = [], []
        g = self.group[pi]
        res_v = np.zeros((len(pi), 0))
        res_r = np.zeros((len(pi), 0))
        if len(pi) == 0:
            return res_v, res_r
        L = max(len(v[0]) for v in self.fixed_groups.values())
        res_v = np.zeros((len(pi), L))
        res_r = np.zeros((len(pi), L))
        for grp, (rates, cum, off) in self.fixed_groups.items():
            k = np.flatnonzero(g == grp)
            if k.size == 0:
                continue
            ib, jb, fb = self._locate(pi[k], b[k])
            ia, ja, fa = self._locate(pi[k], a[k])
            cb = cum[ib - off] + fb[:, None] * (cum[jb - off] - cum[ib - off])
            ca = cum[ia - off] + fa[:, None] * (cum[ja - off] - cum[ia - off])
            res_v[k, :len(rates)] = rates[None, :] * np.maximum(cb - ca, 0.0)
            res_r[k, :len(rates)] = rates[None, :]
        return res_v, res_r

    def _window(self, pass_id, t0_tdb_s, t1_tdb_s):
        pid, t0, t1 = np.broadcast_arrays(np.asarray(pass_id), np.asarray(t0_tdb_s, dtype=float),
                                          np.asarray(t1_tdb_s, dtype=float))
        shape = pid.shape
        pid, t0, t1 = pid.ravel(), t0.ravel(), t1.ravel()
        pi = self.index_of(pid)
        rise, sett = self.rise_tdb_s[pi], self.set_tdb_s[pi]
        b = np.clip(t1, rise, sett)
        a = np.minimum(np.clip(t0, rise, sett) + self.hailing_s[pi], b)
        return shape, pi, a, b

    def _row_of_id(self, pass_id) -> int | None:
        """The row of one pass id (None: unknown, or a pass with fewer than two samples)."""
        rows = self.__dict__.get("_rows")
        if rows is None:
            ok = self.sample_count >= 2
            rows = self._rows = dict(zip(self.pass_ids[ok].tolist(), np.flatnonzero(ok).tolist()))
        try:
            return rows.get(int(pass_id))
        except (TypeError, ValueError):
            return None

    def _locate_one(self, pi: int, t: np.ndarray):
        """:meth:`_locate` for the times ``t`` of one row ``pi`` (at least two samples): the
        binary search runs over that row's samples only, with the same keys, so the sample
        indices and fractions are those of :meth:`_locate` bit for bit."""
        start, count = int(self.sample_start[pi]), int(self.sample_count[pi])
        qkey = pi * self._K + (t - self.rise_tdb_s[pi])
        i = np.searchsorted(self._key[start:start + count], qkey, side="right") + (start - 1)
        i = np.minimum(np.maximum(i, start), start + count - 2)
        j = i + 1
        ti = self.t_s[i]
        dt = self.t_s[j] - ti
        pos = dt > 0
        f = np.where(pos, (t - ti) / np.where(pos, dt, 1.0), 0.0)
        return i, j, np.minimum(np.maximum(f, 0.0), 1.0)

    def _volume_one_pass(self, pi: int, t0, t1) -> np.ndarray:
        """:meth:`volume_mbit` of many windows of one row ``pi``, 1-D (the same arithmetic, in
        a few vector operations on that pass's samples: the cut searches of the option
        builder query one pass at a time)."""
        rise, sett = self.rise_tdb_s[pi], self.set_tdb_s[pi]
        b = np.minimum(np.maximum(t1, rise), sett)
        a = np.minimum(np.minimum(np.maximum(t0, rise), sett) + self.hailing_s[pi], b)
        n = len(b)
        i, j, f = self._locate_one(pi, np.concatenate((b, a)))  # ends, then starts: one search
        if self.mode_fixed[pi]:
            rates, cum, off = self.fixed_groups[int(self.group[pi])]
            if len(rates):
                ci = cum[i - off]
                c = ci + f[:, None] * (cum[j - off] - ci)
                out = (rates[None, :] * np.maximum(c[:n] - c[n:], 0.0)).max(axis=1)
            else:
                out = np.zeros(n)
        else:
            ci = self.cum_adaptive_kbit[i]
            c = ci + f * (self.cum_adaptive_kbit[j] - ci)
            out = c[:n] - c[n:]
        return np.maximum(out, 0.0) * self.efficiency[pi] * 1e-3

    def volume_mbit(self, pass_id, t0_tdb_s, t1_tdb_s) -> np.ndarray | float:
        """Return-link volume of the session [t0, t1] of each pass, Mbit (see class doc)."""
        scalar = np.ndim(pass_id) == 0 and np.ndim(t0_tdb_s) == 0 and np.ndim(t1_tdb_s) == 0
        if np.ndim(pass_id) == 0:
            pi = self._row_of_id(pass_id)
            if pi is not None:  # one pass: the fast path (same figures bit for bit)
                t0, t1 = np.broadcast_arrays(np.asarray(t0_tdb_s, dtype=float), np.asarray(t1_tdb_s, dtype=float))
                out = self._volume_one_pass(pi, t0.ravel(), t1.ravel())
                return float(out[0]) if scalar else out.reshape(t0.shape)
        shape, pi, a, b = self._window(pass_id, t0_tdb_s, t1_tdb_s)
        out = np.zeros(pi.shape, dtype=float)
        fx = self.mode_fixed[pi]
        k = np.flatnonzero(~fx)
        if k.size:
            out[k] = self._cum_adaptive(pi[k], b[k]) - self._cum_adaptive(pi[k], a[k])
        k = np.flatnonzero(fx)
        if k.size:
            v, _ = self._fixed_volumes_kbit(pi[k], a[k], b[k])
            out[k] = v.max(axis=1) if v.shape[1] else 0.0
        out = np.maximum(out, 0.0) * self.efficiency[pi] * 1e-3
        out = out.reshape(shape)
        return float(out) if scalar else out

    def fixed_rate_kbps(self, pass_id, t0_tdb_s, t1_tdb_s) -> np.ndarray:
        """The volume-maximising fixed rate over [t0, t1]: NaN for adaptive passes, 0 if none closes."""
        shape, pi, a, b = self._window(pass_id, t0_tdb_s, t1_tdb_s)
        out = np.full(pi.shape, np.nan)
        k = np.flatnonzero(self.mode_fixed[pi])
        if k.size:
            v, r = self._fixed_volumes_kbit(pi[k], a[k], b[k])
            if v.shape[1]:
                best = np.argmax(v, axis=1)
                rows = np.arange(len(k))
                out[k] = np.where(v[rows, best] > 0, r[rows, best], 0.0)
            else:
                out[k] = 0.0
        return out.reshape(shape)

    def whole_pass_mbit(self) -> np.ndarray:
        """Volume of every whole pass, in the table's row order, Mbit."""
        return np.asarray(self.volume_mbit(self.pass_ids, self.rise_tdb_s, self.set_tdb_s))
