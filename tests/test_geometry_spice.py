"""relay's geometry against SPICE (independent kernels written by spice_ref).

SPICE is given the same physical model through its own machinery: a text PCK
with the pck00011 Mars values, topocentric frame kernels, and an SPK type 17
of the J2 orbit.  relay must reproduce its rotation to 1e-10 and its rise and
set times (gfposc, elevation = latitude in the topocentric frame) to 0.1 s.
"""

import numpy as np
import pytest
import spice_ref  # the SPICE reference kit, a helper module beside the tests (see conftest.py)

from relay import mars
from relay.geometry.passes import find_passes
from relay.orbits.keplerian import KeplerianOrbit
from relay.timescales import utc_to_tdb_s

EPOCH = utc_to_tdb_s("2026-11-23T00:00:00Z")
SITES = [
    ("Curiosity", -4.5895, 137.4417, -4500.0),
    ("Perseverance", 18.4447, 77.4508, -2600.0),
    ("Oxia", 18.20, 335.45, -3000.0),
]
ORBITS = [
    # name, (a, e, i, raan, argp, M)
    ("TGO", (3796.19, 0.0, 74.0, 35.0, 0.0, 0.0)),
    ("MRO", (3396.19 + 287.5, 0.0088, 92.6, 150.0, 270.0, 120.0)),
    ("MAVEN", (3396.19 + 2325.0, 0.6094, 75.0, 120.0, 60.0, 45.0)),
]


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("spice")
    k = spice_ref.build_kit(d, sites=SITES, orbits=[(n, el, EPOCH) for n, el in ORBITS])
    yield k


def test_rotation_matches_spice_pxform(kit):
    ets = EPOCH + np.array([-3.2e8, -1e7, 0.0, 12345.678, 3e8, 1.5e9])
    with kit.loaded():
        for et in ets:
            ref = spice_ref.spice_pxform(et)
            ours = mars.rotation_matrices(et)[0]
            assert np.abs(ours - ref).max() < 1e-10


def test_site_vectors_match_spice(kit):
    for name, lat, lon, h in SITES:
        ours = mars.Site(name, lat, lon, h)
        ref = kit.site(name)
        assert np.abs(ours.position_km - ref.position_km).max() < 1e-9  # km
        assert np.abs(ours.up - ref.normal).max() < 1e-12


def test_keplerian_matches_spk17_to_metres(kit):
    ets = EPOCH + np.linspace(-2 * 86400, 30 * 86400, 97)
    with kit.loaded():
        for name, el in ORBITS:
            orb = KeplerianOrbit(name, EPOCH, *el, pole_ra_deg=kit.poles[name][0],
                                 pole_dec_deg=kit.poles[name][1])
            ours = orb.state_km(ets)[0]
            ref = np.array([spice_ref.spice_state(kit.orbiters[name], et)[:3] for et in ets])
            assert np.abs(ours - ref).max() < 1e-3, name  # 1 m


@pytest.mark.parametrize("orbit_name", [o[0] for o in ORBITS])
def test_rise_set_match_gfposc_within_0_1_s(kit, orbit_name):
    el = dict(ORBITS)[orbit_name]
    orb = KeplerianOrbit(orbit_name, EPOCH, *el, pole_ra_deg=kit.poles[orbit_name][0],
                         pole_dec_deg=kit.poles[orbit_name][1])
    t0, t1 = EPOCH + 3600.0, EPOCH + 3 * 86400.0
    sites = [mars.Site(n, lat, lon, h, 10.0) for n, lat, lon, h in SITES]
    ps = find_passes({orbit_name: orb}, sites, t0, t1)
    with kit.loaded():
        for s in kit.sites:
            ref = spice_ref.spice_passes(None, s.naif_id, s.frame_name, kit.orbiters[orbit_name],
                                         t0, t1, 10.0, 10.0)
            ours = ps.passes[ps.passes.asset == s.name]
            assert len(ours) == len(ref), (orbit_name, s.name)
            if len(ref) == 0:
                continue
            rise = ours["rise_tdb_s"].to_numpy()
            sett = ours["set_tdb_s"].to_numpy()
            inner_r = ~ours["truncated_start"].to_numpy()
            inner_s = ~ours["truncated_end"].to_numpy()
            assert np.abs(rise[inner_r] - ref[inner_r, 0]).max(initial=0) < 0.1
            assert np.abs(sett[inner_s] - ref[inner_s, 1]).max(initial=0) < 0.1
