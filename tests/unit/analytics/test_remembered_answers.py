"""Clock-free prebuilt answers are built once per database and set of arguments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.analytics.answers import AnalyticsAnswers, _base


def test_the_same_call_returns_the_same_builder() -> None:
    answers = AnalyticsAnswers()
    assert answers.portfolio() is answers.portfolio()
    assert answers.message_activity("day") is answers.message_activity("day")
    assert answers.message_activity("day") is not answers.message_activity("week")
    assert answers.largest_documents(5).sql() == answers.largest_documents(5).sql()


def test_other_arguments_or_other_databases_get_their_own_answer() -> None:
    first, second = AnalyticsAnswers(), AnalyticsAnswers()
    assert first.document_stats() is not second.document_stats()
    project = uuid.uuid4()
    assert first.document_stats(project_id=project) is first.document_stats(project_id=project)
    assert first.document_stats(project_id=project) is not first.document_stats()
    # equal but differently typed arguments are not confused
    assert first.document_stats(project_id=project) is not first.document_stats(
        project_id=str(project)
    )


def test_a_refused_argument_is_never_answered_from_memory() -> None:
    answers = AnalyticsAnswers()
    answers.largest_documents(1)
    with pytest.raises(InvalidQueryError, match="n must be"):
        answers.largest_documents(True)  # equal to 1 and hashes like it, but refused
    with pytest.raises(InvalidQueryError):
        answers.message_activity("fortnight")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        answers.message_activity("fortnight")  # type: ignore[arg-type]


def test_unhashable_arguments_are_built_every_time() -> None:
    answers = AnalyticsAnswers()
    with pytest.raises(InvalidQueryError):
        answers.largest_documents([3])  # type: ignore[arg-type]
    assert not answers._memo


def test_answers_that_read_the_clock_are_not_remembered() -> None:
    answers = AnalyticsAnswers()
    assert answers.stale_documents(30) is not answers.stale_documents(30)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert answers.dora(days=30, now=now) is not answers.dora(days=30, now=now)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "_MEMO_SIZE", 4)
    answers = AnalyticsAnswers()
    for n in range(1, 20):
        answers.largest_documents(n)
        assert len(answers._memo) <= 4
