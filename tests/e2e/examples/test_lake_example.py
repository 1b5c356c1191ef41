"""examples/lake: the FastAPI app under 4 uvicorn worker processes on one lake (issue 14, point 8).

Everything is a real process: PostgreSQL (the plugin's ``padb_postgres``, a fresh catalog
database per test), the CLI migrating the lake, ``uvicorn --workers 4`` serving
``examples/lake/lake_app.py``, the CLI and ``examples/lake/lake_notebook.py`` reading the lake
while the workers write. Each response names the worker that served it (``X-Worker-Pid``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from project_architect_db.testing.plugin import LakeTarget
from project_architect_db.testing.postgres import LocalPostgres

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[3]
LAKE_EXAMPLES = ROOT / "examples" / "lake"
WORKERS = 4
PROJECTS = 6
MESSAGES = 3  # per project's conversation
STARTUP = 90.0  # seconds for 4 workers to open the lake on a loaded machine
HEADER = "x-worker-pid"
RETRIES = 60  # a retryable conflict is resent up to this many times


def lake_env(lake: LakeTarget) -> dict[str, str]:
    """The environment every process of the example gets: the lake, nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADB_")}
    env.pop("PYTHONWARNINGS", None)
    env.update(PADB_DATABASE=lake.catalog, PADB_DATA_PATH=str(lake.data_path))
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def cli(env: dict[str, str], *args: str) -> list[str]:
    """``python -m project_architect_db`` + ``args``: what a process beside the app runs."""
    return [sys.executable, "-m", "project_architect_db", *args]


def notebook(prefix: str) -> list[str]:
    return [sys.executable, str(LAKE_EXAMPLES / "lake_notebook.py"), prefix]


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path, workers: int = WORKERS) -> Iterator[str]:
    """``uvicorn --workers N`` on the lake app; yields its base URL once every worker is up."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(LAKE_EXAMPLES), "lake_app:app"]
    command += ["--workers", str(workers), "--port", str(port), "--no-access-log"]
    with log.open("w", encoding="utf-8") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        wait_for_startup(server, log, workers)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: each worker's lifespan closes the lake
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
            server.kill()
            server.wait()


def wait_for_startup(server: subprocess.Popen[bytes], log: Path, workers: int) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8")
        if text.count("Application startup complete.") >= workers:
            return
        if server.poll() is not None:
            break
        time.sleep(0.25)
    raise AssertionError(f"uvicorn did not start {workers} workers:\n{log.read_text()}")


@dataclass
class Traffic:
    """What the driver saw: the pid of every worker that answered, and how often it retried."""

    pids: set[str] = field(default_factory=set)
    retries: int = 0


async def send(
    client: httpx.AsyncClient, traffic: Traffic, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """One request; a 409 the app marks retryable (DuckLake's per-table conflict) is resent.

    Backing off with jitter, as a client of the app would: the writers that met a conflict
    spread out instead of meeting again.
    """
    for attempt in range(RETRIES):
        response = await client.request(method, url, **kwargs)
        traffic.pids.add(response.headers[HEADER])
        if response.status_code != 409 or not response.json().get("retryable"):
            return response
        traffic.retries += 1
        await asyncio.sleep(random.uniform(0, min(0.05 * 2**attempt, 1.0)))
    raise AssertionError(f"{method} {url} still conflicting after {RETRIES} tries")


def fresh_client(base_url: str) -> httpx.AsyncClient:
    """A client opening a new connection per request, so the kernel spreads them over workers."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60)


async def create_project_with_chat(
    client: httpx.AsyncClient, traffic: Traffic, slug: str
) -> tuple[str, str]:
    response = await send(client, traffic, "POST", "/projects", json={"name": slug, "slug": slug})
    assert response.status_code == 201, response.text
    project_id = response.json()["id"]
    body = {"title": f"chat of {slug}", "phase": "architecture"}
    response = await send(
        client, traffic, "POST", f"/projects/{project_id}/conversations", json=body
    )
    assert response.status_code == 201, response.text
    conversation_id = response.json()["id"]
    for number in range(1, MESSAGES + 1):
        message = {"role": "user", "content": f"message {number} of {slug}"}
        url = f"/conversations/{conversation_id}/messages"
        response = await send(client, traffic, "POST", url, json=message)
        assert response.status_code == 201, response.text
        assert response.json()["sequence"] == number
    return project_id, conversation_id


async def beside(command: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run a process beside the app (the CLI, the notebook) while the driver writes.

    ``subprocess.run`` on a thread, not asyncio's subprocess transport: the process is waited
    for by its own ``Popen``, so nothing is left for the garbage collector to warn about.
    """
    result = await asyncio.to_thread(run, command, env)
    return result.returncode, result.stdout, result.stderr


async def drive(base_url: str, env: dict[str, str], prefix: str) -> dict[str, Any]:
    """Concurrent creates and messages over the workers, with the CLI and the notebook beside."""
    traffic = Traffic()
    async with fresh_client(base_url) as client:
        writes = [
            create_project_with_chat(client, traffic, f"{prefix}-{n}") for n in range(PROJECTS)
        ]
        readers = [beside(cli(env, "migrate", "current"), env), beside(notebook(prefix), env)]
        results = await asyncio.gather(*writes, *readers)
        created = results[:PROJECTS]
        return {
            "created": created,
            "traffic": traffic,
            "cli_during": results[PROJECTS],
            "notebook_during": results[PROJECTS + 1],
        }


async def read_everything(base_url: str, created: list[tuple[str, str]]) -> dict[str, int]:
    """From fresh connections until every worker has answered: what each worker sees."""
    seen: dict[str, int] = {}
    traffic = Traffic()
    async with fresh_client(base_url) as client:
        for attempt in range(60):
            _, conversation_id = created[attempt % len(created)]
            listing = await send(client, traffic, "GET", "/projects", params={"limit": 100})
            pid = listing.headers[HEADER]
            messages = await send(
                client, traffic, "GET", f"/conversations/{conversation_id}/messages"
            )
            assert listing.status_code == messages.status_code == 200
            listed = {item["id"] for item in listing.json()["items"]}
            assert {p for p, _ in created} <= listed, f"worker {pid} misses projects"
            sequences = [m["sequence"] for m in messages.json()["items"]]
            assert sequences == list(range(1, MESSAGES + 1)), f"worker {messages.headers[HEADER]}"
            seen[pid] = seen.get(pid, 0) + 1
            if len(seen) == WORKERS:
                break
    return seen


async def refused_across_workers(
    base_url: str, created: list[tuple[str, str]], prefix: str
) -> list[tuple[int, str, str]]:
    """A taken slug and a stale ``expected_version``, each sent to whichever worker answers.

    Sent one by one, so each request starts after the previous one committed, on any worker:
    what the first worker wrote is what the next one checks against.
    """
    project_id = created[0][0]
    async with fresh_client(base_url) as client:
        answers = [
            await client.post("/projects", json={"name": "again", "slug": f"{prefix}-0"}),
            await client.patch(
                f"/projects/{project_id}", json={"name": "first", "expected_version": 1}
            ),
            await client.patch(
                f"/projects/{project_id}", json={"name": "second", "expected_version": 1}
            ),
            await client.get(f"/projects/{uuid.uuid4()}"),
        ]
    return [(a.status_code, a.json().get("error", ""), a.headers[HEADER]) for a in answers]


async def after_writes(env: dict[str, str], prefix: str) -> list[tuple[int, str, str]]:
    """The CLI's ``db-analyze`` and the notebook, at once, once the writes are acknowledged."""
    commands = [cli(env, "db-analyze", "--json"), notebook(prefix)]
    return list(await asyncio.gather(*(beside(command, env) for command in commands)))


def test_four_workers_a_cli_and_a_notebook_share_one_lake(
    padb_lake: LakeTarget, tmp_path: Path
) -> None:
    env = lake_env(padb_lake)
    migrated = run(cli(env, "migrate", "upgrade"), env)
    assert migrated.returncode == 0, migrated.stderr
    assert "-> 0004" in migrated.stdout
    prefix = f"w{uuid.uuid4().hex[:8]}"

    with serving(env, tmp_path / "uvicorn.log") as base_url:
        outcome = asyncio.run(drive(base_url, env, prefix))
        seen = asyncio.run(read_everything(base_url, outcome["created"]))
        refusals = asyncio.run(refused_across_workers(base_url, outcome["created"], prefix))
        # a CLI command and the notebook after the writes, the workers still serving
        analyzed, after = asyncio.run(after_writes(env, prefix))

    traffic: Traffic = outcome["traffic"]
    assert len(traffic.pids) > 1, f"one worker served every write: {traffic.pids}"
    assert len(seen) > 1, f"one worker served every read: {seen}"
    assert [(status, error) for status, error, _ in refusals] == [
        (409, "AlreadyExistsError"),
        (200, ""),
        (409, "ConflictError"),  # the first PATCH moved the project to version 2
        (404, "NotFoundError"),
    ]
    code, out, err = outcome["cli_during"]
    assert code == 0, err
    assert "current: 0004  head: 0004  (up to date)" in out
    code, out, err = outcome["notebook_during"]
    assert code == 0, err
    assert "sequences gap-free and counted: True" in out  # whatever it caught mid-way was whole
    code, out, err = analyzed
    assert code == 0, err
    rows = {table["table"]: table["rows"] for table in json.loads(out)["tables"]}
    assert rows["projects"] == PROJECTS
    assert rows["messages"] == PROJECTS * MESSAGES
    code, out, err = after
    assert code == 0, err
    assert out.splitlines() == [
        f"projects: {PROJECTS}",
        f"messages: {PROJECTS * MESSAGES}, sequences gap-free and counted: True",
        f"portfolio: draft/requirements={PROJECTS}",
        "ReadOnlyError: The database was opened read-only, so it cannot be written. ",
    ]


def test_the_notebook_without_a_data_path_exits_with_what_to_set(padb_lake: LakeTarget) -> None:
    env = lake_env(padb_lake)
    del env["PADB_DATA_PATH"]
    result = run(notebook(""), env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ConfigurationError: ")
    assert "data_path" in result.stderr or "PADB_DATA_PATH" in result.stderr


def test_the_notebook_on_a_catalog_database_that_does_not_exist_says_so(
    padb_lake: LakeTarget,
) -> None:
    env = lake_env(padb_lake)
    padb_lake.data_path.mkdir(parents=True)  # the data folder is there, the catalog is not
    missing = f"padb_missing_{uuid.uuid4().hex[:8]}"
    env["PADB_DATABASE"] = re.sub(r"dbname=\S+", f"dbname={missing}", padb_lake.catalog)
    result = run(notebook(""), env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: CatalogUnavailableError: ")
    assert missing in result.stderr


OPENERS = 6
ROUNDS = 3
#: Processes opening one fresh lake at the same instant (what ``uvicorn --workers 4`` does
#: when nobody ran ``migrate upgrade`` first).
FIRST_OPEN = textwrap.dedent(
    """
    import sys
    import project_architect_db as padb

    async def main() -> None:
        sys.stdin.readline()  # the start signal: every process is imported and waiting
        try:
            async with padb.Database.open(sys.argv[1], data_path=sys.argv[2]):
                print("opened", flush=True)
        except padb.ProjectArchitectDBError as error:
            print(f"{type(error).__name__}: {error}", flush=True)

    print("ready", flush=True)
    padb.run(main())
    """
)


def open_at_once(lake: LakeTarget, env: dict[str, str], processes: int) -> list[str]:
    """What each of ``processes`` processes says after opening ``lake`` at the same instant."""
    command = [sys.executable, "-c", FIRST_OPEN, lake.catalog, str(lake.data_path)]
    opening = [
        subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    try:
        for process in opening:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in opening:
            assert process.stdin is not None
            process.stdin.write("\n")
            process.stdin.flush()
        return [process.communicate(timeout=120)[0].strip() for process in opening]
    finally:
        for process in opening:
            if process.poll() is None:  # only when an assertion above failed
                process.kill()
            process.communicate()


def test_processes_opening_a_fresh_lake_at_once_all_open_it(
    padb_postgres: LocalPostgres, tmp_path: Path
) -> None:
    # a race (DuckLake's catalog made by the first ATTACH; the losers open again: core/engine's
    # first_connection): ROUNDS fresh lakes, OPENERS processes each, every one opens
    for round_ in range(ROUNDS):
        name = f"lake_first_{uuid.uuid4().hex[:12]}"
        catalog = padb_postgres.create_database(name).catalog
        lake = LakeTarget(catalog=catalog, data_path=tmp_path / f"data-{round_}")
        said = open_at_once(lake, lake_env(lake), OPENERS)
        assert said == ["opened"] * OPENERS, said
