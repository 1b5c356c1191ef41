"""``Ancestry``: the bounded memory of each row's ancestors (``repositories/_ancestry.py``)."""

from __future__ import annotations

import uuid

from project_architect_db.models import Attachment, Project
from project_architect_db.repositories._ancestry import Ancestry, ancestor_columns


def test_it_remembers_forgets_and_drops_the_oldest_past_its_size() -> None:
    ancestry = Ancestry(size=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    ancestry.remember(first, {"project_id": 1})
    ancestry.remember(second, {"project_id": 2})
    ancestry.remember(second, {"project_id": 2})  # known: nothing is dropped
    assert len(ancestry) == 2
    ancestry.remember(third, {"project_id": 3})
    assert len(ancestry) == 2
    assert ancestry.get(first) is None  # the oldest went first
    assert ancestry.get(third) == {"project_id": 3}
    ancestry.forget(third)
    ancestry.forget(third)  # forgetting twice is harmless
    assert ancestry.get(third) is None
    assert len(ancestry) == 1


def test_the_ancestors_are_the_required_parents_only() -> None:
    assert ancestor_columns(Project) == ()
    assert set(ancestor_columns(Attachment)) == {"message_id", "conversation_id", "project_id"}
