"""The SQL the analytics answers produced before session 9 (commit 86267f6), frozen.

The reference for ``tests/integration/analytics/test_rewrite_equivalence.py`` (every rewritten
answer gives the old answer) and for ``benchmarks/scale_analytics.py`` (the old SQL's time, for
the record). ``CALLS`` holds the call each entry was captured from (``a`` is
``db.analytics``); ``BEFORE`` the SQL text and the parameters it was run with.
"""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

P = UUID("00000001-0000-0000-0000-000000000007")
"""The project the per-project calls ask about."""
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
FUTURE = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
"""A clock after every row: empty windows."""

CALLS: dict[str, str] = {
    "portfolio": "a.portfolio()",
    "projects_created": "a.projects_created()",
    "projects_created_day": "a.projects_created('day')",
    "message_activity": "a.message_activity()",
    "message_activity_project": "a.message_activity('day', project_id=P)",
    "reply_latency": "a.reply_latency()",
    "reply_latency_project": "a.reply_latency('day', project_id=P)",
    "time_per_phase": "a.time_per_phase()",
    "time_per_phase_project": "a.time_per_phase(project_id=P)",
    "document_stats": "a.document_stats()",
    "document_stats_project": "a.document_stats(project_id=P)",
    "document_churn": "a.document_churn()",
    "document_churn_project": "a.document_churn('day', project_id=P)",
    "largest_documents": "a.largest_documents()",
    "largest_documents_project": "a.largest_documents(3, project_id=P)",
    "stale_documents": "a.stale_documents(now=NOW)",
    "stale_documents_7": "a.stale_documents(7, now=NOW)",
    "build_health": "a.build_health()",
    "build_health_project": "a.build_health('project')",
    "build_health_window": "a.build_health(days=30, now=NOW)",
    "build_health_empty": "a.build_health(days=1, now=FUTURE)",
    "dora": "a.dora(now=NOW)",
    "dora_project": "a.dora('project', days=7, environment='production', now=NOW)",
    "dora_empty": "a.dora(days=1, now=FUTURE)",
    "cicd_health": "a.cicd_health(now=NOW)",
    "cicd_health_project": "a.cicd_health('project', days=7, environment='staging', now=NOW)",
    "cicd_health_empty": "a.cicd_health(days=1, now=FUTURE)",
    "flakiest_repositories": "a.flakiest_repositories()",
    "flakiest_repositories_3": "a.flakiest_repositories(3, min_builds=1)",
    "project_health": "a.project_health(limit=None)",
    "most_active_projects": "a.most_active_projects()",
    "most_active_projects_window": "a.most_active_projects(5, days=7, now=NOW)",
    "most_active_projects_empty": "a.most_active_projects(days=1, now=FUTURE)",
}

BEFORE: dict[str, tuple[str, list[Any]]] = {
    "portfolio": (
        "SELECT projects.status AS status, projects.phase AS phase, count(*) AS count \nFROM p"
        "rojects GROUP BY projects.status, projects.phase ORDER BY status ASC, phase ASC",
        [],
    ),
    "projects_created": (
        "SELECT grouped.period, grouped.count, sum(grouped.count) OVER (ORDER BY grouped.peri"
        "od ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS total \nFROM (SELECT date"
        "_trunc('month', projects.created_at) AS period, count(*) AS count \nFROM projects GRO"
        "UP BY date_trunc('month', projects.created_at)) AS grouped ORDER BY period ASC",
        [],
    ),
    "projects_created_day": (
        "SELECT grouped.period, grouped.count, sum(grouped.count) OVER (ORDER BY grouped.peri"
        "od ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS total \nFROM (SELECT date"
        "_trunc('day', projects.created_at) AS period, count(*) AS count \nFROM projects GROUP"
        " BY date_trunc('day', projects.created_at)) AS grouped ORDER BY period ASC",
        [],
    ),
    "message_activity": (
        "SELECT date_trunc('week', messages.created_at) AS period, messages.role AS role, cou"
        "nt(*) AS messages, sum(messages.token_count) AS tokens \nFROM messages GROUP BY date_"
        "trunc('week', messages.created_at), messages.role ORDER BY period ASC, role ASC",
        [],
    ),
    "message_activity_project": (
        "SELECT date_trunc('day', messages.created_at) AS period, messages.role AS role, coun"
        "t(*) AS messages, sum(messages.token_count) AS tokens \nFROM messages \nWHERE messages"
        ".project_id = $1::UUID GROUP BY date_trunc('day', messages.created_at), messages.rol"
        "e ORDER BY period ASC, role ASC",
        [UUID("00000001-0000-0000-0000-000000000007")],
    ),
    "reply_latency": (
        "SELECT date_trunc('week', paired.asked_at) AS period, count(*) AS replies, median(ep"
        "och(paired.next_at) - epoch(paired.asked_at)) AS median_reply_seconds \nFROM (SELECT "
        "messages.created_at AS asked_at, messages.role AS role, lead(messages.role) OVER (PA"
        "RTITION BY messages.conversation_id ORDER BY messages.sequence) AS next_role, lead(m"
        "essages.created_at) OVER (PARTITION BY messages.conversation_id ORDER BY messages.se"
        "quence) AS next_at \nFROM messages) AS paired \nWHERE paired.role = $1 AND paired.next"
        "_role = $2 GROUP BY date_trunc('week', paired.asked_at) ORDER BY period",
        ["user", "assistant"],
    ),
    "reply_latency_project": (
        "SELECT date_trunc('day', paired.asked_at) AS period, count(*) AS replies, median(epo"
        "ch(paired.next_at) - epoch(paired.asked_at)) AS median_reply_seconds \nFROM (SELECT m"
        "essages.created_at AS asked_at, messages.role AS role, lead(messages.role) OVER (PAR"
        "TITION BY messages.conversation_id ORDER BY messages.sequence) AS next_role, lead(me"
        "ssages.created_at) OVER (PARTITION BY messages.conversation_id ORDER BY messages.seq"
        "uence) AS next_at \nFROM messages \nWHERE messages.project_id = $1::UUID) AS paired \nW"
        "HERE paired.role = $2 AND paired.next_role = $3 GROUP BY date_trunc('day', paired.as"
        "ked_at) ORDER BY period",
        [UUID("00000001-0000-0000-0000-000000000007"), "user", "assistant"],
    ),
    "time_per_phase": (
        "SELECT conversations.phase AS phase, count(*) AS conversations, sum(epoch(conversati"
        "ons.last_message_at) - epoch(conversations.created_at)) AS seconds, median(epoch(con"
        "versations.last_message_at) - epoch(conversations.created_at)) AS median_seconds \nFR"
        "OM conversations \nWHERE conversations.last_message_at IS NOT NULL GROUP BY conversat"
        "ions.phase ORDER BY phase ASC",
        [],
    ),
    "time_per_phase_project": (
        "SELECT conversations.phase AS phase, count(*) AS conversations, sum(epoch(conversati"
        "ons.last_message_at) - epoch(conversations.created_at)) AS seconds, median(epoch(con"
        "versations.last_message_at) - epoch(conversations.created_at)) AS median_seconds \nFR"
        "OM conversations \nWHERE conversations.last_message_at IS NOT NULL AND conversations."
        "project_id = $1::UUID GROUP BY conversations.phase ORDER BY phase ASC",
        [UUID("00000001-0000-0000-0000-000000000007")],
    ),
    "document_stats": (
        "SELECT documents.doc_type AS doc_type, count(*) AS documents, sum(documents.version)"
        " AS versions, sum(documents.size_bytes) AS total_bytes, max(documents.size_bytes) AS"
        " largest_bytes, avg(documents.size_bytes) AS avg_bytes \nFROM documents GROUP BY docu"
        "ments.doc_type ORDER BY doc_type ASC",
        [],
    ),
    "document_stats_project": (
        "SELECT documents.doc_type AS doc_type, count(*) AS documents, sum(documents.version)"
        " AS versions, sum(documents.size_bytes) AS total_bytes, max(documents.size_bytes) AS"
        " largest_bytes, avg(documents.size_bytes) AS avg_bytes \nFROM documents \nWHERE docume"
        "nts.project_id = $1::UUID GROUP BY documents.doc_type ORDER BY doc_type ASC",
        [UUID("00000001-0000-0000-0000-000000000007")],
    ),
    "document_churn": (
        "SELECT date_trunc('week', document_versions.created_at) AS period, count(*) AS versi"
        "ons, count(DISTINCT document_versions.document_id) AS documents, CAST(count(*) AS DO"
        "UBLE PRECISION) / nullif(count(DISTINCT document_versions.document_id), 0) AS churn "
        "\nFROM document_versions GROUP BY date_trunc('week', document_versions.created_at) OR"
        "DER BY period ASC",
        [],
    ),
    "document_churn_project": (
        "SELECT date_trunc('day', document_versions.created_at) AS period, count(*) AS versio"
        "ns, count(DISTINCT document_versions.document_id) AS documents, CAST(count(*) AS DOU"
        "BLE PRECISION) / nullif(count(DISTINCT document_versions.document_id), 0) AS churn \n"
        "FROM document_versions \nWHERE document_versions.project_id = $1::UUID GROUP BY date_"
        "trunc('day', document_versions.created_at) ORDER BY period ASC",
        [UUID("00000001-0000-0000-0000-000000000007")],
    ),
    "largest_documents": (
        "SELECT documents.id AS id, documents.project_id AS project_id, documents.path AS pat"
        "h, documents.doc_type AS doc_type, documents.size_bytes AS size_bytes, documents.ver"
        "sion AS version \nFROM documents ORDER BY size_bytes DESC, path ASC \n LIMIT 10",
        [],
    ),
    "largest_documents_project": (
        "SELECT documents.id AS id, documents.project_id AS project_id, documents.path AS pat"
        "h, documents.doc_type AS doc_type, documents.size_bytes AS size_bytes, documents.ver"
        "sion AS version \nFROM documents \nWHERE documents.project_id = $1::UUID ORDER BY size"
        "_bytes DESC, path ASC \n LIMIT 3",
        [UUID("00000001-0000-0000-0000-000000000007")],
    ),
    "stale_documents": (
        "SELECT documents.id AS id, documents.project_id AS project_id, documents.path AS pat"
        "h, documents.updated_at AS updated_at, documents.version AS version \nFROM documents "
        "\nWHERE documents.updated_at < $1 ORDER BY updated_at ASC, path ASC",
        [datetime.datetime(2026, 1, 30, 12, 0)],
    ),
    "stale_documents_7": (
        "SELECT documents.id AS id, documents.project_id AS project_id, documents.path AS pat"
        "h, documents.updated_at AS updated_at, documents.version AS version \nFROM documents "
        "\nWHERE documents.updated_at < $1 ORDER BY updated_at ASC, path ASC",
        [datetime.datetime(2026, 2, 22, 12, 0)],
    ),
    "build_health": (
        "SELECT builds.repository_id AS repository_id, count(*) AS builds, CAST(count(*) FILT"
        "ER (WHERE builds.status = $1 AND builds.status IN ($2, $3)) AS DOUBLE PRECISION) / n"
        "ullif(count(*) FILTER (WHERE builds.status IN ($4, $5)), 0) AS success_rate, median("
        "builds.duration_seconds) AS median_duration_seconds, quantile_cont(builds.duration_s"
        "econds, 0.95) AS p95_duration_seconds \nFROM builds GROUP BY builds.repository_id ORD"
        "ER BY repository_id ASC",
        ["success", "success", "failure", "success", "failure"],
    ),
    "build_health_project": (
        "SELECT builds.project_id AS project_id, count(*) AS builds, CAST(count(*) FILTER (WH"
        "ERE builds.status = $1 AND builds.status IN ($2, $3)) AS DOUBLE PRECISION) / nullif("
        "count(*) FILTER (WHERE builds.status IN ($4, $5)), 0) AS success_rate, median(builds"
        ".duration_seconds) AS median_duration_seconds, quantile_cont(builds.duration_seconds"
        ", 0.95) AS p95_duration_seconds \nFROM builds GROUP BY builds.project_id ORDER BY pro"
        "ject_id ASC",
        ["success", "success", "failure", "success", "failure"],
    ),
    "build_health_window": (
        "SELECT builds.repository_id AS repository_id, count(*) AS builds, CAST(count(*) FILT"
        "ER (WHERE builds.status = $1 AND builds.status IN ($3, $4)) AS DOUBLE PRECISION) / n"
        "ullif(count(*) FILTER (WHERE builds.status IN ($5, $6)), 0) AS success_rate, median("
        "builds.duration_seconds) AS median_duration_seconds, quantile_cont(builds.duration_s"
        "econds, 0.95) AS p95_duration_seconds \nFROM builds \nWHERE builds.created_at >= $2 GR"
        "OUP BY builds.repository_id ORDER BY repository_id ASC",
        [
            "success",
            datetime.datetime(2026, 1, 30, 12, 0),
            "success",
            "failure",
            "success",
            "failure",
        ],
    ),
    "build_health_empty": (
        "SELECT builds.repository_id AS repository_id, count(*) AS builds, CAST(count(*) FILT"
        "ER (WHERE builds.status = $1 AND builds.status IN ($3, $4)) AS DOUBLE PRECISION) / n"
        "ullif(count(*) FILTER (WHERE builds.status IN ($5, $6)), 0) AS success_rate, median("
        "builds.duration_seconds) AS median_duration_seconds, quantile_cont(builds.duration_s"
        "econds, 0.95) AS p95_duration_seconds \nFROM builds \nWHERE builds.created_at >= $2 GR"
        "OUP BY builds.repository_id ORDER BY repository_id ASC",
        [
            "success",
            datetime.datetime(2029, 12, 31, 0, 0),
            "success",
            "failure",
            "success",
            "failure",
        ],
    ),
    "dora": (
        "SELECT deployments.repository_id AS repository_id, count(*) AS deployments, CAST(cou"
        "nt(*) AS DOUBLE PRECISION) / nullif(CAST(1 AS DOUBLE PRECISION) * $1, 0) AS deploys_"
        "per_day, median(epoch(deployments.finished_at) - epoch(deployments.commit_at)) FILTE"
        "R (WHERE deployments.status = $2) AS median_lead_time_seconds, CAST(count(*) FILTER "
        "(WHERE deployments.caused_incident = true) AS DOUBLE PRECISION) / nullif(count(*), 0"
        ") AS change_failure_rate, median(epoch(deployments.restored_at) - epoch(deployments."
        "finished_at)) FILTER (WHERE deployments.caused_incident = true) AS median_time_to_re"
        "store_seconds \nFROM deployments \nWHERE deployments.created_at >= $3 GROUP BY deploym"
        "ents.repository_id ORDER BY repository_id ASC",
        [30.0, "success", datetime.datetime(2026, 1, 30, 12, 0)],
    ),
    "dora_project": (
        "SELECT deployments.project_id AS project_id, count(*) AS deployments, CAST(count(*) "
        "AS DOUBLE PRECISION) / nullif(CAST(1 AS DOUBLE PRECISION) * $1, 0) AS deploys_per_da"
        "y, median(epoch(deployments.finished_at) - epoch(deployments.commit_at)) FILTER (WHE"
        "RE deployments.status = $2) AS median_lead_time_seconds, CAST(count(*) FILTER (WHERE"
        " deployments.caused_incident = true) AS DOUBLE PRECISION) / nullif(count(*), 0) AS c"
        "hange_failure_rate, median(epoch(deployments.restored_at) - epoch(deployments.finish"
        "ed_at)) FILTER (WHERE deployments.caused_incident = true) AS median_time_to_restore_"
        "seconds \nFROM deployments \nWHERE deployments.created_at >= $3 AND deployments.enviro"
        "nment = $4 GROUP BY deployments.project_id ORDER BY project_id ASC",
        [7.0, "success", datetime.datetime(2026, 2, 22, 12, 0), "production"],
    ),
    "dora_empty": (
        "SELECT deployments.repository_id AS repository_id, count(*) AS deployments, CAST(cou"
        "nt(*) AS DOUBLE PRECISION) / nullif(CAST(1 AS DOUBLE PRECISION) * $1, 0) AS deploys_"
        "per_day, median(epoch(deployments.finished_at) - epoch(deployments.commit_at)) FILTE"
        "R (WHERE deployments.status = $2) AS median_lead_time_seconds, CAST(count(*) FILTER "
        "(WHERE deployments.caused_incident = true) AS DOUBLE PRECISION) / nullif(count(*), 0"
        ") AS change_failure_rate, median(epoch(deployments.restored_at) - epoch(deployments."
        "finished_at)) FILTER (WHERE deployments.caused_incident = true) AS median_time_to_re"
        "store_seconds \nFROM deployments \nWHERE deployments.created_at >= $3 GROUP BY deploym"
        "ents.repository_id ORDER BY repository_id ASC",
        [1.0, "success", datetime.datetime(2029, 12, 31, 0, 0)],
    ),
    "cicd_health": (
        "SELECT repositories.id AS repository_id, repositories.url AS name, coalesce(b.builds"
        ", 0) AS builds, b.success_rate, b.median_duration_seconds, b.p95_duration_seconds, c"
        "oalesce(d.deployments, 0) AS deployments, coalesce(d.deploys_per_day, 0.0) AS deploy"
        "s_per_day, d.median_lead_time_seconds, d.change_failure_rate, d.median_time_to_resto"
        "re_seconds \nFROM repositories LEFT OUTER JOIN (SELECT builds.repository_id AS reposi"
        "tory_id, count(*) AS builds, CAST(count(*) FILTER (WHERE builds.status = $1 AND buil"
        "ds.status IN ($6, $7)) AS DOUBLE PRECISION) / nullif(count(*) FILTER (WHERE builds.s"
        "tatus IN ($8, $9)), 0) AS success_rate, median(builds.duration_seconds) AS median_du"
        "ration_seconds, quantile_cont(builds.duration_seconds, 0.95) AS p95_duration_seconds"
        " \nFROM builds \nWHERE builds.created_at >= $2 GROUP BY builds.repository_id) AS b ON "
        "b.repository_id = repositories.id LEFT OUTER JOIN (SELECT deployments.repository_id "
        "AS repository_id, count(*) AS deployments, CAST(count(*) AS DOUBLE PRECISION) / null"
        "if(CAST(1 AS DOUBLE PRECISION) * $3, 0) AS deploys_per_day, median(epoch(deployments"
        ".finished_at) - epoch(deployments.commit_at)) FILTER (WHERE deployments.status = $4)"
        " AS median_lead_time_seconds, CAST(count(*) FILTER (WHERE deployments.caused_inciden"
        "t = true) AS DOUBLE PRECISION) / nullif(count(*), 0) AS change_failure_rate, median("
        "epoch(deployments.restored_at) - epoch(deployments.finished_at)) FILTER (WHERE deplo"
        "yments.caused_incident = true) AS median_time_to_restore_seconds \nFROM deployments \n"
        "WHERE deployments.created_at >= $5 GROUP BY deployments.repository_id) AS d ON d.rep"
        "ository_id = repositories.id ORDER BY repository_id",
        [
            "success",
            datetime.datetime(2026, 1, 30, 12, 0),
            30.0,
            "success",
            datetime.datetime(2026, 1, 30, 12, 0),
            "success",
            "failure",
            "success",
            "failure",
        ],
    ),
    "cicd_health_project": (
        "SELECT projects.id AS project_id, projects.name AS name, coalesce(b.builds, 0) AS bu"
        "ilds, b.success_rate, b.median_duration_seconds, b.p95_duration_seconds, coalesce(d."
        "deployments, 0) AS deployments, coalesce(d.deploys_per_day, 0.0) AS deploys_per_day,"
        " d.median_lead_time_seconds, d.change_failure_rate, d.median_time_to_restore_seconds"
        " \nFROM projects LEFT OUTER JOIN (SELECT builds.project_id AS project_id, count(*) AS"
        " builds, CAST(count(*) FILTER (WHERE builds.status = $1 AND builds.status IN ($7, $8"
        ")) AS DOUBLE PRECISION) / nullif(count(*) FILTER (WHERE builds.status IN ($9, $10)),"
        " 0) AS success_rate, median(builds.duration_seconds) AS median_duration_seconds, qua"
        "ntile_cont(builds.duration_seconds, 0.95) AS p95_duration_seconds \nFROM builds \nWHER"
        "E builds.created_at >= $2 GROUP BY builds.project_id) AS b ON b.project_id = project"
        "s.id LEFT OUTER JOIN (SELECT deployments.project_id AS project_id, count(*) AS deplo"
        "yments, CAST(count(*) AS DOUBLE PRECISION) / nullif(CAST(1 AS DOUBLE PRECISION) * $3"
        ", 0) AS deploys_per_day, median(epoch(deployments.finished_at) - epoch(deployments.c"
        "ommit_at)) FILTER (WHERE deployments.status = $4) AS median_lead_time_seconds, CAST("
        "count(*) FILTER (WHERE deployments.caused_incident = true) AS DOUBLE PRECISION) / nu"
        "llif(count(*), 0) AS change_failure_rate, median(epoch(deployments.restored_at) - ep"
        "och(deployments.finished_at)) FILTER (WHERE deployments.caused_incident = true) AS m"
        "edian_time_to_restore_seconds \nFROM deployments \nWHERE deployments.created_at >= $5 "
        "AND deployments.environment = $6 GROUP BY deployments.project_id) AS d ON d.project_"
        "id = projects.id ORDER BY project_id",
        [
            "success",
            datetime.datetime(2026, 2, 22, 12, 0),
            7.0,
            "success",
            datetime.datetime(2026, 2, 22, 12, 0),
            "staging",
            "success",
            "failure",
            "success",
            "failure",
        ],
    ),
    "cicd_health_empty": (
        "SELECT repositories.id AS repository_id, repositories.url AS name, coalesce(b.builds"
        ", 0) AS builds, b.success_rate, b.median_duration_seconds, b.p95_duration_seconds, c"
        "oalesce(d.deployments, 0) AS deployments, coalesce(d.deploys_per_day, 0.0) AS deploy"
        "s_per_day, d.median_lead_time_seconds, d.change_failure_rate, d.median_time_to_resto"
        "re_seconds \nFROM repositories LEFT OUTER JOIN (SELECT builds.repository_id AS reposi"
        "tory_id, count(*) AS builds, CAST(count(*) FILTER (WHERE builds.status = $1 AND buil"
        "ds.status IN ($6, $7)) AS DOUBLE PRECISION) / nullif(count(*) FILTER (WHERE builds.s"
        "tatus IN ($8, $9)), 0) AS success_rate, median(builds.duration_seconds) AS median_du"
        "ration_seconds, quantile_cont(builds.duration_seconds, 0.95) AS p95_duration_seconds"
        " \nFROM builds \nWHERE builds.created_at >= $2 GROUP BY builds.repository_id) AS b ON "
        "b.repository_id = repositories.id LEFT OUTER JOIN (SELECT deployments.repository_id "
        "AS repository_id, count(*) AS deployments, CAST(count(*) AS DOUBLE PRECISION) / null"
        "if(CAST(1 AS DOUBLE PRECISION) * $3, 0) AS deploys_per_day, median(epoch(deployments"
        ".finished_at) - epoch(deployments.commit_at)) FILTER (WHERE deployments.status = $4)"
        " AS median_lead_time_seconds, CAST(count(*) FILTER (WHERE deployments.caused_inciden"
        "t = true) AS DOUBLE PRECISION) / nullif(count(*), 0) AS change_failure_rate, median("
        "epoch(deployments.restored_at) - epoch(deployments.finished_at)) FILTER (WHERE deplo"
        "yments.caused_incident = true) AS median_time_to_restore_seconds \nFROM deployments \n"
        "WHERE deployments.created_at >= $5 GROUP BY deployments.repository_id) AS d ON d.rep"
        "ository_id = repositories.id ORDER BY repository_id",
        [
            "success",
            datetime.datetime(2029, 12, 31, 0, 0),
            1.0,
            "success",
            datetime.datetime(2029, 12, 31, 0, 0),
            "success",
            "failure",
            "success",
            "failure",
        ],
    ),
    "flakiest_repositories": (
        "SELECT builds.repository_id AS repository_id, repositories.url AS url, count(*) FILT"
        "ER (WHERE builds.status IN ($3, $4)) AS builds, CAST(count(*) FILTER (WHERE builds.s"
        "tatus = $1 AND builds.status IN ($5, $6)) AS DOUBLE PRECISION) / nullif(count(*) FIL"
        "TER (WHERE builds.status IN ($7, $8)), 0) AS failure_rate \nFROM builds JOIN reposito"
        "ries ON builds.repository_id = repositories.id GROUP BY builds.repository_id, reposi"
        "tories.url \nHAVING count(*) FILTER (WHERE builds.status IN ($3, $4)) >= $2 ORDER BY "
        "failure_rate DESC, repository_id ASC \n LIMIT 10",
        ["failure", 5, "success", "failure", "success", "failure", "success", "failure"],
    ),
    "flakiest_repositories_3": (
        "SELECT builds.repository_id AS repository_id, repositories.url AS url, count(*) FILT"
        "ER (WHERE builds.status IN ($3, $4)) AS builds, CAST(count(*) FILTER (WHERE builds.s"
        "tatus = $1 AND builds.status IN ($5, $6)) AS DOUBLE PRECISION) / nullif(count(*) FIL"
        "TER (WHERE builds.status IN ($7, $8)), 0) AS failure_rate \nFROM builds JOIN reposito"
        "ries ON builds.repository_id = repositories.id GROUP BY builds.repository_id, reposi"
        "tories.url \nHAVING count(*) FILTER (WHERE builds.status IN ($3, $4)) >= $2 ORDER BY "
        "failure_rate DESC, repository_id ASC \n LIMIT 3",
        ["failure", 1, "success", "failure", "success", "failure", "success", "failure"],
    ),
    "project_health": (
        "SELECT projects.id AS project_id, projects.name, projects.status, projects.phase, co"
        "alesce(c.conversations, 0) AS conversations, coalesce(m.messages, 0) AS messages, m."
        "last_message_at, coalesce(doc.documents, 0) AS documents, coalesce(b.builds, 0) AS b"
        "uilds, b.build_success_rate, coalesce(dep.deployments, 0) AS deployments, dep.change"
        "_failure_rate \nFROM projects LEFT OUTER JOIN (SELECT conversations.project_id AS pro"
        "ject_id, count(*) AS conversations \nFROM conversations GROUP BY conversations.projec"
        "t_id) AS c ON c.project_id = projects.id LEFT OUTER JOIN (SELECT messages.project_id"
        " AS project_id, count(*) AS messages, max(messages.created_at) AS last_message_at \nF"
        "ROM messages GROUP BY messages.project_id) AS m ON m.project_id = projects.id LEFT O"
        "UTER JOIN (SELECT documents.project_id AS project_id, count(*) AS documents \nFROM do"
        "cuments GROUP BY documents.project_id) AS doc ON doc.project_id = projects.id LEFT O"
        "UTER JOIN (SELECT builds.project_id AS project_id, count(*) AS builds, CAST(count(*)"
        " FILTER (WHERE builds.status = $1 AND builds.status IN ($2, $3)) AS DOUBLE PRECISION"
        ") / nullif(count(*) FILTER (WHERE builds.status IN ($4, $5)), 0) AS build_success_ra"
        "te \nFROM builds GROUP BY builds.project_id) AS b ON b.project_id = projects.id LEFT "
        "OUTER JOIN (SELECT deployments.project_id AS project_id, count(*) AS deployments, CA"
        "ST(count(*) FILTER (WHERE deployments.caused_incident = true) AS DOUBLE PRECISION) /"
        " nullif(count(*), 0) AS change_failure_rate \nFROM deployments GROUP BY deployments.p"
        "roject_id) AS dep ON dep.project_id = projects.id ORDER BY projects.name, projects.i"
        "d",
        ["success", "success", "failure", "success", "failure"],
    ),
    "most_active_projects": (
        "SELECT messages.project_id AS project_id, projects.name AS name, count(*) AS message"
        "s, sum(messages.token_count) AS tokens \nFROM messages JOIN projects ON messages.proj"
        "ect_id = projects.id GROUP BY messages.project_id, projects.name ORDER BY messages D"
        "ESC, project_id ASC \n LIMIT 10",
        [],
    ),
    "most_active_projects_window": (
        "SELECT messages.project_id AS project_id, projects.name AS name, count(*) AS message"
        "s, sum(messages.token_count) AS tokens \nFROM messages JOIN projects ON messages.proj"
        "ect_id = projects.id \nWHERE messages.created_at >= $1 GROUP BY messages.project_id, "
        "projects.name ORDER BY messages DESC, project_id ASC \n LIMIT 5",
        [datetime.datetime(2026, 2, 22, 12, 0)],
    ),
    "most_active_projects_empty": (
        "SELECT messages.project_id AS project_id, projects.name AS name, count(*) AS message"
        "s, sum(messages.token_count) AS tokens \nFROM messages JOIN projects ON messages.proj"
        "ect_id = projects.id \nWHERE messages.created_at >= $1 GROUP BY messages.project_id, "
        "projects.name ORDER BY messages DESC, project_id ASC \n LIMIT 10",
        [datetime.datetime(2029, 12, 31, 0, 0)],
    ),
}
