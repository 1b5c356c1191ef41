"""Every prebuilt answer against the same numbers computed in Python from the generated rows."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from project_architect_db import Database

from ._expected import counter, group, median, quantile, seconds, trunc
from .conftest import NOW, Dataset

Loaded = tuple[Database, Dataset]


def approx(value: Any) -> Any:
    return None if value is None else pytest.approx(value, rel=1e-9, abs=1e-9)


async def test_portfolio_counts_projects_by_status_and_phase(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.portfolio().rows()
    expected = counter(data.projects, "status", "phase")
    assert {(r["status"], r["phase"]): r["count"] for r in rows} == expected
    assert [(r["status"], r["phase"]) for r in rows] == sorted(expected)


async def test_projects_created_counts_per_week_with_a_running_total(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.projects_created("week").rows()
    per_week = sorted(
        counter(({"w": trunc(p["created_at"], "week")} for p in data.projects), "w").items()
    )
    total = 0
    expected = []
    for (week,), n in per_week:
        total += n
        expected.append({"period": week, "count": n, "total": total})
    assert rows == expected


@pytest.mark.parametrize("unit", ["day", "week", "month"])
async def test_message_activity_counts_messages_and_tokens_per_period_and_role(
    loaded: Loaded, unit: str
) -> None:
    db, data = loaded
    rows = await db.analytics.message_activity(unit).rows()  # type: ignore[arg-type]
    buckets = group(
        ({**m, "period": trunc(m["created_at"], unit)} for m in data.messages), "period", "role"
    )
    expected = {
        key: (len(items), sum(m["token_count"] for m in items)) for key, items in buckets.items()
    }
    assert {(r["period"], r["role"]): (r["messages"], r["tokens"]) for r in rows} == expected


async def test_message_activity_of_one_project_counts_only_its_messages(loaded: Loaded) -> None:
    db, data = loaded
    project = data.projects[2]
    rows = await db.analytics.message_activity("month", project_id=project["id"]).rows()
    mine = [m for m in data.messages if m["project_id"] == project["id"]]
    assert sum(r["messages"] for r in rows) == len(mine)
    assert sum(r["tokens"] for r in rows) == sum(m["token_count"] for m in mine)


async def test_reply_latency_is_the_median_time_from_a_user_message_to_the_next_reply(
    loaded: Loaded,
) -> None:
    db, data = loaded
    rows = await db.analytics.reply_latency("week").rows()
    waits: dict[Any, list[float]] = {}
    for thread in group(data.messages, "conversation_id").values():
        thread.sort(key=lambda m: m["sequence"])
        for asked, answer in pairwise(thread):
            if asked["role"] == "user" and answer["role"] == "assistant":
                period = trunc(asked["created_at"], "week")
                waits.setdefault(period, []).append(
                    seconds(asked["created_at"], answer["created_at"])
                )
    assert {r["period"]: (r["replies"], r["median_reply_seconds"]) for r in rows} == {
        period: (len(values), median(values)) for period, values in waits.items()
    }


async def test_time_per_phase_sums_first_to_last_message_per_conversation(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.time_per_phase().rows()
    expected = {}
    for phase, convs in group(data.conversations, "phase").items():
        spans = [seconds(c["created_at"], c["last_message_at"]) for c in convs]
        expected[phase] = (len(convs), approx(sum(spans)), approx(median(spans)))
    assert {
        r["phase"]: (r["conversations"], r["seconds"], r["median_seconds"]) for r in rows
    } == expected


async def test_document_stats_per_type(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.document_stats().rows()
    expected = {}
    for doc_type, docs in group(data.documents, "doc_type").items():
        sizes = [d["size_bytes"] for d in docs]
        expected[doc_type] = {
            "doc_type": doc_type,
            "documents": len(docs),
            "versions": sum(d["version"] for d in docs),
            "total_bytes": sum(sizes),
            "largest_bytes": max(sizes),
            "avg_bytes": approx(sum(sizes) / len(sizes)),
        }
    assert {r["doc_type"]: r for r in rows} == expected


async def test_document_churn_is_versions_per_touched_document_per_period(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.document_churn("week").rows()
    expected = {}
    for period, versions in group(
        ({**v, "p": trunc(v["created_at"], "week")} for v in data.versions), "p"
    ).items():
        touched = len({v["document_id"] for v in versions})
        expected[period] = (len(versions), touched, approx(len(versions) / touched))
    assert {r["period"]: (r["versions"], r["documents"], r["churn"]) for r in rows} == expected


async def test_largest_documents_are_the_n_biggest(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.largest_documents(3).rows()
    expected = sorted(data.documents, key=lambda d: (-d["size_bytes"], d["path"]))[:3]
    assert [r["id"] for r in rows] == [d["id"] for d in expected]


async def test_stale_documents_were_not_updated_in_n_days(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.stale_documents(20, now=NOW).rows()
    cutoff = NOW - timedelta(days=20)
    expected = sorted(
        (d for d in data.documents if d["updated_at"] < cutoff),
        key=lambda d: (d["updated_at"], d["path"]),
    )
    assert [r["id"] for r in rows] == [d["id"] for d in expected]
    assert all(r["updated_at"].tzinfo is not None for r in rows)


def _build_health(builds: list[dict[str, Any]]) -> dict[str, Any]:
    finished = [b for b in builds if b["status"] in ("success", "failure")]
    durations = [b["duration_seconds"] for b in builds if b["duration_seconds"] is not None]
    return {
        "builds": len(builds),
        "success_rate": approx(
            sum(b["status"] == "success" for b in finished) / len(finished) if finished else None
        ),
        "median_duration_seconds": approx(median(durations)),
        "p95_duration_seconds": approx(quantile(durations, 0.95)),
    }


@pytest.mark.parametrize("per", ["repository", "project"])
async def test_build_health_per_repository_and_project(loaded: Loaded, per: str) -> None:
    db, data = loaded
    key = f"{per}_id"
    rows = await db.analytics.build_health(per).rows()  # type: ignore[arg-type]
    expected = {k: _build_health(v) for k, v in group(data.builds, key).items()}
    assert {r.pop(key): r for r in rows} == expected


def _dora(deploys: list[dict[str, Any]], days: int) -> dict[str, Any]:
    ok = [d for d in deploys if d["status"] == "success"]
    incidents = [d for d in deploys if d["caused_incident"]]
    restores = [seconds(d["finished_at"], d["restored_at"]) for d in incidents if d["restored_at"]]
    return {
        "deployments": len(deploys),
        "deploys_per_day": approx(len(deploys) / days),
        "median_lead_time_seconds": approx(
            median(seconds(d["commit_at"], d["finished_at"]) for d in ok)
        ),
        "change_failure_rate": approx(len(incidents) / len(deploys)),
        "median_time_to_restore_seconds": approx(median(restores)),
    }


@pytest.mark.parametrize(("per", "environment"), [("repository", None), ("project", "production")])
async def test_dora_metrics_match_their_definitions(
    loaded: Loaded, per: str, environment: str | None
) -> None:
    db, data = loaded
    key, days = f"{per}_id", 40
    since = NOW - timedelta(days=days)
    rows = await db.analytics.dora(per, days=days, environment=environment, now=NOW).rows()  # type: ignore[arg-type]
    window = [
        d
        for d in data.deployments
        if d["created_at"] >= since and environment in (None, d["environment"])
    ]
    expected = {k: _dora(v, days) for k, v in group(window, key).items()}
    assert {r.pop(key): r for r in rows} == expected


async def test_cicd_health_lists_every_repository_with_builds_and_dora(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.cicd_health("repository", days=3650, now=NOW).rows()
    assert {r["repository_id"] for r in rows} == {r["id"] for r in data.repositories}
    builds = group(data.builds, "repository_id")
    deploys = group(data.deployments, "repository_id")
    for row in rows:
        mine = builds.get(row["repository_id"], [])
        assert row["builds"] == len(mine)
        if mine:
            assert row["success_rate"] == _build_health(mine)["success_rate"]
        dora = (
            _dora(deploys[row["repository_id"]], 3650) if row["repository_id"] in deploys else None
        )
        assert row["deployments"] == (dora["deployments"] if dora else 0)
        if dora:
            assert row["change_failure_rate"] == dora["change_failure_rate"]
            assert row["median_lead_time_seconds"] == dora["median_lead_time_seconds"]


async def test_project_health_aggregates_every_part_of_each_project(loaded: Loaded) -> None:
    db, data = loaded
    rows = {r["project_id"]: r for r in await db.analytics.project_health(limit=None).rows()}
    assert set(rows) == {p["id"] for p in data.projects}
    for project in data.projects:
        row, pid = rows[project["id"]], project["id"]
        messages = [m for m in data.messages if m["project_id"] == pid]
        builds = [b for b in data.builds if b["project_id"] == pid]
        deploys = [d for d in data.deployments if d["project_id"] == pid]
        assert row["conversations"] == sum(c["project_id"] == pid for c in data.conversations)
        assert row["messages"] == len(messages)
        assert row["last_message_at"] == max(m["created_at"] for m in messages)
        assert row["documents"] == sum(d["project_id"] == pid for d in data.documents)
        assert row["builds"] == len(builds)
        assert row["deployments"] == len(deploys)
        if builds:
            assert row["build_success_rate"] == _build_health(builds)["success_rate"]
        if deploys:
            assert row["change_failure_rate"] == approx(
                sum(d["caused_incident"] for d in deploys) / len(deploys)
            )


async def test_most_active_projects_rank_by_messages(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.most_active_projects(3).rows()
    per = group(data.messages, "project_id")
    names = {p["id"]: p["name"] for p in data.projects}
    expected = sorted(per.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:3]
    assert [(r["project_id"], r["name"], r["messages"]) for r in rows] == [
        (pid, names[pid], len(items)) for pid, items in expected
    ]


async def test_flakiest_repositories_rank_by_failure_rate(loaded: Loaded) -> None:
    db, data = loaded
    rows = await db.analytics.flakiest_repositories(3, min_builds=2).rows()
    rates = []
    for repo_id, builds in group(data.builds, "repository_id").items():
        finished = [b for b in builds if b["status"] in ("success", "failure")]
        if len(finished) >= 2:
            failures = sum(b["status"] == "failure" for b in finished)
            rates.append((-(failures / len(finished)), str(repo_id), repo_id, len(finished)))
    expected = sorted(rates)[:3]
    assert [(r["repository_id"], r["builds"]) for r in rows] == [(e[2], e[3]) for e in expected]
    assert [r["failure_rate"] for r in rows] == [approx(-e[0]) for e in expected]
