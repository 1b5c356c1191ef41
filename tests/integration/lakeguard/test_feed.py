"""The change feed across processes: a commit in one process reaches a subscriber in another."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from project_architect_db.core.lake import LakeCommit, LakeFeed, LakeGap, LakeGuard
from project_architect_db.exceptions import ConfigurationError, DatabaseError, DatabaseNotOpenError
from tests.integration.lakeguard._lake import Lake
from tests.integration.lakeguard.conftest import python

WRITER = """
import asyncio, json, sys, time
from project_architect_db.core.lake import LakeGuard
from tests.integration.lakeguard._lake import Lake

async def main(lake, count, pause):
    conn = lake.connect()
    async with await LakeGuard.connect(lake.conninfo) as guard:
        for number in range(count):
            async with guard.hold(exclusive=["projects(slug):feed"]) as held:
                conn.execute("INSERT INTO projects VALUES (?, 'feed', 1)", [str(number)])
                committed_at = time.time()  # the lake commit (auto-commit) returned
                snapshot = conn.execute(
                    "SELECT id FROM ducklake_last_committed_snapshot('lake')").fetchone()[0]
                held.announce(snapshot)
            print(json.dumps([snapshot, committed_at]), flush=True)
            await asyncio.sleep(pause)

asyncio.run(main(Lake.from_json(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
"""


async def collect(feed: LakeFeed, count: int) -> list[tuple[LakeCommit | LakeGap, float]]:
    received: list[tuple[LakeCommit | LakeGap, float]] = []
    async for item in feed:
        received.append((item, time.time()))
        if sum(isinstance(got, LakeCommit) for got, _ in received) >= count:
            break
    return received


@pytest.mark.subprocess
async def test_commits_of_another_process_arrive_in_commit_order_within_a_second(
    lake: Lake,
) -> None:
    count = 40
    feed = await LakeFeed.open(lake.conninfo, lake.connect(), poll_interval=30)
    try:
        writer = python("-c", WRITER, lake.as_json(), str(count), "0.05", stdout=subprocess.PIPE)
        received = await asyncio.wait_for(collect(feed, count), timeout=240)
        out, _ = writer.communicate(timeout=60)
    finally:
        await feed.close()
    committed = dict(json.loads(line) for line in out.decode().splitlines())
    commits = [item for item, _ in received if isinstance(item, LakeCommit)]
    ids = [commit.snapshot_id for commit in commits]
    assert ids == sorted(ids) == list(range(ids[0], ids[0] + count))
    assert set(ids) == set(committed)
    assert all("inlined_insert" in commit.changes for commit in commits)
    delays = sorted(
        at - committed[item.snapshot_id] for item, at in received if isinstance(item, LakeCommit)
    )
    p99 = delays[int(0.99 * (len(delays) - 1))]
    print(
        f"feed delay over {count} commits: median {delays[len(delays) // 2]:.3f} s, p99 {p99:.3f} s"
    )
    assert p99 < 1.0


async def test_a_subscriber_too_far_behind_gets_one_gap_then_the_newest_commits(
    lake: Lake,
) -> None:
    conn = lake.connect()
    feed = await LakeFeed.open(lake.conninfo, lake.connect(), max_behind=3, poll_interval=0.1)
    try:
        for number in range(5):
            conn.execute("INSERT INTO projects VALUES (?, 'x', 1)", [str(number)])
        first = await anext(feed)
        assert isinstance(first, LakeGap) and first.missed == 5
        assert first.resume_at == feed.last_seen
        async with await LakeGuard.connect(lake.conninfo) as guard:
            conn.execute("INSERT INTO projects VALUES ('late', 'x', 1)")
            await guard.announce(0)  # the payload only wakes; the snapshots are read
        after = await anext(feed)
        assert isinstance(after, LakeCommit) and after.snapshot_id == first.resume_at + 1
    finally:
        await feed.close()
    with pytest.raises(StopAsyncIteration):
        await anext(feed)


async def test_expired_snapshots_a_subscriber_never_read_are_a_gap(lake: Lake) -> None:
    conn = lake.connect()
    feed = await LakeFeed.open(lake.conninfo, lake.connect(), poll_interval=0.1)
    try:
        for number in range(3):
            conn.execute("INSERT INTO projects VALUES (?, 'x', 1)", [str(number)])
        newest = conn.execute("SELECT id FROM ducklake_current_snapshot('lake')").fetchone()[0]
        conn.execute(f"CALL ducklake_expire_snapshots('lake', versions => [{newest - 2}])")
        gap = await anext(feed)
        assert isinstance(gap, LakeGap)
        assert gap.resume_at == newest
    finally:
        await feed.close()
        await feed.close()


async def test_a_feed_needs_an_attached_lake_and_sane_settings(lake: Lake, tmp_path: Path) -> None:
    import duckdb

    with pytest.raises(ConfigurationError, match="No DuckLake named 'lake'"):
        await LakeFeed.open(lake.conninfo, duckdb.connect())
    with pytest.raises(ConfigurationError, match="max_behind"):
        await LakeFeed.open(lake.conninfo, lake.connect(), max_behind=0)
    with pytest.raises(DatabaseError, match="cannot be reached"):
        await LakeFeed.open(f"host={tmp_path} dbname=x connect_timeout=2", lake.connect())


async def test_announcing_on_a_closed_guard_is_refused(lake: Lake) -> None:
    guard = await LakeGuard.connect(lake.conninfo)
    await guard.close()
    with pytest.raises(DatabaseNotOpenError):
        await guard.announce(1)


async def test_an_announced_hold_wakes_the_feed_at_once_not_at_its_next_poll(lake: Lake) -> None:
    conn = lake.connect()
    feed = await LakeFeed.open(lake.conninfo, lake.connect(), poll_interval=60)
    try:
        waiting = asyncio.create_task(anext(feed))
        await asyncio.sleep(0.2)  # the feed has read nothing new and waits for a wake-up
        async with await LakeGuard.connect(lake.conninfo) as guard:
            async with guard.hold(exclusive=["projects(slug):x"]) as held:
                conn.execute("INSERT INTO projects VALUES ('p', 'x', 1)")
                held.announce(
                    conn.execute("FROM ducklake_last_committed_snapshot('lake')").fetchone()[0]
                )
            got = await asyncio.wait_for(waiting, timeout=30)
        assert isinstance(got, LakeCommit)
        assert got.snapshot_id == held.snapshot_id
    finally:
        await feed.close()


async def test_a_hold_whose_block_fails_announces_nothing(lake: Lake) -> None:
    conn = lake.connect()
    feed = await LakeFeed.open(lake.conninfo, lake.connect(), poll_interval=60)
    try:
        waiting = asyncio.create_task(anext(feed))
        await asyncio.sleep(0.2)
        async with await LakeGuard.connect(lake.conninfo) as guard:
            with pytest.raises(RuntimeError):
                async with guard.hold(exclusive=["k"]) as held:
                    # a commit the feed would deliver at once, were it announced
                    conn.execute("INSERT INTO projects VALUES ('p', 'x', 1)")
                    held.announce(99)
                    raise RuntimeError("the unit failed after announcing")
        await asyncio.sleep(0.5)
        assert not waiting.done()
        waiting.cancel()
    finally:
        await feed.close()
