"""Helpers of the backup tests: data to back up, and tables compared with plain duckdb."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database


async def fill(db: Database, projects: int = 20) -> None:
    """Projects with conversations, messages and documents (so every invariant is exercised)."""
    for number in range(projects):
        project = await db.projects.create({"name": f"Project {number}"})
        conversation = await db.conversations.create({"project_id": project.id})
        for turn in range(3):
            await db.conversations.add_message(
                conversation.id, {"role": "user", "content": f"message {number}/{turn}"}
            )
        await db.documents.create(
            {"project_id": project.id, "path": f"doc{number}.md", "content": f"body {number}"}
        )


def count(path: Path, table: str) -> int:
    """Rows of ``table`` in the file at ``path`` (read-only, plain duckdb)."""
    with duckdb.connect(str(path), read_only=True) as duck:
        return int(duck.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def read_only_folder(folder: Path, on: bool) -> None:
    """Make ``folder`` unwritable (root ignores permission bits: chattr +i), or undo it."""
    if os.geteuid() != 0:
        folder.chmod(0o555 if on else 0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("as root an unwritable folder needs chattr +i, which is not installed")
    done = subprocess.run(["chattr", "+i" if on else "-i", str(folder)], capture_output=True)
    if done.returncode and on:
        pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")


class AcknowledgingWriters:
    """Tasks that commit a project, a conversation and 3 messages per unit, logging each ack.

    ``log`` holds ``{"slug", "started", "acked"}`` per acknowledged unit (``time.monotonic()``);
    :meth:`until` waits until ``count`` more units were acknowledged.
    """

    def __init__(self, db: Database, tasks: int) -> None:
        self.db = db
        self.log: list[dict[str, Any]] = []
        self.stop = asyncio.Event()
        self._reached = asyncio.Event()
        self._wanted = 0
        self._tasks = [asyncio.create_task(self._write(worker)) for worker in range(tasks)]

    async def _write(self, worker: int) -> None:
        number = 0
        while not self.stop.is_set():
            slug, started = f"w{worker}-{number}", time.monotonic()
            async with self.db.transaction() as tx:
                project = await tx.projects.create({"name": slug, "slug": slug})
                conversation = await tx.conversations.create({"project_id": project.id})
                for turn in range(3):
                    await tx.conversations.add_message(
                        conversation.id, {"role": "user", "content": f"{slug}/{turn}"}
                    )
            self.log.append({"slug": slug, "started": started, "acked": time.monotonic()})
            if len(self.log) >= self._wanted:
                self._reached.set()
            number += 1

    async def until(self, count: int) -> None:
        """Wait until ``count`` more units were acknowledged."""
        self._reached.clear()
        self._wanted = len(self.log) + count
        await self._reached.wait()

    async def finish(self) -> None:
        """Stop every writer and wait for them."""
        self.stop.set()
        await asyncio.gather(*self._tasks)

    def split(self, window: tuple[float, float]) -> tuple[set[str], set[str], set[str]]:
        """Slugs acknowledged before ``window``, begun after it, and all of them."""
        before, after = window
        return (
            {e["slug"] for e in self.log if e["acked"] < before},
            {e["slug"] for e in self.log if e["started"] > after},
            {e["slug"] for e in self.log},
        )
