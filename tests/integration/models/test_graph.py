"""The logical foreign-key graph the repositories use for parent checks and cascades."""

from __future__ import annotations

from project_architect_db.models import (
    CHILDREN,
    PARENTS,
    REFERENCES,
    Attachment,
    Base,
    Build,
    Conversation,
    Deployment,
    Document,
    DocumentVersion,
    Message,
    OnDelete,
    Project,
    Repository,
)

EXPECTED = {
    # child.column -> parent.id: (on delete, denormalised copy of the direct parent's reference)
    "attachments.conversation_id -> conversations.id": ("cascade", True),
    "attachments.message_id -> messages.id": ("cascade", False),
    "attachments.project_id -> projects.id": ("cascade", True),
    "builds.project_id -> projects.id": ("cascade", True),
    "builds.repository_id -> repositories.id": ("cascade", False),
    "conversations.project_id -> projects.id": ("cascade", False),
    "deployments.build_id -> builds.id": ("set_null", False),
    "deployments.project_id -> projects.id": ("cascade", True),
    "deployments.repository_id -> repositories.id": ("cascade", False),
    "document_versions.document_id -> documents.id": ("cascade", False),
    "document_versions.project_id -> projects.id": ("cascade", True),
    "documents.project_id -> projects.id": ("cascade", False),
    "messages.conversation_id -> conversations.id": ("cascade", False),
    "messages.project_id -> projects.id": ("cascade", True),
    "repositories.project_id -> projects.id": ("cascade", False),
}


def test_references_list_every_logical_foreign_key() -> None:
    found = {str(ref): (ref.on_delete.value, ref.denormalised) for ref in REFERENCES}

    assert found == EXPECTED


def test_deleting_a_project_reaches_every_table_below_it_directly() -> None:
    children = {ref.child for ref in CHILDREN[Project]}

    assert children == {
        Attachment,
        Build,
        Conversation,
        Deployment,
        Document,
        DocumentVersion,
        Message,
        Repository,
    }


def test_every_row_carries_the_ids_of_all_its_ancestors() -> None:
    # What makes a cascade one DELETE per CHILDREN entry, with no recursion.
    def ancestors(model: type[Base]) -> set[type[Base]]:
        direct = {ref.parent for ref in PARENTS[model] if ref.on_delete is OnDelete.CASCADE}
        return direct.union(*(ancestors(parent) for parent in direct))

    for model in PARENTS:
        referenced = {ref.parent for ref in PARENTS[model]}
        assert ancestors(model) <= referenced, model.__name__


def test_deleting_a_build_clears_deployment_links_instead_of_deleting_them() -> None:
    (reference,) = CHILDREN[Build]

    assert reference.child is Deployment
    assert reference.column == "build_id"
    assert reference.on_delete is OnDelete.SET_NULL


def test_leaf_models_have_no_children() -> None:
    assert CHILDREN[Attachment] == ()
    assert CHILDREN[DocumentVersion] == ()
    assert CHILDREN[Deployment] == ()
    assert PARENTS[Project] == ()


def test_reference_columns_are_model_attributes() -> None:
    for ref in REFERENCES:
        assert ref.column in ref.child.__table__.c
        assert hasattr(ref.child, ref.column)
