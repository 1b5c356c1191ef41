"""Async repositories: typed CRUD, integrity, bulk writes, pagination and streaming."""

from project_architect_db.repositories.base import MAX_PAGE_SIZE, AsyncRepository
from project_architect_db.repositories.changes import (
    Change,
    ChangeHub,
    ChangeKind,
    Gap,
    Subscription,
)
from project_architect_db.repositories.code_repositories import CodeRepositoryRepository
from project_architect_db.repositories.conversations import ConversationRepository
from project_architect_db.repositories.documents import DocumentRepository
from project_architect_db.repositories.projects import ProjectRepository
from project_architect_db.repositories.unit_of_work import RepositorySet, UnitOfWork

__all__ = [
    "AsyncRepository",
    "Change",
    "ChangeHub",
    "ChangeKind",
    "CodeRepositoryRepository",
    "ConversationRepository",
    "DocumentRepository",
    "Gap",
    "MAX_PAGE_SIZE",
    "ProjectRepository",
    "RepositorySet",
    "Subscription",
    "UnitOfWork",
]
