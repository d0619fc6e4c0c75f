"""The pass search's shortcuts against plain references.

- the pruned search (stretches skipped by the speed bound, maxima that cannot
  reach the mask left unrefined) finds exactly the windows of the search on
  the whole grid, and no pass a dense brute force finds is missed (with the
  terrain-mask case hypothesis found, two humps in neighbouring grid steps,
  always run);
- the sign proof between samples: a sample's reach never holds a sample of
  the other sign, and find_windows with a reach finds windows and gaps the
  samples and the golden section miss;
- the speed bound bounds the body-fixed speed (finite differences);
- the eccentric-anomaly table agrees with Halley's method;
- BodyFixed's interpolated rotation agrees with the exact IAU 2015 matrices.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relay import mars
from relay.geometry import passes as pass_search
from relay.geometry.bodyfixed import BodyFixed
from relay.geometry.bounds import speed_bound_km_s
from relay.geometry.passes import find_passes
from relay.geometry.windows import find_windows
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


#: two humps of a terrain margin (kinks where the azimuth crosses a mask
#: point) in neighbouring grid steps: S2 is above its mask for 7.3 s (at most
#: 0.037 deg) at t0 + 103369.3 s, dips below, and is above again from
#: 103388.9 s; the golden-section refinement of the sampled maximum found
#: only the second window
TWO_HUMPS = dict(o=dict(peri_alt=150.0, apo_extra=0.0, i=173.4375, raan=0.0, argp=0.0, m=50.0),
                 ss=[dict(lat=0.0, lon=0.0, h=0.0, mask=0.0, terrain=False),
                     dict(lat=0.0, lon=0.0, h=0.0, mask=0.0, terrain=False),
                     dict(lat=0.0, lon=1.0, h=0.0, mask=21.25, terrain=True)],
                 wrap=False)


def whole_grid_passes(eph, sites, t0, t1):
    """The same search on the whole grid: no stretch skipped, every sampled maximum refined."""
    real_near, real_angle = pass_search._samples_near_passes, pass_search.angle_bound_deg

    def everything(view, grid):
        return np.arange(grid.size), real_near(view, grid)[1]

    pass_search._samples_near_passes = everything
    pass_search.angle_bound_deg = lambda d, r: np.full(np.shape(r), 180.0)
    try:
        return find_passes({"X": eph}, sites, t0, t1)
    finally:
        pass_search._samples_near_passes, pass_search.angle_bound_deg = real_near, real_angle


def brute_force_misses(orb, sites, passes, t0, t1, step_s):
    """Per site, the samples every ``step_s`` above the mask that no pass covers."""
    bf = BodyFixed(t0, t1)
    g = np.arange(t0, t1, step_s)
    p = bf.to_body_fixed(g, orb.state_km(g)[0])
    out = {}
    for site in sites:
        above = site.elevation_margin_deg(p) > 0
        ours = passes[passes.asset == site.name]
        hits = np.zeros(g.size, bool)
        for r, s in zip(ours.rise_tdb_s, ours.set_tdb_s):
            hits |= (g >= r - 1e-3) & (g <= s + 1e-3)
        out[site.name] = g[above & ~hits]
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(o=orbits, ss=site_lists, wrap=st.booleans())
@example(**TWO_HUMPS)
def test_pruned_search_equals_full_grid_and_brute_force(o, ss, wrap):
    orb = make_orbit(o)
    eph = StatesOnly(orb) if wrap else orb
    sites = make_sites(ss)
    t0, t1 = EPOCH, EPOCH + 1.5 * 86400.0
    pruned = find_passes({"X": eph}, sites, t0, t1)
    full = whole_grid_passes(eph, sites, t0, t1)
    cols = ["asset", "rise_tdb_s", "set_tdb_s", "truncated_start", "truncated_end",
            "max_elevation_deg", "max_elevation_tdb_s", "min_range_km"]
    assert len(pruned.passes) == len(full.passes)
    for c in cols:
        np.testing.assert_array_equal(pruned.passes[c].to_numpy(), full.passes[c].to_numpy(), err_msg=c)
    np.testing.assert_array_equal(pruned.profiles.to_numpy(), full.profiles.to_numpy())
    # and a dense brute force (every 2 s) finds no pass the search misses
    for name, missed in brute_force_misses(orb, sites, pruned.passes, t0, t1, 2.0).items():
        assert missed.size == 0, (name, missed[:5] - t0)


def test_two_humps_under_a_terrain_mask_are_two_passes():
    orb, sites = make_orbit(TWO_HUMPS["o"]), make_sites(TWO_HUMPS["ss"])
    t0, t1 = EPOCH, EPOCH + 1.5 * 86400.0
    ps = find_passes({"X": orb}, sites, t0, t1)
    s2 = ps.passes[ps.passes.asset == "S2"]
    rel = np.c_[s2.rise_tdb_s - t0, s2.set_tdb_s - t0]
    first = np.flatnonzero(np.abs(rel[:, 0] - 103369.33) < 0.05)
    second = np.flatnonzero(np.abs(rel[:, 0] - 103388.90) < 0.05)
    assert first.size == 1 and second.size == 1, rel
    assert abs(rel[first[0], 1] - 103376.70) < 0.05
    assert abs(rel[second[0], 1] - 103403.06) < 0.05
    # every 0.1 s above the mask lies in a pass
    for name, missed in brute_force_misses(orb, sites, ps.passes, 103000.0 + t0, 104000.0 + t0, 0.1).items():
        assert missed.size == 0, (name, missed[:5] - t0)
    # a span of a few grid steps (searched whole) sees both too
    short = find_passes({"X": orb}, sites, t0 + 103300.0, t0 + 103500.0).passes
    short = short[short.asset == "S2"]
    np.testing.assert_allclose(short.rise_tdb_s - t0, rel[[first[0], second[0]], 0], atol=2e-3)
    np.testing.assert_allclose(short.set_tdb_s - t0, rel[[first[0], second[0]], 1], atol=2e-3)


def _hidden_humps(t, s):
    """Piecewise linear, |slope| <= 8: windows hidden between samples 10 s apart, and a gap."""
    v = -1.0 + np.maximum(0.0, 1.5 - 4.0 * np.abs(t - 31.0))           # above 0 on 30.875 .. 31.125
    v = v + np.maximum(0.0, 1.2 - 2.0 * np.abs(t - 46.0))              # above 0 on 45.9 .. 46.1
    plateau = np.clip(4.0 * (t - 70.0), 0.0, 1.0) * np.clip(4.0 * (130.0 - t), 0.0, 1.0)
    dip = np.maximum(0.0, 1.5 - 8.0 * np.abs(t - 101.0))               # below 0 on 100.9375 .. 101.0625
    return v + 2.0 * plateau - dip


def test_find_windows_with_reach_proves_every_window_and_gap():
    """A margin with kinks whose humps and dips the samples and the golden section do not see."""
    grid = np.arange(0.0, 200.0 + 1e-9, 10.0)
    lip = 8.0  # |f'| <= 8: f keeps its sign for |f| / 8 on either side
    def g(t, s):
        v = _hidden_humps(t, s)
        return v, np.abs(v) / lip

    vals = _hidden_humps(grid, None)[None, :]
    plain = find_windows(lambda t, s: _hidden_humps(t, s), grid, vals)
    w = find_windows(lambda t, s: _hidden_humps(t, s), grid, vals, reach=(np.abs(vals) / lip, g),
                     kinked=np.array([True]))
    expect = [(30.875, 31.125), (45.9, 46.1), (70.125, 100.9375), (101.0625, 129.875)]
    got = list(zip(w.start_tdb_s, w.end_tdb_s))
    assert len(got) == len(expect), got
    for (a, b), (c, d) in zip(got, expect):
        assert abs(a - c) < 1e-3 and abs(b - d) < 1e-3, got
    assert len(plain.start_tdb_s) < len(expect)  # what the search without the proof misses


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
        spin = np.radians(mars.MERIDIAN_RATE_DEG_PER_DAY) / 86400.0
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
    w = (mars.MERIDIAN_J2000_DEG + mars.MERIDIAN_RATE_DEG_PER_DAY * (t / mars.DAY_S)
         + np.interp(t, bf.nodes, bf.w_periodic))
    r = np.einsum("nij,njk,nkl->nil", mars._pz(np.radians(w))[0], mars._px(np.radians(90.0 - dec))[0],
                  mars._pz(np.radians(90.0 + ra))[0])
    assert np.abs(ours - np.einsum("nij,nj->ni", r, v)).max() < 4000.0 * 1e-13


@pytest.mark.parametrize("o, ss", [
    (TWO_HUMPS["o"], TWO_HUMPS["ss"]),
    (dict(peri_alt=250.0, apo_extra=9000.0, i=75.0, raan=40.0, argp=120.0, m=10.0),
     [dict(lat=-20.0, lon=200.0, h=-3000.0, mask=5.0, terrain=True),
      dict(lat=60.0, lon=30.0, h=1000.0, mask=12.0, terrain=False)]),
    (dict(peri_alt=400.0, apo_extra=0.0, i=93.0, raan=300.0, argp=0.0, m=200.0),
     [dict(lat=4.5, lon=135.6, h=-2600.0, mask=28.0, terrain=True),
      dict(lat=80.0, lon=10.0, h=0.0, mask=0.0, terrain=True)]),
])
def test_reach_keeps_the_sign(o, ss):
    """No sample 0.25 s apart of the other sign lies within a sample's reach (the proof's premise)."""
    orb, sites = make_orbit(o), make_sites(ss)
    t0 = EPOCH
    t = t0 + np.arange(0.0, 1.5 * 86400.0, 0.25)
    view = pass_search._SiteView(orb, sites, BodyFixed(t0, t[-1]))
    view.set_speed_bound(speed_bound_km_s(orb, t[::600]))
    for i, site in enumerate(sites):
        f, tau = view.margin_and_reach(t, np.full(t.size, i))
        pos = f > 0
        run = np.r_[0, np.cumsum(pos[1:] != pos[:-1])]
        starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
        ends = np.r_[starts[1:] - 1, t.size - 1]
        # the nearest sample of the other sign on each side (inf where none)
        right = np.where(run + 1 < starts.size, t[starts[np.minimum(run + 1, starts.size - 1)]] - t, np.inf)
        left = np.where(run > 0, t - t[ends[np.maximum(run - 1, 0)]], np.inf)
        assert (tau <= np.minimum(left, right)).all(), site.name
        assert starts.size > 2 and np.median(tau) > 1.0  # crossings seen, and the reach is not empty
