"""``project-architect-db benchmark``: the library against raw DuckDB on this machine.

Runs :mod:`project_architect_db.selfbench` (shipped with the package). Prints a ratio table,
writes the figures as JSON and the ratios as a PNG chart. The developers' fuller
pytest-benchmark suite lives in the repository's ``benchmarks/`` folder and is not installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from project_architect_db.cli._common import ExitCode, console, fail, run

__all__ = ["benchmark"]


def _verdict(met: bool | None) -> str:
    if met is None:
        return "[dim]-[/]"
    return "[green]met[/]" if met else "[red]MISSED[/]"


def _target(case: Any) -> str:
    parts = []
    if case.target_ratio is not None:
        parts.append(f"<= {case.target_ratio:g}x")
    if case.target_ms is not None:
        parts.append(f"< {case.target_ms:g} ms")
    return ", ".join(parts) or "-"


def benchmark(
    database: Annotated[
        Path | None,
        typer.Option(
            "--database",
            "-d",
            help="A new DuckDB file to benchmark on (default: a temporary file).",
        ),
    ] = None,
    projects: Annotated[
        int | None,
        typer.Option(
            help="Projects seeded before timing (default 10,000); with --scale, projects of the "
            "large file (default 1,000,000 with 10M messages; the small file holds a tenth).",
            min=100,
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(help="Timed rounds per case and side (default 15; --scale: 21).", min=1),
    ] = None,
    cases: Annotated[
        list[str] | None,
        typer.Option("--case", help="Run only this case (repeatable): get, list, update, ..."),
    ] = None,
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the figures.")] = Path(
        "benchmark-results.json"
    ),
    chart: Annotated[
        Path, typer.Option("--chart", help="Where to write the PNG chart of the ratios.")
    ] = Path("benchmark.png"),
    no_chart: Annotated[bool, typer.Option("--no-chart", help="Write no chart.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 1 when a promise is missed.")
    ] = False,
    scale: Annotated[
        bool,
        typer.Option(
            "--scale",
            help="Issue 13's scale benchmark: every everyday call and analytics answer at two "
            "sizes 10x apart, against raw DuckDB and SQLite with indexes (see --data-dir).",
        ),
    ] = False,
    data_dir: Annotated[
        Path,
        typer.Option(
            help="--scale: where the generated DuckDB files and SQLite copies are kept and "
            "reused by later runs.",
        ),
    ] = Path("padb-scale-data"),
    sources: Annotated[
        list[Path] | None,
        typer.Option(
            "--source",
            help="--scale: two existing DuckDB files (small, then large), read only; their "
            "SQLite copies go to --data-dir.",
        ),
    ] = None,
    sqlite: Annotated[
        bool, typer.Option("--sqlite/--no-sqlite", help="--scale: also time SQLite.")
    ] = True,
) -> None:
    """Time library calls against the same work on raw DuckDB, in one run, and print ratios.

    Example: project-architect-db benchmark --projects 20000 --rounds 25 --chart bench.png

    Scale: project-architect-db benchmark --scale --projects 20000 (a quick try; the default,
    1,000,000 projects, generates about 5.6 GB of DuckDB and 13 GB of SQLite on first run).
    """
    if scale:
        from project_architect_db.cli._scale import scale_benchmark

        scale_benchmark(
            projects=1_000_000 if projects is None else projects,
            data_dir=data_dir,
            sources=sources or None,
            rounds=21 if rounds is None else rounds,
            sqlite=sqlite,
            json_path=json_path,
            strict=strict,
        )
        return
    projects = 10_000 if projects is None else projects
    rounds = 15 if rounds is None else rounds
    from project_architect_db import Database
    from project_architect_db.selfbench import CASES, run_cases, write_chart

    known = [case.key for case in CASES]
    unknown = sorted(set(cases or []) - set(known))
    if unknown:
        fail(f"unknown case {', '.join(unknown)}: choose from {', '.join(known)}", ExitCode.USAGE)
    if database is not None and database.exists():
        fail(
            f"{database} exists: the benchmark writes thousands of rows, so give it a new path",
            ExitCode.USAGE,
        )
    out = console()

    async def main() -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with tempfile.TemporaryDirectory(prefix="padb-bench-") as folder:
            target = database if database is not None else Path(folder) / "bench.duckdb"
            async with Database.open(target) as db:
                with Progress(
                    TextColumn("{task.description:<14}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    console=out,
                    auto_refresh=out.is_terminal,  # no refresh thread where nobody watches
                ) as progress:
                    tasks: dict[str, Any] = {}

                    def advance(key: str, done: int, total: int) -> None:
                        if key not in tasks:
                            tasks[key] = progress.add_task(key, total=total)
                        progress.update(tasks[key], completed=done)

                    out.print(f"seeding {projects:,} projects into {target} ...")
                    return await run_cases(
                        db, projects=projects, rounds=rounds, only=cases, progress=advance
                    )

    report = run(main)
    _print(out, report)
    report.write_json(json_path)
    out.print(f"figures written to [bold]{json_path}[/]")
    if not no_chart:
        from project_architect_db.exceptions import ProjectArchitectDBError

        try:
            write_chart(report, chart)
        except ProjectArchitectDBError as error:
            fail(str(error), ExitCode.USAGE)
        out.print(f"chart written to [bold]{chart}[/]")
    if strict and any(case.met is False for case in report.cases):
        fail("at least one promise was missed in this run", ExitCode.ERROR)


def _print(out: Any, report: Any) -> None:
    from rich.table import Table

    table = Table(
        title=f"project-architect-db / raw DuckDB, medians of this run ({report.projects:,} "
        "projects)",
        title_justify="left",
    )
    for column in ("case", "library ms", "raw ms", "ratio", "promise", "verdict"):
        justify = "right" if column.endswith("ms") or column == "ratio" else "left"
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for case in report.cases:
        table.add_row(
            case.key,
            f"{case.library_ms:.3f}",
            f"{case.raw_ms:.3f}",
            f"{case.ratio:.2f}x",
            _target(case),
            _verdict(case.met),
        )
    out.print(table)
    for case in report.cases:
        out.print(f"[dim]{case.key}: {case.library}  vs  {case.raw}[/]")
    load = report.environment.get("load_average")
    out.print(
        f"[dim]{report.environment['cpus']} CPUs, load average {load}, DuckDB "
        f"{report.environment['duckdb']}, Python {report.environment['python']}: medians "
        "move with the machine's load; run twice and compare.[/]"
    )
