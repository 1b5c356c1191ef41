"""Realistic text for generated data: project profiles, chat messages, markdown documents.

Every function takes the ``random.Random`` to draw from, so output depends only on its state:
the schema factories pass their seeded instance, and the Arrow generator builds pools of
messages with its own.
"""

from __future__ import annotations

from project_architect_db.datagen._text._common import weighted
from project_architect_db.datagen._text._documents import (
    document_body,
    document_path_and_title,
    estimate_tokens,
    revision_section,
)
from project_architect_db.datagen._text._messages import (
    MESSAGE_KIND_WEIGHTS,
    MESSAGE_KINDS,
    attachment_description,
    conversation_summary,
    message_content,
    message_metadata,
)
from project_architect_db.datagen._text._projects import (
    ProjectProfile,
    Stack,
    architecture,
    company_name,
    person_name,
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
    "company_name",
    "conversation_summary",
    "document_body",
    "document_path_and_title",
    "estimate_tokens",
    "message_content",
    "message_metadata",
    "person_name",
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
