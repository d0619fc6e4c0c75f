"""Shared test fixtures, and the helper modules the tests import.

Helper modules (not test files; pytest collects nothing from them) live beside the tests and are
importable because this file puts their folder on ``sys.path``:

- ``spice_ref``: the SPICE reference kit (text PCK, topocentric frames, SPK type 17 of a J2
  orbit, gfposc windows) that relay's geometry is checked against;
- ``planning_helpers``: small hand-built planning problems.

No test file imports another test file: what two of them share is a fixture here.

Fixtures: ``small`` (a two-orbiter, two-rover, three-station scenario file in the test's
temporary folder, fast to plan) and ``small_config`` (the same, one per test module).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

SMALL_SCENARIO = """\
name: small
orbiters:
  - {name: TGO, orbit: {type: keplerian, file: %(eph)s/tgo.yaml}, radio: Electra}
  - {name: MRO, orbit: {type: keplerian, file: %(eph)s/mro.yaml}, radio: Electra}
assets:
  - {name: Curiosity, latitude_deg: -4.5895, longitude_deg: 137.4417, height_m: -4500,
     min_elevation_deg: 10, radio: Electra-Lite}
  - {name: Perseverance, latitude_deg: 18.4447, longitude_deg: 77.4508, height_m: -2600,
     min_elevation_deg: 10, radio: Electra-Lite}
stations:
  - {name: Goldstone, latitude_deg: 35.4267, longitude_deg: -116.8900, height_m: 1000}
  - {name: Madrid, latitude_deg: 40.4314, longitude_deg: -4.2481, height_m: 830}
  - {name: Canberra, latitude_deg: -35.4014, longitude_deg: 148.9817, height_m: 690}
"""


def write_small_scenario(directory: Path) -> Path:
    """Two orbiters over two rovers, three DSN stations: ``directory/small.yaml``."""
    p = Path(directory) / "small.yaml"
    p.write_text(SMALL_SCENARIO % {"eph": (ROOT / "ephemerides").as_posix()})
    return p


@pytest.fixture
def small(tmp_path):
    """The small scenario, written into this test's temporary folder."""
    return write_small_scenario(tmp_path)


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
    """The small scenario, written once per test module."""
    return write_small_scenario(tmp_path_factory.mktemp("cfg"))
