"""Scenario loading: the minimal config works; every user mistake is one clear paragraph."""

from pathlib import Path

import pytest

from relay.config import load_scenario
from relay.errors import RelayInputError
from relay.orbits import ephemerides_of
from scenario_texts import MINIMAL

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def minimal(tmp_path):
    p = tmp_path / "min.yaml"
    p.write_text(MINIMAL)
    return p


def test_minimal_config_loads_with_defaults(minimal):
    sc = load_scenario(minimal)
    assert sc.orbiters[0].name == "TGO"
    assert sc.assets[0].min_elevation_deg == 10
    assert sc.geometry.conjunction_deg == 3.0
    eph = ephemerides_of(sc)["TGO"]
    assert eph.semi_major_axis_km == pytest.approx(3796.19)


@pytest.mark.parametrize("config", ["baseline", "insight-2019", "exomars-2030"])
def test_shipped_scenarios_load(config):
    sc = load_scenario(ROOT / "configs" / f"{config}.yaml")
    assert len(ephemerides_of(sc)) == len(sc.orbiters)


@pytest.mark.parametrize("override, where, words", [
    ({"orbiters.TGO.orbit.eccentricity": 1.3}, "orbiters[0].orbit.eccentricity", "1.3"),
    ({"assets.Curiosity.latitude_deg": 95}, "assets[0].latitude_deg", "95"),
    ({"orbiters.TGO.orbit.semi_major_axis_km": 3300.0}, "orbiters[0].orbit", "hit the surface"),
    ({"assets.Curiosity.colour": "red"}, "assets[0].colour", "unknown key"),
    ({"orbiters.TGO.orbit.inclination_deg": "steep"}, "orbiters[0].orbit.inclination_deg", "steep"),
    ({"orbiters.TGO.orbit.epoch": "2026-11-23 00:00"}, "orbiters[0].orbit.epoch", "Z"),
    ({"assets.Curiosity.mask": [[0, 5]]}, "assets[0].mask", "two"),
])
def test_bad_values_name_file_key_and_value(minimal, override, where, words):
    with pytest.raises(RelayInputError) as err:
        load_scenario(minimal, override)
    msg = str(err.value)
    assert str(minimal) in msg
    assert where in msg
    assert words in msg


def test_unknown_override_path_lists_valid_names(minimal):
    with pytest.raises(RelayInputError, match="valid: Curiosity"):
        load_scenario(minimal, {"assets.Spirit.min_elevation_deg": 15})


def test_yaml_syntax_error_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("orbiters:\n  - name: [TGO\n")
    with pytest.raises(RelayInputError, match=r"bad.yaml: line \d+"):
        load_scenario(p)


def test_missing_file(tmp_path):
    with pytest.raises(RelayInputError, match="does not exist"):
        load_scenario(tmp_path / "nope.yaml")


def test_extends_merges_lists_by_name(tmp_path, minimal):
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {minimal.name}\nassets:\n  - {{name: Curiosity, latitude_deg: -4.5895, "
                     "longitude_deg: 137.4417, min_elevation_deg: 20}\n")
    sc = load_scenario(child)
    assert [a.name for a in sc.assets] == ["Curiosity"]
    assert sc.assets[0].min_elevation_deg == 20


def test_altitudes_and_local_time_node(tmp_path):
    p = tmp_path / "mro.yaml"
    p.write_text(MINIMAL.replace("semi_major_axis_km: 3796.19, eccentricity: 0.0",
                                 "periapsis_altitude_km: 255, apoapsis_altitude_km: 320")
                 .replace("raan_deg: 0.0", "local_time_ascending_node: 15.0"))
    eph = ephemerides_of(load_scenario(p))["TGO"]
    assert eph.periapsis_radius_km == pytest.approx(3396.19 + 255)
    assert eph.apoapsis_radius_km == pytest.approx(3396.19 + 320)


def test_the_longest_horizon_is_one_bound_for_the_schema_and_the_command_line():
    """planning.horizon_days and ``relay plan --days`` share their bound (a year and a day): a
    scenario may ask for 366 days, and 366.5 is refused naming the key."""
    from pydantic import ValidationError

    from relay.commands import MAX_PLAN_DAYS
    from relay.planning.settings import MAX_HORIZON_DAYS, PlanningSettings

    assert MAX_PLAN_DAYS == MAX_HORIZON_DAYS == 366.0
    assert PlanningSettings(horizon_days=366).horizon_days == 366.0
    with pytest.raises(ValidationError, match="horizon_days"):
        PlanningSettings(horizon_days=366.5)
