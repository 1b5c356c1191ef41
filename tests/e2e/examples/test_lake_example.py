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
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from project_architect_db.testing.plugin import LakeTarget

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[3]
LAKE_EXAMPLES = ROOT / "examples" / "lake"
WORKERS = 4
PROJECTS = 8
MESSAGES = 4  # per project's conversation
STARTUP = 90.0  # seconds for 4 workers to open the lake on a loaded machine
HEADER = "x-worker-pid"


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
    """One request; a 409 the app marks retryable (DuckLake's per-table conflict) is resent."""
    for _ in range(20):
        response = await client.request(method, url, **kwargs)
        traffic.pids.add(response.headers[HEADER])
        if response.status_code == 409 and response.json().get("retryable"):
            traffic.retries += 1
            await asyncio.sleep(0.05)
            continue
        return response
    raise AssertionError(f"{method} {url} still conflicting after 20 tries")


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
    """Run a process beside the app (the CLI, the notebook) while the driver writes."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


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
        for _ in range(60):
            project_id, conversation_id = created[len(seen) % len(created)]
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


def test_four_workers_a_cli_and_a_notebook_share_one_lake(
    padb_lake: LakeTarget, tmp_path: Path
) -> None:
    env = lake_env(padb_lake)
    migrated = run(cli(env, "migrate", "upgrade"), env)
    assert migrated.returncode == 0, migrated.stderr
    assert "-> 0002" in migrated.stdout
    prefix = f"w{uuid.uuid4().hex[:8]}"

    with serving(env, tmp_path / "uvicorn.log") as base_url:
        outcome = asyncio.run(drive(base_url, env, prefix))
        seen = asyncio.run(read_everything(base_url, outcome["created"]))
        # a CLI command and the notebook after the writes, the workers still serving
        analyzed = run(cli(env, "db-analyze", "--json"), env)
        after = run(notebook(prefix), env)

    traffic: Traffic = outcome["traffic"]
    assert len(traffic.pids) > 1, f"one worker served every write: {traffic.pids}"
    assert len(seen) > 1, f"one worker served every read: {seen}"
    code, out, err = outcome["cli_during"]
    assert code == 0, err
    assert "current: 0002  head: 0002  (up to date)" in out
    code, out, err = outcome["notebook_during"]
    assert code == 0, err
    assert "sequences gap-free: True" in out  # whatever it caught mid-way was whole
    assert analyzed.returncode == 0, analyzed.stderr
    rows = {table["table"]: table["rows"] for table in json.loads(analyzed.stdout)["tables"]}
    assert rows["projects"] == PROJECTS
    assert rows["messages"] == PROJECTS * MESSAGES
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == [
        f"projects: {PROJECTS}",
        f"messages: {PROJECTS * MESSAGES}, sequences gap-free: True",
        f"portfolio: draft/requirements={PROJECTS}",
        "ReadOnlyError: The database was opened read-only, so it cannot be written. ",
    ]
