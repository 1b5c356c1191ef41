"""Generating a whole :class:`Dataset`: its sizes, and every table in dependency order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final, TypedDict

from project_architect_db.datagen._clock import check_aware, start_of_day
from project_architect_db.datagen._code_repositories import _CodeRepositories
from project_architect_db.datagen._context import _Shared
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


SCALE_SIZES: Final[DatasetSizes] = {
    "projects": 1_000_000,
    "conversations_per_project": 1,
    "messages_per_conversation": 10,
    "documents_per_project": 1,
    "versions_per_document": 1,
    "repositories_per_project": 1,
    "builds_per_repository": 3,
    "deployments_per_repository": 1,
}
"""The scale of issue 13: 1M projects, 1M conversations, 10M messages, 1M documents (1M history
rows), 1M repositories, 3M builds, 1M deployments (~19M rows). Too big to hold at once: seed it
with :func:`generate_batches` (``project-architect-db seed --preset scale``)."""

ROWS_PER_BATCH: Final = 500_000
"""About how many rows one batch of :func:`generate_batches` holds by default (~0.5 GB while
it is made and loaded; docs/performance.md, "Memory at 1M rows (session 9)")."""


def rows_per_project(sizes: DatasetSizes) -> float:
    """The rows one project brings with its children (attachments estimated)."""
    full: dict[str, Any] = {**_DEFAULTS, **sizes}
    conversations = full["conversations_per_project"]
    messages = conversations * full["messages_per_conversation"]
    repositories = full["repositories_per_project"]
    # about half the messages are the user's, and a share of those carry an attachment
    return float(
        1
        + conversations
        + messages * (1 + full["attachment_rate"] / 2)
        + full["documents_per_project"] * (1 + full["versions_per_document"])
        + repositories * (1 + full["builds_per_repository"] + full["deployments_per_repository"])
    )


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
    """One batch's generation (a whole dataset is one batch), each table from its own stream."""

    def skip(self) -> None:
        """Draw only what later batches depend on (for a resumed load).

        The slugs its projects take, and the document bodies it adds to the dataset's pool
        (drawn from one stream for the whole dataset); every other draw is the batch's own.
        """
        s = self.sizes
        self._stacks()
        self._projects(s["projects"])
        self._documents(s["documents_per_project"], s["versions_per_document"])

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
    sizes = _sizes(
        projects=projects,
        conversations_per_project=conversations_per_project,
        messages_per_conversation=messages_per_conversation,
        documents_per_project=documents_per_project,
        versions_per_document=versions_per_document,
        repositories_per_project=repositories_per_project,
        builds_per_repository=builds_per_repository,
        deployments_per_repository=deployments_per_repository,
        attachment_rate=attachment_rate,
    )
    return _Generator(seed, check_aware(start_of_day() if now is None else now), sizes).run()


def generate_batches(
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
    projects_per_batch: int | None = None,
    first_batch: int = 0,
) -> Iterator[Dataset]:
    """Generate a dataset as consecutive batches, each a block of projects with all their rows.

    Memory follows one batch, not the dataset: load each batch (``Dataset.load``) and drop it
    before taking the next, and 10M messages are generated in about the memory of one
    million rows. Every batch is consistent on its own (children follow their parents in the
    same batch) and rows of each table are in ``created_at`` order within a batch. Slugs stay
    unique across batches, and ids are unique: the batches together load like one dataset.

    The same arguments (``projects_per_batch`` included) give the same batches on any
    machine. A dataset that fits one batch is exactly :func:`generate_dataset`'s; with more
    batches the data differs from it (each batch draws from streams of its own), as it does
    for another ``projects_per_batch``.

    Args:
        seed: Seed of every random draw.
        projects: Number of projects, over all batches.
        conversations_per_project: See :func:`generate_dataset`, as are the other sizes.
        messages_per_conversation: Messages of every conversation.
        documents_per_project: Documents of every project.
        versions_per_document: History rows per document.
        repositories_per_project: Code repositories of every project.
        builds_per_repository: CI builds of every repository.
        deployments_per_repository: Deployments of every repository.
        attachment_rate: Chance that a user message carries one attachment (0..1).
        now: The reference instant (timezone-aware), the same for every batch.
        projects_per_batch: Projects per batch (the last one may have fewer). ``None``: as
            many as make about :data:`ROWS_PER_BATCH` rows.
        first_batch: Start at this batch (0-based), to resume a load that committed the
            earlier ones: they are not yielded, only their projects' names are drawn again
            and their documents written (slugs stay unique, and the document bodies they
            pooled are reused), so the batches yielded are exactly those a run from 0 yields
            after them. Past the last batch: nothing is yielded.

    Returns:
        An iterator of at least one :class:`Dataset` from batch 0 (the arguments are checked
        at once).

    Raises:
        ValueError: A negative size, ``attachment_rate`` outside [0, 1], a naive ``now``,
            ``projects_per_batch`` below 1, or a negative ``first_batch``.
        TypeError: A size that is not an ``int``.

    Examples:
        >>> batches = list(generate_batches(1, projects=5, projects_per_batch=2))
        >>> [batch.projects.num_rows for batch in batches]
        [2, 2, 1]
    """
    sizes = _sizes(
        projects=projects,
        conversations_per_project=conversations_per_project,
        messages_per_conversation=messages_per_conversation,
        documents_per_project=documents_per_project,
        versions_per_document=versions_per_document,
        repositories_per_project=repositories_per_project,
        builds_per_repository=builds_per_repository,
        deployments_per_repository=deployments_per_repository,
        attachment_rate=attachment_rate,
    )
    if projects_per_batch is None:
        per_batch = default_projects_per_batch(sizes)  # type: ignore[arg-type]
    elif not isinstance(projects_per_batch, int) or isinstance(projects_per_batch, bool):
        raise TypeError(
            f"projects_per_batch must be an int, got {type(projects_per_batch).__name__}"
        )
    elif projects_per_batch < 1:
        raise ValueError(f"projects_per_batch must be >= 1, got {projects_per_batch}")
    else:
        per_batch = projects_per_batch
    if not isinstance(first_batch, int) or isinstance(first_batch, bool):
        raise TypeError(f"first_batch must be an int, got {type(first_batch).__name__}")
    if first_batch < 0:
        raise ValueError(f"first_batch must be >= 0, got {first_batch}")
    instant = check_aware(start_of_day() if now is None else now)
    return _batches(seed, instant, sizes, per_batch, first_batch)


def batch_count(projects: int, projects_per_batch: int) -> int:
    """How many batches :func:`generate_batches` yields (at least one, even for 0 projects)."""
    return max(1, -(-projects // projects_per_batch))


def default_projects_per_batch(sizes: DatasetSizes) -> int:
    """The ``projects_per_batch`` that ``None`` means: about :data:`ROWS_PER_BATCH` rows."""
    return max(1, int(ROWS_PER_BATCH // rows_per_project(sizes)))


def _batches(
    seed: int, now: datetime, sizes: dict[str, Any], per_batch: int, first: int
) -> Iterator[Dataset]:
    shared = _Shared(sizes)
    total, start, batch = sizes["projects"], 0, 0
    while True:
        count = min(per_batch, total - start)
        generator = _Generator(seed, now, {**sizes, "projects": count}, batch, shared)
        if batch < first:  # committed before: only its slugs, which later batches avoid
            generator.skip()
        else:
            yield generator.run()
        start, batch = start + count, batch + 1
        if start >= total:
            return


_DEFAULTS: Final[dict[str, Any]] = {
    "projects": 20,
    "conversations_per_project": 4,
    "messages_per_conversation": 20,
    "documents_per_project": 5,
    "versions_per_document": 2,
    "repositories_per_project": 2,
    "builds_per_repository": 20,
    "deployments_per_repository": 8,
    "attachment_rate": 0.04,
}


def _sizes(**sizes: Any) -> dict[str, Any]:
    _check_sizes(sizes)
    return sizes
