"""``db.search``: BM25 full-text search over documents and messages, always fresh.

Freshness (see docs/architecture.md, "Full-text search"): the library's own BM25 index
(``_sql.py``) is a snapshot up to a high-water mark. Each search scores the indexed rows through
the index's postings (only the query terms' postings are read), checks the best ones against the
live table on ``(id, version)`` (deleted and updated rows drop out), and scores the rows changed
since the index saw them (only rows stamped inside the change window are compared) with the same
tokenizer, stemmer, stopwords and BM25 formula, in the same transaction. When that delta grows
past ``rebuild_threshold`` rows, it is merged into the index in the background (its own
transaction, on the worker), at a cost that follows the change, not the table.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import (
    InvalidQueryError,
    ReadOnlyError,
    ValidationError,
)
from project_architect_db.search import _index
from project_architect_db.search._index import Outcome
from project_architect_db.search._keeper import IndexKeeper
from project_architect_db.search._memory import BuildMemory
from project_architect_db.search._snippet import candidate_words, make_snippet
from project_architect_db.search._sql import IndexSpec
from project_architect_db.search.context import Context, ContextBuilder
from project_architect_db.search.hybrid import HybridHit, HybridSearch
from project_architect_db.search.models import DocumentHit, MessageHit
from project_architect_db.search.semantic import SemanticSearch, SimilarHit
from project_architect_db.search.semantic._query import as_uuid as _uuid
from project_architect_db.search.semantic.service import Scope

__all__ = ["MAX_LIMIT", "MAX_QUERY_CHARS", "SearchService"]

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000
#: Merges tried when another process changed a lake's shared index first (DuckLake conflict).
MAX_LIMIT = 1000

DOCUMENTS = IndexSpec(
    table="documents",
    fields=("title", "content"),
    version="version",
    stamp="updated_at",
    columns=("id", "project_id", "path", "title", "doc_type", "version"),
    snippet_fields=("content", "title"),
    filters=("project_id", "doc_type"),
)
MESSAGES = IndexSpec(
    table="messages",
    fields=("content",),
    version=None,  # messages are append-only: an id never changes its text
    stamp="created_at",
    columns=("id", "project_id", "conversation_id", "sequence", "role", "created_at"),
    snippet_fields=("content",),
    filters=("project_id", "conversation_id", "role"),
)


class Runner(Protocol):
    """What search needs of the database's executor (``core/executor.Executor``)."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Open a unit of work (joins the caller's in the same task); errors translated."""
        ...  # pragma: no cover - a protocol


class SearchService:
    """Full-text search over ``documents`` and ``messages`` (``db.search``).

    Args:
        executor: Where searches run: anything with `transaction()` (the database's
            executor, which translates errors; a `Database` works too).
        read_only: The file is read-only: the index is never built or rebuilt here.
        rebuild_threshold: Merge the changed rows into an index in the background once this
            many rows changed since it saw them (searches stay correct meanwhile; each changed
            row costs a little more per search).
        build_batch_rows: How many rows the build tokenizes at a time (bounds its memory).
        build_memory_limit: DuckDB's ``memory_limit`` while an index is built (only ever
            lowered; ``None``: unchanged). The instance's setting is shared: queries running
            meanwhile spill sooner.
        memory_limit: The ``memory_limit`` the database was opened with, restored after a
            build (``None``: DuckDB's default).
        markers: What wraps a match in a snippet.
        snippet_chars: About how long a snippet is.
        semantic: Semantic search (``similar`` / ``embedded``); default: off.
    """

    def __init__(
        self,
        executor: Runner,
        *,
        read_only: bool = False,
        rebuild_threshold: int = 500,
        build_batch_rows: int = 250_000,
        build_memory_limit: str | None = "2GB",
        memory_limit: str | None = None,
        markers: tuple[str, str] = ("**", "**"),
        snippet_chars: int = 160,
        semantic: SemanticSearch | None = None,
    ) -> None:
        self._executor = executor
        self._read_only = read_only
        self.markers = markers
        self.snippet_chars = snippet_chars
        #: The indexes' build, checks and background merges (``_keeper.py``).
        self._keeper = IndexKeeper(
            executor,
            (DOCUMENTS.table, MESSAGES.table),
            read_only=read_only,
            rebuild_threshold=rebuild_threshold,
            build_batch_rows=build_batch_rows,
            build_memory=BuildMemory(build_memory_limit, memory_limit),
        )
        #: Vectors beside BM25 (``search/semantic/``).
        self.semantic = semantic or SemanticSearch(executor, "semantic search is off here")
        self._hybrid = HybridSearch(self)
        self._context = ContextBuilder(self)

    @property
    def rebuild_threshold(self) -> int:
        """How many changed rows start a background merge into an index."""
        return self._keeper.rebuild_threshold

    @rebuild_threshold.setter
    def rebuild_threshold(self, rows: int) -> None:
        self._keeper.rebuild_threshold = rows

    @property
    def build_batch_rows(self) -> int:
        """How many rows an index build tokenizes at a time."""
        return self._keeper.build_batch_rows

    @build_batch_rows.setter
    def build_batch_rows(self, rows: int) -> None:
        self._keeper.build_batch_rows = rows

    @property
    def executor(self) -> Runner:
        """Where searches run (the database's executor)."""
        return self._executor

    # -- public API --------------------------------------------------------------------------
    async def documents(
        self,
        query: str,
        *,
        project_id: uuid.UUID | str | None = None,
        doc_type: str | None = None,
        limit: int = 20,
    ) -> list[DocumentHit]:
        """Documents matching ``query`` (title and content), best BM25 score first.

        An empty, whitespace-only or punctuation-only query returns ``[]``.

        Raises:
            InvalidQueryError: ``query`` is longer than 1000 characters, or ``limit`` is not
                within 1..1000.
        """
        filters = {"project_id": _uuid(project_id), "doc_type": _text(doc_type, "doc_type")}
        outcome = await self._search(DOCUMENTS, query, filters, limit)
        if outcome is None:
            return []
        return [
            DocumentHit(
                **{k: row[k] for k in DOCUMENTS.columns if k != "doc_type"},
                doc_type=str(row["doc_type"]),
                score=row["score"],
                snippet=self._snippet(row, ("content", "title"), outcome.matched_words),
            )
            for row in outcome.rows
        ]

    async def messages(
        self,
        query: str,
        *,
        project_id: uuid.UUID | str | None = None,
        conversation_id: uuid.UUID | str | None = None,
        role: str | None = None,
        limit: int = 20,
    ) -> list[MessageHit]:
        """Messages matching ``query``, best BM25 score first.

        An empty, whitespace-only or punctuation-only query returns ``[]``.

        Raises:
            InvalidQueryError: ``query`` is longer than 1000 characters, or ``limit`` is not
                within 1..1000.
        """
        filters = {
            "project_id": _uuid(project_id),
            "conversation_id": _uuid(conversation_id),
            "role": _text(role, "role"),
        }
        outcome = await self._search(MESSAGES, query, filters, limit)
        if outcome is None:
            return []
        return [
            MessageHit(
                **{k: row[k] for k in MESSAGES.columns if k not in ("role", "created_at")},
                # stored as a naive UTC TIMESTAMP (fast bucketing); handed out aware, as in *Read
                created_at=row["created_at"].replace(tzinfo=UTC),
                role=str(row["role"]),
                score=row["score"],
                snippet=self._snippet(row, ("content",), outcome.matched_words),
            )
            for row in outcome.rows
        ]

    async def similar(
        self,
        query: str | Sequence[float],
        k: int = 10,
        *,
        scope: Scope = "all",
        project_id: uuid.UUID | str | None = None,
        conversation_id: uuid.UUID | str | None = None,
        doc_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[SimilarHit]:
        """Chunks closest in meaning to ``query``: see :meth:`SemanticSearch.similar`."""
        return await self.semantic.similar(
            query,
            k,
            scope=scope,
            project_id=project_id,
            conversation_id=conversation_id,
            doc_type=doc_type,
            since=since,
            until=until,
        )

    async def embedded(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - contract
        """Wait until all committed so far is embedded: see :meth:`SemanticSearch.embedded`."""
        await self.semantic.embedded(timeout)

    async def hybrid(
        self,
        query: str,
        k: int = 10,
        *,
        scope: Scope = "all",
        project_id: uuid.UUID | str | None = None,
        conversation_id: uuid.UUID | str | None = None,
        doc_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HybridHit]:
        """The ``k`` rows best for ``query`` by BM25 and vectors fused (``search/hybrid.py``).

        Filters as in :meth:`similar`. A row not embedded yet is still found through BM25.

        Raises:
            EmbedderUnavailableError: No embedder is installed or configured.
            InvalidQueryError: Empty or too long ``query``, ``k`` outside 1..100, bad ``scope``.
        """
        filters = {
            "project_id": _uuid(project_id),
            "conversation_id": _uuid(conversation_id),
            "doc_type": _text(doc_type, "doc_type"),
            "since": since,
            "until": until,
        }
        return await self._hybrid.search(query, k, scope=scope, filters=filters)

    async def context(
        self,
        question: str,
        *,
        project_id: uuid.UUID | str,
        conversation_id: uuid.UUID | str | None = None,
        token_budget: int = 2000,
    ) -> Context:
        """The best passages of a project for ``question`` within ``token_budget`` tokens.

        Documents and messages found by :meth:`hybrid`, plus the conversation's last messages
        when ``conversation_id`` is given, with citations; ``Context.to_prompt()`` renders them.
        Tokens are estimated conservatively (``search/context.py``).

        Raises:
            NotFoundError: No such project or conversation.
            ValidationError: ``token_budget`` below 64, or the conversation is another project's.
            EmbedderUnavailableError: No embedder is installed or configured.
        """
        project = _uuid(project_id)
        if project is None:
            raise ValidationError("context() needs a project_id.")
        return await self._context.build(
            question,
            project_id=project,
            conversation_id=_uuid(conversation_id),
            token_budget=token_budget,
        )

    async def reset_embeddings(self) -> None:
        """Drop the stored vectors, to change embedders (:meth:`SemanticSearch.reset_embeddings`).

        Raises:
            ReadOnlyError: The database is read-only.
        """
        await self.semantic.reset_embeddings()

    async def rebuild(self, table: str | None = None) -> None:
        """Rebuild the index of ``"documents"``, ``"messages"`` or both now (e.g. after a load).

        Raises:
            ReadOnlyError: The database is read-only.
        """
        for spec in self._specs(table, "built"):
            await self._keeper.build(spec)

    async def merge(self, table: str | None = None) -> None:
        """Fold the rows changed since the index saw them into it now.

        ``table`` is ``"documents"``, ``"messages"`` or ``None`` (both). Searches do this in
        the background once ``rebuild_threshold`` rows changed.

        The cost follows the changed rows, not the table. A table with no index yet is built.

        Raises:
            ReadOnlyError: The database is read-only.
            InvalidQueryError: ``table`` is not a searchable table.
        """
        for spec in self._specs(table, "merged into"):
            keeper = self._keeper
            if spec.table in keeper.indexed or await keeper.has_index(spec):
                await keeper.merge(spec)
            else:
                await keeper.build(spec)

    def _specs(self, table: str | None, what: str) -> list[IndexSpec]:
        if self._read_only:
            raise ReadOnlyError(f"The database is read-only: its search index cannot be {what}.")
        specs = [s for s in (DOCUMENTS, MESSAGES) if table in (None, s.table)]
        if not specs:
            raise InvalidQueryError(
                f"No search index named {table!r}: use 'documents', 'messages' or None."
            )
        return specs

    async def close(self) -> None:
        """Cancel background merges and embedding (called by ``Database.close``)."""
        await self.semantic.close()
        await self._keeper.close()

    # -- searching ---------------------------------------------------------------------------
    async def _bm25_scores(
        self, table: str, query: str, filters: Mapping[str, Any], limit: int
    ) -> list[tuple[uuid.UUID, float]]:
        """``(id, BM25 score)`` of the best ``limit`` rows of ``table``, no row read (hybrid)."""
        spec = DOCUMENTS if table == DOCUMENTS.table else MESSAGES
        outcome = await self._search(spec, query, filters, limit, fetch=False)
        return [] if outcome is None else [(row["id"], row["score"]) for row in outcome.rows]

    async def _search(
        self,
        spec: IndexSpec,
        query: str,
        filters: Mapping[str, Any],
        limit: int,
        *,
        fetch: bool = True,
    ) -> Outcome | None:
        if not isinstance(query, str):
            raise InvalidQueryError("A search query must be a string.")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidQueryError(
                f"A search query may have at most {MAX_QUERY_CHARS} characters (got {len(query)})."
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidQueryError(f"limit must be an integer from 1 to {MAX_LIMIT}.")
        if not query.strip():
            return None
        await self._keeper.ensure_index(spec)
        active = {k: v for k, v in filters.items() if v is not None}

        def run(con: Any) -> Outcome | None:
            deltas = self._keeper.deltas[spec.table]
            return _index.run(con, spec, query, active, limit, deltas, fetch=fetch)

        async with self._executor.transaction() as tx:
            outcome = await tx.run_native(run)
        if outcome is None:
            return None
        self._keeper.maybe_merge(spec, outcome.delta)
        return outcome

    def _snippet(
        self, row: Mapping[str, Any], fields: tuple[str, ...], matched: frozenset[str]
    ) -> str:
        def is_match(word: str) -> bool:
            return word in matched

        texts = [str(row[f] or "") for f in fields]
        for text in texts:
            if candidate_words([text], matched, limit=1, exact=True):
                return make_snippet(text, is_match, width=self.snippet_chars, markers=self.markers)
        return make_snippet(texts[0], is_match, width=self.snippet_chars, markers=self.markers)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidQueryError(f"{name} must be a string.")
    return str(value.value) if hasattr(value, "value") else value
