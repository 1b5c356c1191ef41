"""Many tasks writing at once: optimistic locking with retries, and a live change feed.

* **Read-modify-write with retries.** Eight tasks each add 4 "likes" to one project's metadata by
  reading it, changing the value and writing it back with ``expected_version``. When another
  task got there first, ``update`` raises ``ConflictError`` (``error.retryable`` is true): the
  task reloads and tries again. No increment is lost.
* **Appends never conflict.** Six tasks append messages to shared conversations at the same
  time; each conversation still numbers its messages 1..n without a gap.
* **The change feed.** A consumer task reads ``db.changes()`` while all this happens: it gets
  every committed change once, in commit order, and never a rolled-back one.

Run it::

    python examples/advanced/concurrent_access.py
    python examples/advanced/concurrent_access.py concurrent.duckdb
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import project_architect_db
from project_architect_db import Database, ProjectArchitectDBError
from project_architect_db.repositories import Change, Gap

T = TypeVar("T")

LIKERS = 8
LIKES_EACH = 4
APPENDERS = 6
MESSAGES_EACH = 10


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


class RetryStats:
    """How many attempts the optimistic-lock loops needed."""

    def __init__(self) -> None:
        self.conflicts = 0
        self.kinds: Counter[str] = Counter()
        self.examples: dict[str, str] = {}


async def with_retries(
    work: Callable[[], Awaitable[T]], stats: RetryStats, *, attempts: int = 50
) -> T:
    """Run ``work`` until it succeeds, retrying retryable errors with jittered backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except ProjectArchitectDBError as error:
            if not error.retryable or attempt == attempts:
                raise
            stats.conflicts += 1
            # a stale expected_version, or DuckDB's write-write conflict between two updates
            kind = "stale version" if "is at version" in str(error) else "write-write"
            stats.kinds[kind] += 1
            stats.examples.setdefault(kind, f"{type(error).__name__}: {error}")
            await asyncio.sleep(random.uniform(0, 0.002 * attempt))
    raise AssertionError("unreachable")


async def main() -> None:
    with database_path() as path:
        async with Database.open(path) as db:
            project = await db.projects.create({"name": "Popular", "metadata": {"likes": 0}})
            threads = [
                await db.conversations.create({"project_id": project.id, "title": f"Thread {i}"})
                for i in range(2)
            ]

            # -- a change-feed consumer, started before the writers -------------------------
            feed = db.changes(project_id=project.id)
            seen: Counter[tuple[str, str]] = Counter()
            sequences: list[int] = []
            gaps = 0

            async def consume() -> None:
                nonlocal gaps
                async for event in feed:  # ends when feed.close() is called and it is drained
                    if isinstance(event, Gap):
                        gaps += 1
                        continue
                    assert isinstance(event, Change)
                    seen[(event.aggregate, event.kind.value)] += 1
                    sequences.append(event.sequence)
                    if len(sequences) <= 3:
                        print(
                            f"  feed: #{event.sequence} {event.aggregate} {event.kind.value} "
                            f"version={event.version}"
                        )

            consumer = asyncio.create_task(consume())
            print("First changes seen by the feed consumer:")

            # -- writers --------------------------------------------------------------------
            stats = RetryStats()

            async def like_once() -> None:
                current = await db.projects.get(project.id)
                likes = int(current.metadata_["likes"]) + 1
                await asyncio.sleep(0)  # let other tasks interleave between read and write
                await db.projects.update(
                    project.id,
                    {"metadata": {**current.metadata_, "likes": likes}},
                    expected_version=current.version,
                )

            async def liker() -> None:
                for _ in range(LIKES_EACH):
                    await with_retries(like_once, stats)

            async def appender(worker: int) -> None:
                for i in range(MESSAGES_EACH):
                    await db.conversations.add_message(
                        threads[(worker + i) % len(threads)].id,
                        {"role": "user", "content": f"worker {worker} message {i}"},
                    )

            async def failing_writer() -> None:
                # a unit of work that fails: nothing of it is committed, or published
                with contextlib.suppress(RuntimeError):
                    async with db.transaction() as tx:
                        await tx.conversations.create(
                            {"project_id": project.id, "title": "never committed"}
                        )
                        raise RuntimeError("abandon this unit of work")

            started = time.perf_counter()
            await asyncio.gather(
                *(liker() for _ in range(LIKERS)),
                *(appender(w) for w in range(APPENDERS)),
                failing_writer(),
            )
            elapsed = time.perf_counter() - started
            tasks = LIKERS + APPENDERS + 1
            print(f"\n{tasks} tasks finished in {elapsed:.2f} s")

            # -- what the database holds ----------------------------------------------------
            final = await db.projects.get(project.id)
            expected = LIKERS * LIKES_EACH
            likes = final.metadata_["likes"]
            print(f"\nlikes = {likes} (expected {expected}), version {final.version}")
            print(f"ConflictError retries: {stats.conflicts} ({dict(stats.kinds)})")
            for kind, example in sorted(stats.examples.items()):
                print(f"  {kind}: {example[:110]}...")
            for thread in threads:
                page = await db.conversations.messages(thread.id, limit=1000)
                numbers = [m.sequence for m in page.items]
                gap_free = numbers == list(range(1, len(numbers) + 1))
                print(f"{thread.title}: {len(numbers)} messages, sequences gap-free: {gap_free}")
            titles = [c.title for c in (await db.conversations.list(project_id=project.id)).items]
            print(f"conversations: {titles} (the failed unit of work left nothing)")

            # -- stop the consumer and report what it saw -----------------------------------
            await asyncio.sleep(0)
            feed.close()
            await asyncio.wait_for(consumer, timeout=10)
            in_order = sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
            print(
                f"\nchange feed: {len(sequences)} changes, {gaps} gaps, in commit order: {in_order}"
            )
            for (aggregate, kind), number in sorted(seen.items()):
                print(f"  {aggregate:<13} {kind:<8} {number}")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
