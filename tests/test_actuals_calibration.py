"""The calibration record and its fit (issue 22), checked against a known truth."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.actuals.calibrate import PRIOR_REPORTS, PRIOR_SIGMA, fit_pair
from relay.links.calibration import (Calibration, Fit, PairFit, expected, expected_min, prob_at_least, quantile_factor,
                                  read_calibration)
from relay.actuals.simulate import PairTruth, draw, draw_log_ratios
from relay.errors import RelayInputError

#: after N = 200 reports a pair's bias (log ratio) is recovered within this (about three standard errors
#: of the median at sigma 0.4, plus the shrinkage's k / (n + k) of the bias)
BIAS_TOLERANCE_200 = 0.1

TRUTHS = [PairTruth(-0.3, 0.4, 0.1), PairTruth(0.0, 0.1, 0.02), PairTruth(0.2, 0.25, 0.05), PairTruth(-0.6, 0.3, 0.0)]


@pytest.mark.parametrize("truth", TRUTHS)
def test_calibration_recovers_each_pairs_bias_after_200_reports(truth):
    rng = np.random.default_rng(7)
    errors = []
    for _ in range(20):
        r, failed = draw_log_ratios(truth, 200, rng)
        f = fit_pair(r, failed, 200)
        errors.append(f.mu - truth.mu)
        assert abs(f.mu - truth.mu) <= BIAS_TOLERANCE_200
        assert abs(f.sigma - truth.sigma) <= 0.1
        assert abs(f.fail_p - truth.fail_p) <= 0.06
    assert abs(np.mean(errors)) < 0.05


def test_the_error_shrinks_with_more_reports():
    rng = np.random.default_rng(3)
    truth = PairTruth(-0.4, 0.35, 0.05)

    def rms(n):
        return math.sqrt(np.mean([(fit_pair(*draw_log_ratios(truth, n, rng), n).mu - truth.mu) ** 2
                                  for _ in range(200)]))
    e5, e50, e500 = rms(5), rms(50), rms(500)
    assert e5 > e50 > e500
    assert e500 < 0.04


def test_few_reports_are_shrunk_toward_the_uncalibrated_model():
    none = fit_pair([], 0, 0)
    assert (none.mu, none.sigma, none.n) == (0.0, PRIOR_SIGMA, 0)
    one = fit_pair([-0.6], 0, 1)
    w = 1 / (1 + PRIOR_REPORTS)
    assert one.mu == pytest.approx(w * -0.6, abs=1e-6)
    assert one.median_log == pytest.approx(-0.6)
    assert fit_pair([-0.6] * 1000, 0, 1000).mu == pytest.approx(-0.6 * 1000 / 1005, abs=1e-6)
    # the failure rate: Beta(1, 19) prior, posterior mean
    assert fit_pair([], 3, 10).fail_p == pytest.approx(4 / 30, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(-1, 1), sigma=st.floats(0.01, 1), fail=st.floats(0, 0.4), q=st.floats(0.02, 0.98),
       pred=st.floats(1, 1000))
def test_the_quantile_and_the_probability_agree(mu, sigma, fail, q, pred):
    fit = Fit(mu, sigma, fail)
    x = pred * quantile_factor(fit, q)
    if q <= fail:
        assert x == 0.0
    else:
        assert prob_at_least(fit, pred, x) == pytest.approx(1 - q, abs=1e-6)


def test_expected_volumes_match_a_monte_carlo():
    rng = np.random.default_rng(1)
    fit, truth = Fit(-0.2, 0.3, 0.1), PairTruth(-0.2, 0.3, 0.1)
    got, _ = draw(truth, np.full(400_000, 150.0), rng)
    assert expected(fit, 150.0) == pytest.approx(got.mean(), rel=0.01)
    assert expected_min(fit, 150.0, 120.0) == pytest.approx(np.minimum(got, 120.0).mean(), rel=0.01)


def test_the_record_round_trips_and_bad_records_are_refused(tmp_path):
    cal = Calibration((PairFit("MRO", "Curiosity", Fit(-0.1, 0.2, 0.03, 12, 13)),), {"k": 5}, ("plan",), 13, "x")
    path = cal.write(tmp_path / "cal.json")
    back = read_calibration(path)
    assert back == cal
    assert back.fit_of("MRO", "Curiosity", 40.0).mu == -0.1
    assert back.fit_of("TGO", "Curiosity").sigma == 0.0          # not named: uncalibrated
    data = json.loads(path.read_text())
    data["version"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(RelayInputError, match="version"):
        read_calibration(path)
    data["version"] = 1
    data["pairs"][0]["fit"]["sigma"] = -1
    path.write_text(json.dumps(data))
    with pytest.raises(RelayInputError, match=r"pairs\[0\]\.fit\.sigma"):
        read_calibration(path)


def test_an_elevation_band_with_enough_reports_gets_its_own_fit():
    import pandas as pd

    from relay.actuals.calibrate import MIN_BAND_REPORTS, fit_reports

    rng = np.random.default_rng(5)
    low, high = PairTruth(-0.5, 0.2, 0.0), PairTruth(0.1, 0.2, 0.0)
    rows = []
    for truth, el, n in ((low, 20.0, 60), (high, 70.0, 60), (high, 45.0, MIN_BAND_REPORTS - 1)):
        got, _ = draw(truth, np.full(n, 100.0), rng)
        rows += [{"outcome": "ok", "achieved_mbit": g, "predicted_mbit": 100.0, "max_elevation_deg": el} for g in got]
    p = fit_reports(pd.DataFrame(rows), "MRO", "Curiosity")
    assert [(b.lo_deg, b.fit.n) for b in p.bands] == [(0.0, 60), (60.0, 60)]   # 30-60: too few
    lo, hi = p.bands[0].fit, p.bands[1].fit
    assert abs(lo.mu - low.mu) < 0.1 and abs(hi.mu - high.mu) < 0.1
    cal = Calibration((p,))
    assert cal.fit_of("MRO", "Curiosity", 10.0) == lo and cal.fit_of("MRO", "Curiosity", 75.0) == hi
    assert cal.fit_of("MRO", "Curiosity", 45.0) == p.fit
