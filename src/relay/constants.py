"""Physical constants relay uses, each defined here once and imported everywhere else.

- ``SOL_S``: a mean solar day on Mars, s (Allison & McEwen 2000; Mars24: 1.0274912517 d);
- ``MARS24_SOL_DAYS``: the same sol in Earth days as Mars24's Mars Sol Date formula writes it
  (``SOL_S / 86400`` to 1e-10);
- ``C_KM_S``: speed of light in vacuum, km/s (exact, SI);
- ``AU_KM``: the astronomical unit, km (exact, IAU 2012 resolution B2).
"""
from __future__ import annotations

#: Length of a mean solar day on Mars (a sol), seconds.
SOL_S = 88775.244147
#: The sol in Earth days, as the Mars24 Mars Sol Date formula writes it (SOL_S / 86400 to 1e-10).
MARS24_SOL_DAYS = 1.0274912517
#: Speed of light in vacuum, km/s.
C_KM_S = 299792.458
#: Astronomical unit, km.
AU_KM = 149597870.700
