"""A second process on a lake for the search tests: runs the commands it is sent.

Run as ``python -m tests.lake._search_peer LAKE_JSON``. It opens the lake, prints ``ready``,
then reads one JSON command a line and answers one JSON line: ``["doc", path, content]``
(creates a document in its project: its id), ``["update", id, content]``, ``["delete", id]``,
``["message", content]`` (appends to its conversation: its id), ``["search", words]`` /
``["search_messages", words]`` (the paths / contents found), ``["merge"]``, ``["quit"]``.
An error answers ``{"error": "<type>: <message>"}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from project_architect_db import Database


async def run(db: Database, state: dict[str, Any], command: list[Any]) -> Any:
    kind, *args = command
    if kind == "doc":
        made = await db.documents.create(
            {"project_id": state["project"], "path": args[0], "content": args[1]}
        )
        return str(made.id)
    if kind == "update":
        await db.documents.update(args[0], {"content": args[1]})
        return None
    if kind == "delete":
        await db.documents.delete(args[0])
        return None
    if kind == "message":
        made = await db.conversations.add_message(
            state["conversation"], {"role": "user", "content": args[0]}
        )
        return str(made.id)
    if kind == "search":
        return sorted(hit.path for hit in await db.search.documents(args[0]))
    if kind == "search_messages":
        return sorted(str(hit.id) for hit in await db.search.messages(args[0]))
    if kind == "merge":
        await db.search.merge()
        return None
    raise ValueError(kind)


async def main(catalog: str, data_path: str, extensions: str) -> None:
    async with Database.open(
        catalog, data_path=data_path, extension_directory=Path(extensions)
    ) as db:
        project = await db.projects.create({"name": "peer", "slug": "peer"})
        conversation = await db.conversations.create({"project_id": project.id})
        state = {"project": project.id, "conversation": conversation.id}
        print(json.dumps(["ready", str(project.id)]), flush=True)
        await answer_commands(db, state, run)


async def answer_commands(
    db: Database, state: dict[str, Any], run: Callable[..., Awaitable[Any]]
) -> None:
    """Answer the JSON commands read from stdin, one per line, until ``["quit"]``.

    Each answer is ``{"ok": result}`` or ``{"error": "Type: message"}``, one line on stdout.
    The lines are read off the loop, so the database's background tasks go on in between.
    """
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        if command == ["quit"]:
            break
        try:
            answer: Any = {"ok": await run(db, state, command)}
        except Exception as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*json.loads(sys.argv[1])))
