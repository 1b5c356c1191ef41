"""Independent computations in plain Python (no SQL) of what each answer should return."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any


def trunc(moment: datetime, unit: str) -> datetime:
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":  # ISO weeks start on Monday, like DuckDB's date_trunc
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def quantile(values: Iterable[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Iterable[float]) -> float | None:
    items = list(values)
    return statistics.median(items) if items else None


def seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def group(rows: Iterable[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[tuple(row[key] for key in keys) if len(keys) > 1 else row[keys[0]]].append(row)
    return dict(out)


def counter(rows: Iterable[dict[str, Any]], *keys: str) -> Counter[Any]:
    return Counter(tuple(row[key] for key in keys) for row in rows)
