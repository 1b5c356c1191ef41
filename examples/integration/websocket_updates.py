"""Live updates over a websocket: a FastAPI endpoint pushing ``db.changes()`` to its clients.

``/ws/projects/{project_id}`` subscribes to the change feed filtered to one project (the filter
runs at the source, so a client never sees another project's changes) and sends each committed
change as JSON. A slow client never slows the writers down: its buffer is bounded, and when it
overflows the client gets one ``gap`` event telling it to reload. When the client disconnects,
the subscription is closed.

Run as a script, it connects two in-process websocket clients (one per project) straight to the
ASGI app, writes through the HTTP API and the repositories, and prints what each client got::

    python examples/integration/websocket_updates.py
    python examples/integration/websocket_updates.py live.duckdb

To serve it for real (then connect with any websocket client)::

    PADB_DATABASE=live.duckdb uvicorn --app-dir examples/integration websocket_updates:app
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect

import project_architect_db
from project_architect_db import Database, ProjectArchitectDBError
from project_architect_db.repositories import Change, Gap
from project_architect_db.schemas import MessageCreate, MessageRead, ProjectRead


def event_json(event: Change | Gap) -> dict[str, Any]:
    """What a client receives for one change-feed event."""
    if isinstance(event, Gap):
        return {"type": "gap", "missed": event.missed, "after_sequence": event.after_sequence}
    return {
        "type": "change",
        "sequence": event.sequence,
        "table": event.aggregate,
        "kind": event.kind.value,
        "id": str(event.id),
        "version": event.version,
        "committed_at": event.committed_at.isoformat(),
        # a delete's cascade: rows per table that went with it, and their ids when listed
        "cascaded": dict(event.cascaded),
        "cascaded_ids": {
            table: [str(row) for row in ids] for table, ids in event.cascaded_ids.items()
        },
    }


def create_app(database: str | None = None) -> FastAPI:
    """The application, storing its data in ``database`` (``PADB_DATABASE`` or memory if None)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Database.open(database) as db:
            app.state.db = db
            yield

    app = FastAPI(title="live updates example", lifespan=lifespan)

    @app.websocket("/ws/projects/{project_id}")
    async def project_updates(websocket: WebSocket, project_id: uuid.UUID) -> None:
        db: Database = websocket.app.state.db
        if await db.projects.get_or_none(project_id) is None:
            await websocket.close(code=4404, reason="no such project")  # refuse the handshake
            return
        # Subscribe before accepting: nothing committed after the handshake can be missed.
        async with db.changes(project_id=project_id, max_queue=1000) as feed:
            await websocket.accept()
            await websocket.send_json({"type": "subscribed", "project_id": str(project_id)})

            async def forward() -> None:
                async for event in feed:
                    await websocket.send_json(event_json(event))

            async def until_disconnect() -> None:
                with contextlib.suppress(WebSocketDisconnect):
                    while True:  # clients say nothing; this only notices them leaving
                        await websocket.receive_text()

            sender = asyncio.create_task(forward())
            listener = asyncio.create_task(until_disconnect())
            await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sender, listener):
                task.cancel()
            await asyncio.gather(sender, listener, return_exceptions=True)

    @app.post("/projects", status_code=201)
    async def create_project(request: Request) -> ProjectRead:
        db: Database = request.app.state.db
        return await db.projects.create(await request.json())

    @app.post("/conversations/{conversation_id}/messages", status_code=201)
    async def add_message(
        conversation_id: uuid.UUID, body: MessageCreate, request: Request
    ) -> MessageRead:
        db: Database = request.app.state.db
        return await db.conversations.add_message(conversation_id, body)

    return app


#: For ``uvicorn websocket_updates:app``; the database comes from ``PADB_DATABASE``.
app = create_app()


# -- the script: an in-process websocket client ----------------------------------------------
class InProcessWebSocket:
    """A minimal ASGI websocket client talking to ``app`` in this process (no network)."""

    def __init__(self, app: Any, path: str) -> None:
        self._app = app
        self._path = path
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> InProcessWebSocket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": self._path,
            "raw_path": self._path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
            "state": {},
        }
        self._task = asyncio.create_task(self._app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        reply = await self._next(within=10)
        if reply["type"] != "websocket.accept":
            await self._task
            raise ConnectionError(f"handshake refused: code {reply['code']} {reply['reason']!r}")
        return self

    async def _next(self, within: float) -> dict[str, Any]:
        """The app's next message; raises if the app crashed instead of answering."""
        assert self._task is not None
        getter = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait(
            {getter, self._task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self._task in done:
            self._task.result()  # raises the app's error
            raise ConnectionError("the app ended the connection without a word")
        raise TimeoutError(f"no message from the app within {within} s")

    async def receive_json(self, within: float = 10) -> Any:
        """The next JSON message the server sent (waiting at most ``within`` seconds)."""
        message = await self._next(within)
        if message["type"] != "websocket.send":
            raise ConnectionError(f"connection closed: {message}")
        return json.loads(message["text"])

    async def __aexit__(self, *exc_info: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=10)


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


async def main() -> None:
    with database_path() as path:
        api = create_app(path)
        async with (
            api.router.lifespan_context(api),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://testserver"
            ) as http,
        ):
            db: Database = api.state.db
            atlas = (await http.post("/projects", json={"name": "Atlas"})).json()
            borealis = (await http.post("/projects", json={"name": "Borealis"})).json()
            print(f"projects: Atlas {atlas['id']}, Borealis {borealis['id']}")

            async with (
                InProcessWebSocket(api, f"/ws/projects/{atlas['id']}") as alice,
                InProcessWebSocket(api, f"/ws/projects/{borealis['id']}") as bob,
            ):
                for name, client in (("alice", alice), ("bob", bob)):
                    hello = await client.receive_json()
                    print(f"{name} <- {hello['type']} to {hello['project_id']}")

                # writes through the repositories and through the HTTP API
                conversation = await db.conversations.create(
                    {"project_id": atlas["id"], "title": "Live thread"}
                )
                for text in ("Is anyone there?", "Yes, streaming changes to you."):
                    response = await http.post(
                        f"/conversations/{conversation.id}/messages",
                        json={"role": "user", "content": text},
                    )
                    assert response.status_code == 201, response.text
                await db.projects.update(atlas["id"], {"status": "active"})
                await db.projects.update(borealis["id"], {"phase": "design"})
                with contextlib.suppress(RuntimeError):  # rolled back: never pushed
                    async with db.transaction() as tx:
                        await tx.projects.update(atlas["id"], {"description": "draft"})
                        raise RuntimeError("changed my mind")
                await db.documents.create(
                    {"project_id": atlas["id"], "path": "notes/live.md", "content": "# Live"}
                )

                # Atlas: 1 conversation + 2 x (message, conversation counter) + 1 update + 1 doc
                expected = {"alice": 7, "bob": 1}
                for name, client in (("alice", alice), ("bob", bob)):
                    events = [await client.receive_json() for _ in range(expected[name])]
                    print(f"\n{name} received {len(events)} events:")
                    for event in events:
                        print(
                            f"  #{event['sequence']} {event['table']:<13} {event['kind']:<8} "
                            f"version={event['version']}"
                        )
            print("\nboth clients disconnected; open subscriptions:", db.change_hub.subscribers)

            try:
                async with InProcessWebSocket(api, f"/ws/projects/{uuid.uuid4()}"):
                    pass
            except ConnectionError as error:
                print(f"unknown project -> {error}")


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
