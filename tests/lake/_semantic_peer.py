"""Another process on a lake for the semantic tests: runs the commands it is sent.

Run as ``python -m tests.lake._semantic_peer SPEC_JSON`` with ``[catalog, data_path,
extensions, embedder]``; ``embedder`` is ``"words"`` (64 dimensions), ``"words32"``, ``"slow"``
(a passage call sleeps 120 s: to be killed inside the embedder), ``"slowish"`` (0.2 s) or
``"none"``. It opens the
lake, prints ``["ready", project_id]``, then reads one JSON command a line and answers one
JSON line ``{"ok": ...}`` or ``{"error": "<type>: <message>"}``:

* ``["doc", path, content]`` / ``["message", content]``: a document / message of its own
  project / conversation (its id); ``["update", id, content]``, ``["delete", id]``;
* ``["embedded"]``; ``["batch", n]`` (rows per drain pass); ``["passages"]`` (texts its
  embedder embedded as passages);
* ``["embed_in_background"]``: starts ``embedded()`` and answers once the embedder was entered;
* ``["similar", text]`` / ``["similar_vector", text]`` (the words vector of ``text``): the
  ids and snippets found; ``["quit"]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from project_architect_db import Database
from tests.integration.semantic._embedders import Slow, Words, vector
from tests.lake._search_peer import answer_commands
from tests.lake._search_peer import run as write


def _embedder(name: str) -> Any:
    if name == "none":
        return False
    if name == "slow":
        return Slow(120.0)
    if name == "slowish":
        return Slow(0.2)
    return Words(dimension=32 if name == "words32" else 64)


async def run(db: Database, state: dict[str, Any], command: list[Any]) -> Any:
    kind, *args = command
    if kind in ("doc", "update", "delete", "message"):  # the BM25 peer's writes
        return await write(db, state, command)
    if kind == "embedded":
        await db.search.embedded()
        return None
    if kind == "passages":  # texts its embedder embedded as passages
        embedder = db.search.semantic.embedder
        return sum(n for k, n in embedder.calls if k == "passage")  # type: ignore[union-attr]
    if kind == "batch":
        db.search.semantic.batch_rows = int(args[0])
        return None
    if kind == "embed_in_background":
        embedder = db.search.semantic.embedder
        state["task"] = asyncio.ensure_future(db.search.embedded())
        while not embedder.entered:  # type: ignore[union-attr]  # noqa: ASYNC110 - a thread's counter
            await asyncio.sleep(0.05)
        return None
    if kind in ("similar", "similar_vector"):
        query = args[0] if kind == "similar" else vector(args[0], 64)
        return [[str(h.id), h.snippet] for h in await db.search.similar(query, k=20)]
    raise ValueError(kind)


async def main(catalog: str, data_path: str, extensions: str, embedder: str) -> None:
    async with Database.open(
        catalog,
        data_path=data_path,
        extension_directory=Path(extensions),
        embedder=_embedder(embedder),
    ) as db:
        slug = f"peer-{uuid.uuid4().hex[:8]}"
        project = await db.projects.create({"name": slug, "slug": slug})
        conversation = await db.conversations.create({"project_id": project.id})
        state: dict[str, Any] = {"project": project.id, "conversation": conversation.id}
        print(json.dumps(["ready", str(project.id)]), flush=True)
        await answer_commands(db, state, run)


if __name__ == "__main__":
    asyncio.run(main(*json.loads(sys.argv[1])))
