"""Predicted against achieved (issue 22): pass performance reports, the link model calibrated
from them, and what a plan at a confidence needs.

Modules:

The calibration record these modules write (per orbiter-asset pair and elevation band, the
distribution of log(achieved / predicted) and the failure rate) is part of the link model,
:mod:`relay.links.calibration`, which the planner's Problem stage reads like any other link-model
input; this package is a job built on the engine, above it.

* :mod:`relay.actuals.reports`: pass performance reports (CSV), matched to the sessions of a
  plan folder, stored beside the plan as actuals.csv;
* :mod:`relay.actuals.accounting`: predicted against achieved per session, per asset and sol,
  and the backlog a short or failed pass leaves on the lander (a backlogs CSV);
* :mod:`relay.actuals.report_section`: the plan folder's report.html with its "Predicted vs
  achieved" section (per pair, per asset and sol, the reports matching no session and the sessions
  without one; drawn by :mod:`relay.outputs.actuals_views`), the folder rewritten whole;
* :mod:`relay.actuals.calibrate`: the calibration fitted from stored reports (robust centre and
  spread of the log ratio, shrunk toward the uncalibrated model), its plot;
* :mod:`relay.actuals.simulate`: a known truth (per-pair lognormal biases, spreads and failure
  rates) to draw reports from, for the tests and ``scripts/bench_actuals.py``.
"""
