"""A writer process for the lake change-feed tests: commits, each reported once done.

Run as ``python -m tests.lake._feed_writer LAKE_JSON COUNT PAUSE``. It opens the lake, prints
``ready``, waits for a line on stdin, then makes a project, ``COUNT`` times appends a message
to a conversation of it and renames the project, and deletes the conversation (a cascade).
Each committed change is one JSON line ``[aggregate, kind, id, unix time after the commit]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from project_architect_db import ConflictError, Database

T = TypeVar("T")


async def retried(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, run again on a lake's ConflictError (another process's commit to the same
    table won: what an application on a lake does, as the error says)."""
    for attempt in range(20):
        try:
            return await call()
        except ConflictError as error:
            print(f"retrying after {error}", file=sys.stderr, flush=True)
            await asyncio.sleep(0.05 * (attempt + 1))
    return await call()


def report(aggregate: str, kind: str, row_id: object) -> None:
    print(json.dumps([aggregate, kind, str(row_id), time.time()]), flush=True)


async def main(catalog: str, data_path: str, extensions: str, count: int, pause: float) -> None:
    async with Database.open(
        catalog, data_path=data_path, extension_directory=Path(extensions)
    ) as db:
        print("ready", flush=True)
        sys.stdin.readline()
        project = await retried(lambda: db.projects.create({"name": "writer", "slug": "writer"}))
        report("projects", "created", project.id)
        conversation = await retried(lambda: db.conversations.create({"project_id": project.id}))
        report("conversations", "created", conversation.id)
        for number in range(count):
            message = await retried(
                lambda: db.conversations.add_message(
                    conversation.id, {"role": "user", "content": f"m{number}"}
                )
            )
            report("messages", "created", message.id)
            report("conversations", "updated", conversation.id)
            await retried(lambda: db.projects.update(project.id, {"name": f"writer {number}"}))
            report("projects", "updated", project.id)
            await asyncio.sleep(pause)
        await retried(lambda: db.conversations.delete(conversation.id))
        report("conversations", "deleted", conversation.id)


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    asyncio.run(main(*spec, int(sys.argv[2]), float(sys.argv[3])))
