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
import re
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy
from sqlalchemy import JSON, ClauseElement, Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
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
    "result_columns",
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
