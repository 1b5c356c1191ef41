"""The libpq conninfo of a lake catalog, parsed for asyncpg."""

from __future__ import annotations

import pytest

from project_architect_db.core.lake import parse_conninfo
from project_architect_db.exceptions import ConfigurationError


def test_the_string_duckdb_attaches_becomes_asyncpg_arguments() -> None:
    info = parse_conninfo(
        "ducklake:postgres:dbname=lake host=/run/pg port=5433 user=me password=secret "
        "connect_timeout=3 sslmode=disable application_name=padb"
    )
    assert info.connect_kwargs() == {
        "host": "/run/pg",
        "database": "lake",
        "user": "me",
        "password": "secret",
        "port": 5433,
        "timeout": 3.0,
        "ssl": "disable",
        "server_settings": {"application_name": "padb"},
    }
    assert "secret" not in info.describe()
    assert info.describe().startswith("dbname=lake host=/run/pg")


def test_quoted_values_keep_spaces_quotes_and_backslashes() -> None:
    info = parse_conninfo(r"dbname = 'my lake' user=a\ b host='c:\\d'")
    assert info.get("dbname") == "my lake"
    assert info.get("user") == "a b"
    assert info.get("host") == "c:\\d"
    assert parse_conninfo(r"password='it\'s'").get("password") == "it's"


def test_hostaddr_wins_over_host_and_an_empty_string_means_the_libpq_defaults() -> None:
    assert parse_conninfo("host=db hostaddr=10.0.0.1").connect_kwargs()["host"] == "10.0.0.1"
    assert parse_conninfo("").connect_kwargs() == {}
    assert parse_conninfo("  ").describe() == "the libpq defaults"


def test_a_uri_goes_to_asyncpg_whole_with_its_password_hidden_in_messages() -> None:
    info = parse_conninfo("ducklake:postgres:postgresql://me:secret@db:5432/lake")
    assert info.connect_kwargs() == {"dsn": "postgresql://me:secret@db:5432/lake"}
    assert info.describe() == "postgresql://me:***@db:5432/lake"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ducklake:sqlite:lake.db", "PostgreSQL catalog"),
        ("ducklake:lake.duckdb", "PostgreSQL catalog"),
        ("dbname=lake colour=blue", "Unknown conninfo keyword 'colour'"),
        ("dbname", "keyword=value"),
        ("dbname=lake =x", "keyword=value"),
        ("dbname='lake", "never closes"),
        ("dbname=", "no value"),
        ("port=abc", "port='abc'"),
        ("port=70000", "port='70000'"),
        ("connect_timeout=-1", "connect_timeout"),
        ("sslmode=sometimes", "sslmode='sometimes'"),
    ],
)
def test_a_bad_conninfo_is_a_configuration_error_that_says_what_is_wrong(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_conninfo(text)


def test_a_conninfo_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="string"):
        parse_conninfo(b"dbname=lake")  # type: ignore[arg-type]
