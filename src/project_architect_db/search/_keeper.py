"""The BM25 indexes' lifecycle behind ``db.search``: build, check, merge in the background.

``SearchService`` (``service.py``) answers searches; this keeps each table's index fresh: one
lock per table (a build and a merge never overlap), the tables whose index has been seen (the
library never drops one, so later searches skip the check), each table's changed rows
tokenized once (``_delta.py``), and the background merges started once ``rebuild_threshold``
rows changed. On a lake two processes may build or merge the shared index at the same moment;
the loser of a build uses the winner's index, a merge retries from the newer snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING, Any

from project_architect_db.exceptions import ConflictError
from project_architect_db.search import _index
from project_architect_db.search._delta import DeltaCache
from project_architect_db.search._memory import BuildMemory
from project_architect_db.search._sql import IndexSpec

if TYPE_CHECKING:
    from project_architect_db.search.service import Runner

__all__ = ["MERGE_ATTEMPTS", "IndexKeeper"]

logger = logging.getLogger("project_architect_db.search.service")

#: How many times a merge that lost a lake's commit race is tried.
MERGE_ATTEMPTS = 5


class IndexKeeper:
    """Keeps the BM25 indexes of ``tables`` fresh for one ``SearchService``."""

    def __init__(
        self,
        executor: Runner,
        tables: tuple[str, ...],
        *,
        read_only: bool,
        rebuild_threshold: int,
        build_batch_rows: int,
        build_memory: BuildMemory,
    ) -> None:
        self.executor = executor
        self.read_only = read_only
        self.rebuild_threshold = rebuild_threshold
        self.build_batch_rows = build_batch_rows
        self.build_memory = build_memory
        self.locks: dict[str, asyncio.Lock] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.closed = False
        #: Tables whose index has been seen.
        self.indexed: set[str] = set()
        #: Each table's changed rows, tokenized once.
        self.deltas = {table: DeltaCache() for table in tables}

    async def close(self) -> None:
        """Cancel the background merges and wait for them to end."""
        self.closed = True
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task  # a cancelled or failed merge is moot now
        self.tasks.clear()

    def lock(self, spec: IndexSpec) -> asyncio.Lock:
        return self.locks.setdefault(spec.table, asyncio.Lock())

    async def build(self, spec: IndexSpec) -> None:
        # A task of its own, so the build is its own transaction even when the caller is
        # inside one (a transaction is joined only by its own task).
        async def build() -> None:
            async with self.executor.transaction() as tx:
                batch = self.build_batch_rows

                def run(con: Any) -> None:
                    with self.build_memory.bounded(con):
                        _index.build_index(con, spec, batch)

                await tx.run_native(run)

        async with self.lock(spec):
            try:
                await asyncio.ensure_future(build())
            except ConflictError:
                # on a lake, another process built the shared index at the same moment
                if not await self.has_index(spec):
                    raise
        self.indexed.add(spec.table)

    async def ensure_index(self, spec: IndexSpec) -> None:
        if spec.table in self.indexed or self.read_only or await self.has_index(spec):
            return
        lock = self.lock(spec)
        if lock.locked():  # another task is building it: wait, then use it
            async with lock:
                pass
            if await self.has_index(spec):
                return
        await self.build(spec)

    async def has_index(self, spec: IndexSpec) -> bool:
        """Whether the index exists in the current format (an older one is to be rebuilt)."""

        async def check() -> bool:
            async with self.executor.transaction() as tx:
                return await tx.run_native(lambda con: _index.is_current(con, spec))

        found = await asyncio.ensure_future(check())
        if found:
            self.indexed.add(spec.table)
        return found

    async def merge(self, spec: IndexSpec) -> None:
        async def merge() -> None:
            async with self.executor.transaction() as tx:
                await tx.run_native(lambda con: _index.merge_index(con, spec))

        async with self.lock(spec):
            for attempt in range(1, MERGE_ATTEMPTS + 1):
                try:
                    await asyncio.ensure_future(merge())
                    return
                except ConflictError:
                    # on a lake, another process merged into the shared index first: what
                    # it left is merged from the newer snapshot
                    if attempt == MERGE_ATTEMPTS:
                        raise
                    await asyncio.sleep(0.05 * attempt * (1 + random.random()))

    def maybe_merge(self, spec: IndexSpec, delta: int) -> None:
        if self.read_only or self.closed or delta < self.rebuild_threshold:
            return
        running = self.tasks.get(spec.table)
        if running is not None and not running.done():
            return

        async def merge() -> None:
            try:
                await self.merge(spec)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next search retries; searches stay correct meanwhile
                logger.exception("Background merge into the %s search index failed", spec.table)

        self.tasks[spec.table] = asyncio.get_running_loop().create_task(merge())
