"""relay's HTML pages from Jinja2 templates: the environment and the table a page shows.

The templates live in ``relay/templates`` (package data): ``base.html``, the
layout every page extends (head, the shared CSS, the title), ``tables.html``,
the table macro, and one template per page (``report.html``, ``compare.html``).
The environment is made once per process; it autoescapes every value a page
shows, so user strings (names, notes, ids) are plain text.  Only markup relay
writes itself is shown as it is, in report.html's one ``{% autoescape false %}``
block: the charts' markup (whose JSON escapes ``<``, ``>`` and ``/``, so no user
string ends its ``<script>``) and the inlined plotly.js.  JSON for scripts
otherwise goes through ``|tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``).
A missing template variable is an error (``StrictUndefined``), not an empty string.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from jinja2 import Environment


class Table(NamedTuple):
    """A table as a template shows it: its id (or None), its header cells and its rows, each cell a
    ``(class, text)`` pair (the text is escaped by the template); ``total`` the rows of the whole
    table when ``rows`` are only its first ones (then the page says so and links to ``file``,
    the CSV beside the page that holds them all), else None."""

    id: str | None
    head: list[tuple[str, str]]
    rows: list[list[tuple[str, str]]]
    total: int | None = None
    file: str | None = None


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of relay's pages (templates loaded once, autoescaping)."""
    import jinja2  # lazy: 25-35 ms of import after relay's own, paid by the commands that render a page only

    return jinja2.Environment(loader=jinja2.PackageLoader("relay", "templates"),
                              autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def render_page(name: str, **context) -> str:
    """The page ``name`` (a template in relay/templates) rendered with ``context``."""
    return environment().get_template(name).render(**context)


def render_macro(template: str, macro: str, *args) -> str:
    """A macro of a template (``tables.html``'s ``table``...) rendered alone, as the page shows it."""
    return str(getattr(environment().get_template(template).module, macro)(*args))
