"""SQLAlchemy's private API is used in one module, pinned to the SQLAlchemy it was tested with."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
import sqlalchemy

from project_architect_db.core import _sqlalchemy
from project_architect_db.core._sqlalchemy import (
    SUPPORTED,
    check_installed_sqlalchemy,
    check_sqlalchemy_version,
)
from project_architect_db.exceptions import ConfigurationError

PACKAGE = Path(_sqlalchemy.__file__).resolve().parents[1]
ROOT = PACKAGE.parents[1]
THE_MODULE = Path(_sqlalchemy.__file__).resolve()

#: The private SQLAlchemy names the native paths need; only ``core/_sqlalchemy.py`` may use them.
PRIVATE_NAMES = {
    "_bind_processors",
    "_result_columns",
    "_generate_cache_key",
    "_object_lookup",
    "_str_impl",
    "_json_deserializer",
    "_against_native_enum",
    "_dbapi_connection",
    "construct_params",
    # the session's point-select path (core/point_select.py)
    "_traverse_internals",
    "_where_criteria",
    "_raw_columns",
    "_execution_options",
    "_connections",
    "_is_clean",
    "_has_events",
    "_echo",
    "_metadata",
    "_transaction",
    # a point-select layout made with the repositories' result processors
    "_make_new_metadata",
    "_tuplefilter",
    "_translated_indexes",
    "_keymap",
    "_unpickled",
    "_safe_for_cache",
    "_keymap_by_result_column_idx",
}


def _offences(source: str) -> list[str]:
    """What in ``source`` reaches SQLAlchemy's private API directly."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and node.value in PRIVATE_NAMES:
            found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.keyword) and node.arg == "_check":
            found.append(f"line {node.lineno}: _check=")
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            private = any(alias.name.startswith("_") for alias in node.names)
            if module.startswith("sqlalchemy.util") or (
                private and module.startswith("sqlalchemy")
            ):
                found.append(f"line {node.lineno}: from {module} import ...")
            elif module == "sqlalchemy" and any(alias.name == "util" for alias in node.names):
                found.append(f"line {node.lineno}: from sqlalchemy import util")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sqlalchemy.util"):
                    found.append(f"line {node.lineno}: import {alias.name}")
    return found


def test_the_installed_sqlalchemy_is_in_the_supported_range() -> None:
    check_sqlalchemy_version(sqlalchemy.__version__)
    check_installed_sqlalchemy()


@pytest.mark.parametrize("version", ["2.1.9", "2.1.10", "2.1.99", "2.1.12.post1"])
def test_releases_inside_the_range_pass(version: str) -> None:
    check_sqlalchemy_version(version)


@pytest.mark.parametrize("version", ["2.2.0", "2.2.0b1", "3.0", "2.1.8", "2.0.36", "1.4.54"])
def test_a_release_outside_the_range_fails_naming_the_module(version: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_sqlalchemy_version(version)
    message = str(raised.value)
    assert "project_architect_db.core._sqlalchemy" in message
    assert f"found {version}" in message
    assert ">=2.1.9" in message


@pytest.mark.parametrize("version", ["", "dev", "latest"])
def test_a_version_string_that_is_no_version_fails_naming_the_module(version: str) -> None:
    with pytest.raises(ConfigurationError, match=r"project_architect_db\.core\._sqlalchemy"):
        check_sqlalchemy_version(version)


def test_the_supported_range_is_the_one_pyproject_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [pin for pin in project["project"]["dependencies"] if pin.startswith("sqlalchemy")]
    assert pins == [f"sqlalchemy[asyncio]{','.join(SUPPORTED)}"]


def test_opening_an_engine_on_an_unsupported_sqlalchemy_fails_before_any_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from project_architect_db.core.engine import create_engine
    from project_architect_db.core.settings import Settings

    monkeypatch.setattr(sqlalchemy, "__version__", "2.2.0")
    check_installed_sqlalchemy.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=r"core\._sqlalchemy.*found 2\.2\.0"):
            create_engine(Settings(database=":memory:"))
    finally:
        check_installed_sqlalchemy.cache_clear()


def test_no_module_but_core_sqlalchemy_touches_sqlalchemy_private_names() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.resolve() != THE_MODULE and (found := _offences(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, (
        f"SQLAlchemy private API belongs in project_architect_db/core/_sqlalchemy.py: {offenders}"
    )


def test_the_scan_finds_private_names_where_they_are_used() -> None:
    assert _offences("x = compiled._bind_processors\n") == ["line 1: ._bind_processors"]
    assert _offences("k = statement._generate_cache_key()\n") == ["line 1: ._generate_cache_key"]
    assert _offences("p = c.construct_params(v, _check=False)\n") == [
        "line 1: .construct_params",
        "line 1: _check=",
    ]
    assert _offences("f = getattr(d, '_json_deserializer', None)\n") == [
        "line 1: '_json_deserializer'"
    ]
    assert _offences("from sqlalchemy.util.concurrency import await_\n") == [
        "line 1: from sqlalchemy.util.concurrency import ..."
    ]
    assert _offences("from sqlalchemy.sql.base import _from_objects\n") == [
        "line 1: from sqlalchemy.sql.base import ..."
    ]
    assert _offences("from sqlalchemy import util\n") == ["line 1: from sqlalchemy import util"]
    assert _offences("import sqlalchemy.util\n") == ["line 1: import sqlalchemy.util"]


def test_the_scan_leaves_public_sqlalchemy_and_own_private_names_alone() -> None:
    source = (
        "from sqlalchemy import select\n"
        "from sqlalchemy.sql.compiler import SQLCompiler\n"
        "from project_architect_db._records import row_maker\n"
        "row._mapping\n"
        "self._table\n"
    )
    assert _offences(source) == []


async def test_database_open_on_an_unsupported_sqlalchemy_raises_the_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from project_architect_db import Database

    monkeypatch.setattr(sqlalchemy, "__version__", "2.2.1")
    check_installed_sqlalchemy.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=r"core\._sqlalchemy.*found 2\.2\.1"):
            async with Database.open(tmp_path / "too-new.duckdb"):
                pass  # pragma: no cover - the open must fail
    finally:
        check_installed_sqlalchemy.cache_clear()
    assert not (tmp_path / "too-new.duckdb").exists()


async def test_the_driver_used_directly_checks_sqlalchemy_on_first_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("duckdb+aioduckdb:///:memory:")
    monkeypatch.setattr(sqlalchemy, "__version__", "2.0.36")
    check_installed_sqlalchemy.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=r"core\._sqlalchemy.*found 2\.0\.36"):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        check_installed_sqlalchemy.cache_clear()
        await engine.dispose()
