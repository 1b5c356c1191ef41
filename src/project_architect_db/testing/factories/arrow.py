"""Large, realistic, seeded datasets as Arrow tables, built column-wise for bulk loading.

:func:`generate_dataset` makes one ``pyarrow.Table`` per database table with exactly the
columns and types of the DuckDB tables (:func:`arrow_schema`), consistent with every rule the
schemas and the database enforce: enum values, non-negative counters, slug format, unique
``(conversation_id, sequence)``, ``(project_id, path)``, ``(document_id, version)``, slugs and
repository URLs, parents for every child (and the copied ``project_id`` / ``conversation_id``
equal to the parent's), ``message_count`` / ``last_message_at`` matching the messages,
``content_hash`` / ``size_bytes`` matching the content, ``finished_at >= started_at``, and
every instant at or before ``now``.

Millions of rows are made with numpy and pyarrow vector operations: messages are drawn from
pools of pre-generated content (one pool per role/type and technology stack), ids are built as
bytes (:func:`~project_architect_db.testing.factories.ids.uuid7_halves`), timestamps as
integers. Only projects, documents and repositories (thousands to ~100k rows) are composed in
Python. Rows of every table are ordered by ``created_at``, as a live database would hold them,
and ids are time-ordered UUIDv7s carrying that instant.

Types, chosen for ``INSERT INTO t BY NAME SELECT * FROM arrow_table`` (DuckDB 1.5.5):

* ``UUID`` columns are Arrow's canonical ``uuid`` extension type (``pa.uuid()``), which DuckDB
  scans as ``UUID`` directly.
* ``TIMESTAMP`` columns are naive ``timestamp('us')`` holding UTC: DuckDB would shift an aware
  (``tz='UTC'``) column by the session ``TimeZone`` on its way into a naive ``TIMESTAMP``.
* ``JSON`` columns are compact JSON text (``string``); ``VARCHAR[]`` is ``list<string>``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypedDict

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker
from sqlalchemy import ARRAY, JSON, BigInteger, Boolean, Column, Float, Integer, Uuid

from project_architect_db.models import Base
from project_architect_db.models.types import UtcDateTime
from project_architect_db.schemas.common import slugify
from project_architect_db.testing.factories import _text as text
from project_architect_db.testing.factories import _vocabulary as vocab
from project_architect_db.testing.factories.ids import uuid7_halves, uuid_array
from project_architect_db.testing.factories.seeding import REFERENCE_NOW, check_aware

if TYPE_CHECKING:
    import duckdb

    from project_architect_db.database import Database

__all__ = [
    "BENCHMARK_SIZES",
    "TABLE_NAMES",
    "Dataset",
    "DatasetSizes",
    "arrow_schema",
    "generate_dataset",
    "load_dataset",
]

Array = npt.NDArray[Any]

TABLE_NAMES: Final = (
    "projects",
    "conversations",
    "messages",
    "attachments",
    "documents",
    "document_versions",
    "repositories",
    "builds",
    "deployments",
)
"""Every table a :class:`Dataset` holds, parents before children."""


class DatasetSizes(TypedDict, total=False):
    """Keyword arguments of :func:`generate_dataset` that set its size."""

    projects: int
    conversations_per_project: int
    messages_per_conversation: int
    documents_per_project: int
    versions_per_document: int
    repositories_per_project: int
    builds_per_repository: int
    deployments_per_repository: int
    attachment_rate: float


BENCHMARK_SIZES: Final[DatasetSizes] = {
    "projects": 10_000,
    "conversations_per_project": 10,
    "messages_per_conversation": 20,
    "documents_per_project": 10,
    "versions_per_document": 2,
    "repositories_per_project": 2,
    "builds_per_repository": 50,
    "deployments_per_repository": 10,
}
"""The benchmark scale: 10k projects, 100k conversations, 2M messages, 100k documents (200k
history rows), 20k repositories, 1M builds, 200k deployments."""


# -- schema -------------------------------------------------------------------------------------


def _arrow_type(column: Column[Any]) -> pa.DataType:
    sql_type = column.type
    if isinstance(sql_type, Uuid):
        return pa.uuid()
    if isinstance(sql_type, UtcDateTime):
        return pa.timestamp("us")
    if isinstance(sql_type, JSON):
        return pa.string()
    if isinstance(sql_type, ARRAY):
        return pa.list_(pa.string())
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, BigInteger):
        return pa.int64()
    if isinstance(sql_type, Integer):
        return pa.int32()
    if isinstance(sql_type, Float):
        return pa.float64()
    return pa.string()


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema matching a table of ``Base.metadata``: same column names, order, types.

    Raises:
        KeyError: For a table that is not part of the schema.
    """
    table = Base.metadata.tables[table_name]
    return pa.schema(
        [pa.field(c.name, _arrow_type(c), nullable=bool(c.nullable)) for c in table.columns]
    )


# -- the dataset --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """One Arrow table per database table, ready for ``INSERT ... SELECT``.

    Attributes:
        seed: The seed it was generated from.
        now: The reference instant: every timestamp is at or before it.
    """

    seed: int
    now: datetime
    projects: pa.Table
    conversations: pa.Table
    messages: pa.Table
    attachments: pa.Table
    documents: pa.Table
    document_versions: pa.Table
    repositories: pa.Table
    builds: pa.Table
    deployments: pa.Table

    @property
    def tables(self) -> dict[str, pa.Table]:
        """Table name -> Arrow table, parents before children."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def row_counts(self) -> dict[str, int]:
        """Table name -> number of rows."""
        return {name: table.num_rows for name, table in self.tables.items()}

    def equals(self, other: Dataset) -> bool:
        """Whether every table of ``other`` holds exactly the same data (and schema)."""
        return all(table.equals(other.tables[name]) for name, table in self.tables.items())

    def load(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Insert every table through ``connection``: one ``INSERT INTO t BY NAME SELECT`` each.

        The tables must exist (``Base.metadata.create_all`` or the migrations). Wrap the call
        in a transaction to make it all-or-nothing; :func:`load_dataset` does.
        """
        for name, table in self.tables.items():
            view = f"__padb_dataset_{name}"
            connection.register(view, table)
            try:
                connection.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{view}"')
            finally:
                connection.unregister(view)


async def load_dataset(db: Database, dataset: Dataset) -> None:
    """Insert ``dataset`` into an open database in one transaction, off the event loop.

    Rows go straight to DuckDB (no repositories): the change feed does not report them, and a
    full-text index built earlier must be refreshed afterwards.
    """
    async with db.transaction() as tx:
        await tx.run_native(dataset.load)


# -- generation helpers -------------------------------------------------------------------------

_US_PER_S: Final = 1_000_000
_US_PER_DAY: Final = 86_400 * _US_PER_S
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MESSAGE_CHUNK: Final = 500_000  # rows per Arrow chunk of large string columns
_BODY_VARIANTS: Final = 8  # at most, document bodies per (stack, document type)
_PROJECT: Final = "@@project@@"  # placeholders in pooled document bodies
_TITLE: Final = "@@title@@"

_ROLES: Final = ("user", "assistant", "system", "tool")
_USER, _ASSISTANT, _SYSTEM, _TOOL = range(4)
_KIND_INDEX: Final = {kind: i for i, kind in enumerate(text.MESSAGE_KINDS)}


def _to_us(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _codes(
    gen: np.random.Generator, weights: Sequence[float], size: int | tuple[int, ...]
) -> Array:
    """Indexes into ``weights`` drawn with those relative weights."""
    p = np.asarray(weights, dtype=np.float64)
    codes: Array = gen.choice(len(p), size=size, p=p / p.sum())
    return codes


def _lognormal_us(
    gen: np.random.Generator,
    median_s: float,
    sigma: float,
    cap_s: float,
    size: int | tuple[int, ...],
) -> Array:
    """Log-normal durations in microseconds (median ``median_s``, at most ``cap_s``, >= 1 us)."""
    seconds = np.minimum(gen.lognormal(math.log(median_s), sigma, size=size), cap_s)
    durations: Array = np.maximum((seconds * _US_PER_S).astype(np.int64), 1)
    return durations


@dataclass(frozen=True)
class _Pooled:
    """A string column ``pool[index]`` (``NULL`` where ``null``), built once rows are ordered."""

    pool: Sequence[str] | pa.Array
    index: Array
    null: Array | None = None


@dataclass(frozen=True)
class _Masked:
    """A column of numpy ``values`` (uuid halves, microseconds, floats), ``NULL`` where ``null``."""

    values: Array
    null: Array


@dataclass(frozen=True)
class _Ascii:
    """A string column of fixed-width ASCII rows (a ``(n, width)`` uint8 array)."""

    rows: Array


def _take(pool: Sequence[str] | pa.Array, index: Array, null: Array | None) -> Any:
    """``pool[index]`` as a string column, chunked so no chunk's offsets overflow int32."""
    values = pool if isinstance(pool, pa.Array) else pa.array(pool, pa.string())
    if len(index) <= _MESSAGE_CHUNK:
        return values.take(pa.array(index, pa.int64(), mask=null))
    chunks = []
    for start in range(0, len(index), _MESSAGE_CHUNK):
        part = slice(start, start + _MESSAGE_CHUNK)
        mask = None if null is None else null[part]
        chunks.append(values.take(pa.array(index[part], pa.int64(), mask=mask)))
    return pa.chunked_array(chunks, pa.string())


_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _commit_shas(gen: np.random.Generator, count: int) -> Array:
    """``count`` random 40-hex-digit commit ids as a ``(count, 40)`` uint8 ASCII array."""
    nibbles = gen.integers(0, 16, size=(count, 40), dtype=np.uint8)
    return _HEX[nibbles]


def _fixed_width_strings(ascii_rows: Array) -> pa.Array:
    count, width = ascii_rows.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(ascii_rows.tobytes())
    )


def _column(field: pa.Field, values: Any, order: Array) -> Any:
    if isinstance(values, np.ndarray):
        values = values[order]
        return uuid_array(values) if field.type == pa.uuid() else pa.array(values, field.type)
    if isinstance(values, _Pooled):
        null = None if values.null is None else values.null[order]
        return _take(values.pool, values.index[order], null)
    if isinstance(values, _Masked):
        ordered, null = values.values[order], values.null[order]
        if field.type == pa.uuid():
            return _nullable_uuid(ordered, null)
        return pa.array(ordered, field.type, mask=null)
    if isinstance(values, _Ascii):
        return _fixed_width_strings(values.rows[order])
    if isinstance(values, list):
        return pa.array([values[i] for i in order.tolist()], field.type)
    return values.take(pa.array(order, pa.int64()))  # an Arrow array


def _table(name: str, columns: dict[str, Any], order: Array) -> pa.Table:
    """The table ``name`` from logical-order columns, rows put in ``order`` (by created_at)."""
    schema = arrow_schema(name)
    arrays = [_column(field, columns[field.name], order) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _spread(
    gen: np.random.Generator, start: Array, end: Array, count: int, *, sort: bool = True
) -> Array:
    """``(len(start), count)`` instants uniformly in ``[start, end]`` per row, sorted per row."""
    fraction = gen.random((len(start), count))
    if sort:
        fraction.sort(axis=1)
    span = np.maximum(end - start, 0).astype(np.float64)
    spread: Array = start[:, None] + (fraction * span[:, None]).astype(np.int64)
    return spread


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _check_sizes(sizes: dict[str, Any]) -> None:
    for name, value in sizes.items():
        if name == "attachment_rate":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"attachment_rate must be between 0 and 1, got {value}")
        elif not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        elif value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass
class _Ids:
    """Ids of a table in logical (generation) order, and the order rows are stored in."""

    halves: Array
    order: Array


def _assign_ids(gen: np.random.Generator, created_us: Array) -> _Ids:
    order = np.argsort(created_us, kind="stable")
    halves = np.empty((len(created_us), 2), dtype=">u8")
    halves[order] = uuid7_halves(created_us[order] // 1000, gen)
    return _Ids(halves, order)


# -- the generator ------------------------------------------------------------------------------


class _Generator:
    """One dataset's generation; each table draws from its own seeded stream."""

    def __init__(self, seed: int, now: datetime, sizes: dict[str, Any]) -> None:
        self.seed = seed
        self.now = now
        self.now_us = _to_us(now)
        self.sizes = sizes
        streams = np.random.SeedSequence(seed).spawn(len(TABLE_NAMES) + 1)
        self.gen = {
            name: np.random.default_rng(stream)
            for name, stream in zip(TABLE_NAMES, streams, strict=False)
        }
        self.id_gen = np.random.default_rng(streams[-1])
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}")

    def run(self) -> Dataset:
        s = self.sizes
        self._stacks()
        projects = self._projects(s["projects"])
        conversations, messages, attachments = self._conversations(
            s["conversations_per_project"], s["messages_per_conversation"], s["attachment_rate"]
        )
        documents, versions = self._documents(
            s["documents_per_project"], s["versions_per_document"]
        )
        repositories, builds, deployments = self._repositories(
            s["repositories_per_project"],
            s["builds_per_repository"],
            s["deployments_per_repository"],
        )
        return Dataset(
            seed=self.seed,
            now=self.now,
            projects=projects,
            conversations=conversations,
            messages=messages,
            attachments=attachments,
            documents=documents,
            document_versions=versions,
            repositories=repositories,
            builds=builds,
            deployments=deployments,
        )

    # -- projects -------------------------------------------------------------------------------

    def _stacks(self) -> None:
        # A pool of technology stacks shared by projects, so message pools can talk about the
        # stack of the project they end up in.
        rng = self.rng("stacks")
        count = max(1, min(64, self.sizes["projects"]))
        self.stacks = [text.random_stack(rng) for _ in range(count)]

    def _projects(self, count: int) -> pa.Table:
        gen, rng = self.gen["projects"], self.rng("projects")
        self.project_count = count
        self.project_stack = gen.integers(0, len(self.stacks), size=count)
        created = self.now_us - gen.integers(7 * _US_PER_DAY, 730 * _US_PER_DAY, size=count)
        touched = gen.random(count) < 0.7
        updated = created + (touched * gen.random(count) * (self.now_us - created)).astype(np.int64)
        version = np.where(touched, gen.integers(2, 9, size=count), 1).astype(np.int32)
        owners = [f"usr_{rng.getrandbits(64):016x}" for _ in range(max(1, count // 3))]
        owner_index = gen.integers(0, len(owners), size=count)

        names: list[str] = []
        slugs: list[str] = []
        taken: set[str] = set()
        columns: dict[str, Any] = {
            name: []
            for name in (
                "name", "slug", "description", "status", "phase", "tags", "tech_stack",
                "architecture", "metadata",
            )
        }  # fmt: skip
        phase_index: list[int] = []
        for i in range(count):
            base = text.project_name(rng)
            name, number = base, 1
            while slugify(name) in taken:
                number += 1
                name = f"{base} {number}"
            slug = slugify(name)
            taken.add(slug)
            stack = self.stacks[self.project_stack[i]]
            status = text.project_status(rng)
            phase = text.project_phase(rng, status)
            names.append(name)
            slugs.append(slug)
            phase_index.append(vocab.PHASES.index(phase))
            columns["name"].append(name)
            columns["slug"].append(slug)
            columns["description"].append(text.project_description(rng, name, stack))
            columns["status"].append(status)
            columns["phase"].append(phase)
            columns["tags"].append(text.project_tags(rng))
            columns["tech_stack"].append(stack.tech_stack())
            columns["architecture"].append(_json(text.architecture(rng, slug, stack)))
            columns["metadata"].append(_json(text.project_metadata(rng)))
        ids = _assign_ids(self.id_gen, created)
        self.project_ids = ids.halves
        self.project_created = created
        self.project_names = names
        self.project_slugs = slugs
        self.project_phase = np.asarray(phase_index, dtype=np.int64)
        columns.update(
            id=ids.halves,
            owner_id=[owners[i] for i in owner_index.tolist()],
            created_at=created,
            updated_at=updated,
            version=version,
        )
        return _table("projects", columns, ids.order)

    # -- conversations, messages, attachments ---------------------------------------------------

    def _message_pools(self, per_kind: int) -> tuple[pa.Array, Array, Array]:
        """Pool of contents, the pool offset per (stack, kind), and each entry's UTF-8 length."""
        rng = self.rng("messages")
        kinds = len(text.MESSAGE_KINDS)
        contents: list[str] = []
        offsets = np.zeros((len(self.stacks), kinds), dtype=np.int64)
        for s, stack in enumerate(self.stacks):
            for k, (role, type_) in enumerate(text.MESSAGE_KINDS):
                offsets[s, k] = len(contents)
                for _ in range(per_kind if role != "system" else 1):
                    contents.append(
                        text.message_content(rng, role, type_, project="this project", stack=stack)
                    )
        pool = pa.array(contents, pa.string())
        lengths = pc.binary_length(pool).to_numpy(zero_copy_only=False).astype(np.int64)
        return pool, offsets, lengths

    def _metadata_pool(self, per_role: int) -> tuple[pa.Array, Array]:
        rng = self.rng("message-metadata")
        values: list[str] = []
        offsets = np.zeros(len(_ROLES), dtype=np.int64)
        for r, role in enumerate(_ROLES):
            offsets[r] = len(values)
            values.extend(_json(text.message_metadata(rng, role)) for _ in range(per_role))
        return pa.array(values, pa.string()), offsets

    def _conversations(
        self, per_project: int, per_conversation: int, attachment_rate: float
    ) -> tuple[pa.Table, pa.Table, pa.Table]:
        gen = self.gen["conversations"]
        P, K = self.project_count, per_conversation
        conv_project = np.repeat(np.arange(P, dtype=np.int64), per_project)
        C = len(conv_project)
        # A conversation happens in the project's current phase or an earlier one.
        phase = (gen.random(C) * (self.project_phase[conv_project] + 1)).astype(np.int64)
        titles_per_phase = len(vocab.CONVERSATION_TITLES["requirements"])
        title_pool = [t for p in vocab.PHASES for t in vocab.CONVERSATION_TITLES[p]]
        title_index = phase * titles_per_phase + gen.integers(0, titles_per_phase, size=C)
        status = _codes(gen, (75, 20, 5), C)
        summary_pool = [
            text.conversation_summary(self.rng(f"summary-{i}"), p, t)
            for i, (p, t) in enumerate((p, t) for p in vocab.PHASES for t in
                                       vocab.CONVERSATION_TITLES[p])
        ]  # fmt: skip
        has_summary = gen.random(C) < 0.6
        meta_pool = [
            _json({"channel": channel, "assistant_model": model})
            for channel in ("web", "slack", "api")
            for model in vocab.ASSISTANT_MODELS
        ]
        meta_index = _codes(gen, [6 if i < 5 else 2 for i in range(len(meta_pool))], C)

        # Messages, as a (C, K) grid: roles, kinds, and pauses before each message.
        mgen = self.gen["messages"]
        has_system = mgen.random(C) < 0.25
        turn = np.arange(K, dtype=np.int64)[None, :] - has_system[:, None].astype(np.int64)
        role = np.where(turn < 0, _SYSTEM, np.where(turn % 2 == 1, _ASSISTANT, _USER))
        tool = (role == _USER) & (turn > 0) & (mgen.random((C, K)) < 0.05)
        role = np.where(tool, _TOOL, role).astype(np.int64)
        kind = self._message_kinds(mgen, role)
        pause = np.where(
            role == _USER,
            _lognormal_us(mgen, 90.0, 1.0, 4 * 3600.0, (C, K)),
            np.where(role == _SYSTEM, 50_000, _lognormal_us(mgen, 8.0, 0.6, 300.0, (C, K))),
        )
        offset = np.cumsum(pause, axis=1)
        total = offset[:, -1] if K else np.zeros(C, dtype=np.int64)
        # Fit each thread between its project's creation and a minute before now.
        room = (self.now_us - 60 * _US_PER_S) - self.project_created[conv_project]
        scale = np.minimum(1.0, room / np.maximum(total, 1))
        offset = (offset * scale[:, None]).astype(np.int64) + np.arange(1, K + 1)[None, :]
        total = offset[:, -1] if K else np.zeros(C, dtype=np.int64)
        conv_created = self.project_created[conv_project] + (
            gen.random(C) * np.maximum(room - total, 0)
        ).astype(np.int64)
        message_at = conv_created[:, None] + offset
        last_message = message_at[:, -1] if K else conv_created
        conv_ids = _assign_ids(self.id_gen, conv_created)

        conversations = _table(
            "conversations",
            {
                "id": conv_ids.halves,
                "project_id": self.project_ids[conv_project],
                "title": _Pooled(title_pool, title_index),
                "phase": _Pooled(list(vocab.PHASES), phase),
                "status": _Pooled(["active", "archived", "deleted"], status),
                "summary": _Pooled(summary_pool, title_index, ~has_summary),
                "message_count": np.full(C, K, dtype=np.int32),
                "last_message_at": _Masked(last_message, np.full(C, K == 0)),
                "metadata": _Pooled(meta_pool, meta_index),
                "created_at": conv_created,
                "updated_at": last_message,
            },
            conv_ids.order,
        )

        # Flatten the grid: row r is message (r // K, r % K).
        M = C * K
        msg_conv = np.repeat(np.arange(C, dtype=np.int64), K)
        role_flat, kind_flat, at_flat = role.ravel(), kind.ravel(), message_at.ravel()
        per_kind = 24 if M >= 10_000 else 6
        pool, pool_offset, pool_length = self._message_pools(per_kind)
        stack = self.project_stack[conv_project][msg_conv]
        content_index = pool_offset[stack, kind_flat] + np.where(
            role_flat == _SYSTEM, 0, mgen.integers(0, per_kind, size=M)
        )
        # System prompts name the conversation's project: one per conversation, appended to
        # the pool and picked by conversation.
        system_prompts = pc.binary_join_element_wise(
            "You are an experienced software architect helping the team behind ",
            pa.array(self.project_names, pa.string()).take(pa.array(conv_project)),
            ". Be concise, state trade-offs, and ask before assuming requirements.",
            "",
        )
        is_system = role_flat == _SYSTEM
        content_index = np.where(is_system, len(pool) + msg_conv, content_index)
        full_pool = pa.concat_arrays([pool, system_prompts.cast(pa.string())])
        lengths = np.concatenate(
            [pool_length, pc.binary_length(system_prompts).to_numpy(zero_copy_only=False)]
        ).astype(np.int64)
        tokens = np.maximum(
            1, np.rint(lengths[content_index] / 4 * mgen.uniform(0.85, 1.15, size=M))
        ).astype(np.int32)
        meta_pool_values, meta_offset = self._metadata_pool(64)
        meta_index_msg = meta_offset[role_flat] + mgen.integers(0, 64, size=M)
        msg_ids = _assign_ids(self.id_gen, at_flat)
        msg_project = conv_project[msg_conv]
        messages = _table(
            "messages",
            {
                "id": msg_ids.halves,
                "conversation_id": conv_ids.halves[msg_conv],
                "project_id": self.project_ids[msg_project],
                "sequence": np.tile(np.arange(1, K + 1, dtype=np.int32), C),
                "role": _Pooled(list(_ROLES), role_flat),
                "content": _Pooled(full_pool, content_index),
                "type": _Pooled([t for _, t in text.MESSAGE_KINDS], kind_flat),
                "token_count": tokens,
                "metadata": _Pooled(meta_pool_values, meta_index_msg),
                "created_at": at_flat,
            },
            msg_ids.order,
        )
        attachments = self._attachments(
            attachment_rate, role_flat, at_flat, msg_ids.halves, msg_conv, conv_ids.halves,
            msg_project,
        )  # fmt: skip
        return conversations, messages, attachments

    @staticmethod
    def _message_kinds(gen: np.random.Generator, role: Array) -> Array:
        kind = np.zeros(role.shape, dtype=np.int64)
        draw = gen.random(role.shape)
        for r, name in enumerate(_ROLES):
            choices = text.MESSAGE_KIND_WEIGHTS[name]
            codes = np.array([_KIND_INDEX[(name, t)] for t, _ in choices])
            cumulative = np.cumsum([w for _, w in choices])
            cumulative = cumulative / cumulative[-1]
            mask = role == r
            picked = np.searchsorted(cumulative, draw[mask], side="right")
            kind[mask] = codes[np.minimum(picked, len(codes) - 1)]
        return kind

    def _attachments(
        self,
        rate: float,
        role: Array,
        message_at: Array,
        message_ids: Array,
        msg_conv: Array,
        conv_ids: Array,
        msg_project: Array,
    ) -> pa.Table:
        gen = self.gen["attachments"]
        chosen = np.flatnonzero((role == _USER) & (gen.random(len(role)) < rate))
        n = len(chosen)
        kinds = vocab.ATTACHMENT_TYPES
        kind = gen.integers(0, len(kinds), size=n)
        medians = np.array(
            [{"application/pdf": 4e5, "image/png": 2.5e5, "image/jpeg": 9e5}.get(k[0], 2e4)
             for k in kinds]
        )  # fmt: skip
        size = np.minimum(np.exp(np.log(medians[kind]) + gen.normal(0.0, 1.0, size=n)), 5e7).astype(
            np.int64
        )
        files = pa.array([f"{base}.{ext}" for _, ext, base in kinds], pa.string())
        meta_pool = [_json({"original_name": f"{base}.{ext}"}) for _, ext, base in kinds]
        url = pc.binary_join_element_wise(
            "https://files.example.com/uploads/",
            pa.array(self.project_slugs, pa.string()).take(pa.array(msg_project[chosen])),
            "/",
            pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string()),
            "-",
            files.take(pa.array(kind)),
            "",
        )
        created = message_at[chosen]
        ids = _assign_ids(self.id_gen, created)
        return _table(
            "attachments",
            {
                "id": ids.halves,
                "message_id": message_ids[chosen],
                "conversation_id": conv_ids[msg_conv[chosen]],
                "project_id": self.project_ids[msg_project[chosen]],
                "url": url.cast(pa.string()),
                "file_type": _Pooled([k[0] for k in kinds], kind),
                "size_bytes": size,
                "metadata": _Pooled(meta_pool, kind),
                "created_at": created,
            },
            ids.order,
        )

    # -- documents ------------------------------------------------------------------------------

    def _documents(self, per_project: int, versions: int) -> tuple[pa.Table, pa.Table]:
        gen, rng = self.gen["documents"], self.rng("documents")
        P, n = self.project_count, versions + 1
        doc_project = np.repeat(np.arange(P, dtype=np.int64), per_project)
        D = len(doc_project)
        slot = np.tile(np.arange(per_project, dtype=np.int64), P)
        # Slot 0 is the README, slot 1 the architecture overview, the rest drawn.
        drawn_types = ("spec", "adr", "note", "other", "architecture", "readme")
        drawn = _codes(gen, (30, 30, 20, 10, 6, 4), D)
        doc_type = [
            "readme" if s == 0 else "architecture" if s == 1 else drawn_types[d]
            for s, d in zip(slot.tolist(), drawn.tolist(), strict=True)
        ]
        # Revision instants: t_1 (creation) ... t_n (current version), fitted before now.
        start = self.project_created[doc_project] + gen.integers(
            0, 3 * _US_PER_DAY, size=D, endpoint=True
        )
        gaps = _lognormal_us(gen, 3 * 86_400.0, 1.0, 60 * 86_400.0, (D, n))
        gaps[:, 0] = 0
        offset = np.cumsum(gaps, axis=1)
        room = np.maximum(self.now_us - _US_PER_S - start, 1)
        scale = np.minimum(1.0, room / np.maximum(offset[:, -1], 1))
        revised = start[:, None] + (offset * scale[:, None]).astype(np.int64) + np.arange(n)
        dates = np.datetime_as_string(revised.astype("datetime64[us]"), unit="D").tolist()
        authors = [self.faker.name() for _ in range(200)]
        author = gen.integers(0, len(authors), size=(D, n)).tolist()
        status = _codes(gen, (20, 15, 65), D).tolist()

        # Bodies come from a pool per (stack, type), written with placeholders for the
        # project's name and the document's title, filled in per document.
        body_rng = self.rng("document-bodies")
        bodies: dict[tuple[int, str], list[list[str]]] = {}
        variants = min(_BODY_VARIANTS, max(2, D // 5000))
        variant = gen.integers(0, variants, size=D).tolist()

        doc: dict[str, list[Any]] = {k: [] for k in ("path", "title", "content", "metadata")}
        ver: dict[str, list[Any]] = {k: [] for k in ("title", "content")}
        project_of = doc_project.tolist()
        slots = slot.tolist()
        stack_of = self.project_stack.tolist()
        content = ""
        for d in range(D):
            p = project_of[d]
            stack = self.stacks[stack_of[p]]
            path, title = text.document_path_and_title(rng, doc_type[d], slots[d], stack)
            key = (stack_of[p], doc_type[d])
            if key not in bodies:
                bodies[key] = [
                    text.document_body(body_rng, doc_type[d], _TITLE, _PROJECT, stack)
                    for _ in range(variants)
                ]
            sections = bodies[key][variant[d]]
            name = self.project_names[p]
            for k in range(n):
                keep = max(1, math.ceil(len(sections) * (k + 1) / n))
                body = "\n\n".join(sections[:keep]).replace(_PROJECT, name).replace(_TITLE, title)
                content = f"{body}\n\n_Last edited {dates[d][k]} by {authors[author[d][k]]}._\n"
                if k + 1 < n:
                    ver["title"].append(title)
                    ver["content"].append(content)
            doc["path"].append(path)
            doc["title"].append(title)
            doc["content"].append(content)
            doc["metadata"].append(
                _json(
                    {
                        "author": authors[author[d][0]],
                        "status": ("draft", "in-review", "approved")[status[d]],
                    }
                )
            )
        doc_hash, doc_size = _digests(doc["content"])
        ver_hash, ver_size = _digests(ver["content"])
        doc_ids = _assign_ids(self.id_gen, revised[:, 0])
        documents = _table(
            "documents",
            {
                "id": doc_ids.halves,
                "project_id": self.project_ids[doc_project],
                "path": doc["path"],
                "title": doc["title"],
                "doc_type": doc_type,
                "content": doc["content"],
                "content_hash": doc_hash,
                "size_bytes": doc_size,
                "metadata": doc["metadata"],
                "created_at": revised[:, 0],
                "updated_at": revised[:, -1],
                "version": np.full(D, n, dtype=np.int32),
            },
            doc_ids.order,
        )
        # History row for version k (1..n-1) is written when version k+1 replaces it.
        ver_doc = np.repeat(np.arange(D, dtype=np.int64), versions)
        ver_created = revised[:, 1:].ravel()
        ver_ids = _assign_ids(self.id_gen, ver_created)
        document_versions = _table(
            "document_versions",
            {
                "id": ver_ids.halves,
                "document_id": doc_ids.halves[ver_doc],
                "project_id": self.project_ids[doc_project[ver_doc]],
                "version": np.tile(np.arange(1, n, dtype=np.int32), D),
                "title": ver["title"],
                "content": ver["content"],
                "content_hash": ver_hash,
                "size_bytes": ver_size,
                "created_at": ver_created,
            },
            ver_ids.order,
        )
        return documents, document_versions

    # -- repositories, builds, deployments ------------------------------------------------------

    def _repositories(
        self, per_project: int, builds_per: int, deployments_per: int
    ) -> tuple[pa.Table, pa.Table, pa.Table]:
        gen, rng = self.gen["repositories"], self.rng("repositories")
        P = self.project_count
        repo_project = np.repeat(np.arange(P, dtype=np.int64), per_project)
        R = len(repo_project)
        slot = np.tile(np.arange(per_project, dtype=np.int64), P)
        names, hosts = vocab.PROVIDERS, vocab.PROVIDER_HOSTS
        project_host = _codes(gen, vocab.PROVIDER_WEIGHTS, P)
        companies = [slugify(self.faker.company()) for _ in range(256)]
        organisations = [
            rng.choice(companies)
            if rng.random() < 0.5
            else f"{slug.split('-')[0]}-{rng.choice(vocab.ORG_SUFFIXES)}"
            for slug in self.project_slugs
        ]
        suffixes = vocab.REPOSITORY_SUFFIXES
        columns: dict[str, list[Any]] = {
            k: [] for k in ("provider", "owner", "name", "url", "language")
        }
        for p, j in zip(repo_project.tolist(), slot.tolist(), strict=True):
            suffix = suffixes[j % len(suffixes)]
            name = f"{self.project_slugs[p]}-{suffix}" + (
                f"-{j // len(suffixes) + 1}" if j >= len(suffixes) else ""
            )
            host = project_host[p]
            columns["provider"].append(names[host])
            columns["owner"].append(organisations[p])
            columns["name"].append(name)
            columns["url"].append(f"{hosts[host]}/{organisations[p]}/{name}")
            columns["language"].append(
                _repository_language(suffix, self.stacks[self.project_stack[p]])
            )
        visibility = _codes(gen, (60, 15, 25), R)
        public = visibility == 2
        # Long tail: Pareto-distributed stars; private repositories rarely have any.
        stars = np.where(
            public,
            np.minimum(8 * gen.pareto(1.1, size=R), 250_000),
            gen.pareto(3.0, size=R),
        ).astype(np.int32)
        forks = (stars * gen.uniform(0.02, 0.25, size=R)).astype(np.int32)
        open_issues = (gen.pareto(2.0, size=R) + np.sqrt(stars) / 2).astype(np.int32)
        created = self.project_created[repo_project] + gen.integers(
            0, 14 * _US_PER_DAY, size=R, endpoint=True
        )
        created = np.minimum(created, self.now_us - 3 * _US_PER_DAY)
        touched = gen.random(R) < 0.8
        updated = created + (touched * gen.random(R) * (self.now_us - created)).astype(np.int64)
        version = np.where(touched, gen.integers(2, 12, size=R), 1).astype(np.int32)
        topics = [_json({"topics": rng.sample(vocab.TAGS, k=rng.randint(0, 3)),
                         "archived": rng.random() < 0.05, "has_ci": rng.random() < 0.9})
                  for _ in range(R)]  # fmt: skip
        repo_ids = _assign_ids(self.id_gen, created)
        builds, last_build = self._builds(builds_per, repo_project, repo_ids.halves, created)
        deployments, last_deploy = self._deployments(
            deployments_per, repo_project, repo_ids.halves, created
        )
        last_commit = np.maximum(last_build, last_deploy)
        repositories = _table(
            "repositories",
            {
                "id": repo_ids.halves,
                "project_id": self.project_ids[repo_project],
                **columns,
                "default_branch": _Pooled(
                    ["main", "master", "develop"], _codes(gen, (85, 10, 5), R)
                ),
                "visibility": _Pooled(["private", "internal", "public"], visibility),
                "stars": stars,
                "forks": forks,
                "open_issues": open_issues,
                "last_commit_at": _Masked(np.maximum(last_commit, 0), last_commit < 0),
                "metadata": topics,
                "created_at": created,
                "updated_at": updated,
                "version": version,
            },
            repo_ids.order,
        )
        return repositories, builds, deployments

    def _builds(
        self, per_repo: int, repo_project: Array, repo_ids: Array, repo_created: Array
    ) -> tuple[pa.Table, Array]:
        gen = self.gen["builds"]
        R, K = len(repo_project), per_repo
        created = _spread(gen, repo_created, np.full(R, self.now_us - 2 * 3600 * _US_PER_S), K)
        status = _codes(gen, (80, 15, 5), (R, K))  # success, failure, cancelled
        if K:  # the latest build of some repositories is still queued or running
            latest = gen.random(R)
            status[:, -1] = np.where(latest < 0.08, 3, np.where(latest < 0.1, 4, status[:, -1]))
            recent = status[:, -1] >= 3
            created[recent, -1] = self.now_us - gen.integers(
                60 * _US_PER_S, 20 * 60 * _US_PER_S, size=int(recent.sum())
            )
        status = status.ravel()
        created = created.ravel()
        queued, running = status == 4, status == 3
        started = created + _lognormal_us(gen, 15.0, 1.0, 600.0, R * K)
        started = np.where(running, np.minimum(started, self.now_us - _US_PER_S), started)
        median = np.array([300.0, 140.0, 60.0, 1.0, 1.0])[status]
        duration = np.minimum(np.exp(np.log(median) + gen.normal(0.0, 0.6, size=R * K)), 7000.0)
        finished = started + np.maximum((duration * _US_PER_S).astype(np.int64), 1)
        unfinished = queued | running
        build_repo = np.repeat(np.arange(R, dtype=np.int64), K)
        shas = _commit_shas(gen, R * K)
        branch_pool = ["main", *vocab.FEATURE_BRANCHES]
        branch = np.where(gen.random(R * K) < 0.6, 0, gen.integers(1, len(branch_pool), size=R * K))
        ids = _assign_ids(self.id_gen, created)
        self.build_state = (ids.halves, shas, status, created, finished, unfinished)
        table = _table(
            "builds",
            {
                "id": ids.halves,
                "repository_id": repo_ids[build_repo],
                "project_id": self.project_ids[repo_project[build_repo]],
                "status": _Pooled(["success", "failure", "cancelled", "running", "queued"], status),
                "commit_sha": _Ascii(shas),
                "branch": _Pooled(branch_pool, branch),
                "started_at": _Masked(started, queued),
                "finished_at": _Masked(finished, unfinished),
                "duration_seconds": _Masked((finished - started) / _US_PER_S, unfinished),
                "trigger": _Pooled(
                    list(vocab.BUILD_TRIGGERS), _codes(gen, vocab.BUILD_TRIGGER_WEIGHTS, R * K)
                ),
                "created_at": created,
            },
            ids.order,
        )
        last = (
            np.where(queued, created, started).reshape(R, K).max(axis=1)
            if K
            else np.full(R, -1, dtype=np.int64)
        )
        return table, last

    def _deployments(
        self, per_repo: int, repo_project: Array, repo_ids: Array, repo_created: Array
    ) -> tuple[pa.Table, Array]:
        gen = self.gen["deployments"]
        R, K = len(repo_project), per_repo
        N = R * K
        build_ids, build_shas, build_status, build_created, build_finished, unfinished = (
            self.build_state
        )
        builds_per = len(build_status) // R if R else 0
        deploy_repo = np.repeat(np.arange(R, dtype=np.int64), K)
        # Most deployments ship a successful build of their repository; the rest a commit
        # deployed by hand.
        if builds_per:
            build = deploy_repo * builds_per + gen.integers(0, builds_per, size=N)
            linked = (build_status[build] == 0) & ~unfinished[build] & (gen.random(N) < 0.9)
        else:
            build = np.zeros(N, dtype=np.int64)
            linked = np.zeros(N, dtype=bool)
        latest_start = self.now_us - 3600 * _US_PER_S
        own_start = _spread(
            gen, repo_created + 3600 * _US_PER_S, np.full(R, latest_start), K, sort=False
        ).ravel()
        own_start = np.minimum(own_start, latest_start)
        lead = _lognormal_us(gen, 6 * 3600.0, 1.0, 20 * 86_400.0, N)
        if builds_per:
            delay = _lognormal_us(gen, 1800.0, 1.2, 3 * 86_400.0, N)
            after_build = build_finished[build] + np.minimum(
                delay, np.maximum(latest_start - build_finished[build], _US_PER_S)
            )
            started = np.where(linked, after_build, own_start)
            commit_at = np.where(
                linked,
                build_created[build] - gen.integers(_US_PER_S, 2 * 3600 * _US_PER_S, size=N),
                started - lead,
            )
            shas = np.where(linked[:, None], build_shas[build], _commit_shas(gen, N))
        else:
            started, commit_at, shas = own_start, own_start - lead, _commit_shas(gen, N)
        environment = _codes(gen, (50, 40, 10), N)  # staging, production, development
        status = _codes(gen, (88, 7, 5), N)  # success, failure, rolled_back
        if K:  # the newest deployment of a few repositories is still pending or in progress
            latest = gen.random(R)
            last = np.arange(R) * K + K - 1
            status[last] = np.where(latest < 0.02, 3, np.where(latest < 0.03, 4, status[last]))
            live = status[last] >= 3
            started[last[live]] = self.now_us - gen.integers(
                60 * _US_PER_S, 10 * 60 * _US_PER_S, size=int(live.sum())
            )
            commit_at[last[live]] = started[last[live]] - lead[last[live]]
        in_progress, pending = status == 3, status == 4
        done = ~(in_progress | pending)
        finished = started + _lognormal_us(gen, 180.0, 0.7, 3600.0, N)
        production = environment == 1
        incident = done & production & (gen.random(N) < np.where(status == 0, 0.06, 0.45))
        restored = finished + _lognormal_us(gen, 5400.0, 0.9, 2 * 86_400.0, N)
        ongoing = ~incident | (restored > self.now_us)
        created = np.where(
            pending, started, started - gen.integers(0, 60 * _US_PER_S, size=N, endpoint=True)
        )
        ids = _assign_ids(self.id_gen, created)
        table = _table(
            "deployments",
            {
                "id": ids.halves,
                "repository_id": repo_ids[deploy_repo],
                "project_id": self.project_ids[repo_project[deploy_repo]],
                "build_id": _Masked(
                    build_ids[build] if builds_per else np.zeros((N, 2), ">u8"), ~linked
                ),
                "environment": _Pooled(["staging", "production", "development"], environment),
                "status": _Pooled(
                    ["success", "failure", "rolled_back", "in_progress", "pending"], status
                ),
                "commit_sha": _Ascii(shas),
                "started_at": _Masked(started, pending),
                "finished_at": _Masked(finished, ~done),
                "duration_seconds": _Masked((finished - started) / _US_PER_S, ~done),
                "commit_at": commit_at,
                "caused_incident": incident,
                "restored_at": _Masked(restored, ongoing),
                "created_at": created,
            },
            ids.order,
        )
        last_deploy = commit_at.reshape(R, K).max(axis=1) if K else np.full(R, -1, np.int64)
        return table, last_deploy


def _nullable_uuid(halves: Array, null: Array) -> pa.Array:
    validity = pa.py_buffer(np.packbits(~null, bitorder="little").tobytes()) if null.any() else None
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16),
        len(halves),
        [validity, pa.py_buffer(np.ascontiguousarray(halves, dtype=">u8").tobytes())],
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def _repository_language(suffix: str, stack: text.Stack) -> str | None:
    if suffix == "docs":
        return None
    if suffix == "infra":
        return "HCL"
    if suffix == "web":
        return "TypeScript" if stack.frontend is not None else stack.language
    if suffix == "mobile":
        return "Kotlin" if stack.language in ("Java", "Kotlin") else "Swift"
    if suffix == "ml":
        return "Python"
    return stack.language


def _digests(contents: list[str]) -> tuple[list[str], Array]:
    hashes: list[str] = []
    sizes = np.empty(len(contents), dtype=np.int64)
    for i, content in enumerate(contents):
        data = content.encode("utf-8")
        hashes.append(hashlib.sha256(data).hexdigest())
        sizes[i] = len(data)
    return hashes, sizes


def generate_dataset(
    seed: int,
    *,
    projects: int = 20,
    conversations_per_project: int = 4,
    messages_per_conversation: int = 20,
    documents_per_project: int = 5,
    versions_per_document: int = 2,
    repositories_per_project: int = 2,
    builds_per_repository: int = 20,
    deployments_per_repository: int = 8,
    attachment_rate: float = 0.04,
    now: datetime = REFERENCE_NOW,
) -> Dataset:
    """Generate a consistent, realistic dataset of every table, as Arrow tables.

    The same arguments give the same data (``Dataset.equals``), on any machine, at any time.

    Args:
        seed: Seed of every random draw.
        projects: Number of projects.
        conversations_per_project: Conversations of every project.
        messages_per_conversation: Messages of every conversation (sequences 1..n).
        documents_per_project: Documents of every project (a README and an architecture
            overview first, then specs, ADRs, notes ...).
        versions_per_document: History rows per document; each document is at version
            ``versions_per_document + 1``.
        repositories_per_project: Code repositories of every project.
        builds_per_repository: CI builds of every repository.
        deployments_per_repository: Deployments of every repository.
        attachment_rate: Chance that a user message carries one attachment (0..1).
        now: The reference instant (timezone-aware); every timestamp is at or before it.

    Returns:
        The tables, each with exactly the columns and types of the database table.

    Raises:
        ValueError: If a size is negative, ``attachment_rate`` is outside [0, 1], or ``now``
            is naive.
        TypeError: If a size is not an ``int``.

    Examples:
        >>> data = generate_dataset(1, projects=2, conversations_per_project=1,
        ...                         messages_per_conversation=3)
        >>> data.messages.num_rows, data.projects.column_names[:3]
        (6, ['id', 'name', 'slug'])
    """
    sizes: dict[str, Any] = {
        "projects": projects,
        "conversations_per_project": conversations_per_project,
        "messages_per_conversation": messages_per_conversation,
        "documents_per_project": documents_per_project,
        "versions_per_document": versions_per_document,
        "repositories_per_project": repositories_per_project,
        "builds_per_repository": builds_per_repository,
        "deployments_per_repository": deployments_per_repository,
        "attachment_rate": attachment_rate,
    }
    _check_sizes(sizes)
    return _Generator(seed, check_aware(now), sizes).run()
