"""Repository, Build and Deployment schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from project_architect_db.models import (
    BuildStatus,
    DeploymentEnvironment,
    DeploymentStatus,
    RepositoryProvider,
    RepositoryVisibility,
)
from project_architect_db.schemas import (
    BuildCreate,
    BuildRead,
    BuildUpdate,
    DeploymentCreate,
    DeploymentRead,
    DeploymentUpdate,
    RepositoryCreate,
    RepositoryRead,
    RepositoryUpdate,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PROJECT = uuid.uuid4()
REPO = uuid.uuid4()


def error_at(error: ValidationError) -> dict[tuple[str | int, ...], str]:
    return {tuple(item["loc"]): item["type"] for item in error.errors()}


# -- repositories -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "stored", "provider", "owner", "name"),
    [
        (
            "https://GitHub.com/acme/atlas.git",
            "https://github.com/acme/atlas",
            RepositoryProvider.GITHUB,
            "acme",
            "atlas",
        ),
        (
            "https://gitlab.com/acme/platform/atlas/",
            "https://gitlab.com/acme/platform/atlas",
            RepositoryProvider.GITLAB,
            "acme/platform",
            "atlas",
        ),
        (
            "http://bitbucket.org/acme/atlas",
            "http://bitbucket.org/acme/atlas",
            RepositoryProvider.BITBUCKET,
            "acme",
            "atlas",
        ),
    ],
)
def test_repository_create_reads_provider_owner_and_name_from_the_url(
    url: str, stored: str, provider: RepositoryProvider, owner: str, name: str
) -> None:
    repository = RepositoryCreate(project_id=PROJECT, url=url)

    assert (repository.url, repository.provider) == (stored, provider)
    assert (repository.owner, repository.name) == (owner, name)
    assert repository.visibility is RepositoryVisibility.PRIVATE
    assert repository.default_branch == "main"


def test_repository_create_keeps_explicit_provider_owner_and_name() -> None:
    repository = RepositoryCreate(
        project_id=PROJECT,
        url="https://git.example.com:8443/x",
        provider="local",
        owner="me",
        name="tool",
    )

    assert repository.url == "https://git.example.com:8443/x"
    assert (repository.provider, repository.owner, repository.name) == ("local", "me", "tool")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://github.com/acme/atlas", "http or https"),
        ("https:///acme/atlas", "http or https"),
        ("github.com/acme/atlas", "http or https"),
        ("https://github.com/acme/at las", "spaces"),
        ("https://github.com:99999/acme/atlas", "port"),
        ("https://user:token@github.com/acme/atlas", "credentials"),
        ("https://github.com/acme/atlas?tab=readme", "query"),
    ],
)
def test_repository_create_rejects_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        RepositoryCreate(project_id=PROJECT, url=url, owner="acme", name="atlas", provider="github")

    assert error_at(caught.value) == {("url",): "repository_url"}


def test_repository_create_asks_for_owner_and_name_when_the_url_has_no_repo_path() -> None:
    with pytest.raises(ValidationError, match="pass owner and name") as caught:
        RepositoryCreate(project_id=PROJECT, url="https://github.com/acme/atlas/tree/main")

    assert error_at(caught.value)[("owner",)] == "repository_url_path"


def test_repository_create_asks_for_the_provider_of_an_unknown_host() -> None:
    with pytest.raises(ValidationError, match="pass provider") as caught:
        RepositoryCreate(project_id=PROJECT, url="https://git.example.com/acme/atlas")

    assert error_at(caught.value)[("provider",)] == "provider_underivable"


def test_repository_create_rejects_negative_stars() -> None:
    with pytest.raises(ValidationError) as caught:
        RepositoryCreate(project_id=PROJECT, url="https://github.com/a/b", stars=-1)

    assert error_at(caught.value) == {("stars",): "greater_than_equal"}


def test_repository_create_rejects_an_unknown_visibility() -> None:
    with pytest.raises(ValidationError) as caught:
        RepositoryCreate(project_id=PROJECT, url="https://github.com/a/b", visibility="secret")

    assert error_at(caught.value) == {("visibility",): "enum"}


def test_repository_update_refreshes_counters_and_normalises_the_url() -> None:
    update = RepositoryUpdate(stars=10, url="https://github.com/acme/atlas/", language=None)

    assert update.changes() == {
        "stars": 10,
        "url": "https://github.com/acme/atlas",
        "language": None,
    }


def test_repository_update_rejects_negative_open_issues() -> None:
    with pytest.raises(ValidationError):
        RepositoryUpdate(open_issues=-3)


def test_repository_update_rejects_a_naive_last_commit_time() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        RepositoryUpdate(last_commit_at=datetime(2025, 1, 1))


def test_repository_read_is_built_from_orm_attributes() -> None:
    stored = SimpleNamespace(
        id=uuid.uuid4(),
        project_id=PROJECT,
        provider=RepositoryProvider.GITHUB,
        owner="acme",
        name="atlas",
        url="https://github.com/acme/atlas",
        default_branch="main",
        language="Python",
        visibility=RepositoryVisibility.PUBLIC,
        stars=1,
        forks=0,
        open_issues=0,
        last_commit_at=None,
        metadata_={},
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )

    assert RepositoryRead.model_validate(stored).visibility is RepositoryVisibility.PUBLIC


def test_repository_read_rejects_an_unknown_provider() -> None:
    with pytest.raises(ValidationError):
        RepositoryRead.model_validate({"provider": "svn"})


def test_repository_read_rejects_a_missing_url() -> None:
    with pytest.raises(ValidationError):
        RepositoryRead.model_validate(SimpleNamespace(id=uuid.uuid4(), owner="acme"))


# -- builds -------------------------------------------------------------------------------------


def test_build_create_computes_the_duration_from_its_interval() -> None:
    build = BuildCreate(
        repository_id=REPO,
        commit_sha="ABCDEF1234",
        branch="main",
        status="success",
        started_at="2025-01-01T01:00:00+01:00",
        finished_at=NOW + timedelta(seconds=90),
        trigger="push",
    )

    assert build.commit_sha == "abcdef1234"
    assert build.status is BuildStatus.SUCCESS
    assert build.started_at == NOW
    assert build.duration_seconds == 90.0


def test_build_create_keeps_a_given_duration() -> None:
    build = BuildCreate(
        repository_id=REPO,
        commit_sha="abcdef1",
        branch="main",
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=90),
        duration_seconds=60.0,
    )

    assert build.duration_seconds == 60.0


def test_build_create_rejects_a_bad_commit_sha() -> None:
    with pytest.raises(ValidationError) as caught:
        BuildCreate(repository_id=REPO, commit_sha="main", branch="main")

    assert error_at(caught.value) == {("commit_sha",): "commit_sha"}


def test_build_create_rejects_finishing_before_starting() -> None:
    with pytest.raises(ValidationError, match="earlier than started_at"):
        BuildCreate(
            repository_id=REPO,
            commit_sha="abcdef1",
            branch="main",
            started_at=NOW,
            finished_at=NOW - timedelta(seconds=1),
        )


def test_build_create_rejects_a_negative_duration() -> None:
    with pytest.raises(ValidationError):
        BuildCreate(repository_id=REPO, commit_sha="abcdef1", branch="main", duration_seconds=-1)


def test_build_create_rejects_the_project_id_the_repository_assigns() -> None:
    with pytest.raises(ValidationError):
        BuildCreate(repository_id=REPO, commit_sha="abcdef1", branch="main", project_id=PROJECT)  # type: ignore[call-arg]


def test_build_update_records_progress() -> None:
    update = BuildUpdate(status="running", started_at=NOW)

    assert update.changes() == {"status": BuildStatus.RUNNING, "started_at": NOW}


def test_build_update_rejects_an_unknown_status() -> None:
    with pytest.raises(ValidationError):
        BuildUpdate(status="exploded")


def test_build_update_rejects_finishing_before_starting() -> None:
    with pytest.raises(ValidationError, match="earlier"):
        BuildUpdate(started_at=NOW, finished_at=NOW - timedelta(minutes=1))


def test_build_read_is_built_from_orm_attributes() -> None:
    stored = SimpleNamespace(
        id=uuid.uuid4(),
        repository_id=REPO,
        project_id=PROJECT,
        status=BuildStatus.FAILURE,
        commit_sha="abcdef1",
        branch="main",
        started_at=NOW,
        finished_at=None,
        duration_seconds=None,
        trigger=None,
        created_at=NOW,
    )

    assert BuildRead.model_validate(stored).status is BuildStatus.FAILURE


def test_build_read_rejects_an_unknown_status() -> None:
    with pytest.raises(ValidationError):
        BuildRead.model_validate({"status": "exploded"})


def test_build_read_rejects_a_missing_commit_sha() -> None:
    with pytest.raises(ValidationError):
        BuildRead.model_validate(SimpleNamespace(id=uuid.uuid4(), branch="main"))


# -- deployments --------------------------------------------------------------------------------


def test_deployment_create_records_what_dora_metrics_need() -> None:
    deployment = DeploymentCreate(
        repository_id=REPO,
        environment="production",
        status="success",
        commit_sha="abcdef1",
        commit_at=NOW - timedelta(hours=5),
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=2),
        caused_incident=True,
        restored_at=NOW + timedelta(hours=1),
    )

    assert deployment.environment is DeploymentEnvironment.PRODUCTION
    assert deployment.status is DeploymentStatus.SUCCESS
    assert deployment.duration_seconds == 120.0
    assert deployment.build_id is None


def test_deployment_create_rejects_an_unknown_environment() -> None:
    with pytest.raises(ValidationError) as caught:
        DeploymentCreate(repository_id=REPO, environment="prod", commit_sha="abcdef1")

    assert error_at(caught.value) == {("environment",): "enum"}


def test_deployment_create_rejects_a_restore_without_an_incident() -> None:
    with pytest.raises(ValidationError, match="caused_incident=True"):
        DeploymentCreate(
            repository_id=REPO, environment="staging", commit_sha="abcdef1", restored_at=NOW
        )


def test_deployment_create_rejects_a_naive_commit_time() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        DeploymentCreate(
            repository_id=REPO,
            environment="staging",
            commit_sha="abcdef1",
            commit_at=datetime(2025, 1, 1),
        )


def test_deployment_update_marks_an_incident_and_its_restore() -> None:
    update = DeploymentUpdate(caused_incident=True, restored_at=NOW)

    assert update.changes() == {"caused_incident": True, "restored_at": NOW}


def test_deployment_update_rejects_a_restore_on_a_clean_deployment() -> None:
    with pytest.raises(ValidationError):
        DeploymentUpdate(caused_incident=False, restored_at=NOW)


def test_deployment_update_rejects_null_for_the_status() -> None:
    with pytest.raises(ValidationError, match="status cannot be null"):
        DeploymentUpdate(status=None)


def test_deployment_read_is_built_from_orm_attributes() -> None:
    stored = SimpleNamespace(
        id=uuid.uuid4(),
        repository_id=REPO,
        project_id=PROJECT,
        build_id=None,
        environment=DeploymentEnvironment.STAGING,
        status=DeploymentStatus.ROLLED_BACK,
        commit_sha="abcdef1",
        started_at=None,
        finished_at=None,
        duration_seconds=None,
        commit_at=None,
        caused_incident=False,
        restored_at=None,
        created_at=NOW,
    )

    assert DeploymentRead.model_validate(stored).status is DeploymentStatus.ROLLED_BACK


def test_deployment_read_rejects_an_unknown_status() -> None:
    with pytest.raises(ValidationError):
        DeploymentRead.model_validate({"status": "exploded"})


def test_deployment_read_rejects_a_missing_environment() -> None:
    with pytest.raises(ValidationError):
        DeploymentRead.model_validate(SimpleNamespace(id=uuid.uuid4(), commit_sha="abcdef1"))
