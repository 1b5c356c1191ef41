"""What ``migrate downgrade`` reads from a revision's ``downgrade()`` before it asks."""

from __future__ import annotations

import importlib.util
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from project_architect_db.cli._downgrade import Step, _drops, describe, plan


def _module(tmp_path: Path, body: str) -> types.ModuleType:
    path = tmp_path / "rev.py"
    path.write_text("def downgrade() -> None:\n" + textwrap.indent(textwrap.dedent(body), "    "))
    spec = importlib.util.spec_from_file_location("padb_test_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tables_and_columns_dropped_directly_and_in_batch_mode_are_found(tmp_path: Path) -> None:
    module = _module(
        tmp_path,
        """
        op.drop_index("ix_a", table_name="a")
        op.drop_column("projects", "budget")
        with op.batch_alter_table("documents", recreate="always") as batch_op:
            batch_op.drop_column("summary")
            batch_op.add_column(None)
        op.drop_table("audit_log")
        """,
    )
    assert _drops(module) == (("audit_log",), ("projects.budget", "documents.summary"))


def test_drops_that_are_not_literal_are_not_guessed(tmp_path: Path) -> None:
    module = _module(
        tmp_path,
        """
        name = "audit_log"
        op.drop_table(name)
        op.drop_column("projects", name)
        op.drop_column()
        with something_else() as batch_op:
            batch_op.drop_column(name)
        op.execute("DROP TABLE hidden")
        """,
    )
    assert _drops(module) == ((), ())


def test_a_revision_without_source_drops_nothing_known() -> None:
    compiled = types.ModuleType("compiled_revision")
    exec("def downgrade():\n    pass\n", compiled.__dict__)  # no file behind it
    assert _drops(compiled) == ((), ())
    assert _drops(types.ModuleType("no_downgrade")) == ((), ())


def test_a_database_without_a_revision_has_nothing_to_undo() -> None:
    script: Any = None  # never consulted
    assert plan(script, None, "base") == []


def test_describe_names_each_revision_and_what_it_drops() -> None:
    lines = describe(
        [
            Step("0002", "Add budgets", ("budgets",), ("projects.budget",)),
            Step("0001", "Initial", (), ()),
        ]
    )
    assert lines == [
        "  undo 0002 (Add budgets): drops table budgets, column projects.budget",
        "  undo 0001 (Initial)",
    ]


@pytest.mark.parametrize("target", ["base", "0001"])
def test_the_package_history_plans_the_initial_revision(target: str) -> None:
    from alembic.script import ScriptDirectory

    from project_architect_db.migration.manager import SCRIPT_LOCATION, VERSIONS_DIRECTORY

    script = ScriptDirectory(str(SCRIPT_LOCATION), version_locations=[str(VERSIONS_DIRECTORY)])
    steps = plan(script, "0001", target)
    if target == "0001":
        assert steps == []
    else:
        assert [s.revision for s in steps] == ["0001"]
        assert "projects" in steps[0].tables and len(steps[0].tables) == 9
