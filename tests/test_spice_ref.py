"""Self-tests of the SPICE reference kit (tests/spice_ref.py).

The kit is the yardstick for relay's geometry, so it is itself checked here
against formulas and against SPICE's plain two-body conic (``conics``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import spiceypy as sp

import spice_ref as R

DAY = 86400.0
EPOCH = 849_960_069.18  # ~2026-12-08 TDB, seconds past J2000

SITES = [
    ("Curiosity", -4.5895, 137.4417, 0.0),
    ("InSight", 4.502384, 135.623447, -2613.0),
    ("Zhurong", 25.066, 109.925, -4099.0),
    ("UpFromZhurong", 25.066, 109.925, -4099.0 + 1_000_000.0),   # straight up, 1000 km
    ("NorthOfZhurong", 25.566, 109.925, -4099.0),
    ("EastOfZhurong", 25.066, 110.425, -4099.0),
    ("NorthPole", 90.0, 0.0, 0.0),
]
ORBITS = [
    ("TGO", (R.MARS_RE_KM + 400.0, 0.0, 74.0, 30.0, 0.0, 45.0), EPOCH),
    ("MEX", (8598.69, 0.5704, 86.0, 120.0, 250.0, 10.0), EPOCH),
    ("MRO", (R.MARS_RE_KM + 287.5, 0.0093, 92.6, 300.0, 270.0, 200.0), EPOCH),
]


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return R.build_kit(tmp_path_factory.mktemp("spice"), SITES, ORBITS)


# --------------------------------------------------------------------------- PCK
def test_pck_rotation_matches_iau2015_formulas(kit):
    with kit.loaded():
        assert np.allclose(sp.bodvrd("MARS", "RADII", 3)[1], [3396.19, 3396.19, 3376.20])
        assert sp.bodvrd("MARS", "GM", 1)[1][0] == pytest.approx(42828.37)
        worst = 0.0
        for et in np.linspace(-30 * R.YEAR_S, 50 * R.YEAR_S, 41):
            worst = max(worst, np.abs(R.spice_pxform(et) - R.iau2015_matrix_numpy(et)).max())
        # the rotation from sin(RA) / cos(DEC) / sin(PM) terms, as pck00011 does.
        # (W = 350.89 deg/day * d reaches 6e6 deg after 50 years: its last bit
        # is ~1e-9 deg, so two double-precision evaluations differ by ~1e-11 rad)
        assert worst < 5e-11
        # and the periodic terms really are active (they are 0.4-1.6 deg)
        ra, dec = R.mars_pole_radec(0.0)
        assert ra == pytest.approx(317.269202 + 0.419057 * math.sin(math.radians(79.398797))
                                   + sum(a * math.sin(math.radians(p)) for a, p, _ in R.RA_TERMS[:4]),
                                   abs=1e-9)
        assert dec == pytest.approx(54.432516 + sum(a * math.cos(math.radians(p))
                                                    for a, p, _ in R.DEC_TERMS), abs=1e-9)
        assert abs(dec - 54.432516) > 1.0


def test_pck_rotation_rate(kit):
    """sxform's rate block equals the numerical derivative of the rotation."""
    with kit.loaded():
        xf = R.spice_sxform(EPOCH)
        h = 1.0
        dm = (R.iau2015_matrix_numpy(EPOCH + h) - R.iau2015_matrix_numpy(EPOCH - h)) / (2 * h)
        assert np.abs(xf[3:, :3] - dm).max() < 1e-12
        assert np.abs(xf[:3, :3] - R.iau2015_matrix_numpy(EPOCH)).max() < 1e-11


# --------------------------------------------------------------------------- sites
def test_site_vectors_and_heights(kit):
    a, b = R.MARS_RE_KM, R.MARS_RP_KM
    for s in kit.sites:
        lon, lat, alt = sp.recgeo(s.position_km, a, (a - b) / a)
        assert alt * 1000.0 == pytest.approx(s.height_m, abs=1e-6)
        phi_d = math.degrees(math.atan((a * a) / (b * b) * math.tan(math.radians(s.lat_deg)))) \
            if abs(s.lat_deg) < 90 else s.lat_deg
        assert math.degrees(lat) == pytest.approx(phi_d, abs=1e-9)
        foot = s.position_km - s.height_m / 1000.0 * s.normal
        r, flon, flat = sp.reclat(foot)
        assert math.degrees(flat) == pytest.approx(s.lat_deg, abs=1e-9)
        if abs(s.lat_deg) < 90:
            assert math.degrees(flon) % 360 == pytest.approx(s.lon_deg % 360, abs=1e-9)
        assert (foot[0] ** 2 + foot[1] ** 2) / a**2 + foot[2] ** 2 / b**2 == pytest.approx(1.0, abs=1e-13)


def test_topocentric_frame(kit):
    z = kit.site("Zhurong")
    with kit.loaded():
        m = R.spice_pxform(EPOCH, "IAU_MARS", z.frame_name)
        assert np.allclose(m @ z.normal, [0, 0, 1], atol=1e-14)
        assert np.allclose(m @ [0, 0, 1], [m[0, 2], m[1, 2], m[2, 2]])
        assert m[0, 2] > 0 and abs(m[1, 2]) < 1e-14       # Mars's pole lies to the north (x)
        el, az, rng = R.spice_azel(z.naif_id, z.frame_name, kit.site("UpFromZhurong").naif_id, EPOCH)
        assert el == pytest.approx(90.0, abs=1e-9) and rng == pytest.approx(1000.0, abs=1e-9)
        el, az, _ = R.spice_azel(z.naif_id, z.frame_name, kit.site("NorthOfZhurong").naif_id, EPOCH)
        assert az == pytest.approx(0.0, abs=1e-6) or az == pytest.approx(360.0, abs=1e-6)
        assert -0.5 < el < 0.0                              # the surface curves away
        el, az, _ = R.spice_azel(z.naif_id, z.frame_name, kit.site("EastOfZhurong").naif_id, EPOCH)
        assert az == pytest.approx(90.0, abs=0.5) and -0.5 < el < 0.0
        # the site's SPK: fixed in IAU_MARS, at the vector the kit computed
        st = R.spice_state(z.naif_id, EPOCH + 12345.0, "IAU_MARS")
        assert np.allclose(st[:3], z.position_km, atol=1e-9) and np.allclose(st[3:], 0, atol=1e-12)


# --------------------------------------------------------------------------- SPK 17
def _conic_state(el, epoch, et, gm, rates=(0.0, 0.0, None)):
    """State in the pole frame from SPICE conics with (optionally precessed) elements."""
    a, e, i, node, argp, m0 = el
    dnode, dargp, dmean = rates
    dt = et - epoch
    node = math.radians(node) + dnode * dt
    argp = math.radians(argp) + dargp * dt
    if dmean is None:   # plain two-body: conics advances M itself
        elts = [a * (1 - e), e, math.radians(i), node, argp, math.radians(m0), epoch, gm]
    else:               # precessed mean elements at et (conics evaluated at its own epoch)
        elts = [a * (1 - e), e, math.radians(i), node, argp, math.radians(m0) + dmean * dt, et, gm]
    return np.array(sp.conics(elts, et))


def test_spk17_zero_j2_is_a_two_body_conic(tmp_path):
    el = (5721.19, 0.38017, 75.0, 40.0, 70.0, 10.0)
    epoch = EPOCH
    ra, dec = 317.68, 52.89
    f = R.write_spk17(tmp_path / "kep.bsp", -77, el, epoch, ra, dec, R.MARS_GM, 0.0, R.MARS_RE_KM)
    rot = R.pole_frame_matrix(ra, dec)
    worst_r = worst_v = 0.0
    with R.loaded([f]):
        for et in epoch + np.linspace(-2 * DAY, 5 * DAY, 57):
            st = R.spice_state(-77, et)
            ref = _conic_state(el, epoch, et, R.MARS_GM)
            worst_r = max(worst_r, np.linalg.norm(rot @ st[:3] - ref[:3]))
            worst_v = max(worst_v, np.linalg.norm(rot @ st[3:] - ref[3:]))
    assert worst_r < 1e-3       # km: metres
    assert worst_v < 1e-6       # km/s


@pytest.mark.parametrize("name", ["TGO", "MEX", "MRO"])
def test_spk17_with_j2_is_the_secularly_precessing_conic(kit, name):
    """Node, periapsis and mean anomaly advance at the stated J2 rates."""
    el = dict((o[0], o[1]) for o in ORBITS)[name]
    rates = R.j2_rates(el[0], el[1], el[2])
    rot = R.pole_frame_matrix(*kit.poles[name])
    worst = 0.0
    with kit.loaded():
        for et in EPOCH + np.linspace(-3 * DAY, 30 * DAY, 67):
            st = R.spice_state(kit.orbiters[name], et)
            ref = _conic_state(el, EPOCH, et, R.MARS_GM, rates)
            worst = max(worst, np.linalg.norm(rot @ st[:3] - ref[:3]))
    assert worst < 1e-3         # km


def test_spk17_node_precesses_at_j2_rate(kit):
    el = dict((o[0], o[1]) for o in ORBITS)["TGO"]
    dnode, dargp, dmean = R.j2_rates(el[0], el[1], el[2])
    rot = R.pole_frame_matrix(*kit.poles["TGO"])
    tid = kit.orbiters["TGO"]

    def z(et):
        return (rot @ R.spice_state(tid, et)[:3])[2]

    def crossing(t):
        """First ascending-node crossing after t (bisection on z in the pole frame)."""
        lo, hi = t, t + 60.0
        while not (z(lo) < 0 <= z(hi)):
            lo, hi = hi, hi + 60.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if z(mid) < 0 else (lo, mid)
        return 0.5 * (lo + hi)

    def node_at_crossing(t):
        r = rot @ R.spice_state(tid, t)[:3]
        return math.atan2(r[1], r[0])

    # ~ -2.9 deg/day for 400 km, i = 74
    assert math.degrees(dnode) * DAY == pytest.approx(-2.9, abs=0.2)
    with kit.loaded():
        # The node is where the orbiter crosses the equator northwards.  (Not
        # r x v: the precession adds an out-of-plane velocity, tilting the
        # osculating plane by up to dnode/n ~ 6e-4 rad.)
        ta = crossing(EPOCH)
        tb = crossing(EPOCH + 10 * DAY)
        na, nb = node_at_crossing(ta), node_at_crossing(tb)
        assert na == pytest.approx(math.radians(30.0) + dnode * (ta - EPOCH), abs=1e-9)
        measured = (nb - na + math.pi) % (2 * math.pi) - math.pi
        assert measured == pytest.approx(dnode * (tb - ta), rel=1e-8)

        # nodal period = 2 pi / (dM/dt + dargp/dt)
        t1 = crossing(EPOCH + 100.0)
        t2 = crossing(t1 + 100.0)
        assert t2 - t1 == pytest.approx(2 * math.pi / (dmean + dargp), abs=1e-3)


# --------------------------------------------------------------------------- passes
def test_gfposc_windows_are_sane(kit):
    c = kit.site("Curiosity")
    tid = kit.orbiters["TGO"]
    et0, et1 = EPOCH, EPOCH + 1.5 * DAY
    mask = 10.0
    w = R.spice_passes(kit.kernels, c.naif_id, c.frame_name, tid, et0, et1, mask, 60.0)
    assert 2 <= len(w) <= 12
    dur = w[:, 1] - w[:, 0]
    assert np.all(dur > 0) and np.all(dur < 20 * 60)
    assert np.all(w[1:, 0] > w[:-1, 1])
    with kit.loaded():
        el_edges = R.spice_elevation(c.naif_id, c.frame_name, tid, w.ravel())
        assert np.abs(el_edges - mask).max() < 1e-6
        t = np.arange(et0, et1, 15.0)
        el = R.spice_elevation(c.naif_id, c.frame_name, tid, t)
        inside = np.zeros(t.size, bool)
        for a, b in w:
            inside |= (t >= a) & (t <= b)
        assert np.all(el[inside] >= mask - 1e-6) and np.all(el[~inside] <= mask + 1e-6)
        # window start/end elevation rate signs: rising at rise, setting at set
        assert np.all(R.spice_elevation(c.naif_id, c.frame_name, tid, w[:, 0] + 1.0) > mask)
        assert np.all(R.spice_elevation(c.naif_id, c.frame_name, tid, w[:, 1] - 1.0) > mask)
    # a coarser gfposc step finds the same windows (the step bounds monotone
    # intervals of elevation, about half an orbit here, not the windows)
    w2 = R.spice_passes(kit.kernels, c.naif_id, c.frame_name, tid, et0, et1, mask, 600.0)
    assert w2.shape == w.shape and np.abs(w2 - w).max() < 1e-4
