"""Core benchmarks: the library against raw DuckDB (and the sync ORM) in the same process.

Each point-select and acquisition round times :data:`CALLS_PER_ROUND` calls; for the async
contestants the event loop is entered once per round (``loop.run_until_complete``) and every call
inside it is awaited in turn, so pytest-benchmark's figures are per round, and the ratio table
divides them by the calls per round. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from _bench import (
    ACQUISITION_LABELS,
    CALLS_PER_ROUND,
    LAG_LABELS,
    POINT_CONTESTANTS,
    BenchEnv,
    Contestant,
    acquire_async,
    acquire_raw_cursor,
    calibrate_long_query,
    check_contestant,
    lag_work,
    long_query,
    measure_lag,
    percentile,
)
from _report import RESULTS, RUN_INFO, median_of, per_call_stats, record

POINT_ROUNDS = 25
INTERLEAVED_ROUNDS = 15
ACQUIRE_ROUNDS = 40
LAG_ROUNDS = {
    "idle": 1,
    "cpu_burn": 2,
    "driver": 3,
    "driver_threads_1": 2,
    "to_thread": 2,
    "blocking": 1,
}


def _open(env: BenchEnv, contestant_type: type[Contestant]) -> Contestant:
    contestant = contestant_type(env)
    env.run(contestant.open())
    env.run(check_contestant(contestant, env))
    return contestant


@pytest.mark.parametrize(
    "contestant_type", POINT_CONTESTANTS, ids=[c.key for c in POINT_CONTESTANTS]
)
def test_point_select(benchmark: Any, env: BenchEnv, contestant_type: type[Contestant]) -> None:
    benchmark.group = f"point select by id ({CALLS_PER_ROUND} calls/round)"
    contestant = _open(env, contestant_type)
    try:
        benchmark.pedantic(
            contestant,
            setup=lambda: ((env.sample(),), {}),
            rounds=POINT_ROUNDS,
            warmup_rounds=2,
        )
    finally:
        env.run(contestant.close())
    benchmark.extra_info["calls_per_round"] = CALLS_PER_ROUND
    record(
        "point_select",
        contestant.key,
        contestant.label,
        per_call_stats(benchmark, CALLS_PER_ROUND),
    )


def test_point_select_interleaved(benchmark: Any, env: BenchEnv) -> None:
    """All contestants in turn, in a shuffled order each round: load drift hits them alike.

    pytest-benchmark times the whole interleaved run once (that row means nothing); the
    per-contestant medians go to the ratio table.
    """
    benchmark.group = "point select, interleaved (whole run, see ratio table)"
    contestants = [_open(env, contestant_type) for contestant_type in POINT_CONTESTANTS]
    times: dict[str, list[float]] = {c.key: [] for c in contestants}
    order = random.Random(7)

    def run_all() -> None:
        for contestant in contestants:  # warm-up round
            contestant(env.sample())
        for _ in range(INTERLEAVED_ROUNDS):
            sample = env.sample()  # the same ids for every contestant in this round
            order.shuffle(contestants)
            for contestant in contestants:
                started = time.perf_counter()
                contestant(sample)
                times[contestant.key].append(time.perf_counter() - started)

    try:
        benchmark.pedantic(run_all, rounds=1, iterations=1)
    finally:
        for contestant in contestants:
            env.run(contestant.close())
    for contestant in sorted(contestants, key=lambda c: POINT_CONTESTANTS.index(type(c))):
        per_call = [seconds * 1000 / CALLS_PER_ROUND for seconds in times[contestant.key]]
        if not per_call:  # --benchmark-disable ran nothing worth keeping
            continue
        record(
            "point_select_interleaved",
            contestant.key,
            contestant.label,
            {
                "median_ms": median_of(per_call),
                "min_ms": min(per_call),
                "max_ms": max(per_call),
                "rounds": len(per_call),
                "calls_per_round": CALLS_PER_ROUND,
            },
        )
    benchmark.extra_info["per_call_median_ms"] = {
        key: entry["median_ms"] for key, entry in RESULTS["point_select_interleaved"].items()
    }


@pytest.mark.parametrize("kind", list(ACQUISITION_LABELS))
def test_session_acquisition(benchmark: Any, env: BenchEnv, kind: str) -> None:
    benchmark.group = f"session acquisition ({CALLS_PER_ROUND} acquire+release/round)"
    round_ = acquire_raw_cursor(env) if kind == "raw_cursor" else acquire_async(env, kind)
    benchmark.pedantic(round_, args=(CALLS_PER_ROUND,), rounds=ACQUIRE_ROUNDS, warmup_rounds=2)
    benchmark.extra_info["calls_per_round"] = CALLS_PER_ROUND
    record(
        "acquisition", kind, ACQUISITION_LABELS[kind], per_call_stats(benchmark, CALLS_PER_ROUND)
    )


@pytest.fixture(scope="module")
def long_sql(env: BenchEnv) -> str:
    n = calibrate_long_query(env.root)
    RUN_INFO["long_query"] = long_query(n)
    return long_query(n)


@pytest.mark.parametrize("kind", list(LAG_LABELS))
def test_loop_lag(benchmark: Any, env: BenchEnv, long_sql: str, kind: str) -> None:
    benchmark.group = "event-loop lag during a ~1 s query (time = the query)"
    work = lag_work(env, kind, long_sql)
    trials = []

    def trial() -> None:
        trials.append(env.run(measure_lag(work)))

    benchmark.pedantic(trial, rounds=LAG_ROUNDS[kind], iterations=1)
    lags = [lag * 1000 for t in trials for lag in t.lags]
    assert lags, "no heartbeat tick overlapped the work"
    result = {
        "max_lag_ms": max(lags),
        "p99_lag_ms": percentile(lags, 0.99),
        "median_lag_ms": median_of(lags),
        "ticks": len(lags),
        "trials": len(trials),
        "work_seconds_median": median_of([t.seconds for t in trials]),
    }
    benchmark.extra_info.update(result)
    record("loop_lag", kind, LAG_LABELS[kind], result)
