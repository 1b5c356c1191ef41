"""``stream()`` is an async iterator that can be stopped early and refuses a plain ``for``."""

from __future__ import annotations

import pytest

from project_architect_db import AsyncUsageError, Database, InvalidQueryError
from project_architect_db.schemas import ProjectCreate


async def test_a_stream_yields_batches_and_stops_early_with_aclose(database: Database) -> None:
    await database.projects.bulk_create([ProjectCreate(name=f"P{n:02}") for n in range(25)])
    stream = database.projects.stream(order_by="name", batch_size=10)
    assert aiter(stream) is stream
    first = await anext(stream)
    assert [p.name for p in first] == [f"P{n:02}" for n in range(10)]
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    # the connection went back: the database keeps working
    assert await database.projects.count() == 25


async def test_a_stream_with_a_bad_batch_size_raises_when_iterated(database: Database) -> None:
    stream = database.projects.stream(batch_size=0)
    with pytest.raises(InvalidQueryError, match="batch_size"):
        await anext(stream)


async def test_a_plain_for_over_an_open_database_stream_says_async_for(
    database: Database,
) -> None:
    with pytest.raises(AsyncUsageError, match=r"async for batch in db\.projects\.stream"):
        for _ in database.projects.stream():  # type: ignore[attr-defined]
            pass
    assert await database.projects.count() == 0
