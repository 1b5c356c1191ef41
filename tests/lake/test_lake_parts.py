"""The parts of opening a lake that need no server: data path checks, error mapping, settings."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from project_architect_db.core.lake import check_data_path, lake_errors, lake_init_sql
from project_architect_db.core.settings import Settings, is_lake
from project_architect_db.exceptions import ConfigurationError, StorageError

CATALOG = "ducklake:postgres:dbname=lake host=/nowhere user=postgres"


def test_a_bucket_url_is_left_to_duckdb_and_a_missing_folder_is_created(tmp_path: Path) -> None:
    check_data_path(Settings(database=CATALOG, data_path="s3://bucket/lake"))
    folder = tmp_path / "a" / "b"
    check_data_path(Settings(database=CATALOG, data_path=str(folder)))
    assert folder.is_dir()


def test_a_data_path_under_a_file_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    settings = Settings(database=CATALOG, data_path=str(tmp_path / "file" / "lake"))
    with pytest.raises(StorageError, match="Cannot create the lake's data path"):
        check_data_path(settings)
    with pytest.raises(ConfigurationError, match="PADB_DATA_PATH"):
        check_data_path(Settings(database=CATALOG))


def test_the_attach_quotes_the_data_path_and_reads_only_when_asked() -> None:
    settings = Settings(database=CATALOG, data_path="/data/it's", read_only=True)
    attach = next(line for line in lake_init_sql(settings) if line.startswith("ATTACH"))
    assert "DATA_PATH '/data/it''s'" in attach
    assert attach.endswith("READ_ONLY)")
    assert is_lake(CATALOG) and not is_lake(None) and not is_lake("x.duckdb")


def test_errors_that_are_not_the_lakes_pass_through() -> None:
    settings = Settings(database=CATALOG, data_path="/tmp/x")
    with pytest.raises(duckdb.IOException, match="something else"), lake_errors(settings):
        raise duckdb.IOException("something else")
    with pytest.raises(KeyError), lake_errors(settings):
        raise KeyError("not duckdb")
