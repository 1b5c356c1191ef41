"""Parallel-safe test databases: one migrated template file per worker, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from project_architect_db.core._worker import to_thread
from project_architect_db.database import Database

__all__ = ["TemplateDatabase", "open_fresh_database"]


class TemplateDatabase:
    """A database file prepared once (schema at head, extensions installed) and copied per test.

    Copying a closed, checkpointed DuckDB file costs a few milliseconds, far less than creating
    the schema again, and each xdist worker owns its own template so workers never share a file.
    """

    def __init__(self, directory: Path, **options: Any) -> None:
        self.directory = directory
        self.path = directory / "template.duckdb"
        self.options = options
        self._ready = False

    async def ensure(self) -> Path:
        """Create the template file on first use."""
        if not self._ready:
            self.directory.mkdir(parents=True, exist_ok=True)
            async with Database.open(self.path, **self.options):
                pass
            self._ready = True
        return self.path

    async def copy_to(self, target: Path) -> Path:
        """Copy the template to ``target`` (created on first use)."""
        source = await self.ensure()
        await to_thread(shutil.copyfile, source, target)
        return target


async def open_fresh_database(template: TemplateDatabase, target: Path, **options: Any) -> Database:
    """A new, open database at ``target`` holding a copy of ``template``."""
    path = await template.copy_to(target)
    return await Database.open(path, **(template.options | options))
