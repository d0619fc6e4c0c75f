"""The pass search's shortcuts against plain references.

- the pruned search (stretches skipped by the speed bound, maxima that cannot
  reach the mask left unrefined) finds exactly the windows of the search on
  the whole grid, and no pass a dense brute force finds is missed;
- the speed bound bounds the body-fixed speed (finite differences);
- the eccentric-anomaly table agrees with Halley's method;
- BodyFixed's interpolated rotation agrees with the exact IAU 2015 matrices.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay import geometry, mars
from relay.geometry import BodyFixed, find_passes, speed_bound_km_s
from relay.orbits.keplerian import KeplerianOrbit, cos_sin_eccentric_anomaly, solve_kepler
from relay.timescales import utc_to_tdb_s

EPOCH = utc_to_tdb_s("2026-11-23T00:00:00Z")
RE = mars.EQUATORIAL_RADIUS_KM


class StatesOnly:
    """An orbit source with nothing but the Ephemeris protocol (no elements, no position_km)."""

    def __init__(self, orb):
        self.name = orb.name
        self._orb = orb

    @property
    def coverage_tdb_s(self):
        return (-np.inf, np.inf)

    def state_km(self, tdb_s):
        return self._orb.state_km(tdb_s)


orbits = st.builds(
    dict,
    peri_alt=st.floats(150.0, 1500.0),
    apo_extra=st.one_of(st.just(0.0), st.floats(0.0, 12000.0)),
    i=st.floats(0.0, 180.0),
    raan=st.floats(0.0, 360.0),
    argp=st.floats(0.0, 360.0),
    m=st.floats(0.0, 360.0),
)
site_lists = st.lists(st.builds(dict, lat=st.floats(-85, 85), lon=st.floats(0, 360),
                                h=st.floats(-5000, 5000), mask=st.floats(0, 30),
                                terrain=st.booleans()), min_size=1, max_size=3)


def make_orbit(o):
    rp = RE + o["peri_alt"]
    ra = rp + o["apo_extra"]
    a, e = 0.5 * (rp + ra), (ra - rp) / (ra + rp)
    return KeplerianOrbit("X", EPOCH, a, e, o["i"], o["raan"], o["argp"], o["m"])


def make_sites(ss):
    out = []
    for k, s in enumerate(ss):
        if s["terrain"]:
            az, el = [0, 70, 160, 250], [s["mask"] + 8, s["mask"], s["mask"] + 15, s["mask"] + 3]
            out.append(mars.Site(f"S{k}", s["lat"], s["lon"], s["h"], s["mask"], az, el))
        else:
            out.append(mars.Site(f"S{k}", s["lat"], s["lon"], s["h"], s["mask"]))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(o=orbits, ss=site_lists, wrap=st.booleans())
def test_pruned_search_equals_full_grid_and_brute_force(o, ss, wrap):
    orb = make_orbit(o)
    eph = StatesOnly(orb) if wrap else orb
    sites = make_sites(ss)
    t0, t1 = EPOCH, EPOCH + 1.5 * 86400.0
    pruned = find_passes({"X": eph}, sites, t0, t1)
    # the same search on the whole grid: no speed bound, nothing skipped
    real = geometry.speed_bound_km_s
    geometry.speed_bound_km_s = lambda *a, **k: None
    try:
        full = find_passes({"X": eph}, sites, t0, t1)
    finally:
        geometry.speed_bound_km_s = real
    cols = ["asset", "rise_tdb_s", "set_tdb_s", "truncated_start", "truncated_end",
            "max_elevation_deg", "max_elevation_tdb_s", "min_range_km"]
    assert len(pruned.passes) == len(full.passes)
    for c in cols:
        np.testing.assert_array_equal(pruned.passes[c].to_numpy(), full.passes[c].to_numpy(), err_msg=c)
    np.testing.assert_array_equal(pruned.profiles.to_numpy(), full.profiles.to_numpy())
    # and a dense brute force (every 2 s) finds no pass the search misses
    bf = BodyFixed(t0, t1)
    g = np.arange(t0, t1, 2.0)
    p = bf.to_body_fixed(g, orb.state_km(g)[0])
    for site in sites:
        above = site.elevation_margin_deg(p) > 0
        ours = pruned.passes[pruned.passes.asset == site.name]
        hits = np.zeros(g.size, bool)
        for r, s in zip(ours.rise_tdb_s, ours.set_tdb_s):
            hits |= (g >= r - 1e-3) & (g <= s + 1e-3)
        assert not (above & ~hits).any(), site.name


def test_speed_bound_bounds_the_body_fixed_speed():
    bf = BodyFixed(EPOCH, EPOCH + 3 * 86400.0)
    t = np.arange(EPOCH, EPOCH + 3 * 86400.0, 1.0)
    for el in [(RE + 250.0, 0.0, 92.0, 10.0, 0.0, 0.0), (RE + 4000.0, 0.45, 75.0, 100.0, 30.0, 200.0),
               (8600.0, 0.57, 86.0, 300.0, 250.0, 270.0), (RE + 17000.0, 0.0, 1.0, 0.0, 0.0, 0.0)]:
        orb = KeplerianOrbit("X", EPOCH, *el)
        pos, vel = orb.state_km(t)
        p = bf.to_body_fixed(t, pos)
        speed = np.linalg.norm(np.diff(p, axis=0), axis=1)  # km per 1 s step
        # the triangle inequality's value: inertial speed plus the spin at the largest radius
        spin = np.radians(mars._W1) / 86400.0
        triangle = np.linalg.norm(vel, axis=1).max() + spin * np.linalg.norm(pos, axis=1).max()
        for eph in (orb, StatesOnly(orb)):
            bound = speed_bound_km_s(eph, t[::600])
            assert bound is not None
            assert speed.max() <= bound, (el, speed.max(), bound)
            # and not needlessly loose beyond it (the search would skip less)
            assert bound < 1.35 * triangle, (el, bound, triangle)


def test_speed_bound_refuses_an_unbound_orbit():
    class Escaping:
        name = "E"
        coverage_tdb_s = (-np.inf, np.inf)

        def state_km(self, t):
            t = np.atleast_1d(t)
            pos = np.stack([4000.0 + 6.0 * (t - EPOCH), np.zeros_like(t), np.zeros_like(t)], -1)
            vel = np.tile([6.0, 0.0, 0.0], (t.size, 1))
            return pos, vel

    assert speed_bound_km_s(Escaping(), EPOCH + np.arange(10.0)) is None


@pytest.mark.parametrize("e", [0.0, 0.0093, 0.1, 0.38, 0.6094, 0.9])
def test_eccentric_anomaly_table_matches_halley(e):
    rng = np.random.default_rng(7)
    m = rng.uniform(-2000.0, 2000.0, 50000)
    c, s = cos_sin_eccentric_anomaly(m, e)
    big_e = solve_kepler(m, e)
    # the mean anomaly itself carries ~4e-13 rad of round-off at |M| = 2000
    assert np.abs(c - np.cos(big_e)).max() < 1e-11
    assert np.abs(s - np.sin(big_e)).max() < 1e-11
    # E - e sin E = M holds for the interpolated values (residual in the angle)
    big_e2 = np.arctan2(s, c)
    resid = np.angle(np.exp(1j * (big_e2 - e * s - m)))
    assert np.abs(resid).max() < 1e-11


def test_keplerian_position_fast_path_matches_state():
    t = EPOCH + np.linspace(-30 * 86400.0, 400 * 86400.0, 200000)
    for el in [(RE + 400.0, 0.0, 74.0, 0.0, 0.0, 0.0), (RE + 287.5, 0.0093, 92.6, 60.0, 270.0, 30.0),
               (8600.0, 0.5704, 86.0, 300.0, 250.0, 270.0)]:
        orb = KeplerianOrbit("X", EPOCH, *el)
        assert np.abs(orb.position_km(t) - orb.state_km(t)[0]).max() < 1e-6  # 1 mm


def test_body_fixed_matches_the_exact_rotation():
    t0, t1 = EPOCH, EPOCH + 365.25 * 86400.0
    bf = BodyFixed(t0, t1)
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(t0, t1, 4000))
    v = rng.normal(size=(t.size, 3)) * 4000.0
    exact = np.einsum("nij,nj->ni", mars.rotation_matrices(t), v)
    ours = bf.to_body_fixed(t, v)
    # daily nodes for the pole and W's periodic terms: 2 mm at 4000 km over a year
    assert np.abs(ours - exact).max() < 4000.0 * 1e-9
    np.testing.assert_allclose(bf.to_icrf(t, ours), v, atol=4000.0 * 1e-12)
    # the interpolated cosines and sines are the interpolated angles' to round-off
    ra, dec = np.interp(t, bf.nodes, bf.ra), np.interp(t, bf.nodes, bf.dec)
    w = mars._W0 + mars._W1 * (t / mars.DAY_S) + np.interp(t, bf.nodes, bf.w_periodic)
    r = np.einsum("nij,njk,nkl->nil", mars._pz(np.radians(w))[0], mars._px(np.radians(90.0 - dec))[0],
                  mars._pz(np.radians(90.0 + ra))[0])
    assert np.abs(ours - np.einsum("nij,nj->ni", r, v)).max() < 4000.0 * 1e-13
