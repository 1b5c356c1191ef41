"""DuckDB rows made straight into ``Read`` records (``_read_records.py``) vs ``model_validate``.

Every repository's ``get`` outside a transaction builds its record without ``model_validate``
when each value already has its field's exact type. These tests take real rows of every table
(NULLs, unicode, nested JSON, timestamps written aware in other zones and naive through SQL)
and compare the record made that way with ``model_validate`` of the same processed row: same
class, same values of the same types (down to JSON leaves), same tz, same field order, same
fields set, same frozen behaviour. Rows whose values need validating take ``model_validate``
itself, so they give its result or its error.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest
from sqlalchemy import text

from project_architect_db import Database
from project_architect_db.exceptions import ValidationError
from project_architect_db.repositories._code_repositories_runs import BuildStore, DeploymentStore
from project_architect_db.repositories._conversations_messages import AttachmentStore, MessageStore
from project_architect_db.repositories._documents_history import VersionStore
from project_architect_db.repositories._native_read import _CompiledGet
from project_architect_db.repositories._read_records import _fast_maker

pytestmark = pytest.mark.asyncio

UNICODE = "Ätlas 🚀 東京 ‮rtl  tab\tnew\nline \\ \" '"
NESTED: dict[str, Any] = {
    "a": {"b": [1, 2.5, None, True, False, {"c": "ü🚀"}]},
    "ключ": [],
    "empty": {},
    "big": 2**62,
    "neg": -1.25e-7,
    "deep": {"x": {"y": {"z": [[["leaf"]]]}}},
    "": "empty key",
}
IST = timezone(timedelta(hours=5, minutes=30))


async def _rows(db: Database) -> list[tuple[Any, uuid.UUID]]:
    """Rows of every table with a ``get``, with edge values, and the repository reading each."""
    full = await db.projects.create(
        {
            "name": UNICODE[:60],
            "description": UNICODE,
            "owner_id": "owner-ü",
            "tags": ["ü", "🚀", "plain"],
            "tech_stack": ["python", "duckdb"],
            "architecture": NESTED,
            "metadata": {"k": None, "list": [None, {"n": 0}]},
        }
    )
    bare = await db.projects.create({"name": "Bare"})  # NULLs, empty lists and objects
    chat = await db.conversations.create(
        {"project_id": full.id, "title": UNICODE[:60], "metadata": NESTED}
    )
    silent = await db.conversations.create({"project_id": bare.id})  # no title, no messages
    message = await db.conversations.add_message(
        chat.id,
        {
            "role": "assistant",
            "content": UNICODE * 3,
            "type": "code",
            "token_count": 12,
            "metadata": NESTED,
            "created_at": datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=IST),
            "attachments": [
                {"url": "https://example.com/a.png", "file_type": "image/png", "size_bytes": 7},
                {"url": "https://example.com/b.txt", "file_type": "text/plain"},
            ],
        },
    )
    document = await db.documents.create(
        {"project_id": full.id, "path": "docs/ü.md", "title": "Ü", "content": UNICODE}
    )
    await db.documents.update(document.id, {"content": UNICODE * 2, "metadata": NESTED})
    repository = await db.code_repositories.create(
        {
            "project_id": full.id,
            "url": "https://github.com/acme/atlas",
            "language": "Python",
            "last_commit_at": datetime(2030, 6, 1, 23, 30, tzinfo=IST),
        }
    )
    plain = await db.code_repositories.upsert_from_url(bare.id, "https://gitlab.com/acme/bare")
    build = await db.code_repositories.record_build(
        repository.id,
        {
            "commit_sha": "3f2a9c1",
            "branch": "main",
            "started_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            "finished_at": datetime(2026, 1, 2, 9, 34, 5, tzinfo=IST),
        },
    )
    deployment = await db.code_repositories.record_deployment(
        repository.id, {"build_id": build.id, "environment": "production", "commit_sha": "3f2a9c1"}
    )
    # timestamps written naive through SQL (TIMESTAMP holds UTC by convention), at the edges
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE projects SET created_at = TIMESTAMP '0001-01-01 00:00:00', "
                "updated_at = TIMESTAMP '9999-12-31 23:59:59.999999' WHERE id = :id"
            ),
            {"id": bare.id},
        )
    context = db._context
    attachments = AttachmentStore(context)
    versions = VersionStore(context)
    return [
        (db.projects, full.id),
        (db.projects, bare.id),
        (db.conversations, chat.id),
        (db.conversations, silent.id),
        (MessageStore(context), message.id),
        *[(attachments, row.id) for row in (await attachments.list(message_id=message.id)).items],
        (db.documents, document.id),
        *[(versions, row.id) for row in (await versions.list(document_id=document.id)).items],
        (db.code_repositories, repository.id),
        (db.code_repositories, plain.id),
        (BuildStore(context), build.id),
        (DeploymentStore(context), deployment.id),
    ]


def _shape(value: Any) -> Any:
    """``value`` with every leaf replaced by its type (dict keys kept, with their types)."""
    if isinstance(value, dict):
        return {(type(key), key): _shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [type(value), *(_shape(item) for item in value)]
    if isinstance(value, datetime):
        return (datetime, value.tzinfo, value.utcoffset())
    return type(value)


def assert_identical(made: Any, validated: Any) -> None:
    """``made`` is ``validated`` in every way a user can observe."""
    assert type(made) is type(validated)
    assert made == validated
    assert list(made.__dict__) == list(validated.__dict__)  # field order: repr, dumps
    assert _shape(made.__dict__) == _shape(validated.__dict__)
    assert made.model_fields_set == validated.model_fields_set
    assert made.model_fields_set is not validated.model_fields_set
    assert made.__pydantic_extra__ == validated.__pydantic_extra__
    assert made.__pydantic_private__ == validated.__pydantic_private__
    assert repr(made) == repr(validated)
    assert made.model_dump() == validated.model_dump()
    assert made.model_dump_json() == validated.model_dump_json()
    assert made.model_dump(by_alias=True, mode="json") == validated.model_dump(
        by_alias=True, mode="json"
    )
    for record in (made, validated):
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            record.id = uuid.uuid4()
    assert made.model_copy(update={"id": validated.id}) == validated


async def _compiled(db: Database, repository: Any) -> _CompiledGet:
    return _CompiledGet(repository._get_by_id, db.engine.dialect)


async def _raw_row(db: Database, compiled: _CompiledGet, row_id: uuid.UUID) -> tuple[Any, ...]:
    parameters = compiled.point.parameters(row_id)
    rows = await db._executor.run_native_read(
        lambda duck: duck.execute(compiled.sql, parameters).fetchall()
    )
    assert len(rows) == 1
    return tuple(rows[0])


def _never(row: tuple[Any, ...]) -> Any:
    raise AssertionError(f"validated instead of made: {row!r}")


async def test_every_read_schema_is_made_without_validation_and_equals_model_validate(
    db: Database,
) -> None:
    rows = await _rows(db)
    assert {type(repository).__name__ for repository, _ in rows} >= {
        "ProjectRepository",
        "ConversationRepository",
        "DocumentRepository",
        "CodeRepositoryRepository",
    }
    for repository, row_id in rows:
        compiled = await _compiled(db, repository)
        schema = repository.read_schema
        row = await _raw_row(db, compiled, row_id)
        # the fast branch itself, with validation forbidden: every real row takes it
        fast = _fast_maker(schema, compiled.point.keys, compiled.point._processors, _never)
        assert fast is not None, schema.__name__
        made = fast(row)
        validated = schema.model_validate(compiled.point.mapping(row))
        assert_identical(made, validated)
        assert_identical(compiled.make(row), validated)
        # and the public path: get outside a transaction vs SQLAlchemy's path inside one
        got = await repository.get(row_id)
        async with db.transaction():
            expected = await repository.get(row_id)
        assert_identical(got, expected)
    bare = await db.projects.get(rows[1][1])
    assert bare.description is None and bare.tags == [] and bare.architecture == {}
    assert bare.created_at == datetime(1, 1, 1, tzinfo=UTC)
    assert bare.updated_at == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    repository = await db.code_repositories.get(rows[-4][1])
    assert repository.last_commit_at == datetime(2030, 6, 1, 18, 0, tzinfo=UTC)
    assert repository.last_commit_at is not None and repository.last_commit_at.tzinfo is UTC


async def test_values_of_other_types_are_validated_with_the_same_result(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas", "tags": ["a"]})
    compiled = await _compiled(db, db.projects)
    row = list(await _raw_row(db, compiled, project.id))
    keys = compiled.point.keys
    row[keys.index("id")] = str(project.id)  # a str pydantic turns into the UUID
    row[keys.index("version")] = True  # a bool pydantic accepts as 1
    row[keys.index("tags")] = ("a",)  # a tuple pydantic turns into a list
    validated = db.projects.read_schema.model_validate(compiled.point.mapping(tuple(row)))
    made = compiled.make(tuple(row))
    assert_identical(made, validated)
    assert made.id == project.id and made.version == 1 and made.tags == ["a"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("metadata", "[1, 2]"),  # JSON that is not an object
        ("tags", ["a", None]),  # a NULL inside a list of text
        ("name", None),  # NULL where the field has none
        ("status", "bogus"),  # not a member
        ("created_at", "2020-01-01"),  # text where a timestamp belongs
    ],
)
async def test_values_pydantic_refuses_raise_the_same_error(
    db: Database, column: str, value: Any
) -> None:
    project = await db.projects.create({"name": "Atlas"})
    compiled = await _compiled(db, db.projects)
    row = list(await _raw_row(db, compiled, project.id))
    row[compiled.point.keys.index(column)] = value
    with pytest.raises(Exception) as validating:
        db.projects.read_schema.model_validate(compiled.point.mapping(tuple(row)))
    with pytest.raises(type(validating.value)) as making:
        compiled.make(tuple(row))
    assert str(making.value) == str(validating.value)


async def test_a_row_of_another_length_raises_as_validation_does(db: Database) -> None:
    project = await db.projects.create({"name": "Atlas"})
    compiled = await _compiled(db, db.projects)
    row = await _raw_row(db, compiled, project.id)
    for wrong in (row[:-1], (*row, "extra")):
        with pytest.raises(ValueError, match="zip"):
            compiled.point.mapping(wrong)
        with pytest.raises(ValueError, match="zip"):
            compiled.make(wrong)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("metadata = '[1, 2]'", "metadata: Input should be a valid dictionary"),
        ("tags = ['a', NULL]", "tags.1: Input should be a valid string"),
    ],
)
async def test_a_stored_value_the_schema_refuses_is_a_library_validation_error(
    db: Database, assignment: str, message: str
) -> None:
    # written behind the library's back; a raw pydantic error used to reach the caller here
    project = await db.projects.create({"name": "Atlas"})
    async with db.engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE projects SET {assignment} WHERE id = :id"), {"id": project.id}
        )
    with pytest.raises(ValidationError, match=message):
        await db.projects.get(project.id)
    with pytest.raises(ValidationError, match=message):
        await db.projects.get_or_none(project.id)
    with pytest.raises(ValidationError, match=message.split(": ", 1)[1]):
        async with db.transaction():  # translated as the block ends, as before
            await db.projects.get(project.id)


async def test_pages_make_the_records_get_makes_in_and_outside_a_transaction(
    db: Database,
) -> None:
    rows = await _rows(db)
    for repository, row_id in rows:
        async with db.transaction():
            expected = await repository.get(row_id)
            (in_transaction,) = (await repository.list(id=row_id)).items
        (outside,) = (await repository.list(id=row_id)).items
        assert_identical(outside, expected)
        assert_identical(in_transaction, expected)
    # a page of many rows, through the rowid-first shape (no owner), in both directions
    everything = await db.projects.list(order_by="-created_at", limit=10)
    assert len(everything.items) == 2
    for record in everything.items:
        async with db.transaction():
            assert_identical(record, await db.projects.get(record.id))


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("metadata = '[1, 2]'", "metadata: Input should be a valid dictionary"),
        ("tags = ['a', NULL]", "tags.1: Input should be a valid string"),
    ],
)
async def test_a_page_with_a_stored_value_the_schema_refuses_is_a_library_validation_error(
    db: Database, assignment: str, message: str
) -> None:
    # list() used to let pydantic's own error out (validated after the read's scope)
    project = await db.projects.create({"name": "Atlas"})
    await db.projects.create({"name": "Other"})
    async with db.engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE projects SET {assignment} WHERE id = :id"), {"id": project.id}
        )
    with pytest.raises(ValidationError, match=message):
        await db.projects.list(order_by="-created_at")
    # a page with its total reads in a transaction: its rows' keys are the column keys
    # (``metadata_``), as for get() in a transaction
    with pytest.raises(ValidationError, match=message.split(": ", 1)[1]):
        await db.projects.list(name="Atlas", with_total=True)
    with pytest.raises(ValidationError, match=message.split(": ", 1)[1]):
        async with db.transaction() as tx:
            await tx.projects.list()
    assert [p.name for p in (await db.projects.list(name="Other")).items] == ["Other"]


async def test_get_reads_the_same_row_without_the_uuid_cast_on_every_table(db: Database) -> None:
    """``get``'s keys are always ``UUID`` objects, so its SQL drops the dialect's cast."""
    for repository, row_id in await _rows(db):
        compiled = await _compiled(db, repository)
        assert compiled.sql.endswith("= $1"), compiled.sql
        assert compiled.point.sql == compiled.sql + "::UUID"
        parameters = compiled.point.parameters(row_id)
        cast = await db._executor.run_native_read(
            lambda duck, c=compiled, p=parameters: duck.execute(c.point.sql, p).fetchall()
        )
        assert [tuple(cast[0])] == [await _raw_row(db, compiled, row_id)]
        assert await repository.get(str(row_id).upper()) == await repository.get(row_id)


async def test_get_by_an_id_that_is_not_a_uuid_is_refused(db: Database) -> None:
    with pytest.raises(ValidationError, match="not a valid id"):
        await db.projects.get("not-a-uuid")
    with pytest.raises(ValidationError, match="not a valid id"):
        await db.projects.get(12345)  # type: ignore[arg-type]
