"""Text for a person's terminal: user strings never carry raw control characters there.

Names, ids, notes and file names come from users' files; printed as they are, an escape
sequence in a note could rewrite the terminal (colours, cursor moves, a cleared screen, a
title) and a 200,000-character note would bury the summary.  Two pieces:

- :func:`plain` makes one user string safe to print: control characters shown as escapes
  (``\\x1b``), and long text cut with an ellipsis and its full length;
- :class:`SafeStream` is the command line's safety net: ``relay``'s standard output and error
  go through it (:func:`guarded`), and any control character other than newline, tab and the
  carriage return a progress bar redraws with is written as an escape.
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import TextIO

#: longest user string (a note) printed whole on the terminal
NOTE_LIMIT = 80

# C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder text
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_STREAM = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    c = ord(match.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def plain(value, limit: int | None = NOTE_LIMIT) -> str:
    """``value`` as text safe for a terminal: control characters (newlines and tabs included)
    escaped, and cut to ``limit`` characters with ``…`` and the full length when longer."""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    return _UNSAFE.sub(_escape, text)


class SafeStream:
    """A text stream that writes to ``raw`` with every unsafe control character escaped
    (newline, tab and carriage return pass)."""

    def __init__(self, raw: TextIO):
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(_UNSAFE_STREAM.sub(_escape, text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self.raw, name)


@contextlib.contextmanager
def guarded():
    """Within the block, ``sys.stdout`` and ``sys.stderr`` are :class:`SafeStream` s."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(out), SafeStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def text_table(head: list[str], columns: list[list[str]]) -> str:
    """A table as fixed-width text, each column right-aligned to its widest cell (its header's
    included) and the columns one space apart: what pandas' ``to_string(index=False)`` lays out,
    without its 20-30 ms of formatting machinery.  ``columns``: the cells of each column, as text."""
    widths = [max([len(h), *map(len, cells)]) for h, cells in zip(head, columns)]
    rows = [head, *zip(*columns)]
    return "\n".join(" ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows)
