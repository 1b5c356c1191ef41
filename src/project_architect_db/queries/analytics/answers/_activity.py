"""Projects and conversations: portfolio, creation, messages, replies, phases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ClauseElement,
    Select,
    func,
    literal_column,
    select,
)

from project_architect_db.models import (
    Conversation,
    Message,
    Project,
)
from project_architect_db.queries.analytics._statement import StatementQuery
from project_architect_db.queries.analytics.answers._base import (
    AnswersBase,
    BucketUnit,
    remembered,
)
from project_architect_db.queries.analytics.builder import Analytics
from project_architect_db.queries.analytics.expressions import (
    Bucket,
    count,
    duration,
    median,
    sum_,
)
from project_architect_db.queries.filters import IsNull

__all__ = ["ActivityAnswers"]


class ActivityAnswers(AnswersBase):
    """Projects and conversations: portfolio, creation, messages, replies, phases."""

    @remembered
    def portfolio(self) -> Analytics:
        """Projects counted by status and phase."""
        return (
            self.query(Project)
            .group_by("status", "phase")
            .aggregate(count())
            .order_by("status", "phase")
        )

    @remembered
    def projects_created(self, bucket: BucketUnit = "month") -> Analytics:
        """Projects created per period, with a running total."""
        from project_architect_db.queries.analytics.expressions import running_total

        return (
            self.query(Project)
            .group_by(period=Bucket("created_at", bucket))
            .aggregate(count())
            .window(total=running_total("count", order_by="period"))
            .order_by("period")
        )

    # -- conversation activity -----------------------------------------------------------------

    @remembered
    def message_activity(self, bucket: BucketUnit = "week", *, project_id: Any = None) -> Analytics:
        """Messages and tokens per period and role."""
        query = self.query(Message)
        if project_id is not None:
            query = query.where(project_id=project_id)
        return (
            query.group_by(period=Bucket("created_at", bucket), role="role")
            .aggregate(messages=count(), tokens=sum_("token_count"))
            .order_by("period", "role")
        )

    @remembered
    def reply_latency(
        self, bucket: BucketUnit = "week", *, project_id: Any = None
    ) -> StatementQuery:
        """Median seconds from a user message to the assistant's reply, per period.

        A reply is an assistant message right after a user message in its thread; the period is
        the user message's. The appends store the pair as they write it (``messages.asked_at``,
        migration ``0002``), so this is a grouped scan of two timestamp columns, not a window
        function pairing every message with the next (18-27 s at 10M messages).
        """
        Bucket("created_at", bucket)  # validates the unit

        def build(_: list[Select[Any]]) -> ClauseElement:
            conditions = [Message.asked_at.is_not(None)]
            if project_id is not None:
                conditions.append(Message.project_id == project_id)
            period = func.date_trunc(literal_column(f"'{bucket}'"), Message.asked_at)
            seconds = func.epoch(Message.created_at) - func.epoch(Message.asked_at)
            return (
                select(
                    period.label("period"),
                    func.count().label("replies"),
                    func.median(seconds).label("median_reply_seconds"),
                )
                .where(*conditions)
                .group_by(period)
                .order_by(literal_column("period"))
            )

        return StatementQuery(
            ("reply_latency", bucket, project_id is None),
            build,
            source=self._source,
            native=self._native,
        )

    @remembered
    def time_per_phase(self, *, project_id: Any = None) -> Analytics:
        """Conversations per phase and the time spent in them (first to last message, seconds)."""
        query = self.query(Conversation).where(IsNull("last_message_at", False))
        if project_id is not None:
            query = query.where(project_id=project_id)
        return (
            query.group_by("phase")
            .aggregate(
                conversations=count(),
                seconds=sum_(duration("created_at", "last_message_at")),
                median_seconds=median(duration("created_at", "last_message_at")),
            )
            .order_by("phase")
        )

    # -- documents -----------------------------------------------------------------------------
