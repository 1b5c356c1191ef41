"""The measurements of one run, the ratios computed from them, and their outputs.

The tests store every measurement in :data:`RESULTS`; after the run, ``conftest.py`` prints the
ratio table (from this run's medians, never from constants) and, when the whole suite ran,
writes everything to ``benchmarks/results/core.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy

from _bench import ACQUISITION_LABELS, CALLS_PER_ROUND, LAG_LABELS, POINT_CONTESTANTS, ROWS

RESULTS_FILE = Path(__file__).parent / "results" / "core.json"

TARGET_RATIO_RAW = 1.5
TARGET_ACQUIRE_MS = 0.1
TARGET_LAG_MS = 5.0

#: section -> key -> measurement, filled by the tests of this run.
RESULTS: dict[str, dict[str, dict[str, Any]]] = {
    "point_select": {},
    "point_select_interleaved": {},
    "acquisition": {},
    "loop_lag": {},
}
#: Facts about the run (load average, build time, the calibrated long query).
RUN_INFO: dict[str, Any] = {}


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def per_call_stats(benchmark: Any, calls: int) -> dict[str, Any] | None:
    """Per-call figures (ms) of a pedantic benchmark whose rounds each made ``calls`` calls."""
    stats = getattr(benchmark.stats, "stats", None)
    if stats is None:  # --benchmark-disable: nothing was timed
        return None
    scale = 1000.0 / calls
    return {
        "median_ms": stats.median * scale,
        "min_ms": stats.min * scale,
        "iqr_ms": stats.iqr * scale,
        "max_ms": stats.max * scale,
        "rounds": stats.rounds,
        "calls_per_round": calls,
    }


def record(section: str, key: str, label: str, values: dict[str, Any] | None) -> None:
    if values is not None:
        RESULTS[section][key] = {"label": label, **values}


# -- ratios and targets --------------------------------------------------------------------
def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _median(section: str, key: str) -> float | None:
    entry = RESULTS[section].get(key)
    return None if entry is None else entry["median_ms"]


def _target(value: float | None, ok: Callable[[float], bool]) -> dict[str, Any]:
    return {"value": value, "met": None if value is None else ok(value)}


def build_report() -> dict[str, Any]:
    """Ratios and target verdicts computed from this run's medians."""
    ratios: dict[str, dict[str, dict[str, float | None]]] = {}
    for section in ("point_select", "point_select_interleaved"):
        raw, raw_tx = _median(section, "raw"), _median(section, "raw_tx")
        orm = _median(section, "sync_orm")
        ratios[section] = {
            key: {
                "vs_raw": _ratio(entry["median_ms"], raw),
                "vs_raw_tx": _ratio(entry["median_ms"], raw_tx),
                "vs_sync_orm": _ratio(entry["median_ms"], orm),
            }
            for key, entry in RESULTS[section].items()
        }
    raw_cursor = _median("acquisition", "raw_cursor")
    ratios["acquisition"] = {
        key: {"vs_raw": _ratio(entry["median_ms"], raw_cursor)}
        for key, entry in RESULTS["acquisition"].items()
    }

    targets: dict[str, Any] = {}
    for section in ("point_select", "point_select_interleaved"):
        for key in ("core_tx", "core_autocommit"):
            entry = ratios[section].get(key)
            if entry is None:
                continue
            targets[f"{section}.{key} / raw <= {TARGET_RATIO_RAW}"] = _target(
                entry["vs_raw"], lambda v: v <= TARGET_RATIO_RAW
            )
            if key == "core_tx":  # like for like: both inside one transaction
                targets[f"{section}.{key} / raw_tx <= {TARGET_RATIO_RAW}"] = _target(
                    entry["vs_raw_tx"], lambda v: v <= TARGET_RATIO_RAW
                )
            targets[f"{section}.{key} / sync_orm < 1"] = _target(
                entry["vs_sync_orm"], lambda v: v < 1.0
            )
    for key in ("session_lazy", "session_connection", "engine_connect"):
        targets[f"acquisition.{key} <= {TARGET_ACQUIRE_MS} ms"] = _target(
            _median("acquisition", key), lambda v: v <= TARGET_ACQUIRE_MS
        )
    lag = RESULTS["loop_lag"].get("driver")
    if lag is not None:
        for stat in ("max", "p99"):
            targets[f"loop_lag.driver {stat} <= {TARGET_LAG_MS} ms"] = _target(
                lag[f"{stat}_lag_ms"], lambda v: v <= TARGET_LAG_MS
            )
    return {"ratios": ratios, "targets": targets}


def complete() -> bool:
    """Whether every measurement of the suite is in (only then is core.json rewritten)."""
    return (
        set(RESULTS["point_select"]) == {c.key for c in POINT_CONTESTANTS}
        and set(RESULTS["point_select_interleaved"]) == {c.key for c in POINT_CONTESTANTS}
        and set(RESULTS["acquisition"]) == set(ACQUISITION_LABELS)
        and set(RESULTS["loop_lag"]) == set(LAG_LABELS)
    )


# -- output --------------------------------------------------------------------------------
def _ms(entry: dict[str, Any] | None) -> str:
    return "-" if entry is None else f"{entry['median_ms']:.3f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_report(report: dict[str, Any]) -> list[str]:
    lines = [
        f"per-call medians in ms; each round times {CALLS_PER_ROUND} calls; {ROWS:,}-row table; "
        f"{os.cpu_count()} CPUs; load average at start {RUN_INFO.get('load_average_start')}",
    ]
    ps, inter = RESULTS["point_select"], RESULTS["point_select_interleaved"]
    if ps or inter:
        ratios, iratios = (
            report["ratios"]["point_select"],
            report["ratios"]["point_select_interleaved"],
        )
        lines += [
            "",
            "point select by primary key   sequential tests             | interleaved rounds",
            "                              median   /raw /raw_tx   /ORM "
            "| median   /raw /raw_tx   /ORM",
        ]
        for contestant in POINT_CONTESTANTS:
            key = contestant.key
            cells = []
            for entries, table in ((ps, ratios), (inter, iratios)):
                ratio = table.get(key, {})
                cells.append(
                    f"{_ms(entries.get(key)):>6} {_x(ratio.get('vs_raw')):>6} "
                    f"{_x(ratio.get('vs_raw_tx')):>6} {_x(ratio.get('vs_sync_orm')):>6}"
                )
            lines.append(f"  {key:<28}{cells[0]} | {cells[1]}")
    if RESULTS["acquisition"]:
        lines += ["", "acquiring a session             median  /raw cursor"]
        for key in ACQUISITION_LABELS:
            ratio = report["ratios"]["acquisition"].get(key, {}).get("vs_raw")
            lines.append(f"  {key:<28}  {_ms(RESULTS['acquisition'].get(key)):>6}  {_x(ratio):>9}")
    if RESULTS["loop_lag"]:
        lines += ["", "event-loop lag (10 ms beat)     max ms   p99 ms  ticks  work s"]
        for key in LAG_LABELS:
            lag = RESULTS["loop_lag"].get(key)
            if lag is not None:
                lines.append(
                    f"  {key:<28}  {lag['max_lag_ms']:>6.2f}  {lag['p99_lag_ms']:>7.2f}  "
                    f"{lag['ticks']:>5}  {lag['work_seconds_median']:>6.2f}"
                )
    lines += ["", "targets"]
    for name, target in report["targets"].items():
        value, met = target["value"], target["met"]
        verdict = "n/a" if met is None else ("met" if met else "MISSED")
        shown = "-" if value is None else f"{value:.3f}"
        lines.append(f"  {name:<56} {shown:>8}  {verdict}")
    return lines


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def write_json(report: dict[str, Any], path: Path = RESULTS_FILE) -> Path:
    payload = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "duckdb": duckdb.__version__,
            "sqlalchemy": sqlalchemy.__version__,
        },
        "run": RUN_INFO,
        "rows": ROWS,
        "calls_per_round": CALLS_PER_ROUND,
        "medians": RESULTS,
        **report,
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(_rounded(payload), indent=2) + "\n")
    return path
