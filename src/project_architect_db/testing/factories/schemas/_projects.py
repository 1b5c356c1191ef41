"""The project factory."""

# factory-boy's nested ``Meta`` / ``Params`` classes are configuration, not API to document.

from __future__ import annotations

from project_architect_db.datagen import _text as text
from project_architect_db.schemas import (
    ProjectCreate,
    slugify,
)
from project_architect_db.testing.factories.schemas._base import (
    SchemaFactory,
    fb,
)
from project_architect_db.testing.factories.seeding import STATE, register_sequenced

# -- projects -----------------------------------------------------------------------------------


def _unique_project_name() -> str:
    return STATE.unique("project", text.project_name(STATE.random))


@register_sequenced
class ProjectCreateFactory(SchemaFactory[ProjectCreate]):
    """A :class:`~project_architect_db.schemas.ProjectCreate` like "Atlas Billing Platform".

    Names (and so slugs) are unique until the next ``seed_factories``; the phase fits the
    status; ``tech_stack`` and ``architecture`` describe one coherent stack (the ``stack``
    parameter, a ``Stack``, which can be passed in).
    """

    class Meta:
        model = ProjectCreate

    class Params:
        stack = fb.LazyFunction(lambda: text.random_stack(STATE.random))

    name = fb.LazyFunction(_unique_project_name)
    slug = fb.LazyAttribute(lambda o: slugify(o.name) or None)
    description = fb.LazyAttribute(
        lambda o: text.project_description(STATE.random, o.name, o.stack)
    )
    status = fb.LazyFunction(lambda: text.project_status(STATE.random))
    phase = fb.LazyAttribute(lambda o: text.project_phase(STATE.random, str(o.status)))
    owner_id = fb.LazyFunction(lambda: f"usr_{STATE.random.getrandbits(64):016x}")
    tags = fb.LazyFunction(lambda: text.project_tags(STATE.random))
    tech_stack = fb.LazyAttribute(lambda o: o.stack.tech_stack())
    architecture = fb.LazyAttribute(
        lambda o: text.architecture(STATE.random, o.slug or "project", o.stack)
    )
    metadata = fb.LazyFunction(lambda: text.project_metadata(STATE.random))
