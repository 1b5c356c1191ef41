"""Fixtures of the reliability suite, and the figures it reports at the end of a run.

Tests add their counts to the session's :class:`FigureBook` (``figures`` fixture). Under xdist
each worker sends its book to the controller, which merges them and prints one summary
("reliability figures") after the run; ``PADB_RELIABILITY_REPORT=path.json`` also writes it to a
file. Keys starting with ``max_`` are merged by maximum, every other key is summed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.reliability._figures import FigureBook

_BOOK = pytest.StashKey[FigureBook]()
_WORKER_KEY = "padb_reliability_figures"


def _book(config: pytest.Config) -> FigureBook:
    book = config.stash.get(_BOOK, None)
    if book is None:
        book = config.stash[_BOOK] = FigureBook()
    return book


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> FigureBook:
    """Where tests record what they tried and found."""
    return _book(pytestconfig)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``reliability`` (``pytest -m reliability`` from the root)."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.reliability)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput: Any = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = json.dumps(_book(session.config).sections)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if data:
        _book(node.config).merge(json.loads(data))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    book = _book(config)
    if not book.sections:
        return
    terminalreporter.section("reliability figures")
    for section, values in sorted(book.sections.items()):
        shown = ", ".join(
            f"{key}={round(value, 3) if isinstance(value, float) else value}"
            for key, value in values.items()
        )
        terminalreporter.write_line(f"{section}: {shown}")
    target = os.environ.get("PADB_RELIABILITY_REPORT")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(book.sections, handle, indent=2, sort_keys=True)
