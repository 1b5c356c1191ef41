"""Another process holding a DuckDB file open (DuckDB allows one writer process per file)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def hold_open(path: str | Path) -> subprocess.Popen[str]:
    """Start a process that opens ``path`` and waits; write a line to its stdin to end it."""
    script = textwrap.dedent(
        f"""
        import duckdb, sys
        connection = duckdb.connect({str(path)!r})
        print("ready", flush=True)
        sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "ready"
    return holder
