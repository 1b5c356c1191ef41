"""``db.search.similar`` and ``db.search.embedded``: semantic search over stored vectors.

See docs/architecture.md, "Semantic search: vectors". Semantic search starts in a database
the first time ``similar()`` or ``embedded()`` is called there with an embedder: the model and
dimension are recorded, and from then on every commit that touches documents or messages wakes
the background queue (``_queue.py``), in this process and after every reopen.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from project_architect_db.exceptions import (
    ConflictError,
    EmbeddingTimeoutError,
    InvalidVectorError,
    ReadOnlyError,
)
from project_architect_db.search.semantic import _matrix
from project_architect_db.search.semantic._embedder import Embedder, embed, unavailable
from project_architect_db.search.semantic._lake import (
    fresh_block,
    model_check,
    newest_snapshot,
)
from project_architect_db.search.semantic._matrix import Matrix
from project_architect_db.search.semantic._query import (
    MAX_K,
    MAX_QUERY_CHARS,
    allowed,
    check_k,
    check_text,
    check_vector,
    filters_of,
    sources_of,
)
from project_architect_db.search.semantic._queue import drain_pass, run_alone
from project_architect_db.search.semantic._record import ModelRecord
from project_architect_db.search.semantic._similar import search
from project_architect_db.search.semantic._store import DOCUMENTS, MESSAGES, Source
from project_architect_db.search.semantic.models import SimilarHit

__all__ = ["MAX_K", "MAX_QUERY_CHARS", "SemanticSearch"]

logger = logging.getLogger(__name__)

Scope = Literal["all", "documents", "messages"]


class SemanticSearch(ModelRecord):
    """Vectors of documents and messages, kept fresh in the background (``db.search``).

    Args:
        executor: Where statements run (anything with ``transaction()``).
        embedder: The embedder, or a sentence saying why there is none.
        read_only: The database is read-only: nothing is embedded here.
        lake: The database is a DuckLake lake: drain passes hold the queue's catalog lock
            (:meth:`attach` gives the guard) and searches bring the kept matrices up to their
            snapshot (``_lake.py``).
        batch_rows: Rows embedded per batch (one embedder call, one transaction).
        window: How far before the high-water mark the queue looks for rows that committed
            out of stamp order.
    """

    def __init__(
        self,
        executor: Any,
        embedder: Embedder | str,
        *,
        read_only: bool = False,
        lake: bool = False,
        batch_rows: int = 64,
        window: timedelta = timedelta(minutes=10),
        snippet_chars: int = 200,
    ) -> None:
        self._executor = executor
        self._embedder: Embedder | None = None if isinstance(embedder, str) else embedder
        self._reason = embedder if isinstance(embedder, str) else ""
        self._read_only = read_only
        self._lake = lake
        self.batch_rows = batch_rows
        self.window = window
        self.snippet_chars = snippet_chars
        #: ``(model, dimension)`` recorded in the database, once read (``None``: not yet).
        self._recorded: tuple[str, int] | None = None
        self._lock = asyncio.Lock()  # one drain pass at a time
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._closed = False
        #: Semantic search was never used in this database: commits do not wake the queue
        #: (checked once, after the first commit; the first similar()/embedded() clears it).
        self._unused = False
        #: Keep each table's vectors in memory (``_matrix.py``); False: scan them in SQL.
        self.memory_vectors = True
        self._woken = False
        self._matrices = {s.table: Matrix(s) for s in (DOCUMENTS, MESSAGES)}
        #: On a writable lake, the database's ``LakeGuard`` (the queue's catalog lock).
        self._guard: Any = None
        #: On a lake, seconds between two looks for other processes' commits to embed.
        self.poll_interval = 2.0
        #: On a lake, seconds a pass waits for another process's pass before retrying.
        self.lock_wait = 30.0
        self._wakeup: asyncio.Event | None = None
        self._seen: int | None = None  # the lake snapshot the last catch-up started from

    def attach(self, guard: Any) -> None:
        """On a writable lake: the guard whose catalog lock serialises the processes' passes."""
        self._guard = guard

    @property
    def embedder(self) -> Embedder | None:
        """The embedder in use (``None``: semantic search is off or not installed)."""
        return self._embedder

    # -- public API --------------------------------------------------------------------------
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
        """The ``k`` chunks closest in meaning to ``query``, best cosine similarity first.

        Args:
            query: A question (embedded with the embedder) or a vector of the database's
                dimension.
            k: How many hits (1..1000).
            scope: ``"all"``, ``"documents"`` or ``"messages"``. ``conversation_id`` keeps
                messages only, ``doc_type`` documents only.
            project_id: Only this project's rows.
            conversation_id: Only this conversation's messages.
            doc_type: Only documents of this type.
            since: Only rows stamped at or after this instant (a message's ``created_at``,
                a document version's ``updated_at``; naive means UTC).
            until: Only rows stamped before this instant.

        Rows committed but not embedded yet are not found: ``await db.search.embedded()``
        waits for them.

        Raises:
            InvalidQueryError: An empty or too long query, ``k`` or ``scope`` out of range.
            InvalidVectorError: A vector of the wrong length or with non-finite values.
            EmbedderUnavailableError: A text query and no embedder.
            EmbeddingMismatchError: The embedder is not the one the database's vectors use.
            ReadOnlyError: Read-only, and no vector was ever stored in this database.

        On a lake the hits are those of every process's stored vectors as of this search's
        snapshot (docs/architecture.md, "Semantic search on a lake").

        Examples:
            >>> import project_architect_db as padb
            >>> class Letters:
            ...     model, dimension = "letters", 2
            ...     def embed(self, texts, *, kind):
            ...         return [[t.count("a") + 1.0, t.count("b") + 1.0] for t in texts]
            >>> async def main() -> list[str]:
            ...     async with padb.Database.open(":memory:", embedder=Letters()) as db:
            ...         p = await db.projects.create({"name": "Atlas"})
            ...         await db.documents.create(
            ...             {"project_id": p.id, "path": "a.md", "title": "A", "content": "aaaa"})
            ...         await db.search.embedded()
            ...         return [h.snippet for h in await db.search.similar("aaa", k=1)]
            >>> padb.run(main())
            ['aaaa']
        """
        check_k(k)
        sources = sources_of(scope, conversation_id, doc_type)
        filters = filters_of(project_id, conversation_id, doc_type, since, until)
        return await self.nearest(query, k, sources, filters)

    async def nearest(
        self,
        query: str | Sequence[float],
        k: int,
        sources: Sequence[Source],
        filters: dict[str, Any],
        *,
        read: bool = True,
    ) -> list[SimilarHit]:
        """:meth:`similar` once its arguments are checked.

        ``read`` False: empty snippets, the candidates checked by id only (hybrid search reads
        the rows it keeps).
        """
        vector = await self._query_vector(query)
        if vector is None:  # nothing was ever embedded here
            return []
        if not self._woken:  # the first search drains what waits (a backlog, a crash's)
            self._woken = True
            self.wake()
        hits: list[SimilarHit] = []
        async with self._executor.transaction() as tx:
            for source in sources:
                active = {n: v for n, v in filters.items() if n in allowed(source)}
                hits += await tx.run_native(
                    lambda con, s=source, f=active: self._run(con, s, vector, f, k, read)
                )
        hits.sort(key=lambda h: (-h.score, h.kind, h.id, h.chunk))
        return hits[:k]

    async def embedded(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - the contract's name
        """Wait until every row committed before this call is embedded (tests, scripts).

        The first call in a database starts semantic search there (records the model; the
        rows written before are embedded now, in batches). On a lake: every row committed
        to the lake before the call, by any process, stamped up to this machine's clock at
        the call (a writer's clock running ahead shifts its rows by that much).

        Raises:
            EmbeddingTimeoutError: ``timeout`` seconds passed first (what was embedded stays).
            EmbedderUnavailableError: No embedder.
            EmbeddingMismatchError: The embedder is not the one the database's vectors use.
            EmbeddingError: The embedder failed (the rows stay queued).
            ReadOnlyError: The database is read-only (nothing is embedded here).
            DatabaseError: A lake's catalog cannot be reached.
        """
        if self._read_only:
            raise ReadOnlyError(
                "The database is read-only: nothing is embedded here. Open it writable to "
                "embed what is waiting."
            )
        embedder = self.require_embedder()
        await self._check_model(embedder)
        cutoff = datetime.now(UTC).replace(tzinfo=None)
        try:
            async with asyncio.timeout(timeout):
                await self._drain(embedder, cutoff)
        except TimeoutError:
            raise EmbeddingTimeoutError(
                f"Not everything was embedded within {timeout} s; call embedded() again "
                "(what was embedded stays)."
            ) from None

    async def reset_embeddings(self) -> None:
        """Drop every stored vector and the recorded model (to change embedders).

        Raises:
            ReadOnlyError: The database is read-only.
            DatabaseError: A lake's catalog cannot be reached.
        """
        if self._read_only:
            raise ReadOnlyError("The database is read-only: its vectors cannot be dropped.")

        def reset(con: Any) -> None:
            for source in (DOCUMENTS, MESSAGES):
                con.execute(f"DELETE FROM {source.chunks}")
            con.execute("DELETE FROM semantic_state")

        async with self._lock:
            await run_alone(self._held(lambda: self._in_transaction(reset)))
            self._recorded = None
            for matrix in self._matrices.values():
                matrix.clear()

    def wake(self, aggregate: str | None = None) -> None:
        """Start the background queue if this database uses semantic search (after commits)."""
        if aggregate not in (None, "documents", "messages"):
            return
        if self._embedder is None or self._read_only or self._closed or self._unused:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            if self._wakeup is not None:
                self._wakeup.set()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a commit outside a loop (never in the library): next one wakes
            return
        self._task = loop.create_task(self._background(self._embedder))

    async def close(self) -> None:
        """Stop the background queue (``Database.close``); what waits stays queued."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    def _run(
        self, con: Any, source: Source, vector: list[float], filters: dict[str, Any], k: int,
        read: bool,
    ) -> list[SimilarHit]:  # fmt: skip
        if not self.memory_vectors:  # (reads the snippets whatever ``read``)
            return search(con, source, vector, filters, k, self.snippet_chars)
        assert self._recorded is not None
        matrix = self._matrices[source.table]
        if self._lake:  # other processes write chunks too
            block = fresh_block(con, matrix, self._recorded[1])
        else:
            block = matrix.load(con, self._recorded[1])
        return _matrix.search(con, block, source, vector, filters, k, self.snippet_chars, read=read)

    # -- the queue ---------------------------------------------------------------------------
    async def _background(self, embedder: Embedder) -> None:
        try:
            if self._recorded is None and not await self._has_record():
                # never used here: nothing to keep fresh (unless a call just recorded the model)
                self._unused = self._recorded is None
                return
            await self._check_model(embedder)
            self._again = True
            while self._again:
                try:
                    await self._catch_up(embedder)
                except Exception:
                    if not self._lake:
                        raise
                    # a lake's queue goes on looking: the catalog may be back at the next look
                    logger.exception("Embedding in the background failed; tried again later")
                if self._lake:
                    await self._poll()
        except asyncio.CancelledError:
            raise
        except Exception:  # the next commit or call retries; nothing is lost
            logger.exception("Embedding in the background failed")

    async def _catch_up(self, embedder: Embedder) -> None:
        """Drain until nothing waits; on a lake, note the snapshot drained up to first."""
        while self._again:
            self._again = False
            if self._lake:
                self._seen = await newest_snapshot(self._guard)
            await self._drain(embedder, None)

    async def _poll(self) -> None:
        """On a lake: wait for a commit of this process or of another one (a newer snapshot)."""
        self._wakeup = wakeup = asyncio.Event()
        while not self._again:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.poll_interval)
            try:
                self._again = self._again or await newest_snapshot(self._guard) != self._seen
            except Exception:  # the catalog is away: look again later
                logger.warning("Looking for new lake commits to embed failed", exc_info=True)

    async def _drain(self, embedder: Embedder, cutoff: datetime | None) -> None:
        for source in (DOCUMENTS, MESSAGES):
            while True:
                try:
                    async with self._lock:
                        make = functools.partial(self._pass, embedder, source)
                        first = await run_alone(self._held(make))
                except ConflictError:  # another process's pass held the queue, or DuckLake's
                    await asyncio.sleep(0.05)  # conflict with a db-vacuum: nothing was written
                    continue
                if first is None or (cutoff is not None and first > cutoff):
                    break

    async def _pass(self, embedder: Embedder, source: Source) -> datetime | None:
        matrix = self._matrices[source.table]
        check = self._check_state(embedder) if self._lake else None
        return await drain_pass(
            self._executor, embedder, source, self.batch_rows, self.window, matrix, check
        )

    def _check_state(self, embedder: Embedder) -> Any:
        def recorded(given: tuple[str, int]) -> None:
            self._recorded = given

        return model_check((embedder.model, embedder.dimension), recorded)

    # -- searching ---------------------------------------------------------------------------
    def require_embedder(self) -> Embedder:
        """The embedder (raises ``EmbedderUnavailableError`` saying how to get one)."""
        if self._embedder is None:
            raise unavailable(self._reason)
        return self._embedder

    async def _query_vector(self, query: str | Sequence[float]) -> list[float] | None:
        if isinstance(query, str):
            check_text(query)
            embedder = self.require_embedder()
            await self._check_model(embedder)
            return [float(v) for v in (await embed(embedder, [query], "query"))[0]]
        vector = check_vector(query)
        if self._recorded is None and not await self._has_record():
            return None
        assert self._recorded is not None
        if self._embedder is not None:
            await self._check_model(self._embedder)
        if len(vector) != self._recorded[1]:
            raise InvalidVectorError(
                f"The query vector has {len(vector)} numbers; this database's vectors have "
                f"{self._recorded[1]} (model {self._recorded[0]!r})."
            )
        return vector
