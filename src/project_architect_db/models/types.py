"""Column types the models share: UTC instants stored as plain ``TIMESTAMP``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from project_architect_db.exceptions import ValidationError

__all__ = ["UtcDateTime", "utc_now"]


def utc_now() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in Python, naive UTC ``TIMESTAMP`` in DuckDB.

    ``TIMESTAMPTZ`` would be the obvious type, but DuckDB buckets it (``date_trunc``,
    ``time_bucket``) with per-row ICU calendar math, ~40x slower than on ``TIMESTAMP``, and
    fetching it needs ``pytz``. So the column is ``TIMESTAMP`` holding UTC by convention: binding
    converts any aware datetime to UTC and drops the zone; reading attaches UTC again.

    Raises:
        ValidationError: on bind, for a naive datetime (its zone would be a guess).
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC; reject a naive one."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                f"naive datetime {value.isoformat()} cannot be stored: pass a timezone-aware "
                "value, e.g. datetime.now(UTC) or dt.replace(tzinfo=UTC)"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to the naive value DuckDB returns."""
        return None if value is None else value.replace(tzinfo=UTC)
