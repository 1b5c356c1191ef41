"""Every use of SQLAlchemy's private API, in one place, pinned to the SQLAlchemy it was tested with.

The native read and write paths skip SQLAlchemy's execution layer but must give the very values
SQLAlchemy would: they reuse a compiled statement's bind processors and result columns, a
statement's cache key, and a few attributes of ``Enum`` / ``JSON`` / ``ARRAY`` and of the
dialect. Those are underscore names (or private keyword arguments) that SQLAlchemy may change in
any minor release, and the asyncio pieces the driver is built from (``await_``, ``in_greenlet``,
``greenlet_spawn``) live in ``sqlalchemy.util``, which is not public API either. So they are
reached only through the small, stateless functions below; no other module of the package
touches them (``tests/unit/core/test_sqlalchemy_private_api.py`` scans the sources), and
:func:`check_sqlalchemy_version` refuses a SQLAlchemy outside :data:`SUPPORTED` with an error
naming this module. :func:`project_architect_db.core.engine.create_engine` (so
``Database.open``) and the dialect's first connect run that check: a clear
:class:`~project_architect_db.exceptions.ConfigurationError` at open time, rather than an
``AttributeError`` deep inside a query. It compares two tuples once per process.

To support a new SQLAlchemy: widen :data:`SUPPORTED` and the pin in ``pyproject.toml`` together,
then run the test suite (``tests/integration/repositories/test_native_list.py`` compares the
native paths with SQLAlchemy's value by value).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy
from sqlalchemy import JSON, BindParameter, ClauseElement, Column, Enum, Select, Table
from sqlalchemy.engine import Connection, CursorResult, Dialect, IteratorResult
from sqlalchemy.engine.cursor import CursorResultMetaData
from sqlalchemy.engine.result import ResultMetaData
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.sqltypes import ARRAY
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.concurrency import await_, in_greenlet

from project_architect_db.exceptions import ConfigurationError

__all__ = [
    "SUPPORTED",
    "against_native_enum",
    "await_",
    "bind_processors",
    "cache_key",
    "check_installed_sqlalchemy",
    "check_sqlalchemy_version",
    "construct_params",
    "dbapi_connection",
    "enum_lookup",
    "greenlet_spawn",
    "in_greenlet",
    "json_deserializer",
    "json_string_type",
    "point_select_parts",
    "result_columns",
    "result_metadata",
    "rows_result",
    "session_began",
    "session_connection",
    "with_processors",
]

#: The SQLAlchemy releases whose internals this module was written and tested against
#: (the same range as the ``sqlalchemy[asyncio]`` pin in ``pyproject.toml``).
SUPPORTED = (">=2.1.9", "<2.2")

_MODULE = __name__
_RELEASE = re.compile(r"\s*(\d+(?:\.\d+)*)")


def _release(version: str) -> tuple[int, ...]:
    """``"2.1.9"`` -> ``(2, 1, 9)``; a pre-release ``"2.2.0b1"`` counts as its release."""
    match = _RELEASE.match(version)
    if match is None:
        raise ConfigurationError(
            f"{_MODULE} cannot read the SQLAlchemy version {version!r}; "
            f"install a SQLAlchemy release in {' and '.join(SUPPORTED)}."
        )
    parts = tuple(int(part) for part in match.group(1).split("."))
    return parts + (0,) * (3 - len(parts))


def check_sqlalchemy_version(version: str) -> None:
    """Raise unless SQLAlchemy ``version`` is in :data:`SUPPORTED`.

    Raises:
        ConfigurationError: ``version`` is outside the range (or not a version at all); the
            message names this module, the version found and the range to install.
    """
    low, high = (_release(bound.lstrip("<>=")) for bound in SUPPORTED)
    found = _release(version)
    if low <= found < high:
        return
    raise ConfigurationError(
        f"{_MODULE} relies on SQLAlchemy internals tested with SQLAlchemy "
        f"{' and '.join(SUPPORTED)}; found {version}. Install a supported release "
        f"(pip install 'sqlalchemy[asyncio]{','.join(SUPPORTED)}') or a project-architect-db "
        "release made for this SQLAlchemy."
    )


@functools.cache
def check_installed_sqlalchemy() -> None:
    """:func:`check_sqlalchemy_version` of the installed SQLAlchemy (checked once per process)."""
    check_sqlalchemy_version(sqlalchemy.__version__)


def bind_processors(compiled: SQLCompiler) -> Mapping[str, Any]:
    """Each bind parameter name's processor (SQLAlchemy's ``_bind_processors``), read-only.

    A name with no processor is absent; a tuple-valued parameter maps to a sequence of them.
    """
    return compiled._bind_processors


def result_columns(compiled: SQLCompiler) -> list[tuple[str, TypeEngine[Any]]]:
    """``(key, type)`` of each result column, keyed as ``Row._mapping`` is, in order."""
    return [(column.keyname, column.type) for column in compiled._result_columns]


def construct_params(
    compiled: SQLCompiler,
    values: Mapping[str, Any] | None = None,
    *,
    extracted: Any = None,
) -> Mapping[str, Any]:
    """The bind values of ``compiled`` for ``values`` or a cache key's ``extracted`` parameters.

    SQLAlchemy's own check for missing required values is skipped (``_check=False``): the
    callers pass every value the statement has, or a cache key's full set.
    """
    if extracted is not None:
        return compiled.construct_params(extracted_parameters=extracted, _check=False)
    return compiled.construct_params(dict(values) if values is not None else None, _check=False)


def cache_key(statement: ClauseElement) -> Any:
    """SQLAlchemy's cache key of ``statement`` (``.key`` and ``.bindparams``), or ``None``."""
    return statement._generate_cache_key()


def enum_lookup(impl: Enum) -> dict[Any, Any]:
    """The stored value -> Python member mapping an ``Enum`` column's result processor uses."""
    lookup: dict[Any, Any] = impl._object_lookup
    return lookup


def json_string_type(impl: JSON) -> TypeEngine[Any]:
    """The string type a ``JSON`` column's text passes through before it is parsed."""
    string: TypeEngine[Any] = impl._str_impl
    return string


def json_deserializer(dialect: Dialect) -> Callable[[str], Any] | None:
    """The ``json_deserializer`` given to the engine, or ``None`` for ``json.loads``."""
    deserializer: Callable[[str], Any] | None = getattr(dialect, "_json_deserializer", None)
    return deserializer


def against_native_enum(impl: ARRAY[Any]) -> bool:
    """Whether an ``ARRAY`` of a native ``ENUM`` (whose items need converting) is meant."""
    return bool(getattr(impl, "_against_native_enum", False))


def dbapi_connection(context: Any) -> Any:
    """The DBAPI connection an execution context runs on (``_dbapi_connection``)."""
    return context._dbapi_connection


# -- the session's point-select path (core/point_select.py) ----------------------------------
#: The clauses of a ``Select`` (all it carries into its SQL, as its cache key walks them)
#: besides its columns and WHERE: a point select must hold each at the value of a bare one.
_CLAUSES = tuple(
    name
    for name, _ in Select._traverse_internals
    # ``dialect_options`` is made on first access: looked up in the instance's dict instead
    if name not in ("_raw_columns", "_where_criteria", "dialect_options")
)
_BARE: Select[Any] = Select(
    Table("padb_probe", sqlalchemy.MetaData(), Column("id", sqlalchemy.Integer))
)
# A bare SELECT holds either an empty container (compared by emptiness) or a plain default
# (None, False, an enum member: compared by identity, since a clause's ``==`` builds SQL).
_EMPTY = tuple(name for name in _CLAUSES if isinstance(getattr(_BARE, name), tuple | Mapping))
_PLAIN = tuple(name for name in _CLAUSES if name not in _EMPTY)
_empties_of = operator.attrgetter(*_EMPTY)  # one C call for all of them
_plains_of = operator.attrgetter(*_PLAIN)
_BARE_PLAIN = _plains_of(_BARE)


def _is_bare(statement: Select[Any]) -> bool:
    """Whether ``statement`` has nothing but columns and a WHERE (see :data:`_CLAUSES`)."""
    if any(map(operator.is_not, _plains_of(statement), _BARE_PLAIN)):
        return False
    return not any(map(len, _empties_of(statement))) and not statement.__dict__.get(
        "dialect_options"
    )


def point_select_parts(statement: Any) -> tuple[tuple[Any, ...], BindParameter[Any]] | None:
    """``(shape, bind)`` of a Core ``SELECT`` of one table's own columns by its primary key.

    The statement must be exactly ``select(table | table.c.x, ...).where(pk == value)``:
    a plain ``Table`` with a one-column primary key, plain columns of it, one ``=`` against
    a value of the column's own type (given, or a ``bindparam`` to be given at execution),
    and nothing else (no ORM entity, options, joins, order, limit, hints, ...). ``shape``
    identifies the statement but for the value (the columns and the key column); ``bind``
    holds the value or names it. ``None`` for anything else.
    """
    if type(statement) is not Select or statement._execution_options:
        return None
    where = statement._where_criteria
    if len(where) != 1:
        return None
    criterion = where[0]
    if type(criterion) is not BinaryExpression or criterion.operator is not operators.eq:
        return None
    key, bind = criterion.left, criterion.right
    if type(key) is not Column or type(bind) is not BindParameter:
        return None
    table = key.table
    if type(table) is not Table or list(table.primary_key.columns) != [key]:
        return None
    if (
        bind.type is not key.type
        or bind.callable is not None
        or (bind.value is None and not bind.required)
        or bind.expanding
        or bind.literal_execute
        or criterion.modifiers
    ):
        return None
    columns = tuple(statement._raw_columns)
    if not all(c is table or (type(c) is Column and c.table is table) for c in columns):
        return None
    if not _is_bare(statement):
        return None
    return (*columns, key), bind


def session_connection(session: SyncSession) -> Connection | None:
    """The connection ``session.execute`` would run a Core statement on, if that is plain.

    Plain: one engine bind, the session's transaction active and holding its connection
    already, nothing to flush, no ``do_orm_execute`` hook, no execution options on the
    session or connection, no engine events and no echo. ``None`` otherwise (then
    ``session.execute`` takes SQLAlchemy's own path, which handles all of those).
    """
    bind = session.bind
    transaction = session._transaction
    if (
        bind is None
        or transaction is None
        or not transaction.is_active
        or session.execution_options
        or session.dispatch.do_orm_execute
        or session.binds
        or type(session).get_bind is not SyncSession.get_bind
        or (session.autoflush and not session._is_clean())
    ):
        return None
    held = transaction._connections.get(bind)
    if held is None:
        return None
    connection: Connection = held[0]
    if (
        connection.closed
        or connection.invalidated
        or connection._has_events
        or connection.engine._has_events
        or connection._echo
        or connection._execution_options
    ):
        return None
    return connection


def session_began(session: SyncSession) -> bool:
    """Whether ``session`` has begun its transaction (autobegin happens on first use)."""
    return session._transaction is not None


def result_metadata(result: Any) -> ResultMetaData | None:
    """The row layout SQLAlchemy built for a buffered ``CursorResult`` (``None`` otherwise)."""
    if type(result) is not CursorResult:
        return None
    metadata: ResultMetaData = result._metadata
    return metadata


def with_processors(
    metadata: ResultMetaData, processors: Sequence[Callable[[Any], Any] | None]
) -> ResultMetaData:
    """``metadata`` making its rows' values with ``processors`` (one per column) instead.

    For the layout of a plain ``SELECT`` (a ``CursorResultMetaData`` with no tuple filter or
    translated indexes, as :func:`result_metadata` keeps for point selects); any other
    layout, or a count of processors that is not its column count, is returned unchanged.
    The keys, and how a key finds its column, stay SQLAlchemy's.
    """
    if (
        type(metadata) is not CursorResultMetaData
        or metadata._tuplefilter is not None
        or metadata._translated_indexes is not None
        or len(processors) != len(metadata._processors)
    ):
        return metadata
    processed: list[Any] = list(processors)
    return metadata._make_new_metadata(
        unpickled=metadata._unpickled,
        processors=processed,
        keys=metadata._keys,
        keymap=metadata._keymap,
        tuplefilter=None,
        translated_indexes=None,
        safe_for_cache=metadata._safe_for_cache,
        keymap_by_result_column_idx=metadata._keymap_by_result_column_idx,
    )


class RowsResult(IteratorResult[Any]):
    """A buffered SELECT's rows, keyed and processed as its ``CursorResult`` would have them."""

    @property
    def returns_rows(self) -> bool:
        """Always ``True``: a SELECT's result (as ``CursorResult.returns_rows``)."""
        return True

    @property
    def rowcount(self) -> int:
        """``-1``, as DuckDB reports for a SELECT (``CursorResult.rowcount``)."""
        return -1


def rows_result(metadata: ResultMetaData, rows: Iterator[Any]) -> RowsResult:
    """A :class:`RowsResult` over ``rows`` with the layout of :func:`result_metadata`."""
    return RowsResult(metadata, rows)
