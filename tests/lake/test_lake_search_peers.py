"""Search on a lake, fresh right after another process's commit (issue 14, point 5).

A real second process (``_search_peer.py``) writes documents and messages; this process's
``db.search`` finds them as soon as the peer's call returned, and no longer finds what the peer
deleted or rewrote. Both processes build and merge the shared index (its tables live in the
lake) without losing a row.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from tests.integration.lakeguard.conftest import python
from tests.lake._ask import ask
from tests.lake.conftest import Lake

pytestmark = [pytest.mark.subprocess, pytest.mark.timeout(600)]


@dataclass
class Peer:
    """The other process: send a command, get its answer."""

    process: subprocess.Popen[bytes]

    async def __call__(self, *command: Any) -> Any:
        answer = await ask(self.process, *command)
        assert "error" not in answer, answer
        return answer["ok"]


@pytest.fixture
def peer(lake: Lake, extension_directory: Path) -> Iterator[Peer]:
    spec = json.dumps([lake.catalog, lake.data_path, str(extension_directory)])
    process = python(
        "-m",
        "tests.lake._search_peer",
        spec,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(b'["ready"'), line + process.communicate(timeout=60)[1]
        yield Peer(process)
        assert process.stdin is not None
        process.stdin.write(b'["quit"]\n')
        process.stdin.flush()
        _, error = process.communicate(timeout=120)
        assert process.returncode == 0, error.decode()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.fixture
async def db(lake: Lake, extension_directory: Path) -> AsyncIterator[Database]:
    async with lake.open(extension_directory=extension_directory) as opened:
        yield opened


async def paths(db: Database, words: str) -> list[str]:
    return sorted(hit.path for hit in await db.search.documents(words))


async def test_documents_another_process_commits_are_found_at_once(
    db: Database, peer: Peer
) -> None:
    first = await peer("doc", "a.md", "websocket handshake")
    assert await paths(db, "websocket") == ["a.md"]  # this process built the index
    await peer("doc", "b.md", "websocket auth")
    assert await paths(db, "websocket") == ["a.md", "b.md"]
    assert await peer("search", "websocket") == ["a.md", "b.md"]  # the peer uses our index
    await peer("delete", first)
    assert await paths(db, "websocket") == ["b.md"]
    second = (await db.search.documents("auth"))[0].id
    await peer("update", str(second), "graphql schema")
    assert await paths(db, "websocket") == []
    assert await paths(db, "graphql") == ["b.md"]


async def test_messages_another_process_appends_are_found_at_once(db: Database, peer: Peer) -> None:
    assert await db.search.messages("kafka") == []
    made = await peer("message", "kafka consumer lag")
    assert [str(hit.id) for hit in await db.search.messages("kafka")] == [made]
    again = await peer("message", "kafka rebalance")
    assert sorted(str(hit.id) for hit in await db.search.messages("kafka")) == sorted([made, again])


async def test_merges_of_both_processes_keep_every_row_findable(db: Database, peer: Peer) -> None:
    db.search.rebuild_threshold = 3
    made = [await peer("doc", f"d{n}.md", f"lakehouse note {n}") for n in range(4)]
    assert len(await paths(db, "lakehouse")) == 4
    # both processes fold the same delta into the shared index at the same moment
    await asyncio.gather(db.search.merge(), peer("merge"))
    await peer("delete", made[0])
    await peer("doc", "late.md", "lakehouse late")
    expected = ["d1.md", "d2.md", "d3.md", "late.md"]
    assert await paths(db, "lakehouse") == expected
    assert await peer("search", "lakehouse") == expected
    await asyncio.gather(db.search.merge(), peer("merge"))
    assert await paths(db, "lakehouse") == expected


async def test_first_searches_of_both_processes_at_once_share_one_index(
    db: Database, peer: Peer
) -> None:
    await peer("doc", "a.md", "parquet files")
    await peer("message", "parquet compaction")
    ours, theirs, messages = await asyncio.gather(
        paths(db, "parquet"), peer("search", "parquet"), db.search.messages("parquet")
    )
    assert ours == theirs == ["a.md"]
    assert len(messages) == 1
    assert await peer("search_messages", "compaction") == [str(messages[0].id)]
