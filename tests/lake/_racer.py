"""One racing writer process on a lake, through ``Database.open(lake)`` and the repositories.

Run as ``python -m tests.lake._racer LAKE_JSON LOG UNTIL SEED``. The units are those of
``tests/integration/lakeguard/_racer.py`` (creates of the same slugs, appends to shared
conversations, updates with ``expected_version``, cascading deletes while children are added),
made with the library's API: its guard (``core/lake/_unit.py``) is what keeps them sound. Every
acknowledged write (the call returned) is one JSON line of LOG, as ``Acks`` reads it.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from project_architect_db import Database
from project_architect_db.exceptions import (
    AlreadyExistsError,
    ConflictError,
    IntegrityError,
    NotFoundError,
)

SLUGS = [f"slug-{i}" for i in range(12)]
PATHS = [f"docs/{i}.md" for i in range(4)]
REFUSED = {
    AlreadyExistsError: "refused",
    NotFoundError: "refused",
    IntegrityError: "refused",
    ConflictError: "conflict",
}


class Racer:
    """One process's loop: pick a unit, run it through the library, log what was acknowledged."""

    def __init__(self, db: Database, log: Path, seed: int) -> None:
        self.db = db
        self.log = log.open("a", buffering=1)
        self.random = random.Random(seed)

    def write(self, entry: dict[str, Any]) -> None:
        self.log.write(json.dumps(entry) + "\n")

    async def rows(self, sql: str) -> list[Any]:
        async with self.db.engine.connect() as conn:
            return list(await conn.execute(text(sql)))

    async def step(self) -> None:
        kind = self.random.choice(
            ["create", "message", "message", "message", "document", "update", "update", "delete"]
        )
        try:
            entry = await getattr(self, kind)()
        except tuple(REFUSED) as error:
            outcome = next(name for kind, name in REFUSED.items() if isinstance(error, kind))
            entry = {"outcome": outcome, "error": str(error)[:160]}
        if entry is not None:
            self.write({"op": kind, **entry})

    async def create(self) -> dict[str, Any]:
        slug = self.random.choice(SLUGS)
        made = await self.db.projects.create({"name": slug, "slug": slug})
        await self.db.conversations.create({"project_id": made.id})
        return {"project": str(made.id)}

    async def message(self) -> dict[str, Any] | None:
        found = await self.rows("SELECT id, project_id FROM conversations")
        if not found:
            return None
        conversation, project = self.random.choice(found)
        made = await self.db.conversations.add_message(
            conversation, {"role": "user", "content": "hello"}
        )
        return {"id": str(made.id), "project": str(project)}

    async def document(self) -> dict[str, Any] | None:
        found = await self.rows("SELECT id FROM projects")
        if not found:
            return None
        (project,) = self.random.choice(found)
        path = self.random.choice(PATHS)
        made = await self.db.documents.create({"project_id": project, "path": path})
        return {"id": str(made.id), "project": str(project)}

    async def update(self) -> dict[str, Any] | None:
        found = await self.rows("SELECT id, version FROM projects")
        if not found:
            return None
        project, version = self.random.choice(found)
        await self.db.projects.update(
            project, {"description": uuid.uuid4().hex}, expected_version=version
        )
        return {"project": str(project), "expected": version}

    async def delete(self) -> dict[str, Any] | None:
        found = await self.rows("SELECT id FROM projects")
        if len(found) < 4:  # keep a few projects for the others to write under
            return None
        (project,) = self.random.choice(found)
        self.write({"op": "delete-intent", "project": str(project)})
        await self.db.projects.delete(project)
        return {"project": str(project)}


#: Steps each writer takes at the least.
MIN_STEPS = 30


async def main(lake: list[str], log: Path, until: float, seed: int) -> None:
    catalog, data_path, extensions = lake
    async with Database.open(
        catalog, data_path=data_path, extension_directory=extensions, memory_limit="512MB"
    ) as db:
        racer = Racer(db, log, seed)
        # at least MIN_STEPS steps, however late it started (up to 2 minutes past ``until``):
        # on a loaded machine a start-up can eat the whole race
        steps = 0
        while time.time() < until or (steps < MIN_STEPS and time.time() < until + 120):
            await racer.step()
            steps += 1


if __name__ == "__main__":
    asyncio.run(
        main(json.loads(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    )
