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
