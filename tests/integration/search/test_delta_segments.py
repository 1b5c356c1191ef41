"""Changed rows tokenized once (search/_delta.py): fresh, exact, bounded, never stale."""

from __future__ import annotations

import uuid

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.search import _ids, _sql
from project_architect_db.search._delta import DeltaCache


async def _indexed(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    project = (await db.projects.create({"name": "Atlas"})).id
    conversation = (await db.conversations.create({"project_id": project})).id
    for i in range(5):
        await db.documents.create(
            {"project_id": project, "path": f"d{i}.md", "content": f"websocket note {i}"}
        )
        await db.conversations.add_message(
            conversation, {"role": "user", "content": f"websocket message {i}"}
        )
    await db.search.rebuild()
    return project, conversation


def _cache(db: Database, table: str) -> DeltaCache:
    return db.search._keeper.deltas[table]


async def test_a_changed_row_is_tokenized_once_and_found_by_every_search(db: Database) -> None:
    project, _ = await _indexed(db)
    doc = (
        await db.documents.create({"project_id": project, "path": "n.md", "content": "okapi herd"})
    ).id
    for _ in range(3):
        assert [h.id for h in await db.search.documents("okapi")] == [doc]
    assert [h.id for h in await db.search.documents("herd", project_id=project)] == [doc]
    assert _cache(db, "documents").tokenized == 1
    assert len(_cache(db, "documents")) == 1
    await db.search.merge("documents")
    assert [h.id for h in await db.search.documents("okapi")] == [doc]
    assert len(_cache(db, "documents")) == 0  # merged: no longer delta, no longer kept


async def test_kept_rows_score_as_their_live_text(db: Database) -> None:
    project, _ = await _indexed(db)
    for i in range(3):
        await db.documents.create(
            {"project_id": project, "path": f"x{i}.md", "content": "websocket " * (i + 1)}
        )
    first = await db.search.documents("websocket note", limit=100)  # tokenizes the 3 rows
    kept = await db.search.documents("websocket note", limit=100)  # scores the kept terms
    _cache(db, "documents").max_rows = 0  # nothing kept: every row scored from live text
    live = await db.search.documents("websocket note", limit=100)
    assert _cache(db, "documents").tokenized == 3
    for hits in (kept, live):
        assert [h.id for h in hits] == [h.id for h in first]
        assert [h.score for h in hits] == pytest.approx([h.score for h in first], rel=1e-12)
    assert len(first) == 8


async def test_an_updated_row_is_found_by_its_new_words_not_its_old_ones(db: Database) -> None:
    project, _ = await _indexed(db)
    doc = (
        await db.documents.create({"project_id": project, "path": "u.md", "content": "narwhal"})
    ).id
    assert [h.id for h in await db.search.documents("narwhal")] == [doc]  # version 1 kept
    await db.documents.update(doc, {"content": "walrus"})
    assert await db.search.documents("narwhal") == []
    assert [h.id for h in await db.search.documents("walrus")] == [doc]
    await db.documents.update(doc, {"content": "beluga"})  # version 3: a new key again
    assert await db.search.documents("walrus") == []
    assert [(h.id, h.version) for h in await db.search.documents("beluga")] == [(doc, 3)]


async def test_a_deleted_changed_row_is_not_found(db: Database) -> None:
    project, _ = await _indexed(db)
    doc = (
        await db.documents.create({"project_id": project, "path": "g.md", "content": "gazelle"})
    ).id
    assert [h.id for h in await db.search.documents("gazelle")] == [doc]
    await db.documents.delete(doc)
    assert await db.search.documents("gazelle") == []
    assert len(_cache(db, "documents")) == 0


async def test_a_rolled_back_write_kept_by_a_search_inside_it_is_not_found_after(
    db: Database,
) -> None:
    await _indexed(db)
    docs = await db.search.documents("websocket", limit=100)
    doc = docs[0].id

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        async with db.transaction():
            await db.documents.update(doc, {"content": "tapir"})
            assert [h.id for h in await db.search.documents("tapir")] == [doc]
            raise Rollback
    assert await db.search.documents("tapir") == []
    assert doc in {h.id for h in await db.search.documents("websocket", limit=100)}
    await db.documents.update(doc, {"content": "capybara"})  # the same version number again
    assert await db.search.documents("tapir") == []
    assert [h.id for h in await db.search.documents("capybara")] == [doc]


async def test_kept_rows_obey_the_filters(db: Database) -> None:
    project, conversation = await _indexed(db)
    other = (await db.projects.create({"name": "Other"})).id
    elsewhere = (await db.conversations.create({"project_id": other})).id
    mine = await db.conversations.add_message(conversation, {"role": "user", "content": "quokka"})
    theirs = await db.conversations.add_message(
        elsewhere, {"role": "assistant", "content": "quokka quokka"}
    )
    assert {h.id for h in await db.search.messages("quokka")} == {mine.id, theirs.id}
    assert [h.id for h in await db.search.messages("quokka", project_id=project)] == [mine.id]
    assert [h.id for h in await db.search.messages("quokka", role="assistant")] == [theirs.id]
    assert await db.search.messages("quokka", conversation_id=conversation, role="assistant") == []
    assert await db.search.messages("quokka", project_id=uuid.uuid4()) == []
    assert _cache(db, "messages").tokenized == 2


async def test_rows_past_the_cache_bound_are_still_found(db: Database) -> None:
    project, _ = await _indexed(db)
    _cache(db, "documents").max_rows = 2
    made = {
        (
            await db.documents.create(
                {"project_id": project, "path": f"b{i}.md", "content": f"bison {i}"}
            )
        ).id
        for i in range(5)
    }
    for _ in range(2):
        assert {h.id for h in await db.search.documents("bison", limit=100)} == made
    assert len(_cache(db, "documents")) == 2
    assert _cache(db, "documents").tokenized == 2


async def test_many_changed_rows_are_read_by_one_scan_of_the_window(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _ = await _indexed(db)
    made = {
        (
            await db.documents.create(
                {"project_id": project, "path": f"m{i}.md", "content": f"marmot {i}"}
            )
        ).id
        for i in range(4)
    }
    monkeypatch.setattr(_sql, "LOOKUP_MAX", 2)  # 4 changed rows: one scan, not lookups
    monkeypatch.setattr(_ids, "LOOKUP_MAX", 2)
    kept = await db.search.documents("marmot", limit=100)
    assert {h.id for h in kept} == made
    assert _cache(db, "documents").tokenized == 4
    _cache(db, "documents").max_rows = 0  # scored from their live text: one scan too
    live = await db.search.documents("marmot", limit=100)
    assert [(h.id, h.score) for h in live] == [(h.id, h.score) for h in kept]


async def test_a_bad_query_or_limit_never_touches_the_cache(db: Database) -> None:
    project, _ = await _indexed(db)
    await db.documents.create({"project_id": project, "path": "q.md", "content": "ocelot"})
    with pytest.raises(InvalidQueryError):
        await db.search.documents("ocelot", limit=0)
    with pytest.raises(InvalidQueryError):
        await db.search.documents("x" * 1001)
    assert _cache(db, "documents").tokenized == 0


async def test_a_changed_row_of_stopwords_only_is_kept_empty_and_never_found(
    db: Database,
) -> None:
    project, _ = await _indexed(db)
    await db.documents.create({"project_id": project, "path": "s.md", "content": "the and of"})
    await db.documents.create({"project_id": project, "path": "e.md", "content": ""})
    assert await db.search.documents("the and") == []  # a stopwords-only query: nothing
    assert len(await db.search.documents("websocket", limit=100)) == 5
    assert len(_cache(db, "documents")) == 2
    assert all(not segment.terms for segment in _cache(db, "documents")._rows.values())


async def test_a_message_restamped_before_the_window_waits_for_a_rebuild(db: Database) -> None:
    # The change window's documented limit (docs/architecture.md, "The change window's
    # limit"): a row whose stamp is older than the index's high-water mark minus 10 minutes
    # is not delta; merge() does not see it either; rebuild() does.
    _, conversation = await _indexed(db)
    message = await db.conversations.add_message(
        conversation, {"role": "user", "content": "pangolin"}
    )
    assert [h.id for h in await db.search.messages("pangolin")] == [message.id]
    async with db.transaction() as tx:
        await tx.run_native(
            lambda con: con.execute(
                "UPDATE messages SET created_at = created_at - INTERVAL 30 DAY WHERE id = $id",
                {"id": message.id},
            )
        )
    assert await db.search.messages("pangolin") == []
    await db.search.merge("messages")
    assert await db.search.messages("pangolin") == []
    await db.search.rebuild("messages")
    assert [h.id for h in await db.search.messages("pangolin")] == [message.id]
