"""A FastAPI service on project-architect-db: CRUD, error mapping and a streamed assistant reply.

* The app's **lifespan** opens the ``Database`` once and closes it (checkpointing the file) at
  shutdown; endpoints get it through a dependency.
* The library's ``*Create`` / ``*Update`` / ``*Read`` schemas are the request and response
  models: FastAPI validates bodies with them and serialises the frozen records they return.
* One exception handler maps the library's error tree to HTTP status codes
  (``NotFoundError`` -> 404, ``AlreadyExistsError`` / ``ConflictError`` -> 409,
  ``ValidationError`` / ``IntegrityError`` -> 422, ``InvalidQueryError`` -> 400 ...).
* ``POST /conversations/{id}/reply`` streams an assistant reply as server-sent events
  (``text/event-stream``) and stores the whole message once the stream is done.

Run as a script, it exercises itself in-process through ``httpx.AsyncClient`` and
``httpx.ASGITransport`` (no network server needed) and prints every response::

    python examples/integration/fastapi_integration.py
    python examples/integration/fastapi_integration.py api.duckdb

To serve it for real (``PADB_DATABASE`` names the file; memory when unset)::

    PADB_DATABASE=api.duckdb uvicorn --app-dir examples/integration fastapi_integration:app
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
from typing import Annotated, Any, Literal

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

import project_architect_db
from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    DatabaseLockedError,
    IntegrityError,
    InvalidQueryError,
    NotFoundError,
    ProjectArchitectDBError,
    ReadOnlyError,
    ValidationError,
)
from project_architect_db.models import Phase, ProjectStatus
from project_architect_db.schemas import (
    ConversationRead,
    MessageCreate,
    MessageRead,
    Page,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)

#: HTTP status per library error; the most specific class wins (looked up along the MRO).
ERROR_STATUS: dict[type[ProjectArchitectDBError], int] = {
    NotFoundError: 404,
    AlreadyExistsError: 409,
    ConflictError: 409,
    ValidationError: 422,
    IntegrityError: 422,
    InvalidQueryError: 400,
    ReadOnlyError: 403,
    DatabaseLockedError: 503,
    ProjectArchitectDBError: 500,
}


def status_for(error: ProjectArchitectDBError) -> int:
    """The HTTP status code for a library error."""
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


async def library_error(request: Request, error: Exception) -> JSONResponse:
    """Turn a library error into a JSON error response with the mapped status."""
    assert isinstance(error, ProjectArchitectDBError)
    body = {"error": type(error).__name__, "detail": str(error), "retryable": error.retryable}
    return JSONResponse(body, status_code=status_for(error))


def get_db(request: Request) -> Database:
    """The database the lifespan opened (a FastAPI dependency)."""
    db: Database = request.app.state.db
    return db


Db = Annotated[Database, Depends(get_db)]


class NewConversation(BaseModel):
    """The body of ``POST /projects/{id}/conversations``."""

    title: str | None = Field(default=None, max_length=200)
    phase: Phase = Phase.REQUIREMENTS


class ReplyRequest(BaseModel):
    """The body of ``POST /conversations/{id}/reply``."""

    prompt: str = Field(min_length=1, max_length=4000)


def create_app(database: str | None = None) -> FastAPI:
    """The application, storing its data in ``database`` (``PADB_DATABASE`` or memory if None)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Database.open(database) as db:
            app.state.db = db
            yield

    app = FastAPI(title="project-architect-db example", lifespan=lifespan)
    app.add_exception_handler(ProjectArchitectDBError, library_error)

    # -- projects --------------------------------------------------------------------------
    @app.post("/projects", status_code=201)
    async def create_project(body: ProjectCreate, db: Db) -> ProjectRead:
        return await db.projects.create(body)

    @app.get("/projects")
    async def list_projects(
        db: Db,
        status: ProjectStatus | None = None,
        order_by: str = "-created_at",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: str | None = None,
    ) -> Page[ProjectRead]:
        conditions: dict[str, Any] = {} if status is None else {"status": status}
        return await db.projects.list(order_by=order_by, limit=limit, cursor=cursor, **conditions)

    @app.get("/projects/{project_id}")
    async def get_project(project_id: uuid.UUID, db: Db) -> ProjectRead:
        return await db.projects.get(project_id)

    @app.patch("/projects/{project_id}")
    async def update_project(project_id: uuid.UUID, body: ProjectUpdate, db: Db) -> ProjectRead:
        # body.expected_version (optional) turns on optimistic locking: 409 when stale
        return await db.projects.update(project_id, body)

    @app.delete("/projects/{project_id}", status_code=204)
    async def delete_project(project_id: uuid.UUID, db: Db) -> Response:
        await db.projects.delete(project_id)
        return Response(status_code=204)

    # -- conversations -----------------------------------------------------------------------
    @app.post("/projects/{project_id}/conversations", status_code=201)
    async def create_conversation(
        project_id: uuid.UUID, body: NewConversation, db: Db
    ) -> ConversationRead:
        return await db.conversations.create({"project_id": project_id, **body.model_dump()})

    @app.post("/conversations/{conversation_id}/messages", status_code=201)
    async def add_message(conversation_id: uuid.UUID, body: MessageCreate, db: Db) -> MessageRead:
        return await db.conversations.add_message(conversation_id, body)

    @app.get("/conversations/{conversation_id}/messages")
    async def list_messages(
        conversation_id: uuid.UUID,
        db: Db,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: str | None = None,
        order: Literal["asc", "desc"] = "asc",
    ) -> Page[MessageRead]:
        return await db.conversations.messages(
            conversation_id, limit=limit, cursor=cursor, order=order
        )

    @app.post("/conversations/{conversation_id}/reply")
    async def stream_reply(
        conversation_id: uuid.UUID, body: ReplyRequest, db: Db
    ) -> StreamingResponse:
        conversation = await db.conversations.get(conversation_id)  # 404 before streaming
        await db.conversations.add_message(
            conversation.id, {"role": "user", "content": body.prompt}
        )

        async def events() -> AsyncIterator[str]:
            chunks: list[str] = []
            async for chunk in fake_model(body.prompt, conversation.phase):
                chunks.append(chunk)
                yield sse("token", {"index": len(chunks), "text": chunk})
            message = await db.conversations.add_message(
                conversation.id,
                MessageCreate(
                    role="assistant",
                    content="".join(chunks),
                    token_count=len(chunks),
                    metadata={"model": "fake-model-1", "streamed": True},
                ),
            )
            yield sse("done", {"message_id": str(message.id), "sequence": message.sequence})

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    return app


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def fake_model(prompt: str, phase: str) -> AsyncIterator[str]:
    """A stand-in for an LLM: yields a deterministic reply word by word."""
    reply = (
        f"For the {phase} phase of your question ({prompt.rstrip('?.!')}), start from the "
        "requirements that are hardest to change later: data ownership, consistency, and how "
        "clients stay in sync."
    )
    for word in reply.split(" "):
        await asyncio.sleep(0.005)  # the model "thinking"
        yield word + " "


#: For ``uvicorn fastapi_integration:app``; the database comes from ``PADB_DATABASE``.
app = create_app()


# -- the script: exercise the API in-process ----------------------------------------------------
@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


def show(response: httpx.Response, *, keys: tuple[str, ...] = ()) -> Any:
    """Print the request line, the status and (parts of) the JSON body; return the body."""
    request = response.request
    body = response.json() if response.content else None
    shown = body
    if keys and isinstance(body, dict):
        shown = {key: body[key] for key in keys if key in body}
    text = "" if shown is None else json.dumps(shown, default=str)
    if len(text) > 150:
        text = text[:147] + "..."
    print(f"{request.method} {request.url.path} -> {response.status_code} {text}")
    return body


async def main() -> None:
    with database_path() as path:
        api = create_app(path)
        async with (
            api.router.lifespan_context(api),  # ASGITransport does not run the lifespan itself
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://testserver"
            ) as client,
        ):
            print("== CRUD")
            project = show(
                await client.post(
                    "/projects",
                    json={"name": "Lighthouse", "tags": ["api"], "metadata": {"team": "core"}},
                ),
                keys=("id", "name", "slug", "status", "version", "metadata"),
            )
            pid = project["id"]
            show(
                await client.post("/projects", json={"name": "Beacon", "status": "active"}),
                keys=("name", "status", "version"),
            )
            show(
                await client.get(f"/projects/{pid}"), keys=("name", "slug", "version", "created_at")
            )
            show(
                await client.patch(
                    f"/projects/{pid}", json={"status": "active", "expected_version": 1}
                ),
                keys=("status", "version"),
            )
            listing = show(
                await client.get("/projects", params={"status": "active", "limit": 1}),
                keys=("next_cursor", "limit"),
            )
            names = [p["name"] for p in listing["items"]]
            page2 = await client.get(
                "/projects",
                params={"status": "active", "limit": 1, "cursor": listing["next_cursor"]},
            )
            names += [p["name"] for p in page2.json()["items"]]
            print(f"active projects over two cursor pages: {names}")

            print("\n== errors mapped to HTTP status codes")
            show(await client.get(f"/projects/{uuid.uuid4()}"))  # NotFoundError
            show(await client.post("/projects", json={"name": "Lighthouse"}))  # AlreadyExists
            show(
                await client.patch(f"/projects/{pid}", json={"name": "X", "expected_version": 1})
            )  # ConflictError: the project is at version 2
            show(await client.get("/projects", params={"order_by": "colour"}))  # InvalidQuery
            response = await client.post("/projects", json={"name": "日本"})  # no slug derivable
            print(f"POST /projects (bad slug) -> {response.status_code} ", end="")
            print(json.dumps(response.json()["detail"][0]["msg"])[:110])
            show(  # IntegrityError: a message for a conversation that does not exist
                await client.post(
                    f"/conversations/{uuid.uuid4()}/messages",
                    json={"role": "user", "content": "hello?"},
                )
            )

            print("\n== conversation + streamed reply (server-sent events)")
            conversation = show(
                await client.post(
                    f"/projects/{pid}/conversations",
                    json={"title": "Sync design", "phase": "architecture"},
                ),
                keys=("id", "title", "phase", "message_count"),
            )
            cid = conversation["id"]
            tokens: list[str] = []
            done: dict[str, Any] = {}
            async with client.stream(
                "POST", f"/conversations/{cid}/reply", json={"prompt": "How do clients sync?"}
            ) as stream:
                print(
                    f"POST /conversations/{cid}/reply -> {stream.status_code} "
                    f"{stream.headers['content-type']}"
                )
                event = ""
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data = json.loads(line.removeprefix("data: "))
                        if event == "token":
                            tokens.append(data["text"])
                        else:
                            done = data
            print(f"SSE stream: {len(tokens)} token events, then done: {done}")
            print(f"streamed text: {''.join(tokens).strip()}")
            messages = show(
                await client.get(f"/conversations/{cid}/messages"), keys=("next_cursor",)
            )
            for message in messages["items"]:
                print(f"  #{message['sequence']} {message['role']}: {message['content'][:70]}")
            stored = messages["items"][-1]
            print(
                f"stored assistant message matches stream: {stored['content'] == ''.join(tokens)}"
            )
            show(await client.post(f"/conversations/{uuid.uuid4()}/reply", json={"prompt": "x"}))

            print("\n== delete")
            show(await client.delete(f"/projects/{pid}"))
            show(await client.get(f"/conversations/{cid}/messages"))


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
