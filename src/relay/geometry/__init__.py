"""Geometry: orbiter passes over surface assets, ground-station tracks, Earth-Mars range.

Modules (import from them directly):

- :mod:`relay.geometry.windows`: the window finder as pure numerics (where
  sampled functions are positive, root refinement, the sign proof between
  samples), the time grid and profile sampling;
- :mod:`relay.geometry.bodyfixed`: Mars's body-fixed frame for many times,
  fast, and orbiter positions;
- :mod:`relay.geometry.bounds`: how fast an orbiter's elevation can change
  (the speed bound, and the reach of a site's margin);
- :mod:`relay.geometry.passes`: passes of orbiters over surface sites;
- :mod:`relay.geometry.earth`: ground stations, the Earth-Mars geometry, and
  Earth and Mars positions, fast;
- :mod:`relay.geometry.tracks`: tracks of orbiters by ground stations.

Times are TDB seconds past J2000 (floats) inside; the DataFrames returned
carry them as ``*_tdb_s`` columns.  ISO strings are added only at the outputs.
"""
