"""Analytics: a typed, composable builder over the models, and prebuilt answers on top of it.

Examples:
    >>> from project_architect_db.models import Project
    >>> from project_architect_db.queries.analytics import Analytics, count, json
    >>> q = Analytics(Project).group_by(json("architecture", "database")).aggregate(count())
    >>> "json_extract_string(projects.architecture, '$.database')" in q.sql()
    True
"""

from project_architect_db.queries.analytics._compile import cache_info, clear_cache
from project_architect_db.queries.analytics.builder import Analytics
from project_architect_db.queries.analytics.expressions import (
    BUCKETS,
    Aggregate,
    Bucket,
    Duration,
    Expr,
    Field,
    JsonField,
    Ratio,
    Window,
    avg,
    bucket,
    count,
    count_distinct,
    duration,
    json,
    lag_change,
    max_,
    median,
    min_,
    percentile,
    rank,
    rate,
    ratio,
    running_total,
    sum_,
)

__all__ = [
    "BUCKETS",
    "Aggregate",
    "Analytics",
    "Bucket",
    "Duration",
    "Expr",
    "Field",
    "JsonField",
    "Ratio",
    "Window",
    "avg",
    "bucket",
    "cache_info",
    "clear_cache",
    "count",
    "count_distinct",
    "duration",
    "json",
    "lag_change",
    "max_",
    "median",
    "min_",
    "percentile",
    "rank",
    "rate",
    "ratio",
    "running_total",
    "sum_",
]
