"""Semantic search on a lake (issue 16 "on a lake too", issue 14 point 5): the file's tests.

The same test functions as ``tests/integration/semantic/`` run here against a lake (a real
PostgreSQL catalog, ``tests/lake/conftest.py``): the API and the results are the file's.
The tests across OS processes are in ``test_lake_semantic_peers.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import EmbeddingMismatchError
from tests.integration.semantic import test_context as context_tests
from tests.integration.semantic import test_hybrid as hybrid_tests
from tests.integration.semantic import test_similar as similar_tests
from tests.integration.semantic._embedders import Words
from tests.integration.semantic._hybrid_support import ConceptEmbedder
from tests.lake.conftest import Lake

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def words() -> Words:
    return Words()


@pytest.fixture
async def db(
    request: pytest.FixtureRequest, lake: Lake, extension_directory: Path, words: Words
) -> AsyncIterator[Database]:
    """A lake embedding as the test's own module's ``db`` does (``words`` or concepts)."""
    concepts = request.function.__module__ in (hybrid_tests.__name__, context_tests.__name__)
    embedder = ConceptEmbedder() if concepts else words
    async with lake.open(extension_directory=extension_directory, embedder=embedder) as opened:
        yield opened


test_a_written_document_is_found_after_embedded = (
    similar_tests.test_a_written_document_is_found_after_embedded
)


SHARED = {
    similar_tests: [
        "test_a_written_message_is_found_with_its_conversation",
        "test_filters_keep_only_matching_rows",
        "test_a_vector_query_finds_the_same_rows_as_its_text",
        "test_a_deleted_document_is_never_found",
        "test_messages_of_a_deleted_conversation_are_never_found",
        "test_a_new_version_replaces_the_old_chunks",
        "test_a_long_document_is_chunked_with_offsets",
        "test_bulk_writes_are_embedded_in_batches",
        "test_a_commit_wakes_the_queue_without_embedded",
        "test_non_latin_text_is_embedded_and_found",
        "test_invalid_queries_are_typed_errors",
        "test_a_vector_of_the_wrong_length_is_refused",
        "test_the_in_memory_matrix_and_the_sql_scan_agree",
    ],
    hybrid_tests: [
        "test_hybrid_finds_an_answer_that_shares_no_word_with_the_question",
        "test_filters_keep_other_projects_conversations_and_times_out",
    ],
    context_tests: [
        "test_context_cites_the_document_passage_and_the_recent_conversation",
        "test_a_tight_budget_cuts_the_passages_and_stays_within_it",
    ],
}
for _module, _names in SHARED.items():
    for _name in _names:
        globals()[_name] = getattr(_module, _name)


async def _written_and_embedded_by(other: Database, content: str) -> None:
    project = await other.projects.create({"name": content[:20]})
    conversation = await other.conversations.create({"project_id": project.id})
    await other.conversations.add_message(conversation.id, {"role": "user", "content": content})
    await other.search.embedded()


async def test_a_matrix_whose_history_was_expired_is_read_again(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(extension_directory=extension_directory, embedder=Words()) as other:
        await _written_and_embedded_by(other, "the first note")
        assert [h.snippet for h in await db.search.similar("first note", k=1)] == [
            "the first note"
        ]  # loaded here at this snapshot
        await _written_and_embedded_by(other, "the second note")
        await asyncio.sleep(0.05)
        await other.maintain_lake(older_than=timedelta(milliseconds=1))  # expires the history

        hits = await db.search.similar("second note", k=1)

    assert [h.snippet for h in hits] == ["the second note"]


async def test_a_chunk_table_made_again_is_read_again(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(extension_directory=extension_directory, embedder=Words()) as other:
        await _written_and_embedded_by(other, "kept through the rebuild")
        assert len(await db.search.similar("rebuild", k=5)) == 1  # loaded here
        async with other.transaction() as tx:  # a migration rebuilding the table
            await tx.run_native(
                lambda con: con.execute(
                    "CREATE TABLE padb_copy AS SELECT * FROM message_chunks; "
                    "DROP TABLE message_chunks; "
                    "CREATE TABLE message_chunks AS SELECT * FROM padb_copy; DROP TABLE padb_copy"
                )
            )
        await _written_and_embedded_by(other, "written after the rebuild")

        hits = await db.search.similar("rebuild", k=5)

    assert sorted(h.snippet for h in hits) == [
        "kept through the rebuild",
        "written after the rebuild",
    ]


async def test_a_reset_by_another_process_is_seen_by_this_process_next_pass(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    project = await db.projects.create({"name": "reset"})
    await db.documents.create({"project_id": project.id, "path": "a.md", "content": "alpha"})
    await db.search.embedded()
    # the reset comes from a process without an embedder: nothing there can record a model
    async with lake.open(extension_directory=extension_directory, embedder=False) as resetter:
        await resetter.search.reset_embeddings()
    await db.documents.create({"project_id": project.id, "path": "b.md", "content": "beta"})
    await db.search.embedded()  # the model row is gone: this process records its own
    assert sorted(h.snippet for h in await db.search.similar("alpha beta")) == ["alpha", "beta"]

    async with lake.open(
        extension_directory=extension_directory, embedder=Words(dimension=32)
    ) as other:
        await other.search.reset_embeddings()
        # Both processes now race to record their model: this process's background queue
        # (polling the lake) may record its own before `other` embeds. One model wins the lake;
        # the other process is refused, whichever it is, and the winner goes on.
        try:
            await other.search.embedded()
        except EmbeddingMismatchError as lost:  # this process recorded its model first
            assert "'test-words' (64 dimensions)" in str(lost)
            await db.search.embedded()
        else:  # the lake's vectors are the other model's; this process remembered its own
            with pytest.raises(EmbeddingMismatchError, match="'test-words' \\(32 dimensions\\)"):
                await db.search.embedded()
