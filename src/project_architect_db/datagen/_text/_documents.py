"""Markdown documents, their paths, revisions and token estimates."""

from __future__ import annotations

import random

from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.datagen._text._messages import (
    _assistant_text,
    _bullets,
    _code,
    _ctx,
    _sql_code,
    _table,
    _user_text,
    _yaml_code,
)
from project_architect_db.datagen._text._projects import Stack
from project_architect_db.schemas.common import slugify

# -- documents ----------------------------------------------------------------------------------


def document_path_and_title(
    rng: random.Random, doc_type: str, index: int, stack: Stack
) -> tuple[str, str]:
    """A path unique within a project for its ``index``-th document, and the document's title.

    The index is part of every path but the project's README and architecture overview, which
    take slots 0 and 1.
    """
    if doc_type == "readme":
        return ("README.md", "README") if index == 0 else (f"services/{index:03d}/README.md",
                                                           f"Service {index} README")  # fmt: skip
    if doc_type == "architecture":
        return (
            ("docs/architecture/overview.md", "Architecture overview")
            if index == 1
            else (f"docs/architecture/{index:03d}-{stack.style}.md", f"Architecture: {stack.style}")
        )
    if doc_type == "adr":
        slug_template, title_template = rng.choice(vocab.ADR_DECISIONS)
        values = {
            "database": stack.database,
            "style": stack.style,
            "messaging": stack.messaging or "Kafka",
            "deploy": stack.deployment,
            "frontend": stack.frontend or "React",
        }
        slug = slugify(slug_template.format(**values))
        number = f"{index + 1:04d}"
        return f"docs/adr/{number}-{slug}.md", f"ADR {number}: {title_template.format(**values)}"
    if doc_type == "spec":
        topic = rng.choice(vocab.SPEC_TOPICS)
        return f"docs/specs/{index:03d}-{topic}.md", f"Spec: {topic.replace('-', ' ').capitalize()}"
    topic = rng.choice(vocab.NOTE_TOPICS)
    folder = "notes" if doc_type == "note" else "misc"
    return f"{folder}/{index:03d}-{topic}.md", topic.replace("-", " ").capitalize()


def document_body(
    rng: random.Random, doc_type: str, title: str, project: str, stack: Stack
) -> list[str]:
    """The markdown sections of a document, in order; revisions are prefixes of this list."""
    c = _ctx(rng, project, stack)
    if doc_type == "adr":
        return [
            f"# {title}",
            "## Status\n\nAccepted",
            f"## Context\n\n{project} handles about {c.number}k {c.entity} events a day. The "
            f"current approach makes {c.concern} hard to reason about, and the team knows "
            f"{stack.framework} and {stack.database} well.",
            f"## Decision\n\n{_assistant_text(rng, c)}",
            f"## Consequences\n\n{_bullets(rng, c, 3)}",
            f"## Alternatives considered\n\n{_table(rng, c)}",
        ]
    if doc_type == "readme":
        return [
            f"# {project}\n\n{project} is built with {', '.join(stack.tech_stack()[:4])}.",
            "## Getting started\n\n```bash\nmake setup\nmake dev\n```",
            f"## Configuration\n\nSet `DATABASE_URL` to your {stack.database} instance and "
            "`LOG_LEVEL` to `info`.",
            f"## Database migrations\n\nSchema changes are {rng.choice(vocab.MIGRATION_TOOLS)} "
            "migrations: run `make migrate` before `make dev`. Every migration ships with a "
            "tested downgrade.",
            f"## Architecture\n\nSee `docs/architecture/overview.md`.\n\n{_bullets(rng, c, 2)}",
            "## Testing\n\n```bash\nmake test\n```",
        ]
    if doc_type == "spec":
        return [
            f"# {title}",
            f"## Overview\n\n{_user_text(rng, c)}",
            f"## Requirements\n\n{_bullets(rng, c, 4)}",
            f"## API\n\n{_code(rng, c, role='assistant')}",
            f"## Data model\n\n{_sql_code(rng, c)}",
            f"## Open questions\n\n{_bullets(rng, c, 2)}",
        ]
    if doc_type == "architecture":
        return [
            f"# {title}",
            f"## Context\n\n{project} follows a {stack.style} style on {stack.cloud}.",
            f"## Components\n\n{_bullets(rng, c, 4)}",
            f"## Data\n\n{_assistant_text(rng, c)}",
            f"## Security\n\nAuthentication goes through {rng.choice(vocab.IDENTITY_PROVIDERS)}: "
            "clients get short-lived access tokens and refresh tokens, and every service "
            "verifies tokens locally.",
            f"## Deployment\n\n{project} ships to {stack.deployment}. A failed health check "
            f"triggers an automatic rollback to the previous release.\n\n{_yaml_code(rng, c)}",
        ]
    return [
        f"# {title}",
        _bullets(rng, c, 3),
        _assistant_text(rng, c),
        _bullets(rng, c, 2),
    ]


def estimate_tokens(rng: random.Random, content: str) -> int:
    """A token count for ``content``: about four characters per token, with some spread."""
    return max(1, round(len(content) / 4 * rng.uniform(0.85, 1.15)))


def revision_section(rng: random.Random, when: str) -> str:
    """A section a later revision of a document appends (``when`` is a date, for the heading)."""
    c = _ctx(rng, None, None)
    return f"## Update {when}\n\n{_bullets(rng, c, rng.randint(1, 3))}"
