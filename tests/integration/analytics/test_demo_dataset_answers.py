"""The data `seed` and `demo` load answers every ready answer and every demo search with rows."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.cli._render import SNIPPET_MARKERS
from project_architect_db.cli.demo import _MESSAGE_SEARCH, _SEARCHES
from project_architect_db.cli.seed import Preset, _sizes, seed_database
from project_architect_db.datagen import generate_dataset
from project_architect_db.queries.analytics.answers import AnalyticsAnswers

# Every ready answer, called as the demo (or a user trying it) would, with its default window.
ANSWERS: dict[str, Callable[[Any], Any]] = {
    "portfolio": lambda a: a.portfolio(),
    "projects_created": lambda a: a.projects_created(),
    "message_activity": lambda a: a.message_activity("week"),
    "reply_latency": lambda a: a.reply_latency(),
    "time_per_phase": lambda a: a.time_per_phase(),
    "document_stats": lambda a: a.document_stats(),
    "document_churn": lambda a: a.document_churn("week"),
    "largest_documents": lambda a: a.largest_documents(5),
    "stale_documents": lambda a: a.stale_documents(),
    "build_health": lambda a: a.build_health(days=30),
    "dora": lambda a: a.dora(),
    "cicd_health": lambda a: a.cicd_health("project"),
    "flakiest_repositories": lambda a: a.flakiest_repositories(),
    "project_health": lambda a: a.project_health(),
    "most_active_projects": lambda a: a.most_active_projects(5, days=30),
}


@pytest.fixture(
    params=[(Preset.TINY, 42), (Preset.TINY, 7), (Preset.TINY, 2026), (Preset.SMALL, 42)],
    ids=lambda p: f"{p[0].value}-seed{p[1]}",
)
async def demo_db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database seeded exactly as ``demo --preset <p> --seed <s>`` seeds it today."""
    preset, seed = request.param
    async with Database.open(":memory:") as db:
        await seed_database(db, generate_dataset(seed, **_sizes(preset)))
        yield db


def test_the_list_covers_every_ready_answer() -> None:
    public = {
        name
        for name, member in inspect.getmembers(AnalyticsAnswers, inspect.isfunction)
        if not name.startswith("_") and name != "query"
    }
    assert public == set(ANSWERS)


async def test_every_ready_answer_has_rows(demo_db: Database) -> None:
    empty = [name for name, answer in ANSWERS.items() if not await answer(demo_db.analytics).rows()]
    assert empty == []


async def test_the_dora_metrics_cover_the_last_thirty_days(demo_db: Database) -> None:
    rows = await demo_db.analytics.dora("project").rows()
    assert rows
    assert sum(row["deployments"] for row in rows) > 0
    assert any(row["median_lead_time_seconds"] is not None for row in rows)


async def test_every_demo_search_finds_documents_with_highlighted_words(demo_db: Database) -> None:
    demo_db.search.markers = SNIPPET_MARKERS
    for query in _SEARCHES:
        hits = await demo_db.search.documents(query, limit=3)
        assert hits, query
        assert all(SNIPPET_MARKERS[0] in hit.snippet for hit in hits), query
    replies = await demo_db.search.messages(_MESSAGE_SEARCH, limit=3)
    assert replies
    assert all(SNIPPET_MARKERS[0] in hit.snippet for hit in replies)


async def test_data_dated_long_ago_has_nothing_in_the_last_thirty_days() -> None:
    # The windowed answers read the wall clock: data that ends in 2020 is outside them ...
    then = datetime(2020, 3, 1, tzinfo=UTC)
    async with Database.open(":memory:") as db:
        await seed_database(db, generate_dataset(42, **_sizes(Preset.TINY), now=then))
        assert await db.analytics.dora().rows() == []
        assert await db.analytics.most_active_projects(5, days=30).rows() == []
        # ... and inside them when they are asked about that day
        assert await db.analytics.dora(now=then).rows()
        assert await db.analytics.most_active_projects(5, days=30, now=then).rows()


async def test_a_word_the_generator_never_writes_finds_nothing() -> None:
    async with Database.open(":memory:") as db:
        await seed_database(db, generate_dataset(42, **_sizes(Preset.TINY)))
        assert await db.search.documents("quetzalcoatl", limit=3) == []
        assert await db.search.messages("quetzalcoatl", limit=3) == []


def test_live_projects_have_a_recent_conversation_build_and_deployment() -> None:
    now = datetime(2025, 6, 30, tzinfo=UTC)
    data = generate_dataset(5, projects=12, now=now)
    live = {
        row["id"]
        for row in data.projects.select(["id", "status"]).to_pylist()
        if row["status"] in ("active", "draft", "paused")
    }
    assert live
    recent = (now - timedelta(days=14)).replace(tzinfo=None)
    for table in (data.conversations, data.builds, data.deployments):
        busy = {
            row["project_id"]
            for row in table.select(["project_id", "created_at"]).to_pylist()
            if row["created_at"] >= recent
        }
        assert live <= busy


def test_a_dataset_of_quiet_projects_still_has_recent_activity() -> None:
    now = datetime(2025, 6, 30, tzinfo=UTC)
    for seed in range(200):  # find a dataset whose projects are all completed or archived
        data = generate_dataset(seed, projects=1, now=now)
        if data.projects["status"][0].as_py() in ("completed", "archived"):
            break
    else:  # pragma: no cover - the statuses are drawn with weights 20 and 12 out of 100
        pytest.fail("no quiet project in 200 seeds")
    recent = (now - timedelta(days=14)).replace(tzinfo=None)
    for table in (data.conversations, data.builds, data.deployments):
        assert max(table["created_at"].to_pylist()) >= recent
