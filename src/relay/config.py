"""Scenario configuration: YAML -> validated pydantic models -> runtime objects.

A scenario names orbiters (with an orbit source), surface assets, ground
stations, and the settings of each stage.  Every setting but the orbiters'
orbits and the assets' positions has a documented default, so the minimal
config of the README works as is.  Every mistake is reported as one paragraph
naming the file, the key path (``orbiters[0].orbit.eccentricity``), the bad
value and what is expected (:class:`relay.errors.RelayInputError`).
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import mars
from .config_links import (AssetUHF, LinkSettings, OrbiterUHF, RadioSpec, StationXBand, XBandSpec, default_xband,
                           merge_radios)
from .config_nightly import NightlyOptions
from .errors import RelayInputError, excerpt
from .fileio import read_text, regular_file
from .inputs import bookings_path
from .operations import ForbidConfig, OutageConfig, RequestConfig
from .planning.settings import AssetData, AssetOperations, OrbiterStorage, PlanningSettings
from .timescales import parse_utc


#: Largest scenario YAML file relay reads (bytes).
MAX_YAML_BYTES = 4 * 2**20
#: Deepest nesting of mappings and lists a scenario may have.
MAX_YAML_DEPTH = 32
#: Most values (mappings, lists and scalars, YAML aliases expanded) a scenario may hold.
MAX_YAML_VALUES = 200_000
#: Largest magnitude of any number in a scenario (frequencies are in MHz, volumes in Mbit): a
#: bigger one is a typo or an attack, and would overflow the planner's integer model.
MAX_NUMBER = 1e9
#: Longest name (orbiter, asset, station, radio, scenario).
MAX_NAME_CHARS = 100
#: Radius of Mars's sphere of influence, km (a Mars orbit lies inside it).
MARS_SOI_KM = 577_000.0

#: Characters a name may not hold: relay's own files use ';' and '=' to list volumes per asset
#: (downlinks.csv ``assets``: ``Curiosity=40.0;Perseverance=12.5``), and control characters
#: would reach terminals and files raw.
NAME_FORBIDDEN = re.compile(r"[;=\x00-\x1f\x7f-\x9f]")


def _plain_name(v: str) -> str:
    """A name every relay file can carry and every relay reader reads back (relay validate,
    relay replan): no ';', '=' or control character, no space at either end."""
    bad = NAME_FORBIDDEN.search(v)
    if bad:
        raise ValueError(f"it holds {bad.group()!r}; expected a name without ';', '=' or "
                         "control characters (relay's plan files list volumes as name=Mbit;name=Mbit)")
    if v != v.strip():
        raise ValueError("expected a name without spaces at its start or end")
    return v


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS,
                            description=f"a name of 1 to {MAX_NAME_CHARS} characters, without ';', '=' or "
                                        "control characters"),
                 AfterValidator(_plain_name)]


def _utc_text(v: str) -> str:
    """An ISO 8601 UTC time kept as written (parse_utc's message when it is not one)."""
    try:
        parse_utc(v, source=None)
    except RelayInputError as exc:
        raise ValueError(exc.detail) from None
    return v


UtcText = Annotated[str, Field(max_length=64), AfterValidator(_utc_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, allow_inf_nan=False)


# ---------------------------------------------------------------------------
# Orbits
# ---------------------------------------------------------------------------

class KeplerianOrbitConfig(_Strict):
    """Mean elements at an epoch, referred to Mars's mean equator and IAU node of the epoch.

    Give the size either as ``semi_major_axis_km`` + ``eccentricity`` or as
    ``periapsis_altitude_km`` + ``apoapsis_altitude_km`` (above the equatorial
    radius); the node either as ``raan_deg`` or as
    ``local_time_ascending_node`` (hours of local true solar time at the epoch,
    for sun-synchronous orbits such as MRO's).
    """

    type: Literal["keplerian"]
    epoch: UtcText = Field(description="ISO 8601 UTC epoch of the elements")
    semi_major_axis_km: float | None = Field(None, gt=0, le=MARS_SOI_KM,
                                             description="km, at most Mars's sphere of influence (577,000 km)")
    eccentricity: float | None = Field(None, ge=0, lt=1)
    periapsis_altitude_km: float | None = Field(None, gt=0, le=MARS_SOI_KM, description="km above Re")
    apoapsis_altitude_km: float | None = Field(None, gt=0, le=MARS_SOI_KM,
                                               description="km above Re (the apoapsis stays inside Mars's "
                                                           "sphere of influence, 577,000 km)")
    inclination_deg: float = Field(ge=0, le=180)
    raan_deg: float | None = Field(None, ge=-360, le=360, description="degrees, -360 to 360")
    local_time_ascending_node: float | None = Field(None, ge=0, lt=24)
    arg_periapsis_deg: float = Field(0.0, ge=-360, le=360, description="degrees, -360 to 360")
    mean_anomaly_deg: float = Field(0.0, ge=-360, le=360, description="degrees, -360 to 360")
    gm_km3_s2: float = Field(mars.GM_KM3_S2, ge=1e4, le=1e5, description="km^3/s^2, 1e4 to 1e5 (Mars: 42828)")
    reference_radius_km: float = Field(mars.EQUATORIAL_RADIUS_KM, ge=3000, le=4000,
                                       description="km, 3000 to 4000 (Mars: 3396.19)")
    j2: float = Field(mars.J2, ge=-0.01, le=0.01, description="-0.01 to 0.01 (Mars: 1.96045e-3)")

    @model_validator(mode="after")
    def _shape(self):
        by_axis = self.semi_major_axis_km is not None or self.eccentricity is not None
        by_alt = self.periapsis_altitude_km is not None or self.apoapsis_altitude_km is not None
        if by_axis and by_alt:
            raise ValueError("give either semi_major_axis_km + eccentricity or periapsis_altitude_km + "
                             "apoapsis_altitude_km, not both")
        if by_alt:
            if self.periapsis_altitude_km is None or self.apoapsis_altitude_km is None:
                raise ValueError("periapsis_altitude_km and apoapsis_altitude_km go together")
            if self.apoapsis_altitude_km < self.periapsis_altitude_km:
                raise ValueError(f"apoapsis_altitude_km ({self.apoapsis_altitude_km}) is below "
                                 f"periapsis_altitude_km ({self.periapsis_altitude_km})")
        elif self.semi_major_axis_km is None:
            raise ValueError("the orbit's size is missing: give semi_major_axis_km (and eccentricity, "
                             "default 0) or periapsis_altitude_km + apoapsis_altitude_km")
        if (self.raan_deg is None) == (self.local_time_ascending_node is None):
            raise ValueError("give exactly one of raan_deg and local_time_ascending_node")
        a, e = self.size()
        rp = a * (1 - e)
        if a * (1 + e) > MARS_SOI_KM:
            raise ValueError(f"the apoapsis radius {a * (1 + e):,.0f} km is beyond Mars's sphere of influence "
                             f"({MARS_SOI_KM:,.0f} km): not a Mars orbit")
        if rp <= mars.EQUATORIAL_RADIUS_KM:
            raise ValueError(f"the periapsis radius {rp:.2f} km is below Mars's equatorial radius "
                             f"{mars.EQUATORIAL_RADIUS_KM} km (periapsis altitude "
                             f"{rp - mars.EQUATORIAL_RADIUS_KM:.1f} km): the orbit would hit the surface")
        return self

    def size(self) -> tuple[float, float]:
        if self.periapsis_altitude_km is not None:
            rp = mars.EQUATORIAL_RADIUS_KM + self.periapsis_altitude_km
            ra = mars.EQUATORIAL_RADIUS_KM + self.apoapsis_altitude_km
            return (rp + ra) / 2.0, (ra - rp) / (ra + rp)
        return float(self.semi_major_axis_km), float(self.eccentricity or 0.0)


class OemOrbitConfig(_Strict):
    """A CCSDS Orbit Ephemeris Message (KVN), path relative to the config file."""

    type: Literal["oem"]
    path: str = Field(min_length=1, max_length=4096)


class SpkOrbitConfig(_Strict):
    """A SPICE SPK file of any segment type; ``naif_id`` picks the body if it holds several."""

    type: Literal["spk"]
    path: str = Field(min_length=1, max_length=4096)
    naif_id: int | None = Field(None, ge=-2**31, le=2**31 - 1)


OrbitConfig = Annotated[Union[KeplerianOrbitConfig, OemOrbitConfig, SpkOrbitConfig], Field(discriminator="type")]


# ---------------------------------------------------------------------------
# Orbiters, assets, stations
# ---------------------------------------------------------------------------

class OrbiterConfig(_Strict):
    name: Name
    orbit: OrbitConfig
    radio: Name = Field("Electra", description="UHF radio (a key of `radios` or a built-in one)")
    uhf: OrbiterUHF = Field(default_factory=OrbiterUHF)
    xband: XBandSpec = Field(default_factory=XBandSpec)
    storage: OrbiterStorage = Field(default_factory=OrbiterStorage)
    step_s: float | None = Field(None, ge=1, le=600, description="pass-search grid step, 1 to 600 s (default: "
                                 "60 s or a 80th of the period, whichever is shorter)")

    @model_validator(mode="before")
    @classmethod
    def _xband_preset(cls, data):
        """A known orbiter's X-band preset (``default_xband``) under the keys the config gives."""
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            given = data.get("xband") or {}
            if isinstance(given, dict):
                preset = default_xband(data["name"]).model_dump(exclude_unset=False)
                data = {**data, "xband": {**preset, **given}}
        return data


class Landing(_Strict):
    """When an asset landed: a UTC date or time and the mission sol number of that instant
    (Curiosity 2012-08-06T05:17:57Z sol 0, Perseverance 2021-02-18T20:55:00Z sol 0, InSight
    2018-11-26T19:52:59Z sol 0).  Mission sols then count local mean solar days at the asset's
    longitude: the sol boundary is the asset's local midnight (LMST 00:00)."""

    date: UtcText = Field(description="landing time, ISO 8601 UTC (a bare date means 00:00 UTC)")
    sol: int = Field(0, ge=-100000, le=100000, description="the mission sol of that instant")


class AssetConfig(_Strict):
    name: Name
    landing: Landing | None = Field(None, description="the landing (for mission sols); without it the sol "
                                                      "columns hold the Mars Sol Date")
    latitude_deg: float = Field(ge=-90, le=90, description="planetocentric latitude")
    longitude_deg: float = Field(ge=-180, le=360, description="east longitude")
    height_m: float = Field(0.0, ge=-10000, le=25000,
                            description="height above the IAU 2015 spheroid along its normal")
    min_elevation_deg: float = Field(10.0, ge=0, lt=90)
    mask: list[tuple[float, float]] | None = Field(
        None, max_length=3600, description="terrain mask as (azimuth_deg, elevation_deg) points (2 to 3600), "
                                           "interpolated linearly around the horizon")
    radio: Name = "Electra-Lite"
    uhf: AssetUHF = Field(default_factory=AssetUHF)
    data: AssetData = Field(default_factory=AssetData)
    operations: AssetOperations = Field(default_factory=AssetOperations)

    @field_validator("mask")
    @classmethod
    def _mask(cls, v):
        if v is None:
            return v
        if len(v) < 2:
            raise ValueError("a terrain mask needs at least two (azimuth_deg, elevation_deg) points")
        for az, el in v:
            if not (0 <= az <= 360) or not (-10 <= el < 90):
                raise ValueError(f"mask point ({az}, {el}): azimuth must be 0-360 and elevation -10 to 90 deg")
        azs = [a % 360 for a, _ in v]
        if len(set(azs)) != len(azs):
            raise ValueError("mask azimuths repeat (0 and 360 are the same azimuth)")
        return v


class StationConfig(_Strict):
    name: Name
    latitude_deg: float = Field(ge=-90, le=90, description="geodetic (WGS84) latitude")
    longitude_deg: float = Field(ge=-180, le=360, description="east longitude")
    height_m: float = Field(0.0, ge=-500, le=9000)
    min_elevation_deg: float = Field(10.0, ge=0, lt=90)
    xband: StationXBand = Field(default_factory=StationXBand)


class GeometrySettings(_Strict):
    profile_step_s: float = Field(10.0, ge=1, le=120, description="pass profile sampling step, 1 to 120 s")
    track_profile_step_s: float = Field(600.0, ge=10, le=3600,
                                        description="station track profile step, 10 to 3600 s")
    conjunction_deg: float = Field(3.0, ge=0, le=30,
                                   description="Sun-Earth-Mars angle below which it is solar conjunction")


class Scenario(_Strict):
    """A validated scenario.  ``path`` is the file it came from (for messages and relative paths)."""

    name: Name = "scenario"
    description: str = Field("", max_length=10_000)
    orbiters: list[OrbiterConfig] = Field(min_length=1)
    assets: list[AssetConfig] = Field(min_length=1)
    stations: list[StationConfig] = Field(default_factory=list)
    radios: dict[str, RadioSpec] = Field(default_factory=dict)
    link: LinkSettings = Field(default_factory=LinkSettings)
    geometry: GeometrySettings = Field(default_factory=GeometrySettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    bookings: str | None = Field(None, min_length=1, max_length=4096,
                                 description="station bookings CSV (orbiter, station, start, end)")
    outages: list[OutageConfig] = Field(default_factory=list, max_length=10_000,
                                        description="resource outages (relay.operations; issue 11)")
    requests: list[RequestConfig] = Field(default_factory=list, max_length=10_000,
                                          description="relay requests of the lander teams (relay.operations)")
    forbid: list[ForbidConfig] = Field(default_factory=list, max_length=10_000,
                                       description="vetoes: sessions forbidden (relay.operations)")
    nightly: NightlyOptions | None = Field(
        None, exclude=True, description="settings of `relay nightly` (relay.config_nightly; docs/nightly.md; "
                                        "ignored by the other commands)")
    path: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique(self):
        for kind, items in (("orbiters", self.orbiters), ("assets", self.assets), ("stations", self.stations)):
            names = [x.name for x in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{kind} names must be unique; repeated: {', '.join(dup)}")
        return self

    # -- helpers ---------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return Path(self.path).resolve().parent if self.path else Path.cwd()

    def resolve_path(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else self.base_dir / q

    def orbiter(self, name: str) -> OrbiterConfig:
        return _by_name(self.orbiters, name, "orbiter", self.path)

    def asset(self, name: str) -> AssetConfig:
        return _by_name(self.assets, name, "asset", self.path)

    # -- runtime objects -------------------------------------------------------
    def sites(self) -> list[mars.Site]:
        out = []
        for a in self.assets:
            az = [p[0] for p in a.mask] if a.mask else None
            el = [p[1] for p in a.mask] if a.mask else None
            out.append(mars.Site(a.name, a.latitude_deg, a.longitude_deg, a.height_m,
                                 a.min_elevation_deg, az, el))
        return out

def _by_name(items, name, kind, path):
    for x in items:
        if x.name == name:
            return x
    raise RelayInputError(f"no {kind} named {excerpt(name)}; the scenario has: "
                          f"{', '.join(x.name for x in items)}", source=path)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("keplerian", "oem", "spk") and out.endswith("orbit"):
            continue  # pydantic's discriminated-union tag
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError, source: str) -> RelayInputError:
    """One paragraph from pydantic's errors: key path, bad value, what is expected."""
    parts = []
    for err in exc.errors()[:5]:
        where = _loc(err["loc"])
        msg = err["msg"]
        msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
        if err["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown key (check its spelling against the documented keys)")
            continue
        if err["type"] == "missing":
            parts.append(f"{where}: required key is missing")
            continue
        bad = err.get("input")
        text = excerpt(bad) if isinstance(bad, str) else repr(bad)
        shown = "" if isinstance(bad, (dict, list)) else f"got {text if len(text) <= 80 else excerpt(text)}; "
        parts.append(f"{where}: {shown}{msg[0].lower() + msg[1:] if msg else msg}")
    more = len(exc.errors()) - 5
    tail = f" (and {more} more)" if more > 0 else ""
    return RelayInputError("; ".join(parts) + tail, source=source)


def apply_overrides(data: dict, overrides: dict[str, Any] | None, source: str) -> dict:
    """Dotted ``key.path: value`` overrides (a sweep or compare variant) applied to a raw scenario dict."""
    if not overrides:
        return data
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        set_dotted(data, dotted, value, source)
    return data


def list_item_index(node: list, part: str, where: str, source: str, dotted: str) -> int:
    """The index of a list item named ``part`` (its ``name``) or numbered ``part``; an input
    error listing the valid names otherwise."""
    if part.isdigit() and int(part) < len(node):
        return int(part)
    for j, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == part:
            return j
    names = [str(it.get("name")) for it in node if isinstance(it, dict) and "name" in it]
    raise RelayInputError(f"no item {part!r} under {where}; valid: "
                          f"{', '.join(names) or 'indices 0-' + str(len(node) - 1)}",
                          source=source, where=dotted)


def set_dotted(data: dict, dotted: str, value: Any, source: str = "override") -> None:
    """Set ``a.b.c`` in nested dicts/lists; list items may be named (``assets.Curiosity.x``).

    A path that does not exist is an error listing the valid keys at that level.
    """
    parts = dotted.split(".")
    node: Any = data
    walked = []
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(node, list):
            idx = list_item_index(node, part, '.'.join(walked) or '(top)', source, dotted)
            if last:
                node[idx] = value
                return
            node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            if part not in node:
                # allow creating a settings section that has defaults
                node[part] = {}
            node = node[part]
        else:
            raise RelayInputError(f"{'.'.join(walked)} is a value, not a section; cannot set {part!r} in it",
                                  source=source, where=dotted)
        walked.append(part)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader (libyaml's parser where PyYAML was built with it: 5-10x faster, which a
    sweep keying dozens of variants feels) refusing a key repeated in one mapping (YAML says keys
    are unique; PyYAML silently keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            try:
                key = self.construct_object(key_node, deep=True)
                hash(key)
            except TypeError:
                continue  # an unhashable key: PyYAML's own error follows
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {excerpt(key)} appears twice in one mapping (first at line "
                                f"{seen[key] + 1}); expected each key once", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _depth(node: Any, limit: int, budget: int | None = None) -> int:
    """Nesting depth of parsed YAML (stopping past ``limit``); more than ``budget`` values once YAML
    aliases are expanded (a "billion laughs" file) counts as too deep."""
    budget = MAX_YAML_VALUES if budget is None else budget
    stack = [(node, 0)]
    best = seen = 0
    while stack:
        item, level = stack.pop()
        seen += 1
        best = max(best, level)
        if best > limit or seen > budget:
            return limit + 1
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return best


def _nesting(text: str) -> int:
    """Deepest bracket nesting of flow-style YAML (a cheap guard before parsing)."""
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return best


def read_yaml(path: str | Path) -> dict:
    """A YAML mapping from a regular UTF-8 file of at most :data:`MAX_YAML_BYTES`, with unique keys
    and at most :data:`MAX_YAML_DEPTH` levels of nesting."""
    text = read_text(path, "YAML", MAX_YAML_BYTES)
    src = str(path)
    if _nesting(text) > MAX_YAML_DEPTH:
        raise RelayInputError(f"is nested more than {MAX_YAML_DEPTH} levels deep; expected a scenario "
                              "(a few levels of mappings and lists)", source=src)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RelayInputError(f"is not valid YAML: {problem}", source=src, where=where) from None
    except RecursionError:
        raise RelayInputError(f"is nested too deeply; expected at most {MAX_YAML_DEPTH} levels",
                              source=src) from None
    if not isinstance(data, dict):
        raise RelayInputError("expected a YAML mapping with at least `orbiters` and `assets`",
                              source=src)
    if _depth(data, MAX_YAML_DEPTH) > MAX_YAML_DEPTH:
        raise RelayInputError(f"is nested more than {MAX_YAML_DEPTH} levels deep or holds more than "
                              f"{MAX_YAML_VALUES:,} values (YAML aliases expanded); expected a scenario "
                              "(a few levels of mappings and lists)", source=src)
    return data


def resolve_extends(data: dict, path: Path, seen: tuple = ()) -> dict:
    """``extends: base.yaml`` merges this file over its base (mappings deeply, lists by item name)."""
    base_ref = data.pop("extends", None)
    if base_ref is None:
        return data
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise RelayInputError(f"got {excerpt(str(base_ref))}, expected the path of a base scenario file",
                              source=str(path), where="extends")
    base_path = (path.parent / base_ref).resolve()
    if base_path in seen:
        raise RelayInputError(f"`extends` makes a loop through {base_path}", source=str(path), where="extends")
    base = resolve_extends(_referenced_yaml(base_path, path, "extends"), base_path, seen + (base_path,))
    return _merge(_absolute_paths(base, base_path.parent), data)


def _referenced_yaml(target: Path, referrer: Path, key: str) -> dict:
    """read_yaml of a file another one names: a file that cannot be read at all (missing, a
    folder, a device, not UTF-8) is reported against the referring file and key."""
    try:
        return read_yaml(target)
    except RelayInputError as exc:
        if exc.source == str(target) and exc.where is None:
            raise RelayInputError(f"{target}: {exc.detail}", source=str(referrer), where=key) from None
        raise


def _absolute_paths(data: dict, folder: Path) -> dict:
    """The base of an ``extends`` with its relative file references (orbit ``file`` and ``path``,
    ``bookings``) made absolute, so they stay relative to the base's own folder."""
    def fix(v):
        return str((folder / v).resolve()) if isinstance(v, str) and v and not Path(v).is_absolute() else v

    for orb in data.get("orbiters") or []:
        orbit = orb.get("orbit") if isinstance(orb, dict) else None
        if isinstance(orbit, dict):
            for key in ("file", "path"):
                if key in orbit:
                    orbit[key] = fix(orbit[key])
    if "bookings" in data:
        data["bookings"] = fix(data["bookings"])
    if isinstance(data.get("link"), dict) and "calibration" in data["link"]:
        data["link"]["calibration"] = fix(data["link"]["calibration"])
    return data


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and all(isinstance(x, dict) and "name" in x
                                                                  for x in base + over):
        out = [dict(x) for x in base]
        index = {x["name"]: i for i, x in enumerate(out)}
        for item in over:
            if item["name"] in index:
                out[index[item["name"]]] = _merge(out[index[item["name"]]], item)
            else:
                out.append(item)
        return out
    return over


def resolve_orbit_files(data: dict, path: Path) -> dict:
    """``orbit: {type: keplerian, file: ../ephemerides/x.yaml}``: elements from a file, inline keys win."""
    for i, orb in enumerate(data.get("orbiters") or []):
        orbit = orb.get("orbit") if isinstance(orb, dict) else None
        if not isinstance(orbit, dict) or "file" not in orbit:
            continue
        if orbit.get("type") != "keplerian":
            raise RelayInputError("`file` goes with `type: keplerian` (OEM and SPK orbits take `path`)",
                                  source=str(path), where=f"orbiters[{i}].orbit.file")
        ref = (path.parent / str(orbit["file"])).resolve()
        if not ref.exists():
            raise RelayInputError(f"the elements file {ref} does not exist", source=str(path),
                                  where=f"orbiters[{i}].orbit.file")
        elements = _referenced_yaml(ref, path, f"orbiters[{i}].orbit.file")
        merged = {**elements, **{k: v for k, v in orbit.items() if k != "file"}}
        orb["orbit"] = merged
    return data


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario YAML file (with ``extends`` and dotted ``overrides``)."""
    p = Path(path)
    data = resolve_extends(read_yaml(p), p.resolve())
    data = apply_overrides(data, overrides, source=str(path))
    data = resolve_orbit_files(data, p.resolve())
    sc = scenario_from_dict(data, source=str(path))
    if sc.bookings:
        try:
            regular_file(bookings_path(sc), "bookings")
        except RelayInputError as exc:
            raise RelayInputError(f"{bookings_path(sc)}: {exc.detail}", source=str(path), where="bookings") from None
    if sc.link.calibration:
        try:
            regular_file(sc.resolve_path(sc.link.calibration), "calibration record")
        except RelayInputError as exc:
            raise RelayInputError(f"{sc.resolve_path(sc.link.calibration)}: {exc.detail}", source=str(path),
                                  where="link.calibration") from None
    return sc


def scenario_from_dict(data: dict, source: str = "scenario") -> Scenario:
    """A validated Scenario from a raw dict: pydantic's checks, then :func:`check_numbers`
    and the radio names (both naming ``source`` and the key path)."""
    if _depth(data, MAX_YAML_DEPTH) > MAX_YAML_DEPTH:
        raise RelayInputError(f"is nested more than {MAX_YAML_DEPTH} levels deep or holds more than "
                              f"{MAX_YAML_VALUES:,} values", source=source)
    try:
        sc = Scenario.model_validate({k: v for k, v in data.items() if k != "path"})
    except ValidationError as exc:
        raise format_validation_error(exc, source) from None
    except RecursionError:
        raise RelayInputError("is nested too deeply", source=source) from None
    check_numbers(data, sc, source)
    known = merge_radios(sc.radios)
    for kind, items in (("orbiters", sc.orbiters), ("assets", sc.assets)):
        for i, x in enumerate(items):
            if x.radio not in known:
                raise RelayInputError(f"radio {x.radio!r} is not defined; expected one of "
                                      f"{', '.join(sorted(known))} (or define it under 'radios:')",
                                      source=source, where=f"{kind}[{i}].radio")
    sc.path = source if Path(source).exists() else None
    return sc


def check_numbers(raw: Any, model: Any, source: str, where: str = "") -> None:
    """Every number of a validated scenario was written as a number (not ``true`` or text) and is
    finite with a magnitude of at most :data:`MAX_NUMBER`; walks the raw YAML beside the model so
    the error names the key path.  Covers every section, whichever module declares its schema."""
    if isinstance(model, BaseModel) and isinstance(raw, dict):
        fields = type(model).model_fields
        for k, v in raw.items():
            if isinstance(k, str) and k in fields:
                check_numbers(v, getattr(model, k), source, f"{where}.{k}" if where else k)
        return
    if isinstance(model, (list, tuple)) and isinstance(raw, (list, tuple)):
        for i, (r, m) in enumerate(zip(raw, model)):
            check_numbers(r, m, source, f"{where}[{i}]")
        return
    if isinstance(model, dict) and isinstance(raw, dict):
        for k, v in raw.items():
            if k in model:
                check_numbers(v, model[k], source, f"{where}.{k}" if where else str(k))
        return
    if isinstance(model, bool) or not isinstance(model, (int, float)):
        return
    if isinstance(raw, bool) or isinstance(raw, str):
        raise RelayInputError(f"got {excerpt(raw) if isinstance(raw, str) else str(raw).lower()}, expected a "
                              "number", source=source, where=where or None)
    if not math.isfinite(model) or abs(model) > MAX_NUMBER:
        raise RelayInputError(f"got {raw!r}, expected a finite number of magnitude at most {MAX_NUMBER:g}",
                              source=source, where=where or None)


def scenario_hash(sc: Scenario) -> str:
    """A stable hash of the resolved scenario (for caches and archives)."""
    import hashlib
    import json

    empty_ops = {k for k in ("outages", "requests", "forbid") if not getattr(sc, k)}  # hashes as before issue 11
    blob = json.dumps(sc.model_dump(mode="json", exclude=empty_ops), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def finite(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
