"""The curated public API: ``__all__`` is complete and sorted, and import stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import project_architect_db as padb


def test_all_is_sorted() -> None:
    assert padb.__all__ == sorted(padb.__all__)


def test_every_exported_name_resolves() -> None:
    for name in padb.__all__:
        assert getattr(padb, name) is not None


def test_all_names_every_public_member() -> None:
    for name in padb.__all__:
        getattr(padb, name)
    module_type = type(padb)
    public = {
        name
        for name, value in vars(padb).items()
        if not name.startswith("_") and not isinstance(value, module_type)
    } - {"TYPE_CHECKING", "Any", "annotations", "importlib"}
    assert public | {"__version__"} == set(padb.__all__)


def test_the_change_feed_types_are_the_repositories_ones() -> None:
    from project_architect_db import repositories

    for name in ("Change", "ChangeKind", "Gap", "Subscription"):
        assert getattr(padb, name) is getattr(repositories, name)
    assert issubclass(padb.DatabaseNotOpenError, padb.ProjectArchitectDBError)


def test_an_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_member"):
        padb.no_such_member  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_does_not_import_duckdb_or_sqlalchemy() -> None:
    code = (
        "import sys, project_architect_db; "
        "print(sorted(m for m in ('duckdb', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
