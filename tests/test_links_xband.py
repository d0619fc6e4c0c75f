"""X-band downlink: budget calibration, station time (daily cap, bookings CSV) (issue 3)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from relay.config_links import StationXBand, XBandSpec, default_xband
from relay.constants import AU_KM
from relay.errors import RelayInputError
from relay.inputs import read_bookings
from relay.links import stations
from relay.links.stations import track_capacities, track_capacities_from_specs
from relay.links.xband import xband_budget_table, xband_rate_kbps, xband_supportable_db
from relay.timescales import tdb_s_to_iso, utc_to_tdb_s

FAST = settings(max_examples=40, deadline=None)
ROOT = Path(__file__).resolve().parents[1]
MRO = XBandSpec()          # defaults are MRO's (3 m, 100 W)
DSN34 = StationXBand()     # 34 m


# --- calibration (mars.nasa.gov MRO X-band page, shared/domain.md) ------------------------

@pytest.mark.parametrize("el", [20.0, 30.0, 45.0, 60.0, 90.0])
def test_mro_to_34m_at_least_500_kbps_at_max_distance(el):
    assert xband_rate_kbps(MRO, DSN34, 2.5 * AU_KM, el) >= 500.0


@pytest.mark.parametrize("el", [10.0, 20.0, 45.0, 90.0])
def test_mro_to_34m_3_to_4_mbps_at_closest(el):
    assert 3000.0 <= xband_rate_kbps(MRO, DSN34, 0.5 * AU_KM, el) <= 4000.0
    assert 3000.0 <= xband_rate_kbps(MRO, DSN34, 0.65 * AU_KM, el) <= 4000.0


MILES_KM = 1.609344


@pytest.mark.parametrize("el", [20.0, 45.0, 90.0])
def test_mro_published_figures_at_the_real_extremes(el):
    # [MROX]: "at its maximum distance from Earth of about 250 million miles ... at least 500
    # kilobits per second"; "at its closest range of about 60 million miles ... 3 to 4 megabits"
    assert xband_rate_kbps(MRO, DSN34, 250e6 * MILES_KM, el) >= 500.0
    assert 3000.0 <= xband_rate_kbps(MRO, DSN34, 60e6 * MILES_KM, el) <= 4000.0


def test_odyssey_never_beats_its_published_110_kbps():
    # [ODYTEL]: Odyssey's 1.3 m HGA "can transmit at data rates as high as 110 thousand bits
    # per second" -- even to a 70 m dish at the closest approach the budget would allow more
    ody = default_xband("Odyssey")
    assert max(ody.rates_kbps) == 110.0
    dss70 = StationXBand(dish_diameter_m=70.0)
    assert 10 ** (float(xband_supportable_db(ody, dss70, 0.4 * AU_KM, 60.0)) / 10) / 1e3 > 500.0
    assert xband_rate_kbps(ody, dss70, 0.4 * AU_KM, 60.0) == 110.0


@pytest.mark.parametrize("orbiter", ["MRO", "TGO", "MAVEN", "Odyssey", "MEX"])
def test_every_preset_reaches_down_to_about_1_kbps(orbiter):
    x = default_xband(orbiter)
    assert min(x.rates_kbps) <= 1.0
    # a far orbiter at a 35 m station in conjunction-like geometry still downlinks, slowly
    r = float(xband_rate_kbps(x, StationXBand(dish_diameter_m=35.0), 2.6 * AU_KM, 15.0))
    assert 0.0 < r < 1000.0


def test_odyssey_june_2019_downlinks_slowly_rather_than_not_at_all():
    """Issue 13: in the insight-2019 week Odyssey (1.3 m, 15 W, ~2.6 AU from Earth) had 0 kbps
    with the old table floored at 31.25 kbps and delivered nothing to Earth."""
    from relay import api
    from relay.config import load_scenario
    from relay.links.stations import track_capacities

    sc = load_scenario(ROOT / "configs" / "insight-2019.yaml")
    ts = api.track_set(sc, "2019-06-03T00:00:00Z", 2.0)
    out, dl, _ = track_capacities(sc, ts.tracks, ts.profiles)
    ody = out[out["orbiter"] == "Odyssey"]
    assert len(ody) > 0 and (ody["max_rate_kbps"] > 0).all()
    assert (ody["max_rate_kbps"] < 31.25).all()          # slowly: below the old floor
    assert dl.loc[dl["orbiter"] == "Odyssey", "volume_mbit"].sum() > 100.0
    # the same geometry with the old table (floored at 31.25 kbps) gives Odyssey nothing
    old = sc.model_copy(deep=True)
    for o in old.orbiters:
        if o.name == "Odyssey":
            o.xband = o.xband.model_copy(update={"rates_kbps": [31.25, 62.5, 125.0]})
    out_old, _, _ = track_capacities(old, ts.tracks, ts.profiles)
    assert (out_old.loc[out_old["orbiter"] == "Odyssey", "max_rate_kbps"] == 0).all()


def test_insight_2019_week_delivers_odyssey_data():
    from relay import api

    r = api.plan(str(ROOT / "configs" / "insight-2019.yaml"), "2019-06-03T00:00:00Z", 7.0,
                 time_limit_s=20.0, workers=1, seed=1)
    dl = r.downlinks[r.downlinks["orbiter"] == "Odyssey"]
    ses = r.sessions[r.sessions["orbiter"] == "Odyssey"]
    assert len(ses) > 0 and ses["volume_mbit"].sum() > 0
    assert len(dl) > 0 and dl["volume_mbit"].sum() > 0
    # what Odyssey downlinks is what it relayed (its store starts empty), never more
    assert dl["volume_mbit"].sum() <= ses["volume_mbit"].sum() + 1e-6


def test_budget_table_rows_add_up():
    tab = xband_budget_table(MRO, DSN34, 2.5 * AU_KM, 30.0, "MRO", "DSS-26")
    v = {(t, u): val for t, val, u in tab.itertuples(index=False)}
    eirp = v[("amplifier power", "dBW")] + v[("antenna gain", "dBi")] + v[("line loss", "dB")] \
        + v[("pointing loss", "dB")]
    assert v[("EIRP", "dBW")] == pytest.approx(eirp)
    prn0 = eirp + v[("free-space loss", "dB")] + v[("atmospheric loss", "dB")] \
        + v[("station G/T at elevation", "dB/K")] - v[("Boltzmann constant", "dBW/K/Hz")]
    assert v[("Pr/N0", "dB-Hz")] == pytest.approx(prn0)
    assert MRO.antenna_gain_dbi == pytest.approx(45.86, abs=0.05)   # 3 m, 55 %, 8.42 GHz
    assert v[("selected table rate", "kbps")] in MRO.rates_kbps


def test_bigger_dishes_and_presets():
    assert xband_rate_kbps(MRO, StationXBand(dish_diameter_m=70.0), 2.5 * AU_KM, 30.0) > \
        xband_rate_kbps(MRO, DSN34, 2.5 * AU_KM, 30.0)
    tgo = default_xband("TGO")
    assert (tgo.dish_diameter_m, tgo.amplifier_power_w) == (2.2, 65.0)
    assert xband_rate_kbps(tgo, DSN34, 2.0 * AU_KM, 30.0) < xband_rate_kbps(MRO, DSN34,
                                                                           2.0 * AU_KM, 30.0)
    assert StationXBand(dish_diameter_m=35.0).resolved_gt_db_per_k == 50.5
    assert StationXBand(gt_db_per_k=52.0).resolved_gt_db_per_k == 52.0


@FAST
@given(el=st.floats(1.0, 90.0), d1=st.floats(0.3, 2.8), dd=st.floats(0.0, 2.0))
def test_more_range_never_more_rate(el, d1, dd):
    assert xband_rate_kbps(MRO, DSN34, (d1 + dd) * AU_KM, el) <= xband_rate_kbps(
        MRO, DSN34, d1 * AU_KM, el)


@FAST
@given(e1=st.floats(1.0, 90.0), de=st.floats(0.0, 89.0), d=st.floats(0.3, 2.8))
def test_higher_elevation_never_less_rate(e1, de, d):
    e2 = min(90.0, e1 + de)
    assert xband_rate_kbps(MRO, DSN34, d * AU_KM, e2) >= xband_rate_kbps(MRO, DSN34, d * AU_KM, e1)


def test_below_horizon_sends_nothing():
    assert xband_rate_kbps(MRO, DSN34, 1.0 * AU_KM, -1.0) == 0.0


def test_rate_vs_distance_table_is_a_conservative_step():
    x = XBandSpec(rate_vs_distance=[(1.0, 3000.0), (2.0, 1000.0), (2.7, 500.0)],
                  rates_kbps=[500.0, 1000.0, 2000.0, 3000.0])
    r = xband_rate_kbps(x, DSN34, np.array([0.5, 1.0, 1.5, 2.6, 2.8]) * AU_KM, 45.0)
    assert r.tolist() == [3000.0, 3000.0, 1000.0, 500.0, 0.0]


# --- track capacities ---------------------------------------------------------------------

def make_tracks(windows, range_au=1.0, el=45.0, step_s=60.0):
    """windows: [(orbiter, station, start_tdb_s, end_tdb_s)] -> tracks, track_profiles."""
    rows, prof = [], []
    for k, (o, s, a, b) in enumerate(windows):
        t = np.append(np.arange(a, b, step_s), b)
        rows.append((k, o, s, a, b, b - a))
        prof.append(pd.DataFrame({"track_id": k, "tdb_s": t, "elevation_deg": el,
                                  "range_km": range_au * AU_KM}))
    tracks = pd.DataFrame(rows, columns=["track_id", "orbiter", "station", "start_tdb_s",
                                         "end_tdb_s", "duration_s"])
    return tracks, pd.concat(prof, ignore_index=True)


T0 = float(utc_to_tdb_s("2026-11-23T00:00:00Z"))


def specs(*stations):
    return {"MRO": XBandSpec(max_hours_per_day=8.0), "TGO": default_xband("TGO")}, \
        {s: StationXBand() for s in stations}


def test_constant_rate_window_capacity():
    tracks, tp = make_tracks([("MRO", "DSS-26", T0, T0 + 3600.0)])
    xo, xs = specs("DSS-26")
    out, dl, table = track_capacities_from_specs(xo, xs, tracks, tp, earth_leg="first-come")
    rate = float(xband_rate_kbps(xo["MRO"], xs["DSS-26"], AU_KM, 45.0))
    assert out.max_rate_kbps[0] == rate
    assert out.volume_mbit[0] == pytest.approx(rate * 3600.0 / 1e3)
    assert out.used_volume_mbit[0] == pytest.approx(out.volume_mbit[0])
    assert table.volume_mbit(0, T0 + 600.0, T0 + 1200.0) == pytest.approx(rate * 600.0 / 1e3)
    assert list(dl.source) == ["daily-cap"]


def test_daily_cap_and_overlaps_without_bookings():
    h = 3600.0
    windows = [("MRO", "DSS-26", T0 + 1 * h, T0 + 6 * h),      # 5 h
               ("MRO", "DSS-55", T0 + 4 * h, T0 + 9 * h),      # overlaps 2 h -> 3 h new
               ("MRO", "DSS-43", T0 + 12 * h, T0 + 20 * h),    # day cap reached after 0 h
               ("MRO", "DSS-26", T0 + 25 * h, T0 + 35 * h),    # next day: cut to 8 h
               ("TGO", "DSS-26", T0 + 1 * h, T0 + 6 * h)]      # other orbiter: own cap
    tracks, tp = make_tracks(windows)
    xo, xs = specs("DSS-26", "DSS-55", "DSS-43")
    out, dl, _ = track_capacities_from_specs(xo, xs, tracks, tp, earth_leg="first-come")
    dur = dl.set_index("track_id").duration_s
    assert dur[0] == pytest.approx(5 * h)
    assert dur[1] == pytest.approx(3 * h)
    assert 2 not in dur.index                                 # 8 h already used on day 1
    assert dur[3] == pytest.approx(8 * h)
    assert dur[4] == pytest.approx(5 * h)
    # no instant used twice by one orbiter, and at most 8 h per orbiter per UTC day
    for o, g in dl.groupby("orbiter"):
        s = g.sort_values("start_tdb_s")
        assert np.all(s.start_tdb_s.to_numpy()[1:] >= s.end_tdb_s.to_numpy()[:-1] - 1e-6)
        days = [d[:10] for d in tdb_s_to_iso(s.start_tdb_s.to_numpy())]
        assert s.groupby(days).duration_s.sum().max() <= 8 * h + 1e-6
    # deterministic
    again = track_capacities_from_specs(xo, xs, tracks.iloc[::-1], tp.iloc[::-1], earth_leg="first-come")[1]
    pd.testing.assert_frame_equal(dl, again)


def test_the_chosen_daily_cap_offers_every_window_in_pieces():
    # issue 19 (earth_leg "chosen"): the same windows, offered whole (less what another station already
    # offers) in pieces of at most PIECE_S that never cross a UTC midnight; the planner picks
    h = 3600.0
    windows = [("MRO", "DSS-26", T0 + 1 * h, T0 + 6 * h), ("MRO", "DSS-55", T0 + 4 * h, T0 + 9 * h),
               ("MRO", "DSS-43", T0 + 12 * h, T0 + 20 * h), ("MRO", "DSS-26", T0 + 22 * h, T0 + 35 * h)]
    tracks, tp = make_tracks(windows)
    xo, xs = specs("DSS-26", "DSS-55", "DSS-43")
    out, dl, table = track_capacities_from_specs(xo, xs, tracks, tp, earth_leg="chosen")
    assert set(dl.source) == {"station window"}
    assert dl.groupby("track_id").duration_s.sum().to_dict() == pytest.approx({0: 5 * h, 1: 3 * h, 2: 8 * h, 3: 13 * h})
    assert dl.duration_s.max() <= stations.PIECE_S + 1e-3
    s = dl.sort_values("start_tdb_s")
    assert np.all(s.start_tdb_s.to_numpy()[1:] >= s.end_tdb_s.to_numpy()[:-1] - 1e-6)
    midnight = float(utc_to_tdb_s("2026-11-24T00:00:00Z"))
    assert not any(a < midnight - 1e-6 and midnight + 1e-6 < b for a, b in zip(dl.start_tdb_s, dl.end_tdb_s))
    np.testing.assert_allclose(dl.volume_mbit, table.volume_mbit(dl.track_id.to_numpy(), dl.start_tdb_s.to_numpy(),
                                                                 dl.end_tdb_s.to_numpy()))
    # the windows' own figures are the first-come rule's
    first = track_capacities_from_specs(xo, xs, tracks, tp, earth_leg="first-come")[0]
    pd.testing.assert_frame_equal(out, first)
    # the default is the chosen Earth leg (issue 19); a scenario's planning.earth_leg says which (when the
    # settings have one)
    assert stations.EARTH_LEG == "chosen"
    pd.testing.assert_frame_equal(track_capacities_from_specs(xo, xs, tracks, tp)[1], dl)
    sc = SimpleNamespace(orbiters=[SimpleNamespace(name="MRO", xband=None)],
                         stations=[SimpleNamespace(name=n, xband=None) for n in ("DSS-26", "DSS-55", "DSS-43")],
                         planning=SimpleNamespace(earth_leg="first-come"))
    assert list(track_capacities(sc, tracks, tp)[1].source) == ["daily-cap"] * 2
    assert list(track_capacities(SimpleNamespace(**{**vars(sc), "planning": None}), tracks, tp)[1].source) == \
        ["station window"] * len(dl)


def write_bookings(tmp_path, lines, name="bookings.csv"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def iso(t):
    return tdb_s_to_iso(t, 0)


def test_bookings_are_used_instead_of_the_cap(tmp_path):
    h = 3600.0
    tracks, tp = make_tracks([("MRO", "DSS-26", T0 + 1 * h, T0 + 10 * h),
                              ("MRO", "DSS-43", T0 + 12 * h, T0 + 20 * h)])
    p = write_bookings(tmp_path, [
        "# DSN allocation",
        "orbiter,station,start,end,comment",
        f"MRO,DSS-26,{iso(T0 + 2 * h)},{iso(T0 + 4 * h)},first",
        "",
        f"MRO,DSS-43,{iso(T0 + 13 * h)},{iso(T0 + 14 * h)},second",
    ])
    b = read_bookings(p, orbiters=["MRO"], stations=["DSS-26", "DSS-43"])
    assert list(b.line) == [3, 5]
    xo, xs = specs("DSS-26", "DSS-43")
    out, dl, _ = track_capacities_from_specs(xo, xs, tracks, tp, b)
    assert list(dl.source) == ["booking line 3", "booking line 5"]
    np.testing.assert_allclose(dl.duration_s, [2 * h, 1 * h], atol=1e-3)
    assert out.used_volume_mbit.sum() == pytest.approx(dl.volume_mbit.sum())
    # through the scenario adapter, with a path
    sc = SimpleNamespace(orbiters=[SimpleNamespace(name="MRO", xband=None)],
                         stations=[SimpleNamespace(name="DSS-26", xband=None),
                                   SimpleNamespace(name="DSS-43", xband=StationXBand())])
    out2, dl2, _ = track_capacities(sc, tracks, tp, bookings=p)
    pd.testing.assert_frame_equal(dl, dl2)


def test_booking_outside_the_view_names_the_row(tmp_path):
    h = 3600.0
    tracks, tp = make_tracks([("MRO", "DSS-26", T0 + 1 * h, T0 + 10 * h)])
    p = write_bookings(tmp_path, [
        "orbiter,station,start,end",
        f"MRO,DSS-26,{iso(T0 + 2 * h)},{iso(T0 + 3 * h)}",
        f"MRO,DSS-26,{iso(T0 + 9 * h)},{iso(T0 + 11 * h)}",
    ])
    sc = SimpleNamespace(orbiters=[SimpleNamespace(name="MRO", xband=None)],
                         stations=[SimpleNamespace(name="DSS-26", xband=None)])
    with pytest.raises(RelayInputError) as e:
        track_capacities(sc, tracks, tp, bookings=p)
    msg = str(e.value)
    assert str(p) in msg and "line 3" in msg and "outside the station's view" in msg
    assert iso(T0 + 9 * h) in msg and iso(T0 + 1 * h) in msg     # the booking, nearest window
    # a station that never sees the orbiter
    p = write_bookings(tmp_path, ["orbiter,station,start,end",
                                  f"MRO,DSS-43,{iso(T0 + 2 * h)},{iso(T0 + 3 * h)}"], "b2.csv")
    sc.stations.append(SimpleNamespace(name="DSS-43", xband=None))
    with pytest.raises(RelayInputError, match="line 2.*never sees MRO"):
        track_capacities(sc, tracks, tp, bookings=p)


@pytest.mark.parametrize("lines,where,fragment", [
    (["orbiter,station,begin,end", "MRO,DSS-26,2026-11-23T01:00:00Z,2026-11-23T02:00:00Z"],
     "line 1", "lacks column(s) start"),
    (["orbiter,station,start,end", "MRO,DSS-26,2026-11-23 01:00,2026-11-23T02:00:00Z"],
     "line 2, column start", "no time zone"),
    (["orbiter,station,start,end", "MRO,DSS-26,yesterday,2026-11-23T02:00:00Z"],
     "line 2, column start", "'yesterday'"),
    (["orbiter,station,start,end", "MRO,DSS-26,2026-11-23T03:00:00Z,2026-11-23T02:00:00Z"],
     "line 2", "is not after start"),
    (["orbiter,station,start,end", "", "Voyager,DSS-26,2026-11-23T01:00:00Z,2026-11-23T02:00:00Z"],
     "line 3", "orbiter 'Voyager' is not in the scenario"),
    (["orbiter,station,start,end", "MRO,DSS-99,2026-11-23T01:00:00Z,2026-11-23T02:00:00Z"],
     "line 2", "station 'DSS-99'"),
    (["orbiter,station,start,end", "MRO,DSS-26"], "line 2", "expected 4"),
    (["# nothing"], None, "empty"),
])
def test_bookings_csv_errors_name_file_line_value(tmp_path, lines, where, fragment):
    p = write_bookings(tmp_path, lines)
    with pytest.raises(RelayInputError) as e:
        read_bookings(p, orbiters=["MRO"], stations=["DSS-26"])
    msg = str(e.value)
    assert msg.startswith(str(p))
    if where:
        assert f": {where}:" in msg
    assert fragment in msg


def test_missing_bookings_file(tmp_path):
    with pytest.raises(RelayInputError, match="cannot read the bookings file"):
        read_bookings(tmp_path / "nope.csv")


def test_bookings_at_stations_whose_windows_interleave_in_time(tmp_path):
    """Windows of one orbiter at two stations that alternate in time (DSS-26, DSS-43, DSS-26):
    each booking is charged to its own window (the table's rows are ordered by station, the
    track ids by time; an IndexError or a booking charged to the wrong window before)."""
    h = 3600.0
    tracks, tp = make_tracks([("MRO", "DSS-26", T0 + 1 * h, T0 + 10 * h),
                              ("MRO", "DSS-43", T0 + 12 * h, T0 + 20 * h),
                              ("MRO", "DSS-26", T0 + 25 * h, T0 + 30 * h)])
    p = write_bookings(tmp_path, [
        "orbiter,station,start,end",
        f"MRO,DSS-26,{iso(T0 + 2 * h)},{iso(T0 + 3 * h)}",
        f"MRO,DSS-43,{iso(T0 + 13 * h)},{iso(T0 + 15 * h)}",
        f"MRO,DSS-26,{iso(T0 + 26 * h)},{iso(T0 + 29 * h)}",
    ])
    b = read_bookings(p, orbiters=["MRO"], stations=["DSS-26", "DSS-43"])
    xo, xs = specs("DSS-26", "DSS-43")
    out, dl, _ = track_capacities_from_specs(xo, xs, tracks, tp, b)
    assert list(dl.track_id) == [0, 1, 2]
    np.testing.assert_allclose(dl.duration_s, [1 * h, 2 * h, 3 * h], atol=1e-3)
    used = out.set_index("track_id").used_volume_mbit
    per_hour = float(dl.volume_mbit.iloc[0])          # constant rate: 1 h of window 0
    np.testing.assert_allclose(used.loc[[0, 1, 2]], [per_hour, 2 * per_hour, 3 * per_hour], rtol=1e-6)
