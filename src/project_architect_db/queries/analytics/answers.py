"""Prebuilt answers (``db.analytics.<answer>(...)``), written with the builder where it reaches.

Each answer returns a query object (:class:`Analytics`, or :class:`StatementQuery` where an answer
composes several grouped queries or needs a window before grouping) with the same ``rows()``,
``to_arrow()``, ``to_polars()``, ``export()`` and ``sql()``.

Definitions (the DORA metrics follow the DORA report's wording):

* build success rate: ``success / (success + failure)`` builds (queued, running, cancelled
  are left out);
* deployment frequency: deployments per day over the ``days`` window;
* lead time for changes: ``finished_at - commit_at`` of successful deployments (median, seconds);
* change-failure rate: deployments with ``caused_incident`` / all deployments in the window;
* time to restore: ``restored_at - finished_at`` of deployments that caused an incident
  (median, seconds);
* reply latency: seconds from a user message to the next message of the thread when that is an
  assistant's (median).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ClauseElement,
    Select,
    func,
    literal,
    literal_column,
    select,
)

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.models import (
    Build,
    Conversation,
    Deployment,
    Document,
    DocumentVersion,
    Message,
    Project,
    Repository,
)
from project_architect_db.models.types import UtcDateTime, utc_now
from project_architect_db.queries.analytics._compile import compile_cached
from project_architect_db.queries.analytics._execute import NativeRunner, Runnable, Source
from project_architect_db.queries.analytics.builder import Analytics
from project_architect_db.queries.analytics.expressions import (
    Bucket,
    avg,
    count,
    count_distinct,
    duration,
    max_,
    median,
    percentile,
    rate,
    ratio,
    sum_,
)
from project_architect_db.queries.filters import Eq, In, IsNull, Range

__all__ = ["AnalyticsAnswers", "StatementQuery"]

Per = Literal["repository", "project"]
BucketUnit = Literal["hour", "day", "week", "month"]


class StatementQuery(Runnable):
    """A prebuilt statement run like a builder query, its SQL compiled once per shape.

    ``combine`` builds the statement from the statements of the builder ``parts`` (as
    subqueries); the parts' filter values are then laid out without rebuilding anything, like a
    builder's. Without parts, the statement is rebuilt per call and its parameters traced.
    """

    __slots__ = ("_combine", "_native", "_parts", "_shape", "_source")

    def __init__(
        self,
        shape: Hashable,
        combine: Callable[[list[Select[Any]]], ClauseElement],
        *,
        parts: Sequence[Analytics] = (),
        source: Source | None = None,
        native: NativeRunner | None = None,
    ) -> None:
        self._shape = (shape, tuple(part.shape() for part in parts))
        self._combine = combine
        self._parts = tuple(parts)
        self._source = source
        self._native = native

    def _prepare(self) -> tuple[str, list[Any]]:
        if not self._parts:

            def whole() -> tuple[Callable[[], ClauseElement], list[ClauseElement]]:
                statement = self._combine([])
                return (lambda: statement), [statement]

            return compile_cached(self._shape, whole)

        def build() -> tuple[Callable[[], ClauseElement], list[ClauseElement]]:
            pieces = [part.parts() for part in self._parts]
            roots = [root for _, part_roots in pieces for root in part_roots]
            return (lambda: self._combine([factory() for factory, _ in pieces])), roots

        values: list[list[Any]] | None = []
        for part in self._parts:
            part_values = part.values()
            if part_values is None or values is None:
                values = None
                break
            values.extend(part_values)
        return compile_cached(self._shape, build, values)

    def __repr__(self) -> str:
        return f"<StatementQuery {self._shape[0]!r}>"


def _since(days: int, now: datetime | None) -> datetime:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 36_600:
        raise InvalidQueryError(f"days must be an integer in 1..36600, not {days!r}.")
    moment = now if now is not None else utc_now()
    if moment.tzinfo is None:
        raise InvalidQueryError("now must be a timezone-aware datetime.")
    return moment - timedelta(days=days)


def _n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 10_000:
        raise InvalidQueryError(f"n must be an integer in 1..10000, not {n!r}.")
    return n


def _per(per: str) -> str:
    if per not in ("repository", "project"):
        raise InvalidQueryError(f"per must be 'repository' or 'project', not {per!r}.")
    return "repository_id" if per == "repository" else "project_id"


def _instant(value: datetime) -> Any:
    return literal(value, UtcDateTime())


class AnalyticsAnswers:
    """``db.analytics``: the builder entry point and the prebuilt answers.

    Examples:
        >>> # rows = await db.analytics.portfolio().rows()
        >>> # table = await db.analytics.message_activity(bucket="week").to_arrow()
    """

    def __init__(self, source: Source | None = None, native: NativeRunner | None = None) -> None:
        self._source = source
        self._native = native

    def query(self, model: type[Any]) -> Analytics:
        """A builder over ``model`` bound to this database."""
        return Analytics(model, source=self._source, native=self._native)

    # -- project portfolio ---------------------------------------------------------------------
    def portfolio(self) -> Analytics:
        """Projects counted by status and phase."""
        return (
            self.query(Project)
            .group_by("status", "phase")
            .aggregate(count())
            .order_by("status", "phase")
        )

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

    def reply_latency(
        self, bucket: BucketUnit = "week", *, project_id: Any = None
    ) -> StatementQuery:
        """Median seconds from a user message to the assistant's reply, per period."""
        Bucket("created_at", bucket)  # validates the unit

        def build(_: list[Select[Any]]) -> ClauseElement:
            conditions = [] if project_id is None else [Message.project_id == project_id]
            by, seq = Message.conversation_id, Message.sequence
            paired = (
                select(
                    Message.created_at.label("asked_at"),
                    Message.role.label("role"),
                    func.lead(Message.role).over(partition_by=by, order_by=seq).label("next_role"),
                    func.lead(Message.created_at)
                    .over(partition_by=by, order_by=seq)
                    .label("next_at"),
                )
                .where(*conditions)
                .subquery("paired")
            )
            period = func.date_trunc(literal_column(f"'{bucket}'"), paired.c.asked_at)
            seconds = func.epoch(paired.c.next_at) - func.epoch(paired.c.asked_at)
            return (
                select(
                    period.label("period"),
                    func.count().label("replies"),
                    func.median(seconds).label("median_reply_seconds"),
                )
                .where(paired.c.role == "user", paired.c.next_role == "assistant")
                .group_by(period)
                .order_by(literal_column("period"))
            )

        return StatementQuery(
            ("reply_latency", bucket, project_id is None),
            build,
            source=self._source,
            native=self._native,
        )

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
    def document_stats(self, *, project_id: Any = None) -> Analytics:
        """Per document type: documents, revisions, total and largest size."""
        query = self.query(Document)
        if project_id is not None:
            query = query.where(project_id=project_id)
        return (
            query.group_by("doc_type")
            .aggregate(
                documents=count(),
                versions=sum_("version"),
                total_bytes=sum_("size_bytes"),
                largest_bytes=max_("size_bytes"),
                avg_bytes=avg("size_bytes"),
            )
            .order_by("doc_type")
        )

    def document_churn(self, bucket: BucketUnit = "week", *, project_id: Any = None) -> Analytics:
        """Saved versions per period, the documents touched, and versions per touched document."""
        query = self.query(DocumentVersion)
        if project_id is not None:
            query = query.where(project_id=project_id)
        return (
            query.group_by(period=Bucket("created_at", bucket))
            .aggregate(
                versions=count(),
                documents=count_distinct("document_id"),
                churn=ratio(count(), count_distinct("document_id")),
            )
            .order_by("period")
        )

    def largest_documents(self, n: int = 10, *, project_id: Any = None) -> Analytics:
        """The ``n`` largest documents."""
        query = self.query(Document)
        if project_id is not None:
            query = query.where(project_id=project_id)
        return (
            query.select("id", "project_id", "path", "doc_type", "size_bytes", "version")
            .order_by("-size_bytes", "path")
            .limit(_n(n))
        )

    def stale_documents(self, days: int = 30, *, now: datetime | None = None) -> Analytics:
        """Documents not updated in ``days`` days, oldest first."""
        cutoff = _since(days, now)
        return (
            self.query(Document)
            .where(Range("updated_at", lt=cutoff))
            .select("id", "project_id", "path", "updated_at", "version")
            .order_by("updated_at", "path")
        )

    # -- CI/CD ---------------------------------------------------------------------------------
    def build_health(
        self, per: Per = "repository", *, days: int | None = None, now: datetime | None = None
    ) -> Analytics:
        """Builds, success rate, median and p95 duration per repository (or project)."""
        key = _per(per)
        query = self.query(Build)
        if days is not None:
            query = query.where(Range("created_at", gte=_since(days, now)))
        finished = In("status", ["success", "failure"])
        return (
            query.group_by(key)
            .aggregate(
                builds=count(),
                success_rate=rate(Eq("status", "success"), among=(finished,)),
                median_duration_seconds=median("duration_seconds"),
                p95_duration_seconds=percentile("duration_seconds", 0.95),
            )
            .order_by(key)
        )

    def dora(
        self,
        per: Per = "repository",
        *,
        days: int = 30,
        environment: str | None = None,
        now: datetime | None = None,
    ) -> Analytics:
        """The four DORA metrics over the last ``days`` days per repository (or project)."""
        key = _per(per)
        query = self.query(Deployment).where(Range("created_at", gte=_since(days, now)))
        if environment is not None:
            query = query.where(environment=environment)
        incident = Eq("caused_incident", True)
        return (
            query.group_by(key)
            .aggregate(
                deployments=count(),
                deploys_per_day=ratio(count(), float(days)),
                median_lead_time_seconds=median(duration("commit_at", "finished_at")).where(
                    Eq("status", "success")
                ),
                change_failure_rate=rate(incident),
                median_time_to_restore_seconds=median(duration("finished_at", "restored_at")).where(
                    incident
                ),
            )
            .order_by(key)
        )

    def cicd_health(
        self,
        per: Per = "repository",
        *,
        days: int = 30,
        environment: str | None = None,
        now: datetime | None = None,
    ) -> StatementQuery:
        """Build health and DORA metrics side by side, one row per repository (or project)."""
        key = _per(per)
        parts = [
            self.build_health(per, days=days, now=now),
            self.dora(per, days=days, environment=environment, now=now),
        ]

        def combine(statements: list[Select[Any]]) -> ClauseElement:
            builds = statements[0].order_by(None).subquery("b")
            deploys = statements[1].order_by(None).subquery("d")
            owner = Repository if per == "repository" else Project
            label = Repository.url if per == "repository" else Project.name
            zero: Any = literal_column("0")
            return (
                select(
                    owner.id.label(key),
                    label.label("name"),
                    func.coalesce(builds.c.builds, zero).label("builds"),
                    builds.c.success_rate,
                    builds.c.median_duration_seconds,
                    builds.c.p95_duration_seconds,
                    func.coalesce(deploys.c.deployments, zero).label("deployments"),
                    func.coalesce(deploys.c.deploys_per_day, literal_column("0.0")).label(
                        "deploys_per_day"
                    ),
                    deploys.c.median_lead_time_seconds,
                    deploys.c.change_failure_rate,
                    deploys.c.median_time_to_restore_seconds,
                )
                .select_from(owner)
                .outerjoin(builds, builds.c[key] == owner.id)
                .outerjoin(deploys, deploys.c[key] == owner.id)
                .order_by(literal_column(key))
            )

        return StatementQuery(
            ("cicd_health", per), combine, parts=parts, source=self._source, native=self._native
        )

    # -- across aggregates ---------------------------------------------------------------------
    def project_health(self) -> StatementQuery:
        """One row per project: activity, documents and CI/CD at a glance."""
        parts = [
            self.query(Conversation).group_by("project_id").aggregate(conversations=count()),
            self.query(Message)
            .group_by("project_id")
            .aggregate(messages=count(), last_message_at=max_("created_at")),
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
            conversations, messages, documents, builds, deployments = (
                statement.subquery(name)
                for statement, name in zip(statements, ("c", "m", "doc", "b", "dep"), strict=True)
            )
            zero: Any = literal_column("0")
            return (
                select(
                    Project.id.label("project_id"),
                    Project.name,
                    Project.status,
                    Project.phase,
                    func.coalesce(conversations.c.conversations, zero).label("conversations"),
                    func.coalesce(messages.c.messages, zero).label("messages"),
                    messages.c.last_message_at,
                    func.coalesce(documents.c.documents, zero).label("documents"),
                    func.coalesce(builds.c.builds, zero).label("builds"),
                    builds.c.build_success_rate,
                    func.coalesce(deployments.c.deployments, zero).label("deployments"),
                    deployments.c.change_failure_rate,
                )
                .select_from(Project)
                .outerjoin(conversations, conversations.c.project_id == Project.id)
                .outerjoin(messages, messages.c.project_id == Project.id)
                .outerjoin(documents, documents.c.project_id == Project.id)
                .outerjoin(builds, builds.c.project_id == Project.id)
                .outerjoin(deployments, deployments.c.project_id == Project.id)
                .order_by(Project.name, Project.id)
            )

        return StatementQuery(
            ("project_health",), combine, parts=parts, source=self._source, native=self._native
        )

    # -- top-N ---------------------------------------------------------------------------------
    def most_active_projects(
        self, n: int = 10, *, days: int | None = None, now: datetime | None = None
    ) -> Analytics:
        """Projects with the most messages (in the last ``days`` days, if given)."""
        query = self.query(Message).join("project")
        if days is not None:
            query = query.where(Range("created_at", gte=_since(days, now)))
        return (
            query.group_by("project_id", name="project.name")
            .aggregate(messages=count(), tokens=sum_("token_count"))
            .order_by("-messages", "project_id")
            .limit(_n(n))
        )

    def flakiest_repositories(self, n: int = 10, *, min_builds: int = 5) -> Analytics:
        """Repositories with the highest build failure rate (among at least ``min_builds``)."""
        finished = In("status", ["success", "failure"])
        return (
            self.query(Build)
            .join("repository")
            .group_by("repository_id", url="repository.url")
            .aggregate(
                builds=count().where(finished),
                failure_rate=rate(Eq("status", "failure"), among=(finished,)),
            )
            .having(builds__gte=min_builds)
            .order_by("-failure_rate", "repository_id")
            .limit(_n(n))
        )
