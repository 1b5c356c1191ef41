"""A generated dataset loaded into real DuckDB databases keeps every invariant of the schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from project_architect_db import Database
from project_architect_db.exceptions import AlreadyExistsError
from project_architect_db.models import (
    REFERENCES,
    Base,
    Build,
    Conversation,
    Deployment,
    Document,
    DocumentVersion,
    Message,
    Project,
    Repository,
)
from project_architect_db.schemas import (
    SLUG_PATTERN,
    BuildCreate,
    BuildRead,
    ConversationRead,
    DeploymentCreate,
    DeploymentRead,
    DocumentCreate,
    DocumentRead,
    DocumentVersionRead,
    MessageRead,
    ProjectCreate,
    ProjectRead,
    RepositoryCreate,
    RepositoryRead,
)
from project_architect_db.testing.factories import (
    REFERENCE_NOW,
    TABLE_NAMES,
    Dataset,
    generate_dataset,
    load_dataset,
)

SIZES: dict[str, Any] = {
    "projects": 15,
    "conversations_per_project": 3,
    "messages_per_conversation": 16,
    "documents_per_project": 12,
    "versions_per_document": 3,
    "repositories_per_project": 11,  # more than the suffix list: names get a number
    "builds_per_repository": 12,
    "deployments_per_repository": 6,
    "attachment_rate": 0.3,
}
NOW = REFERENCE_NOW.replace(tzinfo=None)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset(2024, **SIZES, now=REFERENCE_NOW)


@pytest.fixture(scope="module")
def database_file(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset) -> Path:
    """A DuckDB file with the schema from ``Base.metadata`` and the dataset loaded into it."""
    path = tmp_path_factory.mktemp("factories") / "dataset.duckdb"
    engine = sa.create_engine(f"duckdb:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    with duckdb.connect(str(path)) as connection:
        # Naive Arrow timestamps must not be shifted by the session time zone.
        connection.execute("SET TimeZone = 'America/New_York'")
        connection.begin()
        dataset.load(connection)
        connection.commit()
    return path


@pytest.fixture
def sql(database_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(database_file), read_only=True) as connection:
        yield connection


def _scalar(connection: duckdb.DuckDBPyConnection, query: str) -> Any:
    row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_every_row_is_loaded(sql: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    for name, count in dataset.row_counts().items():
        assert _scalar(sql, f"SELECT count(*) FROM {name}") == count, name


def test_timestamps_are_stored_as_generated(
    sql: duckdb.DuckDBPyConnection, dataset: Dataset
) -> None:
    stored = dict(sql.execute("SELECT id, created_at FROM messages").fetchall())
    table = dataset.messages
    expected = dict(zip(table["id"].to_pylist(), table["created_at"].to_pylist(), strict=True))
    assert stored == expected


UNIQUE_KEYS = [
    ("projects", "slug"),
    ("repositories", "url"),
    ("messages", "conversation_id, sequence"),
    ("documents", "project_id, path"),
    ("document_versions", "document_id, version"),
    *[(name, "id") for name in TABLE_NAMES],
]


@pytest.mark.parametrize(("table", "key"), UNIQUE_KEYS, ids=[f"{t}({k})" for t, k in UNIQUE_KEYS])
def test_keys_are_unique(sql: duckdb.DuckDBPyConnection, table: str, key: str) -> None:
    duplicates = (
        f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
    )
    assert _scalar(sql, duplicates) == 0


@pytest.mark.parametrize("reference", REFERENCES, ids=str)
def test_no_orphans(sql: duckdb.DuckDBPyConnection, reference: Any) -> None:
    child, parent = reference.child.__tablename__, reference.parent.__tablename__
    column = reference.child.__table__.c[reference.column].name
    orphans = (
        f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
    )
    assert _scalar(sql, orphans) == 0
    if reference.denormalised:
        # The copy equals the direct parents' own reference (a deployment's project_id is its
        # repository's and, when it has one, its build's).
        direct = [
            r
            for r in REFERENCES
            if r.child is reference.child
            and not r.denormalised
            and reference.column in r.parent.__table__.c
        ]
        assert direct
        for via in direct:
            mismatched = (
                f"SELECT count(*) FROM {child} c JOIN {via.parent.__tablename__} d "
                f"ON d.id = c.{via.column} WHERE c.{column} IS DISTINCT FROM d.{column}"
            )
            assert _scalar(sql, mismatched) == 0, str(via)


def test_optional_build_links_are_a_mix(sql: duckdb.DuckDBPyConnection) -> None:
    linked = _scalar(sql, "SELECT count(build_id) FROM deployments")
    assert 0 < linked < _scalar(sql, "SELECT count(*) FROM deployments")
    mismatched = (
        "SELECT count(*) FROM deployments d JOIN builds b ON b.id = d.build_id "
        "WHERE b.repository_id <> d.repository_id OR b.commit_sha <> d.commit_sha "
        "OR b.status <> 'success' OR d.started_at < b.finished_at OR d.commit_at > b.created_at"
    )
    assert _scalar(sql, mismatched) == 0


def test_message_sequences_are_gap_free_and_counted(sql: duckdb.DuckDBPyConnection) -> None:
    broken = """
        SELECT count(*) FROM conversations c
        LEFT JOIN (
            SELECT conversation_id, count(*) AS n, min(sequence) AS lo, max(sequence) AS hi,
                   count(DISTINCT sequence) AS distinct_n, max(created_at) AS last_at,
                   min(created_at) AS first_at
            FROM messages GROUP BY conversation_id
        ) m ON m.conversation_id = c.id
        WHERE coalesce(m.n, 0) <> c.message_count
           OR (m.n IS NOT NULL AND (m.lo <> 1 OR m.hi <> m.n OR m.distinct_n <> m.n))
           OR m.last_at IS DISTINCT FROM c.last_message_at
           OR m.first_at <= c.created_at
           OR c.updated_at <> coalesce(c.last_message_at, c.created_at)
    """
    assert _scalar(sql, broken) == 0


def test_messages_are_ordered_by_sequence_and_roles_alternate(
    sql: duckdb.DuckDBPyConnection,
) -> None:
    out_of_order = """
        SELECT count(*) FROM (
            SELECT created_at <= lag(created_at) OVER w AS earlier, role,
                   lag(role) OVER w AS previous, sequence
            FROM messages WINDOW w AS (PARTITION BY conversation_id ORDER BY sequence)
        )
        WHERE earlier
           OR (role = 'system' AND sequence <> 1)
           OR (role = 'assistant' AND previous NOT IN ('user', 'tool'))
           OR (role IN ('user', 'tool') AND previous NOT IN ('assistant', 'system'))
    """
    assert _scalar(sql, out_of_order) == 0
    roles = dict(sql.execute("SELECT role, count(*) FROM messages GROUP BY role").fetchall())
    assert roles["user"] + roles.get("tool", 0) >= roles["assistant"] > roles.get("system", 0)


def test_token_counts_follow_content_length(sql: duckdb.DuckDBPyConnection) -> None:
    correlation = _scalar(sql, "SELECT corr(token_count, length(content)) FROM messages")
    assert correlation > 0.95
    assert _scalar(sql, "SELECT min(token_count) FROM messages") >= 1
    code_without_fence = (
        "SELECT count(*) FROM messages WHERE type = 'code' AND content NOT LIKE '%```%'"
    )
    assert _scalar(sql, code_without_fence) == 0


def test_system_prompts_name_their_project(sql: duckdb.DuckDBPyConnection) -> None:
    wrong = (
        "SELECT count(*) FROM messages m JOIN projects p ON p.id = m.project_id "
        "WHERE m.role = 'system' AND NOT contains(m.content, p.name)"
    )
    assert _scalar(sql, wrong) == 0


def test_contents_match_their_hash_and_size(sql: duckdb.DuckDBPyConnection) -> None:
    for table in ("documents", "document_versions"):
        wrong = (
            f"SELECT count(*) FROM {table} "
            "WHERE content_hash <> sha256(content) OR size_bytes <> strlen(content)"
        )
        assert _scalar(sql, wrong) == 0, table
    assert _scalar(sql, "SELECT count(*) FROM documents WHERE size_bytes = 0") == 0


def test_document_histories_are_complete(sql: duckdb.DuckDBPyConnection) -> None:
    broken = """
        SELECT count(*) FROM documents d
        LEFT JOIN (
            SELECT document_id, count(*) AS n, max(version) AS hi, min(version) AS lo,
                   max(created_at) AS last_at, min(created_at) AS first_at
            FROM document_versions GROUP BY document_id
        ) v ON v.document_id = d.id
        WHERE d.version <> coalesce(v.n, 0) + 1 OR v.lo <> 1 OR v.hi <> d.version - 1
           OR v.last_at <> d.updated_at OR v.first_at <= d.created_at
    """
    assert _scalar(sql, broken) == 0
    assert _scalar(sql, "SELECT count(*) FROM documents WHERE path = 'README.md'") == 15
    adr = "SELECT content FROM documents WHERE doc_type = 'adr' LIMIT 1"
    content = _scalar(sql, adr)
    for heading in ("## Context", "## Decision", "## Consequences"):
        assert heading in content


def test_runs_finish_after_they_start(sql: duckdb.DuckDBPyConnection) -> None:
    for table in ("builds", "deployments"):
        wrong = f"""
            SELECT count(*) FROM {table}
            WHERE finished_at < started_at
               OR abs(duration_seconds - epoch_us(finished_at - started_at) / 1e6) > 1e-6
               OR (finished_at IS NULL) <> (duration_seconds IS NULL)
               OR (started_at IS NULL AND finished_at IS NOT NULL)
        """
        assert _scalar(sql, wrong) == 0, table
    unfinished = (
        "SELECT count(*) FROM builds "
        "WHERE (status IN ('queued', 'running')) <> (finished_at IS NULL) "
        "OR (status = 'queued') <> (started_at IS NULL)"
    )
    assert _scalar(sql, unfinished) == 0
    statuses = dict(sql.execute("SELECT status, count(*) FROM builds GROUP BY 1").fetchall())
    assert statuses["success"] > statuses["failure"] > 0


def test_deployments_support_the_dora_metrics(sql: duckdb.DuckDBPyConnection) -> None:
    wrong = """
        SELECT count(*) FROM deployments
        WHERE commit_at >= coalesce(started_at, created_at)
           OR (restored_at IS NOT NULL AND NOT caused_incident)
           OR restored_at <= finished_at
           OR (caused_incident AND (environment <> 'production' OR finished_at IS NULL))
           OR (status IN ('pending', 'in_progress')) <> (finished_at IS NULL)
    """
    assert _scalar(sql, wrong) == 0
    environments = {
        r[0] for r in sql.execute("SELECT DISTINCT environment FROM deployments").fetchall()
    }
    assert {"staging", "production"} <= environments
    assert _scalar(sql, "SELECT count(*) FROM deployments WHERE caused_incident") > 0


def test_counters_and_formats(sql: duckdb.DuckDBPyConnection) -> None:
    assert _scalar(sql, "SELECT min(least(stars, forks, open_issues)) FROM repositories") >= 0
    pattern = SLUG_PATTERN.replace("'", "''")
    assert (
        _scalar(
            sql, f"SELECT count(*) FROM projects WHERE NOT regexp_full_match(slug, '{pattern}')"
        )
        == 0
    )
    url = (
        "SELECT count(*) FROM repositories WHERE url <> "
        "CASE provider WHEN 'github' THEN 'https://github.com/' WHEN 'gitlab' THEN "
        "'https://gitlab.com/' ELSE 'https://bitbucket.org/' END || owner || '/' || name"
    )
    assert _scalar(sql, url) == 0
    assert (
        _scalar(
            sql,
            "SELECT count(*) FROM builds WHERE NOT regexp_full_match(commit_sha, '[0-9a-f]{40}')",
        )
        == 0
    )


def test_nothing_happens_after_now_or_before_creation(sql: duckdb.DuckDBPyConnection) -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_at"):
                latest = _scalar(sql, f"SELECT max({column.name}) FROM {table.name}")
                assert latest is None or latest <= NOW, f"{table.name}.{column.name}"
        if "updated_at" in table.columns:
            later = f"SELECT count(*) FROM {table.name} WHERE updated_at < created_at"
            assert _scalar(sql, later) == 0
        if "project_id" in table.columns:
            early = (
                f"SELECT count(*) FROM {table.name} t JOIN projects p ON p.id = t.project_id "
                "WHERE t.created_at < p.created_at"
            )
            assert _scalar(sql, early) == 0, table.name


def test_ids_carry_the_creation_instant(sql: duckdb.DuckDBPyConnection) -> None:
    sql.execute("SET TimeZone = 'UTC'")  # uuid_extract_timestamp returns a TIMESTAMPTZ
    for table in TABLE_NAMES:
        wrong = (
            f"SELECT count(*) FROM {table} WHERE uuid_extract_version(id) <> 7 "
            "OR uuid_extract_timestamp(id)::TIMESTAMP <> date_trunc('millisecond', created_at)"
        )
        assert _scalar(sql, wrong) == 0, table


# -- through the ORM and the schemas ------------------------------------------------------------

READS = [
    (Project, ProjectRead),
    (Conversation, ConversationRead),
    (Message, MessageRead),
    (Document, DocumentRead),
    (DocumentVersion, DocumentVersionRead),
    (Repository, RepositoryRead),
    (Build, BuildRead),
    (Deployment, DeploymentRead),
]


@pytest.fixture
def session(database_file: Path) -> Iterator[Session]:
    engine = sa.create_engine(f"duckdb:///{database_file}", connect_args={"read_only": True})
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.mark.parametrize(("model", "read"), READS, ids=[m.__name__ for m, _ in READS])
def test_rows_round_trip_through_the_orm_as_valid_read_records(
    session: Session, dataset: Dataset, model: type[Base], read: type[Any]
) -> None:
    table = dataset.tables[model.__tablename__]
    expected = {row["id"]: row for row in table.to_pylist()}
    rows = session.scalars(sa.select(model)).all()
    assert len(rows) == len(expected)
    for row in rows:
        record = read.model_validate(row)
        source = expected[record.id]
        for name, value in source.items():
            attribute = "metadata_" if name == "metadata" else name
            got = getattr(record, attribute)
            if name == "metadata" or (name == "architecture"):
                assert got == json.loads(value)
            elif hasattr(got, "tzinfo") and got is not None:
                # aware UTC in Python, the same instant as the naive UTC value generated
                assert got.tzinfo is UTC
                assert got == value.replace(tzinfo=UTC)
            else:
                assert got == value, f"{model.__tablename__}.{name}"


def test_rows_satisfy_the_create_schemas(session: Session) -> None:
    for project in session.scalars(sa.select(Project)):
        created = ProjectCreate(
            name=project.name, tags=project.tags, tech_stack=project.tech_stack,
            architecture=project.architecture, metadata=project.metadata_,
        )  # fmt: skip
        assert created.slug == project.slug  # the slug is the one derived from the name
        assert created.tags == project.tags
        assert created.tech_stack == project.tech_stack
    for document in session.scalars(sa.select(Document)):
        doc = DocumentCreate(
            project_id=document.project_id, path=document.path, content=document.content
        )
        assert (doc.path, doc.content_hash, doc.size_bytes) == (
            document.path, document.content_hash, document.size_bytes,
        )  # fmt: skip
    for repository in session.scalars(sa.select(Repository)):
        repo = RepositoryCreate(project_id=repository.project_id, url=repository.url)
        assert (repo.url, repo.provider, repo.owner, repo.name) == (
            repository.url, repository.provider, repository.owner, repository.name,
        )  # fmt: skip
    for build in session.scalars(sa.select(Build)):
        BuildCreate(
            repository_id=build.repository_id, status=build.status, commit_sha=build.commit_sha,
            branch=build.branch, started_at=build.started_at, finished_at=build.finished_at,
            duration_seconds=build.duration_seconds, trigger=build.trigger,
        )  # fmt: skip
    for deployment in session.scalars(sa.select(Deployment)):
        DeploymentCreate(
            repository_id=deployment.repository_id, build_id=deployment.build_id,
            environment=deployment.environment, status=deployment.status,
            commit_sha=deployment.commit_sha, started_at=deployment.started_at,
            finished_at=deployment.finished_at, duration_seconds=deployment.duration_seconds,
            commit_at=deployment.commit_at, caused_incident=deployment.caused_incident,
            restored_at=deployment.restored_at,
        )  # fmt: skip


# -- through the library ------------------------------------------------------------------------


async def test_load_dataset_through_a_transaction(
    tmp_path: Path, extension_directory: Path, dataset: Dataset
) -> None:
    async with Database.open(
        tmp_path / "library.duckdb", extension_directory=extension_directory
    ) as db:
        async with db.engine.begin() as connection:  # no-op where migrations made the tables
            await connection.run_sync(Base.metadata.create_all)
        await load_dataset(db, dataset)
        async with db.transaction() as tx:
            counts = await tx.run_native(
                lambda c: {
                    name: c.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                    for name in TABLE_NAMES
                }
            )
        assert counts == dataset.row_counts()
        async with db.session() as session:
            message = (
                await session.scalars(sa.select(Message).order_by(Message.created_at.desc()))
            ).first()
        assert message is not None
        assert message.created_at.tzinfo is UTC
        assert message.created_at == max(dataset.messages["created_at"].to_pylist()).replace(
            tzinfo=UTC
        )


async def test_a_failed_load_leaves_nothing_behind(
    tmp_path: Path, extension_directory: Path, dataset: Dataset
) -> None:
    async with Database.open(
        tmp_path / "twice.duckdb", extension_directory=extension_directory
    ) as db:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await load_dataset(db, generate_dataset(1, projects=2))
        with pytest.raises(AlreadyExistsError):
            # the same ids again: the whole second load rolls back
            await load_dataset(db, generate_dataset(1, projects=2))
        async with db.transaction() as tx:
            projects = await tx.run_native(
                lambda c: c.execute("SELECT count(*) FROM projects").fetchone()[0]
            )
        assert projects == 2
