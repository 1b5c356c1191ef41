"""What the guard's design assumes of DuckLake, checked against DuckLake itself.

The other writer is another OS process, so nothing is shared but PostgreSQL and the data folder.
"""

from __future__ import annotations

import subprocess

import duckdb
import pytest

from tests.integration.lakeguard._lake import Lake
from tests.integration.lakeguard.conftest import python

pytestmark = pytest.mark.subprocess


def commit_elsewhere(lake: Lake, sql: str) -> None:
    """Run ``sql`` (auto-committed) in a new OS process on the same lake."""
    script = (
        "import sys\n"
        "from tests.integration.lakeguard._lake import Lake\n"
        "Lake.from_json(sys.argv[1]).connect().execute(sys.argv[2])\n"
    )
    process = python("-c", script, lake.as_json(), sql, stderr=subprocess.PIPE)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 0, error.decode()


def projects(conn: duckdb.DuckDBPyConnection) -> int:
    return int(conn.execute("SELECT count(*) FROM projects").fetchone()[0])  # type: ignore[index]


def test_a_transaction_begun_after_another_process_committed_sees_that_commit(lake: Lake) -> None:
    with lake.connect() as conn:
        assert projects(conn) == 0  # the connection has read the lake: any cache is warm
        commit_elsewhere(lake, "INSERT INTO projects VALUES ('p1', 'one', 1)")
        assert projects(conn) == 1
        conn.execute("BEGIN")
        assert projects(conn) == 1
        conn.execute("COMMIT")


def test_a_transaction_keeps_its_snapshot_while_another_process_commits(lake: Lake) -> None:
    with lake.connect() as conn:
        conn.execute("BEGIN")
        assert projects(conn) == 0
        commit_elsewhere(lake, "INSERT INTO projects VALUES ('p1', 'one', 1)")
        assert projects(conn) == 0
        conn.execute("COMMIT")
        assert projects(conn) == 1


def test_the_snapshot_is_taken_at_the_first_read_not_at_begin(lake: Lake) -> None:
    with lake.connect() as conn:
        conn.execute("BEGIN")
        commit_elsewhere(lake, "INSERT INTO projects VALUES ('p1', 'one', 1)")
        assert projects(conn) == 1
        conn.execute("COMMIT")


def test_inserts_of_two_processes_into_one_table_both_commit(lake: Lake) -> None:
    with lake.connect() as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO projects VALUES ('mine', 'a', 1)")
        commit_elsewhere(lake, "INSERT INTO projects VALUES ('theirs', 'a', 1)")
        conn.execute("COMMIT")
        # no constraint: the same slug twice is DuckLake's normal, what the guard prevents
        assert projects(conn) == 2


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("DELETE FROM projects WHERE id = 'p1'", "INSERT INTO projects VALUES ('p2', 'b', 1)"),
        ("UPDATE projects SET version = 2 WHERE id = 'p1'", "DELETE FROM projects WHERE id = 'p0'"),
    ],
)
def test_a_delete_or_update_fails_when_another_process_wrote_the_table_whatever_the_rows(
    lake: Lake, mine: str, theirs: str
) -> None:
    commit_elsewhere(lake, "INSERT INTO projects VALUES ('p0', 'z', 1), ('p1', 'a', 1)")
    with lake.connect() as conn:
        conn.execute("BEGIN")
        conn.execute(mine)
        commit_elsewhere(lake, theirs)
        with pytest.raises(duckdb.TransactionException, match="Transaction conflict"):
            conn.execute("COMMIT")


def test_a_transaction_that_only_read_commits_beside_other_writers(lake: Lake) -> None:
    with lake.connect() as conn:
        conn.execute("BEGIN")
        assert projects(conn) == 0
        commit_elsewhere(lake, "INSERT INTO projects VALUES ('p1', 'one', 1)")
        conn.execute("COMMIT")
