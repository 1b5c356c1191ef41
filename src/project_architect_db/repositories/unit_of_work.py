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

__all__ = ["Repositories", "UnitOfWork"]


class Repositories:
    """The four aggregate repositories over one :class:`RepositoryContext`."""

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
    def repositories(self) -> CodeRepositoryRepository:
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
        self._repositories = Repositories(context.bind(self))
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
    def repositories(self) -> CodeRepositoryRepository:
        """Code repositories, in this transaction."""
        return self._repositories.repositories
