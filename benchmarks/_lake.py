"""A local PostgreSQL for the lake benchmarks (the library's own ``lake serve`` server)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from project_architect_db.testing.postgres import (
    LocalPostgres,
    start_local_postgres,
    stop_local_postgres,
)

__all__ = ["local_postgres", "stop_local_postgres", "summed"]


def local_postgres(folder: Path) -> LocalPostgres:
    """Start PostgreSQL with its data under ``folder`` (made enterable: as root it runs as the
    OS user ``pgserver``)."""
    folder.chmod(0o711)
    return start_local_postgres(folder / "pg")


def summed(children: list[subprocess.Popen[bytes]], seconds: float) -> dict[str, Any]:
    """The writers' JSON reports added up, with ``messages_per_s`` over ``seconds``."""
    results = [json.loads(child.communicate()[0]) for child in children]
    total: dict[str, Any] = {key: sum(r[key] for r in results) for key in results[0]}
    total["messages_per_s"] = round(total["messages"] / seconds, 2)
    return total
