"""The results of one benchmark run: per-case medians, ratios, verdicts, JSON and a PNG chart."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_architect_db.exceptions import ConfigurationError

__all__ = ["BenchmarkReport", "CaseResult", "write_chart"]


@dataclass(frozen=True)
class CaseResult:
    """One case: the library call against the same work done with raw DuckDB, in one run.

    Attributes:
        key: Short name (``get``, ``list``, ...).
        library: What the library side does.
        raw: What the raw DuckDB side does.
        library_ms: Median milliseconds per call of the library side.
        raw_ms: Median milliseconds per call of the raw side.
        target_ratio: The ratio the project promises (``None``: reported, no promise).
        target_ms: An absolute promise for the library side in milliseconds, if any.
        rounds: Timed rounds per side (the sides alternate, in a shuffled order, every round).
        calls: Calls per round.
    """

    key: str
    library: str
    raw: str
    library_ms: float
    raw_ms: float
    target_ratio: float | None
    target_ms: float | None
    rounds: int
    calls: int

    @property
    def ratio(self) -> float:
        """``library_ms / raw_ms``: 1.0 is raw DuckDB's speed."""
        return self.library_ms / self.raw_ms if self.raw_ms > 0 else float("inf")

    @property
    def met(self) -> bool | None:
        """Whether every promise of the case held in this run (``None``: no promise)."""
        checks: list[bool] = []
        if self.target_ratio is not None:
            checks.append(self.ratio <= self.target_ratio)
        if self.target_ms is not None:
            checks.append(self.library_ms < self.target_ms)
        return all(checks) if checks else None


@dataclass
class BenchmarkReport:
    """Every case of a run, and facts about the machine that ran it."""

    cases: list[CaseResult] = field(default_factory=list)
    projects: int = 0
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    environment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.environment:
            import duckdb
            import sqlalchemy

            try:
                load = [round(value, 2) for value in os.getloadavg()]
            except (AttributeError, OSError):  # pragma: no cover - not on every platform
                load = None
            self.environment = {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "duckdb": duckdb.__version__,
                "sqlalchemy": sqlalchemy.__version__,
                "load_average": load,
            }

    def to_dict(self) -> dict[str, Any]:
        """Plain data, ratios and verdicts included."""
        return {
            "started_at": self.started_at,
            "projects": self.projects,
            "environment": self.environment,
            "cases": [
                {**asdict(case), "ratio": round(case.ratio, 4), "met": case.met}
                for case in self.cases
            ],
        }

    def write_json(self, path: Path) -> Path:
        """Write :meth:`to_dict` to ``path`` (parents created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


def median_ms(samples: list[float], calls: int) -> float:
    """Median of per-round seconds, as milliseconds per call."""
    return statistics.median(samples) * 1000.0 / calls


def write_chart(report: BenchmarkReport, path: Path) -> Path:
    """Draw the ratios of ``report`` as a PNG bar chart, with each case's promised ratio.

    Raises:
        ConfigurationError: If matplotlib (the ``charts`` extra) is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ConfigurationError(
            "the PNG chart needs matplotlib: pip install 'project-architect-db[charts]' "
            "(or pass --no-chart)"
        ) from error
    cases = report.cases
    labels = [case.key for case in cases]
    ratios = [case.ratio for case in cases]
    colours = ["#2e7d32" if case.met is not False else "#c62828" for case in cases]
    figure, axes = plt.subplots(figsize=(8, 0.6 * len(cases) + 1.6), dpi=110)
    try:
        positions = list(range(len(cases)))
        axes.barh(positions, ratios, color=colours)
        for position, case in zip(positions, cases, strict=True):
            axes.text(case.ratio, position, f" {case.ratio:.2f}x", va="center", fontsize=9)
            if case.target_ratio is not None:
                axes.plot(
                    [case.target_ratio, case.target_ratio],
                    [position - 0.4, position + 0.4],
                    color="black",
                    linewidth=2,
                )
        axes.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel("time relative to raw DuckDB (1.0 = raw; black bar = promised ratio)")
        axes.set_title(f"project-architect-db / raw DuckDB ({report.projects:,} projects)")
        axes.set_xlim(0, max([*ratios, 1.0]) * 1.25)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path
