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

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.search import _index
from project_architect_db.search._fusion import min_max, weighted_sum
from project_architect_db.search._snippet import make_snippet, normalize, snippet_window
from project_architect_db.search._sql import PUNCTUATION, _tokenize, by_id, id_params
from project_architect_db.search._stopwords import STOPWORDS
from project_architect_db.search.semantic.service import Scope

if TYPE_CHECKING:
    from project_architect_db.search.semantic import SimilarHit
    from project_architect_db.search.service import SearchService

__all__ = ["MAX_K", "HybridHit", "HybridSearch"]

Key = tuple[str, uuid.UUID]

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


#: ``(project_id, conversation_id, version, content)`` of a row only BM25 found.
_Row = tuple[uuid.UUID, uuid.UUID | None, int | None, str]
_ROW_COLUMNS = {
    "document": "d.id, d.project_id, NULL::UUID, d.version, d.content",
    "message": "d.id, d.project_id, d.conversation_id, NULL::INTEGER, d.content",
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
        depth = max(_DEPTH, 2 * k)
        # the vectors first: they validate the query (empty, too long, no embedder) and say
        # which scopes the filters leave
        vector = await self._vector(query, depth, scope, filters)
        bm25 = await self._bm25(query, depth, scope, filters)
        lists = _Lists(bm25, vector)
        ideals = await self._ideals(query, {key[0] for key in bm25})
        fused = weighted_sum(
            {
                "bm25": _scaled(bm25, ideals),
                "vector": min_max([(key, part[1]) for key, part in vector.items()]),
            },
            _WEIGHTS,
        )
        top = list(fused.items())[:k]
        rows = await self._rows([key for key, _ in top if key not in vector])
        is_match = _matcher(query)
        return [
            self._hit(key, score, lists, rows.get(key), is_match)
            for key, score in top
            if key in vector or key in rows  # (a row deleted since BM25 saw it is left out)
        ]

    async def _vector(
        self, query: str, depth: int, scope: Scope, filters: Mapping[str, Any]
    ) -> dict[Key, tuple[int, float, SimilarHit]]:
        hits = await self._service.similar(query, k=depth * 2, scope=scope, **filters)
        best: dict[Key, tuple[int, float, SimilarHit]] = {}
        for hit in hits:  # hits come best first: a row's first chunk is its best
            key = (hit.kind, hit.id)
            if key not in best and len(best) < depth:
                best[key] = (len(best) + 1, hit.score, hit)
        return best

    async def _bm25(
        self, query: str, depth: int, scope: Scope, filters: Mapping[str, Any]
    ) -> dict[Key, tuple[int, float]]:
        # ids and scores only: the few rows kept are read after the fusion (``_rows``)
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
        return {key: (rank, score) for rank, (key, score) in enumerate(found[:depth], 1)}

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

    async def _rows(self, keys: Sequence[Key]) -> dict[Key, _Row]:
        rows: dict[Key, _Row] = {}
        for kind, table in _TABLES.items():
            ids = [row_id for row_kind, row_id in keys if row_kind == kind]
            if ids:
                for row_id, *row in await self._fetch(table, _ROW_COLUMNS[kind], ids):
                    rows[(kind, row_id)] = (row[0], row[1], row[2], row[3] or "")
        return rows

    async def _fetch(self, table: str, columns: str, ids: Sequence[uuid.UUID]) -> list[Any]:
        return await fetch_by_id(self._service, table, columns, ids)

    def _hit(
        self,
        key: Key,
        score: float,
        lists: _Lists,
        row: _Row | None,
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
        if vector is not None:
            sim = vector[2]
            return HybridHit(
                kind=sim.kind, id=sim.id, project_id=sim.project_id,
                conversation_id=sim.conversation_id, version=sim.version, chunk=sim.chunk,
                start=sim.start, end=sim.end, score=score, snippet=sim.snippet, **parts,
            )  # fmt: skip
        assert row is not None  # a fused key comes from one list at least, a read row
        project_id, conversation_id, version, text = row
        width, markers = self._service.snippet_chars, self._service.markers
        start, end, _ = snippet_window(text, is_match, width=width)
        return HybridHit(
            kind=key[0], id=key[1], project_id=project_id, conversation_id=conversation_id,
            version=version, chunk=None, start=start, end=end, score=score,
            snippet=make_snippet(text, is_match, width=width, markers=markers), **parts,
        )  # fmt: skip


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
