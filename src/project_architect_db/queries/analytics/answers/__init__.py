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

from project_architect_db.queries.analytics._statement import StatementQuery
from project_architect_db.queries.analytics.answers._activity import ActivityAnswers
from project_architect_db.queries.analytics.answers._delivery import DeliveryAnswers
from project_architect_db.queries.analytics.answers._documents import DocumentAnswers
from project_architect_db.queries.analytics.answers._overview import OverviewAnswers

__all__ = ["AnalyticsAnswers", "StatementQuery"]


class AnalyticsAnswers(ActivityAnswers, DocumentAnswers, DeliveryAnswers, OverviewAnswers):
    """``db.analytics``: the builder entry point and the prebuilt answers.

    Examples:
        >>> # rows = await db.analytics.portfolio().rows()
        >>> # table = await db.analytics.message_activity(bucket="week").to_arrow()
    """
