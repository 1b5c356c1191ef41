"""A lake's data path on S3: which statements open it, and the errors a bucket gives."""

from __future__ import annotations

import duckdb
import pytest

from project_architect_db.core.lake import lake_init_sql
from project_architect_db.core.lake._open import check_data_path, is_object_store
from project_architect_db.core.settings import Settings
from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.exceptions._translate import translate

_LAKE = "ducklake:postgres:dbname=lake host=/tmp user=me"


def test_an_s3_data_path_loads_httpfs_and_creates_its_secret() -> None:
    settings = Settings(
        database=_LAKE,
        data_path="s3://bucket/lake/",
        s3_key_id="key",
        s3_secret="it's-secret",
        s3_endpoint="localhost:9000",
        s3_url_style="path",
        s3_use_ssl=False,
    )
    statements = lake_init_sql(settings)
    assert "LOAD httpfs" in statements
    secret = next(s for s in statements if s.startswith("CREATE SECRET"))
    assert "SECRET 'it''s-secret'" in secret  # quoted, so a quote cannot end the value
    assert "USE_SSL false" in secret and "URL_STYLE 'path'" in secret
    assert secret.index("CREATE SECRET") < statements.index(
        next(s for s in statements if s.startswith("ATTACH"))
    )
    assert "it's-secret" not in repr(settings)  # a SecretStr: never in a repr or a log


def test_a_local_folder_and_an_s3_path_without_keys_create_no_secret() -> None:
    local = lake_init_sql(Settings(database=_LAKE, data_path="/tmp/lake"))
    assert not any("httpfs" in s or "SECRET" in s for s in local)
    anonymous = lake_init_sql(Settings(database=_LAKE, data_path="s3://public/lake/"))
    assert "LOAD httpfs" in anonymous
    assert not any("SECRET" in s for s in anonymous)


def test_settings_come_from_padb_s3_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PADB_S3_KEY_ID", "from-env")
    monkeypatch.setenv("PADB_S3_SECRET", "hidden")
    monkeypatch.setenv("PADB_S3_USE_SSL", "false")
    settings = Settings(database=_LAKE, data_path="s3://b/")
    assert settings.s3_key_id == "from-env"
    assert settings.s3_secret is not None and settings.s3_secret.get_secret_value() == "hidden"
    assert not settings.s3_use_ssl


def test_a_url_that_is_not_s3_and_a_bad_url_style_are_refused() -> None:
    assert is_object_store("S3://b/x") and not is_object_store("/tmp/x")
    with pytest.raises(ConfigurationError, match="s3://bucket/prefix/"):
        check_data_path(Settings(database=_LAKE, data_path="gs://bucket/lake/"))
    with pytest.raises(ValueError, match="url_style"):
        Settings(database=_LAKE, data_path="s3://b/", s3_url_style="sideways")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("Unable to connect to URL s3://b/x: Forbidden (HTTP code 403)", "PADB_S3_SECRET"),
        ("Not Found (HTTP code 404)\n\nNoSuchBucket: The specified bucket", "Create the bucket"),
        ("Service Unavailable (HTTP code 503)", "could not be read or written"),
    ],
)
def test_the_object_stores_refusals_say_what_to_fix(text: str, advice: str) -> None:
    error = translate(duckdb.HTTPException(text))
    assert isinstance(error, StorageError)
    assert advice in str(error)
