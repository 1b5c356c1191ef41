"""Draw the ratios of benchmarks/results/analytics.json as docs/img/analytics-ratios.png.

Run after the analytics benchmark: ``python benchmarks/chart.py``. Needs matplotlib (the
``charts`` extra, part of ``dev``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "analytics.json"
OUT = ROOT / "docs" / "img" / "analytics-ratios.png"
TARGET = 1.2


def main() -> int:
    data = json.loads(RESULTS.read_text())
    answers = sorted(data["answers"].items(), key=lambda item: item[1]["ratio"])
    names = [name for name, _ in answers]
    ratios = [values["ratio"] for _, values in answers]
    sqlite = [values.get("sqlite", 0) / values["library"] for _, values in answers]
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11, 0.42 * len(names) + 1.8), dpi=110, sharey=True
    )
    colours = ["#2e7d32" if ratio <= TARGET else "#c62828" for ratio in ratios]
    left.barh(names, ratios, color=colours)
    left.axvline(TARGET, color="black", linewidth=1.5, label=f"promise <= {TARGET}x")
    left.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    for y, ratio in enumerate(ratios):
        left.text(ratio, y, f" {ratio:.2f}", va="center", fontsize=8)
    left.set_xlabel("library / hand-written SQL on raw DuckDB")
    left.legend(loc="lower right", fontsize=8)
    shown = [(y, value) for y, value in enumerate(sqlite) if value > 0]
    right.barh([names[y] for y, _ in shown], [value for _, value in shown], color="#1565c0")
    right.axvline(10, color="black", linewidth=1.5, label="promise >= 10x")
    for y, value in shown:
        right.text(value, y, f" {value:.1f}x", va="center", fontsize=8)
    right.set_xlabel("SQLite (SQLAlchemy) / library: how many times faster")
    right.legend(loc="lower right", fontsize=8)
    figure.suptitle(
        f"Analytics answers, {data['projects']:,} projects "
        f"({200 * data['projects']:,} messages), medians of {data['rounds']} rounds"
    )
    figure.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(OUT)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
