"""Geometry: orbiter passes over surface assets, ground-station tracks, Earth-Mars range.

Every search here runs the same vectorised scheme (:func:`find_windows`):

1. sample a continuous function ``f(t)`` (elevation minus the mask) of every
   series (an orbiter-site or orbiter-station pair) on a coarse grid;
2. refine every sampled local maximum (golden-section search inside its
   two-step bracket) and every local minimum that sits between positive
   samples, and insert them into the samples, so a window shorter than the
   grid step is still seen when ``f`` is unimodal over two grid steps;
3. (the pass search) prove the sign of ``f`` between neighbouring samples
   from a bound on how fast it can change, halving every stretch where that
   bound does not settle it: no window or gap longer than ``tol_s`` is missed
   even where ``f`` is not unimodal (a terrain mask's kinks can put two humps
   in one grid step), see :class:`_Reach`;
4. bracket every sign change of the augmented samples and refine it with the
   Illinois variant of regula falsi, all brackets at once, to ``tol_s``.

The pass search first bounds how fast an orbiter's elevation can change (its
speed in Mars's body-fixed frame over its range, :func:`speed_bound_km_s`):
a scan every ``COARSE_FACTOR`` grid steps proves where no site can see the
orbiter, and only the rest of the grid is sampled (positions once per time,
shared by every site); a local maximum that the same bound keeps below the
mask is not refined.  Both shortcuts leave the windows exactly as the search
on the whole grid finds them (tests/test_geometry_pruning.py).  The same
bound gives step 3 its proof.  Without a bound (an unbound orbit) the whole
grid is searched with steps 1, 2 and 4 only.

Times are TDB seconds past J2000 (floats) inside; the DataFrames returned
carry them as ``*_tdb_s`` columns.  ISO strings are added only at the
outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import mars
from .mars import Site
from .orbits.base import Ephemeris, check_coverage

from .constants import C_KM_S  # speed of light, km/s
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


# ---------------------------------------------------------------------------
# The generic window finder
# ---------------------------------------------------------------------------

def _golden_max(f, series, lo, hi, iterations: int = 40, width_s: float = 1e-4):
    """Vectorised golden-section maximisation of f(t, series) on [lo, hi], to ``width_s``.

    Each bracket stops on its own once narrower than ``width_s``, so its result
    does not depend on which other brackets are searched with it.
    """
    a, b = lo.astype(float).copy(), hi.astype(float).copy()
    c = b - _GOLDEN * (b - a)
    d = a + _GOLDEN * (b - a)
    fc, fd = f(c, series), f(d, series)
    for _ in range(iterations):
        live = np.flatnonzero(b - a >= width_s)
        if live.size == 0:
            break
        la, lb, lc, ld, lfc, lfd = a[live], b[live], c[live], d[live], fc[live], fd[live]
        left = lfc > lfd
        # the maximum lies in [a, d] when f(c) > f(d), else in [c, b]
        la = np.where(left, la, lc)
        lb = np.where(left, ld, lb)
        new_c = np.where(left, lb - _GOLDEN * (lb - la), ld)
        new_d = np.where(left, lc, la + _GOLDEN * (lb - la))
        fp = f(np.where(left, new_c, new_d), series[live])
        fc[live], fd[live] = np.where(left, fp, lfd), np.where(left, lfc, fp)
        a[live], b[live], c[live], d[live] = la, lb, new_c, new_d
    t = 0.5 * (a + b)
    return t, f(t, series)


def _golden_min(f, series, lo, hi, iterations: int = 40, width_s: float = 1e-4):
    t, v = _golden_max(lambda tt, ss: -f(tt, ss), series, lo, hi, iterations, width_s)
    return t, -v


def _illinois(f, series, a, b, fa, fb, tol_s, iterations: int = 60):
    """Vectorised Illinois regula falsi: roots of f in brackets [a, b] with fa*fb <= 0.

    ``tol_s``: the final bracket's width, one for all or one per bracket.
    """
    a, b, fa, fb = a.copy(), b.copy(), fa.copy(), fb.copy()
    side = np.zeros(a.shape, dtype=np.int8)
    for _ in range(iterations):
        width = b - a
        active = width > tol_s
        if not active.any():
            break
        denom = fb - fa
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(denom != 0, (a * fb - b * fa) / denom, 0.5 * (a + b))
        # keep the trial strictly inside and away from stalling at one end
        c = np.clip(c, a + 0.05 * tol_s, b - 0.05 * tol_s)
        c = np.where(np.isfinite(c), c, 0.5 * (a + b))
        idx = np.nonzero(active)[0]
        fc = f(c[idx], series[idx])
        same_as_a = np.sign(fc) == np.sign(fa[idx])
        zero = fc == 0
        ia, ib = idx[same_as_a & ~zero], idx[~same_as_a & ~zero]
        iz = idx[zero]
        a[iz] = b[iz] = c[iz]
        a[ia], fa[ia] = c[ia], fc[same_as_a & ~zero]
        fb[ia] = np.where(side[ia] == 1, fb[ia] * 0.5, fb[ia])
        side[ia] = 1
        b[ib], fb[ib] = c[ib], fc[~same_as_a & ~zero]
        fa[ib] = np.where(side[ib] == -1, fa[ib] * 0.5, fa[ib])
        side[ib] = -1
    # the root lies in [a, b]; return the end with the smaller residual's
    # interpolation (width is below tol_s here)
    return 0.5 * (a + b)


@dataclass
class Windows:
    """Windows found by :func:`find_windows` (flat arrays, one entry per window)."""

    series: np.ndarray          # int series index
    start_tdb_s: np.ndarray
    end_tdb_s: np.ndarray
    truncated_start: np.ndarray  # bool: the span's start cuts the window
    truncated_end: np.ndarray
    peak_tdb_s: np.ndarray       # time of the highest f found inside the window
    peak_value: np.ndarray


def find_windows(f: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 grid_tdb_s: np.ndarray, values: np.ndarray,
                 tol_s: float = 1e-3, *, breaks: np.ndarray | None = None,
                 peak_bound: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 peaks: bool = True, reach: tuple[np.ndarray, Callable] | None = None,
                 kinked: np.ndarray | None = None, min_width_s: float | None = None) -> Windows:
    """Windows where ``f > 0`` for each series, from samples ``values`` (S, N) on ``grid_tdb_s``.

    ``f(t, s)`` evaluates the function at arbitrary times ``t`` for series
    indices ``s`` (equal-length 1-D arrays).  The first and last grid times
    are the span's ends: windows cut by them are flagged as truncated.

    ``breaks`` (optional) lists the indices ``k`` at which ``grid[k]`` and
    ``grid[k + 1]`` are not neighbours: the grid skips a stretch in which
    ``f`` is known to be negative for every series (samples on both sides
    negative too), so no extremum is looked for across a break.
    ``peak_bound(s, k)`` (optional) bounds ``f`` of series ``s`` from above
    within one grid step of sample ``k`` (arrays of pairs); a local maximum
    whose bound is negative is not refined (refining it could only insert a
    negative sample between negative neighbours, which changes no window).
    ``peaks=False``: the caller does not need the peaks refined, so a local
    maximum already sampled positive (inside a window found anyway) is left
    alone; ``peak_tdb_s`` and ``peak_value`` then come from the samples.

    ``reach=(tau, g)`` (optional) turns the search into a proof: ``tau`` (S, N)
    holds, for each sample, a time for which ``f`` is sure to keep the
    sample's sign on either side of it (a bound on how fast ``f`` can change,
    0 where none is known), and ``g(t, s)`` returns ``(f, tau)`` at new times.
    Between two samples of the same sign whose reaches do not meet, ``f``
    could change sign unseen: such a stretch is halved (and its halves in
    turn) until every piece is proved of one sign or is at most
    ``min_width_s`` (default ``tol_s``) long.  Series flagged in ``kinked``
    (margins with kinks, as under a terrain mask, where two humps can share
    a grid step) have their sign changes halved in the same way too, down to
    ``min_width_s``, so every crossing between them is seen.  The result: no
    window and no gap longer than ``min_width_s`` is missed, whatever the
    shape of ``f`` between samples (for series not ``kinked``: as long as
    ``f`` crosses zero once between two samples of opposite sign).
    """
    n_series, n = values.shape
    t = grid_tdb_s
    # -- 1. local maxima / minima of the samples ---------------------------------
    v = values
    interior_max = (v[:, 1:-1] >= v[:, :-2]) & (v[:, 1:-1] >= v[:, 2:]) & ~(
        (v[:, 1:-1] == v[:, :-2]) & (v[:, 1:-1] == v[:, 2:]))
    interior_min = (v[:, 1:-1] <= v[:, :-2]) & (v[:, 1:-1] <= v[:, 2:]) & (v[:, :-2] > 0) & (v[:, 2:] > 0)
    if breaks is not None and len(breaks):
        joined = np.ones(n - 1, bool)
        joined[np.asarray(breaks, dtype=np.int64)] = False
        both = joined[:-1] & joined[1:]
        interior_max &= both
        interior_min &= both
    s_max, k_max = np.nonzero(interior_max)
    s_min, k_min = np.nonzero(interior_min)
    k_max, k_min = k_max + 1, k_min + 1
    if not peaks and s_max.size:
        keep = v[s_max, k_max] <= 0
        s_max, k_max = s_max[keep], k_max[keep]
    if peak_bound is not None and s_max.size:
        keep = peak_bound(s_max, k_max) >= 0
        s_max, k_max = s_max[keep], k_max[keep]
    ins_s, ins_t, ins_v = [], [], []
    # extrema to a tenth of the crossings' tolerance, and never finer than 0.1 ms
    width = max(1e-4, 0.1 * tol_s)
    if s_max.size:
        tm, vm = _golden_max(f, s_max, t[k_max - 1], t[k_max + 1], width_s=width)
        ins_s.append(s_max), ins_t.append(tm), ins_v.append(vm)
    if s_min.size:
        tm, vm = _golden_min(f, s_min, t[k_min - 1], t[k_min + 1], width_s=width)
        ins_s.append(s_min), ins_t.append(tm), ins_v.append(vm)
    # -- 2. augmented samples, sorted by (series, time) ----------------------------
    # the grid samples are in order already: the refined extrema are inserted
    # at their places (np.insert keeps equal positions in the given order)
    all_s = np.repeat(np.arange(n_series), n)
    all_t = np.tile(t, n_series)
    all_v = v.ravel()
    split = breaks is not None and len(breaks)
    if reach is not None:
        all_tau = np.asarray(reach[0], dtype=float).ravel()
        if split:
            # a grid sample followed by a break (no sample is ever inserted in one)
            all_brk = np.tile(np.r_[~joined, False], n_series)
    if ins_s:
        i_s, i_t, i_v = np.concatenate(ins_s), np.concatenate(ins_t), np.concatenate(ins_v)
        at = i_s * n + np.searchsorted(t, i_t, side="right")
        o = np.lexsort((i_t, at))
        at, i_s, i_t, i_v = at[o], i_s[o], i_t[o], i_v[o]
        all_s = np.insert(all_s, at, i_s)
        all_t = np.insert(all_t, at, i_t)
        all_v = np.insert(all_v, at, i_v)
        if reach is not None:
            all_tau = np.insert(all_tau, at, reach[1](i_t, i_s)[1])
            if split:
                all_brk = np.insert(all_brk, at, False)
    if reach is not None:
        # -- 2b. prove the sign between samples, halving where it is not proved --
        min_width = tol_s if min_width_s is None else min_width_s
        kinked_s = np.zeros(n_series, bool) if kinked is None else np.asarray(kinked, bool)
        dt = np.diff(all_t)
        pos = all_v > 0
        same_sign = pos[1:] == pos[:-1]
        unproved = (all_tau[1:] + all_tau[:-1] <= dt) & same_sign
        if kinked_s.any():
            unproved |= ~same_sign & kinked_s[all_s[1:]]
        unproved &= (all_s[1:] == all_s[:-1]) & (dt > min_width)
        if split:
            unproved &= ~all_brk[:-1]
        j = np.flatnonzero(unproved)
        c_k, c_s, c_t, c_v = _certify(reach[1], kinked_s, j + 1, all_s[j], all_t[j], all_t[j + 1],
                                      all_v[j], all_v[j + 1], all_tau[j], all_tau[j + 1], min_width)
        if c_k.size:
            o = np.lexsort((c_t, c_k))
            c_k, c_s, c_t, c_v = c_k[o], c_s[o], c_t[o], c_v[o]
            # only the samples next to a change of sign matter (the brackets):
            # the others, which proved a sign, are dropped
            c_pos = c_v > 0
            first, last = np.r_[True, c_k[1:] != c_k[:-1]], np.r_[c_k[1:] != c_k[:-1], True]
            before = np.where(first, pos[c_k - 1], np.r_[False, c_pos[:-1]])
            after = np.where(last, pos[np.minimum(c_k, pos.size - 1)], np.r_[c_pos[1:], False])
            keep = (c_pos != before) | (c_pos != after)
            if keep.any():
                at = c_k[keep]
                all_s = np.insert(all_s, at, c_s[keep])
                all_t = np.insert(all_t, at, c_t[keep])
                all_v = np.insert(all_v, at, c_v[keep])
    pos = all_v > 0
    same = all_s[1:] == all_s[:-1]
    rise_k = np.nonzero(same & ~pos[:-1] & pos[1:])[0]
    set_k = np.nonzero(same & pos[:-1] & ~pos[1:])[0]
    # -- 3. refine the crossings --------------------------------------------------
    def refine(k):
        if k.size == 0:
            return np.empty(0)
        tol = tol_s
        if reach is not None and kinked_s.any():
            # brackets already halved to tol_s: regula falsi takes them ten times
            # finer, so the crossing sits on the mask (not half a bracket off it)
            tol = np.where(kinked_s[all_s[k]], 0.1 * tol_s, tol_s)
        return _illinois(f, all_s[k], all_t[k], all_t[k + 1], all_v[k], all_v[k + 1], tol)

    rise_t, set_t = refine(rise_k), refine(set_k)
    rise_series, set_series = all_s[rise_k], all_s[set_k]
    # series whose first / last sample is positive start / end truncated
    first = np.r_[True, ~same]
    last = np.r_[~same, True]
    trunc_start_series = all_s[first & pos]
    trunc_end_series = all_s[last & pos]
    starts_s = np.concatenate([rise_series, trunc_start_series])
    starts_t = np.concatenate([rise_t, np.full(trunc_start_series.size, t[0])])
    starts_tr = np.concatenate([np.zeros(rise_t.size, bool), np.ones(trunc_start_series.size, bool)])
    ends_s = np.concatenate([set_series, trunc_end_series])
    ends_t = np.concatenate([set_t, np.full(trunc_end_series.size, t[-1])])
    ends_tr = np.concatenate([np.zeros(set_t.size, bool), np.ones(trunc_end_series.size, bool)])
    o1 = np.lexsort((starts_t, starts_s))
    o2 = np.lexsort((ends_t, ends_s))
    starts_s, starts_t, starts_tr = starts_s[o1], starts_t[o1], starts_tr[o1]
    ends_s, ends_t, ends_tr = ends_s[o2], ends_t[o2], ends_tr[o2]
    if starts_s.size != ends_s.size or np.any(starts_s != ends_s) or np.any(ends_t < starts_t):
        raise RuntimeError("window search lost track of a rise/set pair")  # pragma: no cover
    # -- 4. the peak inside each window (from the augmented samples) ------------
    peak_t = 0.5 * (starts_t + ends_t)
    peak_v = np.full(starts_t.size, np.nan)
    if starts_t.size:
        base = t[0]
        key = all_s * 1e10 + (all_t - base)
        lo = np.searchsorted(key, starts_s * 1e10 + (starts_t - base), side="left")
        hi = np.searchsorted(key, ends_s * 1e10 + (ends_t - base), side="right")
        nonempty = hi > lo
        if nonempty.any():
            lo_n, counts = lo[nonempty], (hi - lo)[nonempty]
            offsets = np.cumsum(counts) - counts
            rows = np.repeat(np.arange(lo_n.size), counts)
            idx = lo_n[rows] + (np.arange(counts.sum()) - offsets[rows])
            vals = all_v[idx]
            best = np.maximum.reduceat(vals, offsets)
            # the first sample of each window that reaches its maximum
            hits = np.flatnonzero(vals == best[rows])
            _, first = np.unique(rows[hits], return_index=True)
            peak_t[nonempty] = all_t[idx[hits[first]]]
            peak_v[nonempty] = best
        missing = np.isnan(peak_v)
        if missing.any():
            peak_v[missing] = f(peak_t[missing], starts_s[missing])
    return Windows(starts_s, starts_t, ends_t, starts_tr, ends_tr, peak_t, peak_v)


def _certify(g, kinked, k, s, ta, tb, fa, fb, tau_a, tau_b, min_width_s):
    """Samples that prove the sign of ``f`` between neighbouring samples (see :func:`find_windows`).

    Pieces ``[ta, tb]`` of series ``s`` with values ``fa``, ``fb`` and reaches
    ``tau_a``, ``tau_b``; ``k`` is where a sample inside the piece goes in the
    caller's arrays.  A piece is settled when its ends have the same sign and
    their reaches overlap (``f`` keeps that sign all through), when it is at
    most ``min_width_s`` long, or when its ends differ in sign and its series
    is not ``kinked``; any other piece is cut in two at its middle, all of
    them at once.  Returns the new samples as (k, series, time, value).
    """
    out_k, out_s, out_t, out_v = [], [], [], []
    while k.size:
        w = tb - ta
        same = (fa > 0) == (fb > 0)
        open_ = np.where(same, tau_a + tau_b <= w, kinked[s]) & (w > min_width_s)
        if not open_.any():
            break
        i = np.flatnonzero(open_)
        k, s, ta, tb, fa, fb, tau_a, tau_b = (x[i] for x in (k, s, ta, tb, fa, fb, tau_a, tau_b))
        tc = 0.5 * (ta + tb)
        fc, tau_c = g(tc, s)
        out_k.append(k), out_s.append(s), out_t.append(tc), out_v.append(fc)
        # the two halves, left before right, so the pieces stay in (series, time) order
        k, s = _halves(k, k), _halves(s, s)
        ta, tb = _halves(ta, tc), _halves(tc, tb)
        fa, fb = _halves(fa, fc), _halves(fc, fb)
        tau_a, tau_b = _halves(tau_a, tau_c), _halves(tau_c, tau_b)
    if not out_k:
        e = np.empty(0)
        return e.astype(np.int64), e.astype(np.int64), e, e
    return tuple(np.concatenate(x) for x in (out_k, out_s, out_t, out_v))


def _halves(left, right):
    """Interleave two equal-length arrays: left[0], right[0], left[1], ..."""
    out = np.empty(2 * left.size, dtype=left.dtype)
    out[0::2], out[1::2] = left, right
    return out


def time_grid(start_tdb_s: float, end_tdb_s: float, step_s: float) -> np.ndarray:
    """Grid from start to end (both included) at ``step_s``."""
    if not end_tdb_s > start_tdb_s:
        raise ValueError("the span's end must be later than its start")
    n = int(np.ceil((end_tdb_s - start_tdb_s) / step_s))
    grid = start_tdb_s + step_s * np.arange(n + 1, dtype=float)
    grid[-1] = end_tdb_s
    return grid


# ---------------------------------------------------------------------------
# Mars body-fixed positions, fast
# ---------------------------------------------------------------------------

class BodyFixed:
    """ICRF -> Mars body-fixed for many times, exact to ~1e-9 degree.

    Only the prime meridian angle ``W`` moves fast; the pole and the periodic
    terms move by at most ~1 degree a century per day and are interpolated
    linearly from nodes ``node_step_s`` apart (error < 1e-8 degree for one
    day).  ``to_body_fixed`` then costs one sine and cosine per time.
    """

    def __init__(self, start_tdb_s: float, end_tdb_s: float, node_step_s: float = 86400.0):
        n = max(2, int(np.ceil((end_tdb_s - start_tdb_s) / node_step_s)) + 1)
        self.nodes = np.linspace(start_tdb_s - 1.0, end_tdb_s + 1.0, n + 1)
        (ra, dec, w), _ = mars.pole_and_meridian_deg(self.nodes)
        self.ra = ra
        self.dec = dec
        self.w_periodic = w - (mars._W0 + mars._W1 * self.nodes / mars.DAY_S)
        # the pole's angles move by well under a microradian a day: their
        # cosines and sines are interpolated as linearly as the angles were
        # (the difference is below 1e-15), leaving two of the six sines and
        # cosines per time.  Tables: cos phi, sin phi, cos theta, sin theta, W's
        # periodic part (degrees), and their steps; nodes are evenly spaced.
        phi, theta = np.radians(90.0 + ra), np.radians(90.0 - dec)
        self._table = [np.cos(phi), np.sin(phi), np.cos(theta), np.sin(theta), self.w_periodic]
        self._slope = [np.diff(row) for row in self._table]
        self._dn = float(self.nodes[1] - self.nodes[0])

    def _cos_sin(self, tdb_s):
        """cos and sin of phi, theta and W at times ``tdb_s`` (clamped to the nodes like np.interp)."""
        tdb_s = np.asarray(tdb_s, dtype=float)
        last = self.nodes.size - 1
        u = np.clip((tdb_s - self.nodes[0]) / self._dn, 0.0, float(last))
        k = np.minimum(u.astype(np.int64), last - 1)
        f = u - k
        cp, sp, ct, st, wp = (row[k] + f * slope[k] for row, slope in zip(self._table, self._slope))
        w = np.radians(mars._W0 + mars._W1 * (tdb_s / mars.DAY_S) + wp)
        return cp, sp, ct, st, np.cos(w), np.sin(w)

    def to_body_fixed(self, tdb_s, vec_icrf):
        """Rotate ICRF vectors (N, 3) at times (N,) into the Mars body-fixed frame."""
        cp, sp, ct, st, cw, sw = self._cos_sin(tdb_s)
        x, y, z = vec_icrf[:, 0], vec_icrf[:, 1], vec_icrf[:, 2]
        x1 = cp * x + sp * y
        y1 = cp * y - sp * x
        y2 = ct * y1 + st * z
        out = np.empty((x.size, 3))
        out[:, 2] = ct * z - st * y1
        out[:, 0] = cw * x1 + sw * y2
        out[:, 1] = cw * y2 - sw * x1
        return out

    def to_icrf(self, tdb_s, vec_bf):
        """Inverse of :meth:`to_body_fixed`."""
        cp, sp, ct, st, cw, sw = self._cos_sin(tdb_s)
        x, y, z = vec_bf[:, 0], vec_bf[:, 1], vec_bf[:, 2]
        x1 = cw * x - sw * y
        y2 = sw * x + cw * y
        y1 = ct * y2 - st * z
        z1 = st * y2 + ct * z
        return np.stack([cp * x1 - sp * y1, sp * x1 + cp * y1, z1], axis=-1)


# ---------------------------------------------------------------------------
# Passes of orbiters over surface assets
# ---------------------------------------------------------------------------

PASS_COLUMNS = [
    "pass_id", "orbiter", "asset", "rise_tdb_s", "set_tdb_s", "duration_s",
    "max_elevation_deg", "max_elevation_tdb_s", "min_range_km",
    "truncated_start", "truncated_end",
]
PROFILE_COLUMNS = ["pass_id", "tdb_s", "elevation_deg", "azimuth_deg", "range_km"]


@dataclass
class PassSet:
    """All passes of a span: one row per pass, and their sampled profiles (long table)."""

    passes: pd.DataFrame
    profiles: pd.DataFrame
    start_tdb_s: float
    end_tdb_s: float


def default_step_s(eph: Ephemeris) -> float:
    """Grid step for an orbiter: 60 s, or 1/80 of the orbit's period if shorter."""
    period = getattr(eph, "period_s", None)
    if period is None:
        return 60.0
    return float(min(60.0, period / 80.0))


def find_passes(orbiters: Mapping[str, Ephemeris], sites: Sequence[Site],
                start_tdb_s: float, end_tdb_s: float, *, step_s: float | None = None,
                profile_step_s: float = 10.0, tol_s: float = 1e-3,
                body_fixed: BodyFixed | None = None) -> PassSet:
    """Every window in which each orbiter is above each site's mask.

    Passes are numbered in order of (rise, orbiter, asset).  Each pass has a
    profile sampled every ``profile_step_s`` from rise to set, both included.

    Guarantee (orbits with a speed bound, :func:`speed_bound_km_s`): no
    window and no gap inside a window longer than ``tol_s`` is missed, under
    a terrain mask too; without a terrain mask, a window is found whole as
    long as elevation crosses the mask once between two samples of opposite
    sign (a step is at most 1/80 of the period).
    """
    bf = body_fixed or BodyFixed(start_tdb_s, end_tdb_s)
    rows: list[pd.DataFrame] = []
    prof_parts: list[tuple] = []
    for orb_name, eph in orbiters.items():
        step = step_s or default_step_s(eph)
        grid = time_grid(start_tdb_s, end_tdb_s, step)
        check_coverage(eph, grid)
        view = _SiteView(eph, sites, bf)
        # only the stretches where some site may see the orbiter (all of the
        # grid when no speed bound is known), with their gaps as breaks
        idx, speed = _samples_near_passes(view, grid)
        if idx.size == 0:
            continue
        g = grid[idx]
        view.set_speed_bound(speed)
        values, p, tau = view.margins(g)
        bound = None
        if speed is not None:
            def bound(s, k, _p=p, _step=step, _speed=speed):
                # within one step of a sample the plain margin rises by at most
                # the angle a displacement of speed * step subtends at its range
                plain, rng = view.plain_margin_and_range(_p[k], s)
                return plain + _angle_bound_deg(_speed * _step, rng)
        # with a speed bound, the sign of every margin between samples is
        # proved (halving where it is not), so no window longer than tol_s is
        # missed; terrain masks (kinks) also have their crossings halved
        reach = None if tau is None else (tau, view.margin_and_reach)
        kinked = np.array([site.has_terrain_mask for site in sites], dtype=bool)
        w = find_windows(view.margin, g, values, tol_s=tol_s,
                         breaks=np.flatnonzero(np.diff(idx) > 1), peak_bound=bound,
                         reach=reach, kinked=kinked)
        if w.series.size == 0:
            continue
        # the refined peak of f: the elevation maximum for a constant mask
        pk_el, _, pk_rng = view.look(w.peak_tdb_s, w.series)
        part = len(rows)
        names = np.array([site.name for site in sites], dtype=object)[w.series]
        rows.append(pd.DataFrame({
            "orbiter": orb_name, "asset": names, "rise_tdb_s": w.start_tdb_s, "set_tdb_s": w.end_tdb_s,
            "max_elevation_deg": pk_el, "max_elevation_tdb_s": w.peak_tdb_s, "min_range_km": pk_rng,
            "truncated_start": w.truncated_start, "truncated_end": w.truncated_end, "_part": part,
            "_win": np.arange(w.series.size),
        }))
        prof_parts.append((view, w))
    return _assemble_passes(rows, prof_parts, start_tdb_s, end_tdb_s, profile_step_s)


# -- pruning: how fast can an orbiter's elevation change? ------------------------

#: Mars's rotation rate (rad/s) with a margin: the spin of the body-fixed frame
#: (the pole's motion adds ~1e-12 rad/s)
_SPIN_BOUND_RAD_S = 1.001 * np.radians(mars._W1) / mars.DAY_S

#: coarse-scan step as a multiple of the grid step (see _samples_near_passes)
COARSE_FACTOR = 8


def speed_bound_km_s(eph: Ephemeris, tdb_s: np.ndarray) -> float | None:
    """An upper bound on the orbiter's speed in Mars's body-fixed frame (km/s), or None.

    The speed relative to the rotating frame is at most the inertial speed
    plus the frame's spin times the distance from Mars's centre.  For a
    :class:`~relay.orbits.keplerian.KeplerianOrbit` both come from the conic:
    the speed at periapsis, the apoapsis radius, and the J2 precession of node
    and periapsis (which moves a point at radius r by at most
    (|node rate| + |periapsis rate|) r).  For any other source (OEM, SPK) they
    come from the osculating conics of the states at ``tdb_s`` (the largest
    periapsis speed and apoapsis radius among them, and among the states
    themselves), with a 2 % margin for what the conic leaves out (J2 moves
    them by a fraction of a percent).  None when a state is unbound or nearly
    so: the caller then searches the whole grid.
    """
    from .orbits.keplerian import KeplerianOrbit

    if isinstance(eph, KeplerianOrbit) and 0.0 <= eph.eccentricity < 1.0:
        a, e, gm = eph.semi_major_axis_km, eph.eccentricity, eph.gm_km3_s2
        node_rate, peri_rate, _ = eph.secular_rates_rad_s()
        v_peri = np.sqrt(gm * (1.0 + e) / (a * (1.0 - e)))
        r_apo = a * (1.0 + e)
        return float(1.001 * (v_peri + (abs(node_rate) + abs(peri_rate) + _SPIN_BOUND_RAD_S) * r_apo))
    pos, vel = eph.state_km(tdb_s)
    if pos.size == 0 or not (np.all(np.isfinite(pos)) and np.all(np.isfinite(vel))):
        return None
    gm = mars.GM_KM3_S2
    r = np.sqrt(np.einsum("ij,ij->i", pos, pos))
    v2 = np.einsum("ij,ij->i", vel, vel)
    h = np.cross(pos, vel)
    h2 = np.einsum("ij,ij->i", h, h)
    energy = 0.5 * v2 - gm / r
    if r.min() <= 0 or energy.max() >= 0:
        return None
    # the osculating conic of each sampled state: apoapsis radius and periapsis speed
    a = -gm / (2.0 * energy)
    e = np.sqrt(np.maximum(0.0, 1.0 + 2.0 * energy * h2 / gm**2))
    if e.max() >= 0.99:
        return None
    r_apo = max(float(np.max(a * (1.0 + e))), float(r.max()))
    v_peri = max(float(np.sqrt(np.max(gm * (1.0 + e) / (a * (1.0 - e))))), float(np.sqrt(v2.max())))
    return float(1.02 * (v_peri + _SPIN_BOUND_RAD_S * r_apo))


def _angle_bound_deg(displacement_km, range_km):
    """Largest change (deg) of the direction to a point at ``range_km`` moved by ``displacement_km``.

    A displacement ``D`` turns the direction by at most ``asin(D / range)``
    while ``D < range``, and by anything up to 180 degrees beyond.  Elevation
    (90 degrees minus the angle from the zenith) changes by no more.
    """
    ratio = np.asarray(displacement_km, dtype=float) / np.asarray(range_km, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(ratio < 1.0, np.degrees(np.arcsin(np.minimum(ratio, 1.0))), 180.0) + 1e-9


def _samples_near_passes(view: "_SiteView", grid: np.ndarray):
    """Indices of the grid samples within reach of a pass, and the speed bound used.

    A coarse scan (every ``COARSE_FACTOR`` grid samples) gives each site's
    margin ``m`` (elevation minus the constant mask, degrees) and range
    ``rho`` at each coarse time.  With the body-fixed speed bound ``V``, the
    elevation cannot climb by ``-m`` in less than ``rho sin(-m) / V`` seconds
    (``rho / V`` if ``-m`` exceeds 90 degrees): the time ``s`` the orbiter
    needs, at the very least, to reach the mask.  A coarse interval of length
    ``tau`` whose ends need ``s0`` and ``s1`` with ``s0 + s1 > tau`` holds no
    positive margin for that site.  The grid samples of the other intervals
    are kept, with two more on each side so that every bracket the full grid
    would use is kept whole and the samples next to a gap are negative.
    The search on the kept samples finds the same windows as on the whole
    grid (tests/test_geometry.py checks it against a dense brute force).
    """
    n = grid.size
    ci = np.unique(np.r_[np.arange(0, n, COARSE_FACTOR), n - 1])
    tc = grid[ci]
    speed = speed_bound_km_s(view.eph, tc)
    if speed is None or ci.size < 3:
        # a short span is searched whole (with the bound's proof, if any)
        return np.arange(n), speed
    pc = view.bf.to_body_fixed(tc, positions_km(view.eph, tc))
    tau = np.diff(tc)
    hot = np.zeros(tc.size - 1, bool)
    for site in view.sites:
        d = pc - site.position_km
        rho = np.sqrt(np.einsum("ij,ij->i", d, d))
        m = np.degrees(np.arcsin(np.clip((d @ site.up) / rho, -1.0, 1.0))) - site.min_elevation_deg
        climb = np.where(-m < 90.0, np.sin(np.radians(np.clip(-m, 0.0, 90.0))), 1.0)
        need = np.where(m >= 0.0, 0.0, rho / speed * climb)
        hot |= need[:-1] + need[1:] <= tau * (1.0 + 1e-9) + 1e-6
    if hot.all():
        return np.arange(n), speed
    mark = np.zeros(n + 1, np.int64)
    np.add.at(mark, np.clip(ci[:-1][hot] - 2, 0, n - 1), 1)
    np.add.at(mark, np.clip(ci[1:][hot] + 2, 0, n - 1) + 1, -1)
    return np.flatnonzero(np.cumsum(mark[:-1]) > 0), speed


#: times per chunk in bulk evaluations
_CHUNK = 1 << 16


def _mask_slope(site: Site) -> float:
    """Largest slope (deg of elevation per deg of azimuth) of a site's terrain mask, 0 without one."""
    if not site.has_terrain_mask or site.mask_az_deg.size < 2:
        return 0.0
    az = np.r_[site.mask_az_deg, site.mask_az_deg[0] + 360.0]
    el = np.r_[site.mask_el_deg, site.mask_el_deg[0]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nanmax(np.abs(np.diff(el) / np.diff(az))))


class _Reach:
    """How long a site's margin surely keeps its sign around a sample (the ``reach`` of find_windows).

    With ``V`` the orbiter's body-fixed speed bound and ``rho`` its range,
    the direction to it turns at most at ``V / rho(t)`` rad/s, and
    ``rho(t) >= rho - V |t - t0|``.  Without a terrain mask the margin is the
    elevation minus a constant ``c``: the orbiter must travel at least
    ``rho sin|el - c|`` (its distance to the cone ``el = c``) to change the
    sign, which takes ``rho sin|el - c| / V``.  Under a terrain mask ``M``
    (piecewise linear in azimuth, slope at most ``S``) the azimuth turns at
    most at ``1 / cos(el)`` times the direction's rate, so wherever
    ``|el| <= E`` the margin ``el - M(az)`` changes at most at
    ``K = 1 + S / cos(E)`` times it; integrating ``V / (rho - V s)`` gives the
    time ``rho / V (1 - exp(-d / K))`` to change it by ``d`` radians.  A
    negative margin stays below every mask point: ``E`` is the highest mask,
    and the orbiter must climb from below ``-E`` (margin at most
    ``-(E + lowest mask)``) or from the sample, whichever is nearer, so
    ``d = min(-margin, E + lowest mask)``; it must also reach the lowest mask,
    as without terrain.  A positive margin can only fall to 0 at an elevation
    below ``E``; above ``E' = (E + 90) / 2`` the margin exceeds ``E' - E``, so
    ``d = min(margin, E' - E)`` with ``K' = 1 + S / cos(E')``.
    """

    def __init__(self, site: Site, speed_km_s: float):
        self.inv_v = 1.0 / speed_km_s
        self.terrain = site.has_terrain_mask
        self.low = site.min_elevation_deg
        if self.terrain:
            self.low = max(site.min_elevation_deg, float(np.min(site.mask_el_deg)))
            top = site.max_mask_deg
            slope = _mask_slope(site)
            band = abs(top)
            self.k_neg = 1.0 + slope / np.cos(np.radians(min(band, 90.0)))
            self.cap_neg = np.radians(max(0.0, band + self.low))
            top2 = 0.5 * (top + 90.0)
            self.k_pos = 1.0 + slope / np.cos(np.radians(min(max(top2, band), 90.0)))
            # the argument needs the lowest mask inside the band
            self.cap_pos = np.radians(top2 - top) if band + self.low > 0 else 0.0
        self.cos_low, self.sin_low = np.cos(np.radians(self.low)), np.sin(np.radians(self.low))

    def plain(self, up_km, rng):
        """The reach without terrain, from the range and its component along the zenith.

        ``rho |sin(el - c)|``, spelled without angles; beyond 90 degrees from
        the cone it is below ``rho`` (the distance then), so still a bound.
        """
        across = np.sqrt(np.maximum(rng * rng - up_km * up_km, 0.0))
        return np.abs(up_km * self.cos_low - across * self.sin_low) * self.inv_v

    def __call__(self, margin, el, rng):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            scale = rng * self.inv_v
            # the cone of the lowest mask
            cone = scale * np.sin(np.radians(np.clip(np.abs(el - self.low), 0.0, 90.0)))
            neg = -np.expm1(-np.minimum(np.radians(-margin), self.cap_neg) / self.k_neg) * scale
            neg = np.where(el < self.low, np.maximum(neg, cone), neg)
            pos = -np.expm1(-np.minimum(np.radians(margin), self.cap_pos) / self.k_pos) * scale
            out = np.where(margin < 0, neg, np.where(margin > 0, pos, 0.0))
        return np.where(np.isfinite(out), np.maximum(out, 0.0), 0.0)


class _SiteView:
    """One orbiter seen from every site: margins, look angles, ranges."""

    def __init__(self, eph: Ephemeris, sites: Sequence[Site], bf: BodyFixed):
        self.eph = eph
        self.sites = list(sites)
        self.bf = bf
        self.reach: list[_Reach] | None = None

    def body_fixed(self, t):
        return self.bf.to_body_fixed(t, positions_km(self.eph, t))

    def set_speed_bound(self, speed_km_s: float | None):
        """Enable the sites' reaches (:class:`_Reach`) from a body-fixed speed bound (None: none)."""
        self.reach = None if speed_km_s is None else [_Reach(site, speed_km_s) for site in self.sites]

    def _margin_and_reach(self, i, p):
        """Margins of positions ``p`` from site ``i`` (as Site.elevation_margin_deg) and their reaches."""
        site = self.sites[i]
        if site.has_terrain_mask:
            el, az, rng = site.look_angles(p)
            margin = el - site.mask_deg(az)
            return margin, self.reach[i](margin, el, rng)
        d = p - site.position_km
        rng = np.sqrt(np.einsum("ij,ij->i", d, d))
        up = d @ site.up
        margin = np.degrees(np.arcsin(np.clip(up / rng, -1.0, 1.0))) - site.min_elevation_deg
        return margin, self.reach[i].plain(up, rng)

    def margins(self, t):
        """Margins (S, N) at grid times ``t``, the body-fixed positions (computed once), and the
        reaches (S, N) of the margins (None without a speed bound)."""
        p = self.body_fixed(t)
        values = np.empty((len(self.sites), t.size))
        tau = None if self.reach is None else np.empty_like(values)
        for i in range(len(self.sites)):
            if tau is None:
                values[i] = self.sites[i].elevation_margin_deg(p)
            else:
                values[i], tau[i] = self._margin_and_reach(i, p)
        return values, p, tau

    def margin_and_reach(self, t, s):
        """Margins and reaches of (time, site index) pairs (needs :meth:`set_speed_bound`)."""
        p = self.body_fixed(t)
        out, tau = np.empty(t.size), np.empty(t.size)
        for i, sl in _groups(s):
            out[sl], tau[sl] = self._margin_and_reach(i, p[sl])
        return out, tau

    def plain_margin_and_range(self, p, s):
        """Elevation minus ``min_elevation_deg``, and range, of positions ``p`` from sites ``s``.

        A terrain mask is never below ``min_elevation_deg``, so this plain
        margin bounds the margin from above (it is the margin for sites without
        terrain).
        """
        pos = np.array([site.position_km for site in self.sites])[s]
        up = np.array([site.up for site in self.sites])[s]
        d = p - pos
        rng = np.sqrt(np.einsum("ij,ij->i", d, d))
        el = np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", d, up) / rng, -1.0, 1.0)))
        return el - np.array([site.min_elevation_deg for site in self.sites])[s], rng

    def margin(self, t, s):
        """Elevation minus the mask of (time, site index) pairs."""
        p = self.body_fixed(t)
        out = np.empty(t.size)
        for i, sl in _groups(s):
            out[sl] = self.sites[i].elevation_margin_deg(p[sl])
        return out

    def look(self, t, s):
        """Elevation, azimuth, range of (time, site index) pairs.

        Millions of profile times go through in chunks that stay in the
        processor's cache (a third faster than whole arrays here).
        """
        el, az, rng = np.empty(t.size), np.empty(t.size), np.empty(t.size)
        for lo in range(0, t.size, _CHUNK):
            hi = min(lo + _CHUNK, t.size)
            p = self.body_fixed(t[lo:hi])
            for i, sl in _groups(s[lo:hi]):
                j = slice(lo + sl.start, lo + sl.stop) if isinstance(sl, slice) else np.arange(lo, hi)[sl]
                el[j], az[j], rng[j] = self.sites[i].look_angles(p[sl])
        return el, az, rng


def _groups(s: np.ndarray):
    """(value, selector) for each distinct value of ``s``: slices when ``s`` is sorted."""
    s = np.asarray(s)
    if s.size == 0:
        return []
    if np.all(s[1:] >= s[:-1]):
        cut = np.flatnonzero(np.diff(s)) + 1
        lo = np.r_[0, cut]
        hi = np.r_[cut, s.size]
        return [(int(s[a]), slice(a, b)) for a, b in zip(lo, hi)]
    return [(int(i), s == i) for i in np.unique(s)]


def positions_km(eph: Ephemeris, tdb_s: np.ndarray) -> np.ndarray:
    """Positions only (the fast path of sources that have one)."""
    fast = getattr(eph, "position_km", None)
    return fast(tdb_s) if fast is not None else eph.state_km(tdb_s)[0]


def _assemble_passes(rows, prof_parts, start_tdb_s, end_tdb_s, profile_step_s: float = 10.0) -> PassSet:
    """The passes table in (rise, orbiter, asset) order, and their profiles written in that order.

    ``prof_parts`` holds each orbiter's (_SiteView, Windows).  The profile
    samples of each window are computed in window order (sites together, in
    cache-sized chunks) and written straight to their rows of the final table,
    so the millions of samples are neither concatenated nor sorted.  The
    maximum elevation is the refined peak, or a profile sample where that is
    higher (terrain masks).
    """
    if not rows:
        return PassSet(pd.DataFrame(columns=PASS_COLUMNS), pd.DataFrame(columns=PROFILE_COLUMNS),
                       start_tdb_s, end_tdb_s)
    df = pd.concat(rows, ignore_index=True)
    df["duration_s"] = df["set_tdb_s"] - df["rise_tdb_s"]
    df = df.sort_values(["rise_tdb_s", "orbiter", "asset"], kind="mergesort").reset_index(drop=True)
    n_pass = len(df)
    df["pass_id"] = np.arange(n_pass, dtype=np.int64)
    # (part, window) -> pass_id: windows are numbered 0..n-1 per part
    sizes = np.array([w.series.size for _, w in prof_parts])
    base = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pass_of_win = np.empty(n_pass, dtype=np.int64)
    pass_of_win[base[df["_part"].to_numpy()] + df["_win"].to_numpy()] = df["pass_id"].to_numpy()
    # sample times per part (window order) and each pass's block in the final table
    times = [_profile_times(w.start_tdb_s, w.end_tdb_s, profile_step_s) for _, w in prof_parts]
    counts = np.empty(n_pass, dtype=np.int64)
    for k, (_, pwin) in enumerate(times):
        counts[pass_of_win[base[k]:base[k] + sizes[k]]] = np.bincount(pwin, minlength=sizes[k])
    stops = np.cumsum(counts)
    block = stops - counts
    out = np.empty((len(PROFILE_COLUMNS) - 1, int(stops[-1])))  # tdb_s, elevation, azimuth, range
    max_el = df["max_elevation_deg"].to_numpy().copy()
    max_t = df["max_elevation_tdb_s"].to_numpy().copy()
    min_rng = df["min_range_km"].to_numpy().copy()
    for k, ((view, w), (pt, pwin)) in enumerate(zip(prof_parts, times)):
        pel, paz, prng = view.look(pt, w.series[pwin])
        pid = pass_of_win[base[k]:base[k] + sizes[k]]
        first = np.flatnonzero(np.r_[True, np.diff(pwin) != 0])
        prof_max = np.maximum.reduceat(pel, first)
        hits = np.flatnonzero(pel == prof_max[pwin])
        _, j = np.unique(pwin[hits], return_index=True)
        use_prof = prof_max > max_el[pid]
        max_t[pid] = np.where(use_prof, pt[hits[j]], max_t[pid])
        max_el[pid] = np.where(use_prof, prof_max, max_el[pid])
        min_rng[pid] = np.minimum(np.minimum.reduceat(prng, first), min_rng[pid])
        dest = np.repeat(block[pid] - first, np.diff(np.r_[first, pt.size])) + np.arange(pt.size)
        for row, col in enumerate((pt, pel, paz, prng)):
            out[row, dest] = col
        del pel, paz, prng
    df["max_elevation_deg"], df["max_elevation_tdb_s"], df["min_range_km"] = max_el, max_t, min_rng
    prof = pd.DataFrame(out.T, columns=PROFILE_COLUMNS[1:], copy=False)
    prof.insert(0, "pass_id", np.repeat(np.arange(n_pass, dtype=np.int64), counts))
    return PassSet(df[PASS_COLUMNS].copy(), prof, start_tdb_s, end_tdb_s)



# ---------------------------------------------------------------------------
# Earth side: Earth-Mars geometry, station tracks
# ---------------------------------------------------------------------------

@dataclass
class Station:
    """A ground station: geodetic (WGS84) latitude, east longitude, height; elevation mask."""

    name: str
    latitude_deg: float
    longitude_deg: float
    height_m: float = 0.0
    min_elevation_deg: float = 10.0


def earth_mars(start_tdb_s: float, end_tdb_s: float, step_s: float = 3600.0,
               conjunction_deg: float = 3.0) -> pd.DataFrame:
    """Earth-Mars range, one-way light time and Sun-Earth-Mars angle on a grid.

    Range and light time are from the geocentre to Mars's centre (Skyfield
    ``observe``, light time included); ``sun_earth_mars_deg`` is the
    elongation of Mars from the Sun seen from the Earth; ``conjunction`` is
    true where it is below ``conjunction_deg``.
    """
    from .ephem import planets
    from .timescales import tdb_s_to_skyfield

    eph = planets()
    grid = time_grid(start_tdb_s, end_tdb_s, step_s)
    t = tdb_s_to_skyfield(grid)
    earth = eph["earth"].at(t)
    m = earth.observe(eph["mars"])
    s = earth.observe(eph["sun"])
    rng = m.distance().km
    sem = m.separation_from(s).degrees
    return pd.DataFrame({
        "tdb_s": grid,
        "range_km": rng,
        "light_time_s": m.light_time * 86400.0,
        "sun_earth_mars_deg": sem,
        "conjunction": sem < conjunction_deg,
    })


TRACK_COLUMNS = ["track_id", "orbiter", "station", "start_tdb_s", "end_tdb_s", "duration_s",
                 "max_elevation_deg", "truncated_start", "truncated_end"]
TRACK_PROFILE_COLUMNS = ["track_id", "tdb_s", "elevation_deg", "range_km"]


@dataclass
class TrackSet:
    tracks: pd.DataFrame
    profiles: pd.DataFrame
    start_tdb_s: float
    end_tdb_s: float


def hermite_cubic(t0: np.ndarray, x0: np.ndarray, v0: np.ndarray, x1: np.ndarray,
                  v1: np.ndarray, h: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cubic Hermite interpolation of (N, 3) states between nodes ``t0`` and ``t0 + h``."""
    s = ((t - t0) / h)[:, None]
    s2, s3 = s * s, s * s * s
    h00 = 2 * s3 - 3 * s2 + 1
    h10 = s3 - 2 * s2 + s
    h01 = -2 * s3 + 3 * s2
    h11 = s3 - s2
    hh = h[:, None]
    return h00 * x0 + h10 * hh * v0 + h01 * x1 + h11 * hh * v1


class BodyTable:
    """Barycentric positions of a de421 body tabulated on nodes and interpolated.

    Cubic Hermite on position and velocity at nodes ``node_step_s`` apart; for
    the Earth and Mars with hourly nodes the error is below a metre (checked in
    the tests against Skyfield), while a query costs a few array operations
    instead of a Chebyshev evaluation.
    """

    def __init__(self, body: str, start_tdb_s: float, end_tdb_s: float, node_step_s: float = 3600.0):
        from .ephem import planets
        from .timescales import tdb_s_to_skyfield

        n = max(2, int(np.ceil((end_tdb_s - start_tdb_s) / node_step_s)) + 1)
        self.nodes = np.linspace(start_tdb_s, end_tdb_s, n)
        pos = planets()[body].at(tdb_s_to_skyfield(self.nodes))
        self.x = pos.position.km.T
        self.v = pos.velocity.km_per_s.T

    def position_km(self, tdb_s: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self.nodes, tdb_s) - 1, 0, self.nodes.size - 2)
        return hermite_cubic(self.nodes[k], self.x[k], self.v[k], self.x[k + 1], self.v[k + 1],
                             self.nodes[k + 1] - self.nodes[k], tdb_s)


class EarthStations:
    """Ground-station positions in the ICRF for many times, fast.

    Skyfield's exact ICRS -> ITRS rotation (``rot_z(-GAST) M``, IAU 2000A
    nutation, no polar motion) is evaluated on nodes ``node_step_s`` apart;
    between nodes the precession-nutation matrix ``M`` and the part of GAST
    that is not the uniform sidereal rotation are interpolated linearly (both
    move by well under a milliarcsecond an hour), and the sidereal rotation
    itself is analytic.  Agreement with Skyfield's own ``altaz`` is checked in
    the tests to 1e-6 degree.
    """

    _SIDEREAL_PER_DAY = 1.00273781191135448

    def __init__(self, stations: Sequence[Station], start_tdb_s: float, end_tdb_s: float,
                 node_step_s: float = 3600.0):
        from skyfield.api import wgs84

        from .ephem import planets
        from .timescales import tdb_s_to_skyfield

        self.stations = stations
        self.planets = planets()
        # light time from Mars is at most ~22 minutes: cover emission times too
        self.earth_table = BodyTable("earth", start_tdb_s - 2 * node_step_s, end_tdb_s + 2 * node_step_s)
        self.mars_table = BodyTable("mars", start_tdb_s - 1500.0 - 2 * node_step_s, end_tdb_s + 2 * node_step_s)
        n = max(2, int(np.ceil((end_tdb_s - start_tdb_s) / node_step_s)) + 1)
        self.nodes = np.linspace(start_tdb_s - node_step_s, end_tdb_s + node_step_s, n + 2)
        t = tdb_s_to_skyfield(self.nodes)
        self.m = np.moveaxis(t.M, -1, 0)  # (K, 3, 3)
        phase = np.unwrap(t.gast * np.pi / 12.0 - self._spin(self.nodes))
        self.phase = phase
        self.itrs_km = []
        self.up_itrs = []
        for st in stations:
            topo = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.height_m)
            self.itrs_km.append(np.asarray(topo.itrs_xyz.km))
            lat, lon = np.radians(st.latitude_deg), np.radians(st.longitude_deg)
            self.up_itrs.append(np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]))

    def _spin(self, tdb_s):
        return 2 * np.pi * ((self._SIDEREAL_PER_DAY * tdb_s / 86400.0) % 1.0)

    def _rotation(self, tdb_s):
        """ICRS -> ITRS rotation matrices (N, 3, 3)."""
        k = np.clip(np.searchsorted(self.nodes, tdb_s) - 1, 0, self.nodes.size - 2)
        w = ((tdb_s - self.nodes[k]) / (self.nodes[k + 1] - self.nodes[k]))[:, None, None]
        m = self.m[k] * (1 - w) + self.m[k + 1] * w
        gast = self._spin(tdb_s) + np.interp(tdb_s, self.nodes, self.phase)
        c, s = np.cos(gast), np.sin(gast)
        z, o = np.zeros_like(c), np.ones_like(c)
        rz = np.stack([np.stack([c, s, z], -1), np.stack([-s, c, z], -1), np.stack([z, z, o], -1)], -2)
        return rz @ m

    def mars_elevation_deg(self, tdb_s, i):
        """Elevation of Mars's centre (geometric, light time included) from station i."""
        pos, up = self.position_and_up(tdb_s, i)
        lt = np.linalg.norm(self.mars_table.position_km(tdb_s) - pos, axis=1) / C_KM_S
        d = self.mars_table.position_km(tdb_s - lt) - pos
        u = d / np.linalg.norm(d, axis=1)[:, None]
        return np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", up, u), -1, 1)))

    def mars_elevation_deg_pairs(self, tdb_s, series):
        out = np.empty(tdb_s.size)
        for i in np.unique(series):
            m = series == i
            out[m] = self.mars_elevation_deg(tdb_s[m], i)
        return out

    def position_and_up(self, tdb_s, i):
        """Station i: barycentric ICRF position (km) and unit zenith (geodetic) at times (N,)."""
        r = self._rotation(tdb_s)
        gcrs = np.einsum("nji,j->ni", r, self.itrs_km[i])
        up = np.einsum("nji,j->ni", r, self.up_itrs[i])
        return self.earth_table.position_km(tdb_s) + gcrs, up

    def positions_and_ups(self, tdb_s, series):
        """As :meth:`position_and_up` for (time, station index) pairs, in one pass."""
        r = self._rotation(tdb_s)
        series = np.asarray(series, dtype=np.int64)
        gcrs = np.einsum("nji,nj->ni", r, np.asarray(self.itrs_km)[series])
        up = np.einsum("nji,nj->ni", r, np.asarray(self.up_itrs)[series])
        return self.earth_table.position_km(tdb_s) + gcrs, up


def _occultation_margin_km(bf: BodyFixed, te: np.ndarray, orb_icrf_km: np.ndarray,
                           towards_earth: np.ndarray) -> np.ndarray:
    """Clearance (km) of the line from the orbiter towards Earth above Mars's spheroid.

    The spheroid is scaled to a sphere of the equatorial radius (an affine map
    keeps lines straight).  With ``q`` the scaled unit direction towards the
    Earth and ``p`` the scaled orbiter position: when ``p.q < 0`` Mars's centre
    lies ahead on the line and the margin is its closest approach minus the
    radius; otherwise it is the orbiter's own height.  The two agree at
    ``p.q = 0``, so the margin is continuous; negative means hidden.
    """
    scale = np.array([1.0, 1.0, mars.EQUATORIAL_RADIUS_KM / mars.POLAR_RADIUS_KM])
    p = bf.to_body_fixed(te, orb_icrf_km) * scale
    q = bf.to_body_fixed(te, towards_earth) * scale
    q /= np.linalg.norm(q, axis=1)[:, None]
    along = np.einsum("ij,ij->i", p, q)
    closest = np.sqrt(np.maximum(np.einsum("ij,ij->i", p, p) - along**2, 0.0))
    radius = mars.EQUATORIAL_RADIUS_KM
    return np.where(along < 0, closest - radius, np.linalg.norm(p, axis=1) - radius)


class _EarthView:
    """Station-side geometry of one orbiter, light time included.

    For a reception time ``t`` at a station the signal left the orbiter at
    ``t - lt``; ``lt`` is iterated on the station-to-orbiter distance with
    Mars's position from de421 and the orbiter's Mars-centred state.  The
    elevation is that of the geometric direction at emission (aberration and
    refraction, both below 0.01 degree, are left out).
    """

    def __init__(self, eph: Ephemeris, earth: EarthStations, bf: BodyFixed):
        self.eph = eph
        self.earth = earth
        self.bf = bf

    def geocentric_margin_km(self, tdb_s: np.ndarray) -> np.ndarray:
        """Occultation margin (as in :meth:`evaluate`) seen from the geocentre: for bracketing."""
        earth = self.earth.earth_table.position_km(tdb_s)
        mars_pos = self.earth.mars_table.position_km(tdb_s)
        lt = np.linalg.norm(mars_pos - earth, axis=1) / C_KM_S
        te = tdb_s - lt
        orb = positions_km(self.eph, te)
        d = self.earth.mars_table.position_km(te) + orb - earth
        return _occultation_margin_km(self.bf, te, orb, -d / np.linalg.norm(d, axis=1)[:, None])

    def evaluate(self, tdb_s: np.ndarray, series: np.ndarray):
        """(elevation_deg, visibility_margin_km, range_km) for (time, station index) pairs.

        The visibility margin is positive when Mars does not hide the orbiter:
        the closest approach of the line of sight to Mars's spheroid (scaled to
        a sphere), or the orbiter's height when Mars lies behind it.
        """
        # all pairs at once (the stations' positions gathered per pair)
        t = np.asarray(tdb_s, dtype=float)
        st_pos, up = self.earth.positions_and_ups(t, series)
        lt = np.zeros(t.size)
        for _ in range(3):
            te = t - lt
            mars_pos = self.earth.mars_table.position_km(te)
            orb = positions_km(self.eph, te)
            d = mars_pos + orb - st_pos
            lt = np.sqrt(np.einsum("ij,ij->i", d, d)) / C_KM_S
        dist = np.sqrt(np.einsum("ij,ij->i", d, d))
        u = d / dist[:, None]
        el = np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", up, u), -1, 1)))
        vis = _occultation_margin_km(self.bf, te, orb, -u)
        return el, vis, dist


def _refine_brackets(f, series, a, b, tol_s):
    """Refine roots of f in brackets [a, b] found on an approximate grid.

    The bracket ends are moved outwards by up to two widths until the exact
    function changes sign across them (the grid function differs from the
    exact one by a fraction of a second of timing).
    """
    fa, fb = f(a, series), f(b, series)
    for _ in range(2):
        bad = np.sign(fa) == np.sign(fb)
        if not bad.any():
            break
        width = b - a
        a = np.where(bad, a - width, a)
        b = np.where(bad, b + width, b)
        fa, fb = f(a, series), f(b, series)
    ok = np.sign(fa) != np.sign(fb)
    out = np.full(a.shape, np.nan)
    if ok.any():
        out[ok] = _illinois(f, series[ok], a[ok], b[ok], fa[ok], fb[ok], tol_s)
    return out


def _refined_windows(approx: Windows, f, grid_start: float, grid_end: float, tol_s: float):
    """Windows of the exact ``f`` from windows of an approximation of it.

    Each approximate rise and set is refined with ``f`` inside a bracket of
    +/- ``pad_s`` around it; windows cut by the span keep their end there.
    """
    pad = 30.0
    rise = approx.start_tdb_s.copy()
    sett = approx.end_tdb_s.copy()
    r_idx = np.flatnonzero(~approx.truncated_start)
    s_idx = np.flatnonzero(~approx.truncated_end)
    if r_idx.size or s_idx.size:
        # rises and sets refined together (each bracket on its own)
        mid = np.concatenate([rise[r_idx], sett[s_idx]])
        ser = np.concatenate([approx.series[r_idx], approx.series[s_idx]])
        out = _refine_brackets(f, ser, mid - pad, mid + pad, tol_s)
        out = np.where(np.isnan(out), mid, out)
        rise[r_idx] = out[:r_idx.size]
        sett[s_idx] = out[r_idx.size:]
    rise = np.clip(rise, grid_start, grid_end)
    sett = np.clip(sett, grid_start, grid_end)
    return Windows(approx.series, rise, sett, approx.truncated_start, approx.truncated_end,
                   approx.peak_tdb_s, approx.peak_value)


def find_tracks(orbiters: Mapping[str, Ephemeris], stations: Sequence[Station],
                start_tdb_s: float, end_tdb_s: float, *, mars_step_s: float = 600.0,
                occultation_step_s: float | None = None, profile_step_s: float = 600.0,
                tol_s: float = 1e-2, body_fixed: BodyFixed | None = None) -> TrackSet:
    """Windows in which each station sees each orbiter above its mask, not hidden by Mars.

    Times are reception times at the station.  A track is the intersection of
    "above the station's mask" and "not occulted by Mars".  Both are
    bracketed on cheap grids (the elevation of Mars's centre per station,
    shared by all orbiters; the occultation margin seen from the geocentre,
    per orbiter) and every crossing is then refined with the exact
    station-and-orbiter geometry, light time included, to ``tol_s``.
    """
    bf = body_fixed or BodyFixed(start_tdb_s - 1800.0, end_tdb_s)
    earth = EarthStations(stations, start_tdb_s, end_tdb_s)
    n_st = len(stations)
    masks = np.array([s.min_elevation_deg for s in stations])
    # Mars-centre elevation per station (orbiter-independent)
    mgrid = time_grid(start_tdb_s, end_tdb_s, mars_step_s)
    mars_el = np.empty((n_st, mgrid.size))
    for i in range(n_st):
        mars_el[i] = earth.mars_elevation_deg(mgrid, i) - masks[i]
    mars_w = find_windows(lambda t, s: earth.mars_elevation_deg_pairs(t, s) - masks[s],
                          mgrid, mars_el, tol_s=1.0, peaks=False)
    rows, profs = [], []
    for orb_name, eph in orbiters.items():
        view = _EarthView(eph, earth, bf)
        period = getattr(eph, "period_s", None)
        ostep = occultation_step_s or (min(300.0, period / 40.0) if period else 120.0)
        ogrid = time_grid(start_tdb_s, end_tdb_s, ostep)
        check_coverage(eph, ogrid - 1400.0 if np.isfinite(eph.coverage_tdb_s[0]) else ogrid)
        geo_vis = view.geocentric_margin_km(ogrid)
        occ_w = find_windows(lambda t, s: view.geocentric_margin_km(t), ogrid, geo_vis[None, :], tol_s=1.0,
                             peaks=False)
        w_el = _refined_windows(mars_w, lambda t, s: view.evaluate(t, s)[0] - masks[s],
                                start_tdb_s, end_tdb_s, tol_s)
        # per station, only the visibility windows that touch its elevation
        # windows; refined for every station in one batch
        a_els, sel_s, sel_k = {}, [], []
        for i in range(n_st):
            a_el = _intervals(w_el, i)
            if not a_el:
                continue
            a_els[i] = a_el
            keep = np.zeros(occ_w.series.size, bool)
            for s0, e0, _, _ in a_el:
                keep |= (occ_w.end_tdb_s > s0 - 60) & (occ_w.start_tdb_s < e0 + 60)
            k = np.flatnonzero(keep)
            sel_s.append(np.full(k.size, i)), sel_k.append(k)
        if not a_els:
            continue
        k = np.concatenate(sel_k)
        occ_sel = Windows(np.concatenate(sel_s), occ_w.start_tdb_s[k], occ_w.end_tdb_s[k],
                          occ_w.truncated_start[k], occ_w.truncated_end[k], occ_w.peak_tdb_s[k],
                          occ_w.peak_value[k])
        w_vis = _refined_windows(occ_sel, lambda t, s: view.evaluate(t, s)[1],
                                 start_tdb_s, end_tdb_s, tol_s)
        for i, a_el in a_els.items():
            for s0, e0, ts, te in _intersect(a_el, _intervals(w_vis, i)):
                rows.append((orb_name, stations[i].name, s0, e0, ts, te))
    if not rows:
        return TrackSet(pd.DataFrame(columns=TRACK_COLUMNS), pd.DataFrame(columns=TRACK_PROFILE_COLUMNS),
                        start_tdb_s, end_tdb_s)
    df = pd.DataFrame(rows, columns=["orbiter", "station", "start_tdb_s", "end_tdb_s",
                                     "truncated_start", "truncated_end"])
    df["duration_s"] = df["end_tdb_s"] - df["start_tdb_s"]
    df = df[df["duration_s"] > 0].sort_values(["start_tdb_s", "orbiter", "station"], kind="mergesort")
    df = df.reset_index(drop=True)
    df["track_id"] = np.arange(len(df), dtype=np.int64)
    st_index = {s.name: i for i, s in enumerate(stations)}
    max_el = np.empty(len(df))
    for orb_name, sub in df.groupby("orbiter", sort=False):
        view = _EarthView(orbiters[orb_name], earth, bf)
        t, win = _profile_times(sub["start_tdb_s"].to_numpy(), sub["end_tdb_s"].to_numpy(), profile_step_s)
        series = np.array([st_index[s] for s in sub["station"]])[win]
        el, _, rng = view.evaluate(t, series)
        ids = sub["track_id"].to_numpy()[win]
        profs.append(pd.DataFrame({"track_id": ids, "tdb_s": t, "elevation_deg": el, "range_km": rng}))
        max_el[sub.index.to_numpy()] = pd.Series(el).groupby(win).max().to_numpy()
    df["max_elevation_deg"] = max_el
    prof = pd.concat(profs, ignore_index=True).sort_values(["track_id", "tdb_s"], kind="mergesort")
    return TrackSet(df[TRACK_COLUMNS].copy(), prof.reset_index(drop=True)[TRACK_PROFILE_COLUMNS],
                    start_tdb_s, end_tdb_s)


def _profile_times(starts: np.ndarray, ends: np.ndarray, step_s: float):
    """Sample times every ``step_s`` from each start, plus each end; and the window index of each.

    The last sample of each window is its end (a uniform sample within 1 us
    of the end gives way to it); built in window order, without sorting.
    """
    n = np.floor((ends - starts) / step_s).astype(np.int64) + 1
    extra = (ends - (starts + (n - 1) * step_s)) > 1e-6
    counts = n + extra
    stops = np.cumsum(counts)
    win = np.repeat(np.arange(starts.size), counts)
    off = np.arange(stops[-1] if stops.size else 0) - np.repeat(stops - counts, counts)
    t = starts[win] + off * step_s
    t[stops - 1] = ends
    return t, win


def _intervals(w: Windows, series: int):
    m = w.series == series
    return list(zip(w.start_tdb_s[m], w.end_tdb_s[m], w.truncated_start[m], w.truncated_end[m]))


def _intersect(a, b):
    """Intersection of two sorted interval lists, keeping truncation flags of the ends used."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if e > s:
            ts = a[i][2] if a[i][0] >= b[j][0] else b[j][2]
            te = a[i][3] if a[i][1] <= b[j][1] else b[j][3]
            out.append((s, e, bool(ts), bool(te)))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out
