"""Helpers of the migration tests: revision sources, a row in every table, catalog dumps."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from project_architect_db.core.driver import AsyncDuckDBDialect
from project_architect_db.migration import VERSIONS_DIRECTORY
from project_architect_db.models import (
    Attachment,
    Base,
    Build,
    BuildStatus,
    Conversation,
    Deployment,
    DeploymentEnvironment,
    Document,
    DocumentVersion,
    Message,
    MessageRole,
    Project,
    Repository,
)

TABLES = sorted(Base.metadata.tables)
#: Revision 0003's tables of semantic search: derived data owned by ``search/semantic``, not
#: models (no ORM class; the vectors' length belongs to the embedder).
SEMANTIC_TABLES = ("document_chunks", "message_chunks", "semantic_state")

EngineFactory = Callable[..., AsyncEngine]

#: A second revision as a developer would write it: a nullable column and an index on it,
#: through batch mode (the table is rebuilt, as DuckDB needs for most changes).
REVISION_0013 = '''
"""Add an archive reason to projects.

Revision ID: 0013
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", recreate="always") as batch_op:
        batch_op.add_column(sa.Column("archived_reason", sa.String(), nullable=True))
        batch_op.create_index("ix_projects_archived_reason", ["archived_reason"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("projects", recreate="always") as batch_op:
        batch_op.drop_index("ix_projects_archived_reason")
        batch_op.drop_column("archived_reason")
'''

#: A second revision that rebuilds ``projects`` (dropping the original table inside the
#: transaction) and then fails on an execution error.
FAILING_0013 = '''
"""Rebuild projects, then fail.

Revision ID: 0013
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", recreate="always") as batch_op:
        batch_op.add_column(sa.Column("archived_reason", sa.String(), nullable=True))
        batch_op.create_index("ix_projects_archived_reason", ["archived_reason"], unique=False)
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("UPDATE conversations SET message_count = 0")
    op.execute("SELECT CAST('not a number' AS INTEGER)")


def downgrade() -> None:
    pass
'''


def write_versions(directory: Path, *extra: tuple[str, str]) -> Path:
    """Copy the package's revisions into ``directory`` and add ``(file name, source)`` pairs."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in VERSIONS_DIRECTORY.glob("*.py"):
        if source.name != "__init__.py":
            shutil.copyfile(source, directory / source.name)
    for name, body in extra:
        (directory / name).write_text(textwrap.dedent(body).lstrip())
    return directory


async def dispose(engine: AsyncEngine) -> None:
    """Dispose an engine and release its in-memory database."""
    await engine.dispose()
    dialect = engine.sync_engine.dialect
    if isinstance(dialect, AsyncDuckDBDialect):
        dialect.close_memory_database()


async def seed(engine: AsyncEngine, count: int = 3) -> None:
    """Insert ``count`` linked rows into every table of the initial schema."""
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    rows: list[Base] = []
    for n in range(count):
        project = Project(
            name=f"Atlas {n}",
            slug=f"atlas-{n}",
            tags=["api", f"t{n}"],
            tech_stack=["duckdb"],
            owner_id=f"user-{n}",
            architecture={"layers": n},
        )
        conversation = Conversation(project_id=project.id, title=f"Kick-off {n}")
        message = Message(
            conversation_id=conversation.id,
            project_id=project.id,
            sequence=1,
            role=MessageRole.USER,
            content=f"Which database? {n}",
        )
        attachment = Attachment(
            message_id=message.id,
            conversation_id=conversation.id,
            project_id=project.id,
            url=f"https://files.example.com/{n}.png",
            file_type="image/png",
            size_bytes=3_000_000_000 + n,
        )
        document = Document(
            project_id=project.id,
            path=f"docs/adr/{n:04d}.md",
            title="Use DuckDB",
            content=f"# ADR {n}",
            content_hash=f"{n:064d}",
            size_bytes=7,
        )
        version = DocumentVersion(
            document_id=document.id,
            project_id=project.id,
            version=1,
            title="Use DuckDB",
            content="# ADR",
            content_hash="0" * 64,
            size_bytes=5,
        )
        repository = Repository(
            project_id=project.id,
            owner="acme",
            name=f"atlas-{n}",
            url=f"https://github.com/acme/atlas-{n}",
            stars=n,
        )
        build = Build(
            repository_id=repository.id,
            project_id=project.id,
            status=BuildStatus.SUCCESS,
            commit_sha=f"abcdef{n}",
            branch="main",
            started_at=at,
            finished_at=at + timedelta(seconds=90),
            duration_seconds=90.5,
        )
        deployment = Deployment(
            repository_id=repository.id,
            project_id=project.id,
            build_id=build.id,
            environment=DeploymentEnvironment.PRODUCTION,
            commit_sha=f"abcdef{n}",
            commit_at=at - timedelta(hours=3),
            caused_incident=n % 2 == 0,
            restored_at=at + timedelta(hours=1),
        )
        rows += [
            project,
            conversation,
            message,
            attachment,
            document,
            version,
            repository,
            build,
            deployment,
        ]
    async with AsyncSession(engine) as session:
        session.add_all(rows)
        await session.commit()


async def dump(engine: AsyncEngine, *, without: set[str] | None = None) -> dict[str, Any]:
    """Every table's full contents (ordered by id), leaving out the columns in ``without``."""
    skip = without or set()
    contents: dict[str, Any] = {}
    async with engine.connect() as connection:
        for table in TABLES:
            result = await connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            names = list(result.keys())
            contents[table] = [
                {name: value for name, value in zip(names, row, strict=True) if name not in skip}
                for row in result
            ]
    return contents


async def schema(engine: AsyncEngine) -> dict[str, Any]:
    """The catalog as DuckDB reports it: columns, constraints and indexes of every table."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = current_schema()",
        "constraints": "SELECT table_name, constraint_type, constraint_text, "
        "array_to_string(constraint_column_names, ',') FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND schema_name = current_schema()",
        "indexes": "SELECT table_name, index_name, is_unique, sql FROM duckdb_indexes() "
        "WHERE database_name = current_database() AND schema_name = current_schema()",
        "tables": "SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = current_schema()",
    }
    catalog: dict[str, Any] = {}
    async with engine.connect() as connection:
        for key, query in queries.items():
            rows = (await connection.exec_driver_sql(query)).all()
            catalog[key] = sorted(tuple(str(value) for value in row) for row in rows)
    return catalog


async def version_rows(engine: AsyncEngine) -> list[str]:
    """The rows of alembic_version."""
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        return [row[0] for row in result]


async def execute(engine: AsyncEngine, *statements: str) -> None:
    """Run raw statements in one committed transaction."""
    async with engine.begin() as connection:
        for statement in statements:
            await connection.exec_driver_sql(statement)
