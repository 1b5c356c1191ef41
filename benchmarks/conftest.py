"""Fixtures of the benchmark suite, and the ratio table printed after the run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import uvloop

from _bench import BenchEnv, close_env, open_env
from _report import RESULTS, RUN_INFO, build_report, complete, format_report, load_average
from _report import write_json as _write_json


@pytest.fixture(scope="session")
def bench_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The one uvloop event loop every async measurement runs on."""
    loop = uvloop.new_event_loop()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


@pytest.fixture(scope="session")
def env(
    bench_loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BenchEnv]:
    """The library opened on one DuckDB file holding a 100k-row table."""
    RUN_INFO["load_average_start"] = load_average()
    bench_env = bench_loop.run_until_complete(
        open_env(tmp_path_factory.mktemp("padb-bench"), bench_loop)
    )
    RUN_INFO["build_seconds"] = bench_env.build_seconds
    try:
        yield bench_env
    finally:
        bench_loop.run_until_complete(close_env(bench_env))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not any(RESULTS.values()):
        return
    RUN_INFO["load_average_end"] = load_average()
    report = build_report()
    terminalreporter.write_sep("=", "project-architect-db / raw DuckDB: medians of this run")
    for line in format_report(report):
        terminalreporter.write_line(line)
    if complete():
        terminalreporter.write_line(f"\nwritten: {_write_json(report)}")
    else:
        terminalreporter.write_line("\npartial run: benchmarks/results/core.json left unchanged")
