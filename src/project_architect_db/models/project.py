"""The project: the root every other row hangs from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from project_architect_db.models.base import (
    Base,
    HasMetadata,
    Timestamps,
    UUIDPrimaryKey,
    Versioned,
    enum_type,
    one_to_many,
)
from project_architect_db.models.enums import Phase, ProjectStatus

if TYPE_CHECKING:
    from project_architect_db.models.conversation import Attachment, Conversation, Message
    from project_architect_db.models.document import Document, DocumentVersion
    from project_architect_db.models.repository import Build, Deployment, Repository

__all__ = ["Project"]


class Project(UUIDPrimaryKey, Timestamps, Versioned, HasMetadata, Base):
    """A project being architected: its status, phase, stack and architecture."""

    __tablename__ = "projects"

    name: Mapped[str]
    # unique, and renameable: no foreign key points here, so DuckDB lets the indexed value change
    slug: Mapped[str] = mapped_column(index=True, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProjectStatus] = mapped_column(
        enum_type(ProjectStatus), default=ProjectStatus.DRAFT
    )
    phase: Mapped[Phase] = mapped_column(enum_type(Phase), default=Phase.REQUIREMENTS)
    owner_id: Mapped[str | None]
    tags: Mapped[list[str]] = mapped_column(default=list)
    tech_stack: Mapped[list[str]] = mapped_column(default=list)
    architecture: Mapped[dict[str, Any]] = mapped_column(default=dict)

    conversations: Mapped[list[Conversation]] = one_to_many(
        "Project", "Conversation", "project_id", back_populates="project"
    )
    documents: Mapped[list[Document]] = one_to_many(
        "Project", "Document", "project_id", back_populates="project"
    )
    repositories: Mapped[list[Repository]] = one_to_many(
        "Project", "Repository", "project_id", back_populates="project"
    )
    # Shortcuts along the denormalised project_id of deeper rows: per-project analytics join
    # these directly instead of walking through conversations or repositories.
    messages: Mapped[list[Message]] = one_to_many(
        "Project", "Message", "project_id", back_populates="project"
    )
    attachments: Mapped[list[Attachment]] = one_to_many(
        "Project", "Attachment", "project_id", back_populates="project"
    )
    document_versions: Mapped[list[DocumentVersion]] = one_to_many(
        "Project", "DocumentVersion", "project_id", back_populates="project"
    )
    builds: Mapped[list[Build]] = one_to_many(
        "Project", "Build", "project_id", back_populates="project"
    )
    deployments: Mapped[list[Deployment]] = one_to_many(
        "Project", "Deployment", "project_id", back_populates="project"
    )

    def __repr__(self) -> str:
        return f"Project(id={self.id!s}, slug={self.slug!r}, status={self.status!s})"
