"""The X-band downlink budget (orbiter -> Earth station) and the rate it gives.

The rate along a station track comes from a budget (orbiter dish and TWTA,
free-space loss at the Earth-orbiter range, station G/T degraded by the sky
noise that accompanies atmospheric loss at low elevation) or from the
orbiter's ``rate_vs_distance`` table, then is floored to the orbiter's rate
table (the default tables reach down to ~1 kbps, so an orbiter far from Earth
downlinks slowly rather than not at all; see :mod:`relay.config_links`).  Track
windows already exclude times when Mars hides the orbiter.  The capacity of
the windows is in :mod:`relay.links.stations`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config_links import StationXBand, XBandSpec
from ..constants import AU_KM
from .budget import BOLTZMANN_DBW, floor_rate_index, free_space_loss_db, interp_table


def atmospheric_loss_db(station: StationXBand, elevation_deg) -> np.ndarray:
    """Clear-sky atmospheric loss at X-band, dB: table if given, else zenith / sin(el)."""
    el = np.asarray(elevation_deg, dtype=float)
    if station.atmospheric_loss_by_elevation is not None:
        return interp_table(station.atmospheric_loss_by_elevation, el)
    return station.zenith_atmospheric_loss_db / np.sin(np.radians(np.clip(el, 1.0, 90.0)))


def station_gt_db_per_k(station: StationXBand, elevation_deg) -> np.ndarray:
    """G/T at elevation: zenith G/T less the sky-noise rise that comes with the extra loss."""
    loss = atmospheric_loss_db(station, elevation_deg)
    z = station.zenith_atmospheric_loss_db if station.atmospheric_loss_by_elevation is None \
        else float(interp_table(station.atmospheric_loss_by_elevation, 90.0))
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
    idx = floor_rate_index(10.0 * np.log10(rates * 1e3), supp_db)
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
