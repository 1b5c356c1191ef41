"""The index's tokenizer keeps identifiers' digits; an index of the old format is rebuilt."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import Base
from project_architect_db.search import _sql
from project_architect_db.search._snippet import _WORD, normalize
from project_architect_db.search._sql import _tokenize

# Each identifier beside a near miss: the row naming it must rank first.
ROWS = {
    "pay": "Error PAY-417 means the card issuer declined the payment",
    "pay-other": "Error PAY-418 means the card expired before the payment",
    "version": "Release v2.3.1 fixed the connection leak in the pool",
    "version-other": "Release v2.4.0 notes: the connection pool grows on demand",
    "err": "The gateway answered ERR_504 at noon for the export",
    "err-other": "The gateway answered ERR_503 at noon for the import",
    "sha": "Commit sha 3f9c2e1 reverted the pricing change",
    "sha-other": "Commit sha 9a8b7c6 added the pricing tests",
}
QUERIES = {
    "PAY-417": "pay",
    "what does v2.3.1 fix?": "version",
    "ERR_504": "err",
    "sha 3f9c2e1": "sha",
}


def _words(text: str) -> list[str]:
    sql = f"SELECT list_filter({_tokenize('$t')}, w -> w <> '')"
    return list(duckdb.execute(sql, {"t": text}).fetchone()[0])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("PAY-417", ["pay", "417"]),
        ("v2.3.1", ["v2", "3", "1"]),
        ("ERR_504", ["err", "504"]),
        ("sha 3f9c2e1", ["sha", "3f9c2e1"]),
        ("10.0.7.131:9092", ["10", "0", "7", "131", "9092"]),
        ("Café #8480, TS2612!", ["cafe", "8480", "ts2612"]),
    ],
)
def test_identifiers_keep_their_digits(text: str, words: list[str]) -> None:
    assert _words(text) == words


def test_snippet_words_are_the_index_words() -> None:
    # highlighting cuts words as the index does, digits included (random strings)
    rng = random.Random(7)
    alphabet = "ab9Z é-_.:/\\|'\"`#()[]{}\t\n0"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert [normalize(w) for w in _WORD.findall(text)] == _words(text), text


async def _conversation(db: Database) -> uuid.UUID:
    found = await _native(db, "SELECT id FROM conversations")
    if found:
        return uuid.UUID(str(found[0][0]))
    project = (await db.projects.create({"name": "Atlas"})).id
    return (await db.conversations.create({"project_id": project})).id


async def _seed(db: Database) -> dict[str, uuid.UUID]:
    conversation = await _conversation(db)
    return {
        name: (
            await db.conversations.add_message(conversation, {"role": "user", "content": text})
        ).id
        for name, text in ROWS.items()
    }


@pytest.mark.parametrize("indexed", [False, True], ids=["delta", "index"])
async def test_a_query_naming_an_identifier_ranks_its_row_first(
    db: Database, indexed: bool
) -> None:
    rows = await _seed(db)
    if indexed:
        await db.search.rebuild()
    for query, name in QUERIES.items():
        hits = await db.search.messages(query)
        assert hits[0].id == rows[name], query
        assert all(hit.score < hits[0].score for hit in hits[1:]), query
    hits = await db.search.messages("3f9c2e1")
    assert [h.id for h in hits] == [rows["sha"]]
    assert "**3f9c2e1**" in hits[0].snippet
    assert "**417**" in (await db.search.messages("PAY-417"))[0].snippet


async def test_a_query_of_only_digits_or_punctuation(db: Database) -> None:
    rows = await _seed(db)
    await db.search.rebuild()
    assert [h.id for h in await db.search.messages("417")] == [rows["pay"]]
    assert await db.search.messages("-_.:!?#") == []
    assert await db.search.messages("000 999") == []  # words, found nowhere


async def test_a_huge_query_of_digits_is_refused_then_a_long_one_runs(db: Database) -> None:
    rows = await _seed(db)
    huge = " ".join(str(i) for i in range(400))  # 1,489 characters
    with pytest.raises(InvalidQueryError, match="at most 1000 characters"):
        await db.search.messages(huge)
    long = " ".join(str(i) for i in range(1000, 1180))  # 180 number words found nowhere
    assert len(long) <= 1000
    assert [h.id for h in await db.search.messages(long + " 417")] == [rows["pay"]]


# -- an index of the old format (the fts extension's default tokenizer, no ``format``) ---------
async def _old_index(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(_sql, "PUNCTUATION", "0-9" + _sql.PUNCTUATION)  # digits dropped
        await db.search.rebuild("messages")
    await _native(db, "ALTER TABLE padb_search_messages.state DROP COLUMN format")
    assert not await _native(db, "SELECT * FROM padb_search_messages.dict WHERE term = '417'")


def _native(db: Database, sql: str) -> Any:
    async def run() -> list[tuple[Any, ...]]:
        async with db.transaction() as tx:
            return await tx.run_native(lambda con: con.execute(sql).fetchall())

    return run()


async def _tables(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def _reopen(path: Path, extension_directory: Path, **options: Any) -> Database:
    return await Database.open(path, extension_directory=extension_directory, **options)


async def test_an_old_index_is_rebuilt_at_the_next_search(
    tmp_path: Path, extension_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.duckdb"
    async with await _reopen(path, extension_directory) as db:
        await _tables(db)
        rows = await _seed(db)
        await _old_index(db, monkeypatch)
    # a read-only open cannot rebuild: it scores live text, still right
    read_only = await _reopen(path, extension_directory, read_only=True)
    async with read_only as ro:
        assert [h.id for h in await ro.search.messages("3f9c2e1")] == [rows["sha"]]
        assert (await ro.search.messages("PAY-417"))[0].id == rows["pay"]
    async with await _reopen(path, extension_directory) as db:
        hits = await db.search.messages("PAY-417")
        assert hits[0].id == rows["pay"]
        assert all(hit.score < hits[0].score for hit in hits[1:])
        state = await _native(db, "SELECT format, num_docs FROM padb_search_messages.state")
        assert state == [(_sql.FORMAT, len(ROWS))]
        assert await _native(db, "SELECT df FROM padb_search_messages.dict WHERE term = '417'")


async def test_writers_during_the_rebuild_of_an_old_index_are_all_found(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await _seed(db)
    await _old_index(db, monkeypatch)
    conversation = await _conversation(db)

    async def write(i: int) -> uuid.UUID:
        data = {"role": "user", "content": f"Error PAY-{900 + i} in batch {i}"}
        return (await db.conversations.add_message(conversation, data)).id

    db.search._keeper.indexed.clear()  # as a new process would
    search = asyncio.ensure_future(db.search.messages("PAY-417"))  # starts the rebuild
    written = await asyncio.gather(*(write(i) for i in range(20)))
    assert (await search)[0].id == rows["pay"]
    state = await _native(db, "SELECT format FROM padb_search_messages.state")
    assert state == [(_sql.FORMAT,)]
    for i, row in enumerate(written):
        assert (await db.search.messages(f"PAY-{900 + i}"))[0].id == row
    await db.search.merge("messages")
    assert {h.id for h in await db.search.messages("pay", limit=100)} >= set(written)
