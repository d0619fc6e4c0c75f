"""Link model: pass geometry -> UHF rates and volumes; station tracks -> X-band capacity.

This is the "Links" stage of the pipeline (issue 3).  It takes the plain
DataFrames of the geometry stage and returns plain DataFrames plus one query
object, :class:`VolumeTable`.

UHF return link (asset -> orbiter)
----------------------------------
At every profile sample a link budget gives the highest information rate that
closes with the required margin::

    x [dB-bps] = P_tx - L_tx + G_tx(off-zenith) - L_env - FSL(range, f) - L_pol - L_other
                 + G_rx(off-nadir) - L_rx - 10 log10(T_sys) - k
                 - L_impl - (Eb/N0)_req - M_req

(k = -228.6 dBW/K/Hz).  The off-zenith angle at the asset is 90 - elevation;
the orbiter's off-nadir angle follows from range and elevation on a sphere of
Mars' mean radius (law of sines), so no orbit altitude is needed.  The rate
at the sample is the largest rate of the pair's rate table (the intersection
of both radios' tables) not above 10^(x/10) bps, or 0 if none closes.

Rate modes
----------
- adaptive (ADR): the rate follows the samples.
- fixed: one rate for the whole session, chosen to maximise the session's
  volume ``r * (time the link closes at r)``.  The rate is re-optimised for
  every sub-window the planner asks about (each relay session is configured
  on its own), see :class:`VolumeTable`.

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

Forward link (orbiter -> asset)
-------------------------------
Modelled as a minimum session duration: hailing + command load / (forward
rate x protocol efficiency).  A pass "fits" when its duration is at least that.
The forward budget itself is not evaluated (the forward rate is low and is
assumed to close wherever the return link closes at any rate).

X-band downlink (orbiter -> Earth)
----------------------------------
The rate along a station track comes from a budget (orbiter dish and TWTA,
free-space loss at the Earth-orbiter range, station G/T degraded by the sky
noise that accompanies atmospheric loss at low elevation) or from the
orbiter's ``rate_vs_distance`` table, then is floored to the orbiter's rate
table (the default tables reach down to ~1 kbps, so an orbiter far from Earth
downlinks slowly rather than not at all; see :mod:`relay.config_links`).  Track
windows already exclude times when Mars hides the orbiter.
Capacities use the same trapezoid/cumulative machinery (no hailing, efficiency 1).

Which station time is used
--------------------------
Either a bookings CSV (:func:`read_bookings`), each booking inside one
station window, or, without one, this deterministic rule per orbiter:

1. windows are taken in order of (start, station, track_id); a window that
   overlaps time already taken by an earlier window of the same orbiter
   (at another station) starts where that time ends -- the orbiter sends one
   downlink at a time, so overlapping views never double the capacity;
2. the remaining windows are charged to the UTC day in which their used part
   starts; within a day they are used in time order until the orbiter's
   ``xband.max_hours_per_day`` is reached, the window that reaches it being
   cut short at its end.

Published figures this model is calibrated on are in ``shared/domain.md``; the
defaults and their provenance are documented in :mod:`relay.config_links`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .config_links import (
    AssetUHF,
    LinkSettings,
    OrbiterUHF,
    RadioSpec,
    StationXBand,
    XBandSpec,
    merge_radios,
)
from .constants import AU_KM, C_KM_S
from .errors import RelayInputError
from .inputs import BOOKING_COLUMNS, bookings_path, read_bookings  # noqa: F401 (read_bookings: public here too)

#: 10 log10 of Boltzmann's constant, dBW/K/Hz.
BOLTZMANN_DBW = 10.0 * math.log10(1.380649e-23)
#: Mars mean radius used for the off-nadir angle, km (IAU 2015 mean ~3389.5 km).
MARS_MEAN_RADIUS_KM = 3389.5


# ---------------------------------------------------------------------------
# Budget primitives
# ---------------------------------------------------------------------------

def free_space_loss_db(range_km, frequency_mhz):
    """Free-space loss 20 log10(4 pi d f / c), dB, for d in km and f in MHz."""
    d = np.maximum(np.asarray(range_km, dtype=float), 1e-6)
    return 20.0 * np.log10(d) + 20.0 * np.log10(frequency_mhz) + 20.0 * math.log10(
        4.0 * math.pi * 1e9 / (C_KM_S * 1e3))


def off_nadir_deg(elevation_deg, range_km, body_radius_km: float = MARS_MEAN_RADIUS_KM):
    """Orbiter off-nadir angle of the asset, deg, from the asset's elevation and the range.

    Orbiter radius r^2 = R^2 + rho^2 + 2 R rho sin(el); sin(off-nadir) = R cos(el) / r.
    """
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    rho = np.asarray(range_km, dtype=float)
    r = np.sqrt(body_radius_km ** 2 + rho ** 2 + 2.0 * body_radius_km * rho * np.sin(el))
    s = np.clip(body_radius_km * np.cos(el) / np.maximum(r, 1e-9), -1.0, 1.0)
    return np.degrees(np.arcsin(s))


def range_from_elevation_km(elevation_deg, altitude_km, body_radius_km: float = MARS_MEAN_RADIUS_KM):
    """Slant range to an orbiter at ``altitude_km`` seen at ``elevation_deg`` (sphere), km."""
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    R = body_radius_km
    r = R + np.asarray(altitude_km, dtype=float)
    return -R * np.sin(el) + np.sqrt((R * np.sin(el)) ** 2 + r ** 2 - R ** 2)


def _gain_vs_sin_table(table, n: int = 2001):
    """Dense (sin(angle), gain) table equivalent to linear interpolation in angle on [0, 90] deg."""
    ang = np.degrees(np.arcsin(np.linspace(0.0, 1.0, n)))
    return np.linspace(0.0, 1.0, n), _interp_table(table, ang)


def _interp_table(table, x):
    xs = np.array([row[0] for row in table], dtype=float)
    ys = np.array([row[1] for row in table], dtype=float)
    return np.interp(np.asarray(x, dtype=float), xs, ys)


def _floor_rate_index(rates_db: np.ndarray, supportable_db) -> np.ndarray:
    """Index of the largest rate (dB-bps, ascending) <= supportable, -1 if none."""
    return np.searchsorted(rates_db, np.asarray(supportable_db, dtype=float), side="right") - 1


# ---------------------------------------------------------------------------
# UHF pair
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UhfPair:
    """Everything the UHF model needs about one orbiter-asset pair, resolved from config.

    Build it with :func:`resolve_uhf_pair`.  ``rates_kbps`` is the intersection of
    both radios' tables, ascending; ``mode`` is the effective mode (after the
    fallback to 'fixed' when a radio lacks ADR).
    """

    orbiter: str
    asset: str
    rates_kbps: tuple[float, ...]
    mode: str
    asset_uhf: AssetUHF
    orbiter_uhf: OrbiterUHF
    link: LinkSettings
    requested_mode: str = "adaptive"

    @property
    def rates_db(self) -> np.ndarray:
        """Rates as 10 log10(bps), ascending."""
        return 10.0 * np.log10(np.asarray(self.rates_kbps, dtype=float) * 1e3)

    @property
    def command_load_mbit(self) -> float:
        """Forward command load of one session, Mbit (asset override, else link default)."""
        v = self.asset_uhf.command_load_mbit
        return float(self.link.command_load_mbit if v is None else v)

    @property
    def forward_min_duration_s(self) -> float:
        """Minimum duration of a command session: hailing + load / (forward rate x efficiency)."""
        lk = self.link
        return float(lk.hailing_s + self.command_load_mbit * 1e3
                     / (lk.forward_rate_kbps * lk.protocol_efficiency))


def resolve_uhf_pair(orbiter: str, orbiter_radio: RadioSpec, orbiter_uhf: OrbiterUHF,
                     asset: str, asset_radio: RadioSpec, asset_uhf: AssetUHF,
                     link: LinkSettings, *, required_margin_db: float | None = None) -> UhfPair:
    """Resolve one pair's parameters: common rate table, effective rate mode.

    ``required_margin_db`` overrides ``link.required_margin_db`` (handy for sweeps).
    """
    common = sorted(set(orbiter_radio.rates_kbps) & set(asset_radio.rates_kbps))
    requested = orbiter_uhf.mode_for(asset)
    mode = requested if (orbiter_radio.adaptive and asset_radio.adaptive) else "fixed"
    if required_margin_db is not None:
        link = link.model_copy(update={"required_margin_db": float(required_margin_db)})
    return UhfPair(orbiter=orbiter, asset=asset, rates_kbps=tuple(float(r) for r in common),
                   mode=mode, asset_uhf=asset_uhf, orbiter_uhf=orbiter_uhf, link=link,
                   requested_mode=requested)


def _orbiter_rx_gain_dbic(o: OrbiterUHF, el, rng):
    """Orbiter receive gain at the asset's off-nadir angle, dBic.

    Interpolated in sin(off-nadir) on a dense table built from the angle table
    (saves an arcsin per sample; equal to interpolation in angle within 0.01 dB).
    """
    R = MARS_MEAN_RADIUS_KM
    el_r = np.radians(el)
    r = np.sqrt(R * R + rng * (rng + 2.0 * R * np.sin(el_r)))
    s_nad = np.clip(R * np.cos(el_r) / np.maximum(r, 1e-9), 0.0, 1.0)
    xs, ys = _gain_vs_sin_table(o.rx_gain_table_dbic)
    return np.interp(s_nad, xs, ys) + o.rx_gain_offset_db


def uhf_supportable_db(pair: UhfPair, elevation_deg, range_km) -> np.ndarray:
    """Highest information rate that closes with the required margin, as 10 log10(bps)."""
    a, o, lk = pair.asset_uhf, pair.orbiter_uhf, pair.link
    el = np.asarray(elevation_deg, dtype=float)
    rng = np.asarray(range_km, dtype=float)
    g_tx = _interp_table(a.gain_table_dbic, 90.0 - el)
    g_rx = _orbiter_rx_gain_dbic(o, el, rng)
    const = (10.0 * math.log10(a.tx_power_w) - a.tx_line_loss_db - a.environment_loss_db
             - lk.polarization_loss_db
             - lk.other_losses_db - o.rx_line_loss_db - 10.0 * math.log10(o.system_noise_temp_k)
             - BOLTZMANN_DBW - lk.implementation_loss_db - lk.ebn0_required_db
             - lk.required_margin_db)
    return const + g_tx + g_rx - free_space_loss_db(rng, lk.return_frequency_mhz)


def uhf_rate_kbps(pair: UhfPair, elevation_deg, range_km) -> np.ndarray:
    """Highest rate of the pair's table that closes at each sample (0 where none closes)."""
    if not pair.rates_kbps:
        return np.zeros(np.broadcast(np.asarray(elevation_deg), np.asarray(range_km)).shape)
    idx = _floor_rate_index(pair.rates_db, uhf_supportable_db(pair, elevation_deg, range_km))
    rates = np.concatenate([[0.0], np.asarray(pair.rates_kbps, dtype=float)])
    return rates[idx + 1]


def uhf_budget_table(pair: UhfPair, range_km: float, elevation_deg: float) -> pd.DataFrame:
    """The UHF return budget at one range and elevation, term by term (for ``relay link``).

    Columns: term, value, unit.  dB terms carry their sign as they enter the sum
    (losses negative); the final rows give the supportable and selected rates.
    """
    a, o, lk = pair.asset_uhf, pair.orbiter_uhf, pair.link
    el = float(elevation_deg)
    rng = float(range_km)
    onad = float(off_nadir_deg(el, rng))
    g_tx = float(_interp_table(a.gain_table_dbic, 90.0 - el))
    g_rx = float(_orbiter_rx_gain_dbic(o, np.array(el), np.array(rng)))
    fsl = float(free_space_loss_db(rng, lk.return_frequency_mhz))
    p_dbw = 10.0 * math.log10(a.tx_power_w)
    eirp = p_dbw - a.tx_line_loss_db + g_tx
    prx = (eirp - a.environment_loss_db - fsl - lk.polarization_loss_db - lk.other_losses_db
           + g_rx - o.rx_line_loss_db)
    tsys_db = 10.0 * math.log10(o.system_noise_temp_k)
    prn0 = prx - tsys_db - BOLTZMANN_DBW
    supp = prn0 - lk.implementation_loss_db - lk.ebn0_required_db - lk.required_margin_db
    rate = float(uhf_rate_kbps(pair, el, rng))
    margin_at_rate = (supp + lk.required_margin_db - 10 * math.log10(rate * 1e3)) if rate > 0 \
        else float("nan")
    rows = [
        ("orbiter / asset", f"{pair.orbiter} / {pair.asset}", ""),
        ("frequency", lk.return_frequency_mhz, "MHz"),
        ("range", rng, "km"),
        ("elevation at asset", el, "deg"),
        ("off-zenith angle at asset", 90.0 - el, "deg"),
        ("off-nadir angle at orbiter", onad, "deg"),
        ("asset transmitter power", p_dbw, "dBW"),
        ("asset line loss", -a.tx_line_loss_db, "dB"),
        ("asset antenna gain", g_tx, "dBic"),
        ("EIRP", eirp, "dBW"),
        ("asset environment loss", -a.environment_loss_db, "dB"),
        ("free-space loss", -fsl, "dB"),
        ("polarisation loss", -lk.polarization_loss_db, "dB"),
        ("other losses", -lk.other_losses_db, "dB"),
        ("orbiter antenna gain", g_rx, "dBic"),
        ("orbiter line loss", -o.rx_line_loss_db, "dB"),
        ("received power", prx, "dBW"),
        ("system noise temperature", tsys_db, "dBK"),
        ("Boltzmann constant", BOLTZMANN_DBW, "dBW/K/Hz"),
        ("Pr/N0", prn0, "dB-Hz"),
        ("implementation loss", -lk.implementation_loss_db, "dB"),
        ("Eb/N0 required", -lk.ebn0_required_db, "dB"),
        ("required margin", -lk.required_margin_db, "dB"),
        ("supportable rate", supp, "dB-bps"),
        ("supportable rate", 10 ** (supp / 10.0) / 1e3, "kbps"),
        ("selected table rate", rate, "kbps"),
        ("margin at selected rate", margin_at_rate, "dB"),
        ("rate mode", pair.mode, ""),
        ("protocol efficiency", lk.protocol_efficiency, ""),
    ]
    return pd.DataFrame(rows, columns=["term", "value", "unit"])


# ---------------------------------------------------------------------------
# Cumulative profiles and the volume query object
# ---------------------------------------------------------------------------

def _segment_cumsum(t: np.ndarray, y: np.ndarray, first: np.ndarray) -> np.ndarray:
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


def _prepare_samples(table_ids: np.ndarray, rise: np.ndarray, sett: np.ndarray,
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
        self.sample_start = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(self.sample_count[:-1], out=self.sample_start[1:])
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


# ---------------------------------------------------------------------------
# Pass volumes
# ---------------------------------------------------------------------------

PASS_COLUMNS = ["volume_mbit", "rate_mode", "peak_rate_kbps", "fixed_rate_kbps",
                "forward_min_duration_s", "forward_fits"]


def pass_volumes_from_pairs(pairs: Mapping[tuple[str, str], UhfPair], passes: pd.DataFrame,
                            profiles: pd.DataFrame, *, with_rate_profiles: bool = True):
    """UHF volumes of every pass, from resolved pairs.

    ``pairs`` maps (orbiter, asset) -> :class:`UhfPair`; ``passes`` and
    ``profiles`` are the geometry stage's tables (profiles sorted by pass_id,
    tdb_s; they are sorted here if not).  Returns
    ``(passes_out, rate_profiles, table)``:

    - passes_out: ``passes`` (same row order) plus volume_mbit (whole pass,
      after hailing and protocol efficiency), rate_mode ('adaptive'/'fixed',
      effective), peak_rate_kbps, fixed_rate_kbps (NaN in adaptive mode),
      forward_min_duration_s, forward_fits;
    - rate_profiles (None if ``with_rate_profiles`` is false): pass_id, tdb_s,
      elevation_deg, range_km, supportable_kbps (unquantised budget rate),
      rate_kbps (the rate used: ADR rate, or the pass's fixed rate where it
      closes, else 0); rows grouped by pair, then pass_id, then time;
    - table: a :class:`VolumeTable` over all passes.
    """
    passes = passes.reset_index(drop=True)
    n = len(passes)
    pid = passes["pass_id"].to_numpy(dtype=np.int64)
    keys = list(zip(passes["orbiter"].astype(str).tolist(), passes["asset"].astype(str).tolist()))
    uniq = sorted(set(keys))
    missing_pairs = [k for k in uniq if k not in pairs]
    if missing_pairs:
        raise KeyError(f"no UHF link parameters for pair(s) {missing_pairs}")
    code_of = {k: i for i, k in enumerate(uniq)}
    code = np.fromiter((code_of[k] for k in keys), dtype=np.int64, count=n)
    order = np.lexsort((pid, code))           # table order: by pair, then pass_id
    ids = pid[order]
    if n > 1 and np.any(np.diff(np.sort(pid)) == 0):
        raise ValueError("passes: pass_id values must be unique")
    code_t = code[order]
    rise = passes["rise_tdb_s"].to_numpy(dtype=float)[order]
    sett = passes["set_tdb_s"].to_numpy(dtype=float)[order]
    dur = (passes["duration_s"].to_numpy(dtype=float)[order] if "duration_s" in passes
           else sett - rise)
    pair_list = [pairs[k] for k in uniq]

    t, (el, rng), counts, first = _prepare_samples(
        ids, rise, sett, profiles["pass_id"].to_numpy(dtype=np.int64),
        profiles["tdb_s"].to_numpy(dtype=float),
        [profiles["elevation_deg"].to_numpy(dtype=float), profiles["range_km"].to_numpy(dtype=float)],
        [-90.0, 1e12])
    n_rows = len(t)
    pass_start = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(counts[:-1], out=pass_start[1:])
    # slices of each pair (passes and rows are contiguous per pair in table order)
    p_bounds = np.searchsorted(code_t, np.arange(len(pair_list) + 1))
    r_bounds = np.append(pass_start, n_rows)[p_bounds]

    supp_db = np.empty(n_rows)
    adr_rate = np.zeros(n_rows)
    rate_for_cum = np.zeros(n_rows)
    fixed_groups: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
    for c, p in enumerate(pair_list):
        r0, r1 = int(r_bounds[c]), int(r_bounds[c + 1])
        if r1 == r0:
            continue
        s = uhf_supportable_db(p, el[r0:r1], rng[r0:r1])
        supp_db[r0:r1] = s
        if not p.rates_kbps:
            if p.mode == "fixed":
                fixed_groups[c] = (np.zeros(0), np.zeros((r1 - r0, 0)), r0)
            continue
        lv = _floor_rate_index(p.rates_db, s)
        rates = np.concatenate([[0.0], np.asarray(p.rates_kbps)])
        adr_rate[r0:r1] = rates[lv + 1]
        if p.mode == "fixed":
            L = len(p.rates_kbps)
            ind = (lv[:, None] >= np.arange(L)[None, :]).astype(float)
            fixed_groups[c] = (np.asarray(p.rates_kbps, dtype=float),
                               _segment_cumsum(t[r0:r1], ind, first[r0:r1]), r0)
        else:
            rate_for_cum[r0:r1] = adr_rate[r0:r1]
    cum = _segment_cumsum(t, rate_for_cum, first)
    hail = np.array([p.link.hailing_s for p in pair_list])[code_t] if n else np.zeros(0)
    eff = np.array([p.link.protocol_efficiency for p in pair_list])[code_t] if n else np.zeros(0)
    table = VolumeTable(ids, rise, sett, code_t, hail, eff, counts, t, cum, fixed_groups)

    vol = table.volume_mbit(ids, rise, sett) if n else np.zeros(0)
    fixed_rate = table.fixed_rate_kbps(ids, rise, sett) if n else np.zeros(0)
    fixed_pass = table.mode_fixed
    peak = np.zeros(n)
    if n_rows:
        st = pass_start[counts > 0]
        peak[counts > 0] = np.maximum.reduceat(adr_rate, st)
    peak = np.where(fixed_pass, np.nan_to_num(fixed_rate), peak)
    fwd = np.array([p.forward_min_duration_s for p in pair_list])[code_t] if n else np.zeros(0)

    rate_profiles = None
    if with_rate_profiles:  # costs about as much as the volumes themselves on big inputs
        used = adr_rate
        if np.any(fixed_pass):
            fr = np.repeat(np.nan_to_num(fixed_rate), counts)
            fixed_rows = np.repeat(fixed_pass, counts)
            used = np.where(fixed_rows, np.where(adr_rate >= fr, fr, 0.0), adr_rate)
        with np.errstate(over="ignore"):
            supp_kbps = 10.0 ** (supp_db / 10.0) * 1e-3
        rate_profiles = pd.DataFrame({
            "pass_id": np.repeat(ids, counts), "tdb_s": t, "elevation_deg": el, "range_km": rng,
            "supportable_kbps": supp_kbps, "rate_kbps": used})

    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out = passes.copy()
    out["volume_mbit"] = vol[inv]
    out["rate_mode"] = np.where(fixed_pass, "fixed", "adaptive")[inv]
    out["peak_rate_kbps"] = peak[inv]
    out["fixed_rate_kbps"] = fixed_rate[inv]
    out["forward_min_duration_s"] = fwd[inv]
    out["forward_fits"] = (dur >= fwd)[inv]
    return out, rate_profiles, table


# ---------------------------------------------------------------------------
# Scenario adapter
# ---------------------------------------------------------------------------

def _by_name(items, what: str) -> dict[str, Any]:
    out = {}
    for it in items or []:
        out[str(it.name)] = it
    return out


def _radio(radios: Mapping[str, RadioSpec], name: str, who: str) -> RadioSpec:
    if name not in radios:
        raise RelayInputError(
            f"radio {name!r} is not defined; known radios: {', '.join(sorted(radios))}. "
            "Define it under 'radios:' or use a built-in name.",
            source="config", where=who)
    return radios[name]


def uhf_pairs_from_scenario(scenario, pairs: Iterable[tuple[str, str]] | None = None,
                            ) -> dict[tuple[str, str], UhfPair]:
    """Resolve :class:`UhfPair` for every (orbiter, asset) pair of a scenario.

    Reads exactly: ``scenario.radios`` (dict name -> RadioSpec; may be absent or
    None: built-ins are always merged under it), ``scenario.orbiters`` (each
    ``.name``, ``.radio``, ``.uhf``), ``scenario.assets`` (each ``.name``,
    ``.radio``, ``.uhf``) and ``scenario.link`` (LinkSettings).  ``.uhf`` or
    ``.link`` set to None means the model defaults.
    """
    radios = merge_radios(getattr(scenario, "radios", None))
    orbiters = _by_name(scenario.orbiters, "orbiter")
    assets = _by_name(scenario.assets, "asset")
    link = getattr(scenario, "link", None) or LinkSettings()
    wanted = list(pairs) if pairs is not None else [(o, a) for o in orbiters for a in assets]
    out = {}
    for o_name, a_name in wanted:
        if o_name not in orbiters:
            raise RelayInputError(f"unknown orbiter {o_name!r}; known: {', '.join(orbiters)}",
                                  source="config", where="orbiters")
        if a_name not in assets:
            raise RelayInputError(f"unknown asset {a_name!r}; known: {', '.join(assets)}",
                                  source="config", where="assets")
        o, a = orbiters[o_name], assets[a_name]
        o_radio = _radio(radios, str(o.radio), f"orbiters[{o_name}].radio")
        a_radio = _radio(radios, str(a.radio), f"assets[{a_name}].radio")
        out[(o_name, a_name)] = resolve_uhf_pair(
            o_name, o_radio, getattr(o, "uhf", None) or OrbiterUHF(),
            a_name, a_radio, getattr(a, "uhf", None) or AssetUHF(), link)
    return out


#: the columns :func:`pass_volumes` adds to the pass table
PASS_VOLUME_COLUMNS = ["volume_mbit", "rate_mode", "peak_rate_kbps", "fixed_rate_kbps",
                       "forward_min_duration_s", "forward_fits"]


def pass_volumes(scenario, passes: pd.DataFrame, profiles: pd.DataFrame, *,
                 with_rate_profiles: bool = True):
    """UHF volumes of every pass of a scenario (see :func:`pass_volumes_from_pairs`).

    Reads the attributes listed in :func:`uhf_pairs_from_scenario`.
    Returns ``(passes_out, rate_profiles, VolumeTable)``; pass
    ``with_rate_profiles=False`` (rate_profiles is then None) when no
    ``--profiles`` file is wanted: building that frame costs about as much as
    the volumes.
    """
    keys = sorted(set(zip(passes["orbiter"].astype(str), passes["asset"].astype(str))))
    pairs = uhf_pairs_from_scenario(scenario, keys)
    return pass_volumes_from_pairs(pairs, passes, profiles, with_rate_profiles=with_rate_profiles)


# ---------------------------------------------------------------------------
# X-band
# ---------------------------------------------------------------------------

def atmospheric_loss_db(station: StationXBand, elevation_deg) -> np.ndarray:
    """Clear-sky atmospheric loss at X-band, dB: table if given, else zenith / sin(el)."""
    el = np.asarray(elevation_deg, dtype=float)
    if station.atmospheric_loss_by_elevation is not None:
        return _interp_table(station.atmospheric_loss_by_elevation, el)
    return station.zenith_atmospheric_loss_db / np.sin(np.radians(np.clip(el, 1.0, 90.0)))


def station_gt_db_per_k(station: StationXBand, elevation_deg) -> np.ndarray:
    """G/T at elevation: zenith G/T less the sky-noise rise that comes with the extra loss."""
    loss = atmospheric_loss_db(station, elevation_deg)
    z = station.zenith_atmospheric_loss_db if station.atmospheric_loss_by_elevation is None \
        else float(_interp_table(station.atmospheric_loss_by_elevation, 90.0))
    tatm = station.atmosphere_temperature_k
    d_t = tatm * (10.0 ** (-z / 10.0) - 10.0 ** (-loss / 10.0))
    d_t = np.maximum(d_t, 0.0)
    t0 = station.system_noise_temp_k
    return station.resolved_gt_db_per_k - 10.0 * np.log10((t0 + d_t) / t0)


def xband_supportable_db(xband: XBandSpec, station: StationXBand, range_km, elevation_deg):
    """Supportable downlink rate (10 log10 bps) from the budget, with the required margin."""
    eirp = (10.0 * math.log10(xband.amplifier_power_w) + xband.antenna_gain_dbi
            - xband.tx_line_loss_db - xband.pointing_loss_db)
    prn0 = (eirp - free_space_loss_db(range_km, xband.frequency_mhz)
            - atmospheric_loss_db(station, elevation_deg)
            + station_gt_db_per_k(station, elevation_deg) - BOLTZMANN_DBW)
    return prn0 - xband.implementation_loss_db - xband.ebn0_required_db - xband.required_margin_db


def xband_rate_kbps(xband: XBandSpec, station: StationXBand, range_km, elevation_deg):
    """Downlink rate at each sample, kbps, floored to the orbiter's rate table (0 below horizon).

    From ``xband.rate_vs_distance`` when given (rate of the first row whose
    distance >= the range), else from the budget.
    """
    rng = np.asarray(range_km, dtype=float)
    el = np.asarray(elevation_deg, dtype=float)
    rates = np.asarray(xband.rates_kbps, dtype=float)
    if xband.rate_vs_distance is not None:
        d = np.array([r[0] for r in xband.rate_vs_distance]) * AU_KM
        rv = np.array([r[1] for r in xband.rate_vs_distance])
        k = np.searchsorted(d, rng, side="left")
        raw = np.where(k < len(d), rv[np.minimum(k, len(d) - 1)], 0.0)
        supp_db = np.where(raw > 0, 10.0 * np.log10(np.maximum(raw, 1e-30) * 1e3), -np.inf)
    else:
        supp_db = xband_supportable_db(xband, station, rng, el)
    idx = _floor_rate_index(10.0 * np.log10(rates * 1e3), supp_db)
    out = np.concatenate([[0.0], rates])[idx + 1]
    return np.where(el > 0, out, 0.0)


def xband_budget_table(xband: XBandSpec, station: StationXBand, range_km: float,
                       elevation_deg: float, orbiter: str = "", station_name: str = "") -> pd.DataFrame:
    """The X-band downlink budget at one range and station elevation (term, value, unit)."""
    el, rng = float(elevation_deg), float(range_km)
    p = 10 * math.log10(xband.amplifier_power_w)
    g = xband.antenna_gain_dbi
    eirp = p + g - xband.tx_line_loss_db - xband.pointing_loss_db
    fsl = float(free_space_loss_db(rng, xband.frequency_mhz))
    atm = float(atmospheric_loss_db(station, el))
    gt = float(station_gt_db_per_k(station, el))
    prn0 = eirp - fsl - atm + gt - BOLTZMANN_DBW
    supp = float(xband_supportable_db(xband, station, rng, el))
    rate = float(xband_rate_kbps(xband, station, rng, el))
    rows = [
        ("orbiter / station", f"{orbiter} / {station_name}", ""),
        ("frequency", xband.frequency_mhz, "MHz"),
        ("range", rng, "km"), ("range", rng / AU_KM, "AU"),
        ("station elevation", el, "deg"),
        ("amplifier power", p, "dBW"),
        ("antenna gain", g, "dBi"),
        ("line loss", -xband.tx_line_loss_db, "dB"),
        ("pointing loss", -xband.pointing_loss_db, "dB"),
        ("EIRP", eirp, "dBW"),
        ("free-space loss", -fsl, "dB"),
        ("atmospheric loss", -atm, "dB"),
        ("station G/T at elevation", gt, "dB/K"),
        ("Boltzmann constant", BOLTZMANN_DBW, "dBW/K/Hz"),
        ("Pr/N0", prn0, "dB-Hz"),
        ("implementation loss", -xband.implementation_loss_db, "dB"),
        ("Eb/N0 required", -xband.ebn0_required_db, "dB"),
        ("required margin", -xband.required_margin_db, "dB"),
        ("supportable rate", supp, "dB-bps"),
        ("supportable rate", 10 ** (supp / 10) / 1e3, "kbps"),
        ("selected table rate", rate, "kbps"),
    ]
    if xband.rate_vs_distance is not None:
        rows.append(("note", "rate from rate_vs_distance table, not the budget", ""))
    return pd.DataFrame(rows, columns=["term", "value", "unit"])


# ---------------------------------------------------------------------------
# Synthetic geometry (tests, benchmarks, ``relay link`` without a range)
# ---------------------------------------------------------------------------

MARS_GM_KM3_S2 = 42828.37


def synthetic_pass(altitude_km: float, max_elevation_deg: float, *, step_s: float = 10.0,
                   mask_deg: float = 0.0, t0_tdb_s: float = 0.0,
                   body_radius_km: float = MARS_MEAN_RADIUS_KM):
    """One pass of a circular orbit over a non-rotating sphere, sampled like the geometry stage.

    The ground track passes at the central angle that gives ``max_elevation_deg``
    at closest approach.  Returns ``(tdb_s, elevation_deg, range_km)`` on a
    uniform ``step_s`` grid from rise to set above ``mask_deg``, including the
    exact rise and set as the first and last samples.  For tests and benchmarks.
    """
    R = body_radius_km
    r = R + altitude_km
    w = 2.0 * math.pi / (2.0 * math.pi * math.sqrt(r ** 3 / MARS_GM_KM3_S2))

    def gamma_for(el_deg):  # central angle at which the orbiter is seen at elevation el
        e = math.radians(el_deg)
        return math.acos(R * math.cos(e) / r) - e

    beta = gamma_for(max_elevation_deg)
    g_mask = gamma_for(mask_deg)
    if beta >= g_mask:
        raise ValueError("max_elevation_deg must exceed mask_deg")
    half = math.acos(math.cos(g_mask) / math.cos(beta)) / w
    n = int(math.floor(2 * half / step_s))
    tt = np.concatenate([np.arange(n + 1) * step_s, [2 * half]])
    if tt[-2] >= 2 * half - 1e-9:
        tt = tt[:-1]
    gam = np.arccos(np.clip(math.cos(beta) * np.cos(w * (tt - half)), -1, 1))
    el = np.degrees(np.arctan2(np.cos(gam) - R / r, np.sin(gam)))
    el[0] = el[-1] = mask_deg
    rng = np.sqrt(R ** 2 + r ** 2 - 2 * R * r * np.cos(gam))
    return t0_tdb_s + tt, el, rng


def synthetic_tables(specs, *, step_s: float = 10.0, mask_deg: float = 0.0, gap_s: float = 3600.0):
    """Build ``passes`` and ``profiles`` DataFrames from [(orbiter, asset, altitude_km, max_el)].

    Passes are laid one after another ``gap_s`` apart.  For tests and benchmarks.
    """
    rows, prof = [], []
    t0 = 0.0
    for k, (o, a, alt, mx) in enumerate(specs):
        tt, el, rng = synthetic_pass(alt, mx, step_s=step_s, mask_deg=mask_deg, t0_tdb_s=t0)
        i = int(np.argmax(el))
        rows.append((k, o, a, tt[0], tt[-1], tt[-1] - tt[0], el[i], tt[i], rng.min(), False, False))
        prof.append(pd.DataFrame({"pass_id": k, "tdb_s": tt, "elevation_deg": el,
                                  "azimuth_deg": 0.0, "range_km": rng}))
        t0 = tt[-1] + gap_s
    passes = pd.DataFrame(rows, columns=["pass_id", "orbiter", "asset", "rise_tdb_s", "set_tdb_s",
                                         "duration_s", "max_elevation_deg", "max_elevation_tdb_s",
                                         "min_range_km", "truncated_start", "truncated_end"])
    profiles = pd.concat(prof, ignore_index=True) if prof else pd.DataFrame(
        columns=["pass_id", "tdb_s", "elevation_deg", "azimuth_deg", "range_km"])
    return passes, profiles


def _match_bookings(bookings: pd.DataFrame, tracks: pd.DataFrame, source: str,
                    tolerance_s: float = 1.0) -> np.ndarray:
    """track_id of the station window holding each booking; error naming the row otherwise."""
    from .timescales import tdb_s_to_iso

    out = np.zeros(len(bookings), dtype=np.int64)
    grp = {k: g for k, g in tracks.groupby(["orbiter", "station"], sort=False)}
    for i, b in enumerate(bookings.itertuples(index=False)):
        g = grp.get((b.orbiter, b.station))
        ok = None
        if g is not None:
            m = (g["start_tdb_s"].to_numpy() - tolerance_s <= b.start_tdb_s) & (
                b.end_tdb_s <= g["end_tdb_s"].to_numpy() + tolerance_s)
            if np.any(m):
                ok = int(g["track_id"].to_numpy()[np.flatnonzero(m)[0]])
        if ok is None:
            where = f"line {b.line}"
            desc = (f"booking {b.orbiter} at {b.station} {tdb_s_to_iso(b.start_tdb_s, 0)} to "
                    f"{tdb_s_to_iso(b.end_tdb_s, 0)}")
            if g is None or len(g) == 0:
                hint = f"{b.station} never sees {b.orbiter} in the scenario's span"
            else:
                mid = 0.5 * (b.start_tdb_s + b.end_tdb_s)
                c = 0.5 * (g["start_tdb_s"].to_numpy() + g["end_tdb_s"].to_numpy())
                k = int(np.argmin(np.abs(c - mid)))
                hint = (f"the nearest window in which {b.station} sees {b.orbiter} runs "
                        f"{tdb_s_to_iso(g['start_tdb_s'].to_numpy()[k], 0)} to "
                        f"{tdb_s_to_iso(g['end_tdb_s'].to_numpy()[k], 0)}")
            raise RelayInputError(
                f"{desc} falls outside the station's view of the orbiter (above its mask and "
                f"not hidden by Mars); {hint}. Expected every booking inside one such window.",
                source=source, where=where)
        out[i] = ok
    return out


def _utc_day(tdb_s: np.ndarray) -> np.ndarray:
    """UTC calendar day (days since 1970-01-01) of each TDB time."""
    from .timescales import tdb_s_to_datetime

    if len(tdb_s) == 0:
        return np.zeros(0, dtype=np.int64)
    dts = tdb_s_to_datetime(np.asarray(tdb_s, dtype=float))
    return np.array([d.date().toordinal() for d in dts], dtype=np.int64) - 719163


def _resolve_overlaps(orbiter, start, end, order_keys):
    """Per orbiter, clip later windows so that no instant is used twice (see module doc)."""
    n = len(start)
    used_start = start.copy()
    used_end = end.copy()
    order = np.lexsort(order_keys[::-1])
    covered: dict[str, float] = {}
    for i in order:
        o = orbiter[i]
        c = covered.get(o, -np.inf)
        s = max(start[i], c)
        if s >= end[i]:
            used_start[i] = used_end[i] = end[i]
        else:
            used_start[i] = s
        covered[o] = max(c, end[i])
    return used_start, used_end, order


def track_capacities_from_specs(xband_by_orbiter: Mapping[str, XBandSpec],
                                xband_by_station: Mapping[str, StationXBand],
                                tracks: pd.DataFrame, track_profiles: pd.DataFrame,
                                bookings: pd.DataFrame | None = None,
                                bookings_source: str = "bookings"):
    """X-band capacity of every station window, and the downlink windows a planner may use.

    Returns ``(tracks_out, downlinks, table)``:

    - tracks_out: ``tracks`` plus volume_mbit (capacity of the whole visible
      window), max_rate_kbps, mean_rate_kbps (volume / duration), used_volume_mbit
      (the part used under the daily cap or the bookings);
    - downlinks: one row per usable downlink window: downlink_id, track_id,
      orbiter, station, start_tdb_s, end_tdb_s, duration_s, volume_mbit,
      mean_rate_kbps, source ('daily-cap' or 'booking line N');
    - table: a :class:`VolumeTable` keyed by track_id (adaptive, no hailing,
      efficiency 1): ``table.volume_mbit(track_id, t0, t1)``.
    """
    tracks = tracks.reset_index(drop=True)
    n = len(tracks)
    tid = tracks["track_id"].to_numpy(dtype=np.int64)
    okeys = list(zip(tracks["orbiter"].astype(str).tolist(), tracks["station"].astype(str).tolist()))
    uniq = sorted(set(okeys))
    for o, s in uniq:
        if o not in xband_by_orbiter:
            raise KeyError(f"no X-band spec for orbiter {o!r}")
        if s not in xband_by_station:
            raise KeyError(f"no X-band spec for station {s!r}")
    code_of = {k: i for i, k in enumerate(uniq)}
    code = np.fromiter((code_of[k] for k in okeys), dtype=np.int64, count=n)
    order = np.lexsort((tid, code))
    tid_s = tid[order]
    code_t = code[order]
    orb = tracks["orbiter"].astype(str).to_numpy(dtype=object)[order]
    sta = tracks["station"].astype(str).to_numpy(dtype=object)[order]
    start = tracks["start_tdb_s"].to_numpy(dtype=float)[order]
    end = tracks["end_tdb_s"].to_numpy(dtype=float)[order]

    t, (el, rng), counts, first = _prepare_samples(
        tid_s, start, end, track_profiles["track_id"].to_numpy(dtype=np.int64),
        track_profiles["tdb_s"].to_numpy(dtype=float),
        [track_profiles["elevation_deg"].to_numpy(dtype=float),
         track_profiles["range_km"].to_numpy(dtype=float)], [-90.0, 1e12])
    pass_start = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(counts[:-1], out=pass_start[1:])
    p_bounds = np.searchsorted(code_t, np.arange(len(uniq) + 1))
    r_bounds = np.append(pass_start, len(t))[p_bounds]
    rate = np.zeros(len(t))
    for c, (o, s) in enumerate(uniq):
        r0, r1 = int(r_bounds[c]), int(r_bounds[c + 1])
        rate[r0:r1] = xband_rate_kbps(xband_by_orbiter[o], xband_by_station[s], rng[r0:r1],
                                      el[r0:r1])
    cum = _segment_cumsum(t, rate, first)
    table = VolumeTable(tid_s, start, end, code_t, np.zeros(n), np.ones(n), counts, t, cum, {})
    full = table.volume_mbit(tid_s, start, end) if n else np.zeros(0)
    max_rate = np.zeros(n)
    if len(t):
        max_rate[counts > 0] = np.maximum.reduceat(rate, pass_start[counts > 0])

    used = np.zeros(n)
    if bookings is None:
        us, ue, _ = _resolve_overlaps(orb, start, end, [start, sta.astype(str), tid_s])
        cap_s = np.array([xband_by_orbiter[o].max_hours_per_day * 3600.0 for o in orb]) if n else \
            np.zeros(0)
        day = _utc_day(us)
        ordr = np.lexsort((tid_s, us, day, orb.astype(str)))
        spent: dict[tuple[str, int], float] = {}
        for i in ordr:
            if ue[i] <= us[i]:
                continue
            key = (orb[i], int(day[i]))
            left = cap_s[i] - spent.get(key, 0.0)
            if left <= 0:
                ue[i] = us[i]
                continue
            ue[i] = min(ue[i], us[i] + left)
            spent[key] = spent.get(key, 0.0) + (ue[i] - us[i])
        vol = table.volume_mbit(tid_s, us, ue) if n else np.zeros(0)
        used = vol
        ok = ue > us
        dl = pd.DataFrame({
            "track_id": tid_s[ok], "orbiter": orb[ok], "station": sta[ok],
            "start_tdb_s": us[ok], "end_tdb_s": ue[ok], "duration_s": (ue - us)[ok],
            "volume_mbit": vol[ok], "source": "daily-cap"})
    else:
        b = bookings.reset_index(drop=True)
        b_tid = _match_bookings(b, tracks, bookings_source)
        bpos = np.searchsorted(tid_s, b_tid)
        bs = np.maximum(b["start_tdb_s"].to_numpy(dtype=float), start[bpos])
        be = np.minimum(b["end_tdb_s"].to_numpy(dtype=float), end[bpos])
        b_orb = b["orbiter"].astype(str).to_numpy(dtype=object)
        us, ue, _ = _resolve_overlaps(b_orb, bs, be,
                                      [bs, b["station"].astype(str).to_numpy(), b["line"].to_numpy()])
        vol = table.volume_mbit(b_tid, us, ue) if len(b) else np.zeros(0)
        np.add.at(used, bpos, vol)
        dl = pd.DataFrame({
            "track_id": b_tid, "orbiter": b_orb, "station": b["station"].astype(str).to_numpy(),
            "start_tdb_s": us, "end_tdb_s": ue, "duration_s": ue - us, "volume_mbit": vol,
            "source": [f"booking line {ln}" for ln in b["line"]]})
        dl = dl[dl["duration_s"] > 0]
    dl = dl.sort_values(["start_tdb_s", "orbiter", "station", "track_id"], kind="stable")
    dl = dl.reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dl["mean_rate_kbps"] = np.where(dl["duration_s"] > 0,
                                        dl["volume_mbit"] * 1e3 / dl["duration_s"], 0.0)
    dl.insert(0, "downlink_id", np.arange(len(dl), dtype=np.int64))

    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out = tracks.copy()
    dur = end - start
    out["volume_mbit"] = full[inv]
    out["max_rate_kbps"] = max_rate[inv]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_rate_kbps"] = np.where(dur > 0, full * 1e3 / np.where(dur > 0, dur, 1), 0.0)[inv]
    out["used_volume_mbit"] = used[inv]
    return out, dl, table


def track_capacities(scenario, tracks: pd.DataFrame, track_profiles: pd.DataFrame,
                     bookings=None):
    """X-band capacities for a scenario (see :func:`track_capacities_from_specs`).

    Reads exactly: ``scenario.orbiters`` (each ``.name``, ``.xband``: XBandSpec
    or None for the defaults) and ``scenario.stations`` (each ``.name``,
    ``.xband``: StationXBand or None).  ``bookings`` is None (daily-cap rule),
    a path to a bookings CSV, or a DataFrame as returned by :func:`read_bookings`.
    """
    xo = {str(o.name): (getattr(o, "xband", None) or XBandSpec()) for o in scenario.orbiters}
    xs = {str(s.name): (getattr(s, "xband", None) or StationXBand()) for s in scenario.stations}
    src = "bookings"
    if bookings is not None and not isinstance(bookings, pd.DataFrame):
        src = str(bookings)
        bookings = read_bookings(bookings, orbiters=xo.keys(), stations=xs.keys())
    return track_capacities_from_specs(xo, xs, tracks, track_profiles, bookings,
                                       bookings_source=src)


# ---------------------------------------------------------------------------
# Hooks used by ``relay passes`` / ``relay tracks`` (relay.commands.passes)
# ---------------------------------------------------------------------------

def annotate_passes(scenario, pass_set, table: pd.DataFrame):
    """Add volume_mbit, rate_mode, peak_rate_kbps, fixed_rate_kbps, forward_min_duration_s,
    forward_fits to the user-facing pass ``table`` (matched on pass_id), and return
    ``(table, profiles)`` where profiles is ``pass_set.profiles`` plus supportable_kbps
    and rate_kbps.  ``pass_set`` has ``.passes`` and ``.profiles`` (geometry stage).
    """
    out, rp, _ = pass_volumes(scenario, pass_set.passes, pass_set.profiles)
    cols = PASS_VOLUME_COLUMNS
    extra = out.set_index("pass_id")[cols]
    table = table.copy()
    for c in cols:
        table[c] = extra[c].reindex(table["pass_id"].to_numpy()).to_numpy()
    table["volume_mbit"] = table["volume_mbit"].astype(float).round(3)
    prof = pass_set.profiles
    rp = rp.iloc[np.lexsort((rp["tdb_s"].to_numpy(), rp["pass_id"].to_numpy()))]
    rp = rp.reset_index(drop=True)
    prof_sorted = prof.iloc[np.lexsort((prof["tdb_s"].to_numpy(), prof["pass_id"].to_numpy()))]
    prof_sorted = prof_sorted.reset_index(drop=True)
    if len(prof_sorted) == len(rp) and np.array_equal(prof_sorted["pass_id"].to_numpy(),
                                                      rp["pass_id"].to_numpy()):
        prof_sorted["supportable_kbps"] = rp["supportable_kbps"].to_numpy()
        prof_sorted["rate_kbps"] = rp["rate_kbps"].to_numpy()
        return table, prof_sorted
    merged = prof_sorted.merge(rp[["pass_id", "tdb_s", "supportable_kbps", "rate_kbps"]],
                               on=["pass_id", "tdb_s"], how="left")
    return table, merged


def annotate_tracks(scenario, track_set, table: pd.DataFrame) -> pd.DataFrame:
    """Add volume_mbit (whole visible window), rate_kbps (the top rate reached),
    mean_rate_kbps and used_volume_mbit (under the bookings or the daily cap) to the
    user-facing track ``table`` (matched on track_id).  Reads ``scenario.bookings``
    (a CSV path, relative to ``scenario.path``'s folder) when set.
    """
    out, _, _ = track_capacities(scenario, track_set.tracks, track_set.profiles,
                                 bookings=bookings_path(scenario))
    ex = out.set_index("track_id")
    table = table.copy()
    ids = table["track_id"].to_numpy()
    table["rate_kbps"] = ex["max_rate_kbps"].reindex(ids).to_numpy()
    table["mean_rate_kbps"] = ex["mean_rate_kbps"].reindex(ids).to_numpy().round(3)
    table["volume_mbit"] = ex["volume_mbit"].reindex(ids).to_numpy().round(3)
    table["used_volume_mbit"] = ex["used_volume_mbit"].reindex(ids).to_numpy().round(3)
    return table
