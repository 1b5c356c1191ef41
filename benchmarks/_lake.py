"""A local PostgreSQL for the lake benchmarks (the library's own ``lake serve`` server)."""

from __future__ import annotations

from pathlib import Path

from project_architect_db.testing.postgres import (
    LocalPostgres,
    start_local_postgres,
    stop_local_postgres,
)

__all__ = ["local_postgres", "stop_local_postgres"]


def local_postgres(folder: Path) -> LocalPostgres:
    """Start PostgreSQL with its data under ``folder`` (made enterable: as root it runs as the
    OS user ``pgserver``)."""
    folder.chmod(0o711)
    return start_local_postgres(folder / "pg")
