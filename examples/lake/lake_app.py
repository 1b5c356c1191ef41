"""The FastAPI example app served by several worker processes on one lake (issue 14, point 8).

A DuckDB file admits one writing process, so ``uvicorn --workers 4`` on a file fails in three of
the four workers (``DatabaseLockedError``). On a lake (DuckLake: the catalog in PostgreSQL, the
data in Parquet files under a shared folder) every worker opens the same database, and a CLI
command or a notebook reads it at the same time.

This module is the app of ``examples/integration/fastapi_integration.py`` (the same endpoints
and error mapping) plus one response header, ``X-Worker-Pid``, naming the worker process that
served the request. ``PADB_DATABASE`` names the lake and ``PADB_DATA_PATH`` its data folder::

    export PADB_DATABASE="ducklake:postgres:dbname=postgres host=$PWD/lake-pg user=postgres"
    export PADB_DATA_PATH=$PWD/lake-pg-data
    project-architect-db migrate upgrade          # once, before the workers start
    uvicorn --app-dir examples/lake lake_app:app --workers 4 --port 8000

Each worker opens the lake in its lifespan and closes it at shutdown. Two requests to different
workers are two processes: what one commits, the next request to any worker reads (each
statement on a lake starts from the catalog's latest snapshot). Writes touching one table at
the same time may meet DuckLake's per-table "Transaction conflict": the app answers 409 with
``"retryable": true``, and the client sends the request again.

The full walk-through (start PostgreSQL, migrate, serve, drive, read beside it) is in
examples/README.md, "Many processes on one lake"; ``tests/e2e/examples/test_lake_example.py``
runs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from fastapi_integration import create_app

#: The response header naming the worker process that served the request.
WORKER_HEADER = "X-Worker-Pid"


def create_lake_app(database: str | None = None) -> FastAPI:
    """The example app on ``database`` (``PADB_DATABASE`` / ``PADB_DATA_PATH`` when None)."""
    app = create_app(database)

    @app.middleware("http")
    async def name_the_worker(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers[WORKER_HEADER] = str(os.getpid())
        return response

    return app


#: For ``uvicorn --app-dir examples/lake lake_app:app --workers 4``.
app = create_lake_app()
