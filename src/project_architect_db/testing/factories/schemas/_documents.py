"""Document, document update and document version factories."""

# factory-boy's nested ``Meta`` / ``Params`` classes are configuration, not API to document.

from __future__ import annotations

from datetime import timedelta

from project_architect_db.datagen import _text as text
from project_architect_db.schemas import (
    DocumentCreate,
    DocumentUpdate,
    DocumentVersionRead,
    content_digest,
)
from project_architect_db.testing.factories.schemas._base import (
    SchemaFactory,
    _pick,
    fb,
)
from project_architect_db.testing.factories.seeding import STATE, register_sequenced

# -- documents ----------------------------------------------------------------------------------

DOC_TYPES = ("spec", "adr", "architecture", "readme", "note", "other")
DOC_TYPE_WEIGHTS = (25.0, 25.0, 10.0, 10.0, 20.0, 10.0)


@register_sequenced
class DocumentCreateFactory(SchemaFactory[DocumentCreate]):
    """A markdown document: a spec, an ADR (Context / Decision / Consequences), a README ...

    Paths are unique within a batch (they carry the factory's sequence number); parameters
    ``project_name`` and ``stack`` set what the document is about.
    """

    class Meta:
        model = DocumentCreate

    class Params:
        project_name = fb.LazyFunction(lambda: text.project_name(STATE.random))
        stack = fb.LazyFunction(lambda: text.random_stack(STATE.random))
        index = fb.Sequence(lambda n: n)
        location = fb.LazyAttribute(
            lambda o: text.document_path_and_title(STATE.random, str(o.doc_type), o.index, o.stack)
        )
        sections = fb.LazyAttribute(
            lambda o: text.document_body(
                STATE.random, str(o.doc_type), o.title, o.project_name, o.stack
            )
        )

    project_id = fb.LazyFunction(STATE.new_id)
    doc_type = fb.LazyFunction(lambda: _pick(DOC_TYPES, DOC_TYPE_WEIGHTS))
    path = fb.LazyAttribute(lambda o: o.location[0])
    title = fb.LazyAttribute(lambda o: o.location[1])
    content = fb.LazyAttribute(lambda o: "\n\n".join(o.sections) + "\n")
    metadata = fb.LazyFunction(
        lambda: {
            "author": STATE.faker.name(),
            "status": _pick(("draft", "in-review", "approved"), (30, 20, 50)),
        }
    )


@register_sequenced
class DocumentUpdateFactory(SchemaFactory[DocumentUpdate]):
    """A new revision of a document's content (the repository then keeps the old version).

    Pass the current content as ``base_content``: the revision appends an "Update" section
    dated ``revised_at`` (default: a seeded day before the reference instant).
    """

    class Meta:
        model = DocumentUpdate

    class Params:
        base_content = ""
        revised_at = fb.LazyFunction(
            lambda: STATE.before_now(timedelta(hours=1), timedelta(days=30))
        )

    content = fb.LazyAttribute(
        lambda o: (
            (o.base_content.rstrip("\n") + "\n\n" if o.base_content else "")
            + text.revision_section(STATE.random, f"{o.revised_at:%Y-%m-%d}")
            + "\n"
        )
    )


@register_sequenced
class DocumentVersionReadFactory(SchemaFactory[DocumentVersionRead]):
    """A :class:`~project_architect_db.schemas.DocumentVersionRead`: a row of a document's history.

    There is no ``DocumentVersionCreate``: the repository writes versions when content changes.
    ``version`` counts up with the sequence (``created_at`` 8 hours apart from ``started_at``,
    never past the reference instant; ``previous_created_at`` the version before's); the
    content is the ``document`` parameter's with a dated update appended.
    """

    class Meta:
        model = DocumentVersionRead

    class Params:
        document = fb.LazyFunction(lambda: DocumentCreateFactory.build())
        started_at = fb.LazyFunction(lambda: STATE.now - timedelta(days=120))

    document_id = fb.LazyFunction(STATE.new_id)
    project_id = fb.LazyAttribute(lambda o: o.document.project_id)
    version = fb.Sequence(lambda n: n + 1)
    title = fb.LazyAttribute(lambda o: o.document.title)
    content = fb.LazyAttribute(
        lambda o: (
            o.document.content
            + "\n"
            + text.revision_section(STATE.random, f"{o.created_at:%Y-%m-%d}")
            + "\n"
        )
    )
    content_hash = fb.LazyAttribute(lambda o: content_digest(o.content)[0])
    size_bytes = fb.LazyAttribute(lambda o: content_digest(o.content)[1])
    created_at = fb.LazyAttribute(
        lambda o: min(STATE.now, o.started_at + timedelta(hours=8 * o.version))
    )
    previous_created_at = fb.LazyAttribute(
        lambda o: (
            None
            if o.version == 1
            else min(STATE.now, o.started_at + timedelta(hours=8 * (o.version - 1)))
        )
    )
    id = fb.LazyAttribute(lambda o: STATE.id_at(o.created_at))
