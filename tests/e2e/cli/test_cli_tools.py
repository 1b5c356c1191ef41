"""``benchmark``, ``test`` and ``test-parallel``: real runs, happy and unhappy paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from project_architect_db.cli import app
from project_architect_db.cli._common import ExitCode
from project_architect_db.cli._seed_progress import read_plan

runner = CliRunner()


def test_benchmark_prints_ratios_and_writes_json_and_a_png_chart(tmp_path: Path) -> None:
    figures, chart = tmp_path / "out" / "bench.json", tmp_path / "bench.png"
    result = runner.invoke(
        app,
        [
            "benchmark",
            "--projects", "300",
            "--rounds", "2",
            "--case", "get",
            "--case", "analytics",
            "--json", str(figures),
            "--chart", str(chart),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "raw DuckDB" in result.output
    data = json.loads(figures.read_text())
    assert [case["key"] for case in data["cases"]] == ["get", "analytics"]
    for case in data["cases"]:
        assert case["library_ms"] > 0
        assert case["raw_ms"] > 0
        assert case["ratio"] == pytest.approx(case["library_ms"] / case["raw_ms"], rel=1e-3)
        assert case["rounds"] == 2
    assert data["projects"] == 300
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_benchmark_rejects_an_unknown_case(tmp_path: Path) -> None:
    result = runner.invoke(app, ["benchmark", "--case", "nope", "--json", str(tmp_path / "x")])
    assert result.exit_code == ExitCode.USAGE
    assert "choose from get, list, update, bulk_create, analytics" in result.output
    assert not (tmp_path / "x").exists()


def test_benchmark_refuses_an_existing_database_file(tmp_path: Path) -> None:
    existing = tmp_path / "mine.duckdb"
    existing.write_bytes(b"precious")
    result = runner.invoke(app, ["benchmark", "--database", str(existing)])
    assert result.exit_code == ExitCode.USAGE
    assert "new path" in result.output
    assert existing.read_bytes() == b"precious"


def test_benchmark_rejects_too_few_projects() -> None:
    result = runner.invoke(app, ["benchmark", "--projects", "10"])
    assert result.exit_code == ExitCode.USAGE


def test_benchmark_strict_fails_when_a_promise_is_missed(tmp_path: Path) -> None:
    # bulk_create promises < 50 ms for 10k rows; with one round on a tiny database, a miss is
    # possible but not certain, so the test checks that --strict follows the verdicts.
    figures = tmp_path / "strict.json"
    result = runner.invoke(
        app,
        ["benchmark", "--projects", "200", "--rounds", "1", "--case", "get", "--strict",
         "--json", str(figures), "--no-chart"],
    )  # fmt: skip
    verdicts = [case["met"] for case in json.loads(figures.read_text())["cases"]]
    expected = ExitCode.ERROR if False in verdicts else ExitCode.OK
    assert result.exit_code == expected, result.output


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "project_architect_db", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.subprocess
def test_self_check_suite_passes_on_this_installation() -> None:
    done = _cli("test", "-k", "memory or crud")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-check passed" in done.stdout
    assert " passed" in done.stdout


@pytest.mark.subprocess
def test_self_check_suite_runs_in_parallel() -> None:
    done = _cli("test-parallel", "--workers", "2", "-k", "search or conflict")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 workers" in done.stdout
    assert "self-check passed" in done.stdout


@pytest.mark.subprocess
def test_self_check_reports_pytest_failure_with_an_error_exit_code() -> None:
    result = runner.invoke(app, ["test", "-k", "no_test_is_called_like_this"])
    assert result.exit_code == ExitCode.ERROR
    assert "pytest exit code 5" in result.output


@pytest.mark.subprocess
def test_self_check_in_process_runs_the_packaged_suite() -> None:
    result = runner.invoke(app, ["test", "-k", "memory_is_one_database"])
    assert result.exit_code == 0, result.output
    assert "self-check passed" in result.output


def test_test_parallel_rejects_a_bad_worker_count() -> None:
    result = runner.invoke(app, ["test-parallel", "--workers", "0"])
    assert result.exit_code == ExitCode.USAGE
    assert "positive number" in result.output


def _command_names() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_is_documented_in_docs_cli() -> None:
    page = (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text()
    names = _command_names()
    assert {"benchmark", "demo", "migrate", "test", "test-parallel"} <= set(names)
    undocumented = [name for name in names if f"`{name}`" not in page]
    assert undocumented == []


@pytest.mark.subprocess
@pytest.mark.parametrize("delay", [0.0, 1.0, 2.5])
def test_ctrl_c_during_seed_exits_130_and_leaves_the_database_whole(
    tmp_path: Path, delay: float
) -> None:
    import signal
    import time

    import duckdb

    # On a loaded machine the load can end before a late signal: then try again with the
    # signal sooner (a fresh file each time), so the interrupt is always exercised.
    for attempt, wait in enumerate((delay, delay / 2, delay / 4, 0.0)):
        path = tmp_path / f"interrupted-{attempt}.duckdb"
        assert runner.invoke(app, ["init", "--database", str(path)]).exit_code == 0
        seeding = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "project_architect_db",
                "seed",
                "-d",
                str(path),
                "--preset",
                "large",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # as in a shell: Ctrl-C's default action, whatever this worker process inherited
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        # the load has begun once DuckDB writes the WAL; interrupt at different points after it
        wal = Path(f"{path}.wal")
        deadline = time.monotonic() + 120
        # (looked at often: an automatic checkpoint may remove the WAL soon after a commit)
        while not wal.exists() and seeding.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(wait)
        seeding.send_signal(signal.SIGINT)
        stdout, stderr = seeding.communicate(timeout=120)
        if seeding.returncode != 0:
            break
    else:  # pragma: no cover - every attempt finished before its signal
        pytest.fail(f"seed finished before every signal (down to {wait} s after the WAL)")
    assert seeding.returncode == ExitCode.INTERRUPTED, stdout + stderr
    assert "Traceback" not in stderr
    assert "Warning" not in stderr
    # each batch is one transaction (large: 2 batches): none, the first batch with the
    # seed-progress marker counting it, or everything; the file opens cleanly either way
    full = (2000, 20000, 400000, 80000)
    with duckdb.connect(str(path)) as con:
        counts = tuple(
            con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("projects", "conversations", "messages", "builds")
        )
        orphans = con.execute(
            "SELECT count(*) FROM messages m LEFT JOIN conversations c "
            "ON m.conversation_id = c.id WHERE c.id IS NULL"
        ).fetchone()
        stopped = read_plan(con)
    assert orphans == (0,)
    if stopped is None:
        assert counts in [(0, 0, 0, 0), full]
    else:  # stopped between the batches: it says so, and the same command finishes it
        assert (stopped.done, stopped.batches) == (1, 2)
        assert counts[0] == stopped.projects_per_batch
        assert "Run the same command again to resume" in stderr
    # and the database is usable afterwards
    command = ["seed", "--preset", "large"] if stopped is not None else (
        ["seed", "--preset", "tiny"] if counts[0] == 0 else ["db-analyze", "--json"]
    )  # fmt: skip
    done = runner.invoke(app, [*command, "--database", str(path)])
    assert done.exit_code == 0, done.output
    if stopped is not None:
        with duckdb.connect(str(path)) as con:
            assert read_plan(con) is None
            assert con.execute("SELECT count(*) FROM projects").fetchone() == (full[0],)


def test_main_entry_point_exits_with_the_command_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from project_architect_db import cli

    monkeypatch.setattr(sys, "argv", ["project-architect-db", "--help"])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 0
