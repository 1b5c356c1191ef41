"""CodeRepositoryRepository verbs: upserts from URLs and webhooks, builds and deployments."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from project_architect_db import (
    AlreadyExistsError,
    ConflictError,
    Database,
    IntegrityError,
    InvalidQueryError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.models.enums import (
    BuildStatus,
    RepositoryProvider,
    RepositoryVisibility,
)
from project_architect_db.repositories import Change
from project_architect_db.schemas import BuildCreate, DeploymentCreate, ProjectRead, RepositoryRead

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)

PUSH: dict[str, Any] = {
    "ref": "refs/heads/main",
    "after": "3f2a9c1d",
    "repository": {
        "id": 123,
        "name": "atlas",
        "full_name": "acme/atlas",
        "html_url": "https://github.com/acme/atlas",
        "owner": {"login": "acme", "id": 9},
        "default_branch": "trunk",
        "language": "Python",
        "private": False,
        "stargazers_count": 42,
        "forks_count": 7,
        "open_issues_count": 3,
        "pushed_at": "2025-03-01T10:00:00Z",
    },
    "pusher": {"name": "ada"},
}


# -- upsert_from_url ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "provider", "owner", "name"),
    [
        ("https://github.com/acme/atlas.git", RepositoryProvider.GITHUB, "acme", "atlas"),
        (
            "https://gitlab.com/acme/platform/atlas",
            RepositoryProvider.GITLAB,
            "acme/platform",
            "atlas",
        ),
        ("https://bitbucket.org/acme/atlas/", RepositoryProvider.BITBUCKET, "acme", "atlas"),
    ],
)
async def test_upsert_from_url_reads_provider_owner_and_name(
    db: Database, project: ProjectRead, url: str, provider: str, owner: str, name: str
) -> None:
    repo = await db.code_repositories.upsert_from_url(project.id, url, language="python")
    assert (repo.provider, repo.owner, repo.name, repo.language) == (
        provider,
        owner,
        name,
        "python",
    )
    assert repo.url == url.rstrip("/").removesuffix(".git")


async def test_upsert_from_url_refreshes_only_the_fields_given(
    db: Database, project: ProjectRead
) -> None:
    url = "https://github.com/acme/atlas"
    first = await db.code_repositories.upsert_from_url(project.id, url, stars=10, language="go")
    same = await db.code_repositories.upsert_from_url(project.id, url + ".git")
    assert same == first  # nothing given, nothing changed, version kept
    starred = await db.code_repositories.upsert_from_url(project.id, url, stars=11)
    assert (starred.id, starred.stars, starred.language, starred.version) == (
        first.id,
        11,
        "go",
        2,
    )
    assert await db.code_repositories.count() == 1


async def test_upsert_from_url_refuses_bad_urls_and_missing_projects(
    db: Database, project: ProjectRead
) -> None:
    with pytest.raises(ValidationError, match="url"):
        await db.code_repositories.upsert_from_url(project.id, "ftp://github.com/acme/atlas")
    with pytest.raises(ValidationError, match="credentials"):
        await db.code_repositories.upsert_from_url(project.id, "https://me:tok@github.com/a/b")
    with pytest.raises(ValidationError, match="stars"):
        await db.code_repositories.upsert_from_url(project.id, "https://github.com/a/b", stars=-1)
    with pytest.raises(IntegrityError, match="project"):
        await db.code_repositories.upsert_from_url(uuid.uuid4(), "https://github.com/acme/atlas")
    assert await db.code_repositories.count() == 0


async def test_a_repository_cannot_move_to_another_project(
    db: Database, project: ProjectRead, repository: RepositoryRead
) -> None:
    other = await db.projects.create({"name": "Other"})
    with pytest.raises(AlreadyExistsError, match="cannot move"):
        await db.code_repositories.upsert_from_url(other.id, repository.url)
    with pytest.raises(AlreadyExistsError, match="cannot move"):
        await db.code_repositories.upsert({"project_id": other.id, "url": repository.url})
    with pytest.raises(AlreadyExistsError, match="cannot move"):
        await db.code_repositories.bulk_upsert([{"project_id": other.id, "url": repository.url}])
    assert (await db.code_repositories.get(repository.id)).project_id == project.id
    refreshed = await db.code_repositories.upsert({"project_id": project.id, "url": repository.url})
    assert refreshed.version == 2


# -- upsert_from_webhook -----------------------------------------------------------------------
async def test_upsert_from_webhook_creates_then_refreshes(
    db: Database, project: ProjectRead
) -> None:
    repo = await db.code_repositories.upsert_from_webhook(project.id, PUSH)
    assert (repo.owner, repo.name, repo.provider) == ("acme", "atlas", RepositoryProvider.GITHUB)
    assert (repo.default_branch, repo.language, repo.visibility) == (
        "trunk",
        "Python",
        RepositoryVisibility.PUBLIC,
    )
    assert (repo.stars, repo.forks, repo.open_issues) == (42, 7, 3)
    assert repo.last_commit_at == datetime(2025, 3, 1, 10, tzinfo=UTC)

    later = copy.deepcopy(PUSH)
    later["repository"].update({"stargazers_count": 43, "private": True, "pushed_at": 1741000000})
    subscription = db.changes(aggregates="repositories")
    refreshed = await db.code_repositories.upsert_from_webhook(project.id, later)
    assert (refreshed.id, refreshed.stars, refreshed.version) == (repo.id, 43, 2)
    assert refreshed.visibility is RepositoryVisibility.PRIVATE
    assert refreshed.last_commit_at == datetime.fromtimestamp(1741000000, UTC)
    change = await anext(subscription)
    assert isinstance(change, Change)
    assert (change.kind, change.project_id) == ("updated", project.id)
    subscription.close()
    assert await db.code_repositories.upsert_from_webhook(project.id, later) == refreshed


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"zen": "Keep it logically awesome."}, "repository"),
        ({"repository": {"name": "atlas", "owner": {"login": "acme"}}}, "html_url"),
        ({"repository": {**PUSH["repository"], "owner": {}}}, "owner"),
        ({"repository": {**PUSH["repository"], "stargazers_count": -4}}, "stargazers_count"),
        ({"repository": {**PUSH["repository"], "pushed_at": "yesterday"}}, "pushed_at"),
        ({"repository": {**PUSH["repository"], "pushed_at": "2025-03-01T10:00:00"}}, "pushed_at"),
        ({"repository": {**PUSH["repository"], "html_url": "not a url"}}, "url"),
    ],
)
async def test_a_malformed_webhook_payload_raises_a_clear_validation_error(
    db: Database, project: ProjectRead, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        await db.code_repositories.upsert_from_webhook(project.id, payload)
    assert await db.code_repositories.count() == 0


async def test_a_webhook_that_is_not_a_dict_or_for_a_missing_project_is_refused(
    db: Database,
) -> None:
    with pytest.raises(ValidationError, match=r"GitHub webhook payload|dict"):
        await db.code_repositories.upsert_from_webhook(uuid.uuid4(), "{}")  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        await db.code_repositories.upsert_from_webhook(uuid.uuid4(), PUSH)


# -- builds ------------------------------------------------------------------------------------
async def test_record_and_finish_a_build(db: Database, repository: RepositoryRead) -> None:
    build = await db.code_repositories.record_build(
        repository.id,
        {"commit_sha": "ABC1234", "branch": "main", "status": "running", "started_at": T0},
    )
    assert (build.project_id, build.commit_sha, build.duration_seconds) == (
        repository.project_id,
        "abc1234",
        None,
    )
    finished = await db.code_repositories.finish_build(
        build.id, "success", T0 + timedelta(seconds=95)
    )
    assert finished.status is BuildStatus.SUCCESS
    assert finished.duration_seconds == 95.0
    assert finished.finished_at == T0 + timedelta(seconds=95)
    typed = await db.code_repositories.record_build(
        repository.id,
        BuildCreate(repository_id=repository.id, commit_sha="def5678", branch="dev"),
    )
    unstarted = await db.code_repositories.finish_build(typed.id, BuildStatus.CANCELLED)
    assert unstarted.duration_seconds is None
    assert unstarted.finished_at is not None


async def test_record_build_refuses_missing_or_mismatched_repositories(
    db: Database, repository: RepositoryRead
) -> None:
    build = {"commit_sha": "abc1234", "branch": "main"}
    with pytest.raises(IntegrityError, match="repository"):
        await db.code_repositories.record_build(uuid.uuid4(), build)
    with pytest.raises(ValidationError, match="names repository"):
        await db.code_repositories.record_build(
            repository.id, {**build, "repository_id": uuid.uuid4()}
        )
    with pytest.raises(ValidationError, match="commit_sha"):
        await db.code_repositories.record_build(repository.id, {**build, "commit_sha": "zz"})
    assert (await db.code_repositories.builds(repository.id)).items == []


async def test_finish_build_refuses_bad_statuses_times_and_second_finishes(
    db: Database, repository: RepositoryRead
) -> None:
    build = await db.code_repositories.record_build(
        repository.id, {"commit_sha": "abc1234", "branch": "main", "started_at": T0}
    )
    with pytest.raises(ValidationError, match="finished build"):
        await db.code_repositories.finish_build(build.id, "running")
    with pytest.raises(ValidationError, match="status"):
        await db.code_repositories.finish_build(build.id, "exploded")
    with pytest.raises(ValidationError, match="earlier"):
        await db.code_repositories.finish_build(build.id, "failure", T0 - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="naive"):
        await db.code_repositories.finish_build(build.id, "failure", datetime(2025, 3, 1, 10))
    with pytest.raises(NotFoundError):
        await db.code_repositories.finish_build(uuid.uuid4(), "failure")
    await db.code_repositories.finish_build(build.id, "failure", T0 + timedelta(minutes=1))
    with pytest.raises(ConflictError, match="already finished"):
        await db.code_repositories.finish_build(build.id, "success")


async def test_builds_pages_newest_first_with_filters(
    db: Database, repository: RepositoryRead
) -> None:
    for i in range(7):
        await db.code_repositories.record_build(
            repository.id,
            {"commit_sha": f"abc{i:04d}", "branch": "main" if i % 2 else "dev", "status": "queued"},
        )
    page = await db.code_repositories.builds(repository.id, limit=4)
    assert [b.commit_sha for b in page.items] == ["abc0006", "abc0005", "abc0004", "abc0003"]
    rest = await db.code_repositories.builds(repository.id, limit=4, cursor=page.next_cursor)
    assert [b.commit_sha for b in rest.items] == ["abc0002", "abc0001", "abc0000"]
    main = await db.code_repositories.builds(repository.id, branch="main")
    assert len(main.items) == 3
    with pytest.raises(NotFoundError):
        await db.code_repositories.builds(uuid.uuid4())
    with pytest.raises(InvalidQueryError):
        await db.code_repositories.builds(repository.id, colour="red")


# -- deployments -------------------------------------------------------------------------------
async def test_record_deployment_of_a_build(db: Database, repository: RepositoryRead) -> None:
    build = await db.code_repositories.record_build(
        repository.id, {"commit_sha": "abc1234", "branch": "main"}
    )
    deployment = await db.code_repositories.record_deployment(
        repository.id,
        DeploymentCreate(
            repository_id=repository.id,
            build_id=build.id,
            environment="production",
            status="success",
            commit_sha="abc1234",
            started_at=T0,
            finished_at=T0 + timedelta(minutes=2),
            commit_at=T0 - timedelta(hours=5),
        ),
    )
    assert (deployment.project_id, deployment.build_id, deployment.duration_seconds) == (
        repository.project_id,
        build.id,
        120.0,
    )
    staging = await db.code_repositories.record_deployment(
        repository.id, {"environment": "staging", "commit_sha": "abc1234"}
    )
    page = await db.code_repositories.deployments(repository.id, environment="production")
    assert [d.id for d in page.items] == [deployment.id]
    everything = await db.code_repositories.deployments(repository.id)
    assert [d.id for d in everything.items] == [staging.id, deployment.id]


async def test_record_deployment_refuses_foreign_or_missing_builds(
    db: Database, project: ProjectRead, repository: RepositoryRead
) -> None:
    other = await db.code_repositories.upsert_from_url(project.id, "https://github.com/acme/other")
    foreign = await db.code_repositories.record_build(
        other.id, {"commit_sha": "abc1234", "branch": "main"}
    )
    deployment = {"environment": "production", "commit_sha": "abc1234"}
    with pytest.raises(IntegrityError, match="belongs to repository"):
        await db.code_repositories.record_deployment(
            repository.id, {**deployment, "build_id": foreign.id}
        )
    with pytest.raises(IntegrityError, match="build"):
        await db.code_repositories.record_deployment(
            repository.id, {**deployment, "build_id": uuid.uuid4()}
        )
    with pytest.raises(IntegrityError, match="repository"):
        await db.code_repositories.record_deployment(uuid.uuid4(), deployment)
    with pytest.raises(ValidationError, match="environment"):
        await db.code_repositories.record_deployment(repository.id, {"commit_sha": "abc1234"})
    with pytest.raises(NotFoundError):
        await db.code_repositories.deployments(uuid.uuid4())
    with pytest.raises(InvalidQueryError):
        await db.code_repositories.deployments(repository.id, limit=-1)
    assert (await db.code_repositories.deployments(repository.id)).items == []
