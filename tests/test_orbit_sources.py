"""The three orbit sources behind one interface give the same passes (config to pass table)."""

import numpy as np
import pytest

from relay.api import pass_set
from relay.config import load_scenario
from relay.orbits import ephemerides_of
from relay.orbits.oem import write_oem
from relay.timescales import utc_to_tdb_s

import spice_ref  # the SPICE reference kit, a helper module beside the tests (see conftest.py)

START = "2026-11-23T00:00:00Z"
ELEMENTS = dict(semi_major_axis_km=3396.19 + 287.5, eccentricity=0.0088, inclination_deg=92.6,
                raan_deg=150.0, arg_periapsis_deg=270.0, mean_anomaly_deg=120.0)


def scenario(tmp_path, orbit_yaml: str, name: str):
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"""\
orbiters:
  - name: MRO
    orbit: {orbit_yaml}
assets:
  - {{name: Curiosity, latitude_deg: -4.5895, longitude_deg: 137.4417, height_m: -4500}}
  - {{name: Perseverance, latitude_deg: 18.4447, longitude_deg: 77.4508, height_m: -2600}}
""")
    return load_scenario(p)


def test_keplerian_oem_spk_agree(tmp_path):
    kep_yaml = "{type: keplerian, epoch: \"%s\", %s}" % (
        START, ", ".join(f"{k}: {v}" for k, v in ELEMENTS.items()))
    kep = scenario(tmp_path, kep_yaml, "kep")
    eph = ephemerides_of(kep)["MRO"]
    t0 = utc_to_tdb_s(START)
    write_oem(tmp_path / "mro.oem", eph, start_tdb_s=t0 - 3600, stop_tdb_s=t0 + 3 * 86400, step_s=60.0,
              object_name="MRO", interpolation="HERMITE", degree=7)
    oem = scenario(tmp_path, "{type: oem, path: mro.oem}", "oem")
    ra, dec = eph.pole_ra_deg, eph.pole_dec_deg
    spice_ref.write_spk17(tmp_path / "mro.bsp", -74, (eph.semi_major_axis_km, eph.eccentricity,
                          eph.inclination_deg, eph.raan_deg, eph.arg_periapsis_deg, eph.mean_anomaly_deg),
                          t0, ra, dec, eph.gm_km3_s2, eph.j2, eph.reference_radius_km)
    spk = scenario(tmp_path, "{type: spk, path: mro.bsp}", "spk")
    ref = pass_set(kep, START, 2.0).passes
    assert len(ref) > 4
    for other in (oem, spk):
        got = pass_set(other, START, 2.0).passes
        assert len(got) == len(ref)
        assert list(got.asset) == list(ref.asset)
        np.testing.assert_allclose(got.rise_tdb_s, ref.rise_tdb_s, atol=0.01)
        np.testing.assert_allclose(got.set_tdb_s, ref.set_tdb_s, atol=0.01)
        np.testing.assert_allclose(got.min_range_km, ref.min_range_km, atol=0.005)  # 5 m


def test_orbit_file_outside_its_coverage_names_the_span(tmp_path):
    kep_yaml = "{type: keplerian, epoch: \"%s\", %s}" % (
        START, ", ".join(f"{k}: {v}" for k, v in ELEMENTS.items()))
    eph = ephemerides_of(scenario(tmp_path, kep_yaml, "kep"))["MRO"]
    t0 = utc_to_tdb_s(START)
    write_oem(tmp_path / "short.oem", eph, start_tdb_s=t0, stop_tdb_s=t0 + 86400, step_s=60.0)
    sc = scenario(tmp_path, "{type: oem, path: short.oem}", "short")
    from relay.errors import CoverageError
    with pytest.raises(CoverageError, match="2026-11-23T00:00:00"):
        pass_set(sc, START, 3.0)


def test_missing_orbit_file_is_a_config_error(tmp_path):
    sc = scenario(tmp_path, "{type: oem, path: nowhere.oem}", "missing")
    from relay.errors import RelayInputError
    with pytest.raises(RelayInputError, match=r"orbiters\[0\].orbit.path"):
        ephemerides_of(sc)
