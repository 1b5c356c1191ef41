"""Code repositories: build health, the DORA metrics, CI/CD health, flaky repositories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Select,
    func,
    literal_column,
    select,
)

from project_architect_db.models import (
    Build,
    Deployment,
    Project,
    Repository,
)
from project_architect_db.queries.analytics._statement import StatementQuery
from project_architect_db.queries.analytics.answers._base import (
    AnswersBase,
    Per,
    _n,
    _per,
    _since,
    remembered,
)
from project_architect_db.queries.analytics.builder import Analytics
from project_architect_db.queries.analytics.expressions import (
    count,
    duration,
    median,
    percentile,
    rate,
    ratio,
)
from project_architect_db.queries.filters import Eq, In, Range

__all__ = ["DeliveryAnswers"]


class DeliveryAnswers(AnswersBase):
    """Code repositories: build health, DORA metrics, CI/CD health, flaky repositories."""

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
                median_duration_seconds=median("duration_seconds").from_list(),
                p95_duration_seconds=percentile("duration_seconds", 0.95).from_list(),
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
                median_lead_time_seconds=median(duration("commit_at", "finished_at"))
                .where(Eq("status", "success"))
                .from_list(),
                change_failure_rate=rate(incident),
                median_time_to_restore_seconds=median(duration("finished_at", "restored_at"))
                .where(incident)
                .from_list(),
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

    @remembered
    def flakiest_repositories(self, n: int = 10, *, min_builds: int = 5) -> StatementQuery:
        """Repositories with the highest build failure rate (among at least ``min_builds``).

        Builds are grouped per ``repository_id`` first; only the groups meet ``repositories``
        (for the url), instead of every build carrying its repository's url into the grouping.
        """
        finished = In("status", ["success", "failure"])
        per_repository = (
            self.query(Build)
            .group_by("repository_id")
            .aggregate(
                builds=count().where(finished),
                failure_rate=rate(Eq("status", "failure"), among=(finished,)),
            )
            .having(builds__gte=min_builds)
        )
        return self._top_groups(
            "flakiest_repositories",
            per_repository,
            alias="b",
            key="repository_id",
            parent=Repository,
            label=Repository.url.label("url"),
            measures=("builds", "failure_rate"),
            rank="failure_rate",
            limit=_n(n),
        )
