"""The one spelling of a time at relay's boundaries (issue 17): relay.timescales.iso_z."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
from hypothesis import given, strategies as st

from relay.timescales import iso_z, parse_utc


def test_iso_z_places_and_zones():
    t = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=timezone.utc)
    assert iso_z(t) == "2026-12-08T01:02:03.456Z"
    assert iso_z(t, 0) == "2026-12-08T01:02:03Z"
    assert iso_z(t, 6) == "2026-12-08T01:02:03.456789Z"
    assert iso_z(t.astimezone(timezone(timedelta(hours=-7)))) == "2026-12-08T01:02:03.456Z"
    assert iso_z(t.replace(tzinfo=None)) == "2026-12-08T01:02:03.456Z"     # naive: UTC already
    assert iso_z(pd.Timestamp("2026-12-08T01:02:03.456Z")) == "2026-12-08T01:02:03.456Z"


@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1)))
def test_iso_z_reads_back_to_the_millisecond(t):
    t = t.replace(tzinfo=timezone.utc)
    back = parse_utc(iso_z(t))
    assert abs((back - t).total_seconds()) < 1e-3 and back <= t


def test_relays_timescale_is_skyfields_builtin_one():
    """relay builds Skyfield's builtin timescale without importing skyfield.api (start-up); the
    reference is Skyfield's own ``load.timescale(builtin=True)``: the same TT, UT1, TDB and
    Delta T over 1900-2060, leap seconds included (a second either side of 2016-12-31's)."""
    import numpy as np
    from skyfield.api import load

    from relay.timescales import timescale

    ours, theirs = timescale(), load.timescale(builtin=True)
    years = np.arange(1900, 2061)
    a, b = ours.utc(years, 7, 1.25), theirs.utc(years, 7, 1.25)
    for scale in ("tt", "ut1", "tdb", "delta_t", "dut1"):
        assert np.array_equal(getattr(a, scale), getattr(b, scale)), scale
    seconds = [59.0, 60.0, 60.5, 61.0]
    leap_a, leap_b = ours.utc(2016, 12, 31, 23, 59, seconds), theirs.utc(2016, 12, 31, 23, 59, seconds)
    assert np.array_equal(leap_a.tt, leap_b.tt)
    assert [t.utc_iso() for t in leap_a] == [t.utc_iso() for t in leap_b]
    assert leap_a[1].utc_iso() == "2016-12-31T23:59:60Z"  # the leap second itself
