"""The link model: pass geometry -> UHF rates and volumes; station tracks -> X-band capacity.

This is the "Links" stage of the pipeline (issue 3).  It takes the plain
DataFrames of the geometry stage and returns plain DataFrames plus one query
object, :class:`relay.links.table.VolumeTable`.  Modules, floor by floor:

- ``budget``: budget primitives shared by both bands (Boltzmann's constant,
  free-space loss, angles on a sphere, table interpolation, rate flooring);
- ``uhf``: the UHF return link of an orbiter-asset pair (budget, rate, forward
  link as a minimum duration) and the pairs of a scenario;
- ``xband``: the X-band downlink budget of an orbiter and a station;
- ``table``: cumulative rate profiles and :class:`~relay.links.table.VolumeTable`,
  the volume of any sub-window of any pass or station window;
- ``volumes``: UHF volumes of passes (the pass table's volume columns);
- ``stations``: station time (bookings or the daily cap) and X-band capacities;
- ``calibration``: the calibration record (achieved / predicted per orbiter-asset
  pair, from pass performance reports: :mod:`relay.actuals`) and its quantiles;
- ``synthetic``: synthetic test geometry (circular orbit over a sphere) for
  tests and benchmarks, used by no model module.

Published figures this model is calibrated on are in ``shared/domain.md``; the
defaults and their provenance are documented in :mod:`relay.config_links`.
"""
