"""Config models of the link model (UHF proximity radios, X-band downlink). Issue 3.

``relay.config`` embeds these models:

- top-level ``radios: dict[str, RadioSpec]`` -- user radios merged over
  :data:`BUILTIN_RADIOS` (a user radio of the same name replaces the built-in);
- ``orbiters[].radio: str`` and ``orbiters[].uhf: OrbiterUHF``;
- ``orbiters[].xband: XBandSpec`` (see :func:`default_xband` for per-orbiter presets);
- ``assets[].radio: str`` and ``assets[].uhf: AssetUHF``;
- ``stations[].xband: StationXBand`` (see :func:`default_station_xband`);
- top-level ``link: LinkSettings``.

Where the numbers come from
---------------------------
Every default below is tagged in its description as **published** (a public
figure, source named), **typical** (a textbook/engineering value of the kind
used in DSN/Electra link budgets, not specific to one spacecraft) or
**illustrative** (no public number was found; chosen so that the shipped model
reproduces the published calibration targets in ``shared/domain.md``, and
checked to be physically plausible).  Sources:

- [MSL] mars.nasa.gov MSL communications pages; Bell et al., "MRO relay telecom
  support of Mars Science Laboratory surface operations", IEEE Aerospace 2014
  (ADR, 256-2048 kbps, ~500 Mbit/sol, 100-250 Mbit per ~8 min MRO pass).
- [PIA18397] NASA photojournal: Electra adaptive data rate through a pass.
- [ELECTRA] Electra payload descriptions (MRO/MAVEN/TGO): Proximity-1,
  1-2048 kbps, 390-450 MHz, quadrifilar-helix low-gain antenna.
- [PROX1] CCSDS 211.0-B (Proximity-1 space link protocol): return channel
  401.585625 MHz, forward channel 437.1 MHz (channel 0 pair).
- [MROX] mars.nasa.gov/mro/mission/communications/commxband: 3 m HGA, 100 W
  TWTA, >=500 kbps at max Earth distance, 3-4 Mbps at closest, 8 h/day of DSN
  34 m tracking.
- [TGO] ESA: TGO 2.2 m HGA, 65 W TWTA (domain.md).
- [ODYTEL] Makovsky, Barbieri, Tung, "Odyssey Telecommunications", DESCANSO Design and
  Performance Summary Series, article 6, JPL, October 2002 (1.3 m HGA, X-band downlink);
  marsnews.com 2002-02-07, "Mars Odyssey Deploys Antenna, Nearly Ready for Science Mission":
  the 1.3 m HGA "can transmit at data rates as high as 110 thousand bits per second".
- [MROTEL] Taylor, Lee, Shambayati, "Mars Reconnaissance Orbiter Telecommunications",
  DESCANSO Design and Performance Summary Series, JPL, September 2006; nasa.gov MRO
  "Communications with Earth": "about 0.5 to 4 megabits per second".
- [810-005] DSN Telecommunications Link Design Handbook 810-005 (modules 104
  "34-m BWG stations", 101 "70-m", 105 "atmospheric and environmental effects"):
  X-band G/T and zenith atmospheric attenuation values of the order used here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, field_validator, model_serializer
from pydantic_core import core_schema

from .constants import C_KM_S


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Expected:
    """Annotation: a value the field refuses (out of its bounds, or not a number) is reported as
    ``expected <text>`` rather than in pydantic's generic words.

    Put it after the constraint it words, ``Annotated[float, Field(gt=0), Expected("...")]``;
    :func:`relay.config.format_validation_error` adds the key and the value given.
    """

    text: str

    def __get_pydantic_core_schema__(self, source, handler: GetCoreSchemaHandler):
        return core_schema.custom_error_schema(handler(source), custom_error_type="expected",
                                               custom_error_message=f"expected {self.text}")


#: A loss, dB, written as a positive number.
LossDb = Annotated[float, Field(ge=0), Expected("a loss >= 0 dB (write losses as positive numbers)")]
#: A system noise temperature, K.
NoiseTemperatureK = Annotated[float, Field(gt=0), Expected("a positive system noise temperature in K")]
#: A physical temperature, K.
TemperatureK = Annotated[float, Field(gt=0), Expected("a positive temperature in K")]
#: A transmitter's RF output power, W.
PowerW = Annotated[float, Field(gt=0), Expected("a positive transmitter power in W")]
#: The command load of one forward session, Mbit.
CommandLoadMbit = Annotated[float, Field(ge=0), Expected("a command load >= 0 Mbit")]
#: A fraction of the channel rate that carries user data.
Efficiency = Annotated[float, Field(gt=0, le=1), Expected("a protocol efficiency in (0, 1]")]
#: Hours in a UTC day.
HoursPerDay = Annotated[float, Field(ge=0, le=24), Expected("0 to 24 hours per day")]
#: A duration, s.
DurationS = Annotated[float, Field(ge=0), Expected("a duration >= 0 s")]
#: A sampling step, s.
StepS = Annotated[float, Field(gt=0), Expected("a positive step in s")]
#: A data rate, kbps.
RateKbps = Annotated[float, Field(gt=0), Expected("a positive rate in kbps")]


RateMode = Literal["adaptive", "fixed"]

#: Electra / Electra-Lite return rates: 1 to 2048 kbps in powers of two [ELECTRA].
ELECTRA_RATES_KBPS: tuple[float, ...] = tuple(float(2 ** k) for k in range(12))


def _check_table(name: str, table, *, x_name: str, x_min: float, x_max: float):
    """A (x, y) table must be non-empty and strictly increasing in x within [x_min, x_max]."""
    if not table:
        raise ValueError(f"{name} is empty; give at least one [{x_name}, value] row")
    xs = [float(row[0]) for row in table]
    ys = [float(row[1]) for row in table]
    for x in xs:
        if not (x_min <= x <= x_max) or not math.isfinite(x):
            raise ValueError(f"{name}: {x_name} {x} is outside [{x_min}, {x_max}]")
    for y in ys:
        if not math.isfinite(y):
            raise ValueError(f"{name}: value {y} is not a finite number")
    for a, b in zip(xs, xs[1:]):
        if not b > a:
            raise ValueError(
                f"{name}: {x_name} must increase strictly from row to row, got {a} then {b}; "
                "sort the rows and remove duplicates"
            )
    return [(float(x), float(y)) for x, y in zip(xs, ys)]


def _check_rates(name: str, rates):
    if not rates:
        raise ValueError(f"{name} is empty; give at least one data rate in kbps")
    out = [float(r) for r in rates]
    for r in out:
        if not (r > 0 and math.isfinite(r)):
            raise ValueError(f"{name}: got rate {r}, expected positive rates in kbps")
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: the rates {out} contain duplicates")
    return sorted(out)


class RadioSpec(_Strict):
    """A proximity (UHF) radio type, shared by every orbiter and asset that carries it.

    The session rate of a pair is limited by both ends: only rates present in
    both radios' tables are used (the intersection).
    """

    rates_kbps: list[float] = Field(
        default_factory=lambda: list(ELECTRA_RATES_KBPS),
        description="Return-link data rates the radio supports, kbps (information rate). "
        "Default: Electra 1-2048 kbps in powers of two (published [ELECTRA]).",
    )
    adaptive: bool = Field(
        True,
        description="Whether the radio supports adaptive data rate (ADR). A pair in which either "
        "radio lacks it runs in fixed-rate mode whatever the config asks (published for Electra "
        "[PIA18397]).",
    )
    description: str = Field("", description="Free text shown in reports.")

    @field_validator("rates_kbps")
    @classmethod
    def _rates(cls, v):
        return _check_rates("rates_kbps", v)


#: Radios every scenario knows; a ``radios:`` entry of the same name replaces one.
BUILTIN_RADIOS: dict[str, RadioSpec] = {
    "Electra": RadioSpec(
        description="JPL Electra UHF transceiver (MRO, MAVEN, TGO): Proximity-1, 1-2048 kbps, "
        "adaptive data rate (published [ELECTRA], [MSL])."),
    "Electra-Lite": RadioSpec(
        description="Electra-Lite (C/TT-510) lander/rover transceiver (Curiosity, Perseverance): "
        "Electra-compatible rates 1-2048 kbps, ADR (published [MSL])."),
    "Odyssey-UHF": RadioSpec(
        rates_kbps=[128.0, 256.0], adaptive=False,
        description="Mars Odyssey UHF (CE-505 heritage): fixed 128 or 256 kbps per pass "
        "(published, mars.nasa.gov MSL communications)."),
    "MEX-Melacom": RadioSpec(
        rates_kbps=[8.0, 16.0, 32.0, 64.0, 128.0], adaptive=False,
        description="Mars Express Melacom UHF: Proximity-1 fixed rates up to 128 kbps "
        "(rate set illustrative)."),
    "Melacom": RadioSpec(
        rates_kbps=[8.0, 16.0, 32.0, 64.0, 128.0], adaptive=False,
        description="Same as MEX-Melacom (alias)."),
    "ExoMars-Rover-UHF": RadioSpec(
        rates_kbps=[8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0],
        description="Rosalind Franklin rover UHF (Proximity-1, Electra-compatible): rate set "
        "illustrative."),
}


def builtin_radios() -> dict[str, RadioSpec]:
    """A fresh copy of :data:`BUILTIN_RADIOS` (safe to merge user radios into)."""
    return {k: v.model_copy(deep=True) for k, v in BUILTIN_RADIOS.items()}


def merge_radios(user: dict[str, RadioSpec] | None) -> dict[str, RadioSpec]:
    """Built-in radios with ``user`` radios merged over them (user wins on a name clash)."""
    out = builtin_radios()
    out.update(user or {})
    return out


class OrbiterUHF(_Strict):
    """The orbiter end of the UHF return link (receive side) and its rate mode."""

    rate_mode: RateMode = Field(
        "adaptive",
        description="'adaptive': the rate follows the geometry sample by sample (ADR); 'fixed': "
        "one rate per session, chosen to maximise the session volume. Falls back to 'fixed' when "
        "either radio lacks ADR.",
    )
    rate_mode_by_asset: dict[str, RateMode] = Field(
        default_factory=dict,
        description="Per-asset override of rate_mode, e.g. {Curiosity: fixed}.",
    )
    rx_gain_table_dbic: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 5.0), (30.0, 4.0), (50.0, 2.0), (60.0, 0.5),
                                 (70.0, -1.5), (90.0, -5.0)],
        description="Receive antenna gain (dBic) against off-nadir angle (deg), linearly "
        "interpolated, held flat beyond the ends. Default: a nadir-pointed quadrifilar helix "
        "shape (~5 dBic at nadir, a few dB down at the ~67 deg off-nadir of a 300 km orbiter's "
        "horizon); illustrative, of the order published for Electra's helix [ELECTRA].",
    )
    system_noise_temp_k: NoiseTemperatureK = Field(
        600.0,
        description="Receive system noise temperature, K (antenna looking at a ~210 K Mars plus "
        "feed/cable losses and a ~3-4 dB receiver noise figure). Illustrative, physically "
        "plausible for a UHF receiver facing a planet.",
    )
    rx_line_loss_db: LossDb = Field(
        1.0, description="Cable/diplexer loss between antenna and receiver, dB (typical)."
    )
    rx_gain_offset_db: float = Field(
        0.0, description="A constant added to the receive gain table, dB (to tune one orbiter)."
    )

    @field_validator("rx_gain_table_dbic")
    @classmethod
    def _gain(cls, v):
        return _check_table("rx_gain_table_dbic", v, x_name="off-nadir angle (deg)",
                            x_min=0.0, x_max=180.0)

    def mode_for(self, asset: str) -> RateMode:
        """The configured rate mode for ``asset`` (before the radio-capability fallback)."""
        return self.rate_mode_by_asset.get(asset, self.rate_mode)


class AssetUHF(_Strict):
    """The surface asset end of the UHF return link (transmit side)."""

    tx_power_w: PowerW = Field(
        8.5,
        description="UHF transmitter RF output, W. ~8-9 W for MSL's Electra-Lite (order of the "
        "value in the MSL telecom DESCANSO article, Makovsky et al. 2009; treat as illustrative).",
    )
    tx_line_loss_db: LossDb = Field(1.0, description="Cable loss to the antenna, dB (typical).")
    gain_table_dbic: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 4.0), (30.0, 3.0), (60.0, 0.0), (75.0, -3.0),
                                 (90.0, -6.0)],
        description="Transmit antenna gain (dBic) against off-zenith angle (deg; off-zenith = 90 - "
        "elevation of the orbiter seen from the asset), linearly interpolated. Default: a "
        "quadrifilar-helix-like rover antenna, illustrative.",
    )
    environment_loss_db: LossDb = Field(
        5.0,
        description="Loss for multipath, blockage by the rover deck/mast/RTG and distortion of "
        "the antenna pattern on the vehicle, together with the conservatism of the real ADR, dB. "
        "Illustrative and CALIBRATED: 5 dB makes MRO (255-320 km) passes over Curiosity of "
        "~8-10 min above a 10 deg mask with maximum elevations 40-55 deg carry 100-250 Mbit "
        "(published [MSL]); several dB of such loss is physically plausible for a UHF helix "
        "mounted on a rover deck.",
    )
    command_load_mbit: CommandLoadMbit | None = Field(
        None,
        description="Forward-link command load of one session, Mbit; None uses "
        "link.command_load_mbit.",
    )

    @field_validator("gain_table_dbic")
    @classmethod
    def _gain(cls, v):
        return _check_table("gain_table_dbic", v, x_name="off-zenith angle (deg)",
                            x_min=0.0, x_max=180.0)


#: The low end of every default X-band rate table, kbps: 1000 / 2^k down to ~1 kbps, the
#: halving ladder of the table's 31.25-1000 kbps steps continued.  An orbiter far from Earth
#: (Odyssey's 1.3 m / 15 W at ~2.6 AU in June 2019 supports ~18 kbps at a 34 m station and
#: ~7 kbps at a 35 m one by the budget) then downlinks slowly rather than not at all, as the
#: real orbiters do far from Earth [ODYTEL], [MROTEL].  The steps below 31.25 kbps and the
#: ~1 kbps floor are illustrative: no public table of these radios' low rates was at hand.
LOW_XBAND_RATES_KBPS: tuple[float, ...] = tuple(1000.0 / 2 ** k for k in range(10, 5, -1))

#: MRO-like X-band rate set, kbps: the low ladder, then 31.25 kbps to 4 Mbps.  The top rate
#: stands for the published 3-4 Mbps ceiling at closest range [MROX]; the steps are
#: illustrative.
MRO_XBAND_RATES_KBPS: tuple[float, ...] = LOW_XBAND_RATES_KBPS + (
    31.25, 62.5, 125.0, 250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0,
    4000.0)

#: Mars Odyssey's X-band set, kbps: the low ladder up to 62.5 kbps and the published ceiling
#: of its 1.3 m high-gain antenna, ~110 kbps ("can transmit at data rates as high as 110
#: thousand bits per second", marsnews.com 2002-02-07 on the HGA deployment [ODYTEL]).
ODYSSEY_XBAND_RATES_KBPS: tuple[float, ...] = LOW_XBAND_RATES_KBPS + (31.25, 62.5, 110.0)


class XBandSpec(_Strict):
    """An orbiter's X-band downlink to Earth.

    The rate comes from a link budget (dish, amplifier, station G/T, range,
    atmosphere) or, when ``rate_vs_distance`` is given, from that table; either
    way it is floored to ``rates_kbps``.  Defaults are MRO's [MROX].
    """

    frequency_mhz: float = Field(8420.0, ge=1000.0, le=40000.0,
                                 description="Downlink frequency, MHz (X-band deep-space allocation 8400-8450 "
                                 "MHz; typical); 1-40 GHz accepted.")
    dish_diameter_m: float = Field(3.0, ge=0.05, le=20.0, description="High-gain antenna diameter, m (MRO: 3 m, "
                                   "published [MROX]); 0.05-20 m.")
    dish_efficiency: float = Field(0.55, ge=0.01, le=1.0, description="Aperture efficiency (typical 0.5-0.65 "
                                   "for a spacecraft reflector; illustrative); 0.01-1.")
    amplifier_power_w: float = Field(100.0, ge=0.01, le=10000.0, description="TWTA RF output, W (MRO: 100 W, "
                                     "published [MROX]); 0.01-10,000 W.")
    tx_line_loss_db: LossDb = Field(1.0, description="Waveguide/circuit loss, dB (typical).")
    pointing_loss_db: LossDb = Field(0.3, description="Spacecraft HGA pointing loss, dB (typical).")
    ebn0_required_db: float = Field(
        2.5, description="Eb/N0 the downlink coding needs, dB (concatenated RS + convolutional "
        "(7,1/2), frame error ~1e-5; typical).")
    implementation_loss_db: LossDb = Field(1.0, description="Receiver/demodulation losses, dB "
                                           "(typical).")
    required_margin_db: float = Field(3.0, description="Margin the selected rate must keep, dB "
                                      "(typical DSN practice).")
    rates_kbps: list[float] = Field(
        default_factory=lambda: list(MRO_XBAND_RATES_KBPS),
        description="Downlink rates the orbiter can select, kbps; the budget rate is floored to "
        "this table. Default: an MRO-like set from ~1 kbps (so a far orbiter downlinks slowly "
        "rather than not at all; low steps illustrative) to 4000 kbps (published 3-4 Mbps "
        "ceiling [MROX]); Odyssey's preset tops at its published ~110 kbps [ODYTEL].",
    )
    rate_vs_distance: list[tuple[float, float]] | None = Field(
        None,
        description="Optional table [distance_au, rate_kbps] used instead of the budget: the rate "
        "at distance d is the rate of the first row whose distance >= d (a conservative step); "
        "beyond the last row nothing is sent. Distances must increase, rates must not increase.",
    )
    max_hours_per_day: HoursPerDay = Field(
        8.0, description="Downlink hours per UTC day used when no bookings file is given "
        "(MRO: ~8 h/day of DSN 34 m, published [MROX]).")

    @field_validator("rates_kbps")
    @classmethod
    def _rates(cls, v):
        return _check_rates("rates_kbps", v)

    @field_validator("rate_vs_distance")
    @classmethod
    def _table(cls, v):
        if v is None:
            return v
        rows = _check_table("rate_vs_distance", v, x_name="distance (AU)", x_min=0.0,
                            x_max=100.0)
        for (_, r) in rows:
            if r < 0:
                raise ValueError(f"rate_vs_distance: got rate {r} kbps, expected >= 0")
        for (d0, r0), (d1, r1) in zip(rows, rows[1:]):
            if r1 > r0:
                raise ValueError(
                    f"rate_vs_distance: the rate rises from {r0} kbps at {d0} AU to {r1} kbps at "
                    f"{d1} AU; a farther orbiter cannot send faster")
        return rows

    @property
    def antenna_gain_dbi(self) -> float:
        """Dish gain, dBi: 10 log10(efficiency (pi D / lambda)^2)."""
        lam_m = C_KM_S / (self.frequency_mhz * 1e3)
        return 10 * math.log10(self.dish_efficiency * (math.pi * self.dish_diameter_m / lam_m) ** 2)


def default_xband(orbiter: str) -> XBandSpec:
    """X-band preset for a known orbiter name (case-insensitive), else MRO-like defaults.

    MRO: 3 m / 100 W (published [MROX]).  TGO: 2.2 m / 65 W (published [TGO];
    rates and hours illustrative).  MAVEN, Mars Odyssey, Mars Express: dish and
    power of the order of their public descriptions, illustrative here.
    """
    key = orbiter.lower().replace(" ", "").replace("_", "").replace("-", "")
    presets = {
        "mro": {},
        "tgo": dict(dish_diameter_m=2.2, amplifier_power_w=65.0, max_hours_per_day=8.0),
        "exomarstgo": dict(dish_diameter_m=2.2, amplifier_power_w=65.0, max_hours_per_day=8.0),
        "maven": dict(dish_diameter_m=2.0, amplifier_power_w=100.0, max_hours_per_day=6.0),
        "odyssey": dict(dish_diameter_m=1.3, amplifier_power_w=15.0, max_hours_per_day=8.0,
                        rates_kbps=list(ODYSSEY_XBAND_RATES_KBPS)),
        "marsodyssey": dict(dish_diameter_m=1.3, amplifier_power_w=15.0, max_hours_per_day=8.0,
                            rates_kbps=list(ODYSSEY_XBAND_RATES_KBPS)),
        "mex": dict(dish_diameter_m=1.65, amplifier_power_w=65.0, max_hours_per_day=8.0),
        "marsexpress": dict(dish_diameter_m=1.65, amplifier_power_w=65.0, max_hours_per_day=8.0),
    }
    return XBandSpec(**presets.get(key, {}))


#: Zenith G/T (dB/K) at X-band by dish diameter, used when a station gives none.
#: 34 m BWG ~54.5 and 70 m ~61 follow DSN 810-005 (gain ~68 / ~74 dBi over a
#: ~20-25 K zenith system noise temperature); 35 m ESTRACK ~50.5 is of the
#: order ESA publishes for its deep-space antennas (illustrative).
GT_BY_DIAMETER_DB_PER_K: dict[float, float] = {34.0: 54.5, 35.0: 50.5, 70.0: 61.0}


class StationXBand(_Strict):
    """A ground station's X-band receive side."""

    dish_diameter_m: float = Field(34.0, ge=1.0, le=200.0, description="Dish diameter, m (34 m DSN BWG, 35 m "
                                   "ESTRACK, 70 m DSN); 1-200 m.")
    gt_db_per_k: float | None = Field(
        None, description="Zenith G/T at X-band, dB/K. None: taken from the dish diameter "
        "(34 m: 54.5, 35 m: 50.5, 70 m: 61.0; see GT_BY_DIAMETER_DB_PER_K), or for another "
        "diameter from a 0.6-efficient dish over a 25 K system.")
    system_noise_temp_k: NoiseTemperatureK = Field(
        25.0, description="Zenith system noise temperature, K; used only to scale the sky-noise "
        "increase at low elevation (typical for DSN X-band, 810-005).")
    zenith_atmospheric_loss_db: LossDb = Field(
        0.04, description="Clear-sky zenith attenuation at X-band, dB; the loss at elevation e is "
        "this / sin(e) (typical, 810-005 module 105 gives ~0.03-0.05 dB).")
    atmosphere_temperature_k: TemperatureK = Field(
        275.0, description="Mean physical temperature of the absorbing atmosphere, K (typical); "
        "sets the sky-noise increase that accompanies the loss.")
    atmospheric_loss_by_elevation: list[tuple[float, float]] | None = Field(
        None, description="Optional table [elevation_deg, loss_db] that replaces the cosecant law "
        "(linearly interpolated, held flat beyond the ends).")

    @field_validator("atmospheric_loss_by_elevation")
    @classmethod
    def _table(cls, v):
        if v is None:
            return v
        rows = _check_table("atmospheric_loss_by_elevation", v, x_name="elevation (deg)",
                            x_min=-90.0, x_max=90.0)
        for e, loss in rows:
            if loss < 0:
                raise ValueError(f"atmospheric_loss_by_elevation: got {loss} dB at {e} deg, "
                                 "expected losses >= 0")
        return rows

    @property
    def resolved_gt_db_per_k(self) -> float:
        """Zenith G/T, dB/K (the configured one, else from the diameter)."""
        if self.gt_db_per_k is not None:
            return float(self.gt_db_per_k)
        for d, gt in GT_BY_DIAMETER_DB_PER_K.items():
            if abs(self.dish_diameter_m - d) < 0.5:
                return gt
        lam_m = C_KM_S / 8420e3
        g = 0.6 * (math.pi * self.dish_diameter_m / lam_m) ** 2
        return 10 * math.log10(g) - 10 * math.log10(self.system_noise_temp_k)


def default_station_xband(dish_diameter_m: float = 34.0) -> StationXBand:
    """Station preset by dish size (34, 35 or 70 m)."""
    return StationXBand(dish_diameter_m=dish_diameter_m)


class LinkSettings(_Strict):
    """Scenario-wide link settings (UHF budget terms, session overheads, forward link)."""

    return_frequency_mhz: float = Field(
        401.585625, ge=100.0, le=3000.0,
        description="UHF return (asset->orbiter) frequency, MHz (published [PROX1]); 100-3000 MHz.")
    forward_frequency_mhz: float = Field(
        437.1, ge=100.0, le=3000.0,
        description="UHF forward (orbiter->asset) frequency, MHz (published [PROX1]); 100-3000 MHz.")
    hailing_s: DurationS = Field(
        60.0, description="Hailing and link acquisition at the start of every session; carries no "
        "data, s (issue 3 default; illustrative).")
    protocol_efficiency: Efficiency = Field(
        0.85, description="Fraction of the channel rate that delivers user data (Proximity-1 "
        "framing, ACKs and reliable-mode retransmissions), 0-1. Illustrative, calibrated so an "
        "~8 min MRO-Curiosity ADR pass carries 100-250 Mbit [MSL]; plausible for Prox-1 "
        "reliable mode.")
    required_margin_db: float = Field(
        3.0, description="Margin the selected UHF rate must keep, dB (typical relay practice).")
    ebn0_required_db: float = Field(
        4.5, description="Eb/N0 the UHF coding needs, dB (convolutional (7,1/2) with Viterbi "
        "decoding at BER ~1e-6 plus a little; typical).")
    implementation_loss_db: LossDb = Field(
        1.5, description="UHF modem/implementation losses, dB (typical).")
    polarization_loss_db: LossDb = Field(
        0.5, description="Polarisation mismatch loss between the two helices, dB (typical).")
    other_losses_db: LossDb = Field(
        0.0, description="Any further loss (multipath, rover deck blockage), dB; default 0.")
    profile_step_s: StepS = Field(
        10.0, description="Sampling step of the pass profiles the geometry produces, s.")
    forward_rate_kbps: RateKbps = Field(
        32.0, description="Forward-link (command) rate, kbps (illustrative; Electra forward rates "
        "are of this order).")
    command_load_mbit: CommandLoadMbit = Field(
        1.0, description="Command load one forward session must carry, Mbit (illustrative).")
    calibration: str | None = Field(
        None, min_length=1, max_length=4096,
        description="A calibration record (JSON, `relay actuals calibrate --out`; relative to the scenario "
        "file) of achieved / predicted per orbiter-asset pair: the planner plans each option at "
        "planning.volume_quantile of its calibrated volume (issue 22); null: the link model's volumes.")

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        out = handler(self)
        if self.calibration is None:   # a scenario without one dumps and hashes as before issue 22
            out.pop("calibration", None)
        return out
