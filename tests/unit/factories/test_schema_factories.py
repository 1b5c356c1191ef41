"""The schema factories: valid, realistic, consistent, and a pure function of the seed."""

from __future__ import annotations

import itertools
import statistics
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.models import uuid7_time_ms
from project_architect_db.schemas import (
    AttachmentCreate,
    BuildCreate,
    ConversationCreate,
    DeploymentCreate,
    DocumentCreate,
    DocumentUpdate,
    DocumentVersionRead,
    MessageCreate,
    ProjectCreate,
    RepositoryCreate,
    content_digest,
    slugify,
)
from project_architect_db.testing.factories import (
    REFERENCE_NOW,
    AttachmentCreateFactory,
    BuildCreateFactory,
    ConversationCreateFactory,
    DeploymentCreateFactory,
    DocumentCreateFactory,
    DocumentUpdateFactory,
    DocumentVersionReadFactory,
    MessageCreateFactory,
    ProjectCreateFactory,
    RepositoryCreateFactory,
    SchemaFactory,
    build_thread,
    seed_factories,
)

FACTORIES: list[tuple[type[SchemaFactory[Any]], type[BaseModel]]] = [
    (ProjectCreateFactory, ProjectCreate),
    (ConversationCreateFactory, ConversationCreate),
    (MessageCreateFactory, MessageCreate),
    (AttachmentCreateFactory, AttachmentCreate),
    (DocumentCreateFactory, DocumentCreate),
    (DocumentUpdateFactory, DocumentUpdate),
    (DocumentVersionReadFactory, DocumentVersionRead),
    (RepositoryCreateFactory, RepositoryCreate),
    (BuildCreateFactory, BuildCreate),
    (DeploymentCreateFactory, DeploymentCreate),
]
IDS = [factory.__name__ for factory, _ in FACTORIES]


@pytest.fixture(autouse=True)
def _seeded() -> None:
    seed_factories(1234)


def _everything(batch: int = 20) -> list[list[BaseModel]]:
    made: list[list[BaseModel]] = [factory.build_batch(batch) for factory, _ in FACTORIES]
    made.append(list(build_thread(12)))
    return made


def _datetimes(obj: BaseModel) -> list[datetime]:
    return [v for v in obj.__dict__.values() if isinstance(v, datetime)]


# -- validity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("factory", "schema"), FACTORIES, ids=IDS)
def test_every_object_is_a_valid_schema_instance(
    factory: type[SchemaFactory[Any]], schema: type[BaseModel]
) -> None:
    for obj in factory.build_batch(200):
        assert type(obj) is schema
        # Revalidating what it serialises to gives the same object back.
        computed = set(type(obj).model_computed_fields)
        data = obj.model_dump(
            by_alias=True, exclude=computed, exclude_unset=isinstance(obj, DocumentUpdate)
        )
        if isinstance(obj, MessageCreate):
            data["attachments"] = [a.model_dump(by_alias=True) for a in obj.attachments]
        assert schema.model_validate(data) == obj


@pytest.mark.parametrize(("factory", "schema"), FACTORIES, ids=IDS)
def test_create_is_build(factory: type[SchemaFactory[Any]], schema: type[BaseModel]) -> None:
    assert isinstance(factory.create(), schema)
    assert all(isinstance(obj, schema) for obj in factory.create_batch(3))


def test_timestamps_are_aware_utc_and_not_after_now() -> None:
    for batch in _everything(100):
        for obj in batch:
            for value in _datetimes(obj):
                assert value.tzinfo is UTC or value.utcoffset() == timedelta(0)
                assert REFERENCE_NOW - timedelta(days=800) < value <= REFERENCE_NOW


# -- determinism --------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_objects() -> None:
    seed_factories(99)
    first = _everything()
    seed_factories(99)
    assert _everything() == first


def test_a_different_seed_gives_different_objects() -> None:
    seed_factories(1)
    first = _everything()
    seed_factories(2)
    second = _everything()
    for a, b in zip(first, second, strict=True):
        assert a != b


def test_output_depends_on_now_not_on_the_clock() -> None:
    later = REFERENCE_NOW + timedelta(days=365)
    seed_factories(5, now=later)
    builds = BuildCreateFactory.build_batch(50)
    seed_factories(5)
    shifted = BuildCreateFactory.build_batch(50)
    for build, reference in zip(builds, shifted, strict=True):
        if build.started_at is not None and reference.started_at is not None:
            assert build.started_at - reference.started_at == timedelta(days=365)
        assert build.commit_sha == reference.commit_sha


def test_ids_are_seeded_time_ordered_uuid7() -> None:
    ids = [c.project_id for c in ConversationCreateFactory.build_batch(100)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(uuid7_time_ms(i) <= REFERENCE_NOW.timestamp() * 1000 for i in ids)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        seed_factories(1, now=datetime(2025, 1, 1))


# -- realism and consistency --------------------------------------------------------------------


def test_projects_have_unique_slugs_matching_their_names() -> None:
    projects = ProjectCreateFactory.build_batch(2000)
    slugs = [p.slug for p in projects]
    assert len(set(slugs)) == len(slugs)
    assert all(p.slug == slugify(p.name) for p in projects)
    assert all(len(p.name.split()) >= 3 for p in projects)  # "Atlas Billing Platform"


def test_uniqueness_restarts_with_the_seed() -> None:
    first = ProjectCreateFactory.build()
    seed_factories(1234)
    assert ProjectCreateFactory.build().slug == first.slug


def test_project_phase_fits_status_and_stack_is_coherent() -> None:
    projects = ProjectCreateFactory.build_batch(500)
    statuses = Counter(p.status.value for p in projects)
    assert statuses.most_common(1)[0][0] == "active"
    assert set(statuses) == set(vocab.PROJECT_STATUSES)
    for project in projects:
        if project.status == "draft":
            assert project.phase in ("requirements", "architecture", "design")
        if project.status == "completed":
            assert project.phase in ("implementation", "deployment")
        architecture = project.architecture
        assert {"style", "database", "services", "deployment"} <= set(architecture)
        assert architecture["style"] in vocab.ARCHITECTURE_STYLES
        assert project.tech_stack[0] in {framework for _, framework in vocab.BACKENDS}
        assert set(project.tags) <= set(vocab.TAGS)


def test_overrides_flow_into_dependent_fields() -> None:
    project = ProjectCreateFactory.build(name="Crème Brûlée App", status="completed")
    assert project.slug == "creme-brulee-app"
    assert project.phase in ("implementation", "deployment")
    running = BuildCreateFactory.build(status="running")
    assert running.started_at is not None
    assert running.finished_at is None
    queued = BuildCreateFactory.build(status="queued")
    assert queued.started_at is None
    assert queued.duration_seconds is None


def test_conversation_titles_belong_to_their_phase() -> None:
    for conversation in ConversationCreateFactory.build_batch(200):
        assert conversation.title in vocab.CONVERSATION_TITLES[conversation.phase.value]


def test_messages_alternate_and_content_fits_role_and_type() -> None:
    messages = MessageCreateFactory.build_batch(400)
    roles = [m.role.value for m in messages]
    assert roles[1::2] == ["assistant"] * 200
    assert set(roles[0::2]) <= {"user", "tool"}
    assert Counter(roles[0::2])["user"] > 150
    times = [m.created_at for m in messages if m.created_at is not None]
    assert len(times) == len(messages)
    assert times == sorted(times)
    for message in messages:
        if message.type == "code":
            assert "```" in message.content
        if message.type == "table":
            assert "| --- |" in message.content
    ratios = [m.token_count / len(m.content) for m in messages]
    assert 0.2 < statistics.median(ratios) < 0.3  # ~4 characters per token


def test_build_thread_orders_roles_and_times() -> None:
    started = REFERENCE_NOW - timedelta(days=10)
    for _ in range(30):
        thread = build_thread(25, started_at=started, attachment_rate=0.5)
        roles = [m.role.value for m in thread]
        turns = roles[1:] if roles[0] == "system" else roles
        assert "system" not in turns
        assert all(r == "assistant" for r in turns[1::2])
        assert all(r in ("user", "tool") for r in turns[0::2])
        assert turns[0] == "user"
        times = [m.created_at for m in thread]
        assert all(t is not None and t > started for t in times)
        assert all(a < b for a, b in itertools.pairwise(times))  # type: ignore[operator]
        assert all(not m.attachments or m.role == "user" for m in thread)
    assert any(m.attachments for m in build_thread(60, attachment_rate=1.0))
    assert [m.role.value for m in build_thread(2, system_prompt=True)] == ["system", "user"]
    assert build_thread(0) == []


def test_build_thread_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="count must be >= 0"):
        build_thread(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_thread(2, started_at=datetime(2025, 1, 1))


def test_documents_are_markdown_with_unique_paths() -> None:
    documents = DocumentCreateFactory.build_batch(300)
    paths = [d.path for d in documents]
    assert len(set(paths)) == len(paths)
    for document in documents:
        assert document.content.startswith("# ")
        assert (document.content_hash, document.size_bytes) == content_digest(document.content)
    adrs = [d for d in documents if d.doc_type == "adr"]
    assert adrs
    for adr in adrs:
        assert adr.path.startswith("docs/adr/")
        for heading in ("## Status", "## Context", "## Decision", "## Consequences"):
            assert heading in adr.content


def test_document_revisions_and_versions() -> None:
    document = DocumentCreateFactory.build()
    revision = DocumentUpdateFactory.build(base_content=document.content)
    assert revision.content is not None
    assert revision.content.startswith(document.content.rstrip("\n"))
    assert "## Update " in revision.content
    versions = DocumentVersionReadFactory.build_batch(3, document=document)
    assert [v.version for v in versions] == [1, 2, 3]
    assert {v.project_id for v in versions} == {document.project_id}
    assert [v.created_at for v in versions] == sorted(v.created_at for v in versions)
    for version in versions:
        assert (version.content_hash, version.size_bytes) == content_digest(version.content)
        assert uuid7_time_ms(version.id) == int(version.created_at.timestamp() * 1000)


def test_repositories_are_consistent_with_their_url_and_long_tailed() -> None:
    repositories = RepositoryCreateFactory.build_batch(1000)
    urls = [r.url for r in repositories]
    assert len(set(urls)) == len(urls)
    hosts = dict(zip(vocab.PROVIDERS, vocab.PROVIDER_HOSTS, strict=True))
    for repository in repositories:
        assert (
            repository.url == f"{hosts[repository.provider]}/{repository.owner}/{repository.name}"
        )
    public = sorted(r.stars for r in repositories if r.visibility == "public")
    assert public[-1] > 20 * max(1, statistics.median(public))
    private = [r.stars for r in repositories if r.visibility == "private"]
    assert statistics.median(private) == 0
    assert Counter(r.provider.value for r in repositories).most_common(1)[0][0] == "github"


def test_builds_mix_successes_and_failures_with_consistent_timing() -> None:
    builds = BuildCreateFactory.build_batch(1000)
    statuses = Counter(b.status.value for b in builds)
    assert statuses["success"] > 600
    assert 50 < statuses["failure"] < 300
    for build in builds:
        if build.started_at is not None and build.finished_at is not None:
            assert build.finished_at >= build.started_at
            assert build.duration_seconds == (build.finished_at - build.started_at).total_seconds()
    medians = {
        status: statistics.median(
            b.duration_seconds for b in builds if b.status == status and b.duration_seconds
        )
        for status in ("success", "failure")
    }
    assert medians["failure"] < medians["success"]


def test_deployments_follow_their_commits_and_incidents_get_restored() -> None:
    deployments = DeploymentCreateFactory.build_batch(2000)
    environments = Counter(d.environment.value for d in deployments)
    assert environments["staging"] > environments["production"] > environments["development"]
    incidents = [d for d in deployments if d.caused_incident]
    assert incidents
    for deployment in deployments:
        assert deployment.commit_at is not None
        assert deployment.commit_at < (deployment.started_at or REFERENCE_NOW)
        if deployment.finished_at is not None:
            assert deployment.started_at is not None
            assert deployment.finished_at >= deployment.started_at
        if deployment.caused_incident:
            assert deployment.environment == "production"
            assert deployment.finished_at is not None
            if deployment.restored_at is not None:
                assert deployment.restored_at > deployment.finished_at
        else:
            assert deployment.restored_at is None


def test_attachments_have_matching_types() -> None:
    for attachment in AttachmentCreateFactory.build_batch(100):
        extension = attachment.url.rsplit(".", 1)[1]
        assert (attachment.file_type, extension) in {(t, e) for t, e, _ in vocab.ATTACHMENT_TYPES}
        assert attachment.size_bytes is not None
        assert attachment.size_bytes > 0
