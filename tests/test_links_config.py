"""Link config models (validators, built-in radios), the scenario adapter and ``relay link``."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

from relay.config_links import (
    BUILTIN_RADIOS,
    AssetUHF,
    LinkSettings,
    OrbiterUHF,
    RadioSpec,
    StationXBand,
    XBandSpec,
    merge_radios,
)
from relay.errors import RelayInputError
from relay.links.synthetic import synthetic_tables
from relay.links.uhf import resolve_uhf_pair, uhf_pairs_from_scenario, uhf_rate_kbps
from relay.links.volumes import pass_volumes

ROOT = Path(__file__).resolve().parents[1]


def _rates_seen(orbiter_radio, asset_radio, rate_mode="adaptive"):
    """Mode of the pair and every rate its budget selects from overhead at 250 km out to 10^6 km."""
    p = resolve_uhf_pair("O", BUILTIN_RADIOS[orbiter_radio], OrbiterUHF(rate_mode=rate_mode), "A",
                         BUILTIN_RADIOS[asset_radio], AssetUHF(), LinkSettings())
    rng = np.geomspace(250.0, 1e6, 600)
    return p.mode, set(np.unique(uhf_rate_kbps(p, np.full(rng.size, 90.0), rng)).tolist())


def test_builtin_radios_behave_as_published():
    # Electra with Electra-Lite: adaptive data rate over 1 to 2048 kbps [ELECTRA], [MSL]
    mode, seen = _rates_seen("Electra", "Electra-Lite")
    assert mode == "adaptive"
    assert max(seen) == 2048.0 and min(seen - {0.0}) == 1.0 and 0.0 in seen
    # Odyssey's UHF: fixed 128 or 256 kbps, no ADR, whatever the config asks (mars.nasa.gov MSL)
    mode, seen = _rates_seen("Odyssey-UHF", "Electra-Lite", rate_mode="adaptive")
    assert mode == "fixed" and seen == {0.0, 128.0, 256.0}
    merged = merge_radios({"Electra": RadioSpec(rates_kbps=[8, 16]), "Mine": RadioSpec()})
    assert merged["Electra"].rates_kbps == [8.0, 16.0] and "Mine" in merged
    assert BUILTIN_RADIOS["Electra"].rates_kbps[0] == 1.0     # built-ins untouched


@pytest.mark.parametrize("build,fragment", [
    (lambda: AssetUHF(tx_power_w=-1), "positive transmitter power"),
    (lambda: AssetUHF(tx_power_w=0), "positive transmitter power"),
    (lambda: RadioSpec(rates_kbps=[]), "rates_kbps is empty"),
    (lambda: RadioSpec(rates_kbps=[8, -1]), "positive rates"),
    (lambda: RadioSpec(rates_kbps=[8, 8]), "duplicates"),
    (lambda: AssetUHF(gain_table_dbic=[(0, 3), (60, 0), (30, 1)]), "increase strictly"),
    (lambda: AssetUHF(gain_table_dbic=[]), "empty"),
    (lambda: OrbiterUHF(rx_gain_table_dbic=[(0, 3), (0, 2)]), "increase strictly"),
    (lambda: OrbiterUHF(system_noise_temp_k=0), "positive system noise temperature"),
    (lambda: AssetUHF(environment_loss_db=-2), "loss >= 0"),
    (lambda: LinkSettings(protocol_efficiency=1.2), "protocol efficiency in (0, 1]"),
    (lambda: LinkSettings(hailing_s=-5), "hailing_s"),
    (lambda: XBandSpec(amplifier_power_w=-100), "amplifier_power_w"),
    (lambda: XBandSpec(rates_kbps=[]), "empty"),
    (lambda: XBandSpec(rate_vs_distance=[(1.0, 500.0), (2.0, 800.0)]), "cannot send faster"),
    (lambda: XBandSpec(max_hours_per_day=25), "0 to 24"),
    (lambda: StationXBand(atmospheric_loss_by_elevation=[(30, 0.1), (10, 0.2)]),
     "increase strictly"),
    (lambda: OrbiterUHF(rate_mode="turbo"), "rate_mode"),
    (lambda: LinkSettings(unknown_key=1), "unknown_key"),
])
def test_impossible_values_are_refused_with_a_clear_message(build, fragment):
    with pytest.raises(ValidationError) as e:
        build()
    assert fragment in str(e.value)


def test_every_field_has_a_description():
    for model in (RadioSpec, OrbiterUHF, AssetUHF, XBandSpec, StationXBand, LinkSettings):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"


def scenario(**kw):
    base = dict(
        radios={},
        orbiters=[SimpleNamespace(name="MRO", radio="Electra", uhf=OrbiterUHF(), xband=None),
                  SimpleNamespace(name="Odyssey", radio="Odyssey-UHF", uhf=None, xband=None)],
        assets=[SimpleNamespace(name="Curiosity", radio="Electra-Lite", uhf=AssetUHF())],
        stations=[], link=LinkSettings())
    base.update(kw)
    return SimpleNamespace(**base)


def test_scenario_adapter_resolves_pairs_and_computes_volumes():
    sc = scenario()
    pairs = uhf_pairs_from_scenario(sc)
    assert set(pairs) == {("MRO", "Curiosity"), ("Odyssey", "Curiosity")}
    assert pairs[("Odyssey", "Curiosity")].rates_kbps == (128.0, 256.0)
    passes, profiles = synthetic_tables([("MRO", "Curiosity", 300.0, 45.0),
                                         ("Odyssey", "Curiosity", 400.0, 45.0)], mask_deg=10)
    out, prof, table = pass_volumes(sc, passes, profiles)
    assert list(out.rate_mode) == ["adaptive", "fixed"]
    assert (out.volume_mbit > 0).all()
    out2, none, _ = pass_volumes(sc, passes, profiles, with_rate_profiles=False)
    assert none is None and out2.volume_mbit.tolist() == out.volume_mbit.tolist()


def test_scenario_adapter_unknown_radio_is_a_user_error():
    sc = scenario(assets=[SimpleNamespace(name="Curiosity", radio="Electra Lite", uhf=None)])
    with pytest.raises(RelayInputError, match=r"radio 'Electra Lite' is not defined; known radios"):
        uhf_pairs_from_scenario(sc)
    sc = scenario(radios={"Electra Lite": RadioSpec()},
                  assets=[SimpleNamespace(name="Curiosity", radio="Electra Lite", uhf=None)])
    assert uhf_pairs_from_scenario(sc)[("MRO", "Curiosity")].mode == "adaptive"


def relay(*args):
    return subprocess.run([sys.executable, "-m", "relay", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)


def test_relay_link_prints_the_budget():
    r = relay("link", "configs/baseline.yaml", "--orbiter", "MRO", "--asset", "Curiosity",
              "--range-km", "400", "--elevation-deg", "45")
    assert r.returncode == 0, r.stderr
    for term in ("EIRP", "free-space loss", "Pr/N0", "Eb/N0 required", "required margin",
                 "selected table rate", "dB-Hz"):
        assert term in r.stdout
    r = relay("link", "configs/baseline.yaml", "--orbiter", "MRO", "--station", "Goldstone",
              "--earth-range-au", "2.5", "--elevation-deg", "30")
    assert r.returncode == 0, r.stderr
    assert "station G/T at elevation" in r.stdout
    r = relay("link", "configs/baseline.yaml", "--orbiter", "Nope", "--asset", "Curiosity")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--orbiter 'Nope'" in r.stderr
