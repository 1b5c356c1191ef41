"""``project-architect-db benchmark --scale``: issue 13's scale benchmark, printed with Rich."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from project_architect_db.cli._common import ExitCode, console, fail, run

__all__ = ["scale_benchmark"]


def scale_benchmark(
    *,
    projects: int,
    data_dir: Path,
    sources: list[Path] | None,
    rounds: int,
    sqlite: bool,
    json_path: Path,
    strict: bool,
) -> None:
    """Make or reuse the files, time every call at both sizes, print and write the report."""
    from project_architect_db.selfbench import plan_scale, run_scale

    if sources is not None and len(sources) != 2:
        fail(
            f"--source takes two DuckDB files (small, then large; 10x apart), got {len(sources)}",
            ExitCode.USAGE,
        )
    pair = None if sources is None else (sources[0], sources[1])
    out = console()

    async def main() -> Any:
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        plan = plan_scale(projects, data_dir, sources=pair, sqlite=sqlite)
        if plan.describe():
            out.print(plan.describe())
        with Progress(
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=out,
            auto_refresh=out.is_terminal,
        ) as progress:
            tasks: dict[str, Any] = {}

            def advance(what: str, done: int, total: int) -> None:
                if what not in tasks:
                    tasks[what] = progress.add_task(what, total=None)
                shown = f"{done:,} of {total:,}" if total else f"{done:,} rows"
                progress.update(tasks[what], description=f"{what}: {shown}")

            def step(line: str) -> None:
                if "timing" not in tasks:
                    tasks["timing"] = progress.add_task(line, total=None)
                progress.update(tasks["timing"], description=line)

            return await run_scale(
                projects,
                data_dir,
                sources=pair,
                rounds=rounds,
                sqlite=sqlite,
                progress=advance,
                step=step,
            )

    report = run(main)
    _print(out, report)
    json_path.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    out.print(f"figures written to [bold]{json_path}[/]")
    if strict and any(row.verdict.startswith("MISSED") for row in report.rows):
        fail("at least one bar was missed in this run", ExitCode.ERROR)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _bars(row: Any) -> str:
    bars = []
    if row.bar_ms is not None:
        bars.append(f"{row.bar_ms:g} ms")
    if row.growth_bar is not None:
        bars.append(f"x{row.growth_bar:g}")
    if row.sqlite_bar is not None:
        bars.append("3x SQL" if row.sqlite_bar.startswith("within") else "10x SQL")
    return " ".join(bars) or "-"


def _print(out: Any, report: Any) -> None:
    from rich.table import Table

    small, large = f"{report.small_projects:,}", f"{report.large_projects:,}"
    table = Table(
        title=f"scale benchmark: library medians (ms) at {small} and {large} projects; raw "
        f"DuckDB and SQLite at {large}; ratios are library / other",
        title_justify="left",
    )
    columns = (
        "call",
        small,
        large,
        "growth",
        "raw",
        "/raw",
        "SQLite",
        "/SQLite",
        "bars",
        "verdict",
    )
    for column in columns:
        left = column in ("call", "bars", "verdict")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for row in report.rows:
        verdict = row.verdict
        colour = "green" if verdict == "met" else "dim" if verdict == "documented" else "red"
        table.add_row(
            row.call,
            _ms(row.small_ms),
            _ms(row.large_ms),
            _ratio(row.growth),
            _ms(row.large_raw_ms),
            _ratio(row.ratio_raw),
            _ms(row.large_sqlite_ms),
            _ratio(row.ratio_sqlite),
            _bars(row),
            f"[{colour}]{verdict.split(' ')[0]}[/]",
        )
    out.print(table)
    out.print(
        "[dim]bars: N ms at the large size; xN growth from the small size; 3x SQL: within 3x "
        "of SQLite; 10x SQL: at least 10x faster than SQLite.[/]"
    )
    for row in report.rows:
        if row.missed:
            out.print(f"[red]{row.call}[/]: missed {', '.join(row.missed)}")
        if row.note:
            out.print(f"[dim]{row.call}: {row.note}[/]")
    env = report.environment
    out.print(
        f"[dim]{report.seconds:,.0f} s; load average before {env['load_average_before']}, "
        f"after {env['load_average_after']} on {env['cpus']} CPUs; DuckDB {env['duckdb']}, "
        f"SQLite {env['sqlite']}, Python {env['python']}. Wall-clock medians move with the "
        "machine's load: compare the ratios, and run twice.[/]"
    )
