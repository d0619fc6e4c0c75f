"""User-facing errors.

Every mistake a user can make (a bad config key, an unreadable orbit file, a
CSV row with a bad time) is raised as a :class:`RelayInputError` whose message
is one paragraph naming the file, the key path or line, the bad value and what
was expected.  The command line turns it into that paragraph on stderr and
exit status 2, without a traceback.
"""

from __future__ import annotations


class RelayError(Exception):
    """Base class of relay's own errors."""


class RelayInputError(RelayError):
    """A user's input (config, orbit file, CSV, command-line value) is wrong.

    ``source`` names the file (or ``"command line"``), ``where`` the key path or
    line, so that messages read the same everywhere::

        configs/x.yaml: orbiters[0].orbit.eccentricity: got 1.3, expected a
        number from 0 (circular) to below 1 (elliptical).
    """

    def __init__(self, message: str, source: str | None = None, where: str | None = None):
        self.source = source
        self.where = where
        self.detail = message
        prefix = ""
        if source:
            prefix += f"{source}: "
        if where:
            prefix += f"{where}: "
        super().__init__(prefix + message)


def excerpt(value, limit: int = 60) -> str:
    """A short, escaped quotation of a user's value for a message: ``repr`` of at most
    ``limit`` characters (control characters and quotes escaped), with ``...`` and the full
    length when cut.  No message quotes more of a file than this."""
    if not isinstance(value, str):
        value = str(value)
    if len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value):,} characters)"
    return repr(value)


class CoverageError(RelayInputError):
    """A requested time lies outside the span an ephemeris or orbit file covers."""
