"""Generating a whole :class:`Dataset`: its sizes, and every table in dependency order."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypedDict

from project_architect_db.datagen._clock import check_aware, start_of_day
from project_architect_db.datagen._code_repositories import _CodeRepositories
from project_architect_db.datagen._conversations import _Conversations
from project_architect_db.datagen._dataset import Dataset
from project_architect_db.datagen._documents import _Documents
from project_architect_db.datagen._projects import _Projects


class DatasetSizes(TypedDict, total=False):
    """Keyword arguments of :func:`generate_dataset` that set its size."""

    projects: int
    conversations_per_project: int
    messages_per_conversation: int
    documents_per_project: int
    versions_per_document: int
    repositories_per_project: int
    builds_per_repository: int
    deployments_per_repository: int
    attachment_rate: float


BENCHMARK_SIZES: Final[DatasetSizes] = {
    "projects": 10_000,
    "conversations_per_project": 10,
    "messages_per_conversation": 20,
    "documents_per_project": 10,
    "versions_per_document": 2,
    "repositories_per_project": 2,
    "builds_per_repository": 50,
    "deployments_per_repository": 10,
}
"""The benchmark scale: 10k projects, 100k conversations, 2M messages, 100k documents (200k
history rows), 20k repositories, 1M builds, 200k deployments."""


def _check_sizes(sizes: dict[str, Any]) -> None:
    for name, value in sizes.items():
        if name == "attachment_rate":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"attachment_rate must be between 0 and 1, got {value}")
        elif not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        elif value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


class _Generator(_Projects, _Conversations, _Documents, _CodeRepositories):
    """One dataset's generation; each table draws from its own seeded stream."""

    def run(self) -> Dataset:
        s = self.sizes
        self._stacks()
        projects = self._projects(s["projects"])
        conversations, messages, attachments = self._conversations(
            s["conversations_per_project"], s["messages_per_conversation"], s["attachment_rate"]
        )
        documents, versions = self._documents(
            s["documents_per_project"], s["versions_per_document"]
        )
        repositories, builds, deployments = self._repositories(
            s["repositories_per_project"],
            s["builds_per_repository"],
            s["deployments_per_repository"],
        )
        return Dataset(
            seed=self.seed,
            now=self.now,
            projects=projects,
            conversations=conversations,
            messages=messages,
            attachments=attachments,
            documents=documents,
            document_versions=versions,
            repositories=repositories,
            builds=builds,
            deployments=deployments,
        )


def generate_dataset(
    seed: int,
    *,
    projects: int = 20,
    conversations_per_project: int = 4,
    messages_per_conversation: int = 20,
    documents_per_project: int = 5,
    versions_per_document: int = 2,
    repositories_per_project: int = 2,
    builds_per_repository: int = 20,
    deployments_per_repository: int = 8,
    attachment_rate: float = 0.04,
    now: datetime | None = None,
) -> Dataset:
    """Generate a consistent, realistic dataset of every table, as Arrow tables.

    The same arguments give the same data (``Dataset.equals``), on any machine. Data is
    dated relative to ``now`` (by default the start of today, UTC), so a freshly seeded
    database has recent activity: the time-windowed analytics ("the last 30 days") answer
    with rows. Pass ``now`` to pin the data to a day (tests do).

    Args:
        seed: Seed of every random draw.
        projects: Number of projects.
        conversations_per_project: Conversations of every project.
        messages_per_conversation: Messages of every conversation (sequences 1..n).
        documents_per_project: Documents of every project (a README and an architecture
            overview first, then specs, ADRs, notes ...).
        versions_per_document: History rows per document; each document is at version
            ``versions_per_document + 1``.
        repositories_per_project: Code repositories of every project.
        builds_per_repository: CI builds of every repository.
        deployments_per_repository: Deployments of every repository.
        attachment_rate: Chance that a user message carries one attachment (0..1).
        now: The reference instant (timezone-aware); every timestamp is at or before it.
            ``None``: :func:`start_of_day` of today's UTC date.

    Returns:
        The tables, each with exactly the columns and types of the database table.

    Raises:
        ValueError: If a size is negative, ``attachment_rate`` is outside [0, 1], or ``now``
            is naive.
        TypeError: If a size is not an ``int``.

    Examples:
        >>> data = generate_dataset(1, projects=2, conversations_per_project=1,
        ...                         messages_per_conversation=3)
        >>> data.messages.num_rows, data.projects.column_names[:3]
        (6, ['id', 'name', 'slug'])
    """
    sizes: dict[str, Any] = {
        "projects": projects,
        "conversations_per_project": conversations_per_project,
        "messages_per_conversation": messages_per_conversation,
        "documents_per_project": documents_per_project,
        "versions_per_document": versions_per_document,
        "repositories_per_project": repositories_per_project,
        "builds_per_repository": builds_per_repository,
        "deployments_per_repository": deployments_per_repository,
        "attachment_rate": attachment_rate,
    }
    _check_sizes(sizes)
    return _Generator(seed, check_aware(start_of_day() if now is None else now), sizes).run()
