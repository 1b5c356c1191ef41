"""``db.changes()`` on a lake: the commits of every process, in commit order (issue 14).

A subscriber in this process receives what a real child process commits, and its own
commits, each exactly once, in the lake's commit order; a delete carries its cascade. The
catalog session killed or the catalog refusing connections for a while loses nothing; a
catalog gone for longer than the hub's ``outage`` ends the subscription with a typed error.
A cancelled reader and a slow one (``Gap``) behave as on a file.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from project_architect_db import Database
from project_architect_db.exceptions import CatalogUnavailableError
from project_architect_db.repositories._change_log import AUTHOR, FORMAT
from project_architect_db.repositories.changes import Change, Gap, Subscription
from tests.integration.lakeguard.conftest import python
from tests.lake.conftest import Lake

pytestmark = pytest.mark.timeout(600)


def writer(lake: Lake, extensions: Path, count: int, pause: float) -> subprocess.Popen[bytes]:
    spec = json.dumps([lake.catalog, lake.data_path, str(extensions)])
    return python(
        "-m",
        "tests.lake._feed_writer",
        spec,
        str(count),
        str(pause),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def started(process: subprocess.Popen[bytes]) -> None:
    """Wait for the writer's ``ready`` (it opened the lake), then let it write."""
    assert process.stdout is not None and process.stdin is not None
    line = await asyncio.to_thread(process.stdout.readline)
    assert line.strip() == b"ready", line + process.communicate(timeout=60)[1]
    process.stdin.write(b"go\n")
    process.stdin.flush()


async def take(feed: Subscription, count: int, timeout: float = 60) -> list[Change | Gap]:
    """The next ``count`` items of ``feed``, each stamped on arrival."""
    items: list[Change | Gap] = []
    for _ in range(count):
        items.append(await asyncio.wait_for(feed.__anext__(), timeout))
    return items


async def from_feed_or_failed_writer(
    feed: Subscription,
    process: subprocess.Popen[bytes],
    arrived: list[tuple[Change | Gap, float]],
    timeout: float = 120,
) -> Change | Gap:
    """The feed's next item; a writer that ended in error fails the test at once, with why."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.wait_for(feed.__anext__(), 2)
        except TimeoutError:
            if process.poll() not in (None, 0):
                _, err = await asyncio.to_thread(process.communicate, timeout=60)
                pytest.fail(
                    f"the writer failed after {len(arrived)} items:\n{err.decode()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise


def key(change: Change | Gap) -> tuple[str, str, str]:
    assert isinstance(change, Change), change
    return change.aggregate, str(change.kind), str(change.id)


@pytest.fixture
async def db(lake: Lake, extension_directory: Path) -> AsyncIterator[Database]:
    async with lake.open(extension_directory=extension_directory) as opened:
        yield opened


@pytest.mark.subprocess
async def test_another_process_commits_arrive_in_commit_order_and_ours_once(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    count = 12
    process = writer(lake, extension_directory, count, 0.05)
    try:
        await started(process)
        async with db.changes() as feed:
            ours = await db.projects.create({"name": "here", "slug": "here"})
            expected = 2 + 3 * count + 1 + 1  # the writer's commits, then ours
            arrived: list[tuple[Change | Gap, float]] = []
            for _ in range(expected):
                item = await from_feed_or_failed_writer(feed, process, arrived)
                arrived.append((item, time.time()))
            out, err = await asyncio.to_thread(process.communicate, timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        if process.returncode is None or (process.stdout and not process.stdout.closed):
            process.communicate()  # reaped, its pipes closed (an early failure left them open)
    assert process.returncode == 0, err.decode()[-3000:]
    reported = [json.loads(line) for line in out.decode().splitlines()]
    received = [key(item) for item, _ in arrived]
    theirs = [tuple(line[:3]) for line in reported]
    assert [k for k in received if k != ("projects", "created", str(ours.id))] == theirs
    assert received.count(("projects", "created", str(ours.id))) == 1
    sequences = [item.sequence for item, _ in arrived if isinstance(item, Change)]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    deleted = next(item for item, _ in arrived if key(item)[1] == "deleted")
    assert isinstance(deleted, Change) and deleted.cascaded == {"messages": count}
    assert len(deleted.cascaded_ids["messages"]) == count
    # delivery: each of the writer's commits reached us (the benchmark reports the figures)
    committed_at = {tuple(line[:3]): line[3] for line in reported}
    delays = [at - committed_at[key(item)] for item, at in arrived if key(item) in committed_at]
    assert max(delays) < 30, delays


async def test_a_delete_carries_its_cascade_and_versions_as_on_a_file(db: Database) -> None:
    async with db.changes() as feed:
        project = await db.projects.create({"name": "c", "slug": "c"})
        conversation = await db.conversations.create({"project_id": project.id})
        await db.conversations.add_message(conversation.id, {"role": "user", "content": "x"})
        await db.projects.delete(project.id)
        items = await take(feed, 5)
    assert [key(item)[:2] for item in items] == [
        ("projects", "created"),
        ("conversations", "created"),
        ("messages", "created"),
        ("conversations", "updated"),
        ("projects", "deleted"),
    ]
    last = items[-1]
    assert isinstance(last, Change)
    assert last.cascaded == {"conversations": 1, "messages": 1}
    assert last.removed("conversations") == {conversation.id}
    assert all(isinstance(item, Change) and item.project_id == project.id for item in items)


async def test_nothing_rolled_back_is_delivered(db: Database) -> None:
    async with db.changes(aggregates="projects") as feed:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.projects.create({"name": "gone", "slug": "gone"})
                raise RuntimeError("roll back")
        kept = await db.projects.create({"name": "kept", "slug": "kept"})
        (item,) = await take(feed, 1)
    assert key(item) == ("projects", "created", str(kept.id))


async def terminate_sessions(lake: Lake) -> int:
    """Kill every session on the lake's catalog database (as a server restart does)."""
    server = lake.server
    admin = await asyncpg.connect(host=server.socket_dir, user=server.user, database="postgres")
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                server.dbname,
            )
        )
    finally:
        await admin.close()


async def allow_connections(lake: Lake, allowed: bool) -> None:
    server = lake.server
    admin = await asyncpg.connect(host=server.socket_dir, user=server.user, database="postgres")
    try:
        await admin.execute(
            f'ALTER DATABASE "{server.dbname}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'
        )
    finally:
        await admin.close()


async def test_a_restarted_catalog_loses_no_commit(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    async with (
        lake.open(extension_directory=extension_directory) as other,
        db.changes(aggregates="projects") as feed,
    ):
        first = await other.projects.create({"name": "a", "slug": "a"})
        assert key((await take(feed, 1))[0])[2] == str(first.id)
        await allow_connections(lake, False)
        try:
            assert await terminate_sessions(lake) >= 1  # the feed's LISTEN session among them
            await asyncio.sleep(1.5)  # the pump finds the catalog refusing, and retries
        finally:
            await allow_connections(lake, True)
        made = []
        for slug in ("b", "c"):
            for attempt in range(20):  # the writer's own catalog sessions were killed too
                try:
                    made.append(await other.projects.create({"name": slug, "slug": slug}))
                    break
                except Exception:
                    if attempt == 19:
                        raise
                    await asyncio.sleep(0.5)
        items = await take(feed, 2)
    assert [key(item)[2] for item in items] == [str(row.id) for row in made]


async def test_a_catalog_gone_longer_than_the_outage_ends_the_feed_with_a_typed_error(
    db: Database, lake: Lake
) -> None:
    db.change_hub.outage = 1.0  # type: ignore[attr-defined]
    feed = db.changes()
    made = await db.projects.create({"name": "a", "slug": "a"})
    assert key((await take(feed, 1))[0])[2] == str(made.id)
    await allow_connections(lake, False)
    try:
        await terminate_sessions(lake)
        with pytest.raises(CatalogUnavailableError, match="reload what you show"):
            await asyncio.wait_for(feed.__anext__(), 60)
        assert feed.closed
    finally:
        await allow_connections(lake, True)


async def test_a_cancelled_reader_leaves_the_feed_working(db: Database) -> None:
    feed = db.changes(aggregates="projects")
    reader = asyncio.ensure_future(feed.__anext__())
    await asyncio.sleep(0.2)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    made = await db.projects.create({"name": "a", "slug": "a"})
    assert key((await take(feed, 1))[0])[2] == str(made.id)
    feed.close()
    with pytest.raises(StopAsyncIteration):
        await feed.__anext__()


async def test_the_last_subscriber_gone_stops_listening_and_a_new_one_starts_again(
    db: Database,
) -> None:
    async with db.changes(aggregates="projects") as feed:
        await db.projects.create({"name": "a", "slug": "a"})
        await take(feed, 1)
    await asyncio.sleep(2.5)  # the pump wakes (poll), sees nobody, stops
    assert db.change_hub._pump is None  # type: ignore[attr-defined]
    async with db.changes(aggregates="projects") as feed:
        made = await db.projects.create({"name": "b", "slug": "b"})
        assert key((await take(feed, 1))[0])[2] == str(made.id)


async def test_a_slow_subscriber_gets_a_gap_then_the_newest_change(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    async with (
        lake.open(extension_directory=extension_directory) as other,
        db.changes(aggregates="projects", max_queue=2) as feed,
        db.changes(aggregates="projects") as watcher,
    ):
        made = [await other.projects.create({"name": s, "slug": s}) for s in "abcde"]
        await take(watcher, 5)  # all five arrived here
        items = await take(feed, 2)
    gap, newest = items
    assert isinstance(gap, Gap) and gap.missed == 4
    assert key(newest)[2] == str(made[-1].id)


async def test_a_file_refuses_nothing_and_keeps_its_in_process_feed(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "f.duckdb") as file_db:
        async with file_db.changes() as feed:
            made = await file_db.projects.create({"name": "f", "slug": "f"})
            (item,) = await take(feed, 1)
    assert key(item)[2] == str(made.id)
    assert isinstance(uuid.UUID(key(item)[2]), uuid.UUID)


async def test_a_bulk_create_is_logged_whole_one_change_per_row(db: Database) -> None:
    async with db.changes(aggregates="projects") as feed:
        made = await db.projects.bulk_create(
            [{"name": f"b{n}", "slug": f"b{n}"} for n in range(40)]
        )
        items = await take(feed, 40)
    assert [key(item)[2] for item in items] == [str(row_id) for row_id in made]
    assert {item.version for item in items if isinstance(item, Change)} == {1}


async def test_a_bulk_of_children_carries_each_row_s_project(db: Database) -> None:
    project = await db.projects.create({"name": "parent", "slug": "parent"})
    async with db.changes(aggregates="conversations") as feed:
        made = await db.conversations.bulk_create(
            [{"project_id": project.id, "title": f"c{n}"} for n in range(70)]
        )
        items = await take(feed, 70)
    assert [key(item)[2] for item in items] == [str(row_id) for row_id in made]
    assert {item.project_id for item in items if isinstance(item, Change)} == {project.id}


async def raw_commit(db: Database, message: tuple[str, str, str] | None) -> None:
    """A project inserted by hand on the lake, with ``message`` as DuckLake's commit message."""
    async with db.engine.connect() as connection:
        duck = (await connection.get_raw_connection()).driver_connection

        def write() -> None:
            duck.execute("BEGIN")
            duck.execute(
                "INSERT INTO projects (id, name, slug, status, phase, tags, tech_stack, "
                "architecture, metadata, created_at, updated_at, version) SELECT uuid(), 'raw', "
                "'raw-' || uuid(), 'draft', 'requirements', [], [], '{}', '{}', now(), now(), 1"
            )
            if message is not None:
                duck.execute(
                    "CALL padb_lake.set_commit_message(?, ?, extra_info => ?)", list(message)
                )
            duck.execute("COMMIT")

        await asyncio.to_thread(write)


async def test_each_unit_signs_its_snapshot_and_other_commits_are_not_changes(
    db: Database,
) -> None:
    async with db.changes() as feed:
        await raw_commit(db, ("someone", "a commit of my own", '{"not": "ours"}'))
        await raw_commit(db, None)
        await raw_commit(db, (AUTHOR, "padb-changes/0", "an older or newer format"))
        await raw_commit(db, ("someone", FORMAT, FORMAT + "[[not, json"))  # an impostor
        await raw_commit(db, ("someone", FORMAT, FORMAT + '[["projects", "created", 1]]'))
        made = await db.projects.create({"name": "ours", "slug": "ours"})
        (item,) = await take(feed, 1)
    assert key(item) == ("projects", "created", str(made.id))
    async with db.engine.connect() as connection:
        newest = (
            await connection.exec_driver_sql(
                "SELECT author, commit_message, commit_extra_info FROM "
                "ducklake_snapshots('padb_lake') ORDER BY snapshot_id DESC LIMIT 1"
            )
        ).one()
    assert newest[0] == AUTHOR and newest[1] == FORMAT
    assert newest[2].startswith(FORMAT) and str(made.id) not in newest[2]  # ids are packed
