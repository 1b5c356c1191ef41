"""Large, realistic, seeded datasets as Arrow tables, built column-wise for bulk loading.

This is what ``project-architect-db seed`` and ``demo`` load, what the benchmarks run on, and
what tests use for volume. It needs only the library's runtime dependencies (numpy, pyarrow):
names of people and companies come from the package's own word lists, not from Faker, so a
bare ``pip install project-architect-db`` can seed a database.

:func:`generate_dataset` makes one ``pyarrow.Table`` per database table with exactly the
columns and types of the DuckDB tables (:func:`arrow_schema`), consistent with every rule the
schemas and the database enforce: enum values, non-negative counters, slug format, unique
``(conversation_id, sequence)``, ``(project_id, path)``, ``(document_id, version)``, slugs and
repository URLs, parents for every child (and the copied ``project_id`` / ``conversation_id``
equal to the parent's), ``message_count`` / ``last_message_at`` matching the messages,
``content_hash`` / ``size_bytes`` matching the content, ``finished_at >= started_at``, and
every instant at or before ``now`` (by default the start of today, UTC: :func:`start_of_day`).

Datasets too big to hold at once (:data:`SCALE_SIZES`: 10M messages) come from
:func:`generate_batches`: blocks of projects with all their children, loaded one after another
(``load_dataset`` takes the batches), in the memory of one batch.

Millions of rows are made with numpy and pyarrow vector operations: messages are drawn from
pools of pre-generated content (one pool per role/type and technology stack), ids are built as
bytes (:func:`~project_architect_db.datagen.ids.uuid7_halves`), timestamps as
integers. Only projects, documents and repositories (thousands to ~100k rows) are composed in
Python. Rows of every table are ordered by ``created_at``, as a live database would hold them,
and ids are time-ordered UUIDv7s carrying that instant.

Types, chosen for ``INSERT INTO t BY NAME SELECT * FROM arrow_table`` (DuckDB 1.5.5):

* ``UUID`` columns are Arrow's canonical ``uuid`` extension type (``pa.uuid()``), which DuckDB
  scans as ``UUID`` directly.
* ``TIMESTAMP`` columns are naive ``timestamp('us')`` holding UTC: DuckDB would shift an aware
  (``tz='UTC'``) column by the session ``TimeZone`` on its way into a naive ``TIMESTAMP``.
* ``JSON`` columns are compact JSON text (``string``); ``VARCHAR[]`` is ``list<string>``.

Examples:
    >>> from datetime import UTC, datetime
    >>> from project_architect_db.datagen import generate_dataset
    >>> data = generate_dataset(1, projects=2, now=datetime(2025, 6, 30, tzinfo=UTC))
    >>> data.projects.num_rows, data.equals(
    ...     generate_dataset(1, projects=2, now=datetime(2025, 6, 30, tzinfo=UTC)))
    (2, True)
"""

from __future__ import annotations

from project_architect_db.datagen._clock import start_of_day
from project_architect_db.datagen._dataset import Dataset, Transactional, load_dataset
from project_architect_db.datagen._draws import Array as Array
from project_architect_db.datagen._generate import (
    BENCHMARK_SIZES,
    ROWS_PER_BATCH,
    SCALE_SIZES,
    DatasetSizes,
    batch_count,
    default_projects_per_batch,
    generate_batches,
    generate_dataset,
    rows_per_project,
)
from project_architect_db.datagen._schema import TABLE_NAMES, arrow_schema

__all__ = [
    "BENCHMARK_SIZES",
    "ROWS_PER_BATCH",
    "SCALE_SIZES",
    "TABLE_NAMES",
    "Dataset",
    "DatasetSizes",
    "Transactional",
    "arrow_schema",
    "batch_count",
    "default_projects_per_batch",
    "generate_batches",
    "generate_dataset",
    "load_dataset",
    "rows_per_project",
    "start_of_day",
]
