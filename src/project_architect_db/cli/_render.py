"""Data as Rich renderables: table cells and search snippets, never parsed as Rich markup.

A project name such as ``"[bold]Atlas"`` or a message quoting ``[red]`` is data: every cell is
a :class:`rich.text.Text` built from the plain string, so Rich prints it as it is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from rich.text import Text

__all__ = [
    "HIGHLIGHT_STYLE",
    "SNIPPET_MARKERS",
    "cell",
    "duration",
    "highlighted",
    "percent",
    "plain",
]

SNIPPET_MARKERS: Final = ("\ue000", "\ue001")
"""What the demo asks search to wrap matches in: private-use characters that text does not
contain, unlike ``**``, which markdown documents and chat messages are full of."""

HIGHLIGHT_STYLE: Final = "bold yellow"

_MAX_CHARS: Final = 120


def plain(text: str) -> Text:
    """``text`` as a renderable that Rich prints literally (no markup, no emoji codes)."""
    from rich.text import Text

    return Text(text, end="")


def highlighted(snippet: str, markers: tuple[str, str] = SNIPPET_MARKERS) -> Text:
    """A search snippet with the words between ``markers`` in :data:`HIGHLIGHT_STYLE`.

    The markers themselves are dropped; an opening marker without its closing one is kept as
    literal text, and nothing in ``snippet`` is read as Rich markup.

    Examples:
        >>> highlighted("use **Redis** here", ("**", "**")).plain
        'use Redis here'
    """
    from rich.text import Text

    start, end = markers
    text = Text(end="")
    rest = snippet
    while True:
        opening = rest.find(start)
        closing = rest.find(end, opening + len(start)) if opening >= 0 else -1
        if closing < 0:
            text.append(rest)
            return text
        text.append(rest[:opening])
        text.append(rest[opening + len(start) : closing], style=HIGHLIGHT_STYLE)
        rest = rest[closing + len(end) :]


def duration(seconds: float | None) -> Text:
    """Seconds as a short human duration: ``"42 s"``, ``"7.5 min"``, ``"3.2 h"``, ``"2.0 d"``."""
    if seconds is None:
        return plain("-")
    for unit, size in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0)):
        if abs(seconds) >= size:
            return plain(f"{seconds / size:.1f} {unit}")
    return plain(f"{seconds:.0f} s")


def percent(rate: float | None) -> Text:
    """A rate in [0, 1] as a percentage: ``0.853`` -> ``"85%"``."""
    return plain("-" if rate is None else f"{rate:.0%}")


def cell(value: Any) -> Text:
    """One value as a table cell: numbers grouped, instants short, long text cut, no markup."""
    if isinstance(value, bool) or value is None:
        return plain("-" if value is None else str(value).lower())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        return plain(f"{value:,}")
    if isinstance(value, float | Decimal):
        return plain(f"{value:,.2f}")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.utcoffset() in (None, dt.timedelta(0)):
            return plain(value.date().isoformat())
        return plain(value.strftime("%Y-%m-%d %H:%M"))
    text = str(value)
    return plain(text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 3] + "...")
