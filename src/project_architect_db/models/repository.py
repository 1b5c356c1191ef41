"""Code repositories of a project and their CI/CD history (builds, deployments)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Mapped, mapped_column

from project_architect_db.models.base import (
    Base,
    CreatedAt,
    HasMetadata,
    Timestamps,
    UUIDPrimaryKey,
    Versioned,
    enum_type,
    many_to_one,
    non_negative,
    one_to_many,
)
from project_architect_db.models.enums import (
    BuildStatus,
    DeploymentEnvironment,
    DeploymentStatus,
    RepositoryProvider,
    RepositoryVisibility,
)

if TYPE_CHECKING:
    from project_architect_db.models.project import Project

__all__ = ["Build", "Deployment", "Repository"]


class Repository(UUIDPrimaryKey, Timestamps, Versioned, HasMetadata, Base):
    """A code repository created for a project (``owner/name`` at ``url``)."""

    __tablename__ = "repositories"
    __table_args__ = non_negative("stars", "forks", "open_issues")

    project_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider: Mapped[RepositoryProvider] = mapped_column(
        enum_type(RepositoryProvider), default=RepositoryProvider.GITHUB
    )
    owner: Mapped[str]
    name: Mapped[str]
    url: Mapped[str] = mapped_column(index=True, unique=True)
    default_branch: Mapped[str] = mapped_column(default="main")
    language: Mapped[str | None]
    visibility: Mapped[RepositoryVisibility] = mapped_column(
        enum_type(RepositoryVisibility), default=RepositoryVisibility.PRIVATE
    )
    stars: Mapped[int] = mapped_column(default=0)
    forks: Mapped[int] = mapped_column(default=0)
    open_issues: Mapped[int] = mapped_column(default=0)
    last_commit_at: Mapped[datetime | None]

    project: Mapped[Project] = many_to_one(
        "Repository", "project_id", "Project", back_populates="repositories"
    )
    builds: Mapped[list[Build]] = one_to_many(
        "Repository", "Build", "repository_id", back_populates="repository"
    )
    deployments: Mapped[list[Deployment]] = one_to_many(
        "Repository", "Deployment", "repository_id", back_populates="repository"
    )

    def __repr__(self) -> str:
        return f"Repository(id={self.id!s}, url={self.url!r})"


class Build(UUIDPrimaryKey, CreatedAt, Base):
    """One CI run of a repository at a commit."""

    __tablename__ = "builds"
    __table_args__ = non_negative("duration_seconds")

    repository_id: Mapped[uuid.UUID] = mapped_column(index=True)
    project_id: Mapped[uuid.UUID]  # denormalised from the repository
    status: Mapped[BuildStatus] = mapped_column(enum_type(BuildStatus), default=BuildStatus.QUEUED)
    commit_sha: Mapped[str]
    branch: Mapped[str]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None]
    trigger: Mapped[str | None]  # what started it: "push", "pull_request", "schedule", ...

    repository: Mapped[Repository] = many_to_one(
        "Build", "repository_id", "Repository", back_populates="builds"
    )
    project: Mapped[Project] = many_to_one(
        "Build", "project_id", "Project", back_populates="builds"
    )
    deployments: Mapped[list[Deployment]] = one_to_many(
        "Build", "Deployment", "build_id", back_populates="build"
    )

    def __repr__(self) -> str:
        return f"Build(id={self.id!s}, commit_sha={self.commit_sha!r}, status={self.status!s})"


class Deployment(UUIDPrimaryKey, CreatedAt, Base):
    """One deployment of a commit to an environment, with what DORA metrics need.

    ``commit_at`` (when the commit was authored) gives lead time; ``caused_incident`` the
    change-failure rate; ``restored_at`` the time to restore.
    """

    __tablename__ = "deployments"
    __table_args__ = non_negative("duration_seconds")

    repository_id: Mapped[uuid.UUID] = mapped_column(index=True)
    project_id: Mapped[uuid.UUID]  # denormalised from the repository
    # Optional link to the build that produced the artefact; cleared if that build is deleted.
    build_id: Mapped[uuid.UUID | None]
    environment: Mapped[DeploymentEnvironment] = mapped_column(enum_type(DeploymentEnvironment))
    status: Mapped[DeploymentStatus] = mapped_column(
        enum_type(DeploymentStatus), default=DeploymentStatus.PENDING
    )
    commit_sha: Mapped[str]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None]
    commit_at: Mapped[datetime | None]
    caused_incident: Mapped[bool] = mapped_column(default=False)
    restored_at: Mapped[datetime | None]

    repository: Mapped[Repository] = many_to_one(
        "Deployment", "repository_id", "Repository", back_populates="deployments"
    )
    project: Mapped[Project] = many_to_one(
        "Deployment", "project_id", "Project", back_populates="deployments"
    )
    build: Mapped[Build | None] = many_to_one(
        "Deployment", "build_id", "Build", back_populates="deployments"
    )

    def __repr__(self) -> str:
        return (
            f"Deployment(id={self.id!s}, environment={self.environment!s}, status={self.status!s})"
        )
