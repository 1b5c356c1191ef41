"""A process that exits while a query runs on a worker thread exits cleanly (no C++ abort)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

_SCRIPT = """
import asyncio, sys
import project_architect_db as padb

loop = asyncio.new_event_loop()
db = loop.run_until_complete(padb.Database.open({path!r}).__aenter__())

async def long() -> None:
    async with db.engine.connect() as connection:
        await connection.execute(
            padb.sql("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3")
        )

loop.create_task(long())
loop.run_until_complete(asyncio.sleep(0.5))
print("exiting while the query runs", flush=True)
{exit}
"""


@pytest.mark.parametrize(
    ("exit_call", "code"), [("sys.exit(3)", 3), ("raise KeyboardInterrupt", -2)]
)
def test_exit_while_a_query_runs_interrupts_it_instead_of_aborting(
    tmp_path: Path, exit_call: str, code: int
) -> None:
    script = tmp_path / "exit.py"
    path = str(tmp_path / "exit.duckdb")
    script.write_text(textwrap.dedent(_SCRIPT.format(path=path, exit=exit_call)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert "exiting while the query runs" in done.stdout
    # before the fix: "terminate called without an active exception" and SIGABRT (-6);
    # an uncaught KeyboardInterrupt ends Python by SIGINT (-2), as it should
    assert "terminate called" not in done.stderr
    assert done.returncode == code, done.stderr
    # the file is whole: it opens again, read-write
    reopen = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({path!r}).execute('SELECT 1')"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reopen.returncode == 0, reopen.stderr


_SLOW_TEARDOWN = """
import sys, time
from project_architect_db.core._worker import ConnectionWorker

class Connection:
    # stands in for DuckDB's connection, whose destructor releases the GIL (duckdb#13904)
    def interrupt(self) -> None:
        pass

    def __del__(self) -> None:
        time.sleep(0.5)  # the GIL is released here, as in ~DuckDBPyConnection
        with open({marker!r}, "w") as out:
            out.write("torn down")

worker = ConnectionWorker("teardown")
worker.interrupt = Connection().interrupt  # the worker owns the last reference
worker.stop()
del worker
time.sleep(0.2)  # the thread is now inside the destructor, without the GIL
sys.exit(0)
"""


def test_exit_waits_for_a_worker_still_tearing_down_its_connection(tmp_path: Path) -> None:
    """The last reference to a connection dropped on a stopping worker is destroyed before exit.

    The worker thread drops its objects after its loop returns. Seen in CI: the demo exited while
    a stopped worker was destroying its DuckDB connection; the exit hook no longer saw the worker
    (it was being freed), Python finalised, and the thread's attempt to take the GIL back aborted
    the process ("terminate called without an active exception", SIGABRT).
    """
    marker = tmp_path / "torn-down"
    script = tmp_path / "teardown.py"
    script.write_text(_SLOW_TEARDOWN.format(marker=str(marker)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "torn down"
