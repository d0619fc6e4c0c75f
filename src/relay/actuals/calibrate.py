"""The link model calibrated from pass performance reports.

For each orbiter-asset pair the reports stored in one or more plan folders (actuals.csv,
:mod:`relay.actuals.reports`) give the log ratio ``r = log(achieved / predicted)`` of every
session that returned data (outcome ``ok`` or ``partial``; ``predicted`` is the link model's
volume, before any calibration) and the count of sessions that failed or were missed.  A report
says what the pass returned with the lander's queue full (rovers queue more than a pass carries),
so the ratio measures the link.

The fit (:func:`fit_pair`), with ``n`` volume reports:

* robust centre and spread of ``r``: the median ``m`` and the median absolute deviation scaled
  to a normal's sigma, ``s = 1.4826 x MAD`` (Hampel 1974; Rousseeuw and Croux, JASA 88, 1993);
* shrinkage toward the uncalibrated model (log ratio 0) when reports are few: the
  normal-normal empirical-Bayes estimate (Efron and Morris, JASA 70, 1975), whose posterior
  mean is ``mu = w m`` with ``w = n / (n + k)``; ``k`` (:data:`PRIOR_REPORTS`, 5) is the prior's
  weight in reports (the ratio of a session's variance to the prior variance of a pair's bias);
  the spread is pooled the same way with a prior spread ``sigma0`` (:data:`PRIOR_SIGMA`, 0.3:
  illustrative, about +-30 % at one sigma), ``sigma^2 = (n s^2 + k sigma0^2) / (n + k)``, and
  widened for the uncertainty of ``mu`` to the predictive spread ``sigma sqrt(1 + 1 / (n + k))``;
  with no report a pair keeps ``mu = 0`` and ``sigma0``;
* the failure rate: the posterior mean of a Beta(a, b) prior (:data:`FAIL_PRIOR`, Beta(1, 19):
  a 5 % prior mean, illustrative) after ``f`` failures in ``N`` reports, ``(a + f) / (a + b + N)``
  (Gelman et al., Bayesian Data Analysis, 3rd ed., 2013, ch. 2);
* by band of the pass's maximum elevation (:data:`relay.links.calibration.ELEVATION_BANDS`) where a
  band holds at least :data:`MIN_BAND_REPORTS` volume reports: the same fit, shrunk toward the
  pair's own instead of toward 0.

:func:`calibrate` writes nothing; ``relay actuals calibrate`` writes the record
(:class:`relay.links.calibration.Calibration`, JSON) and :func:`plot` its figure.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import RelayInputError
from ..fileio import atomic_path
from .accounting import LOST
from ..links.calibration import ELEVATION_BANDS, Band, Calibration, Fit, PairFit, quantile_factor
from .reports import read_actuals

#: the prior's weight, in reports, in the shrinkage of a pair's centre and spread
PRIOR_REPORTS = 5.0
#: the spread of log(achieved / predicted) before any report (illustrative)
PRIOR_SIGMA = 0.3
#: the Beta prior of a pair's failure rate (illustrative: a 5 % mean)
FAIL_PRIOR = (1.0, 19.0)
#: a band of elevation gets its own fit from this many volume reports
MIN_BAND_REPORTS = 20
#: the MAD's factor to a normal's sigma
MAD_TO_SIGMA = 1.4826


def fit_pair(log_ratios, failures: int, reports: int, *, toward: Fit | None = None, k: float = PRIOR_REPORTS,
             sigma0: float = PRIOR_SIGMA, fail_prior: tuple[float, float] = FAIL_PRIOR) -> Fit:
    """The shrunk fit of one pair (or band) from its log ratios and failures (module docstring);
    ``toward``: the fit shrunk toward (None: the uncalibrated model, mu 0 and ``sigma0``)."""
    r = np.asarray(log_ratios, dtype=float)
    n = int(r.size)
    mu0 = toward.mu if toward is not None else 0.0
    s0 = toward.sigma if toward is not None else sigma0
    a, b = fail_prior
    fail_p = (a + failures) / (a + b + reports)
    if n == 0:
        return Fit(mu0, s0, fail_p, 0, reports)
    m = float(np.median(r))
    s = MAD_TO_SIGMA * float(np.median(np.abs(r - m)))
    w = n / (n + k)
    mu = w * m + (1.0 - w) * mu0
    sigma = math.sqrt((n * s * s + k * s0 * s0) / (n + k)) * math.sqrt(1.0 + 1.0 / (n + k))
    return Fit(round(mu, 6), round(sigma, 6), round(fail_p, 6), n, reports, round(m, 6), round(s, 6))


def fit_reports(g: pd.DataFrame, orbiter: str, asset: str, **kw) -> PairFit:
    """The fit of one pair from its stored reports (``outcome, achieved_mbit, predicted_mbit,
    max_elevation_deg``), with a fit per elevation band holding enough of them."""
    ok = g[~g["outcome"].isin(LOST) & (g["achieved_mbit"] > 0)]
    failures = int(g["outcome"].isin(LOST).sum())
    whole = fit_pair(np.log(ok["achieved_mbit"] / ok["predicted_mbit"]), failures, len(g), **kw)
    bands = []
    for lo, hi in ELEVATION_BANDS:
        inb = (g["max_elevation_deg"] >= lo) & (g["max_elevation_deg"] < hi)
        okb = ok[(ok["max_elevation_deg"] >= lo) & (ok["max_elevation_deg"] < hi)]
        if len(okb) >= MIN_BAND_REPORTS:
            fb = fit_pair(np.log(okb["achieved_mbit"] / okb["predicted_mbit"]), int(g[inb]["outcome"].isin(LOST).sum()),
                          int(inb.sum()), toward=whole, **kw)
            bands.append(Band(lo, hi, fb))
    return PairFit(orbiter, asset, whole, tuple(bands))


def stored_reports(plan_dirs) -> pd.DataFrame:
    """The matched reports stored in the plan folders (actuals.csv), with a prediction."""
    parts = []
    for d in plan_dirs:
        a = read_actuals(d)
        parts.append(a[(a["option_id"] != "") & (a["predicted_mbit"] > 0)])
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not len(df):
        raise RelayInputError("holds no pass performance report matched to a planned session; ingest reports "
                              "first (relay actuals ingest F.csv --plan DIR)", source=", ".join(map(str, plan_dirs)))
    return df


def calibrate(plan_dirs, *, label: str = "", k: float = PRIOR_REPORTS, sigma0: float = PRIOR_SIGMA,
              fail_prior: tuple[float, float] = FAIL_PRIOR) -> Calibration:
    """The calibration record of the reports stored in ``plan_dirs``."""
    df = stored_reports(plan_dirs)
    pairs = tuple(fit_reports(g, o, a, k=k, sigma0=sigma0, fail_prior=fail_prior)
                  for (o, a), g in df.groupby(["orbiter", "asset"], sort=True))
    method = {"centre": "median of log(achieved/predicted)", "spread": f"MAD x {MAD_TO_SIGMA}",
              "shrinkage": "normal-normal empirical Bayes, weight n/(n+k) (Efron and Morris 1975)",
              "prior_reports_k": k, "prior_sigma": sigma0, "fail_prior_beta": list(fail_prior),
              "elevation_bands_deg": [list(b) for b in ELEVATION_BANDS], "min_band_reports": MIN_BAND_REPORTS}
    return Calibration(pairs, method, tuple(str(Path(d)) for d in plan_dirs), int(len(df)), label)


def calibration_lines(cal: Calibration) -> list[str]:
    """The record as a table for a person: per pair (and band) the reports, the median ratio, the
    spread, the failure rate and the ratio planned at 0.16 and 0.5."""
    lines = [f"calibration {cal.label or '(unlabelled)'}: {cal.reports} reports from {len(cal.sources)} plan(s)",
             "pair                  band      reports  failed  ratio(median)  sigma   fail_p  q0.16  q0.5"]

    def line(name, band, f):
        return (f"{name:<21} {band:<9} {f.n:>7} {f.n_all - f.n:>7} {math.exp(f.mu):>14.3f} {f.sigma:>6.3f} "
                f"{f.fail_p:>7.3f} {quantile_factor(f, 0.16):>6.3f} {quantile_factor(f, 0.5):>5.3f}")
    for p in cal.pairs:
        lines.append(line(f"{p.orbiter}/{p.asset}", "all", p.fit))
        lines += [line("", f"{b.lo_deg:g}-{min(b.hi_deg, 90):g}", b.fit) for b in p.bands]
    return lines


def plot(cal: Calibration, reports: pd.DataFrame, path) -> Path:
    """Predicted against achieved per pair, with the fitted median and its one-sigma band, as a PNG."""
    import matplotlib  # lazy: matplotlib costs 0.3-0.5 s, only this figure uses it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: see above

    n = max(1, len(cal.pairs))
    cols = min(3, n)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(4.2 * cols, 3.8 * ((n + cols - 1) // cols)),
                             squeeze=False)
    for ax, p in zip(axes.flat, cal.pairs):
        g = reports[(reports["orbiter"] == p.orbiter) & (reports["asset"] == p.asset)]
        lost = g["outcome"].isin(LOST)
        ax.scatter(g.loc[~lost, "predicted_mbit"], g.loc[~lost, "achieved_mbit"], s=12, label="reported")
        ax.scatter(g.loc[lost, "predicted_mbit"], g.loc[lost, "achieved_mbit"], s=12, marker="x", label="failed/missed")
        x = np.linspace(0.0, max(float(g["predicted_mbit"].max()), 1.0), 50)
        f = p.fit
        ax.plot(x, x * math.exp(f.mu), label=f"median x{math.exp(f.mu):.2f}")
        ax.fill_between(x, x * math.exp(f.mu - f.sigma), x * math.exp(f.mu + f.sigma), alpha=0.25,
                        label=f"+-1 sigma ({f.sigma:.2f})")
        ax.plot(x, x, "k:", lw=0.8, label="predicted")
        ax.set_title(f"{p.orbiter}/{p.asset}: n={f.n}, fail {f.fail_p:.1%}", fontsize=9)
        ax.set_xlabel("predicted, Mbit")
        ax.set_ylabel("achieved, Mbit")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return out


__all__ = ["PRIOR_REPORTS", "PRIOR_SIGMA", "FAIL_PRIOR", "MIN_BAND_REPORTS", "MAD_TO_SIGMA", "fit_pair", "fit_reports",
           "stored_reports", "calibrate", "calibration_lines", "plot"]
