"""``project-architect-db benchmark --scale``: every everyday call at two sizes 10x apart.

Issue 13's scale benchmark. Two DuckDB files of N/10 and N projects (issue 13's shape: 10
messages per project, so 1M projects hold 10M messages) are generated with the batched
generator, or given (``sources``, opened read-only), and each is copied to SQLite with the
indexes a SQLite user would create (:mod:`~project_architect_db.selfbench._sqlite_peer`).
On each file, every call runs on the library, on raw DuckDB with the library's SQL and on
SQLite through SQLAlchemy (the SQL a SQLite user would write), interleaved in one process.
The report gives each call's medians at both sizes, its growth factor, its ratio to raw DuckDB
and to SQLite, and its verdict against issue 13's bars.

Examples:
    >>> from project_architect_db.selfbench import ScaleRow
    >>> row = ScaleRow("page", "everyday", 4.0, 5.0, 4.0, 5.0, 1.0, 2.0, 10.0, 1.5, "within 3x")
    >>> row.growth, row.verdict
    (1.25, 'met')
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from project_architect_db.exceptions import ConfigurationError
from project_architect_db.selfbench._scale import _analytics, _everyday, _files, _search
from project_architect_db.selfbench._scale._files import DataPlan, Progress, estimate
from project_architect_db.selfbench._scale._measure import FileFigures, measure_file

__all__ = [
    "ANSWERS",
    "DataPlan",
    "EVERYDAY_CALLS",
    "MIN_PROJECTS",
    "SEARCHES",
    "ScaleReport",
    "ScaleRow",
    "plan_scale",
    "run_scale",
]

ANSWERS: Final = _analytics.ANSWERS
EVERYDAY_CALLS: Final = _everyday.CALLS
SEARCHES: Final = _search.CALLS
#: The smallest large size: the small file (a tenth) needs 200 projects for its samples.
MIN_PROJECTS: Final = 2_000
_WITHIN = "within 3x"
_FASTER = ">= 10x faster"


@dataclass(frozen=True, slots=True)
class ScaleRow:
    """One call: library, raw DuckDB and SQLite medians (ms) at both sizes, and its bars."""

    call: str
    kind: str
    #: ``None``: not measured (the note says why).
    small_ms: float | None
    large_ms: float | None
    small_raw_ms: float | None
    large_raw_ms: float | None
    small_sqlite_ms: float | None
    large_sqlite_ms: float | None
    #: Issue 13's bar at the large size (``None``: a documented cost, no bar).
    bar_ms: float | None
    #: The largest growth allowed from the small to the large size (``None``: no bar).
    growth_bar: float | None
    #: Against SQLite: ``"within 3x"`` (pages, lookups), ``">= 10x faster"`` (analytics).
    sqlite_bar: str | None
    rounds: int = 0
    note: str = ""

    @property
    def growth(self) -> float | None:
        """Library at the large size / library at the small size."""
        return _over(self.large_ms, self.small_ms)

    @property
    def ratio_raw(self) -> float | None:
        """Library / raw DuckDB at the large size."""
        return _over(self.large_ms, self.large_raw_ms)

    @property
    def ratio_sqlite(self) -> float | None:
        """Library / SQLite at the large size (below 1: the library is faster)."""
        return _over(self.large_ms, self.large_sqlite_ms)

    @property
    def missed(self) -> list[str]:
        """The bars this row misses (empty: all met, or not measured)."""
        missed: list[str] = []
        if self.large_ms is None or self.growth is None:
            return missed
        if self.bar_ms is not None and self.large_ms > self.bar_ms:
            missed.append(f"> {self.bar_ms:g} ms")
        if self.growth_bar is not None and self.growth > self.growth_bar:
            missed.append(f"growth > {self.growth_bar:g}x")
        ratio = self.ratio_sqlite
        if ratio is not None and self.sqlite_bar == _WITHIN and ratio > 3:
            missed.append("> 3x SQLite")
        if ratio is not None and self.sqlite_bar == _FASTER and ratio > 0.1:
            missed.append("< 10x faster than SQLite")
        return missed

    @property
    def verdict(self) -> str:
        """``met``, ``MISSED (...)``, ``documented`` (no bar) or ``not measured``."""
        if self.large_ms is None or self.small_ms is None:
            return "not measured"
        if self.bar_ms is None and self.sqlite_bar is None:
            return "documented"
        missed = self.missed
        return "met" if not missed else "MISSED (" + ", ".join(missed) + ")"

    def to_dict(self) -> dict[str, Any]:
        """The row and its derived figures, for ``--json``."""
        return asdict(self) | {
            "growth": self.growth,
            "ratio_raw": self.ratio_raw,
            "ratio_sqlite": self.ratio_sqlite,
            "verdict": self.verdict,
        }


@dataclass
class ScaleReport:
    """A run: both sizes, the files, every row, the machine and its load."""

    small_projects: int
    large_projects: int
    files: dict[str, str]
    rows: list[ScaleRow]
    seconds: float
    environment: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        """The rows as a Markdown table (what docs/performance.md shows)."""

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:,.2f}"

        def ratio(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}x"

        small, large = f"{self.small_projects:,}", f"{self.large_projects:,}"
        lines = [
            f"| call | lib {small} | lib {large} | growth | raw {large} | lib / raw "
            f"| SQLite {small} | SQLite {large} | lib / SQLite | rounds | verdict |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.call} | {ms(row.small_ms)} | {ms(row.large_ms)} | {ratio(row.growth)} "
                f"| {ms(row.large_raw_ms)} | {ratio(row.ratio_raw)} | {ms(row.small_sqlite_ms)} "
                f"| {ms(row.large_sqlite_ms)} | {ratio(row.ratio_sqlite)} | {row.rounds} "
                f"| {row.verdict} |"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``--json``)."""
        return {
            "small_projects": self.small_projects,
            "large_projects": self.large_projects,
            "files": self.files,
            "seconds": self.seconds,
            "environment": self.environment,
            "rows": [row.to_dict() for row in self.rows],
        }


def _over(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or bottom is None else top / bottom


def _check_sizes(projects: int) -> None:
    if projects < MIN_PROJECTS or projects % 10:
        raise ConfigurationError(
            f"--projects must be a multiple of 10 and at least {MIN_PROJECTS:,} (the small "
            f"file holds a tenth), got {projects:,}: try --projects 20000 for a quick run, "
            "1000000 (the default) for issue 13's scale."
        )


def plan_scale(
    projects: int, data_dir: Path, *, sources: tuple[Path, Path] | None, sqlite: bool
) -> DataPlan:
    """What a run will make before measuring (files missing from ``data_dir``), estimated.

    Raises:
        ConfigurationError: Bad sizes, an unusable ``data_dir``, or a missing source file.
    """
    _files.check_data_dir(data_dir)
    if sources is not None:
        for source in sources:
            if not source.is_file():
                raise ConfigurationError(
                    f"--source {source} does not exist: give two DuckDB files the library made "
                    "(small, then large), or leave --source out to generate them."
                )
        sizes = [0, 0]
        generate: list[int] = []
    else:
        _check_sizes(projects)
        sizes = [projects // 10, projects]
        generate = [n for n in sizes if not _files.generated_path(data_dir, n).exists()]
    copy = []
    if sqlite:
        stems = [s.stem for s in sources] if sources else [f"scale-{n}" for n in sizes]
        copy = [
            n
            for n, stem in zip(sizes, stems, strict=True)
            if not (data_dir / f"{stem}.sqlite").exists()
        ]
    return estimate(generate, copy)


async def run_scale(
    projects: int,
    data_dir: Path,
    *,
    sources: tuple[Path, Path] | None = None,
    rounds: int = 21,
    warmup: int = 3,
    sqlite: bool = True,
    answers: tuple[str, ...] = ANSWERS,
    search: bool = True,
    progress: Progress | None = None,
    step: Callable[[str], None] | None = None,
) -> ScaleReport:
    """Make (or reuse) the files, time every call on both sizes, and return the report.

    Args:
        projects: Projects of the large file (the small one holds a tenth); ignored with
            ``sources``.
        data_dir: Where generated files and SQLite copies are kept for later runs.
        sources: Two existing DuckDB files (small, large), opened read-only.
        rounds: Timed rounds of every everyday call (analytics: at most 5).
        warmup: Untimed rounds before them.
        sqlite: Also copy the data to SQLite and time the peer.
        answers: The analytics answers to time.
        search: Time the searches (on files that hold a search index; else noted).
        progress: Called while files are generated or copied.
        step: Told what is being timed.

    Raises:
        ConfigurationError: Bad sizes or rounds, an unknown answer, an unusable ``data_dir``,
            a source that is not a migrated file, or a SQLite copy of other data.
        SchemaOutdatedError: A file is at another schema revision than this library's.
    """
    if rounds < 1 or warmup < 0:
        raise ConfigurationError(f"rounds must be >= 1 and warmup >= 0, got {rounds}, {warmup}.")
    unknown = sorted(set(answers) - set(ANSWERS))
    if unknown:
        raise ConfigurationError(
            f"unknown answer {', '.join(unknown)}: choose from {', '.join(ANSWERS)}."
        )
    plan_scale(projects, data_dir, sources=sources, sqlite=sqlite)
    step = step or (lambda line: None)
    started = time.perf_counter()
    load_before = os.getloadavg()
    if sources is None:
        ducks = [
            await _files.duckdb_file(data_dir, n, progress) for n in (projects // 10, projects)
        ]
    else:
        ducks = list(sources)
        for source in ducks:
            _files.source_revision(source)  # a migrated file, or a clear error now
    lites: list[Path | None] = [None, None]
    if sqlite:
        lites = [_files.sqlite_file(duck, data_dir, progress) for duck in ducks]
    figures: list[FileFigures] = []
    for duck, lite in zip(ducks, lites, strict=True):
        figures.append(
            await measure_file(
                duck, lite, rounds=rounds, warmup=warmup, answers=answers, search=search, step=step
            )
        )
    small, large = figures
    rows = [_row(name, "everyday", small, large) for name in EVERYDAY_CALLS]
    rows += [_row(name, "analytics", small, large) for name in answers]
    rows += [_row(name, "search", small, large) for name in _search.CALLS if search]
    files = {"small": str(ducks[0]), "large": str(ducks[1])}
    if sqlite:
        files |= {"small_sqlite": str(lites[0]), "large_sqlite": str(lites[1])}
    return ScaleReport(
        small.projects,
        large.projects,
        files,
        rows,
        time.perf_counter() - started,
        _environment(load_before),
    )


def _row(name: str, kind: str, small: FileFigures, large: FileFigures) -> ScaleRow:
    if kind == "everyday":
        bar, growth, held = _everyday.BARS[name]
        sqlite_bar = _WITHIN if held else None
    elif kind == "search":
        bar, growth, sqlite_bar = _search.BARS_MS[name], None, None
    else:
        bar, growth, sqlite_bar = _analytics.BARS_MS[name], None, _FASTER
    notes = [note for note in (small.notes.get(name), large.notes.get(name)) if note]
    return ScaleRow(
        call=name,
        kind=kind,
        small_ms=small.medians.get((name, "library")),
        large_ms=large.medians.get((name, "library")),
        small_raw_ms=small.medians.get((name, "raw")),
        large_raw_ms=large.medians.get((name, "raw")),
        small_sqlite_ms=small.medians.get((name, "sqlite")),
        large_sqlite_ms=large.medians.get((name, "sqlite")),
        bar_ms=bar,
        growth_bar=growth,
        sqlite_bar=sqlite_bar if (name, "sqlite") in large.medians else None,
        rounds=large.rounds.get(name, 0),
        note="; ".join(dict.fromkeys(notes)),
    )


def _environment(load_before: tuple[float, float, float]) -> dict[str, Any]:
    import duckdb

    return {
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version(),
    }
