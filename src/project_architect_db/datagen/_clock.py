"""The reference instant generated data is dated against."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

__all__ = ["check_aware", "start_of_day"]


def check_aware(now: datetime) -> datetime:
    """``now`` in UTC; ``ValueError`` for a naive datetime."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(
            f"now must be timezone-aware, got naive {now.isoformat()}: "
            "use e.g. datetime(2025, 1, 1, tzinfo=UTC)"
        )
    return now.astimezone(UTC)


def start_of_day(day: date | None = None) -> datetime:
    """Midnight UTC of ``day`` (default: today's UTC date): the default reference instant.

    Generated data ends at this instant, so "the last 30 days" of a freshly seeded database
    holds rows, and the same seed gives the same data all day long.

    Examples:
        >>> from datetime import date
        >>> start_of_day(date(2025, 6, 30)).isoformat()
        '2025-06-30T00:00:00+00:00'
    """
    if day is None:
        day = datetime.now(UTC).date()
    elif isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"day must be a datetime.date (not a datetime), got {day!r}")
    return datetime.combine(day, time(0), tzinfo=UTC)
