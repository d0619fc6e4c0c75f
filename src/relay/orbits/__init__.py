"""Orbit sources behind one interface (:class:`relay.orbits.base.Ephemeris`).

``keplerian`` (mean elements with J2 secular rates), ``oem`` (CCSDS OEM) and
``spk`` (SPICE SPK, any segment type); :func:`build_ephemeris` picks one from
an orbiter's config.
"""

from __future__ import annotations

from ..errors import RelayInputError
from ..fileio import regular_file
from ..timescales import utc_to_tdb_s
from .keplerian import KeplerianOrbit
from .oem import MAX_OEM_BYTES, read_oem
from .spk import MAX_SPK_BYTES, read_spk


def build_ephemeris(orbiter, scenario, where: str = "orbit"):
    """The Ephemeris of one ``OrbiterConfig`` (paths relative to the scenario file)."""
    cfg = orbiter.orbit
    if cfg.type == "keplerian":
        epoch = utc_to_tdb_s(cfg.epoch)
        a, e = cfg.size()
        if cfg.local_time_ascending_node is not None:
            raan = KeplerianOrbit.sun_synchronous_node_deg(epoch, cfg.local_time_ascending_node)
        else:
            raan = cfg.raan_deg
        return KeplerianOrbit(orbiter.name, epoch, a, e, cfg.inclination_deg, raan,
                              cfg.arg_periapsis_deg, cfg.mean_anomaly_deg,
                              cfg.gm_km3_s2, cfg.reference_radius_km, cfg.j2)
    path = scenario.resolve_path(cfg.path)
    cap = MAX_SPK_BYTES if cfg.type == "spk" else MAX_OEM_BYTES
    try:
        regular_file(path, f"{cfg.type.upper()} orbit", cap)   # not a directory, device or pipe; size capped
    except RelayInputError as exc:
        raise RelayInputError(f"{path}: {exc.detail}", source=scenario.path, where=f"{where}.path") from None
    if cfg.type == "oem":
        return read_oem(path, name=orbiter.name)
    if cfg.type == "spk":
        return read_spk(path, naif_id=cfg.naif_id, name=orbiter.name)
    raise RelayInputError(f"unknown orbit type {cfg.type!r}", source=scenario.path, where=where)


def ephemerides_of(scenario) -> dict:
    """The orbit source of every orbiter of a scenario (the Ephemeris protocol), by name."""
    return {orb.name: build_ephemeris(orb, scenario, where=f"orbiters[{i}].orbit")
            for i, orb in enumerate(scenario.orbiters)}
