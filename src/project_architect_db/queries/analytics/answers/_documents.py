"""Documents: statistics, churn, largest and stale ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from project_architect_db.models import (
    Document,
    DocumentVersion,
)
from project_architect_db.queries.analytics.answers._base import (
    AnswersBase,
    BucketUnit,
    _n,
    _since,
    remembered,
)
from project_architect_db.queries.analytics.builder import Analytics
from project_architect_db.queries.analytics.expressions import (
    Aggregate,
    Bucket,
    avg,
    count,
    max_,
    ratio,
    sum_,
)
from project_architect_db.queries.analytics.expressions._expr import FirstInBucket
from project_architect_db.queries.filters import Range

__all__ = ["DocumentAnswers"]


class DocumentAnswers(AnswersBase):
    """Documents: statistics, churn, largest and stale ones."""

    @remembered
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

    @remembered
    def document_churn(self, bucket: BucketUnit = "week", *, project_id: Any = None) -> Analytics:
        """Saved versions per period, the documents touched, and versions per touched document."""
        query = self.query(DocumentVersion)
        if project_id is not None:
            query = query.where(project_id=project_id)
        # A version is its document's first in the period when the one before it is in another
        # (the writes keep ``previous_created_at``; migration 0004 filled it): summing that flag
        # counts the documents without a count(DISTINCT document_id) per period (85 % of the
        # answer at 1M versions).
        touched = Aggregate("count_if", FirstInBucket("created_at", "previous_created_at", bucket))
        return (
            query.group_by(period=Bucket("created_at", bucket))
            .aggregate(versions=count(), documents=touched, churn=ratio(count(), touched))
            .order_by("period")
        )

    @remembered
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
