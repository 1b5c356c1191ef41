"""Every ready analytics answer: the library's call, and the SQL a SQLite user would write.

The library side is ``db.analytics.<answer>(...)`` (its SQL, compiled, is also what raw DuckDB
runs). The SQLite side answers the same question over :func:`~project_architect_db.selfbench.
_sqlite_peer.peer_metadata`'s tables, in SQL a SQLite user would write: SQLite (3.25+) has
window functions but no ``median`` or ``quantile``, so medians and the 95th percentile are
ranked with ``row_number()`` over ``count(*)`` (the same interpolation as DuckDB's
``quantile_cont``); timestamps are SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff`` text, so
``date_trunc`` becomes ``date()`` / ``strftime()`` and ``epoch`` differences ``julianday``.
Every answer here can be expressed; :data:`NOT_EXPRESSIBLE` lists the ones that cannot (none
today), and the report says so for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = ["ANSWERS", "BARS_MS", "NOT_EXPRESSIBLE", "library_call", "sqlite_answer"]

#: Each ready answer, in the order of the report.
ANSWERS: Final = (
    "portfolio",
    "projects_created",
    "message_activity",
    "reply_latency",
    "time_per_phase",
    "document_stats",
    "document_churn",
    "largest_documents",
    "stale_documents",
    "build_health",
    "dora",
    "cicd_health",
    "flakiest_repositories",
    "project_health",
    "project_health_all",
    "most_active_projects",
)
#: Issue 13's bar per answer at the large size (ms): 1 s, ``project_health`` 500 ms (the call
#: without arguments, a page of 50, and every project with ``limit=None``, for the record).
BARS_MS: Final = {name: 500.0 if name.startswith("project_health") else 1000.0 for name in ANSWERS}
#: Answers SQLite cannot express (the report prints the reason instead of a time).
NOT_EXPRESSIBLE: Final[dict[str, str]] = {}
#: Days of the windowed answers (the library's defaults).
_DAYS: Final = 30

_WEEK = "date({0}, 'weekday 0', '-6 days')"  # DuckDB's date_trunc('week'): the Monday
_SECONDS = "((julianday({0}) - julianday({1})) * 86400.0)"


def library_call(answers: Any, name: str, now: datetime) -> Any:
    """The library's query for ``name`` (``answers`` is ``db.analytics``), clock at ``now``."""
    calls: dict[str, Callable[[], Any]] = {
        "stale_documents": lambda: answers.stale_documents(now=now),
        "dora": lambda: answers.dora(now=now),
        "cicd_health": lambda: answers.cicd_health(now=now),
        "project_health_all": lambda: answers.project_health(limit=None),
    }
    return calls.get(name, lambda: getattr(answers, name)())()


def _stamp(moment: datetime) -> str:
    """``moment`` as the SQLite copy stores it (naive UTC text)."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _median(source: str, key: str, value: str) -> str:
    """``key, m``: the median of ``value`` per ``key`` over the rows of ``source``."""
    return (
        f"SELECT {key}, avg(v) AS m FROM (SELECT {key}, {value} AS v, row_number() OVER "
        f"(PARTITION BY {key} ORDER BY {value}) AS rn, count(*) OVER (PARTITION BY {key}) AS n "
        f"FROM {source} WHERE {value} IS NOT NULL) WHERE rn IN ((n + 1) / 2, (n + 2) / 2) "
        f"GROUP BY {key}"
    )


def _quantile(source: str, key: str, value: str, q: float) -> str:
    """``key, m``: ``quantile_cont(value, q)`` per ``key`` (linear between the two ranks)."""
    pos = f"({q} * (n - 1))"
    low = f"(CAST({pos} AS INTEGER) + 1)"
    return (
        f"SELECT {key}, max(CASE WHEN rn = {low} THEN v END) + ({pos} - ({low} - 1)) * "
        f"(coalesce(max(CASE WHEN rn = {low} + 1 THEN v END), max(CASE WHEN rn = {low} THEN v "
        f"END)) - max(CASE WHEN rn = {low} THEN v END)) AS m FROM (SELECT {key}, {value} AS v, "
        f"row_number() OVER (PARTITION BY {key} ORDER BY {value}) AS rn, count(*) OVER "
        f"(PARTITION BY {key}) AS n FROM {source} WHERE {value} IS NOT NULL) GROUP BY {key}, n"
    )


def _build_stats(source: str) -> str:
    """Per repository over ``source`` builds: count, success rate, median and p95 duration."""
    return (
        f"SELECT b.repository_id AS repository_id, count(*) AS builds, "
        "CAST(sum(b.status = 'success') AS REAL) / nullif(sum(b.status IN ('success', "
        "'failure')), 0) AS success_rate, max(med.m) AS median_duration_seconds, "
        f"max(p95.m) AS p95_duration_seconds FROM {source} AS b "
        f"LEFT JOIN ({_median(source, 'repository_id', 'duration_seconds')}) AS med "
        "ON med.repository_id = b.repository_id "
        f"LEFT JOIN ({_quantile(source, 'repository_id', 'duration_seconds', 0.95)}) AS p95 "
        "ON p95.repository_id = b.repository_id GROUP BY b.repository_id"
    )


def _deploy_stats(source: str) -> str:
    """Per repository over ``source`` deployments: DORA's four figures."""
    lead = f"(SELECT repository_id, {_SECONDS.format('finished_at', 'commit_at')} AS s FROM "
    lead += f"{source} WHERE status = 'success')"
    restore = f"(SELECT repository_id, {_SECONDS.format('restored_at', 'finished_at')} AS s "
    restore += f"FROM {source} WHERE caused_incident = 1)"
    return (
        "SELECT d.repository_id AS repository_id, count(*) AS deployments, "
        f"CAST(count(*) AS REAL) / {_DAYS} AS deploys_per_day, max(lead.m) AS "
        "median_lead_time_seconds, CAST(sum(d.caused_incident = 1) AS REAL) / count(*) AS "
        "change_failure_rate, max(restore.m) AS median_time_to_restore_seconds "
        f"FROM {source} AS d LEFT JOIN ({_median(lead, 'repository_id', 's')}) AS lead "
        "ON lead.repository_id = d.repository_id "
        f"LEFT JOIN ({_median(restore, 'repository_id', 's')}) AS restore "
        "ON restore.repository_id = d.repository_id GROUP BY d.repository_id"
    )


def _health(limit: int | None = 50) -> str:
    """``project_health``: the first ``limit`` projects by name (``None``: every project).

    A page is what the library's page does: the page's projects first, then only their child
    rows grouped (through the ``project_id`` indexes).
    """
    projects = "(SELECT id, name, status, phase FROM projects)"
    mine = ""
    if limit is not None:
        projects = f"(SELECT id, name, status, phase FROM projects ORDER BY name, id LIMIT {limit})"
        mine = " WHERE project_id IN (SELECT id FROM page)"
    return (
        f"WITH page AS {projects} "
        "SELECT p.id AS project_id, p.name, p.status, p.phase, coalesce(c.conversations, 0) "
        "AS conversations, coalesce(c.messages, 0) AS messages, c.last_message_at, "
        "coalesce(doc.documents, 0) AS documents, coalesce(b.builds, 0) AS builds, "
        "b.build_success_rate, coalesce(dep.deployments, 0) AS deployments, "
        "dep.change_failure_rate FROM page AS p LEFT JOIN (SELECT project_id, count(*) "
        "AS conversations, sum(message_count) AS messages, max(last_message_at) AS "
        f"last_message_at FROM conversations{mine} GROUP BY project_id) AS c ON c.project_id = "
        "p.id LEFT JOIN (SELECT project_id, count(*) AS documents FROM documents"
        f"{mine} GROUP BY project_id) AS doc ON doc.project_id = p.id LEFT JOIN (SELECT "
        "project_id, count(*) AS builds, CAST(sum(status = 'success') AS REAL) / "
        "nullif(sum(status IN ('success', 'failure')), 0) AS build_success_rate FROM builds"
        f"{mine} GROUP BY project_id) AS b ON b.project_id = p.id LEFT JOIN (SELECT project_id, "
        "count(*) AS deployments, CAST(sum(caused_incident = 1) AS REAL) / count(*) AS "
        f"change_failure_rate FROM deployments{mine} GROUP BY project_id) AS dep ON "
        "dep.project_id = p.id ORDER BY p.name, p.id"
    )


def sqlite_answer(name: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """The SQL a SQLite user would write for ``name``, and its parameters."""
    since = {"since": _stamp(now - timedelta(days=_DAYS))}
    week = _WEEK.format("created_at")
    sql: dict[str, tuple[str, dict[str, Any]]] = {
        "portfolio": (
            "SELECT status, phase, count(*) AS count FROM projects GROUP BY status, phase "
            "ORDER BY status, phase",
            {},
        ),
        "projects_created": (
            "SELECT period, count, sum(count) OVER (ORDER BY period) AS total FROM (SELECT "
            "strftime('%Y-%m-01', created_at) AS period, count(*) AS count FROM projects "
            "GROUP BY period) ORDER BY period",
            {},
        ),
        "message_activity": (
            f"SELECT {week} AS period, role, count(*) AS messages, sum(token_count) AS tokens "
            "FROM messages GROUP BY period, role ORDER BY period, role",
            {},
        ),
        "reply_latency": (
            "WITH paired AS (SELECT created_at AS asked_at, role, lead(role) OVER w AS "
            "next_role, lead(created_at) OVER w AS next_at FROM messages WINDOW w AS "
            "(PARTITION BY conversation_id ORDER BY sequence)), replies AS (SELECT "
            f"{_WEEK.format('asked_at')} AS period, {_SECONDS.format('next_at', 'asked_at')} "
            "AS s FROM paired WHERE role = 'user' AND next_role = 'assistant') "
            "SELECT r.period, count(*) AS replies, max(med.m) AS median_reply_seconds FROM "
            f"replies AS r JOIN ({_median('replies', 'period', 's')}) AS med ON med.period = "
            "r.period GROUP BY r.period ORDER BY r.period",
            {},
        ),
        "time_per_phase": (
            f"WITH c AS (SELECT phase, {_SECONDS.format('last_message_at', 'created_at')} AS s "
            "FROM conversations WHERE last_message_at IS NOT NULL) SELECT c.phase, count(*) AS "
            "conversations, sum(c.s) AS seconds, max(med.m) AS median_seconds FROM c JOIN "
            f"({_median('c', 'phase', 's')}) AS med ON med.phase = c.phase GROUP BY c.phase "
            "ORDER BY c.phase",
            {},
        ),
        "document_stats": (
            "SELECT doc_type, count(*) AS documents, sum(version) AS versions, sum(size_bytes) "
            "AS total_bytes, max(size_bytes) AS largest_bytes, avg(size_bytes) AS avg_bytes "
            "FROM documents GROUP BY doc_type ORDER BY doc_type",
            {},
        ),
        "document_churn": (
            f"SELECT {week} AS period, count(*) AS versions, count(DISTINCT document_id) AS "
            "documents, CAST(count(*) AS REAL) / nullif(count(DISTINCT document_id), 0) AS "
            "churn FROM document_versions GROUP BY period ORDER BY period",
            {},
        ),
        "largest_documents": (
            "SELECT id, project_id, path, doc_type, size_bytes, version FROM documents "
            "ORDER BY size_bytes DESC, path LIMIT 10",
            {},
        ),
        "stale_documents": (
            "SELECT id, project_id, path, updated_at, version FROM documents WHERE updated_at < "
            ":since ORDER BY updated_at, path",
            since,
        ),
        "build_health": (_build_stats("builds") + " ORDER BY b.repository_id", {}),
        "dora": (
            "WITH recent AS (SELECT * FROM deployments WHERE created_at >= :since) "
            + _deploy_stats("recent")
            + " ORDER BY d.repository_id",
            since,
        ),
        "cicd_health": (
            "WITH rb AS (SELECT * FROM builds WHERE created_at >= :since), rd AS (SELECT * "
            "FROM deployments WHERE created_at >= :since) SELECT r.id AS repository_id, r.url "
            "AS name, coalesce(b.builds, 0) AS builds, b.success_rate, "
            "b.median_duration_seconds, b.p95_duration_seconds, coalesce(d.deployments, 0) AS "
            "deployments, coalesce(d.deploys_per_day, 0.0) AS deploys_per_day, "
            "d.median_lead_time_seconds, d.change_failure_rate, "
            f"d.median_time_to_restore_seconds FROM repositories AS r LEFT JOIN "
            f"({_build_stats('rb')}) AS b ON b.repository_id = r.id LEFT JOIN "
            f"({_deploy_stats('rd')}) AS d ON d.repository_id = r.id ORDER BY r.id",
            since,
        ),
        "flakiest_repositories": (
            "SELECT b.repository_id, r.url, b.builds, b.failure_rate FROM (SELECT "
            "repository_id, sum(status IN ('success', 'failure')) AS builds, "
            "CAST(sum(status = 'failure') AS REAL) / nullif(sum(status IN ('success', "
            "'failure')), 0) AS failure_rate FROM builds GROUP BY repository_id HAVING "
            "sum(status IN ('success', 'failure')) >= 5) AS b JOIN repositories AS r ON r.id = "
            "b.repository_id ORDER BY b.failure_rate DESC, b.repository_id LIMIT 10",
            {},
        ),
        "project_health": (_health(), {}),
        "project_health_all": (_health(None), {}),
        "most_active_projects": (
            "SELECT m.project_id, p.name, m.messages, m.tokens FROM (SELECT project_id, "
            "count(*) AS messages, sum(token_count) AS tokens FROM messages GROUP BY "
            "project_id) AS m JOIN projects AS p ON p.id = m.project_id ORDER BY m.messages "
            "DESC, m.project_id LIMIT 10",
            {},
        ),
    }
    return sql[name]
