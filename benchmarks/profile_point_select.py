"""Where the microseconds of a point select go: a breakdown per call, and cProfile of 3000 calls.

Run from the repository root (about 40 s on 2 cores)::

    python benchmarks/profile_point_select.py [--calls 1000] [--profile-calls 3000] [--no-profile]

For every contestant of the suite it times ``--calls`` point selects (``--repeats`` times,
interleaved) and splits each call into

* ``loop CPU``: CPU time of the event-loop thread (``time.thread_time``): SQLAlchemy, asyncio,
  greenlet switches, result processing; for the raw and sync contestants also DuckDB itself,
  which runs on the calling thread;
* ``worker``: wall time the driver's worker thread spends inside the submitted function
  (DuckDB execute + fetch, measured by wrapping ``AsyncAdaptedConnection._in_tx``);
* ``rest``: wall time that is neither, i.e. waiting for the thread hand-offs (queue put, worker
  wake-up, ``call_soon_threadsafe``, loop wake-up) and for the CPU on a busy machine.

Then it runs cProfile over ``--profile-calls`` async Core calls, async ORM ``get`` calls and
``async with db.session() as s: await s.connection()`` acquisitions. cProfile sees only the
loop thread; time spent waiting for the worker shows up as the ``tottime`` of
``_adapter.py:execute`` (where the greenlet switches away), not as work.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).parent))

from _bench import (
    POINT_CONTESTANTS,
    AsyncOrmGet,
    BenchEnv,
    Contestant,
    CoreInTransaction,
    acquire_async,
    check_contestant,
    close_env,
    open_env,
)
from project_architect_db.core import _adapter

_WORKER_BUSY = [0.0]
_original_in_tx = _adapter.AsyncAdaptedConnection._in_tx


def _timed_in_tx(self: Any, fn: Any) -> Any:
    started = time.perf_counter()
    try:
        return _original_in_tx(self, fn)
    finally:
        _WORKER_BUSY[0] += time.perf_counter() - started


def _measure(contestant: Contestant, env: BenchEnv, calls: int) -> tuple[float, float, float]:
    """Per-call wall, loop-thread CPU and worker-busy seconds over ``calls`` calls."""
    samples = [env.sample() for _ in range(calls // 100)]
    _WORKER_BUSY[0] = 0.0
    cpu = time.thread_time()
    wall = time.perf_counter()
    for sample in samples:
        contestant(sample)
    wall = time.perf_counter() - wall
    cpu = time.thread_time() - cpu
    done = len(samples) * 100
    return wall / done, cpu / done, _WORKER_BUSY[0] / done


def _profile(title: str, run: Any, batches: list[Any]) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for batch in batches:
        run(batch)
    profile.disable()
    print(f"\ncProfile, {title}, loop thread only")
    pstats.Stats(profile).sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--profile-calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    _adapter.AsyncAdaptedConnection._in_tx = _timed_in_tx  # type: ignore[method-assign]
    loop = uvloop.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="padb-profile-") as directory:
        env = loop.run_until_complete(open_env(Path(directory), loop))
        contestants = [kind(env) for kind in POINT_CONTESTANTS]
        for contestant in contestants:
            env.run(contestant.open())
            env.run(check_contestant(contestant, env))
            contestant(env.sample())  # warm-up: compiled caches, first BEGIN
        try:
            figures: dict[str, list[tuple[float, float, float]]] = {c.key: [] for c in contestants}
            for _ in range(args.repeats):  # interleaved, so machine load hits all alike
                for contestant in contestants:
                    figures[contestant.key].append(_measure(contestant, env, args.calls))
            print(f"per call, medians of {args.repeats} x {args.calls} calls (microseconds)")
            print(f"{'contestant':<18} {'wall':>8} {'loop CPU':>9} {'worker':>8} {'rest':>8}")
            for contestant in contestants:
                rows = figures[contestant.key]
                wall, cpu, busy = (statistics.median(r[i] for r in rows) * 1e6 for i in range(3))
                print(
                    f"{contestant.key:<18} {wall:8.1f} {cpu:9.1f} {busy:8.1f} "
                    f"{wall - cpu - busy:8.1f}"
                )
            if not args.no_profile:
                for kind in (CoreInTransaction, AsyncOrmGet):
                    contestant = next(c for c in contestants if type(c) is kind)
                    samples = [env.sample() for _ in range(args.profile_calls // 100)]
                    _profile(f"{args.profile_calls} calls of {contestant.key}", contestant, samples)
                acquire = acquire_async(env, "session_connection")
                acquire(100)
                _profile(
                    f"{args.profile_calls} x async with db.session() as s: await s.connection()",
                    acquire,
                    [args.profile_calls],
                )
        finally:
            for contestant in contestants:
                env.run(contestant.close())
            loop.run_until_complete(close_env(env))
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()


if __name__ == "__main__":
    main()
