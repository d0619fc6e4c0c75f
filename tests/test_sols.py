"""Mission sols and LMST against published mission facts, and the sol boundary at local midnight."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relay.config import Landing
from relay.sols import SolClock, clock_of
from relay.timescales import parse_utc, utc_to_tdb_s

GALE_E = 137.4417
JEZERO_E = 77.4508
CURIOSITY = Landing(date="2012-08-06T05:17:57Z", sol=0)
PERSEVERANCE = Landing(date="2021-02-18T20:44:00Z", sol=0)


def t(iso: str) -> float:
    return utc_to_tdb_s(parse_utc(iso))


def sols_on(clock: SolClock, day: str) -> set[int]:
    t0 = t(day + "T00:00:00Z")
    return set(int(s) for s in clock.sol(t0 + np.arange(0.0, 86400.0, 300.0)))


def test_curiosity_mission_sols_match_published_milestones():
    c = clock_of(GALE_E, CURIOSITY)
    # NASA: Curiosity's 2,000th sol was celebrated on 22 March 2018 (spaceflightinsider.com, 2018-03-25)
    assert 2000 in sols_on(c, "2018-03-22")
    # 4,000 sols reported on 7 November 2023 (hothardware.com; digitalchew.com 2023-11-07)
    assert 4000 in sols_on(c, "2023-11-07")
    # landing in the Gale afternoon (about 3 pm local mean solar time)
    (lmst,) = c.lmst([t(CURIOSITY.date)])
    assert "14:30:00" < lmst < "15:30:00"


def test_perseverance_landed_at_about_3_53_pm_lmst_on_sol_0():
    c = clock_of(JEZERO_E, PERSEVERANCE)
    assert c.sol([t(PERSEVERANCE.date)])[0] == 0
    (lmst,) = c.lmst([t(PERSEVERANCE.date)])
    assert "15:40:00" < lmst < "16:05:00"   # NASA: touchdown at 3:53 p.m. LMST


def test_without_a_landing_the_sol_is_the_local_mars_sol_date():
    from relay.timescales import mars_sol_date

    c = clock_of(GALE_E)
    assert c.kind == "MSD"
    x = t("2026-12-01T00:00:00Z")
    assert c.sol([x])[0] == int(np.floor(mars_sol_date(x) + GALE_E / 360.0))


@settings(max_examples=40, deadline=None)
@given(lon=st.floats(0.0, 359.9), frac=st.floats(0.0, 1.0))
def test_the_mission_sol_turns_at_local_midnight(lon, frac):
    """Just before LMST 00:00 the sol is one less than just after; elsewhere a minute changes nothing."""
    c = clock_of(lon, CURIOSITY)
    from relay.timescales import local_sol_start_tdb_s

    k = 50000 + int(frac * 100)
    midnight = float(local_sol_start_tdb_s(k, lon))
    before, after = c.sol([midnight - 0.5, midnight + 0.5])
    assert after == before + 1
    assert c.lmst([midnight + 1.0])[0].startswith("00:00:0")
    noon = midnight + 88775.244 / 2
    assert c.sol([noon - 60])[0] == c.sol([noon + 60])[0] == after


@pytest.mark.slow
def test_plan_tables_carry_sol_and_lmst():
    import relay

    r = relay.plan("configs/baseline.yaml", "2026-12-01T00:00:00Z", 1.0)
    assert {"sol", "lmst_start", "lmst_end"} <= set(r.sessions.columns)
    cur = r.sessions[r.sessions["asset"] == "Curiosity"]
    assert set(cur["sol"]) <= {5089, 5090, 5091} and len(cur)
    assert all(len(x) == 8 and x[2] == ":" for x in cur["lmst_start"])
    assert {"sol", "lmst_start", "lmst_end"} <= set(r.passes.columns)
    assert dict(r.summary.sol_numbering) == {"Curiosity": "mission", "Perseverance": "mission"}
