"""CCSDS OEM reader/writer and the shared state interpolator.

Reference orbits: relay's KeplerianOrbit (J2 mean elements) and an exact
two-body conic from SPICE (``spiceypy.conics``).  Tolerances are named:
OEM files written by ``write_oem`` carry 1 mm / 1 micrometre-per-second
resolution and microsecond epochs, so a file round trip agrees to ~3 mm.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import spiceypy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from relay import mars
from relay.errors import CoverageError, RelayInputError
from relay.orbits.base import Ephemeris, check_coverage
from relay.orbits.frames import eme2000_to_icrf_matrix, mean_equator_to_icrf_matrix
from relay.orbits.interp import StateInterpolator
from relay.orbits.keplerian import KeplerianOrbit
from relay.orbits.oem import read_oem, write_oem
from relay.timescales import tdb_s_to_iso, utc_to_tdb_s

EPOCH = utc_to_tdb_s("2026-11-23T00:00:00Z")
DAY = 86400.0
ROUND_TRIP_KM = 1e-5  # 1 cm: file resolution is 1 mm, epochs 1 microsecond
ROUND_TRIP_KM_S = 1e-6  # 1 mm/s


def tgo(**kw) -> KeplerianOrbit:
    args = dict(name="TGO", epoch_tdb_s=EPOCH, semi_major_axis_km=3796.19, eccentricity=0.0,
                inclination_deg=74.0, raan_deg=0.0, arg_periapsis_deg=0.0, mean_anomaly_deg=0.0)
    args.update(kw)
    return KeplerianOrbit(**args)


def mex() -> KeplerianOrbit:
    """An eccentric, Mars Express-like orbit (periapsis 300 km, apoapsis 10 100 km)."""
    rp, ra = 3396.19 + 300.0, 3396.19 + 10100.0
    return tgo(name="MEX", semi_major_axis_km=(rp + ra) / 2, eccentricity=(ra - rp) / (ra + rp),
               inclination_deg=86.6, raan_deg=40.0, arg_periapsis_deg=300.0, mean_anomaly_deg=10.0)


class Conic:
    """An exact two-body Mars orbit from SPICE's ``conics`` (the truth for interpolation)."""

    name = "conic"
    coverage_tdb_s = (-np.inf, np.inf)

    def __init__(self, rp=3600.0, e=0.05, inc_deg=60.0, epoch=EPOCH):
        self.elts = [rp, e, np.radians(inc_deg), 0.3, 1.1, 0.2, epoch, mars.GM_KM3_S2]

    def state_km(self, tdb_s):
        s = np.array([sp.conics(self.elts, float(t)) for t in np.atleast_1d(tdb_s)])
        return s[:, :3], s[:, 3:]


def random_times(start, stop, n=2000, seed=1):
    return np.sort(np.random.default_rng(seed).uniform(start, stop, n))


def max_err(a, b):
    return float(np.linalg.norm(a - b, axis=1).max())


def oem_text(meta: dict | None = None, rows=None, header_extra: str = "", version="2.0") -> str:
    """A small hand-made OEM (TDB epochs, 60 s apart) for the error cases."""
    m = {"OBJECT_NAME": "TGO", "OBJECT_ID": "2016-017A", "CENTER_NAME": "MARS",
         "REF_FRAME": "ICRF", "TIME_SYSTEM": "TDB", "START_TIME": "2026-11-23T00:00:00",
         "STOP_TIME": "2026-11-23T00:10:00", "INTERPOLATION": "LAGRANGE",
         "INTERPOLATION_DEGREE": "3"}
    m.update(meta or {})
    if rows is None:
        k = tgo()
        t0 = (np.datetime64("2026-11-23T00:00:00") - np.datetime64("2000-01-01T12:00:00")).astype(int)
        times = float(t0) + 60.0 * np.arange(11)
        p, v = k.state_km(times)
        rows = [f"2026-11-23T00:{i:02d}:00.000 " + " ".join(f"{x:.6f}" for x in p[i])
                + " " + " ".join(f"{x:.9f}" for x in v[i]) for i in range(11)]
    lines = [f"CCSDS_OEM_VERS = {version}", "CREATION_DATE = 2026-11-20T00:00:00",
             "ORIGINATOR = TEST"]
    if header_extra:
        lines.append(header_extra)
    lines.append("META_START")
    lines += [f"{k} = {v}" for k, v in m.items() if v is not None]
    lines.append("META_STOP")
    lines += rows
    return "\n".join(lines) + "\n"


def write_text(tmp_path, text, name="x.oem"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("time_system", ["UTC", "TDB"])
@pytest.mark.parametrize("method,degree", [("LAGRANGE", 7), ("HERMITE", 5), ("HERMITE", 7)])
def test_round_trip_keplerian(tmp_path, time_system, method, degree):
    k = tgo()
    path = write_oem(tmp_path / "tgo.oem", k, start_tdb_s=EPOCH, stop_tdb_s=EPOCH + DAY, step_s=60.0,
                     time_system=time_system, interpolation=method, degree=degree)
    eph = read_oem(path)
    assert isinstance(eph, Ephemeris)
    assert eph.name == "TGO"
    seg = eph.segments[0]
    assert (seg.interpolation, seg.degree, seg.time_system) == (method, degree, time_system)
    t = random_times(EPOCH, EPOCH + DAY)
    t = np.concatenate([t, [EPOCH, EPOCH + DAY]])  # the exact ends are covered
    p, v = eph.state_km(t)
    pk, vk = k.state_km(t)
    assert max_err(p, pk) < ROUND_TRIP_KM
    assert max_err(v, vk) < (ROUND_TRIP_KM_S if method == "LAGRANGE" else 1e-6)
    lo, hi = eph.coverage_tdb_s
    assert abs(lo - EPOCH) < 1e-6 and abs(hi - EPOCH - DAY) < 1e-6


def test_conic_truth_eccentric(tmp_path):
    """An exact two-body conic, 60 s Lagrange degree 7: interpolation error below a millimetre."""
    c = Conic(rp=3696.19, e=0.45)
    t = EPOCH + np.arange(0, 6 * 3600 + 1, 60.0)
    p, v = c.state_km(t)
    path = write_oem(tmp_path / "c.oem", (t, p, v), object_name="CONIC", time_system="TDB")
    eph = read_oem(path)
    tq = random_times(t[0], t[-1], 500)
    pq, vq = eph.state_km(tq)
    pt, vt = c.state_km(tq)
    assert max_err(pq, pt) < 2e-6 + ROUND_TRIP_KM / 3
    assert max_err(vq, vt) < ROUND_TRIP_KM_S


def test_writer_and_reader_agree_with_eccentric_keplerian(tmp_path):
    k = mex()
    path = write_oem(tmp_path / "mex.oem", k, start_tdb_s=EPOCH, stop_tdb_s=EPOCH + DAY / 2,
                     step_s=60.0)
    eph = read_oem(path, name="Mars Express")
    assert eph.name == "Mars Express"
    t = random_times(EPOCH, EPOCH + DAY / 2)
    assert max_err(eph.state_km(t)[0], k.state_km(t)[0]) < ROUND_TRIP_KM


# ----------------------------------------------------------------------------- interpolation
def _circle(t, r=3800.0, period=7000.0):
    w = 2 * np.pi / period
    pos = np.stack([r * np.cos(w * t), r * np.sin(w * t), 0.3 * r * np.sin(w * t)], -1)
    vel = np.stack([-r * w * np.sin(w * t), r * w * np.cos(w * t), 0.3 * r * w * np.cos(w * t)], -1)
    return pos, vel


@pytest.mark.parametrize("method,degree", [("LAGRANGE", 3), ("LAGRANGE", 7), ("HERMITE", 3),
                                           ("HERMITE", 7)])
def test_interpolator_exact_at_nodes(method, degree):
    t = np.arange(0.0, 3600.0, 60.0)
    p, v = _circle(t)
    pi, vi = StateInterpolator(t, p, v, method, degree)(t)
    assert np.abs(pi - p).max() < 1e-9
    if method == "HERMITE":
        assert np.abs(vi - v).max() < 1e-12


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.lists(st.floats(-5, 5), min_size=30, max_size=30),
       st.floats(0.1, 100.0))
def test_lagrange_reproduces_polynomials(degree, coeffs, spacing):
    """Lagrange of degree d is exact for any polynomial of degree <= d, on uneven nodes too."""
    rng = np.random.default_rng(degree)
    t = np.cumsum(rng.uniform(0.5, 1.5, 40)) * spacing + 1e6
    c = np.array(coeffs[: 3 * (degree + 1)]).reshape(3, degree + 1)
    c = np.pad(c, ((0, 0), (0, max(0, degree + 1 - c.shape[1]))))
    x = (t - t[0]) / (t[-1] - t[0])
    pos = np.stack([np.polyval(ci, x) for ci in c], -1)
    interp = StateInterpolator(t, pos, np.zeros_like(pos), "LAGRANGE", degree)
    tq = np.linspace(t[0], t[-1], 333)
    xq = (tq - t[0]) / (t[-1] - t[0])
    exact = np.stack([np.polyval(ci, xq) for ci in c], -1)
    assert np.abs(interp(tq)[0] - exact).max() < 1e-9 * (1 + np.abs(c).sum())


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.lists(st.floats(-5, 5), min_size=24, max_size=24))
def test_hermite_reproduces_polynomials(nodes, coeffs):
    """Hermite through m nodes (degree 2m-1) is exact, velocity included, for such polynomials."""
    degree = 2 * nodes - 1
    t = 1e8 + np.cumsum(np.random.default_rng(nodes).uniform(20, 80, 30))
    c = np.array(coeffs[: 3 * (degree + 1)]).reshape(3, degree + 1)
    scale = t[-1] - t[0]
    x = (t - t[0]) / scale
    pos = np.stack([np.polyval(ci, x) for ci in c], -1)
    vel = np.stack([np.polyval(np.polyder(ci), x) / scale if degree else 0 * x for ci in c], -1)
    interp = StateInterpolator(t, pos, vel, "HERMITE", degree)
    tq = np.linspace(t[0], t[-1], 211)
    xq = (tq - t[0]) / scale
    pq, vq = interp(tq)
    tol = 1e-9 * (1 + np.abs(c).sum())
    assert np.abs(pq - np.stack([np.polyval(ci, xq) for ci in c], -1)).max() < tol
    assert np.abs(vq - np.stack([np.polyval(np.polyder(ci), xq) / scale for ci in c], -1)).max() < tol


@pytest.mark.parametrize("method,degree,order", [("LAGRANGE", 5, 6), ("LAGRANGE", 7, 8),
                                                 ("HERMITE", 3, 4), ("HERMITE", 5, 6)])
def test_interpolation_error_converges_at_its_order(method, degree, order):
    """Halving the step divides the error by about 2**(degree+1)."""
    errs = []
    tq = np.linspace(1000.0, 20000.0, 4001)
    for step in (240.0, 120.0):
        t = np.arange(0.0, 21600.0, step)
        p, v = _circle(t)
        pi, _ = StateInterpolator(t, p, v, method, degree)(tq)
        errs.append(np.abs(pi - _circle(tq)[0]).max())
    ratio = errs[0] / errs[1]
    assert 2 ** (order - 1.2) < ratio < 2 ** (order + 1.2)


def test_higher_degree_is_more_accurate():
    t = np.arange(0.0, 21600.0, 120.0)
    p, v = _circle(t)
    tq = np.linspace(0.0, t[-1], 5001)
    truth = _circle(tq)[0]
    e = {d: np.abs(StateInterpolator(t, p, v, "LAGRANGE", d)(tq)[0] - truth).max() for d in (3, 5, 7, 9)}
    assert e[3] > e[5] > e[7] > e[9]
    h = {d: np.abs(StateInterpolator(t, p, v, "HERMITE", d)(tq)[0] - truth).max() for d in (3, 5, 7)}
    assert h[3] > h[5] > h[7]
    assert h[7] < e[7]  # velocities help


def test_interpolator_handles_a_million_times():
    """Vectorised evaluation of 1M times (chunked); correctness only, no timing."""
    t = np.arange(0.0, 86400.0 * 8, 60.0)
    p, v = _circle(t)
    tq = np.linspace(0.0, t[-1], 1_000_000)
    pi, vi = StateInterpolator(t, p, v, "LAGRANGE", 7)(tq)
    assert pi.shape == (1_000_000, 3)
    sl = slice(None, None, 997)
    pt, vt = _circle(tq[sl])
    assert np.abs(pi[sl] - pt).max() < 1e-7 and np.abs(vi[sl] - vt).max() < 1e-9


# ----------------------------------------------------------------------------- frames
def test_eme2000_bias_applied(tmp_path):
    k = tgo()
    a = read_oem(write_oem(tmp_path / "icrf.oem", k, start_tdb_s=EPOCH, stop_tdb_s=EPOCH + 7200,
                           ref_frame="ICRF", time_system="TDB"))
    b_path = write_oem(tmp_path / "eme.oem", k, start_tdb_s=EPOCH, stop_tdb_s=EPOCH + 7200,
                       ref_frame="EME2000", time_system="TDB")
    b = read_oem(b_path)
    assert b.segments[0].ref_frame == "EME2000"
    # the numbers in the two files differ by the frame bias (~23 mas: 0.1-0.5 m at 3800 km)...
    raw_a = np.array([r.split()[1:4] for r in open(a.source).read().split("META_STOP")[1].split("\n") if r.strip()], float)
    raw_b = np.array([r.split()[1:4] for r in open(b_path).read().split("META_STOP")[1].split("\n") if r.strip()], float)
    d = np.linalg.norm(raw_a - raw_b, axis=1)
    assert 0.05e-3 < d.max() < 1e-3
    # ...and both read back as the same ICRF states
    t = random_times(EPOCH, EPOCH + 7200, 300)
    assert max_err(a.state_km(t)[0], b.state_km(t)[0]) < 3e-6
    # the bias is the IERS one: 23 mas in total
    m = eme2000_to_icrf_matrix()
    angle_mas = np.degrees(np.arccos((np.trace(m) - 1) / 2)) * 3.6e6
    assert 20 < angle_mas < 26


def test_mars_mean_equator_frame(tmp_path):
    """MCI: states in Mars's mean equator and IAU node of REF_FRAME_EPOCH read back on ICRF axes."""
    k = mex()
    t = EPOCH + np.arange(0, 4 * 3600 + 1, 60.0)
    p, v = k.state_km(t)
    frame_epoch = utc_to_tdb_s("2026-01-01T00:00:00Z")
    m = mean_equator_to_icrf_matrix(*mars.mars_pole_radec_deg(frame_epoch))
    assert np.allclose(m, mars.mean_equator_matrix(*mars.mars_pole_radec_deg(frame_epoch)))
    assert np.allclose(m.T @ m, np.eye(3), atol=1e-15)
    pm, vm = p @ m, v @ m  # ICRF -> MCI, i.e. m.T @ x for each row
    path = write_oem(tmp_path / "mci.oem", (t, pm, vm), object_name="MEX", time_system="TDB")
    text = path.read_text().replace("REF_FRAME = ICRF",
                                    "REF_FRAME = MCI\nREF_FRAME_EPOCH = 2026-01-01T00:01:09.184")
    path.write_text(text)
    eph = read_oem(path)
    tq = random_times(t[0], t[-1], 300)
    assert max_err(eph.state_km(tq)[0], k.state_km(tq)[0]) < ROUND_TRIP_KM
    # and the raw numbers really are in another frame
    assert max_err(pm, p) > 100.0


def test_center_mars_barycenter_accepted(tmp_path):
    path = write_text(tmp_path, oem_text({"CENTER_NAME": "MARS BARYCENTER"}))
    assert read_oem(path).segments[0].center_name == "MARS BARYCENTER"


# ----------------------------------------------------------------------------- time systems
def test_time_systems_agree(tmp_path):
    """The same instant written in UTC, TT, TAI and TDB reads as the same TDB seconds."""
    base = oem_text()
    utc = utc_to_tdb_s("2026-11-23T00:00:00Z")
    # TAI - UTC = 37 s in 2026; TT - TAI = 32.184 s; TDB - TT < 2 ms
    variants = {"UTC": "2026-11-23T00:00:00.000", "TAI": "2026-11-23T00:00:37.000",
                "TT": "2026-11-23T00:01:09.184"}
    for system, first in variants.items():
        text = base.replace("TIME_SYSTEM = TDB", f"TIME_SYSTEM = {system}")
        text = text.replace("START_TIME = 2026-11-23T00:00:00", "START_TIME = 2026-11-22T00:00:00")
        text = text.replace("STOP_TIME = 2026-11-23T00:10:00", "STOP_TIME = 2026-11-24T00:00:00")
        lines = text.splitlines()
        i = next(j for j, l in enumerate(lines) if l.startswith("2026-11-23T00:00:00.000"))
        lines[i] = first + lines[i][len("2026-11-23T00:00:00.000"):]
        # keep the rest increasing: drop the two lines the new first epoch may pass (shifting them an
        # hour later would leave a half-orbit hole, which the reader refuses as a gap)
        del lines[i + 1:i + 3]
        eph = read_oem(write_text(tmp_path, "\n".join(lines) + "\n", f"{system}.oem"))
        assert abs(eph.segments[0].t[0] - utc) < 2e-6, system


def test_day_of_year_epochs_and_leap_second(tmp_path):
    text = oem_text({"TIME_SYSTEM": "UTC"})
    doy = text.replace("2026-11-23T", "2026-327T")
    a = read_oem(write_text(tmp_path, text, "a.oem"))
    b = read_oem(write_text(tmp_path, doy, "b.oem"))
    assert np.array_equal(a.segments[0].t, b.segments[0].t)
    from relay.orbits.oem import _epoch_parts, _to_tdb_s

    d1, s1 = _epoch_parts("2016-12-31T23:59:60.500", "x", 1)
    d0, s0 = _epoch_parts("2016-12-31T23:59:59.500", "x", 1)
    d2, s2 = _epoch_parts("2017-01-01T00:00:00.000", "x", 1)
    t = _to_tdb_s(np.array([d0, d1, d2]), np.array([s0, s1, s2]), "UTC")
    assert np.allclose(np.diff(t), [1.0, 0.5], atol=1e-6)


# ----------------------------------------------------------------------------- structure
def test_comments_covariance_accelerations_and_versions(tmp_path):
    text = oem_text(header_extra="MESSAGE_ID = ABC-1\nCOMMENT produced by a test", version="3.0")
    lines = text.splitlines()
    i = lines.index("META_STOP")
    lines.insert(i + 1, "COMMENT data follow")
    lines.insert(i + 1, "")
    # accelerations on one data line, then a covariance block
    lines[i + 3] = lines[i + 3] + " 0.001 0.002 0.003"
    lines += ["COVARIANCE_START", "EPOCH = 2026-11-23T00:00:00", "COV_REF_FRAME = RTN",
              "1.0", "0.1 1.0", "COVARIANCE_STOP"]
    eph = read_oem(write_text(tmp_path, "\n".join(lines) + "\n"))
    assert eph.header["MESSAGE_ID"] == "ABC-1"
    assert len(eph.segments[0].t) == 11
    assert read_oem(write_text(tmp_path, oem_text(version="1.0"), "v1.oem")).segments


def _segment(k, start, stop, step=60.0, extra_meta="", time_system="TDB"):
    t = start + step * np.arange(round((stop - start) / step) + 1)
    p, v = k.state_km(t)
    from relay.orbits.oem import _format_epoch

    ep = _format_epoch(t, time_system)
    lines = ["META_START", f"OBJECT_NAME = {k.name}", "OBJECT_ID = X", "CENTER_NAME = MARS",
             "REF_FRAME = ICRF", f"TIME_SYSTEM = {time_system}", f"START_TIME = {ep[0]}",
             f"STOP_TIME = {ep[-1]}"]
    lines += [l for l in extra_meta.splitlines() if l]
    lines += ["INTERPOLATION = LAGRANGE", "INTERPOLATION_DEGREE = 7", "META_STOP"]
    lines += [f"{e} " + " ".join(f"{x:.6f}" for x in pi) + " " + " ".join(f"{x:.9f}" for x in vi)
              for e, pi, vi in zip(ep, p, v)]
    return lines


HEADER = ["CCSDS_OEM_VERS = 2.0", "CREATION_DATE = 2026-11-20T00:00:00", "ORIGINATOR = TEST"]


def test_multi_segment_picks_the_right_segment(tmp_path):
    """Two orbits (a 'manoeuvre' at the boundary): each time uses its own segment."""
    a, b = tgo(), tgo(semi_major_axis_km=3900.0, raan_deg=5.0)
    mid = EPOCH + 3 * 3600
    lines = HEADER + _segment(a, EPOCH, mid) + _segment(b, mid, EPOCH + 6 * 3600)
    eph = read_oem(write_text(tmp_path, "\n".join(lines) + "\n"))
    assert len(eph.segments) == 2
    t = random_times(EPOCH, EPOCH + 6 * 3600, 1000)
    p, _ = eph.state_km(t)
    first = t < mid
    assert max_err(p[first], a.state_km(t[first])[0]) < ROUND_TRIP_KM
    assert max_err(p[~first], b.state_km(t[~first])[0]) < ROUND_TRIP_KM
    # no blending across the boundary: just before it, segment a; just after, segment b
    pb, _ = eph.state_km(np.array([mid - 1.0, mid + 1.0]))
    assert np.linalg.norm(pb[0] - a.state_km(np.array([mid - 1.0]))[0][0]) < ROUND_TRIP_KM
    assert np.linalg.norm(pb[1] - b.state_km(np.array([mid + 1.0]))[0][0]) < ROUND_TRIP_KM


def test_overlapping_segments_later_wins_and_usable_span(tmp_path):
    a, b = tgo(), tgo(semi_major_axis_km=3900.0)
    from relay.orbits.oem import _format_epoch

    us, ue = _format_epoch([EPOCH + 600, EPOCH + 4 * 3600], "TDB")
    lines = (HEADER + _segment(a, EPOCH, EPOCH + 4 * 3600,
                               extra_meta=f"USEABLE_START_TIME = {us}\nUSEABLE_STOP_TIME = {ue}")
             + _segment(b, EPOCH + 2 * 3600, EPOCH + 5 * 3600))
    eph = read_oem(write_text(tmp_path, "\n".join(lines) + "\n"))
    assert eph.coverage_tdb_s[0] == pytest.approx(EPOCH + 600, abs=1e-6)
    t = np.array([EPOCH + 3600, EPOCH + 3 * 3600])
    p, _ = eph.state_km(t)
    assert np.linalg.norm(p[0] - a.state_km(t[:1])[0][0]) < ROUND_TRIP_KM
    assert np.linalg.norm(p[1] - b.state_km(t[1:])[0][0]) < ROUND_TRIP_KM
    with pytest.raises(CoverageError) as err:
        eph.state_km(np.array([EPOCH + 300]))  # before USEABLE_START_TIME
    assert tdb_s_to_iso(EPOCH + 600) in str(err.value)


def test_coverage_errors_name_the_span_and_gaps(tmp_path):
    k = tgo()
    lines = HEADER + _segment(k, EPOCH, EPOCH + 3600) + _segment(k, EPOCH + 7200, EPOCH + 10800)
    eph = read_oem(write_text(tmp_path, "\n".join(lines) + "\n"))
    with pytest.raises(CoverageError) as err:
        eph.state_km(np.array([EPOCH + 5000]))  # in the gap
    msg = str(err.value)
    for t in (EPOCH, EPOCH + 3600, EPOCH + 7200, EPOCH + 10800):
        assert tdb_s_to_iso(t) in msg
    assert "x.oem" in msg
    with pytest.raises(CoverageError, match=re.escape(tdb_s_to_iso(EPOCH + 10800))):
        eph.state_km(np.array([EPOCH + 20000]))
    with pytest.raises(CoverageError):
        check_coverage(eph, np.array([EPOCH - 10]))
    assert len(eph.intervals_tdb_s) == 2


def test_several_objects_need_a_choice(tmp_path):
    a, b = tgo(), tgo(name="MRO", semi_major_axis_km=3650.0)
    seg_b = [l.replace("OBJECT_ID = X", "OBJECT_ID = Y") for l in _segment(b, EPOCH, EPOCH + 3600)]
    path = write_text(tmp_path, "\n".join(HEADER + _segment(a, EPOCH, EPOCH + 3600) + seg_b) + "\n")
    with pytest.raises(RelayInputError, match="several objects.*MRO.*TGO"):
        read_oem(path)
    eph = read_oem(path, object_name="MRO")
    t = np.array([EPOCH + 100.0])
    assert np.linalg.norm(eph.state_km(t)[0] - b.state_km(t)[0]) < ROUND_TRIP_KM


# ----------------------------------------------------------------------------- malformed files
def _mutate(text, old, new, count=1):
    assert old in text, old
    return text.replace(old, new, count)


def _data_line_no(text, index):
    lines = text.splitlines()
    start = lines.index("META_STOP") + 1
    return start + index + 1


MALFORMED = {
    # name: (mutation, expected text in the message, where: a line number, "data:k" for the
# k-th data line, "kw:KEY" for the line of KEY, "after:KEY" the line after it, "meta_stop")
    "non-numeric": (lambda s: _mutate(s, " 0.", " 0.x", 1),
                    "expected a number", "data:2"),
    "truncated data line": (lambda s: s[: s.rstrip().rfind(" ", 0, len(s.rstrip()) - 20)] + "\n",
                            "truncated", "data:11"),
    "no META_STOP": (lambda s: s.split("META_STOP")[0], "truncated", None),
    "epochs not increasing": (lambda s: _mutate(s, "2026-11-23T00:03:00.000", "2026-11-23T00:01:00.000"),
                              "strictly increasing", "data:4"),
    "missing keyword": (lambda s: _mutate(s, "REF_FRAME = ICRF\n", ""), "REF_FRAME", "meta_stop"),
    "unknown frame": (lambda s: _mutate(s, "REF_FRAME = ICRF", "REF_FRAME = ITRF2000"), "ITRF2000", "kw:REF_FRAME"),
    "unknown centre": (lambda s: _mutate(s, "CENTER_NAME = MARS", "CENTER_NAME = EARTH"), "EARTH", "kw:CENTER_NAME"),
    "unknown time system": (lambda s: _mutate(s, "TIME_SYSTEM = TDB", "TIME_SYSTEM = UT1"), "UT1", "kw:TIME_SYSTEM"),
    "too few points": (lambda s: _mutate(s, "INTERPOLATION_DEGREE = 3", "INTERPOLATION_DEGREE = 12"),
                       "needs at least 13", "data:11"),
    "bad epoch": (lambda s: _mutate(s, "2026-11-23T00:04:00.000", "2026-11-23T0:04:00"),
                  "expected an epoch", "data:5"),
    "bad degree": (lambda s: _mutate(s, "INTERPOLATION_DEGREE = 3", "INTERPOLATION_DEGREE = three"),
                   "whole number", "kw:INTERPOLATION_DEGREE"),
    "unknown keyword": (lambda s: _mutate(s, "REF_FRAME = ICRF", "REF_FRAME = ICRF\nFOO = 1"), "FOO", "after:REF_FRAME"),
    "unknown interpolation": (lambda s: _mutate(s, "INTERPOLATION = LAGRANGE", "INTERPOLATION = SPLINE"),
                              "SPLINE", "kw:INTERPOLATION"),
    "not an OEM": (lambda s: "hello world\n" + s, "CCSDS_OEM_VERS", 1),
    "XML": (lambda s: '<?xml version="1.0"?>\n<oem/>\n', "XML", 1),
    "bad version": (lambda s: _mutate(s, "CCSDS_OEM_VERS = 2.0", "CCSDS_OEM_VERS = 9.9"), "9.9", 1),
    "no ORIGINATOR": (lambda s: _mutate(s, "ORIGINATOR = TEST\n", ""), "ORIGINATOR", "kw:META_START"),
    "epoch after STOP_TIME": (lambda s: _mutate(s, "STOP_TIME = 2026-11-23T00:10:00", "STOP_TIME = 2026-11-23T00:05:00"),
                              "outside", "data:7"),
    "wrong field count": (lambda s: _mutate(s, " 0.", " 0.5 0.", 1), "8 fields", "data:2"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_name_the_line(tmp_path, case):
    mutate, expected, where = MALFORMED[case]
    good = oem_text()
    bad = mutate(good)
    path = write_text(tmp_path, bad, "bad.oem")
    with pytest.raises(RelayInputError) as err:
        read_oem(path)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    assert expected in msg, msg
    lines = bad.splitlines()
    if where is None:
        return
    if isinstance(where, int):
        line = where
    elif where.startswith("data:"):
        line = lines.index("META_STOP") + 1 + int(where[5:])
    elif where == "meta_stop":
        line = lines.index("META_STOP") + 1
    elif where.startswith("kw:"):
        key = where[3:]
        line = next(i for i, l in enumerate(lines, 1) if l.split("=")[0].strip() == key)
    elif where.startswith("after:"):
        key = where[6:]
        line = 1 + next(i for i, l in enumerate(lines, 1) if l.split("=")[0].strip() == key)
    assert f"line {line}:" in msg, msg


def test_unreadable_and_empty_files(tmp_path):
    with pytest.raises(RelayInputError, match="cannot read"):
        read_oem(tmp_path / "missing.oem")
    with pytest.raises(RelayInputError, match="empty"):
        read_oem(write_text(tmp_path, "\n\n", "e.oem"))
    p = tmp_path / "bin.oem"
    p.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(RelayInputError, match="not a text file"):
        read_oem(p)
    with pytest.raises(RelayInputError, match="no data lines"):
        read_oem(write_text(tmp_path, oem_text(rows=[]), "nodata.oem"))
