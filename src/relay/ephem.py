"""The planetary ephemeris: de421 from skyfield-data, read offline.

``skyfield_data``'s package import warns that its ``finals2000A.all`` has
expired (it did on 2026-10-18); relay never reads that file (it uses
Skyfield's builtin timescale), so the de421 path is located without importing
the package.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from .errors import RelayError
from .timescales import DAY_S, J2000_JD

#: Span covered by de421.bsp (JD 2414864.5 to 2471184.5), as ISO UTC.
DE421_SPAN = ("1899-07-29T00:00:00Z", "2053-10-09T00:00:00Z")


def de421_path() -> Path:
    spec = importlib.util.find_spec("skyfield_data")
    if spec is None or not spec.submodule_search_locations:
        raise RelayError("the skyfield-data package is not installed; run `make plan` or "
                         "`pip install skyfield-data` to install it")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "de421.bsp"
    if not path.exists():
        raise RelayError(f"de421.bsp was not found at {path}; reinstall skyfield-data")
    return path


@lru_cache(maxsize=1)
def planets():
    """The de421 kernel as a Skyfield SpiceKernel (cached).

    ``skyfield.jpllib.SpiceKernel`` is what ``skyfield.api.load_file`` returns for a ``.bsp``;
    importing it directly spares a command ``skyfield.api``'s download machinery (urllib, ssl,
    http: about 50 ms of start-up)."""
    from skyfield.jpllib import SpiceKernel

    return SpiceKernel(str(de421_path()))


#: Julian dates (TDB) of de421.bsp's first and last segment boundaries, as its segments state
#: them (``tests/test_ephem.py`` reads them from the kernel): a command checks its span against
#: these without opening the kernel (jplephem, a memory map: about 10 ms of start-up).
DE421_SPAN_JD = (2414864.5, 2471184.5)


def de421_span_tdb_s() -> tuple[float, float]:
    """(start, end) TDB seconds of de421's coverage."""
    return (DE421_SPAN_JD[0] - J2000_JD) * DAY_S, (DE421_SPAN_JD[1] - J2000_JD) * DAY_S
