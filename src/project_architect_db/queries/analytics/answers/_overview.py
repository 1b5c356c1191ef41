"""Across aggregates: the project health view and the most active projects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ClauseElement,
    Select,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import (
    Build,
    Conversation,
    Deployment,
    Document,
    Message,
    Project,
)
from project_architect_db.queries.analytics._statement import StatementQuery
from project_architect_db.queries.analytics.answers._base import (
    AnswersBase,
    _n,
    _since,
    remembered,
)
from project_architect_db.queries.analytics.expressions import (
    count,
    max_,
    rate,
    sum_,
)
from project_architect_db.queries.filters import Eq, In, Range

__all__ = ["HEALTH_PAGE", "OverviewAnswers"]

#: The page size of ``project_health()`` without arguments: what a dashboard shows at once.
HEALTH_PAGE = 50


class OverviewAnswers(AnswersBase):
    """Across aggregates: the project health view and the most active projects."""

    @remembered
    def project_health(
        self,
        *,
        limit: int | None = HEALTH_PAGE,
        after: tuple[str, Any] | None = None,
        project_id: Any = None,
    ) -> StatementQuery:
        """Projects by name: activity, documents and CI/CD at a glance, a page at a time.

        Each child table is grouped by ``project_id`` and the groups are joined to the
        projects. Messages are counted from their conversations: ``message_count`` and
        ``last_message_at`` are kept by every message write in the same transaction
        (``add_message`` / ``add_messages``; messages are never moved or deleted alone), so
        the sum over a project's conversations *is* the count of its messages, without reading
        10 rows per conversation (10M at 1M projects, most of the answer's time).

        The call a dashboard makes is a page, so that is what the call without arguments
        returns: the first :data:`HEALTH_PAGE` (50) projects by ``(name, id)``, and only their
        child rows are grouped:

        * ``after=(name, id)`` (the last row's ``name`` and ``project_id``): the page after it,
          a keyset page, the same cost at any depth, stable while projects are added or
          deleted; ``limit=`` sets the page size;
        * ``project_id=``: that project's row (none if it does not exist);
        * ``limit=None``: every project (after ``after``, if given). At 1M projects that is
          seconds of work whichever way it is fetched (grouping 6M child rows and sorting 1M
          names; docs/performance.md): for an export, fetch it with ``to_arrow()``.

        Examples:
            >>> # first = await db.analytics.project_health().rows()  # 50 rows
            >>> # after = (first[-1]["name"], first[-1]["project_id"])
            >>> # second = await db.analytics.project_health(after=after).rows()
            >>> # every = await db.analytics.project_health(limit=None).to_arrow()

        Raises:
            InvalidQueryError: ``limit`` is not ``None`` or an integer in 1..10000, ``after``
                is not a ``(name, id)`` pair, ``project_id`` is not a UUID, or ``project_id``
                is given with ``after``.
        """
        page = _health_page(limit, after, project_id)
        parts = [
            self.query(Conversation)
            .group_by("project_id")
            .aggregate(
                conversations=count(),
                messages=sum_("message_count"),
                last_message_at=max_("last_message_at"),
            ),
            self.query(Document).group_by("project_id").aggregate(documents=count()),
            self.query(Build)
            .group_by("project_id")
            .aggregate(
                builds=count(),
                build_success_rate=rate(
                    Eq("status", "success"), among=(In("status", ["success", "failure"]),)
                ),
            ),
            self.query(Deployment)
            .group_by("project_id")
            .aggregate(deployments=count(), change_failure_rate=rate(Eq("caused_incident", True))),
        ]
        children: tuple[Any, ...] = (Conversation, Document, Build, Deployment)

        def combine(statements: list[Select[Any]]) -> ClauseElement:
            projects: Any = Project.__table__
            if page is not None:
                # the page first (a Top-N over the projects, or one of them by id), then
                # only its projects' child rows are grouped
                projects = page.cte("page").prefix_with("MATERIALIZED")
                statements = [
                    statement.where(child.project_id.in_(select(projects.c.id)))
                    for statement, child in zip(statements, children, strict=True)
                ]
            conversations, documents, builds, deployments = (
                statement.subquery(name)
                for statement, name in zip(statements, ("c", "doc", "b", "dep"), strict=True)
            )
            zero: Any = literal_column("0")
            return (
                select(
                    projects.c.id.label("project_id"),
                    projects.c.name,
                    projects.c.status,
                    projects.c.phase,
                    func.coalesce(conversations.c.conversations, zero).label("conversations"),
                    # a sum of INTEGER is a HUGEINT: the count it replaces was a BIGINT
                    cast(func.coalesce(conversations.c.messages, zero), BigInteger).label(
                        "messages"
                    ),
                    conversations.c.last_message_at,
                    func.coalesce(documents.c.documents, zero).label("documents"),
                    func.coalesce(builds.c.builds, zero).label("builds"),
                    builds.c.build_success_rate,
                    func.coalesce(deployments.c.deployments, zero).label("deployments"),
                    deployments.c.change_failure_rate,
                )
                .select_from(projects)
                .outerjoin(conversations, conversations.c.project_id == projects.c.id)
                .outerjoin(documents, documents.c.project_id == projects.c.id)
                .outerjoin(builds, builds.c.project_id == projects.c.id)
                .outerjoin(deployments, deployments.c.project_id == projects.c.id)
                .order_by(projects.c.name, projects.c.id)
            )

        # A page's values live in the statement, not in the parts: a cursor's or an id's
        # page is compiled per call (a few ms against a query of tens); the first page (its
        # size a literal) and the whole answer once per shape.
        if page is None:
            shape: Any = ("project_health", 2)
        elif after is None and project_id is None:
            shape = ("project_health_first", limit)
        else:
            shape = ("project_health_page", 1)
        return StatementQuery(shape, combine, parts=parts, source=self._source, native=self._native)

    # -- top-N ---------------------------------------------------------------------------------

    def most_active_projects(
        self, n: int = 10, *, days: int | None = None, now: datetime | None = None
    ) -> StatementQuery:
        """Projects with the most messages (in the last ``days`` days, if given).

        Messages are counted per ``project_id`` first and only the counts meet ``projects``
        (for the name): joining before grouping would carry the name through every message
        (10M rows at 1M projects) and group by it.
        """
        query = self.query(Message)
        if days is not None:
            query = query.where(Range("created_at", gte=_since(days, now)))
        per_project = query.group_by("project_id").aggregate(
            messages=count(), tokens=sum_("token_count")
        )
        return self._top_groups(
            "most_active_projects",
            per_project,
            alias="m",
            key="project_id",
            parent=Project,
            label=Project.name.label("name"),
            measures=("messages", "tokens"),
            rank="messages",
            limit=_n(n),
        )


def _health_page(limit: int | None, after: tuple[str, Any] | None, project_id: Any) -> Any:
    """The projects a :meth:`OverviewAnswers.project_health` page shows (``None``: all)."""
    size = None if limit is None else _n(limit, "limit")
    if project_id is not None:
        if after is not None:
            raise InvalidQueryError(
                "project_health(project_id=...) answers for one project; page through all of "
                "them with after= instead (not both)."
            )
        return _project_columns().where(Project.id == _uuid(project_id, "project_id"))
    if size is None and after is None:
        return None
    page = _project_columns().order_by(Project.name, Project.id)
    if after is None:
        assert size is not None  # both None is the whole answer, returned above
        return _first_page(page, size)
    if not isinstance(after, tuple | list) or len(after) != 2 or not isinstance(after[0], str):
        raise InvalidQueryError(
            "after must be the last row's (name, project_id) pair, e.g. "
            "after=(rows[-1]['name'], rows[-1]['project_id']), "
            f"not {str(after)[:80]!r}."
        )
    name, last = after[0], _uuid(after[1], "after's project_id")
    page = page.where(tuple_(Project.name, Project.id) > tuple_(name, last))
    return page if size is None else page.limit(size)


def _first_page(page: Any, size: int) -> Any:
    """The first ``size`` projects by ``(name, id)``, reading every name but few ids.

    A Top-N over ``(name, id)`` reads the id of every project (a fifth of the default call's CPU
    at 1M projects); the ``size``-th smallest name needs only the names, and the Top-N then
    runs over the projects up to that name (ties at it included, so ids still decide them).
    The page has no other value: its size is part of its shape (compiled once per size).
    """
    size_sql: Any = literal_column(str(size))
    names = select(Project.name).order_by(Project.name).limit(size_sql).subquery("first_names")
    return page.where(Project.name <= select(func.max(names.c.name)).scalar_subquery()).limit(
        size_sql
    )


def _project_columns() -> Any:
    return select(Project.id, Project.name, Project.status, Project.phase)


def _uuid(value: Any, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        return uuid.UUID(value)
    except (TypeError, ValueError):
        raise InvalidQueryError(
            f"{what} must be a project id (a UUID or its text), not {str(value)[:80]!r}."
        ) from None
