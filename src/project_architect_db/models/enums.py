"""The closed vocabularies of the domain, shared by models, schemas and queries.

They are ``StrEnum`` s, so a member compares equal to its value (``ProjectStatus.ACTIVE ==
"active"``) and filters may pass either. The database stores the value as ``VARCHAR`` guarded
by a ``CHECK`` constraint (see :func:`project_architect_db.models.base.enum_column`).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BuildStatus",
    "ConversationStatus",
    "DeploymentEnvironment",
    "DeploymentStatus",
    "DocumentType",
    "MessageRole",
    "MessageType",
    "Phase",
    "ProjectStatus",
    "RepositoryProvider",
    "RepositoryVisibility",
]


class ProjectStatus(StrEnum):
    """Lifecycle of a project."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class Phase(StrEnum):
    """The phase a project, or the conversation about it, is in."""

    REQUIREMENTS = "requirements"
    ARCHITECTURE = "architecture"
    DESIGN = "design"
    IMPLEMENTATION = "implementation"
    DEPLOYMENT = "deployment"


class ConversationStatus(StrEnum):
    """Lifecycle of a conversation (``deleted`` is a soft delete)."""

    ACTIVE = "active"
    ARCHIVED = "archived"
    DELETED = "deleted"


class MessageRole(StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class MessageType(StrEnum):
    """How a message's content is meant to be rendered."""

    TEXT = "text"
    CODE = "code"
    PLOT = "plot"
    TABLE = "table"
    ERROR = "error"


class DocumentType(StrEnum):
    """Kind of a project document."""

    SPEC = "spec"
    ARCHITECTURE = "architecture"
    ADR = "adr"
    README = "readme"
    NOTE = "note"
    OTHER = "other"


class RepositoryProvider(StrEnum):
    """Where a code repository is hosted."""

    GITHUB = "github"
    GITLAB = "gitlab"
    BITBUCKET = "bitbucket"
    LOCAL = "local"


class RepositoryVisibility(StrEnum):
    """Who may see a code repository."""

    PUBLIC = "public"
    PRIVATE = "private"
    INTERNAL = "internal"


class BuildStatus(StrEnum):
    """State of a CI build."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


class DeploymentEnvironment(StrEnum):
    """Target environment of a deployment."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class DeploymentStatus(StrEnum):
    """State of a deployment."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"
    ROLLED_BACK = "rolled_back"
