"""Every ready analytics answer at two sizes 10x apart, against the same SQL on raw DuckDB.

The shipped ``project-architect-db benchmark --scale`` times the same answers against raw DuckDB
and SQLite; this developers' script adds the old SQL (it imports ``tests``, so it is not shipped).

Run: ``python benchmarks/scale_analytics.py SMALL.duckdb LARGE.duckdb [--rounds 5] [--answer NAME]``
(issue 13: ``/work/scale/s100k.duckdb`` and ``/work/scale/s1m.duckdb``, built by the library's
generator). Both files are opened read-only, one after the other, so several people can measure
on them at once. Both must be at the library's head revision (session 10 added revision
``0002``, the reply links): a file built before is refused read-only, so migrate a copy first
(``Database.open(copy, upgrade=True, memory_limit="2GB")``, about a minute at 1M).
On each file, every round runs three contestants in a shuffled order:

* **library**: ``await db.analytics.<answer>(...).to_arrow()`` inside the running uvloop loop
  (one worker hop on a kept connection, Arrow out, timestamps made aware);
* **raw**: the library's SQL text and parameters, ``cursor.execute(sql, params)
  .to_arrow_table()`` on a cursor of the same DuckDB instance, on the calling thread;
* **before**: the SQL the answer produced before session 9 (``tests/_analytics_before.py``),
  run the same raw way, for the record;
* **sqlite** (with ``--sqlite SMALL.sqlite --sqlite LARGE.sqlite``, the copies the scale
  benchmark makes, e.g. ``/work/scale/s1m.sqlite``): the SQL a SQLite user would write
  (``selfbench/_scale/_analytics.sqlite_answer``) through SQLAlchemy, read-only, ``fetchall()``.
  A contestant whose warm-up run takes over ``SLOW_SECONDS`` is not run again: its warm-up run
  is its one sample (SQLite takes minutes for some answers at 1M).

Arrow, not ``rows()``: at 1M projects some answers hold 1M rows, and building 1M dicts in
Python is Python's cost, not the query's. Reported per answer: the medians at both sizes, the
library's ratio to raw at the large size, the growth factor (large / small, library), the old
SQL's time, the CPU time of the process per call (both DuckDB threads and the loop's; on a
shared machine it moves far less than the wall time), and the verdict against issue 13's bars
(<= 1 s, ``project_health`` <= 500 ms), judged on the library's median at the large size.
:func:`measure` returns the rows, so ``project-architect-db benchmark --scale`` can call it and
print them its own way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests._analytics_before

from tests._analytics_before import BEFORE, CALLS, FUTURE, NOW, P

from project_architect_db import Database
from project_architect_db.core.engine import run_native
from project_architect_db.selfbench._scale import _analytics as _scale

#: the clock the scale files were generated with (``/work/scale/make.py``)
SCALE_NOW = datetime(2026, 12, 1, tzinfo=UTC)
#: the answers and their bars live with ``project-architect-db benchmark --scale``, which
#: also times SQLite; this script adds the SQL from before session 9, for the record
#: what a dashboard asks of ``project_health`` at 1M projects (session 11: the call without
#: arguments is the first page of 50; ``project_health_all`` is every project, the old default,
#: whose "before" SQL is ``BEFORE["project_health"]``)
PAGES = {
    "project_health": "a.project_health()",
    "project_health_keyset": "a.project_health(limit=50, after=('M', UUID(int=0)))",
    "project_health_project": "a.project_health(project_id=ONE)",
    "project_health_all": "a.project_health(limit=None)",
}
_BEFORE_NAMES = {"project_health_all": "project_health", "project_health": None}
ANSWERS = tuple(dict.fromkeys((*_scale.ANSWERS, *PAGES)))
BARS_MS = {**_scale.BARS_MS, **dict.fromkeys(PAGES, 500.0)}
DEFAULT_BAR_MS = 1000.0
SLOW_SECONDS = 3.0  # a contestant slower than this in the warm-up round gets fewer rounds


@dataclass(frozen=True)
class AnswerRow:
    """One answer's figures (milliseconds, medians) at the small and the large size."""

    answer: str
    small_library_ms: float
    small_raw_ms: float
    large_library_ms: float
    large_raw_ms: float
    large_before_ms: float | None
    large_library_cpu_ms: float
    large_before_cpu_ms: float | None
    small_sqlite_ms: float | None
    large_sqlite_ms: float | None
    small_rows: int
    large_rows: int
    bar_ms: float

    @property
    def ratio_to_raw(self) -> float:
        """Library / raw at the large size."""
        return self.large_library_ms / self.large_raw_ms

    @property
    def growth(self) -> float:
        """Library at the large size / library at the small size."""
        return self.large_library_ms / self.small_library_ms

    @property
    def speedup(self) -> float | None:
        """The old SQL's time / the library's, at the large size."""
        if self.large_before_ms is None:
            return None
        return self.large_before_ms / self.large_library_ms

    @property
    def faster_than_sqlite(self) -> float | None:
        """SQLite / the library at the large size (issue 13's bar: >= 10)."""
        if self.large_sqlite_ms is None:
            return None
        return self.large_sqlite_ms / self.large_library_ms

    @property
    def met(self) -> bool:
        """The library's median at the large size is within the bar."""
        return self.large_library_ms <= self.bar_ms


def _call(answers: Any, name: str, one: Any = None) -> Any:
    call = PAGES.get(name) or CALLS[name]
    return eval(
        call,
        {"a": answers, "P": P, "NOW": SCALE_NOW, "FUTURE": FUTURE, "UUID": UUID, "ONE": one},
    )


def _before(name: str) -> tuple[str, list[Any]] | None:
    """The old SQL with its clock moved from the frozen ``NOW`` to the scale files' clock."""
    frozen = _BEFORE_NAMES.get(name, name)
    if frozen is None or frozen not in BEFORE:
        return None
    sql, params = BEFORE[frozen]
    shift = SCALE_NOW.replace(tzinfo=None) - NOW.replace(tzinfo=None)
    return sql, [value + shift if isinstance(value, datetime) else value for value in params]


def _sqlite_contestant(lite: Path | None, name: str) -> tuple[Callable[[], int] | None, Any]:
    """SQLite's run of ``name`` (``None`` without a copy) and the connection to close after."""
    if lite is None:
        return None, None
    from sqlalchemy import create_engine, text

    try:
        lite_sql, lite_params = _scale.sqlite_answer(name, SCALE_NOW)
    except KeyError:  # no SQLite SQL for this call
        return None, None
    statement = text(lite_sql)
    engine = create_engine(f"sqlite:///file:{lite}?mode=ro&uri=true")
    peer = engine.connect()
    return (lambda: len(peer.execute(statement, lite_params).fetchall())), (peer, engine)


async def _measure_file(
    path: Path,
    names: Sequence[str],
    rounds: int,
    before: bool,
    log: Callable[[str], None],
    lite: Path | None = None,
) -> dict[str, dict[str, Any]]:
    db = Database.open(path, read_only=True, load_fts=False, memory_limit="4GB")
    await db.connect()
    try:
        async with db.engine.connect() as conn:
            root: duckdb.DuckDBPyConnection = await run_native(conn, lambda duck: duck.cursor())
        cursor = root.cursor()
        # a project from the middle of the file, for the one-project answer
        count = cursor.execute("SELECT count(*) FROM projects").fetchone()
        one = cursor.execute(
            "SELECT id FROM projects LIMIT 1 OFFSET ?", [(count[0] if count else 0) // 2]
        ).fetchone()
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            query = _call(db.analytics, name, None if one is None else one[0])
            sql, params = query.compiled()
            frozen = _before(name)
            old_sql, old_params = frozen if frozen is not None else ("", [])
            library = query.to_arrow

            async def lib(run: Callable[[], Any] = library) -> int:
                return int((await run()).num_rows)

            def raw(text: str = sql, values: list[Any] = params) -> int:
                return int(cursor.execute(text, values).to_arrow_table().num_rows)

            def old(text: str = old_sql, values: list[Any] = old_params) -> int:
                return int(cursor.execute(text, values).to_arrow_table().num_rows)

            contestants: dict[str, Callable[[], Any]] = {"library": lib, "raw": raw}
            if before and frozen is not None:
                contestants["before"] = old
            peer_run, peer = _sqlite_contestant(lite, name)
            if peer_run is not None:
                contestants["sqlite"] = peer_run
            times: dict[str, list[float]] = {key: [] for key in contestants}
            cpu: dict[str, list[float]] = {key: [] for key in contestants}
            rows = 0
            # warm-up round: compiles, fills caches; decides how many rounds this answer gets
            warm = 0.0
            for key, fn in contestants.items():
                started, used = time.perf_counter(), time.process_time()
                result = fn()
                counted = await result if asyncio.iscoroutine(result) else result
                took = time.perf_counter() - started
                rows = counted if key == "library" else rows
                if key == "sqlite" and took >= SLOW_SECONDS:  # its one run is its sample
                    times[key].append(took)
                    cpu[key].append(time.process_time() - used)
                    continue
                warm = max(warm, took)
            wanted = rounds if warm < SLOW_SECONDS else min(rounds, 3)
            for _ in range(wanted):
                order = [key for key in contestants if not (key == "sqlite" and len(times[key]))]
                random.shuffle(order)
                for key in order:
                    fn = contestants[key]
                    started, used = time.perf_counter(), time.process_time()
                    result = fn()
                    if asyncio.iscoroutine(result):
                        await result
                    times[key].append(time.perf_counter() - started)
                    cpu[key].append(time.process_time() - used)
            out[name] = {key: statistics.median(value) * 1000 for key, value in times.items()}
            out[name].update(
                {f"{key}_cpu": statistics.median(value) * 1000 for key, value in cpu.items()}
            )
            out[name]["rows"] = rows
            figures = ", ".join(
                f"{key} {out[name][key]:.1f} ms (CPU {out[name][key + '_cpu']:.0f})"
                for key in contestants
            )
            log(f"  {path.name} {name}: {figures} ({rows} rows, {wanted} rounds)")
            if peer is not None:
                peer[0].close()
                peer[1].dispose()
        cursor.close()
        root.close()
        return out
    finally:
        await db.close()


def measure(
    small: Path | str,
    large: Path | str,
    *,
    rounds: int = 5,
    answers: Sequence[str] = ANSWERS,
    before: bool = True,
    log: Callable[[str], None] = lambda line: None,
    sqlite: Sequence[Path] = (),
) -> list[AnswerRow]:
    """Time ``answers`` on both files (opened read-only) and return one row per answer."""
    unknown = [name for name in answers if name not in ANSWERS]
    if unknown:
        raise ValueError(f"Unknown answers {unknown}; choose from {', '.join(ANSWERS)}.")
    loop = uvloop.new_event_loop()
    try:
        sizes = {}
        lites: list[Path | None] = [*sqlite, None, None][:2]
        for (label, path), lite in zip(
            (("small", Path(small)), ("large", Path(large))), lites, strict=True
        ):
            log(f"{label}: {path}" + (f" (SQLite: {lite})" if lite else ""))
            sizes[label] = loop.run_until_complete(
                _measure_file(path, answers, rounds, before and label == "large", log, lite)
            )
    finally:
        loop.close()
    return [
        AnswerRow(
            answer=name,
            small_library_ms=sizes["small"][name]["library"],
            small_raw_ms=sizes["small"][name]["raw"],
            large_library_ms=sizes["large"][name]["library"],
            large_raw_ms=sizes["large"][name]["raw"],
            large_before_ms=sizes["large"][name].get("before"),
            large_library_cpu_ms=sizes["large"][name]["library_cpu"],
            large_before_cpu_ms=sizes["large"][name].get("before_cpu"),
            small_sqlite_ms=sizes["small"][name].get("sqlite"),
            large_sqlite_ms=sizes["large"][name].get("sqlite"),
            small_rows=sizes["small"][name]["rows"],
            large_rows=sizes["large"][name]["rows"],
            bar_ms=BARS_MS.get(name, DEFAULT_BAR_MS),
        )
        for name in answers
    ]


def table(rows: Sequence[AnswerRow]) -> str:
    """The rows as a Markdown table (what docs/performance.md shows)."""
    lines = [
        "| answer | rows at 1M | small lib ms | small raw ms | large lib ms | large raw ms "
        "| lib / raw | growth | before ms | speed-up | CPU ms lib / before | small SQLite ms "
        "| small SQLite / lib | large SQLite ms | large SQLite / lib | bar | verdict |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        before = "-" if row.large_before_ms is None else f"{row.large_before_ms:,.0f}"
        speedup = "-" if row.speedup is None else f"{row.speedup:.1f}x"
        cpu = f"{row.large_library_cpu_ms:,.0f}"
        small_sqlite = _over(row.small_sqlite_ms, row.small_library_ms)
        if row.large_before_cpu_ms is not None:
            cpu += f" / {row.large_before_cpu_ms:,.0f}"
        lines.append(
            f"| {row.answer} | {row.large_rows:,} | {row.small_library_ms:,.1f} "
            f"| {row.small_raw_ms:,.1f} | {row.large_library_ms:,.1f} | {row.large_raw_ms:,.1f} "
            f"| {row.ratio_to_raw:.2f} | {row.growth:.1f}x | {before} | {speedup} | {cpu} "
            f"| {_ms(row.small_sqlite_ms)} | {_times(small_sqlite)} "
            f"| {_ms(row.large_sqlite_ms)} | {_times(row.faster_than_sqlite)} "
            f"| <= {row.bar_ms:,.0f} ms | {_verdict(row)} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _over(top: float | None, bottom: float) -> float | None:
    return None if top is None else top / bottom


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x"


def _verdict(row: AnswerRow) -> str:
    missed = [] if row.met else [f"> {row.bar_ms:,.0f} ms"]
    sqlite = row.faster_than_sqlite or _over(row.small_sqlite_ms, row.small_library_ms)
    if sqlite is not None and sqlite < 10:
        missed.append("< 10x SQLite")
    return "met" if not missed else "MISSED (" + ", ".join(missed) + ")"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("small", type=Path)
    parser.add_argument("large", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--answer", action="append", dest="answers")
    parser.add_argument("--no-before", action="store_true", help="Skip the old SQL.")
    parser.add_argument("--json", type=Path, help="Also write the rows as JSON here.")
    parser.add_argument(
        "--sqlite",
        action="append",
        type=Path,
        default=[],
        help="The SQLite copy of SMALL, then of LARGE (give it twice; once: SMALL's only).",
    )
    args = parser.parse_args(argv)
    for path in (args.small, args.large):
        if not path.is_file():
            parser.error(f"{path} is not a DuckDB file")
    started = time.perf_counter()
    rows = measure(
        args.small,
        args.large,
        rounds=args.rounds,
        answers=tuple(args.answers or ANSWERS),
        before=not args.no_before,
        log=lambda line: print(line, flush=True),
        sqlite=args.sqlite,
    )
    print()
    print(table(rows))
    load = os.getloadavg()
    print(
        f"\n{sum(row.met for row in rows)} of {len(rows)} answers within their bar; "
        f"{time.perf_counter() - started:.0f} s; load average {load[0]:.1f} {load[1]:.1f} "
        f"{load[2]:.1f} on {os.cpu_count()} CPUs; peak RSS of the process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )
    if args.json:
        import json

        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
