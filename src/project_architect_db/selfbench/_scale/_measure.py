"""Timing one file: every call on the library, raw DuckDB and SQLite, interleaved."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from project_architect_db.selfbench._scale import _analytics, _everyday, _search

__all__ = ["FileFigures", "measure_file"]

#: A contestant slower than this on its first run is timed once (its first run is the sample).
SLOW_SECONDS: Final = 3.0
#: Analytics rounds are capped: an answer runs hundreds of ms, its median settles sooner.
ANALYTICS_ROUNDS: Final = 5
#: Random projects drawn per file for the lookups.
SAMPLES: Final = 2_000

Step = Callable[[str], None]


@dataclass
class FileFigures:
    """Medians (ms) per ``(call, contestant)`` for one file, with rounds and notes."""

    projects: int
    medians: dict[tuple[str, str], float] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


async def _time(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    result = call()
    if asyncio.iscoroutine(result):
        await result
    return (time.perf_counter() - started) * 1000


async def measure_file(
    duck: Path,
    lite: Path | None,
    *,
    rounds: int,
    warmup: int,
    answers: tuple[str, ...],
    search: bool,
    step: Step,
) -> FileFigures:
    """Time every call on ``duck`` (and ``lite``): everyday calls, answers, searches."""
    from sqlalchemy import create_engine

    from project_architect_db import Database
    from project_architect_db.core.engine import run_native
    from project_architect_db.selfbench._sqlite_peer import peer_metadata

    db = await Database.open(duck, read_only=True, load_fts=search)
    engine = None if lite is None else create_engine(f"sqlite:///file:{lite}?mode=ro&uri=true")
    try:
        async with db.engine.connect() as conn:
            raw = await run_native(conn, lambda native: native.cursor())
        peer = None if engine is None else engine.connect()
        try:
            rng = random.Random(13)
            samples = _everyday.load_samples(raw, rng, SAMPLES)
            found = raw.execute("SELECT max(created_at) FROM projects").fetchone()
            now = found[0].replace(tzinfo=UTC) if found and found[0] else datetime.now(UTC)
            counted = raw.execute("SELECT count(*) FROM projects").fetchone()
            projects = int(counted[0]) if counted else 0
            figures = FileFigures(projects)
            tables = peer_metadata()
            times: dict[tuple[str, str], list[float]] = {}
            for number in range(warmup + rounds):
                step(f"{duck.name}: everyday calls, round {number + 1} of {warmup + rounds}")
                for name, sides in _everyday.calls(db, raw, peer, tables, samples, rng).items():
                    contestants = [
                        (who, call)
                        for who, call in zip(("library", "raw", "sqlite"), sides, strict=True)
                        if call is not None
                    ]
                    shift = number % len(contestants)  # who goes first rotates every round
                    for who, call in contestants[shift:] + contestants[:shift]:
                        elapsed = await _time(call)
                        if number >= warmup:
                            times.setdefault((name, who), []).append(elapsed)
            for name in _everyday.CALLS:
                figures.rounds[name] = rounds
            for name in answers:
                step(f"{duck.name}: analytics {name}")
                await _answer(db, raw, peer, name, now, rounds, times, figures)
            if search:
                await _searches(db, raw, samples.ids, rounds, warmup, times, figures, step)
            figures.medians = {key: statistics.median(value) for key, value in times.items()}
            return figures
        finally:
            if peer is not None:
                peer.close()
            raw.close()
    finally:
        if engine is not None:
            engine.dispose()
        await db.close()


async def _answer(
    db: Any,
    raw: Any,
    peer: Any,
    name: str,
    now: datetime,
    rounds: int,
    times: dict[tuple[str, str], list[float]],
    figures: FileFigures,
) -> None:
    """Time one answer: library (Arrow out), raw DuckDB (same SQL), SQLite (its own SQL)."""
    from sqlalchemy import text

    query = _analytics.library_call(db.analytics, name, now)
    sql, params = query.compiled()
    contestants: dict[str, Callable[[], Any]] = {
        "library": query.to_arrow,
        "raw": lambda: raw.execute(sql, params).to_arrow_table(),
    }
    if peer is not None:
        if name in _analytics.NOT_EXPRESSIBLE:  # pragma: no cover - none today
            figures.notes[name] = "SQLite: " + _analytics.NOT_EXPRESSIBLE[name]
        else:
            lite_sql, lite_params = _analytics.sqlite_answer(name, now)
            statement = text(lite_sql)
            contestants["sqlite"] = lambda: peer.execute(statement, lite_params).fetchall()
    first = {who: await _time(call) for who, call in contestants.items()}
    repeat = [who for who, ms in first.items() if ms < SLOW_SECONDS * 1000]
    for who in set(contestants) - set(repeat):
        times[(name, who)] = [first[who]]  # too slow to repeat: its one run is the sample
    wanted = min(rounds, ANALYTICS_ROUNDS)
    for _ in range(wanted):
        random.shuffle(repeat)
        for who in repeat:
            times.setdefault((name, who), []).append(await _time(contestants[who]))
    figures.rounds[name] = wanted if repeat else 1
    slow = sorted(set(contestants) - set(repeat))
    if slow:
        figures.notes[name] = f"{', '.join(slow)}: one run (over {SLOW_SECONDS:g} s)"


async def _searches(
    db: Any,
    raw: Any,
    project_ids: list[Any],
    rounds: int,
    warmup: int,
    times: dict[tuple[str, str], list[float]],
    figures: FileFigures,
    step: Step,
) -> None:
    """Time the library's searches, if the file holds its search index (else note why not)."""
    if not _search.has_index(raw):
        figures.notes.update(dict.fromkeys(_search.CALLS, _search.NO_INDEX))
        return
    rng = random.Random(17)
    for number in range(warmup + rounds):
        step(f"search, round {number + 1} of {warmup + rounds}")
        for name, call in _search.calls(db, project_ids, rng).items():
            elapsed = await _time(call)
            if number >= warmup:
                times.setdefault((name, "library"), []).append(elapsed)
    figures.rounds.update(dict.fromkeys(_search.CALLS, rounds))
