"""Every script under examples/ runs as a real process and prints what it promises.

Each example runs with ``sys.executable`` from the repository root, on its own temporary
database (or a path given as its first argument). The checks read the printed output: the
values an example computes (counts, sequences, versions, statuses) are deterministic, timings
are only checked for their shape.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
TIMEOUT = 120  # seconds; each example takes a few seconds, more on a loaded machine


def run_example(
    name: str, *args: str, expect_success: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` in a subprocess from the repository root."""
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["PYTHONIOENCODING"] = "utf-8"
    result = subprocess.run(
        [sys.executable, "-W", "default::DeprecationWarning", str(EXAMPLES / name), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )
    if expect_success:
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    ours = [
        line
        for line in result.stderr.splitlines()
        if "DeprecationWarning" in line and ("examples" in line or "project_architect_db" in line)
    ]
    assert not ours, ours
    return result


def lines_of(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


def has_line(output: str, pattern: str) -> re.Match[str]:
    """The first line matching the regular expression ``pattern`` (fails if there is none)."""
    for line in lines_of(output):
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"no line matches {pattern!r} in:\n{output}")


def number(text: str) -> int:
    """An integer as the examples print it (``1,129``)."""
    return int(text.replace(",", ""))


def section(output: str, title: str) -> list[str]:
    """The lines after the header line containing ``title``, up to the next blank line."""
    lines = lines_of(output)
    start = next(i for i, line in enumerate(lines) if title in line) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


# -- basic --------------------------------------------------------------------------------------
def check_project_crud(out: str) -> None:
    assert "created Atlas     slug=atlas     version=1" in out
    has_line(out, r"^AlreadyExistsError: .*slug: atlas")
    assert "page 1: Atlas, Borealis (total 4)" in out
    assert "page 2: Dynamo, Fjord" in out
    assert "projects whose architecture.database is duckdb: 3" in out
    assert "Alice updated version 1 -> 2" in out
    has_line(out, r"^Bob got ConflictError: Project [0-9a-f-]{36} is at version 2, not 1")
    assert "Bob reloaded and retried: version 3, \"Alice's description + Bob's note\"" in out
    assert "get_by_slug('borealis') -> Borealis" in out
    assert "renamed slug to 'borealis-v2' (version 2)" in out
    assert "NotFoundError: No project with slug 'borealis'." in out
    assert "archived Cirrus: status=archived" in out
    assert "Echo owns 1 conversation(s) and 1 document(s)" in out
    assert "deleted Echo: 0 conversation(s), 0 document(s) left" in out
    has_line(out, r"^NotFoundError: No project with id [0-9a-f-]{36}\.")
    assert "5 projects remain" in out


def check_conversation_flow(out: str) -> None:
    assert "#1 user      We need an API" in out
    assert "#6 assistant Thanks." in out
    assert "sequences 1..26, gap-free: True" in out
    assert "add_messages stored 4 more; message_count=30" in out
    pages = section(out, "messages(limit=10)")
    assert pages[:3] == [
        "page 1: sequences 1..10",
        "page 2: sequences 11..20",
        "page 3: sequences 21..30",
    ]
    assert "newest 3: [30, 29, 28]" in out
    assert "after_sequence=28: [29, 30]" in out
    assert (
        "image/png https://files.example.com/field-service/data-model.png (48213 bytes) "
        "on message #5"
    ) in out
    assert "status=archived, messages=30" in out
    has_line(out, r"^search 'conflict resolution' -> #4: .*\*\*conflict\*\* \*\*resolution\*\*")
    has_line(out, r"^IntegrityError: No conversation with id [0-9a-f-]{36}")


def check_document_handling(out: str) -> None:
    assert "created docs/adr/0001-use-duckdb.md v1 (97 bytes)" in out
    assert "revised twice: now v3 (202 bytes)" in out
    assert "saving identical content keeps v3" in out
    has_line(out, r"^ConflictError: Document [0-9a-f-]{36} is at version 3, not 1")
    history = section(out, "== history")
    assert history[0].startswith("v2: 137 bytes, 'Status: accepted'")
    assert history[1].startswith("v1: 97 bytes, 'Status: proposed'")
    assert "get_version(1) first line: '# ADR 0001: Use DuckDB'" in out
    has_line(out, r"^NotFoundError: Version 3 is document .* current version")
    assert "first import: {'created': 3, 'updated': 0, 'unchanged': 0}" in out
    assert "after editing one file: {'created': 0, 'updated': 1, 'unchanged': 2}" in out
    assert "docs/spec/booking.md is now v2" in out
    has_line(out, r"^found 'overview' \(docs/architecture/overview\.md\) score=\d+\.\d\d: ")
    assert "export: {'created': 4, 'updated': 0, 'unchanged': 0}" in out
    assert "  docs/adr/0001-use-duckdb.md (202 bytes)" in out
    assert "exporting again: {'created': 0, 'updated': 0, 'unchanged': 4}" in out


# -- advanced -----------------------------------------------------------------------------------
def check_analytics(out: str) -> None:
    has_line(out, r"^Seeded 5,393 rows in \d+\.\d\d s:")
    monthly = section(out, "== Messages per month")
    assert monthly[0].split() == [
        "month",
        "messages",
        "tokens",
        "avg_tokens",
        "threads",
        "cumulative",
        "change",
    ]
    rows = [line.split() for line in monthly[1:]]
    assert [row[0] for row in rows] == [f"2025-0{m}-01" for m in range(1, 7)]
    messages = [number(row[1]) for row in rows]
    assert [number(row[5]) for row in rows] == [sum(messages[: i + 1]) for i in range(len(rows))]
    assert rows[0][6] == "-"  # the first month has no previous one
    assert [number(row[6]) for row in rows[1:]] == [b - a for a, b in itertools.pairwise(messages)]
    assert "SELECT grouped.month, grouped.messages" in out
    assert "date_trunc('month', messages.created_at) AS month" in out
    by_database = section(out, "Projects by architecture.database")
    assert by_database[0].split() == ["database", "count", "avg_version"]
    assert by_database[1].split()[:2] == ["postgresql", "17"]
    assert sum(number(line.split()[1]) for line in by_database[1:]) == 30
    portfolio = section(out, "db.analytics.portfolio()")
    assert sum(number(line.split()[-1]) for line in portfolio[1:]) == 30
    active = [
        re.split(r"\s{2,}", line.strip())
        for line in section(out, "most_active_projects(5, days=30)")
    ]
    assert active[0] == ["name", "messages", "tokens"]
    assert len(active) == 6  # header + 5 projects
    counts = [number(row[1]) for row in active[1:]]
    assert counts == sorted(counts, reverse=True)
    has_line(out, r"^message_activity\('week'\)\.to_arrow\(\): \d+ rows \(period: timestamp")
    assert "== export: wrote 6 rows to messages_per_month.parquet" in out
    assert "read back with pyarrow: 6 rows, columns ['month', 'messages'" in out


def check_bulk_operations(out: str) -> None:
    has_line(out, r"^bulk_create\(10,000 projects\): [\d,]+\.\d ms$")
    assert "got 10,000 ids back, in order; count() = 10,000" in out
    has_line(out, r"^bulk_create\(5,000 documents\): [\d,]+\.\d ms$")
    assert "AlreadyExistsError (nothing written)" in out
    assert "still 10,000 projects" in out
    assert "upserted 2,500; projects now 10,500" in out
    assert "projects at version 2: 2,000" in out
    assert "generation 2: 2,000" in out
    assert "spec-0000 kept 1 previous version(s): v1" in out
    assert "6 batches, 10,500 projects: {'postgresql': 2625" in out
    assert "2,625 rows x 14 columns" in out
    assert "created_at type: timestamp[us, tz=UTC]" in out
    assert "versions among active projects: {1: 2125, 2: 500}" in out


def check_concurrent_access(out: str) -> None:
    has_line(out, r"^  feed: #1 ")
    has_line(out, r"^15 tasks finished in \d+\.\d\d s$")
    assert "likes = 32 (expected 32), version 33" in out
    retries = int(has_line(out, r"^ConflictError retries: (\d+)").group(1))
    assert retries >= 0
    assert "Thread 0: 30 messages, sequences gap-free: True" in out
    assert "Thread 1: 30 messages, sequences gap-free: True" in out
    assert "conversations: ['Thread 0', 'Thread 1'] (the failed unit of work left nothing)" in out
    assert "change feed: 152 changes, 0 gaps, in commit order: True" in out
    feed = section(out, "change feed:")
    assert [line.split() for line in feed] == [
        ["conversations", "updated", "60"],
        ["messages", "created", "60"],
        ["projects", "updated", "32"],
    ]


# -- integration --------------------------------------------------------------------------------
def check_fastapi_integration(out: str) -> None:
    has_line(out, r'^POST /projects -> 201 \{"id": "[0-9a-f-]{36}", "name": "Lighthouse"')
    has_line(out, r'^PATCH /projects/[0-9a-f-]{36} -> 200 \{"status": "active", "version": 2\}')
    assert "active projects over two cursor pages: ['Beacon', 'Lighthouse']" in out
    has_line(out, r'^GET /projects/[0-9a-f-]{36} -> 404 \{"error": "NotFoundError"')
    has_line(out, r'^POST /projects -> 409 \{"error": "AlreadyExistsError"')
    has_line(out, r'^PATCH /projects/[0-9a-f-]{36} -> 409 \{"error": "ConflictError"')
    has_line(out, r'^GET /projects -> 400 \{"error": "InvalidQueryError"')
    has_line(out, r"^POST /projects \(bad slug\) -> 422 \"cannot derive a slug")
    has_line(out, r'^POST /conversations/[0-9a-f-]{36}/messages -> 422 \{"error": "IntegrityError"')
    has_line(out, r"/reply -> 200 text/event-stream")
    found = has_line(
        out, r"^SSE stream: (\d+) token events, then done: \{'message_id': '[0-9a-f-]{36}'"
    )
    streamed = has_line(out, r"^streamed text: (.*)$").group(1)
    assert int(found.group(1)) == len(streamed.split()) == 30
    assert "'sequence': 2}" in out
    assert "  #1 user: How do clients sync?" in out
    assert "  #2 assistant: For the architecture phase of your question" in out
    assert "stored assistant message matches stream: True" in out
    has_line(out, r'^POST /conversations/[0-9a-f-]{36}/reply -> 404 \{"error": "NotFoundError"')
    has_line(out, r"^DELETE /projects/[0-9a-f-]{36} -> 204")
    has_line(out, r'^GET /conversations/[0-9a-f-]{36}/messages -> 404 \{"error": "NotFoundError"')


def check_websocket_updates(out: str) -> None:
    has_line(out, r"^alice <- subscribed to [0-9a-f-]{36}$")
    has_line(out, r"^bob <- subscribed to [0-9a-f-]{36}$")
    alice = [line.split() for line in section(out, "alice received 7 events:")]
    bob = [line.split() for line in section(out, "bob received 1 events:")]
    assert [(row[1], row[2]) for row in alice] == [
        ("conversations", "created"),
        ("messages", "created"),
        ("conversations", "updated"),
        ("messages", "created"),
        ("conversations", "updated"),
        ("projects", "updated"),  # the rolled-back update never arrives
        ("documents", "created"),
    ]
    assert [(row[1], row[2], row[3]) for row in bob] == [("projects", "updated", "version=2")]
    sequences = [int(row[0].lstrip("#")) for row in alice + bob]
    assert sorted(sequences) == list(range(1, 9))  # every change went to exactly one client
    assert "both clients disconnected; open subscriptions: 0" in out
    assert "unknown project -> handshake refused: code 4404 'no such project'" in out


def check_background_tasks(out: str) -> None:
    stats = has_line(out, r"^pipeline finished in \d+\.\d\d s: (.*)$").group(1)
    assert "'analysed': " in stats
    documents = [
        line for line in section(out, "documents analysed per worker") if line.startswith("  docs/")
    ]
    assert len(documents) == 6
    assert all(line.endswith("fresh: True") for line in documents)
    auth = next(line for line in documents if "docs/spec/auth.md" in line)
    assert "keywords ['recovery'" in auth  # the edit made while the workers ran was analysed
    assert "documents with metadata.indexed = true: 6 of 6" in out
    assert "POST .../messages -> 201 (#3)" in out
    assert (
        "summary written by the background task: "
        "'3 recent messages; the user asks about reset, mobile, flow.'"
    ) in out


# -- performance --------------------------------------------------------------------------------
def check_bulk_insert(out: str) -> None:
    assert "Inserting 2,000 projects per round" in out
    for label in ("Arrow bulk_create round 1", "Arrow bulk_create round 3", "ORM add_all round 1"):
        has_line(out, rf"^{label}: +[\d,]+\.\d ms$")
    ratio = float(has_line(out, r"^ratio: the Arrow path is (\d+\.\d)x faster$").group(1))
    assert ratio > 1
    assert "rows stored: 8,100 (expected 8,100)" in out
    assert "row 7 of each path holds the same values (besides ids, names, times): True" in out


def check_query_optimization(out: str) -> None:
    has_line(out, r"^Seeded 60,000 projects in \d+\.\d\d s$")
    pages = section(out, "a page of 20 at increasing depth")
    assert pages[0].split() == ["depth", "offset", "(ms)", "keyset", "(ms)", "same", "rows"]
    depths = [line.split() for line in pages[1:5]]
    assert [row[0] for row in depths] == ["0", "20,000", "40,000", "59,980"]
    assert all(row[-1] == "True" for row in depths)
    has_line(out, r"^  at depth 59,980, keyset pagination is \d+\.\dx faster$")
    has_line(out, r"^  native GROUP BY \(builder\.rows\(\)\) : +[\d,]+\.\d ms, 20 groups$")
    has_line(out, r"^  to_arrow\(\) \+ Counter in Python {3}: +[\d,]+\.\d ms, 20 groups$")
    has_line(out, r"^  same counts: True; native is \d+x faster$")
    has_line(out, r"^  SQL: SELECT projects\.status AS status, json_extract_string\(")
    assert "  parameters: ['archived']" in out
    assert "HASH_GROUP_BY" in out
    assert "SEQ_SCAN" in out


CHECKS: dict[str, Callable[[str], None]] = {
    "basic/project_crud.py": check_project_crud,
    "basic/conversation_flow.py": check_conversation_flow,
    "basic/document_handling.py": check_document_handling,
    "advanced/analytics.py": check_analytics,
    "advanced/bulk_operations.py": check_bulk_operations,
    "advanced/concurrent_access.py": check_concurrent_access,
    "integration/fastapi_integration.py": check_fastapi_integration,
    "integration/websocket_updates.py": check_websocket_updates,
    "integration/background_tasks.py": check_background_tasks,
    "performance/bulk_insert.py": check_bulk_insert,
    "performance/query_optimization.py": check_query_optimization,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_and_prints_its_results(name: str) -> None:
    result = run_example(name)
    CHECKS[name](result.stdout)


#: Scripts that need a running lake (PostgreSQL): tests/e2e/examples/test_lake_example.py runs
#: them as real processes, the app under ``uvicorn --workers 4``.
LAKE_SCRIPTS = {"lake/lake_app.py", "lake/lake_notebook.py"}


def test_every_example_is_tested_and_listed_in_the_readme() -> None:
    scripts = {path.relative_to(EXAMPLES).as_posix() for path in EXAMPLES.glob("*/*.py")}
    assert scripts - LAKE_SCRIPTS == set(CHECKS)
    assert scripts >= LAKE_SCRIPTS
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in scripts - LAKE_SCRIPTS:
        assert f"python examples/{name}" in readme, name
    assert "uvicorn --app-dir examples/lake lake_app:app --workers 4" in readme
    assert "python examples/lake/lake_notebook.py" in readme


def test_an_example_writes_to_the_database_file_it_is_given(tmp_path: Path) -> None:
    target = tmp_path / "docs.duckdb"
    result = run_example("basic/document_handling.py", str(target))
    assert "exporting again: {'created': 0, 'updated': 0, 'unchanged': 4}" in result.stdout
    with duckdb.connect(str(target), read_only=True) as duck:
        assert duck.execute("SELECT count(*) FROM documents").fetchone() == (4,)
        assert duck.execute("SELECT count(*) FROM document_versions").fetchone() == (3,)
        row = duck.execute(
            "SELECT title, version FROM documents WHERE path = 'docs/adr/0001-use-duckdb.md'"
        ).fetchone()
    assert row == ("ADR 0001: Use DuckDB", 3)


# -- unhappy paths ------------------------------------------------------------------------------
def test_a_file_that_is_not_a_duckdb_database_exits_with_a_clear_error(tmp_path: Path) -> None:
    impostor = tmp_path / "notes.duckdb"
    impostor.write_text("these are my notes, not a database\n", encoding="utf-8")
    result = run_example("basic/project_crud.py", str(impostor), expect_success=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "error: StorageError: The file is not a readable DuckDB database"
    )
    assert str(impostor) in result.stderr
    assert impostor.read_text(encoding="utf-8") == "these are my notes, not a database\n"


def test_a_database_path_in_a_missing_folder_exits_with_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "api.duckdb"
    result = run_example("integration/fastapi_integration.py", str(target), expect_success=False)
    assert result.returncode == 1
    assert "== CRUD" not in result.stdout  # the app's lifespan failed before any request
    assert result.stderr.startswith("error: StorageError: Cannot create or open")
    assert f"the folder {tmp_path / 'no' / 'such' / 'folder'} does not exist" in result.stderr
    assert not (tmp_path / "no").exists()


def test_a_database_locked_by_another_process_exits_with_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                connection = duckdb.connect({str(target)!r})
                print("ready", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        result = run_example("advanced/bulk_operations.py", str(target), expect_success=False)
    finally:
        holder.communicate("\n", timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("error: DatabaseLockedError: The database file")
    assert f"is locked by process {holder.pid}" in result.stderr
