"""Passes: the windows in which each orbiter is above each surface site's mask.

:func:`find_passes` runs the window finder of
:mod:`relay.geometry.windows` on every orbiter's elevation margins over every
site (elevation minus the mask, terrain masks included).  It first bounds how
fast an orbiter's elevation can change (its speed in Mars's body-fixed frame
over its range, :mod:`relay.geometry.bounds`): a scan every ``COARSE_FACTOR``
grid steps proves where no site can see the orbiter, and only the rest of the
grid is sampled (positions once per time, shared by every site); a local
maximum that the same bound keeps below the mask is not refined.  Both
shortcuts leave the windows exactly as the search on the whole grid finds them
(tests/test_geometry_pruning.py).  The same bound proves the margin's sign
between samples.  Without a bound (an unbound orbit) the whole grid is
searched without these.

The result is a :class:`PassSet`: one row per pass in (rise, orbiter, asset)
order, and each pass's profile (elevation, azimuth, range) sampled from rise
to set.  Times are TDB seconds past J2000 (``*_tdb_s`` columns).  ``pass_id``
numbers the rows (it indexes arrays only); ``true_rise_tdb_s`` is where a pass
really rises, followed back before the span for a pass its start cuts
(:func:`true_rises`): the rise the pass's stable id is made of (:mod:`relay.ids`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from ..errors import CoverageError
from ..mars import Site
from ..orbits.base import Ephemeris, check_coverage
from .bodyfixed import BodyFixed, positions_km
from .bounds import Reach, angle_bound_deg, speed_bound_km_s
from .windows import find_windows, profile_times, time_grid

if TYPE_CHECKING:
    import pandas as pd

PASS_COLUMNS = [
    "pass_id", "orbiter", "asset", "rise_tdb_s", "set_tdb_s", "duration_s",
    "max_elevation_deg", "max_elevation_tdb_s", "min_range_km",
    "truncated_start", "truncated_end", "true_rise_tdb_s",
]
PROFILE_COLUMNS = ["pass_id", "tdb_s", "elevation_deg", "azimuth_deg", "range_km"]

#: coarse-scan step as a multiple of the grid step (see _samples_near_passes)
COARSE_FACTOR = 8

#: times per chunk in bulk evaluations
_CHUNK = 1 << 16

#: how far before the span a pass its start cuts is followed back to its true rise (the rise its
#: stable id is made of, :mod:`relay.ids`)
LOOKBACK_S = 86400.0


@dataclass
class PassSet:
    """All passes of a span: one row per pass, and their sampled profiles (long table)."""

    passes: pd.DataFrame
    profiles: pd.DataFrame
    start_tdb_s: float
    end_tdb_s: float


@dataclass
class PassColumns:
    """The passes of a span as plain numpy columns (no pandas): ``passes`` maps each of
    :data:`PASS_COLUMNS` to an array (one row per pass, in (rise, orbiter, asset) order; orbiter
    and asset are object arrays of str), ``profiles`` each of :data:`PROFILE_COLUMNS` (sorted by
    pass_id, then time).  :meth:`pass_set` gives the same passes as a :class:`PassSet`."""

    passes: dict[str, np.ndarray]
    profiles: dict[str, np.ndarray]
    start_tdb_s: float
    end_tdb_s: float

    def __len__(self) -> int:
        return len(self.passes["pass_id"])

    def pass_set(self) -> PassSet:
        """The same passes as DataFrames (what the planner pipeline and the API use)."""
        import pandas as pd

        if not len(self):  # an empty table: no dtypes, as pandas makes one
            return PassSet(pd.DataFrame(columns=PASS_COLUMNS), pd.DataFrame(columns=PROFILE_COLUMNS),
                           self.start_tdb_s, self.end_tdb_s)
        return PassSet(pd.DataFrame({c: self.passes[c] for c in PASS_COLUMNS}),
                       pd.DataFrame({c: self.profiles[c] for c in PROFILE_COLUMNS}),
                       self.start_tdb_s, self.end_tdb_s)


def empty_pass_columns(start_tdb_s: float, end_tdb_s: float) -> PassColumns:
    """No passes (typed empty columns)."""
    ints = ("pass_id",)
    objs = ("orbiter", "asset")
    bools = ("truncated_start", "truncated_end")
    kind = {**{c: np.int64 for c in ints}, **{c: object for c in objs}, **{c: bool for c in bools}}
    return PassColumns({c: np.zeros(0, dtype=kind.get(c, float)) for c in PASS_COLUMNS},
                       {c: np.zeros(0, dtype=kind.get(c, float)) for c in PROFILE_COLUMNS},
                       start_tdb_s, end_tdb_s)


def merge_pass_columns(parts: Sequence[PassColumns], start_tdb_s: float, end_tdb_s: float) -> PassColumns:
    """Pass searches of the same span (orbiters searched one by one) as one, renumbered in
    (rise, orbiter, asset) order, the profiles sorted by pass_id, then time."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_pass_columns(start_tdb_s, end_tdb_s)
    offsets = np.cumsum([0] + [len(p) for p in parts])
    cols = {c: np.concatenate([p.passes[c] for p in parts]) for c in PASS_COLUMNS}
    cols["pass_id"] = np.concatenate([p.passes["pass_id"] + k for p, k in zip(parts, offsets)])
    order = rise_order(cols)
    cols = {c: v[order] for c, v in cols.items()}
    remap = np.empty(len(order), dtype=np.int64)
    remap[cols["pass_id"]] = np.arange(len(order), dtype=np.int64)
    cols["pass_id"] = np.arange(len(order), dtype=np.int64)
    prof = {c: np.concatenate([p.profiles[c] for p in parts]) for c in PROFILE_COLUMNS}
    prof["pass_id"] = remap[np.concatenate([p.profiles["pass_id"] + k for p, k in zip(parts, offsets)])]
    porder = np.lexsort((prof["tdb_s"], prof["pass_id"]))
    return PassColumns(cols, {c: v[porder] for c, v in prof.items()}, start_tdb_s, end_tdb_s)


def rise_order(cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """The stable order of pass rows by (rise, orbiter, asset)."""
    return np.lexsort((np.asarray(cols["asset"]).astype(str), np.asarray(cols["orbiter"]).astype(str),
                       cols["rise_tdb_s"]))


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
    """Every window in which each orbiter is above each site's mask, as DataFrames
    (:func:`find_pass_columns`, whose arguments and guarantee it shares)."""
    return find_pass_columns(orbiters, sites, start_tdb_s, end_tdb_s, step_s=step_s, profile_step_s=profile_step_s,
                             tol_s=tol_s, body_fixed=body_fixed).pass_set()


def find_pass_columns(orbiters: Mapping[str, Ephemeris], sites: Sequence[Site],
                      start_tdb_s: float, end_tdb_s: float, *, step_s: float | None = None,
                      profile_step_s: float = 10.0, tol_s: float = 1e-3,
                      body_fixed: BodyFixed | None = None) -> PassColumns:
    """Every window in which each orbiter is above each site's mask (numpy columns).

    Passes are numbered in order of (rise, orbiter, asset).  Each pass has a
    profile sampled every ``profile_step_s`` from rise to set, both included.

    Guarantee (orbits with a speed bound, :func:`speed_bound_km_s`): no
    window and no gap inside a window longer than ``tol_s`` is missed, under
    a terrain mask too; without a terrain mask, a window is found whole as
    long as elevation crosses the mask once between two samples of opposite
    sign (a step is at most 1/80 of the period).
    """
    bf = body_fixed or BodyFixed(start_tdb_s, end_tdb_s)
    rows: list[dict] = []
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
                return plain + angle_bound_deg(_speed * _step, rng)
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
        rows.append({
            "orbiter": np.full(names.size, orb_name, dtype=object), "asset": names,
            "rise_tdb_s": w.start_tdb_s, "set_tdb_s": w.end_tdb_s,
            "max_elevation_deg": pk_el, "max_elevation_tdb_s": w.peak_tdb_s, "min_range_km": pk_rng,
            "truncated_start": w.truncated_start, "truncated_end": w.truncated_end,
            "true_rise_tdb_s": true_rises(view, w, start_tdb_s, step, tol_s),
            "_part": np.full(names.size, part, dtype=np.int64), "_win": np.arange(w.series.size),
        })
        prof_parts.append((view, w))
    return _assemble_passes(rows, prof_parts, start_tdb_s, end_tdb_s, profile_step_s)


def true_rises(view: "_SiteView", w, start_tdb_s: float, step_s: float, tol_s: float) -> np.ndarray:
    """The true rise of each window: its rise, or for a window the span's start cuts, the rise
    found by following it back up to :data:`LOOKBACK_S` on the span's grid continued backwards
    (the grid a span starting a whole number of steps earlier has), refined as the search does.
    NaN for a window up all that time, or whose orbit does not reach back."""
    out = np.where(w.truncated_start, np.nan, w.start_tdb_s)
    cut = np.flatnonzero(w.truncated_start)
    lo = max(start_tdb_s - LOOKBACK_S, float(view.eph.coverage_tdb_s[0]))
    n = int(np.floor((start_tdb_s - lo) / step_s + 1e-9))
    if cut.size == 0 or n < 1:
        return out
    grid = start_tdb_s - step_s * np.arange(n, -1, -1, dtype=float)
    site = w.series[cut]
    t, s = np.tile(grid, cut.size), np.repeat(site, grid.size)
    try:
        if view.reach is None:
            margin, reach = view.margin(t, s).reshape(cut.size, grid.size), None
        else:  # with the search's proof of signs (and terrain masks' crossings halved) as in the span
            margin, tau = (x.reshape(cut.size, grid.size) for x in view.margin_and_reach(t, s))
            reach = (tau, lambda tt, ss: view.margin_and_reach(tt, site[ss]))
        kinked = np.array([view.sites[i].has_terrain_mask for i in site], dtype=bool)
        back = find_windows(lambda tt, ss: view.margin(tt, site[ss]), grid, margin, tol_s=tol_s, peaks=False,
                            reach=reach, kinked=kinked)
    except CoverageError:  # an orbit file with a gap before the span: the true rises stay unknown
        return out
    # the window of each cut pass that reaches the span's start, unless it is up from the grid's start
    last = back.truncated_end & ~back.truncated_start
    out[cut[back.series[last]]] = back.start_tdb_s[last]
    return out


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
    # every COARSE_FACTOR-th sample and the last (np.unique would import numpy.ma: 0.02 s of start-up)
    ci = np.arange(0, n, COARSE_FACTOR)
    if ci[-1] != n - 1:
        ci = np.r_[ci, n - 1]
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


class _SiteView:
    """One orbiter seen from every site: margins, look angles, ranges."""

    def __init__(self, eph: Ephemeris, sites: Sequence[Site], bf: BodyFixed):
        self.eph = eph
        self.sites = list(sites)
        self.bf = bf
        self.reach: list[Reach] | None = None

    def body_fixed(self, t):
        return self.bf.to_body_fixed(t, positions_km(self.eph, t))

    def set_speed_bound(self, speed_km_s: float | None):
        """Enable the sites' reaches (:class:`Reach`) from a body-fixed speed bound (None: none)."""
        self.reach = None if speed_km_s is None else [Reach(site, speed_km_s) for site in self.sites]

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


def _assemble_passes(rows, prof_parts, start_tdb_s, end_tdb_s, profile_step_s: float = 10.0) -> PassColumns:
    """The passes table in (rise, orbiter, asset) order, and their profiles written in that order.

    ``prof_parts`` holds each orbiter's (_SiteView, Windows).  The profile
    samples of each window are computed in window order (sites together, in
    cache-sized chunks) and written straight to their rows of the final table,
    so the millions of samples are neither concatenated nor sorted.  The
    maximum elevation is the refined peak, or a profile sample where that is
    higher (terrain masks).
    """
    if not rows:
        return empty_pass_columns(start_tdb_s, end_tdb_s)
    df = {c: np.concatenate([r[c] for r in rows]) for c in rows[0]}
    df["duration_s"] = df["set_tdb_s"] - df["rise_tdb_s"]
    order = rise_order(df)
    df = {c: v[order] for c, v in df.items()}
    n_pass = len(order)
    df["pass_id"] = np.arange(n_pass, dtype=np.int64)
    # (part, window) -> pass_id: windows are numbered 0..n-1 per part
    sizes = np.array([w.series.size for _, w in prof_parts])
    base = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pass_of_win = np.empty(n_pass, dtype=np.int64)
    pass_of_win[base[df["_part"]] + df["_win"]] = df["pass_id"]
    # sample times per part (window order) and each pass's block in the final table
    times = [profile_times(w.start_tdb_s, w.end_tdb_s, profile_step_s) for _, w in prof_parts]
    counts = np.empty(n_pass, dtype=np.int64)
    for k, (_, pwin) in enumerate(times):
        counts[pass_of_win[base[k]:base[k] + sizes[k]]] = np.bincount(pwin, minlength=sizes[k])
    stops = np.cumsum(counts)
    block = stops - counts
    out = np.empty((len(PROFILE_COLUMNS) - 1, int(stops[-1])))  # tdb_s, elevation, azimuth, range
    max_el, max_t, min_rng = df["max_elevation_deg"], df["max_elevation_tdb_s"], df["min_range_km"]
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
    prof = {"pass_id": np.repeat(np.arange(n_pass, dtype=np.int64), counts)}
    prof.update(zip(PROFILE_COLUMNS[1:], out))
    return PassColumns({c: df[c] for c in PASS_COLUMNS}, prof, start_tdb_s, end_tdb_s)
