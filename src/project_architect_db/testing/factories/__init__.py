"""Factories for tests: realistic, seeded, deterministic data (needs the ``[testing]`` extra).

Two layers, both a pure function of a seed and a reference instant (no ``uuid4``):

* **Schema factories** (factory-boy + Faker) build validated ``*Create`` schemas one at a
  time: ``ProjectCreateFactory.build()``, ``MessageCreateFactory.build_batch(10)``,
  :func:`build_thread` for a whole conversation. Reset them with :func:`seed_factories`.
* **The Arrow fast path** builds whole datasets column-wise: :func:`generate_dataset` returns a
  :class:`Dataset` of one ``pyarrow.Table`` per table (2M messages in seconds), which
  ``Dataset.load(duckdb_connection)`` or ``await load_dataset(db, dataset)`` inserts with one
  ``INSERT ... SELECT`` per table. It lives in :mod:`project_architect_db.datagen` (a runtime
  part of the library, without factory-boy or Faker) and is re-exported here. Its reference
  instant defaults to the start of today (UTC); pass ``now=REFERENCE_NOW`` for data that
  never changes.

Examples:
    >>> from project_architect_db.testing.factories import (
    ...     REFERENCE_NOW, ProjectCreateFactory, generate_dataset, seed_factories)
    >>> seed_factories(1)
    >>> ProjectCreateFactory.build().slug == ProjectCreateFactory.build().slug
    False
    >>> generate_dataset(1, projects=2, now=REFERENCE_NOW).projects.num_rows
    2
"""

from __future__ import annotations

try:  # the schema factories need the [testing] extra; say so instead of a bare import error
    import factory as _factory
    import faker as _faker
except ImportError as _error:
    from project_architect_db.exceptions import ConfigurationError

    raise ConfigurationError(
        "project_architect_db.testing.factories needs factory-boy and Faker: pip install "
        "'project-architect-db[testing]'. Generating whole datasets needs neither: use "
        "project_architect_db.datagen.generate_dataset"
    ) from _error
else:
    del _factory, _faker

from project_architect_db.datagen import (
    BENCHMARK_SIZES,
    TABLE_NAMES,
    Dataset,
    DatasetSizes,
    arrow_schema,
    generate_dataset,
    load_dataset,
)
from project_architect_db.datagen.ids import SeededUUID7, uuid7_array, uuid7_from
from project_architect_db.testing.factories.schemas import (
    AttachmentCreateFactory,
    BuildCreateFactory,
    ConversationCreateFactory,
    DeploymentCreateFactory,
    DocumentCreateFactory,
    DocumentUpdateFactory,
    DocumentVersionReadFactory,
    MessageCreateFactory,
    ProjectCreateFactory,
    RepositoryCreateFactory,
    SchemaFactory,
    build_thread,
)
from project_architect_db.testing.factories.seeding import (
    REFERENCE_NOW,
    FactoryState,
    seed_factories,
)

__all__ = [
    "AttachmentCreateFactory",
    "BENCHMARK_SIZES",
    "BuildCreateFactory",
    "ConversationCreateFactory",
    "Dataset",
    "DatasetSizes",
    "DeploymentCreateFactory",
    "DocumentCreateFactory",
    "DocumentUpdateFactory",
    "DocumentVersionReadFactory",
    "FactoryState",
    "MessageCreateFactory",
    "ProjectCreateFactory",
    "REFERENCE_NOW",
    "RepositoryCreateFactory",
    "SchemaFactory",
    "SeededUUID7",
    "TABLE_NAMES",
    "arrow_schema",
    "build_thread",
    "generate_dataset",
    "load_dataset",
    "seed_factories",
    "uuid7_array",
    "uuid7_from",
]
