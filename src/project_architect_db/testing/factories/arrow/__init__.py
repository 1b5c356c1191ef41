"""Moved to :mod:`project_architect_db.datagen`; these names stay importable from here."""

from __future__ import annotations

from project_architect_db.datagen import (
    BENCHMARK_SIZES,
    TABLE_NAMES,
    Dataset,
    DatasetSizes,
    arrow_schema,
    generate_dataset,
    load_dataset,
)

__all__ = [
    "BENCHMARK_SIZES",
    "TABLE_NAMES",
    "Dataset",
    "DatasetSizes",
    "arrow_schema",
    "generate_dataset",
    "load_dataset",
]
