"""factory-boy factories of the Pydantic ``*Create`` schemas, with realistic, seeded content.

Each factory builds a validated schema object (``ProjectCreateFactory.build()`` ->
:class:`~project_architect_db.schemas.ProjectCreate`); ``build_batch(n)`` builds ``n``. Output
depends only on :func:`~project_architect_db.testing.factories.seeding.seed_factories`' seed
and reference instant: no wall clock, no ``uuid4``. Overrides work as in any factory-boy
factory, and dependent fields follow them (``BuildCreateFactory.build(status="running")``
has no ``finished_at``; ``ProjectCreateFactory.build(name="Atlas")`` has slug ``atlas``).

Parent ids (``project_id``, ``repository_id`` ...) default to fresh seeded ids; pass the real
parent's id to link records: ``ConversationCreateFactory.build(project_id=project.id)``.
:func:`build_thread` builds a whole conversation's messages in order.
"""

from __future__ import annotations

from project_architect_db.testing.factories.schemas._base import SchemaFactory
from project_architect_db.testing.factories.schemas._conversations import (
    AttachmentCreateFactory,
    ConversationCreateFactory,
    MessageCreateFactory,
    build_thread,
)
from project_architect_db.testing.factories.schemas._delivery import (
    BuildCreateFactory,
    DeploymentCreateFactory,
    RepositoryCreateFactory,
)
from project_architect_db.testing.factories.schemas._documents import (
    DocumentCreateFactory,
    DocumentUpdateFactory,
    DocumentVersionReadFactory,
)
from project_architect_db.testing.factories.schemas._projects import ProjectCreateFactory

__all__ = [
    "AttachmentCreateFactory",
    "BuildCreateFactory",
    "ConversationCreateFactory",
    "DeploymentCreateFactory",
    "DocumentCreateFactory",
    "DocumentUpdateFactory",
    "DocumentVersionReadFactory",
    "MessageCreateFactory",
    "ProjectCreateFactory",
    "RepositoryCreateFactory",
    "SchemaFactory",
    "build_thread",
]
