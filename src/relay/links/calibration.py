"""The calibration record of the link model, and the volume distribution it states.

For each orbiter-asset pair (and, where there were enough reports, each band of the pass's
maximum elevation) the record holds a :class:`Fit`: the ratio achieved / predicted of a session
that is held is lognormal, ``log ratio ~ Normal(mu, sigma)``, and a session fails (returns
nothing: outcome ``failed`` or ``missed``) with probability ``fail_p``.  A session's achieved
volume is therefore the mixture ``0`` with probability ``fail_p``, else ``predicted x
exp(mu + sigma Z)``.  How the fits are made (robust centre and spread, shrinkage toward the
uncalibrated model) is :mod:`relay.actuals.calibrate`'s; this module, part of the link model
below the planner, reads and writes the record
and answers the planner's questions of it:

* :func:`quantile_factor`: the ``q`` quantile of achieved / predicted (the mixture's: 0 when
  ``q <= fail_p``, else ``exp(mu + sigma z)`` with ``z`` the standard normal quantile of
  ``(q - fail_p) / (1 - fail_p)``), so a session planned at ``predicted x quantile_factor(q)``
  achieves at least that in a share ``1 - q`` of passes;
* :func:`prob_at_least`: the probability a session achieves at least ``x`` Mbit;
* :func:`expected_min`: the expected achieved volume of a session that queues ``cap`` Mbit,
  ``E[min(cap, achieved)]`` (the lognormal's partial expectation, closed form).

A pair the record does not name is uncalibrated: :data:`UNCALIBRATED` (ratio 1, no spread, no
failures), so planning at any quantile leaves its volumes as the link model predicts them.

The file (JSON, ``"format": "relay.calibration", "version": 1``) is written by
``relay actuals calibrate`` and named by a scenario's ``link.calibration``.  This module imports
nothing of relay above :mod:`relay.fileio` and :mod:`relay.errors`.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist

from ..errors import RelayInputError, excerpt
from ..fileio import read_text, write_text

FORMAT = "relay.calibration"
VERSION = 1
#: the largest calibration file read (bytes)
MAX_RECORD_BYTES = 16 << 20
#: bands of a pass's maximum elevation (deg) the record may fit separately: [lo, hi)
ELEVATION_BANDS = ((0.0, 30.0), (30.0, 60.0), (60.0, 90.0001))
_N = NormalDist()


@dataclass(frozen=True)
class Fit:
    """The volume distribution of one pair (or one elevation band of it): log(achieved /
    predicted) ~ Normal(``mu``, ``sigma``) for a session that is held, failure with probability
    ``fail_p``; ``n`` reports of a volume and ``n_all`` reports in all (failures included) made it;
    ``median_log`` and ``spread_log`` are the raw robust figures before shrinkage."""

    mu: float = 0.0
    sigma: float = 0.0
    fail_p: float = 0.0
    n: int = 0
    n_all: int = 0
    median_log: float | None = None
    spread_log: float | None = None


#: a pair without a calibration: the link model's prediction, no spread, no failures
UNCALIBRATED = Fit()


@dataclass(frozen=True)
class Band:
    """The fit of a pair's passes whose maximum elevation is in [``lo_deg``, ``hi_deg``)."""

    lo_deg: float
    hi_deg: float
    fit: Fit


@dataclass(frozen=True)
class PairFit:
    orbiter: str
    asset: str
    fit: Fit
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class Calibration:
    """A versioned calibration record (see the module docstring)."""

    pairs: tuple[PairFit, ...] = ()
    method: dict = field(default_factory=dict)   # how it was fitted (prior spread, k, Beta prior, bands)
    sources: tuple[str, ...] = ()                # the plan folders whose reports made it
    reports: int = 0                             # reports used
    label: str = ""

    def fit_of(self, orbiter: str, asset: str, max_elevation_deg: float | None = None) -> Fit:
        """The fit of a pass of ``orbiter`` over ``asset`` (its elevation band's when the record
        has one for that band), :data:`UNCALIBRATED` for a pair the record does not name."""
        for p in self.pairs:
            if p.orbiter == orbiter and p.asset == asset:
                if max_elevation_deg is not None:
                    for b in p.bands:
                        if b.lo_deg <= max_elevation_deg < b.hi_deg:
                            return b.fit
                return p.fit
        return UNCALIBRATED

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "label": self.label, "reports": self.reports,
                "sources": list(self.sources), "method": dict(self.method),
                "pairs": [asdict(p) for p in self.pairs]}

    def write(self, path) -> Path:
        """The record as a JSON file, written atomically."""
        write_text(path, json.dumps(self.to_json(), indent=1, sort_keys=True, allow_nan=False) + "\n")
        return Path(path)


# ----------------------------------------------------------------------------- reading
def _fit(data, source: str, where: str) -> Fit:
    if not isinstance(data, dict):
        raise RelayInputError("expected an object with mu, sigma, fail_p, n, n_all", source=source, where=where)
    try:
        fit = Fit(**data)
    except TypeError as exc:
        raise RelayInputError(f"{exc}; expected the keys mu, sigma, fail_p, n, n_all, median_log, spread_log",
                              source=source, where=where) from None
    checks = (("mu", fit.mu, -20.0, 20.0), ("sigma", fit.sigma, 0.0, 20.0), ("fail_p", fit.fail_p, 0.0, 1.0))
    for key, v, lo, hi in checks:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            raise RelayInputError(f"got {excerpt(v)}, expected a number from {lo:g} to {hi:g}", source=source,
                                  where=f"{where}.{key}")
    if fit.fail_p >= 1.0:
        raise RelayInputError("got 1, expected a failure rate below 1", source=source, where=f"{where}.fail_p")
    return fit


def _pair(data, source: str, where: str) -> PairFit:
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("orbiter", "asset")):
        raise RelayInputError("expected an object with orbiter, asset, fit, bands", source=source, where=where)
    bands = []
    for j, b in enumerate(data.get("bands") or ()):
        w = f"{where}.bands[{j}]"
        if not isinstance(b, dict) or not all(isinstance(b.get(k), (int, float)) for k in ("lo_deg", "hi_deg")):
            raise RelayInputError("expected an object with lo_deg, hi_deg, fit", source=source, where=w)
        bands.append(Band(float(b["lo_deg"]), float(b["hi_deg"]), _fit(b.get("fit"), source, w + ".fit")))
    return PairFit(data["orbiter"], data["asset"], _fit(data.get("fit"), source, where + ".fit"), tuple(bands))


def calibration_from_json(data, source: str = "calibration") -> Calibration:
    """A :class:`Calibration` from its JSON object; an input error naming the key otherwise."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RelayInputError(f"is not a {FORMAT} record (the file relay actuals calibrate writes)", source=source)
    if data.get("version") != VERSION:
        raise RelayInputError(f"got version {excerpt(data.get('version'))}; this relay reads version {VERSION}",
                              source=source, where="version")
    pairs = data.get("pairs")
    if not isinstance(pairs, list):
        raise RelayInputError("expected a list of pairs", source=source, where="pairs")
    out = tuple(_pair(p, source, f"pairs[{i}]") for i, p in enumerate(pairs))
    seen = set()
    for i, p in enumerate(out):
        if (p.orbiter, p.asset) in seen:
            raise RelayInputError(f"the pair {p.orbiter}/{p.asset} is given twice", source=source,
                                  where=f"pairs[{i}]")
        seen.add((p.orbiter, p.asset))
    return Calibration(out, dict(data.get("method") or {}), tuple(str(s) for s in data.get("sources") or ()),
                       int(data.get("reports") or 0), str(data.get("label") or ""))


def read_calibration(path) -> Calibration:
    """The calibration record of a JSON file (regular, UTF-8, at most 16 MiB)."""
    text = read_text(path, "calibration record", MAX_RECORD_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RelayInputError(f"not valid JSON: {exc.msg}", source=str(path),
                              where=f"line {exc.lineno} column {exc.colno}") from None
    return calibration_from_json(data, str(path))


# ----------------------------------------------------------------------------- the distribution
def normal_quantile(p: float) -> float:
    """The standard normal quantile of ``p`` (0 < p < 1)."""
    return _N.inv_cdf(min(max(p, 1e-12), 1.0 - 1e-12))


def quantile_factor(fit: Fit, q: float) -> float:
    """The ``q`` quantile of achieved / predicted under ``fit`` (failures included)."""
    if q <= fit.fail_p:
        return 0.0
    if fit.sigma <= 0:
        return math.exp(fit.mu)
    return math.exp(fit.mu + fit.sigma * normal_quantile((q - fit.fail_p) / (1.0 - fit.fail_p)))


def prob_at_least(fit: Fit, predicted_mbit: float, x_mbit: float) -> float:
    """The probability that a session predicted at ``predicted_mbit`` achieves at least ``x_mbit``."""
    if x_mbit <= 0:
        return 1.0
    if predicted_mbit <= 0:
        return 0.0
    z = math.log(x_mbit / predicted_mbit) - fit.mu
    held = (1.0 if z <= 0 else 0.0) if fit.sigma <= 0 else 1.0 - _N.cdf(z / fit.sigma)
    return (1.0 - fit.fail_p) * held


def expected(fit: Fit, predicted_mbit: float) -> float:
    """The expected achieved volume of a session predicted at ``predicted_mbit`` (the lander's
    queue never empty): ``(1 - fail_p) x predicted x exp(mu + sigma^2 / 2)``."""
    return (1.0 - fit.fail_p) * max(predicted_mbit, 0.0) * math.exp(fit.mu + fit.sigma ** 2 / 2.0)


def expected_min(fit: Fit, predicted_mbit: float, cap_mbit: float) -> float:
    """``E[min(cap, achieved)]`` of a session predicted at ``predicted_mbit`` that queues
    ``cap_mbit``: the lognormal's partial expectation, times the share of passes held."""
    if predicted_mbit <= 0 or cap_mbit <= 0:
        return 0.0
    m, s = fit.mu + math.log(predicted_mbit), fit.sigma
    if s <= 0:
        return (1.0 - fit.fail_p) * min(cap_mbit, math.exp(m))
    a = math.log(cap_mbit)
    below = math.exp(m + s * s / 2.0) * _N.cdf((a - m - s * s) / s)
    return (1.0 - fit.fail_p) * (below + cap_mbit * (1.0 - _N.cdf((a - m) / s)))


__all__ = ["FORMAT", "VERSION", "ELEVATION_BANDS", "Fit", "UNCALIBRATED", "Band", "PairFit", "Calibration",
           "calibration_from_json", "read_calibration", "normal_quantile", "quantile_factor", "prob_at_least",
           "expected", "expected_min"]
