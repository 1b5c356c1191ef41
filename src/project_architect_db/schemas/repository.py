"""Schemas of the code-repository aggregate: repositories, builds, deployments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from project_architect_db.models.enums import (
    BuildStatus,
    DeploymentEnvironment,
    DeploymentStatus,
    RepositoryProvider,
    RepositoryVisibility,
)
from project_architect_db.schemas.common import (
    CommitSha,
    CreateSchema,
    JsonObject,
    ReadSchema,
    ShortText,
    UpdateSchema,
    UtcDateTime,
)

__all__ = [
    "BuildCreate",
    "BuildRead",
    "BuildUpdate",
    "DeploymentCreate",
    "DeploymentRead",
    "DeploymentUpdate",
    "RepositoryCreate",
    "RepositoryRead",
    "RepositoryUpdate",
    "RepositoryUrl",
]

_EXAMPLE_URL = "e.g. 'https://github.com/acme/atlas'"


def _normalise_repository_url(value: str) -> str:
    def fail(reason: str) -> PydanticCustomError:
        return PydanticCustomError(
            "repository_url", "{reason}, {example}", {"reason": reason, "example": _EXAMPLE_URL}
        )

    if any(char.isspace() or ord(char) < 32 for char in value):
        raise fail("URL must not contain spaces or control characters")
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        raise fail("URL has an invalid port") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise fail("URL must use http or https and name a host")
    if parts.username is not None or parts.password is not None:
        raise fail("URL must not embed credentials (user:token@); keep secrets out of the database")
    if parts.query or parts.fragment:
        raise fail("URL must not have a query string or fragment")
    # One spelling per repository, so the unique index on url catches duplicates: lowercase
    # scheme and host, no trailing slash, no ".git" suffix.
    path = parts.path.rstrip("/").removesuffix(".git")
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{path}"


RepositoryUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    AfterValidator(_normalise_repository_url),
]
"""An http(s) repository URL, normalised (lowercase host, no trailing ``/`` or ``.git``)."""


def _provider_from_url(data: dict[str, Any]) -> RepositoryProvider | None:
    host = urlsplit(data["url"]).hostname or ""
    for provider in (
        RepositoryProvider.GITHUB,
        RepositoryProvider.GITLAB,
        RepositoryProvider.BITBUCKET,
    ):
        if provider.value in host:
            return provider
    return None


def _owner_and_name(data: dict[str, Any]) -> tuple[str, str] | None:
    segments = urlsplit(data["url"]).path.strip("/").split("/")
    # GitHub and Bitbucket URLs are exactly /<owner>/<name>; GitLab nests groups.
    nested = data["provider"] in (RepositoryProvider.GITLAB, RepositoryProvider.LOCAL)
    if not all(segments) or len(segments) < 2 or (len(segments) > 2 and not nested):
        return None
    return "/".join(segments[:-1]), segments[-1]


def _owner_from_url(data: dict[str, Any]) -> str | None:
    parsed = _owner_and_name(data)
    return None if parsed is None else parsed[0]


def _name_from_url(data: dict[str, Any]) -> str | None:
    parsed = _owner_and_name(data)
    return None if parsed is None else parsed[1]


class RepositoryCreate(CreateSchema):
    """A new code repository. ``provider``, ``owner`` and ``name`` are read from ``url`` if omitted.

    Examples:
        >>> import uuid
        >>> repo = RepositoryCreate(project_id=uuid.uuid4(), url="https://GitHub.com/acme/atlas.git")
        >>> repo.url, repo.provider.value, repo.owner, repo.name
        ('https://github.com/acme/atlas', 'github', 'acme', 'atlas')
    """

    project_id: uuid.UUID
    url: RepositoryUrl
    provider: RepositoryProvider = Field(
        default_factory=_provider_from_url,
        validate_default=True,
        description="Read from the URL's host when omitted.",
    )
    owner: ShortText = Field(
        default_factory=_owner_from_url,
        validate_default=True,
        description="Read from the URL's path when omitted.",
    )
    name: ShortText = Field(
        default_factory=_name_from_url,
        validate_default=True,
        description="Read from the URL's path when omitted.",
    )
    default_branch: ShortText = "main"
    language: ShortText | None = None
    visibility: RepositoryVisibility = RepositoryVisibility.PRIVATE
    stars: NonNegativeInt = 0
    forks: NonNegativeInt = 0
    open_issues: NonNegativeInt = 0
    last_commit_at: UtcDateTime | None = None
    metadata_: JsonObject = Field(default_factory=dict, alias="metadata")

    @field_validator("provider", mode="before")
    @classmethod
    def _explain_missing_provider(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise PydanticCustomError(
                "provider_underivable",
                "cannot tell the provider from the URL '{url}': pass provider",
                {"url": info.data.get("url")},
            )
        return value

    @field_validator("owner", "name", mode="before")
    @classmethod
    def _explain_missing_owner_or_name(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise PydanticCustomError(
                "repository_url_path",
                "cannot read {field} from the URL '{url}': pass owner and name, or a URL like "
                "'https://github.com/<owner>/<name>'",
                {"field": info.field_name, "url": info.data.get("url")},
            )
        return value


class RepositoryUpdate(UpdateSchema):
    """A change to a repository (metadata refresh, rename, visibility ...).

    ``expected_version``, when given, makes the update fail with ``ConflictError`` unless the
    row is still at that version.
    """

    nullable_fields = frozenset({"language", "last_commit_at", "expected_version"})

    provider: RepositoryProvider | None = None
    owner: ShortText | None = None
    name: ShortText | None = None
    url: RepositoryUrl | None = None
    default_branch: ShortText | None = None
    language: ShortText | None = None
    visibility: RepositoryVisibility | None = None
    stars: NonNegativeInt | None = None
    forks: NonNegativeInt | None = None
    open_issues: NonNegativeInt | None = None
    last_commit_at: UtcDateTime | None = None
    metadata_: JsonObject | None = Field(default=None, alias="metadata")
    expected_version: int | None = Field(default=None, ge=1, exclude=True)


class RepositoryRead(ReadSchema):
    """A repository as stored."""

    id: uuid.UUID
    project_id: uuid.UUID
    provider: RepositoryProvider
    owner: str
    name: str
    url: str
    default_branch: str
    language: str | None
    visibility: RepositoryVisibility
    stars: int
    forks: int
    open_issues: int
    last_commit_at: datetime | None
    metadata_: dict[str, Any] = Field(
        validation_alias=AliasChoices("metadata_", "metadata"), serialization_alias="metadata"
    )
    created_at: datetime
    updated_at: datetime
    version: int


def _check_timing(
    started_at: datetime | None, finished_at: datetime | None, duration: float | None
) -> float | None:
    """Check the run's interval; return ``duration`` or, when missing, the interval's length."""
    if started_at is None or finished_at is None:
        return duration
    if finished_at < started_at:
        raise PydanticCustomError(
            "finished_before_started", "finished_at must not be earlier than started_at"
        )
    return (finished_at - started_at).total_seconds() if duration is None else duration


_DURATION_DESCRIPTION = "Computed from started_at and finished_at when omitted."


class BuildCreate(CreateSchema):
    """A CI build of a repository; the repository sets ``project_id``."""

    repository_id: uuid.UUID
    status: BuildStatus = BuildStatus.QUEUED
    commit_sha: CommitSha
    branch: ShortText
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    duration_seconds: NonNegativeFloat | None = Field(
        default=None, description=_DURATION_DESCRIPTION
    )
    trigger: ShortText | None = Field(default=None, description="e.g. push, pull_request.")

    @model_validator(mode="after")
    def _check_run_interval(self) -> Self:
        self.duration_seconds = _check_timing(
            self.started_at, self.finished_at, self.duration_seconds
        )
        return self


class BuildUpdate(UpdateSchema):
    """A build's progress: status and timing."""

    nullable_fields = frozenset({"started_at", "finished_at", "duration_seconds", "trigger"})

    status: BuildStatus | None = None
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    duration_seconds: NonNegativeFloat | None = None
    trigger: ShortText | None = None

    @model_validator(mode="after")
    def _check_run_interval(self) -> Self:
        _check_timing(self.started_at, self.finished_at, self.duration_seconds)
        return self


class BuildRead(ReadSchema):
    """A build as stored."""

    id: uuid.UUID
    repository_id: uuid.UUID
    project_id: uuid.UUID
    status: BuildStatus
    commit_sha: str
    branch: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    trigger: str | None
    created_at: datetime


def _check_restore(caused_incident: bool | None, restored_at: datetime | None) -> None:
    if restored_at is not None and caused_incident is False:
        raise PydanticCustomError(
            "restored_without_incident",
            "restored_at is the end of an incident: set caused_incident=True with it",
        )


class DeploymentCreate(CreateSchema):
    """A deployment of a commit; the repository sets ``project_id``.

    For the DORA metrics: ``commit_at`` (when the commit was authored) gives lead time,
    ``caused_incident`` the change-failure rate, ``restored_at`` the time to restore.
    """

    repository_id: uuid.UUID
    build_id: uuid.UUID | None = None
    environment: DeploymentEnvironment
    status: DeploymentStatus = DeploymentStatus.PENDING
    commit_sha: CommitSha
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    duration_seconds: NonNegativeFloat | None = Field(
        default=None, description=_DURATION_DESCRIPTION
    )
    commit_at: UtcDateTime | None = None
    caused_incident: bool = False
    restored_at: UtcDateTime | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        self.duration_seconds = _check_timing(
            self.started_at, self.finished_at, self.duration_seconds
        )
        _check_restore(self.caused_incident, self.restored_at)
        return self


class DeploymentUpdate(UpdateSchema):
    """A deployment's progress, or the incident it caused and its end."""

    nullable_fields = frozenset(
        {"build_id", "started_at", "finished_at", "duration_seconds", "commit_at", "restored_at"}
    )

    build_id: uuid.UUID | None = None
    status: DeploymentStatus | None = None
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    duration_seconds: NonNegativeFloat | None = None
    commit_at: UtcDateTime | None = None
    caused_incident: bool | None = None
    restored_at: UtcDateTime | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        _check_timing(self.started_at, self.finished_at, self.duration_seconds)
        _check_restore(self.caused_incident, self.restored_at)
        return self


class DeploymentRead(ReadSchema):
    """A deployment as stored."""

    id: uuid.UUID
    repository_id: uuid.UUID
    project_id: uuid.UUID
    build_id: uuid.UUID | None
    environment: DeploymentEnvironment
    status: DeploymentStatus
    commit_sha: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    commit_at: datetime | None
    caused_incident: bool
    restored_at: datetime | None
    created_at: datetime
