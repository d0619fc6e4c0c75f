"""SPICE SPK reader: files of types 9, 13 and 17 written with spiceypy from known orbits.

Named tolerances: SPK type 9/13 files are written from exact states every
60 s (degree 7), so SPICE itself reproduces the orbit to micrometres; the
resampled grid (120 s, Hermite degree 7) adds micrometres for a 2-hour orbit
and below a millimetre for an eccentric one.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import spiceypy as sp

from relay import mars
from relay.errors import CoverageError, RelayInputError
from relay.orbits.base import Ephemeris
from relay.orbits.keplerian import KeplerianOrbit
from relay.orbits.oem import read_oem, write_oem
from relay.orbits.spk import read_spk
from relay.timescales import tdb_s_to_iso, utc_to_tdb_s
from spice_ref import write_spk17

EPOCH = utc_to_tdb_s("2026-11-23T00:00:00Z")
DAY = 86400.0
GRID_VS_DIRECT_KM = 1e-6  # 1 mm
AGREE_KM = 1e-5  # 1 cm: every source against every other


def tgo(**kw) -> KeplerianOrbit:
    args = dict(name="TGO", epoch_tdb_s=EPOCH, semi_major_axis_km=3796.19, eccentricity=0.0,
                inclination_deg=74.0, raan_deg=30.0, arg_periapsis_deg=0.0, mean_anomaly_deg=0.0)
    args.update(kw)
    return KeplerianOrbit(**args)


def mex() -> KeplerianOrbit:
    rp, ra = 3396.19 + 300.0, 3396.19 + 10100.0
    return tgo(name="MEX", semi_major_axis_km=(rp + ra) / 2, eccentricity=(ra - rp) / (ra + rp),
               inclination_deg=86.6, raan_deg=40.0, arg_periapsis_deg=300.0, mean_anomaly_deg=10.0)


def write_spk(path, orbit, start, stop, *, kind=13, body=-143, center=499, frame="J2000",
              step=60.0, degree=7, append=False, rotate=None):
    """Write a type 9 or 13 segment of ``orbit`` sampled every ``step`` seconds."""
    t = start + step * np.arange(round((stop - start) / step) + 1)
    p, v = orbit.state_km(t)
    if rotate is not None:
        p, v = p @ rotate.T, v @ rotate.T
    states = np.hstack([p, v])
    handle = sp.spkopa(str(path)) if append else sp.spkopn(str(path), "test", 0)
    try:
        if kind == 13:
            sp.spkw13(handle, body, center, frame, t[0], t[-1], "test", degree, len(t), states, t)
        else:
            sp.spkw09(handle, body, center, frame, t[0], t[-1], "test", degree, len(t), states, t)
    finally:
        sp.spkcls(handle)
    return path


def random_times(start, stop, n=1500, seed=2):
    return np.sort(np.random.default_rng(seed).uniform(start, stop, n))


def max_err(a, b):
    return float(np.linalg.norm(a - b, axis=1).max())


@pytest.mark.parametrize("kind", [9, 13])
@pytest.mark.parametrize("orbit", [tgo, mex])
def test_spk_agrees_with_keplerian(tmp_path, kind, orbit):
    k = orbit()
    path = write_spk(tmp_path / f"o{kind}.bsp", k, EPOCH, EPOCH + DAY / 2, kind=kind)
    eph = read_spk(path)
    assert isinstance(eph, Ephemeris)
    assert eph.naif_id == -143 and eph.name == "EXOMARS 2016 TGO"  # SPICE's name for -143
    t = random_times(EPOCH, EPOCH + DAY / 2)
    p, v = eph.state_km(t)  # grid path (1500 times > one block)
    pk, vk = k.state_km(t)
    assert max_err(p, pk) < AGREE_KM
    assert max_err(v, vk) < 1e-6
    pd, vd = eph.state_direct_km(t)
    assert max_err(p, pd) < GRID_VS_DIRECT_KM
    assert max_err(v, vd) < 1e-7  # 0.1 mm/s


def test_small_calls_go_to_spice_directly_and_grid_is_cached(tmp_path):
    k = tgo()
    eph = read_spk(write_spk(tmp_path / "c.bsp", k, EPOCH, EPOCH + DAY), name="TGO")
    eph.state_km(np.array([EPOCH + 10.0, EPOCH + 5000.0]))
    assert eph.spice_calls == 2
    t = np.linspace(EPOCH, EPOCH + DAY, 5000)
    p1, _ = eph.state_km(t)
    calls = eph.spice_calls
    assert calls < 2 + DAY / 120 + 3 * 300  # the grid, not one call per time
    p2, _ = eph.state_km(t[::7])
    assert eph.spice_calls == calls  # cached blocks: no new SPICE calls
    assert np.array_equal(p2, p1[::7])
    # the exact ends of the coverage are served
    pe, _ = eph.state_km(np.array([EPOCH, EPOCH + DAY]))
    assert max_err(pe, k.state_km(np.array([EPOCH, EPOCH + DAY]))[0]) < AGREE_KM


def test_conic_two_body_truth(tmp_path):
    """An exact conic (SPICE ``conics``) through an SPK type 13: sub-millimetre."""
    elts = [3700.0, 0.3, math.radians(50.0), 0.2, 0.7, 0.1, EPOCH, mars.GM_KM3_S2]

    class Conic:
        def state_km(self, t):
            s = np.array([sp.conics(elts, float(x)) for x in np.atleast_1d(t)])
            return s[:, :3], s[:, 3:]

    c = Conic()
    eph = read_spk(write_spk(tmp_path / "conic.bsp", c, EPOCH, EPOCH + 8 * 3600, body=-999))
    t = random_times(EPOCH, EPOCH + 8 * 3600, 800)
    assert max_err(eph.state_km(t)[0], c.state_km(t)[0]) < 1e-6


def test_all_sources_agree(tmp_path):
    """Keplerian, OEM (Lagrange and Hermite), SPK 13 and SPK 17 of one orbit: within 1 cm."""
    k = mex()
    stop = EPOCH + DAY / 2
    oem_l = read_oem(write_oem(tmp_path / "l.oem", k, start_tdb_s=EPOCH, stop_tdb_s=stop))
    oem_h = read_oem(write_oem(tmp_path / "h.oem", k, start_tdb_s=EPOCH, stop_tdb_s=stop,
                               interpolation="HERMITE", degree=7))
    spk13 = read_spk(write_spk(tmp_path / "k13.bsp", k, EPOCH, stop))
    ra, dec = mars.mars_pole_radec_deg(EPOCH)
    el = (k.semi_major_axis_km, k.eccentricity, k.inclination_deg, k.raan_deg,
          k.arg_periapsis_deg, k.mean_anomaly_deg)
    spk17 = read_spk(write_spk17(tmp_path / "k17.bsp", -74, el, EPOCH, ra, dec,
                                 first_et=EPOCH, last_et=stop))
    assert spk17.name == "MARS RECON ORBITER" and spk17.segments[0].type == 17
    t = random_times(EPOCH, stop, 2000)
    ref = k.state_km(t)
    for eph in (oem_l, oem_h, spk13, spk17):
        p, v = eph.state_km(t)
        assert max_err(p, ref[0]) < AGREE_KM, eph
        assert max_err(v, ref[1]) < 1e-6, eph


def test_files_with_the_same_body_do_not_shadow_each_other(tmp_path):
    """Each file is read on its own handle, unlike furnsh, where the last loaded file wins."""
    a, b = tgo(), tgo(semi_major_axis_km=3900.0)
    ea = read_spk(write_spk(tmp_path / "a.bsp", a, EPOCH, EPOCH + 7200))
    eb = read_spk(write_spk(tmp_path / "b.bsp", b, EPOCH, EPOCH + 7200))
    t = random_times(EPOCH, EPOCH + 7200, 50)
    assert max_err(ea.state_km(t)[0], a.state_km(t)[0]) < AGREE_KM
    assert max_err(eb.state_km(t)[0], b.state_km(t)[0]) < AGREE_KM
    ea.close()
    assert max_err(eb.state_km(t)[0], b.state_km(t)[0]) < AGREE_KM


def test_gap_between_segments_is_a_coverage_error(tmp_path):
    k = tgo()
    path = write_spk(tmp_path / "gap.bsp", k, EPOCH, EPOCH + 3600)
    write_spk(path, k, EPOCH + 7200, EPOCH + 10800, append=True)
    eph = read_spk(path)
    assert eph.intervals_tdb_s == [(EPOCH, EPOCH + 3600), (EPOCH + 7200, EPOCH + 10800)]
    ok = np.concatenate([random_times(EPOCH, EPOCH + 3600, 400), random_times(EPOCH + 7200, EPOCH + 10800, 400)])
    assert max_err(eph.state_km(ok)[0], k.state_km(ok)[0]) < AGREE_KM
    for bad in (EPOCH + 5000, EPOCH - 1, EPOCH + 20000):
        with pytest.raises(CoverageError) as err:
            eph.state_km(np.concatenate([ok, [bad]]))
        msg = str(err.value)
        for edge in (EPOCH, EPOCH + 3600, EPOCH + 7200, EPOCH + 10800):
            assert tdb_s_to_iso(edge) in msg
        assert tdb_s_to_iso(bad) in msg and "gap.bsp" in msg


def test_overlapping_segments_later_wins_no_blending(tmp_path):
    a, b = tgo(), tgo(semi_major_axis_km=3900.0)
    path = write_spk(tmp_path / "ov.bsp", a, EPOCH, EPOCH + 4 * 3600)
    write_spk(path, b, EPOCH + 2 * 3600, EPOCH + 3 * 3600, append=True)
    eph = read_spk(path)
    t = random_times(EPOCH, EPOCH + 4 * 3600, 2000)
    p, _ = eph.state_km(t)
    in_b = (t >= EPOCH + 2 * 3600) & (t <= EPOCH + 3 * 3600)
    assert max_err(p[in_b], b.state_km(t[in_b])[0]) < AGREE_KM
    assert max_err(p[~in_b], a.state_km(t[~in_b])[0]) < AGREE_KM


def test_other_inertial_frame_and_barycentre_centre(tmp_path):
    k = tgo()
    rot = np.array(sp.pxform("J2000", "ECLIPJ2000", 0.0))
    eph = read_spk(write_spk(tmp_path / "ecl.bsp", k, EPOCH, EPOCH + 7200, frame="ECLIPJ2000",
                             center=4, rotate=rot))
    t = random_times(EPOCH, EPOCH + 7200, 500)
    assert max_err(eph.state_km(t)[0], k.state_km(t)[0]) < AGREE_KM


def test_body_choice(tmp_path):
    a, b = tgo(), tgo(semi_major_axis_km=3650.0)
    path = write_spk(tmp_path / "two.bsp", a, EPOCH, EPOCH + 3600, body=-143)
    write_spk(path, b, EPOCH, EPOCH + 3600, body=-74, append=True)
    with pytest.raises(RelayInputError) as err:
        read_spk(path)
    assert "-143" in str(err.value) and "-74" in str(err.value) and "two.bsp" in str(err.value)
    eph = read_spk(path, naif_id="MRO")
    assert eph.naif_id == -74
    t = np.array([EPOCH + 100.0])
    assert max_err(eph.state_km(t)[0], b.state_km(t)[0]) < AGREE_KM
    with pytest.raises(RelayInputError, match=r"no data for NAIF id -41.*-143.*-74"):
        read_spk(path, naif_id=-41)
    # one spacecraft among natural bodies is chosen without asking
    path2 = write_spk(tmp_path / "craft_and_moon.bsp", a, EPOCH, EPOCH + 3600, body=-143)
    write_spk(path2, b, EPOCH, EPOCH + 3600, body=401, append=True)
    assert read_spk(path2).naif_id == -143


def test_unusable_files(tmp_path):
    with pytest.raises(RelayInputError, match="no such file"):
        read_spk(tmp_path / "missing.bsp")
    text = tmp_path / "orbit.bsp"
    text.write_text("CCSDS_OEM_VERS = 2.0\n")
    with pytest.raises(RelayInputError, match=re.escape(str(text)) + ".*expected a binary SPICE SPK"):
        read_spk(text)
    junk = tmp_path / "junk.bsp"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(RelayInputError, match="SPK"):
        read_spk(junk)
    # relative to the Sun: refused with a message naming the centre
    sun = write_spk(tmp_path / "sun.bsp", tgo(), EPOCH, EPOCH + 3600, center=10)
    with pytest.raises(RelayInputError, match=r"relative to 10 \(SUN\)"):
        read_spk(sun)
    # a body-fixed frame: refused
    fixed = write_spk(tmp_path / "fixed.bsp", tgo(), EPOCH, EPOCH + 3600, frame="IAU_MARS")
    with pytest.raises(RelayInputError, match="IAU_MARS.*not an inertial"):
        read_spk(fixed)


def test_pickle_reopens_the_file(tmp_path):
    import pickle

    k = tgo()
    eph = read_spk(write_spk(tmp_path / "p.bsp", k, EPOCH, EPOCH + 3600), name="TGO")
    copy = pickle.loads(pickle.dumps(eph))
    t = random_times(EPOCH, EPOCH + 3600, 20)
    assert copy.name == "TGO" and copy.naif_id == -143
    assert max_err(copy.state_km(t)[0], eph.state_km(t)[0]) < 1e-9
