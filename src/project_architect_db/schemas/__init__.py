"""Pydantic v2 schemas: what goes into the repositories and what comes out.

For every entity: ``<Entity>Create`` (a new row; unknown fields are errors), ``<Entity>Update``
(a partial change) and ``<Entity>Read`` (a frozen, detached record). Shared types and
``Page`` live in :mod:`project_architect_db.schemas.common`.

Examples:
    >>> from project_architect_db.schemas import ProjectCreate
    >>> ProjectCreate(name="Atlas", tags=["api", "api"]).model_dump(include={"slug", "tags"})
    {'slug': 'atlas', 'tags': ['api']}
"""

from __future__ import annotations

from project_architect_db.schemas.common import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    SLUG_PATTERN,
    CommitSha,
    CreateSchema,
    JsonObject,
    LongText,
    Name,
    Page,
    ReadSchema,
    ShortText,
    Slug,
    Tags,
    Text,
    UpdateSchema,
    UtcDateTime,
    slugify,
)
from project_architect_db.schemas.conversation import (
    AttachmentCreate,
    AttachmentRead,
    AttachmentUpdate,
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    MessageCreate,
    MessageRead,
    MessageUpdate,
)
from project_architect_db.schemas.document import (
    DocumentCreate,
    DocumentPath,
    DocumentRead,
    DocumentUpdate,
    DocumentVersionRead,
    content_digest,
)
from project_architect_db.schemas.project import ProjectCreate, ProjectRead, ProjectUpdate
from project_architect_db.schemas.repository import (
    BuildCreate,
    BuildRead,
    BuildUpdate,
    DeploymentCreate,
    DeploymentRead,
    DeploymentUpdate,
    RepositoryCreate,
    RepositoryRead,
    RepositoryUpdate,
    RepositoryUrl,
)

__all__ = [
    "AttachmentCreate",
    "AttachmentRead",
    "AttachmentUpdate",
    "BuildCreate",
    "BuildRead",
    "BuildUpdate",
    "CommitSha",
    "ConversationCreate",
    "ConversationRead",
    "ConversationUpdate",
    "CreateSchema",
    "DeploymentCreate",
    "DeploymentRead",
    "DeploymentUpdate",
    "DocumentCreate",
    "DocumentPath",
    "DocumentRead",
    "DocumentUpdate",
    "DocumentVersionRead",
    "JsonObject",
    "LongText",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MessageCreate",
    "MessageRead",
    "MessageUpdate",
    "Name",
    "Page",
    "ProjectCreate",
    "ProjectRead",
    "ProjectUpdate",
    "ReadSchema",
    "RepositoryCreate",
    "RepositoryRead",
    "RepositoryUpdate",
    "RepositoryUrl",
    "SLUG_PATTERN",
    "ShortText",
    "Slug",
    "Tags",
    "Text",
    "UpdateSchema",
    "UtcDateTime",
    "content_digest",
    "slugify",
]


def __getattr__(name: str) -> object:
    """``UtcDatetime``, the old spelling of :data:`UtcDateTime`, with a DeprecationWarning."""
    from project_architect_db.schemas import common

    return common._renamed(name, __name__)
