"""The unit of work: one transaction exposing every repository."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from project_architect_db.core.transaction import Transaction
from project_architect_db.repositories.code_repositories import CodeRepositoryRepository
from project_architect_db.repositories.conversations import ConversationRepository
from project_architect_db.repositories.documents import DocumentRepository
from project_architect_db.repositories.projects import ProjectRepository

if TYPE_CHECKING:
    import asyncio

    from sqlalchemy.ext.asyncio import AsyncSession

    from project_architect_db.repositories._context import RepositoryContext

__all__ = ["RepositorySet", "UnitOfWork"]


class RepositorySet:
    """The four aggregate repositories (projects, conversations, documents, code repositories).

    One set per :class:`RepositoryContext`: ``Database`` keeps one for its auto-commit calls and
    each :class:`UnitOfWork` one bound to its transaction.
    """

    def __init__(self, context: RepositoryContext) -> None:
        self._context = context

    @cached_property
    def projects(self) -> ProjectRepository:
        """Projects."""
        return ProjectRepository(self._context)

    @cached_property
    def conversations(self) -> ConversationRepository:
        """Conversations, their messages and attachments."""
        return ConversationRepository(self._context)

    @cached_property
    def documents(self) -> DocumentRepository:
        """Documents and their versions."""
        return DocumentRepository(self._context)

    @cached_property
    def code_repositories(self) -> CodeRepositoryRepository:
        """Code repositories, their builds and deployments."""
        return CodeRepositoryRepository(self._context)


class UnitOfWork(Transaction):
    """A transaction whose repositories (``tx.projects`` ...) all run inside it.

    Examples:
        >>> # async with db.transaction() as tx:
        >>> #     project = await tx.projects.create({"name": "Atlas"})
        >>> #     await tx.conversations.create({"project_id": project.id})
    """

    def __init__(
        self,
        session: AsyncSession,
        context: RepositoryContext,
        *,
        commit_lock: asyncio.Lock | None = None,
    ) -> None:
        super().__init__(session, commit_lock=commit_lock)
        self._repositories = RepositorySet(context.bind(self))
        context.locks.register(self)

    @property
    def projects(self) -> ProjectRepository:
        """Projects, in this transaction."""
        return self._repositories.projects

    @property
    def conversations(self) -> ConversationRepository:
        """Conversations, in this transaction."""
        return self._repositories.conversations

    @property
    def documents(self) -> DocumentRepository:
        """Documents, in this transaction."""
        return self._repositories.documents

    @property
    def code_repositories(self) -> CodeRepositoryRepository:
        """Code repositories, their builds and deployments, in this transaction."""
        return self._repositories.code_repositories

    @property
    def repositories(self) -> CodeRepositoryRepository:
        """Alias of :attr:`code_repositories` (the name the public contract started with)."""
        return self._repositories.code_repositories
