"""``db.search.hybrid``: BM25 and vectors fused into one ranking (a weighted sum of scores).

Each source is asked for its best candidates under the same filters: BM25 over documents and
over messages (``db.search.documents`` / ``messages``: always fresh, so a row committed but not
embedded yet is still found), and the vectors (``db.search.similar``; a row's best chunk stands
for it). Each BM25 score is divided by the query's ideal score (the sum of its terms' idf: what
a row holding every term once at average length scores), so a match on rare words counts more
than one on common words, whatever the query; cosine similarities are scaled to 0..1 within
their list. The fused score is their weighted sum (BM25 0.6, vectors 0.4). Chosen over
reciprocal rank fusion by measurement on the evaluation set (docs/architecture.md, "Hybrid
search and context" and "Tokenizer and hybrid fusion, measured"). A hit
carries its place and score in each list, so a caller can see why it ranks where it does.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from project_architect_db.core.transaction import current_transaction
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.search import _index
from project_architect_db.search._fusion import min_max, weighted_sum
from project_architect_db.search._snippet import make_snippet, normalize, snippet_window
from project_architect_db.search._sql import PUNCTUATION, _tokenize, by_id, id_params
from project_architect_db.search._stopwords import STOPWORDS
from project_architect_db.search.semantic._query import check_text, filters_of, sources_of
from project_architect_db.search.semantic._store import Source
from project_architect_db.search.semantic.service import Scope

if TYPE_CHECKING:
    from project_architect_db.search.semantic import SimilarHit
    from project_architect_db.search.service import SearchService

__all__ = ["MAX_K", "HybridHit", "HybridSearch"]

Key = tuple[str, uuid.UUID]
A = TypeVar("A")
B = TypeVar("B")

#: The most hits one call returns.
MAX_K = 100
#: The longest query (BM25's limit, ``search/service.py``).
MAX_QUERY_CHARS = 1000
#: Candidates asked of each source: enough that a row ranked low by one source and high by
#: the other still meets in the fusion (measured: deeper lists change no top-10 on the set).
_DEPTH = 50
#: Chosen on the even-numbered half of the evaluation set only (``benchmarks/semantic_fusion.py``:
#: the best nDCG@10 there of 168 fusions), reported on the other half: docs/architecture.md,
#: "Tokenizer and hybrid fusion, measured".
_WEIGHTS = {"bm25": 0.6, "vector": 0.4}
_TABLES = {"document": "documents", "message": "messages"}
#: The filters, in ``filters_of``'s order.
_FILTERS = ("project_id", "conversation_id", "doc_type", "since", "until")
#: A query word as the index cuts it (digits kept), of two characters at least.
_WORD = re.compile(f"[^\\s{PUNCTUATION}]{{2,}}")
_STOP = frozenset(STOPWORDS)


class HybridHit(BaseModel):
    """One row found by hybrid search, with the parts its fused score is made of."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["document", "message"]
    #: The document's or the message's id.
    id: uuid.UUID
    project_id: uuid.UUID
    #: The message's conversation (None for documents).
    conversation_id: uuid.UUID | None
    #: The document's version the passage comes from (None for messages).
    version: int | None
    #: The chunk the vectors matched (None when only BM25 found the row).
    chunk: int | None
    #: Character offsets of the passage in the row's text (``content``): the matched chunk,
    #: else the window around the first word matching the query.
    start: int
    end: int
    #: The fused score (reciprocal rank fusion); higher is better.
    score: float
    #: Place (from 1) and BM25 score in the row's BM25 list (None: not among its candidates).
    bm25_rank: int | None
    bm25_score: float | None
    #: Place (from 1) and cosine similarity in the vector list (None: not among its candidates,
    #: or not embedded yet).
    vector_rank: int | None
    vector_score: float | None
    #: A short window of the passage (BM25 hits: matches wrapped in the markers).
    snippet: str


@dataclass(frozen=True, slots=True)
class _Lists:
    bm25: dict[Key, tuple[int, float]]
    vector: dict[Key, tuple[int, float, SimilarHit]]


#: ``(project_id, conversation_id, version, content)`` of a kept row.
_Row = tuple[uuid.UUID, uuid.UUID | None, int | None, str]
_ROW_COLUMNS = {
    "document": "d.id, d.project_id, NULL::UUID, d.version, d.content",
    "message": "d.id, d.project_id, d.conversation_id, NULL::INTEGER, d.content",
}
#: The same for a row the vectors found (their hit carries the owners).
_KNOWN = {
    "document": "d.id, NULL::UUID, NULL::UUID, d.version, d.content",
    "message": "d.id, NULL::UUID, NULL::UUID, NULL::INTEGER, d.content",
}
_STAMPS = {"document": "d.id, d.updated_at", "message": "d.id, d.created_at"}


class HybridSearch:
    """The fusion behind ``db.search.hybrid`` (state lives in the ``SearchService``)."""

    def __init__(self, service: SearchService) -> None:
        self._service = service

    async def search(
        self,
        query: str,
        k: int,
        *,
        scope: Scope,
        filters: Mapping[str, Any],
    ) -> list[HybridHit]:
        """The ``k`` best rows for ``query`` by fused rank (see ``SearchService.hybrid``)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidQueryError(f"k must be an integer from 1 to {MAX_K}.")
        if scope not in ("all", "documents", "messages"):
            raise InvalidQueryError(
                f"scope must be 'all', 'documents' or 'messages' (got {scope!r})."
            )
        if isinstance(query, str) and len(query) > MAX_QUERY_CHARS:
            raise InvalidQueryError(
                f"A hybrid search query may have at most {MAX_QUERY_CHARS} characters (BM25's "
                f"limit; got {len(query)}): shorten it."
            )
        if not isinstance(query, str):
            raise InvalidQueryError("A hybrid search query must be a string (BM25 reads words).")
        # checked before either half runs: the query, the scopes the filters leave, an embedder
        check_text(query)
        sources = sources_of(scope, filters.get("conversation_id"), filters.get("doc_type"))
        wanted = filters_of(*(filters.get(name) for name in _FILTERS))
        self._service.semantic.require_embedder()
        depth = max(_DEPTH, 2 * k)
        vector, (bm25, ideals) = await _both(
            self._vector(query, depth, sources, wanted), self._bm25(query, depth, scope, filters)
        )
        lists = _Lists(bm25, vector)
        fused = weighted_sum(
            {
                "bm25": _scaled(bm25, ideals),
                "vector": min_max([(key, part[1]) for key, part in vector.items()]),
            },
            _WEIGHTS,
        )
        top = list(fused.items())[:k]
        # the kept rows' text, once: BM25 snippets, and the vectors' chunks (their candidates
        # were checked by id only)
        rows = await self._rows([key for key, _ in top], vector)
        is_match = _matcher(query)
        return [
            self._hit(key, score, lists, row, is_match)
            for key, score in top
            if (row := rows.get(key)) is not None and _same_version(lists.vector.get(key), row)
        ]  # (a row deleted, or a document changed, since its list saw it is left out)

    async def _vector(
        self, query: str, depth: int, sources: Sequence[Source], filters: dict[str, Any]
    ) -> dict[Key, tuple[int, float, SimilarHit]]:
        semantic = self._service.semantic
        hits = await semantic.nearest(query, depth * 2, sources, filters, read=False)
        best: dict[Key, tuple[int, float, SimilarHit]] = {}
        for hit in hits:  # hits come best first: a row's first chunk is its best
            key = (hit.kind, hit.id)
            if key not in best and len(best) < depth:
                best[key] = (len(best) + 1, hit.score, hit)
        return best

    async def _bm25(
        self, query: str, depth: int, scope: Scope, filters: Mapping[str, Any]
    ) -> tuple[dict[Key, tuple[int, float]], dict[str, float]]:
        """The BM25 list (ids and scores only: ``_rows`` reads the few kept) and its scales."""
        service = self._service
        owner = {"project_id": filters.get("project_id")}
        found: list[tuple[Key, float]] = []
        if scope != "messages" and filters.get("conversation_id") is None:
            docs = {**owner, "doc_type": filters.get("doc_type")}
            scores = await service._bm25_scores("documents", query, docs, depth)
            found += [(("document", row_id), score) for row_id, score in scores]
        if scope != "documents" and filters.get("doc_type") is None:
            msgs = {**owner, "conversation_id": filters.get("conversation_id")}
            scores = await service._bm25_scores("messages", query, msgs, depth)
            found += [(("message", row_id), score) for row_id, score in scores]
        found = await self._in_time(found, filters)
        # one BM25 list: both tables' scores use the same formula (measured against one list
        # per table: docs/performance.md)
        found.sort(key=lambda item: -item[1])
        bm25 = {key: (rank, score) for rank, (key, score) in enumerate(found[:depth], 1)}
        return bm25, await self._ideals(query, {key[0] for key in bm25})

    async def _ideals(self, query: str, kinds: set[str]) -> dict[str, float]:
        """Per kind, the BM25 score of a row holding each query term once at average length.

        That is the sum of the query terms' idf (BM25's tf part is 1 there): a hit's score
        over it says how much of the query's weight it matched, whatever the query.
        """
        ideals: dict[str, float] = {}

        def run(con: Any) -> None:
            for kind in kinds:
                schema = f"padb_search_{_TABLES[kind]}"
                if _index.is_current(con, schema):
                    value = con.execute(_ideal_sql(schema), {"q": query}).fetchone()[0]
                    if value:
                        ideals[kind] = float(value)

        if kinds:
            async with self._service.executor.transaction() as tx:
                await tx.run_native(run)
        return ideals

    async def _in_time(
        self, found: list[tuple[Key, float]], filters: Mapping[str, Any]
    ) -> list[tuple[Key, float]]:
        if not found or (filters.get("since") is None and filters.get("until") is None):
            return found
        stamps: dict[Key, datetime] = {}
        for kind, table in _TABLES.items():
            ids = [row_id for row_kind, row_id in (key for key, _ in found) if row_kind == kind]
            if ids:
                for row_id, stamp in await self._fetch(table, _STAMPS[kind], ids):
                    stamps[(kind, row_id)] = stamp
        return [(key, score) for key, score in found if _within(stamps.get(key), filters)]

    async def _rows(self, keys: Sequence[Key], vector: Mapping[Key, Any]) -> dict[Key, _Row]:
        """The kept rows, read in one transaction.

        A row the vectors found takes its owners from their hit: point lookups of a bit-packed
        UUID column cost ~1 ms a row.
        """
        reads: list[tuple[str, str, dict[str, object]]] = []
        for kind, table in _TABLES.items():
            for known in (True, False):
                ids = [i for k, i in keys if k == kind and ((k, i) in vector) == known]
                if ids:
                    columns = (_KNOWN if known else _ROW_COLUMNS)[kind]
                    reads.append((kind, by_id(table, columns, len(ids)), id_params(ids)))

        def run(con: Any) -> list[tuple[str, list[Any]]]:
            return [(kind, con.execute(sql, params).fetchall()) for kind, sql, params in reads]

        rows: dict[Key, _Row] = {}
        if reads:
            async with self._service.executor.transaction() as tx:
                for kind, found in await tx.run_native(run):
                    for row_id, *row in found:
                        rows[(kind, row_id)] = (row[0], row[1], row[2], row[3] or "")
        return rows

    async def _fetch(self, table: str, columns: str, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await fetch_by_id(self._service, table, columns, ids)

    def _hit(
        self,
        key: Key,
        score: float,
        lists: _Lists,
        row: _Row,
        is_match: Callable[[str], bool],
    ) -> HybridHit:
        bm25 = lists.bm25.get(key)
        vector = lists.vector.get(key)
        parts: dict[str, Any] = {
            "bm25_rank": bm25[0] if bm25 else None,
            "bm25_score": bm25[1] if bm25 else None,
            "vector_rank": vector[0] if vector else None,
            "vector_score": vector[1] if vector else None,
        }
        project_id, conversation_id, version, text = row
        if vector is not None:  # the matched chunk's start, as ``similar``'s snippet
            sim = vector[2]
            size = min(sim.end - sim.start, self._service.semantic.snippet_chars)
            return HybridHit(
                kind=sim.kind, id=sim.id, project_id=sim.project_id,
                conversation_id=sim.conversation_id, version=sim.version, chunk=sim.chunk,
                start=sim.start, end=sim.end, score=score,
                snippet=text[sim.start : sim.start + size], **parts,
            )  # fmt: skip
        width, markers = self._service.snippet_chars, self._service.markers
        start, end, _ = snippet_window(text, is_match, width=width)
        return HybridHit(
            kind=key[0], id=key[1], project_id=project_id, conversation_id=conversation_id,
            version=version, chunk=None, start=start, end=end, score=score,
            snippet=make_snippet(text, is_match, width=width, markers=markers), **parts,
        )  # fmt: skip


async def _both(first: Coroutine[Any, Any, A], second: Coroutine[Any, Any, B]) -> tuple[A, B]:
    """Both results; ``second`` runs beside ``first`` in a task of its own.

    The task opens its own transaction, on another connection: the two halves wait on
    different DuckDB connections (and the query's embedding) at once. Inside the caller's
    transaction (one connection, and what it wrote must be seen) they run one after the other.
    """
    if current_transaction() is not None:
        try:
            result = await first
        except BaseException:
            second.close()  # never started
            raise
        return result, await second
    task = asyncio.create_task(second)
    try:
        result = await first
    except BaseException:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    return result, await task


def _same_version(vector: tuple[int, float, SimilarHit] | None, row: _Row) -> bool:
    """Whether the row read is the version whose chunk the vectors matched (or not a match)."""
    return vector is None or vector[2].version is None or vector[2].version == row[2]


def _matcher(query: str) -> Callable[[str], bool]:
    """Whether a normalised word may be one of the query's (its stem's prefix, as BM25's)."""
    words = {normalize(w) for w in _WORD.findall(query)} - _STOP
    prefixes = tuple(w[: max(2, len(w) - 2)] if len(w) > 2 else w for w in words)
    return lambda word: bool(prefixes) and word.startswith(prefixes)


def _ideal_sql(schema: str) -> str:
    # the index's own tokenizer, stopwords, stemmer and idf (``_sql.py``)
    return (
        f"WITH w AS (SELECT unnest({_tokenize('$q')}) AS w), "
        f"q AS (SELECT DISTINCT stem(w, 'porter') AS t FROM w WHERE w <> '' "
        f"AND w NOT IN (SELECT sw FROM {schema}.stopwords)), "
        f"st AS (SELECT num_docs FROM {schema}.state) "
        "SELECT sum(log(((st.num_docs - coalesce(x.df, 0) + 0.5) "
        "/ (coalesce(x.df, 0) + 0.5)) + 1)) "
        f"FROM q CROSS JOIN st LEFT JOIN {schema}.dict x ON x.term = q.t"
    )


def _scaled(
    bm25: Mapping[Key, tuple[int, float]], ideals: Mapping[str, float]
) -> list[tuple[Key, float]]:
    """BM25 scores over the query's ideal score, at most 1.

    Without index statistics (a read-only file never indexed), over the kind's best score.
    """
    best: dict[str, float] = {}
    for key, part in bm25.items():
        best[key[0]] = max(best.get(key[0], 0.0), part[1])
    scale = {kind: ideals.get(kind) or top for kind, top in best.items()}
    return [
        (key, min(1.0, part[1] / scale[key[0]]) if scale[key[0]] > 0 else 0.0)
        for key, part in bm25.items()
    ]


async def fetch_by_id(
    service: SearchService, table: str, columns: str, ids: Sequence[uuid.UUID]
) -> list[Any]:
    """``columns`` of the rows of ``table`` with these ids (point lookups), in one transaction."""
    sql = by_id(table, columns, len(ids))
    params = id_params(ids)
    async with service.executor.transaction() as tx:
        rows: list[Any] = await tx.run_native(lambda con: con.execute(sql, params).fetchall())
    return rows


def _within(stamp: datetime | None, filters: Mapping[str, Any]) -> bool:
    if stamp is None:
        return False
    since, until = _aware(filters.get("since")), _aware(filters.get("until"))
    stamp = _aware(stamp)
    return (since is None or stamp >= since) and (until is None or stamp < until)


def _aware(value: datetime | None) -> Any:
    # stored and accepted naive as UTC (as ``similar`` reads them)
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
