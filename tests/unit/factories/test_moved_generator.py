"""The generator moved to ``project_architect_db.datagen``: the old import paths still work."""

from __future__ import annotations

import importlib
import sys

import pytest

import project_architect_db.datagen as datagen
import project_architect_db.datagen.ids as datagen_ids
import project_architect_db.testing.factories as factories
import project_architect_db.testing.factories.arrow as old_arrow
import project_architect_db.testing.factories.ids as old_ids
from project_architect_db.exceptions import ConfigurationError


def test_the_old_arrow_module_hands_out_the_datagen_objects() -> None:
    for name in old_arrow.__all__:
        assert getattr(old_arrow, name) is getattr(datagen, name), name
    assert set(old_arrow.__all__) <= set(datagen.__all__)


def test_the_old_ids_module_hands_out_the_datagen_objects() -> None:
    for name in old_ids.__all__:
        assert getattr(old_ids, name) is getattr(datagen_ids, name), name
    assert set(old_ids.__all__) == set(datagen_ids.__all__)


def test_the_factories_package_re_exports_the_generator() -> None:
    for name in ("BENCHMARK_SIZES", "Dataset", "generate_dataset", "load_dataset"):
        assert getattr(factories, name) is getattr(datagen, name), name
    assert factories.SeededUUID7 is datagen_ids.SeededUUID7


@pytest.mark.parametrize("missing", ["faker", "factory"])
def test_the_factories_without_the_testing_extra_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # what an absent package looks like
    monkeypatch.delitem(sys.modules, "project_architect_db.testing.factories")
    with pytest.raises(ConfigurationError, match=r"pip install 'project-architect-db\[testing\]'"):
        importlib.import_module("project_architect_db.testing.factories")
