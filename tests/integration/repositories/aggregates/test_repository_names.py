"""``code_repositories`` names the code-repository repository; ``repositories`` is its alias."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import pytest

from project_architect_db import Database, DatabaseNotOpenError, NotFoundError, TransactionError
from project_architect_db.repositories import CodeRepositoryRepository, RepositorySet
from project_architect_db.schemas import ProjectRead

URL = "https://github.com/acme/atlas"


async def test_db_code_repositories_and_its_alias_are_one_repository(
    db: Database, project: ProjectRead
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the alias is documented, not deprecated
        assert db.repositories is db.code_repositories
    assert isinstance(db.code_repositories, CodeRepositoryRepository)
    created = await db.repositories.upsert_from_url(project.id, URL)
    assert (await db.code_repositories.get(created.id)).url == URL


async def test_tx_code_repositories_and_its_alias_are_one_repository_in_the_transaction(
    db: Database, project: ProjectRead
) -> None:
    async with db.transaction() as tx:
        assert tx.repositories is tx.code_repositories
        created = await tx.code_repositories.upsert_from_url(project.id, URL)
        assert (await tx.repositories.get(created.id)).id == created.id
    assert (await db.code_repositories.get(created.id)).id == created.id


def test_the_bundle_of_all_four_is_a_repository_set_with_no_repositories_attribute() -> None:
    names = {name for name in vars(RepositorySet) if not name.startswith("_")}
    assert names == {"projects", "conversations", "documents", "code_repositories"}


async def test_a_missing_code_repository_raises_not_found_through_either_name(db: Database) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError, match=str(missing)):
        await db.code_repositories.get(missing)
    with pytest.raises(NotFoundError, match=str(missing)):
        await db.repositories.get(missing)


async def test_code_repositories_of_an_ended_transaction_refuse_work(
    db: Database, project: ProjectRead
) -> None:
    async with db.transaction() as tx:
        pass
    with pytest.raises(TransactionError):
        await tx.code_repositories.upsert_from_url(project.id, URL)
    with pytest.raises(TransactionError):
        await tx.repositories.upsert_from_url(project.id, URL)


async def test_code_repositories_of_a_closed_database_raise_database_not_open(
    tmp_path: Path, extension_directory: Path
) -> None:
    async with Database.open(
        tmp_path / "closed.duckdb", extension_directory=extension_directory
    ) as db:
        project = await db.projects.create({"name": "Atlas"})
    with pytest.raises(DatabaseNotOpenError):
        await db.code_repositories.upsert_from_url(project.id, URL)
    with pytest.raises(DatabaseNotOpenError):
        await db.repositories.count()


@pytest.mark.parametrize(
    ("table", "one"),
    [("repositories", "repository"), ("projects", "project"), ("messages", "message")],
)
def test_a_table_name_becomes_the_name_of_one_row(table: str, one: str) -> None:
    from project_architect_db.models.base import singular

    assert singular(table) == one


async def test_a_missing_code_repository_is_named_a_repository_in_the_error(db: Database) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError, match=f"^No repository with id {missing}"):
        await db.code_repositories.get(missing)
    with pytest.raises(NotFoundError, match=f"^No repository with id {missing}"):
        await db.code_repositories.update(missing, {"default_branch": "trunk"})
    with pytest.raises(NotFoundError, match=f"^No repository with id {missing}"):
        await db.code_repositories.delete(missing)
