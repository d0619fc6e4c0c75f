"""Independent SPICE reference kit for relay's Mars geometry.

Everything here is computed by SPICE (spiceypy / CSPICE) from kernels this
module writes itself; nothing from ``relay`` is imported, so the answers are an
independent check of relay's own frame, site, orbit and pass code.

Kernels written
---------------
* a text PCK with the IAU 2015 Mars model (Archinal et al. 2018, the values of
  NAIF's pck00011.tpc, periodic terms included)            -> write_mars_pck
* a frame kernel with one topocentric TK frame per surface site, plus an SPK
  (type 8) of each site's fixed body-fixed position          -> write_topo_fk
* an SPK type 17 (precessing equinoctial elements) of a J2 mean-element
  orbit                                                       -> write_spk17

Conventions (relay must match these)
------------------------------------
* Time: ET = TDB seconds past J2000 (relay's internal time).
* Rotation J2000 -> IAU_MARS:  M = R3(W) R1(90 deg - dec) R3(90 deg + ra), with
  ra = a0 + a1 T + sum ra_k sin(theta_k), dec = d0 + d1 T + sum dec_k cos(theta_k),
  W = w0 + w1 d + sum w_k sin(theta_k); theta_k = A_k + B_k T (deg, deg/century);
  d days, T Julian centuries of TDB past J2000.  (SPICE's R_n are frame
  rotations, ``spiceypy.rotate``.)
* Sites: foot point on the 3396.19/3376.20 km spheroid at the given
  planetocentric latitude and east longitude; site = foot + h * outward normal.
  (So the site's own planetocentric latitude differs slightly from the input
  when h != 0; the normal's latitude is the planetodetic latitude of the foot.)
* Topocentric frame "<NAME>_TOPO": z = spheroid outward normal (up),
  x = local north (tangent plane), y = local west (NAIF's DSN-station
  convention).  Elevation = LATITUDE of the site->orbiter vector in it;
  azimuth (east of north) = -LONGITUDE.
* Orbit elements (SPK type 17): referred to the frame with z = Mars's pole
  (ra, dec) at the element epoch and x = that equator's ascending node on the
  J2000/ICRF equator, i.e. x at right ascension ra + 90 deg
  (J2000 -> that frame = R1(90 deg - dec) R3(90 deg + ra); ``pole_frame_matrix``).
  The pole passed is the full IAU 2015 pole at the epoch, periodic terms
  included (``mars_pole_radec``).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import spiceypy as sp
import spiceypy.utils.support_types as stypes

# --- IAU 2015 Mars (Archinal et al. 2018 = pck00011) ---------------------------
MARS_ID = 499
MARS_RE_KM = 3396.19
MARS_RP_KM = 3376.20
MARS_GM = 42828.37            # km^3/s^2
MARS_J2 = 1.96045e-3          # NASA Mars fact sheet
POLE_RA = (317.269202, -0.10927547, 0.0)
POLE_DEC = (54.432516, -0.05827105, 0.0)
PM = (176.049863, 350.891982443297, 0.0)
# (amplitude deg, phase deg, rate deg per Julian century)
RA_TERMS = [
    (0.000068, 198.991226, 19139.4819985),
    (0.000238, 226.292679, 38280.8511281),
    (0.000052, 249.663391, 57420.7251593),
    (0.000009, 266.183510, 76560.6367950),
    (0.419057, 79.398797, 0.5042615),
]
DEC_TERMS = [
    (0.000051, 122.433576, 19139.9407476),
    (0.000141, 43.058401, 38280.8753272),
    (0.000031, 57.663379, 57420.7517205),
    (0.000005, 79.476401, 76560.6495004),
    (1.591274, 166.325722, 0.5042615),
]
PM_TERMS = [
    (0.000145, 129.071773, 19140.0328244),
    (0.000157, 36.352167, 38281.0473591),
    (0.000040, 56.668646, 57420.9295360),
    (0.000001, 67.364003, 76560.2552215),
    (0.000001, 104.792680, 95700.4387578),
    (0.584542, 95.391654, 0.5042615),
]

SITE_ID_BASE = 499001           # NAIF body ids of sites: 499001, 499002, ...
SITE_FRAME_ID_BASE = 1499001    # TK frame ids (user range 1400000-2000000)
ORBITER_ID_BASE = -499001       # suggested spacecraft ids: -499001, -499002, ...
YEAR_S = 365.25 * 86400.0
DEFAULT_FIRST_ET = -100.0 * YEAR_S   # 1900
DEFAULT_LAST_ET = 150.0 * YEAR_S     # 2150


# =============================================================================
# Kernel pool handling
# =============================================================================
@contextlib.contextmanager
def loaded(kernels: Iterable[str | os.PathLike]):
    """Clear the (global) kernel pool, furnish ``kernels``, clear it on exit."""
    sp.kclear()
    try:
        for k in kernels:
            sp.furnsh(str(k))
        yield
    finally:
        sp.kclear()


def _fmt(x: float) -> str:
    return repr(float(x)).replace("e", "D")


# =============================================================================
# 1. PCK
# =============================================================================
def write_mars_pck(path) -> Path:
    """Text PCK with the IAU 2015 / pck00011 Mars model, radii and GM.

    BODY4_NUT_PREC_ANGLES holds only Mars's 16 angles (5 for RA, 5 for DEC,
    6 for PM, in that order); the NUT_PREC coefficient lists are padded with
    zeros so each term multiplies its own angle.  SPICE applies sin to the RA
    terms, cos to DEC and sin to PM, as Archinal et al. do.
    """
    path = Path(path)
    n = len(RA_TERMS) + len(DEC_TERMS) + len(PM_TERMS)
    ra = [0.0] * n
    dec = [0.0] * n
    pm = [0.0] * n
    angles = []
    k = 0
    for coeffs, terms in ((ra, RA_TERMS), (dec, DEC_TERMS), (pm, PM_TERMS)):
        for amp, phase, rate in terms:
            coeffs[k] = amp
            angles.append((phase, rate))
            k += 1

    def lst(v):
        return "( " + "\n      ".join(_fmt(x) for x in v) + " )"

    text = f"""KPL/PCK

IAU 2015 Mars rotation model (Archinal et al. 2018, Celest. Mech. Dyn. Astr.
130:22), identical to NAIF pck00011.tpc for body 499.  Written by relay's
tests/spice_ref.py.  Only Mars's 16 nutation-precession angles are listed.

\\begindata

BODY499_RADII        = ( {_fmt(MARS_RE_KM)} {_fmt(MARS_RE_KM)} {_fmt(MARS_RP_KM)} )
BODY499_GM           = ( {_fmt(MARS_GM)} )
BODY499_POLE_RA      = ( {' '.join(_fmt(x) for x in POLE_RA)} )
BODY499_POLE_DEC     = ( {' '.join(_fmt(x) for x in POLE_DEC)} )
BODY499_PM           = ( {' '.join(_fmt(x) for x in PM)} )
BODY499_NUT_PREC_RA  = {lst(ra)}
BODY499_NUT_PREC_DEC = {lst(dec)}
BODY499_NUT_PREC_PM  = {lst(pm)}
BODY4_NUT_PREC_ANGLES = ( {chr(10).join('      ' + _fmt(p) + ' ' + _fmt(r) for p, r in angles).strip()} )

\\begintext
"""
    path.write_text(text)
    return path


def iau2015_matrix_numpy(et: float) -> np.ndarray:
    """J2000 -> IAU_MARS from the formulas alone (numpy, no SPICE).

    Used by the self-tests to check that the PCK above has pck00011 semantics.
    """
    d = et / 86400.0
    T = d / 36525.0
    ra = POLE_RA[0] + POLE_RA[1] * T + sum(a * math.sin(math.radians(p + r * T)) for a, p, r in RA_TERMS)
    dec = POLE_DEC[0] + POLE_DEC[1] * T + sum(a * math.cos(math.radians(p + r * T)) for a, p, r in DEC_TERMS)
    w = PM[0] + PM[1] * d + sum(a * math.sin(math.radians(p + r * T)) for a, p, r in PM_TERMS)

    def r1(x):
        c, s = math.cos(x), math.sin(x)
        return np.array([[1, 0, 0], [0, c, s], [0, -s, c]])

    def r3(x):
        c, s = math.cos(x), math.sin(x)
        return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])

    return r3(math.radians(w % 360.0)) @ r1(math.radians(90.0 - dec)) @ r3(math.radians(90.0 + ra))


# =============================================================================
# 2. Sites: topocentric frames and fixed-position SPK
# =============================================================================
@dataclass
class SiteRef:
    name: str
    lat_deg: float            # planetocentric latitude of the foot point
    lon_deg: float            # east longitude
    height_m: float
    naif_id: int
    frame_name: str
    frame_id: int
    position_km: np.ndarray = field(repr=False)   # body-fixed (IAU_MARS) site vector
    normal: np.ndarray = field(repr=False)        # outward unit normal (IAU_MARS)
    geodetic_lat_deg: float = 0.0                 # planetodetic latitude of the normal


def _site_tuple(s):
    if isinstance(s, dict):
        return (s["name"], float(s["lat_deg"] if "lat_deg" in s else s["latitude_deg"]),
                float(s["lon_deg"] if "lon_deg" in s else s["longitude_deg"]),
                float(s.get("height_m", 0.0)))
    if hasattr(s, "name") and not isinstance(s, (tuple, list)):
        lat = getattr(s, "lat_deg", None)
        lat = getattr(s, "latitude_deg") if lat is None else lat
        lon = getattr(s, "lon_deg", None)
        lon = getattr(s, "longitude_deg") if lon is None else lon
        return (s.name, float(lat), float(lon), float(getattr(s, "height_m", 0.0)))
    name, lat, lon, *rest = s
    return (str(name), float(lat), float(lon), float(rest[0]) if rest else 0.0)


def frame_name_for(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") + "_TOPO"


def site_vectors(lat_deg: float, lon_deg: float, height_m: float,
                 re_km: float = MARS_RE_KM, rp_km: float = MARS_RP_KM):
    """(site position, outward normal, north, west) in the body-fixed frame, via SPICE.

    The foot point is where the ray from Mars's centre at the planetocentric
    direction (latrec) meets the spheroid (surfpt); the normal comes from
    surfnm; north/west are the tangent-plane directions.
    """
    u = np.array(sp.latrec(1.0, math.radians(lon_deg), math.radians(lat_deg)))
    # ray from far outside, pointing back at the centre: first hit is the foot point
    start = u * (4.0 * re_km)
    foot = np.array(sp.surfpt(start, -u, re_km, re_km, rp_km))
    normal = np.array(sp.surfnm(re_km, re_km, rp_km, foot))
    pos = foot + (height_m / 1000.0) * normal
    zhat = np.array([0.0, 0.0, 1.0])
    east = np.array(sp.ucrss(zhat, normal))
    if np.linalg.norm(east) < 0.5:   # at a pole "north" is undefined: take east = +y
        east = np.array([0.0, 1.0, 0.0])
    north = np.array(sp.ucrss(normal, east))
    west = -east
    return pos, normal, north, west


def write_topo_fk(path, sites: Sequence, spk_path=None,
                  first_et: float = DEFAULT_FIRST_ET, last_et: float = DEFAULT_LAST_ET,
                  re_km: float = MARS_RE_KM, rp_km: float = MARS_RP_KM) -> list[SiteRef]:
    """Frame kernel (topocentric TK frames) plus an SPK of the sites' fixed positions.

    ``sites``: (name, planetocentric lat deg, east lon deg, height m) tuples,
    dicts or objects with those attributes.  The i-th site gets NAIF id
    499001+i (name = its name, upper-cased), and the TK frame
    ``<NAME>_TOPO`` (id 1499001+i) relative to IAU_MARS, centred on the site.
    The SPK (type 8, two identical states, body-fixed IAU_MARS, centre 499)
    goes to ``spk_path`` (default: ``path`` with suffix ``.bsp``).
    Returns one :class:`SiteRef` per site.
    """
    path = Path(path)
    spk_path = Path(spk_path) if spk_path is not None else path.with_suffix(".bsp")
    refs: list[SiteRef] = []
    lines = ["KPL/FK", "", "Topocentric frames and site ids written by relay's tests/spice_ref.py.",
             "z = spheroid outward normal, x = local north, y = local west.", "", "\\begindata", ""]
    names, codes = [], []
    for i, s in enumerate(sites):
        name, lat, lon, h = _site_tuple(s)
        naif_id = SITE_ID_BASE + i
        fid = SITE_FRAME_ID_BASE + i
        fname = frame_name_for(name)
        pos, normal, north, west = site_vectors(lat, lon, h, re_km, rp_km)
        glon, glat, galt = sp.recgeo(pos, re_km, (re_km - rp_km) / re_km)
        refs.append(SiteRef(name, lat, lon, h, naif_id, fname, fid, pos, normal,
                            math.degrees(glat)))
        # TKFRAME MATRIX: columns are the TK frame's axes expressed in the
        # RELATIVE frame (v_relative = M v_topo); listed column by column.
        m = np.column_stack([north, west, normal])
        # column-major order, one number per line (text kernel lines <= 132 chars)
        flat = "\n      ".join(_fmt(x) for x in m.T.ravel())
        names.append(f"'{name.upper()}'")
        codes.append(str(naif_id))
        lines += [
            f"FRAME_{fname} = {fid}",
            f"FRAME_{fid}_NAME = '{fname}'",
            f"FRAME_{fid}_CLASS = 4",
            f"FRAME_{fid}_CLASS_ID = {fid}",
            f"FRAME_{fid}_CENTER = {naif_id}",
            f"TKFRAME_{fid}_RELATIVE = 'IAU_MARS'",
            f"TKFRAME_{fid}_SPEC = 'MATRIX'",
            f"TKFRAME_{fid}_MATRIX = ( {flat} )",
            "",
        ]
    lines += [f"NAIF_BODY_NAME += ( {' '.join(names)} )",
              f"NAIF_BODY_CODE += ( {' '.join(codes)} )", "", "\\begintext", ""]
    path.write_text("\n".join(lines))

    if spk_path.exists():
        spk_path.unlink()
    handle = sp.spkopn(str(spk_path), "relay sites", 0)
    try:
        for r in refs:
            state = np.concatenate([r.position_km, np.zeros(3)])
            states = np.vstack([state, state])
            sp.spkw08(handle, r.naif_id, MARS_ID, "IAU_MARS", first_et, last_et,
                      f"site {r.naif_id}", 1, 2, states, first_et, last_et - first_et)
    finally:
        sp.spkcls(handle)
    return refs


# =============================================================================
# 3. Orbits: SPK type 17
# =============================================================================
@dataclass
class OrbitElements:
    a_km: float
    e: float
    i_deg: float
    raan_deg: float
    argp_deg: float
    m_deg: float


def _elements(el) -> OrbitElements:
    if isinstance(el, OrbitElements):
        return el
    if isinstance(el, dict):
        g = lambda *ks: next(float(el[k]) for k in ks if k in el)  # noqa: E731
        return OrbitElements(g("a_km", "a", "semi_major_axis_km"), g("e", "ecc", "eccentricity"),
                             g("i_deg", "inc", "inclination_deg"), g("raan_deg", "raan", "node"),
                             g("argp_deg", "argp", "arg_periapsis_deg"),
                             g("m_deg", "M", "mean_anomaly_deg"))
    return OrbitElements(*[float(x) for x in el])


def j2_rates(a_km, e, i_deg, gm=MARS_GM, j2=MARS_J2, re_km=MARS_RE_KM):
    """Secular J2 rates, rad/s: (node rate, periapsis rate, mean anomaly rate)."""
    n = math.sqrt(gm / a_km ** 3)
    p = a_km * (1.0 - e * e)
    k = 1.5 * j2 * (re_km / p) ** 2 * n
    ci = math.cos(math.radians(i_deg))
    dnode = -k * ci
    dargp = 0.5 * k * (5.0 * ci * ci - 1.0)
    dmean = n + 0.5 * k * math.sqrt(1.0 - e * e) * (3.0 * ci * ci - 1.0)
    return dnode, dargp, dmean


def equinoctial_elements(elements, gm=MARS_GM, j2=MARS_J2, re_km=MARS_RE_KM) -> np.ndarray:
    """spkw17 / eqncpv element vector (9) from classical mean elements (deg).

    [a, h, k, mean longitude, p, q, d(periapsis longitude)/dt,
     d(mean longitude)/dt, d(node)/dt]; angles rad, rates rad/s, with
    h = e sin(argp+node), k = e cos(argp+node), L = M + argp + node,
    p = tan(i/2) sin(node), q = tan(i/2) cos(node).
    """
    el = _elements(elements)
    dnode, dargp, dmean = j2_rates(el.a_km, el.e, el.i_deg, gm, j2, re_km)
    node = math.radians(el.raan_deg)
    argp = math.radians(el.argp_deg)
    m0 = math.radians(el.m_deg)
    ti2 = math.tan(math.radians(el.i_deg) / 2.0)
    return np.array([
        el.a_km,
        el.e * math.sin(argp + node),
        el.e * math.cos(argp + node),
        m0 + argp + node,
        ti2 * math.sin(node),
        ti2 * math.cos(node),
        dargp + dnode,
        dmean + dargp + dnode,
        dnode,
    ])


def write_spk17(path, naif_id: int, elements, epoch_et: float, pole_ra_deg: float,
                pole_dec_deg: float, gm: float = MARS_GM, j2: float = MARS_J2,
                re: float = MARS_RE_KM, first_et: float = DEFAULT_FIRST_ET,
                last_et: float = DEFAULT_LAST_ET, append: bool = False) -> Path:
    """SPK type 17 of a J2-precessing mean-element orbit about Mars (centre 499, J2000).

    ``elements``: (a km, e, i, RAAN, argp, M at epoch; degrees) as a tuple,
    dict or :class:`OrbitElements`, referred to the frame whose z axis is the
    pole (pole_ra_deg, pole_dec_deg in J2000) and whose x axis is the
    ascending node of that equator on the J2000 equator.  ``append`` adds a
    segment to an existing file.
    """
    path = Path(path)
    eqel = equinoctial_elements(elements, gm, j2, re)
    if append and path.exists():
        handle = sp.spkopa(str(path))
    else:
        if path.exists():
            path.unlink()
        handle = sp.spkopn(str(path), "relay spk17", 0)
    try:
        sp.spkw17(handle, int(naif_id), MARS_ID, "J2000", float(first_et), float(last_et),
                  f"J2 mean elements {naif_id}", float(epoch_et), eqel.tolist(),
                  math.radians(pole_ra_deg), math.radians(pole_dec_deg))
    finally:
        sp.spkcls(handle)
    return path


def pole_frame_matrix(pole_ra_deg: float, pole_dec_deg: float) -> np.ndarray:
    """J2000 -> (z = pole, x = node of that equator on the J2000 equator) frame."""
    return np.array(sp.eul2m(0.0, math.radians(90.0 - pole_dec_deg),
                             math.radians(90.0 + pole_ra_deg), 3, 1, 3))


def mars_pole_radec(et: float) -> tuple[float, float]:
    """IAU 2015 pole (ra, dec) in J2000 at ``et``, degrees, from the loaded PCK."""
    m = np.array(sp.pxform("J2000", "IAU_MARS", float(et)))
    _, ra, dec = sp.recrad(m[2])
    return math.degrees(ra), math.degrees(dec)


# =============================================================================
# 4./5. Queries (kernels must be loaded, see ``loaded`` / ``RefKit.loaded``)
# =============================================================================
def spice_pxform(et, frm: str = "J2000", to: str = "IAU_MARS") -> np.ndarray:
    """Rotation matrix J2000 -> IAU_MARS at ET (array of ETs -> (N,3,3))."""
    ets = np.atleast_1d(np.asarray(et, dtype=float))
    out = np.array([sp.pxform(frm, to, float(t)) for t in ets])
    return out[0] if np.ndim(et) == 0 else out


def spice_sxform(et, frm: str = "J2000", to: str = "IAU_MARS") -> np.ndarray:
    """6x6 state transformation (rotation and its rate)."""
    return np.array(sp.sxform(frm, to, float(et)))


def spice_state(orbiter_id, et, frame: str = "J2000", observer=MARS_ID) -> np.ndarray:
    """Geometric state (km, km/s) of the orbiter relative to Mars (abcorr NONE)."""
    ets = np.atleast_1d(np.asarray(et, dtype=float))
    out = np.array([sp.spkezr(str(orbiter_id), float(t), frame, "NONE", str(observer))[0]
                    for t in ets])
    return out[0] if np.ndim(et) == 0 else out


def spice_azel(observer_site_id, site_frame: str, orbiter_id, et):
    """(elevation deg, azimuth deg east of north, range km) at each ET."""
    ets = np.atleast_1d(np.asarray(et, dtype=float))
    el = np.empty(ets.size)
    az = np.empty(ets.size)
    rg = np.empty(ets.size)
    for j, t in enumerate(ets):
        v, _ = sp.spkpos(str(orbiter_id), float(t), site_frame, "NONE", str(observer_site_id))
        r, lon, lat = sp.reclat(v)
        el[j] = math.degrees(lat)
        az[j] = (-math.degrees(lon)) % 360.0
        rg[j] = r
    if np.ndim(et) == 0:
        return el[0], az[0], rg[0]
    return el, az, rg


def spice_elevation(observer_site_id, site_frame: str, orbiter_id, et):
    """Elevation (deg) of the orbiter above the site's tangent plane, via spkpos/reclat."""
    return spice_azel(observer_site_id, site_frame, orbiter_id, et)[0]


def spice_passes(kernels, observer_site_id, site_frame: str, orbiter_id, et0: float,
                 et1: float, min_elevation_deg: float, step_s: float,
                 max_windows: int | None = None) -> np.ndarray:
    """Windows (N,2) of ET where the orbiter's elevation > mask, via gfposc.

    ``kernels``: files to load for this call (the pool is cleared before and
    after), or None to use the kernels already loaded.  Elevation is
    LATITUDE in the site's topocentric frame, abcorr NONE, observer the site.

    Step: gfposc first finds the intervals on which elevation is monotone by
    sampling its rate every ``step_s``; it can miss a window only when the
    step is longer than one of those monotone intervals (a pair of a local
    maximum and minimum closer than the step).  Then it solves for the mask
    crossings inside each monotone interval (convergence 1e-6 s).
    """
    if kernels is not None:
        with loaded(kernels):
            return spice_passes(None, observer_site_id, site_frame, orbiter_id, et0, et1,
                                min_elevation_deg, step_s, max_windows)
    span = float(et1) - float(et0)
    nint = max_windows or int(span / 300.0) + 2000
    cnfine = stypes.SPICEDOUBLE_CELL(2)
    sp.wninsd(float(et0), float(et1), cnfine)
    result = stypes.SPICEDOUBLE_CELL(2 * nint)
    sp.gfposc(str(orbiter_id), site_frame, "NONE", str(observer_site_id), "LATITUDINAL",
              "LATITUDE", ">", math.radians(min_elevation_deg), 0.0, float(step_s), nint,
              cnfine, result)
    n = sp.wncard(result)
    out = np.empty((n, 2))
    for j in range(n):
        out[j] = sp.wnfetd(result, j)
    return out


# =============================================================================
# Convenience: build a complete kit in a directory
# =============================================================================
@dataclass
class RefKit:
    kernels: list[Path]
    sites: list[SiteRef]
    orbiters: dict            # name -> naif id
    poles: dict               # name -> (ra, dec) used for the SPK17

    def loaded(self):
        return loaded(self.kernels)

    def site(self, name: str) -> SiteRef:
        return next(s for s in self.sites if s.name == name)


def build_kit(directory, sites: Sequence = (), orbits: Sequence = (),
              gm: float = MARS_GM, j2: float = MARS_J2, re: float = MARS_RE_KM,
              first_et: float = DEFAULT_FIRST_ET, last_et: float = DEFAULT_LAST_ET) -> RefKit:
    """Write PCK, site FK+SPK and one SPK17 per orbit into ``directory``.

    ``orbits``: (name, elements, epoch_et) or (name, elements, epoch_et, naif_id)
    tuples; the pole of each orbit's frame is the IAU 2015 pole at its epoch
    (from SPICE with the written PCK).  Orbiter ids default to -499001-k.
    Clears the kernel pool.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    pck = write_mars_pck(d / "mars_iau2015.tpc")
    kernels = [pck]
    site_refs: list[SiteRef] = []
    if sites:
        fk = d / "sites.tf"
        site_refs = write_topo_fk(fk, sites, d / "sites.bsp", first_et, last_et)
        kernels += [fk, d / "sites.bsp"]
    orbiters, poles = {}, {}
    for k, o in enumerate(orbits):
        name, elements, epoch = o[0], o[1], float(o[2])
        naif_id = int(o[3]) if len(o) > 3 else ORBITER_ID_BASE - k
        with loaded([pck]):
            ra, dec = mars_pole_radec(epoch)
        f = d / f"orbit_{abs(naif_id)}.bsp"
        write_spk17(f, naif_id, elements, epoch, ra, dec, gm, j2, re, first_et, last_et)
        kernels.append(f)
        orbiters[name] = naif_id
        poles[name] = (ra, dec)
    return RefKit([Path(k) for k in kernels], site_refs, orbiters, poles)
