"""Helpers of the backup tests: data to back up, and tables compared with plain duckdb."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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
