"""Realistic text for the factories: project profiles, chat messages, markdown documents.

Every function takes the ``random.Random`` to draw from, so output depends only on its state:
the schema factories pass their seeded instance, and the Arrow generator builds pools of
messages with its own.
"""

from __future__ import annotations

from project_architect_db.testing.factories._text._common import weighted
from project_architect_db.testing.factories._text._documents import (
    document_body,
    document_path_and_title,
    estimate_tokens,
    revision_section,
)
from project_architect_db.testing.factories._text._messages import (
    MESSAGE_KIND_WEIGHTS,
    MESSAGE_KINDS,
    attachment_description,
    conversation_summary,
    message_content,
    message_metadata,
)
from project_architect_db.testing.factories._text._projects import (
    ProjectProfile,
    Stack,
    architecture,
    project_description,
    project_metadata,
    project_name,
    project_phase,
    project_profile,
    project_status,
    project_tags,
    random_stack,
)

__all__ = [
    "MESSAGE_KINDS",
    "MESSAGE_KIND_WEIGHTS",
    "ProjectProfile",
    "Stack",
    "architecture",
    "attachment_description",
    "conversation_summary",
    "document_body",
    "document_path_and_title",
    "estimate_tokens",
    "message_content",
    "message_metadata",
    "project_description",
    "project_metadata",
    "project_name",
    "project_phase",
    "project_profile",
    "project_status",
    "project_tags",
    "random_stack",
    "revision_section",
    "weighted",
]
