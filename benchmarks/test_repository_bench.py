"""Repository benchmarks: ``db.projects`` against raw DuckDB (and the sync ORM) in one run.

Point operations time :data:`CALLS_PER_ROUND` awaited calls per round on the suite's uvloop loop
(like ``test_core_bench.py``); the ratio table divides by the calls per round. Every operation is
measured sequentially (pytest-benchmark) and interleaved (contestants in a shuffled order in every
round, so load drift hits them alike). See ``docs/performance.md``, "Repositories".
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest

from _repo_bench import (
    CALLS_PER_ROUND,
    STREAM_TARGET_MB,
    Contestant,
    OrmAddAll,
    RawArrowBulk,
    RawGet,
    RawList,
    RawUpdate,
    RepoBulk,
    RepoEnv,
    RepoGet,
    RepoList,
    RepoReport,
    RepoUpdate,
    _load_average,
    close_repo_env,
    measure_stream,
    median_of,
    open_repo_env,
    time_round,
)

POINT_ROUNDS = 10
INTERLEAVED_ROUNDS = 10
BULK_ROUNDS = 7
ORM_ROUNDS = 3
OPERATIONS = {
    "get": (RepoGet, RawGet),
    "list": (RepoList, RawList),
    "update": (RepoUpdate, RawUpdate),
}
POINT_TYPES = [t for pair in OPERATIONS.values() for t in pair]


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> RepoReport:
    plugin = RepoReport()
    plugin.info["load_average_start"] = _load_average()
    request.config.pluginmanager.register(plugin, "padb-repository-report")
    return plugin


@pytest.fixture(scope="module")
def repo_env(
    bench_loop: asyncio.AbstractEventLoop,
    tmp_path_factory: pytest.TempPathFactory,
    report: RepoReport,
) -> Iterator[RepoEnv]:
    env = bench_loop.run_until_complete(
        open_repo_env(tmp_path_factory.mktemp("padb-repo-bench"), bench_loop)
    )
    try:
        yield env
    finally:
        bench_loop.run_until_complete(close_repo_env(env))


def _per_call(times: list[float], calls: int) -> dict[str, Any]:
    per_call = [seconds * 1000 / calls for seconds in times]
    return {
        "median_ms": median_of(per_call),
        "min_ms": min(per_call),
        "max_ms": max(per_call),
        "rounds": len(per_call),
        "calls_per_round": calls,
    }


@pytest.mark.parametrize("contestant_type", POINT_TYPES, ids=[t.key for t in POINT_TYPES])
def test_point_operation(
    benchmark: Any, repo_env: RepoEnv, report: RepoReport, contestant_type: type[Contestant]
) -> None:
    contestant = contestant_type(repo_env)
    benchmark.group = f"projects: {contestant.key.split('_')[1]} ({CALLS_PER_ROUND} calls/round)"
    try:
        benchmark.pedantic(
            contestant,
            setup=lambda: ((contestant.prepare(),), {}),
            rounds=POINT_ROUNDS,
            warmup_rounds=1,
        )
    finally:
        contestant.close()
    stats = getattr(benchmark.stats, "stats", None)
    if stats is None:
        return
    report.record(
        "sequential",
        contestant.key,
        contestant.label,
        {
            "median_ms": stats.median * 1000 / CALLS_PER_ROUND,
            "min_ms": stats.min * 1000 / CALLS_PER_ROUND,
            "max_ms": stats.max * 1000 / CALLS_PER_ROUND,
            "rounds": stats.rounds,
            "calls_per_round": CALLS_PER_ROUND,
        },
    )


def _interleave(
    contestants: list[Contestant], rounds: int, every: dict[str, int] | None = None
) -> dict[str, list[float]]:
    """Each round runs every contestant once, in a shuffled order (``every``: skip rounds)."""
    times: dict[str, list[float]] = {c.key: [] for c in contestants}
    order = random.Random(11)
    for contestant in contestants:  # warm-up
        if (every or {}).get(contestant.key, rounds) >= rounds:
            contestant(contestant.prepare())
    for index in range(rounds):
        order.shuffle(contestants)
        for contestant in contestants:
            if index >= (every or {}).get(contestant.key, rounds):
                continue
            arg = contestant.prepare()
            times[contestant.key].append(time_round(contestant, arg))
    return times


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_point_interleaved(
    benchmark: Any, repo_env: RepoEnv, report: RepoReport, operation: str
) -> None:
    """pytest-benchmark times the whole interleaved run (meaningless); medians go to the table."""
    benchmark.group = "projects, interleaved (whole run, see ratio table)"
    contestants = [t(repo_env) for t in OPERATIONS[operation]]
    result: dict[str, list[float]] = {}
    try:
        benchmark.pedantic(
            lambda: result.update(_interleave(contestants, INTERLEAVED_ROUNDS)),
            rounds=1,
            iterations=1,
        )
    finally:
        for contestant in contestants:
            contestant.close()
    for contestant in contestants:
        if result.get(contestant.key):
            report.record(
                "interleaved",
                contestant.key,
                contestant.label,
                _per_call(result[contestant.key], CALLS_PER_ROUND),
            )


def test_bulk_create(benchmark: Any, repo_env: RepoEnv, report: RepoReport) -> None:
    """10k rows per round: the library, a raw Arrow insert, and (3 rounds) the sync ORM."""
    benchmark.group = "projects: bulk insert of 10k rows, interleaved (whole run)"
    contestants: list[Contestant] = [
        RepoBulk(repo_env),
        RawArrowBulk(repo_env),
        OrmAddAll(repo_env),
    ]
    result: dict[str, list[float]] = {}
    try:
        benchmark.pedantic(
            lambda: result.update(
                _interleave(contestants, BULK_ROUNDS, {OrmAddAll.key: ORM_ROUNDS})
            ),
            rounds=1,
            iterations=1,
        )
    finally:
        for contestant in contestants:
            contestant.close()
    for contestant in contestants:
        if result.get(contestant.key):
            report.record(
                "bulk", contestant.key, contestant.label, _per_call(result[contestant.key], 1)
            )


def test_stream_memory(
    benchmark: Any,
    bench_loop: asyncio.AbstractEventLoop,
    tmp_path_factory: pytest.TempPathFactory,
    report: RepoReport,
) -> None:
    """RSS growth while iterating 1M projects with ``stream(batch_size=1000)``."""
    benchmark.group = "projects: stream 1M rows (time = fill + stream; see ratio table)"
    directory = tmp_path_factory.mktemp("padb-stream-bench")
    result: dict[str, Any] = {}
    benchmark.pedantic(
        lambda: result.update(bench_loop.run_until_complete(measure_stream(directory))),
        rounds=1,
        iterations=1,
    )
    if not result:
        return
    benchmark.extra_info.update(result)
    report.record("stream", "projects", "db.projects.stream(batch_size=1000) over 1M rows", result)
    assert result["growth_mb"] < STREAM_TARGET_MB
