"""SQLAlchemy 2 typed models of project-architect-db.

Tables: ``projects``; ``conversations``, ``messages``, ``attachments``; ``documents``,
``document_versions``; ``repositories``, ``builds``, ``deployments``. There are no database
foreign keys: relationships are declared ``viewonly`` for navigation and joins, and the
repositories keep integrity along :data:`~project_architect_db.models.graph.REFERENCES`.
``docs/schema.md`` draws the schema and explains each choice.

Examples:
    >>> from project_architect_db.models import Base, Project
    >>> Project.__tablename__, "projects" in Base.metadata.tables
    ('projects', True)
"""

from __future__ import annotations

from project_architect_db.models.base import (
    NAMING_CONVENTION,
    Base,
    CreatedAt,
    HasMetadata,
    Timestamps,
    UUIDPrimaryKey,
    Versioned,
)
from project_architect_db.models.conversation import Attachment, Conversation, Message
from project_architect_db.models.document import Document, DocumentVersion
from project_architect_db.models.enums import (
    BuildStatus,
    ConversationStatus,
    DeploymentEnvironment,
    DeploymentStatus,
    DocumentType,
    MessageRole,
    MessageType,
    Phase,
    ProjectStatus,
    RepositoryProvider,
    RepositoryVisibility,
)
from project_architect_db.models.ids import uuid7, uuid7_batch, uuid7_time_ms
from project_architect_db.models.project import Project
from project_architect_db.models.repository import Build, Deployment, Repository
from project_architect_db.models.types import UtcDateTime, utc_now

# Last: it reads the relationships of every model imported above.
from project_architect_db.models.graph import (  # isort: skip
    CHILDREN,
    PARENTS,
    REFERENCES,
    OnDelete,
    Reference,
)

__all__ = [
    "Attachment",
    "Base",
    "Build",
    "BuildStatus",
    "CHILDREN",
    "Conversation",
    "ConversationStatus",
    "CreatedAt",
    "Deployment",
    "DeploymentEnvironment",
    "DeploymentStatus",
    "Document",
    "DocumentType",
    "DocumentVersion",
    "HasMetadata",
    "Message",
    "MessageRole",
    "MessageType",
    "NAMING_CONVENTION",
    "OnDelete",
    "PARENTS",
    "Phase",
    "Project",
    "ProjectStatus",
    "REFERENCES",
    "Reference",
    "Repository",
    "RepositoryProvider",
    "RepositoryVisibility",
    "Timestamps",
    "UUIDPrimaryKey",
    "UtcDateTime",
    "Versioned",
    "utc_now",
    "uuid7",
    "uuid7_batch",
    "uuid7_time_ms",
]
