"""Across aggregates: the project health view and the most active projects."""

from __future__ import annotations

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
)

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

__all__ = ["OverviewAnswers"]


class OverviewAnswers(AnswersBase):
    """Across aggregates: the project health view and the most active projects."""

    @remembered
    def project_health(self) -> StatementQuery:
        """One row per project: activity, documents and CI/CD at a glance.

        Each child table is grouped once by ``project_id`` and the groups are joined to the
        projects. Messages are counted from their conversations: ``message_count`` and
        ``last_message_at`` are kept by every message write in the same transaction
        (``add_message`` / ``add_messages``; messages are never moved or deleted alone), so
        the sum over a project's conversations *is* the count of its messages, without reading
        10 rows per conversation (10M at 1M projects, most of the answer's time).
        """
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

        def combine(statements: list[Select[Any]]) -> ClauseElement:
            conversations, documents, builds, deployments = (
                statement.subquery(name)
                for statement, name in zip(statements, ("c", "doc", "b", "dep"), strict=True)
            )
            zero: Any = literal_column("0")
            return (
                select(
                    Project.id.label("project_id"),
                    Project.name,
                    Project.status,
                    Project.phase,
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
                .select_from(Project)
                .outerjoin(conversations, conversations.c.project_id == Project.id)
                .outerjoin(documents, documents.c.project_id == Project.id)
                .outerjoin(builds, builds.c.project_id == Project.id)
                .outerjoin(deployments, deployments.c.project_id == Project.id)
                .order_by(Project.name, Project.id)
            )

        return StatementQuery(
            ("project_health", 2), combine, parts=parts, source=self._source, native=self._native
        )

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
