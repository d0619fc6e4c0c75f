"""relay.ephem: de421's coverage is stated as constants so that a command checks a span without
opening the kernel; the kernel itself is the reference."""
from __future__ import annotations

from relay.ephem import DE421_SPAN, DE421_SPAN_JD, de421_span_tdb_s, planets
from relay.timescales import DAY_S, J2000_JD, parse_utc, utc_to_tdb_s


def test_the_stated_span_is_the_kernels():
    segments = planets().segments
    assert min(s.spk_segment.start_jd for s in segments) == DE421_SPAN_JD[0]
    assert max(s.spk_segment.end_jd for s in segments) == DE421_SPAN_JD[1]
    lo, hi = de421_span_tdb_s()
    assert (lo, hi) == ((DE421_SPAN_JD[0] - J2000_JD) * DAY_S, (DE421_SPAN_JD[1] - J2000_JD) * DAY_S)
    # the ISO spelling quoted in errors is the same span to within TDB - UTC (about a minute)
    for iso, tdb_s in zip(DE421_SPAN, (lo, hi)):
        assert abs(utc_to_tdb_s(parse_utc(iso)) - tdb_s) < 120.0
