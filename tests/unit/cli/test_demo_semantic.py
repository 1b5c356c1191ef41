"""The demo's semantic step in process (the subprocess runs are in tests/e2e/cli)."""

from __future__ import annotations

import io

from project_architect_db.cli._demo_semantic import show_semantic_search
from project_architect_db.cli.demo import _table


async def test_the_semantic_step_prints_bm25_missing_and_hybrid_finding_the_answer() -> None:
    from rich.console import Console

    buffer = io.StringIO()
    out = Console(file=buffer, width=250)
    await show_semantic_search(out, _table)
    text = buffer.getvalue()
    assert "BM25 (words): the answer is not among the hits" in text
    assert "hybrid (words + meaning): the answer is #" in text
    assert "Deployment to production" in text  # the answer, in a column 48 wide
