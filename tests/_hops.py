"""Counting worker hops: every call handed to a DuckDB connection's thread."""

from __future__ import annotations

import pytest

from project_architect_db.core import _worker


def count_hops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, ``counted[0]`` is the number of hops made (reset it to measure a call)."""
    counted = [0]
    submit = _worker.ConnectionWorker.submit

    def counting(self: _worker.ConnectionWorker, fn: object) -> object:
        counted[0] += 1
        return submit(self, fn)  # type: ignore[arg-type]

    monkeypatch.setattr(_worker.ConnectionWorker, "submit", counting)
    return counted
