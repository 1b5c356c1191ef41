"""DocumentCreate, DocumentUpdate, DocumentRead and DocumentVersionRead."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from project_architect_db.models import DocumentType
from project_architect_db.schemas import (
    DocumentCreate,
    DocumentRead,
    DocumentUpdate,
    DocumentVersionRead,
    content_digest,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PROJECT = uuid.uuid4()


def error_at(error: ValidationError) -> dict[tuple[str | int, ...], str]:
    return {tuple(item["loc"]): item["type"] for item in error.errors()}


def test_document_create_derives_title_hash_and_size() -> None:
    document = DocumentCreate(
        project_id=PROJECT, path="docs/adr/0001-use-duckdb.md", doc_type="adr", content="héllo\n"
    )

    assert document.title == "0001-use-duckdb"
    assert document.doc_type is DocumentType.ADR
    assert document.content_hash == hashlib.sha256("héllo\n".encode()).hexdigest()
    assert document.size_bytes == 7
    assert document.model_dump()["content_hash"] == document.content_hash


def test_document_create_keeps_an_explicit_title_and_content_whitespace() -> None:
    document = DocumentCreate(
        project_id=PROJECT, path="README.md", title="Read me", content="  x\n"
    )

    assert document.title == "Read me"
    assert document.content == "  x\n"


@pytest.mark.parametrize(
    ("path", "stored"),
    [("./docs//spec.md", "docs/spec.md"), (" notes/a.txt ", "notes/a.txt"), (".env", ".env")],
)
def test_document_create_stores_one_spelling_of_each_path(path: str, stored: str) -> None:
    assert DocumentCreate(project_id=PROJECT, path=path).path == stored


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../secrets.txt", "'..'"),
        ("docs/../../x", "'..'"),
        ("/etc/passwd", "relative"),
        ("C:/docs/a.md", "relative"),
        ("docs\\a.md", "forward slashes"),
        ("docs/", "name a file"),
        (".", "name a file"),
        ("a\x00b", "control characters"),
        ("a\nb", "control characters"),
        ("x/" + "y" * 256, "255"),
    ],
)
def test_document_create_rejects_unsafe_paths(path: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        DocumentCreate(project_id=PROJECT, path=path)

    assert error_at(caught.value)[("path",)] == "document_path"


def test_document_create_rejects_a_path_over_1024_characters() -> None:
    with pytest.raises(ValidationError, match="at most 1024"):
        DocumentCreate(project_id=PROJECT, path="a/" * 600 + "b")


def test_document_create_rejects_an_unknown_doc_type() -> None:
    with pytest.raises(ValidationError) as caught:
        DocumentCreate(project_id=PROJECT, path="a.md", doc_type="memo")

    assert error_at(caught.value) == {("doc_type",): "enum"}


def test_document_create_rejects_content_with_a_nul_byte() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        DocumentCreate(project_id=PROJECT, path="a.md", content="\x00")


def test_document_create_does_not_accept_a_caller_supplied_hash() -> None:
    with pytest.raises(ValidationError):
        DocumentCreate(project_id=PROJECT, path="a.md", content_hash="0" * 64)  # type: ignore[call-arg]


def test_content_digest_returns_sha256_hex_and_utf8_size() -> None:
    assert content_digest("é") == (hashlib.sha256("é".encode()).hexdigest(), 2)


def test_document_update_renames_and_edits() -> None:
    update = DocumentUpdate(path="docs//b.md", content="new", expected_version=4)

    assert update.changes() == {"path": "docs/b.md", "content": "new"}
    assert update.expected_version == 4


def test_document_update_rejects_an_unsafe_path() -> None:
    with pytest.raises(ValidationError):
        DocumentUpdate(path="../b.md")


def test_document_update_rejects_null_content() -> None:
    with pytest.raises(ValidationError, match="content cannot be null"):
        DocumentUpdate(content=None)


def test_document_read_is_built_from_orm_attributes() -> None:
    stored = SimpleNamespace(
        id=uuid.uuid4(),
        project_id=PROJECT,
        path="a.md",
        title="a",
        doc_type=DocumentType.NOTE,
        content="x",
        content_hash="0" * 64,
        size_bytes=1,
        version=2,
        metadata_={},
        created_at=NOW,
        updated_at=NOW,
    )

    read = DocumentRead.model_validate(stored)

    assert read.version == 2
    assert read.doc_type is DocumentType.NOTE


def test_document_read_rejects_a_missing_content_hash() -> None:
    with pytest.raises(ValidationError):
        DocumentRead.model_validate(SimpleNamespace(id=uuid.uuid4(), path="a.md"))


def test_document_read_rejects_an_unknown_doc_type() -> None:
    with pytest.raises(ValidationError):
        DocumentRead.model_validate({"doc_type": "memo"})


def test_document_version_read_is_built_from_orm_attributes() -> None:
    stored = SimpleNamespace(
        id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        project_id=PROJECT,
        version=1,
        title="a",
        content="old",
        content_hash="0" * 64,
        size_bytes=3,
        created_at=NOW,
        previous_created_at=None,
    )

    read = DocumentVersionRead.model_validate(stored)

    assert (read.version, read.content) == (1, "old")


def test_document_version_read_rejects_a_version_that_is_not_a_number() -> None:
    with pytest.raises(ValidationError):
        DocumentVersionRead.model_validate({"version": "latest"})


def test_document_version_read_is_frozen() -> None:
    read = DocumentVersionRead(
        id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        project_id=PROJECT,
        version=1,
        title="a",
        content="",
        content_hash="0" * 64,
        size_bytes=0,
        created_at=NOW,
        previous_created_at=None,
    )

    with pytest.raises(ValidationError):
        read.content = "changed"  # type: ignore[misc]
