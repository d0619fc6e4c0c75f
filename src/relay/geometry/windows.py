"""The window finder: where sampled functions are positive, as pure numerics.

Nothing here knows of Mars, orbits or Skyfield: a search is given a function
``f(t, s)`` of times and series indices, its samples on a grid, and
optionally bounds on how fast it can change.  Every search runs the same
vectorised scheme (:func:`find_windows`):

1. sample a continuous function ``f(t)`` (elevation minus the mask) of every
   series (an orbiter-site or orbiter-station pair) on a coarse grid;
2. refine every sampled local maximum (golden-section search inside its
   two-step bracket) and every local minimum that sits between positive
   samples, and insert them into the samples, so a window shorter than the
   grid step is still seen when ``f`` is unimodal over two grid steps;
3. (given a ``reach``) prove the sign of ``f`` between neighbouring samples
   from a bound on how fast it can change, halving every stretch where that
   bound does not settle it: no window or gap longer than ``tol_s`` is missed
   even where ``f`` is not unimodal (a terrain mask's kinks can put two humps
   in one grid step);
4. bracket every sign change of the augmented samples and refine it with the
   Illinois variant of regula falsi, all brackets at once, to ``tol_s``.

Also here: the grid (:func:`time_grid`), windows of an exact function from
windows of an approximation of it (:func:`refined_windows`), and sample times
along windows (:func:`profile_times`).  Times are TDB seconds past J2000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


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


@dataclass
class _Samples:
    """The augmented samples of every series, in (series, time) order, flat.

    ``tau`` (each sample's reach) and ``brk`` (a grid sample followed by a
    break) are kept only while the search needs them (None otherwise).
    """

    s: np.ndarray
    t: np.ndarray
    v: np.ndarray
    tau: np.ndarray | None = None
    brk: np.ndarray | None = None

    def insert(self, at, s, t, v):
        self.s = np.insert(self.s, at, s)
        self.t = np.insert(self.t, at, t)
        self.v = np.insert(self.v, at, v)


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
    t = grid_tdb_s
    joined = _joined_steps(breaks, values.shape[1])
    extrema = _extrema_to_refine(values, joined, peaks, peak_bound)
    inserted = _refine_extrema(f, t, extrema, tol_s)
    samples = _augmented_samples(t, values, inserted, joined, reach)
    kinked_s = None
    if reach is not None:
        kinked_s = np.zeros(values.shape[0], bool) if kinked is None else np.asarray(kinked, bool)
        min_width = tol_s if min_width_s is None else min_width_s
        _prove_signs(reach[1], kinked_s, samples, min_width)
    starts, ends = _rises_and_sets(f, t, samples, tol_s, kinked_s)
    peak_t, peak_v = _window_peaks(f, t, samples, starts, ends)
    return Windows(starts[0], starts[1], ends[1], starts[2], ends[2], peak_t, peak_v)


def _joined_steps(breaks, n: int):
    """Per grid step, whether its two samples are neighbours (None when there is no break)."""
    if breaks is not None and len(breaks):
        joined = np.ones(n - 1, bool)
        joined[np.asarray(breaks, dtype=np.int64)] = False
        return joined
    return None


def _extrema_to_refine(v, joined, peaks: bool, peak_bound):
    """(series, index) of the sampled local maxima, and of the minima between positive samples,
    to refine (step 1 of :func:`find_windows`)."""
    interior_max = (v[:, 1:-1] >= v[:, :-2]) & (v[:, 1:-1] >= v[:, 2:]) & ~(
        (v[:, 1:-1] == v[:, :-2]) & (v[:, 1:-1] == v[:, 2:]))
    interior_min = (v[:, 1:-1] <= v[:, :-2]) & (v[:, 1:-1] <= v[:, 2:]) & (v[:, :-2] > 0) & (v[:, 2:] > 0)
    if joined is not None:
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
    return s_max, k_max, s_min, k_min


def _refine_extrema(f, t, extrema, tol_s: float):
    """The refined extrema (series, time, value), maxima before minima; None when there is none."""
    s_max, k_max, s_min, k_min = extrema
    ins_s, ins_t, ins_v = [], [], []
    # extrema to a tenth of the crossings' tolerance, and never finer than 0.1 ms
    width = max(1e-4, 0.1 * tol_s)
    if s_max.size:
        tm, vm = _golden_max(f, s_max, t[k_max - 1], t[k_max + 1], width_s=width)
        ins_s.append(s_max), ins_t.append(tm), ins_v.append(vm)
    if s_min.size:
        tm, vm = _golden_min(f, s_min, t[k_min - 1], t[k_min + 1], width_s=width)
        ins_s.append(s_min), ins_t.append(tm), ins_v.append(vm)
    if not ins_s:
        return None
    return np.concatenate(ins_s), np.concatenate(ins_t), np.concatenate(ins_v)


def _augmented_samples(t, values, inserted, joined, reach) -> _Samples:
    """The grid samples with the refined extrema inserted at their places (step 2).

    The grid samples are in order already; np.insert keeps equal positions in
    the given order.
    """
    n_series, n = values.shape
    out = _Samples(np.repeat(np.arange(n_series), n), np.tile(t, n_series), values.ravel())
    if reach is not None:
        out.tau = np.asarray(reach[0], dtype=float).ravel()
        if joined is not None:
            # a grid sample followed by a break (no sample is ever inserted in one)
            out.brk = np.tile(np.r_[~joined, False], n_series)
    if inserted is not None:
        i_s, i_t, i_v = inserted
        at = i_s * n + np.searchsorted(t, i_t, side="right")
        o = np.lexsort((i_t, at))
        at, i_s, i_t, i_v = at[o], i_s[o], i_t[o], i_v[o]
        out.insert(at, i_s, i_t, i_v)
        if reach is not None:
            out.tau = np.insert(out.tau, at, reach[1](i_t, i_s)[1])
            if out.brk is not None:
                out.brk = np.insert(out.brk, at, False)
    return out


def _prove_signs(g, kinked_s, smp: _Samples, min_width: float) -> None:
    """Prove the sign between samples, halving where it is not proved (step 3, in place).

    Only the new samples next to a change of sign (the brackets) are inserted;
    the others, which proved a sign, are dropped.
    """
    dt = np.diff(smp.t)
    pos = smp.v > 0
    same_sign = pos[1:] == pos[:-1]
    unproved = (smp.tau[1:] + smp.tau[:-1] <= dt) & same_sign
    if kinked_s.any():
        unproved |= ~same_sign & kinked_s[smp.s[1:]]
    unproved &= (smp.s[1:] == smp.s[:-1]) & (dt > min_width)
    if smp.brk is not None:
        unproved &= ~smp.brk[:-1]
    j = np.flatnonzero(unproved)
    c_k, c_s, c_t, c_v = _certify(g, kinked_s, j + 1, smp.s[j], smp.t[j], smp.t[j + 1],
                                  smp.v[j], smp.v[j + 1], smp.tau[j], smp.tau[j + 1], min_width)
    if c_k.size:
        o = np.lexsort((c_t, c_k))
        c_k, c_s, c_t, c_v = c_k[o], c_s[o], c_t[o], c_v[o]
        c_pos = c_v > 0
        first, last = np.r_[True, c_k[1:] != c_k[:-1]], np.r_[c_k[1:] != c_k[:-1], True]
        before = np.where(first, pos[c_k - 1], np.r_[False, c_pos[:-1]])
        after = np.where(last, pos[np.minimum(c_k, pos.size - 1)], np.r_[c_pos[1:], False])
        keep = (c_pos != before) | (c_pos != after)
        if keep.any():
            smp.insert(c_k[keep], c_s[keep], c_t[keep], c_v[keep])


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


def _refine_crossings(f, smp: _Samples, k, tol_s: float, kinked_s):
    """The crossing of zero between samples ``k`` and ``k + 1`` of each bracket (step 4)."""
    if k.size == 0:
        return np.empty(0)
    tol = tol_s
    if kinked_s is not None and kinked_s.any():
        # brackets already halved to tol_s: regula falsi takes them ten times
        # finer, so the crossing sits on the mask (not half a bracket off it)
        tol = np.where(kinked_s[smp.s[k]], 0.1 * tol_s, tol_s)
    return _illinois(f, smp.s[k], smp.t[k], smp.t[k + 1], smp.v[k], smp.v[k + 1], tol)


def _rises_and_sets(f, t, smp: _Samples, tol_s: float, kinked_s):
    """The windows' starts and ends, each (series, time, truncated), in (series, time) order.

    A series whose first / last sample is positive starts / ends truncated
    at the grid's first / last time.
    """
    pos = smp.v > 0
    same = smp.s[1:] == smp.s[:-1]
    rise_k = np.nonzero(same & ~pos[:-1] & pos[1:])[0]
    set_k = np.nonzero(same & pos[:-1] & ~pos[1:])[0]
    rise_t, set_t = _refine_crossings(f, smp, rise_k, tol_s, kinked_s), _refine_crossings(
        f, smp, set_k, tol_s, kinked_s)
    rise_series, set_series = smp.s[rise_k], smp.s[set_k]
    first = np.r_[True, ~same]
    last = np.r_[~same, True]
    trunc_start_series = smp.s[first & pos]
    trunc_end_series = smp.s[last & pos]
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
    return (starts_s, starts_t, starts_tr), (ends_s, ends_t, ends_tr)


def _window_peaks(f, t, smp: _Samples, starts, ends):
    """The peak inside each window, from the augmented samples (``f`` at the middle if none)."""
    starts_s, starts_t = starts[0], starts[1]
    ends_s, ends_t = ends[0], ends[1]
    peak_t = 0.5 * (starts_t + ends_t)
    peak_v = np.full(starts_t.size, np.nan)
    if starts_t.size:
        base = t[0]
        key = smp.s * 1e10 + (smp.t - base)
        lo = np.searchsorted(key, starts_s * 1e10 + (starts_t - base), side="left")
        hi = np.searchsorted(key, ends_s * 1e10 + (ends_t - base), side="right")
        nonempty = hi > lo
        if nonempty.any():
            lo_n, counts = lo[nonempty], (hi - lo)[nonempty]
            offsets = np.cumsum(counts) - counts
            rows = np.repeat(np.arange(lo_n.size), counts)
            idx = lo_n[rows] + (np.arange(counts.sum()) - offsets[rows])
            vals = smp.v[idx]
            best = np.maximum.reduceat(vals, offsets)
            # the first sample of each window that reaches its maximum
            hits = np.flatnonzero(vals == best[rows])
            _, first = np.unique(rows[hits], return_index=True)
            peak_t[nonempty] = smp.t[idx[hits[first]]]
            peak_v[nonempty] = best
        missing = np.isnan(peak_v)
        if missing.any():
            peak_v[missing] = f(peak_t[missing], starts_s[missing])
    return peak_t, peak_v


def time_grid(start_tdb_s: float, end_tdb_s: float, step_s: float) -> np.ndarray:
    """Grid from start to end (both included) at ``step_s``."""
    if not end_tdb_s > start_tdb_s:
        raise ValueError("the span's end must be later than its start")
    n = int(np.ceil((end_tdb_s - start_tdb_s) / step_s))
    grid = start_tdb_s + step_s * np.arange(n + 1, dtype=float)
    grid[-1] = end_tdb_s
    return grid


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


def refined_windows(approx: Windows, f, grid_start: float, grid_end: float, tol_s: float) -> Windows:
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


def profile_times(starts: np.ndarray, ends: np.ndarray, step_s: float):
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
