"""The UHF return link (asset -> orbiter): one pair's parameters, its budget and its rate.

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

A pair's rate mode is 'adaptive' (ADR: the rate follows the samples) or
'fixed' (one rate per session, see :mod:`relay.links.table`); a pair falls back
to 'fixed' when either radio lacks ADR.

Forward link (orbiter -> asset): modelled as a minimum session duration,
hailing + command load / (forward rate x protocol efficiency)
(:attr:`UhfPair.forward_min_duration_s`).  A pass "fits" when its duration is
at least that.  The forward budget itself is not evaluated (the forward rate
is low and is assumed to close wherever the return link closes at any rate).

:func:`uhf_pairs_from_scenario` resolves the pairs of a scenario;
:func:`uhf_budget_table` is the budget term by term (``relay link``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

from ..config_links import AssetUHF, LinkSettings, OrbiterUHF, RadioSpec, merge_radios
from ..errors import RelayInputError
from .budget import (BOLTZMANN_DBW, MARS_MEAN_RADIUS_KM, floor_rate_index, free_space_loss_db,
                     interp_table, off_nadir_deg)

if TYPE_CHECKING:
    import pandas as pd


def _gain_vs_sin_table(table, n: int = 2001):
    """Dense (sin(angle), gain) table equivalent to linear interpolation in angle on [0, 90] deg."""
    ang = np.degrees(np.arcsin(np.linspace(0.0, 1.0, n)))
    return np.linspace(0.0, 1.0, n), interp_table(table, ang)


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
    g_tx = interp_table(a.gain_table_dbic, 90.0 - el)
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
    idx = floor_rate_index(pair.rates_db, uhf_supportable_db(pair, elevation_deg, range_km))
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
    g_tx = float(interp_table(a.gain_table_dbic, 90.0 - el))
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
    import pandas as pd  # here only: relay passes uses this module and never imports pandas (issue 23)

    return pd.DataFrame(rows, columns=["term", "value", "unit"])


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
