"""Settings of a database handle, from arguments or ``PADB_*`` environment variables."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from project_architect_db.exceptions import ConfigurationError

__all__ = ["LAKE_PREFIX", "Settings", "is_in_memory", "is_lake", "resolve_settings"]

_MEMORY = ":memory:"
#: A database string starting with this is a DuckLake catalog, attached rather than opened.
LAKE_PREFIX = "ducklake:"
_LAKE_POSTGRES = "ducklake:postgres:"


def is_in_memory(database: str | os.PathLike[str] | None) -> bool:
    """Whether ``database`` names an in-memory DuckDB database rather than a file.

    The one answer the package uses: ``":memory:"``, a named ``":memory:name"`` and, as for
    ``duckdb.connect``, no name at all.

    Examples:
        >>> is_in_memory(":memory:"), is_in_memory(":memory:shared"), is_in_memory("a.duckdb")
        (True, True, False)
    """
    if database is None:
        return True
    text = os.fspath(database)
    return not text or text.startswith(_MEMORY)


def is_lake(database: str | os.PathLike[str] | None) -> bool:
    """Whether ``database`` is a DuckLake catalog string (``ducklake:postgres:<conninfo>``).

    Examples:
        >>> is_lake("ducklake:postgres:dbname=lake host=db"), is_lake("a.duckdb")
        (True, False)
    """
    return database is not None and os.fspath(database).startswith(LAKE_PREFIX)


class Settings(BaseSettings):
    """How to open a database; every field can also come from ``PADB_<FIELD>``.

    Examples:
        >>> Settings(database="architect.duckdb", threads=2).database
        'architect.duckdb'
    """

    model_config = SettingsConfigDict(env_prefix="PADB_", extra="forbid", frozen=True)

    database: str = Field(
        ":memory:",
        description="A DuckDB file path, ':memory:', or a lake: 'ducklake:postgres:<conninfo>'.",
    )
    data_path: str | None = Field(
        None,
        description="Where a lake's Parquet files live (a folder every process shares); "
        "required with a 'ducklake:' database, ignored otherwise.",
    )
    s3_key_id: str | None = Field(
        None, description="Access key id for an 's3://' data path (PADB_S3_KEY_ID)."
    )
    s3_secret: SecretStr | None = Field(
        None, description="Secret key for an 's3://' data path (PADB_S3_SECRET); never shown."
    )
    s3_region: str | None = Field(None, description="Region of an 's3://' data path's bucket.")
    s3_endpoint: str | None = Field(
        None,
        description="host:port of an S3-compatible server (MinIO, R2, moto); AWS when unset.",
    )
    s3_url_style: Literal["vhost", "path"] | None = Field(
        None, description="'path' for most S3-compatible servers; DuckDB's default otherwise."
    )
    s3_use_ssl: bool = Field(True, description="HTTPS to the S3 endpoint (false: plain HTTP).")
    read_only: bool = False
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    memory_limit: str | None = Field(None, description="DuckDB memory_limit, e.g. '2GB'.")
    pool_size: Annotated[int, Field(ge=1, le=256)] = 5
    max_overflow: Annotated[int, Field(ge=0, le=1024)] = 10
    pool_timeout: Annotated[float, Field(gt=0)] = 30.0
    extension_directory: Path | None = Field(
        None,
        description="Where DuckDB extensions are installed from their PyPI wheels; default "
        "'.padb/extensions' beside the database file (a user cache folder for ':memory:').",
    )
    load_fts: bool = True
    backup_dir: Path | None = Field(
        None,
        description="Where db.backup() writes and where a corrupt file's advice looks for "
        "backups; default '<database file>.backups' beside the file.",
    )
    backup_every: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None,
        description="Back up every this many seconds while the database is open (into "
        "backup_dir), in the background; None: no scheduled backups.",
    )
    backup_keep: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Scheduled backups keep only the newest this many; None: all."
    )
    statement_timeout: float | None = Field(
        None,
        description="Seconds a statement may run before it is interrupted and raises "
        "StatementTimeoutError; None or 0: no limit.",
    )
    embeddings: bool = Field(
        True,
        description="Semantic search with the default embedder when it is installed "
        "(PADB_EMBEDDINGS=false turns it off; Database.open(embedder=...) passes your own).",
    )
    upgrade: bool = Field(False, description="Migrate an outdated schema instead of refusing.")
    echo: bool = False

    @field_validator("database")
    @classmethod
    def _database_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("give a DuckDB file path or ':memory:'")
        if "\x00" in value:
            raise ValueError("the database path contains a NUL byte")
        try:
            value.encode("utf-8")  # DuckDB takes paths as UTF-8
        except UnicodeEncodeError:
            raise ValueError("the database path is not valid Unicode (a lone surrogate?)") from None
        if is_lake(value):
            _check_lake_string(value)
        return value

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import re

        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*", value, re.I):
            raise ValueError("use a size such as '512MB', '2GB' or '80%'")
        return value.strip()

    @field_validator("statement_timeout", mode="before")
    @classmethod
    def _statement_timeout_seconds(cls, value: object) -> float | None:
        if isinstance(value, str):  # PADB_STATEMENT_TIMEOUT: "2.5", "0", "" or "none"
            text = value.strip().lower()
            if text in ("", "none", "off"):
                return None
            try:
                value = float(text)
            except ValueError:
                raise ValueError(
                    f"give a number of seconds such as 2.5 (0 or 'none': no timeout), not {text!r}"
                ) from None
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("give a number of seconds such as 2.5, or None for no timeout")
        if math.isnan(value) or math.isinf(value) or value < 0:
            raise ValueError("give a finite, non-negative number of seconds (0: no timeout)")
        return float(value) or None

    @property
    def is_lake(self) -> bool:
        """Whether the database is a DuckLake catalog (see :func:`is_lake`)."""
        return is_lake(self.database)

    @property
    def in_memory(self) -> bool:
        """Whether the database lives in memory only (see :func:`is_in_memory`)."""
        return is_in_memory(self.database)


def _check_lake_string(value: str) -> None:
    """Refuse a ``ducklake:`` string this library cannot open, saying which it can."""
    if not value.startswith(_LAKE_POSTGRES):
        raise ValueError(
            "a lake's catalog must be PostgreSQL: 'ducklake:postgres:dbname=... host=... "
            "user=...' (a DuckDB or SQLite catalog file admits one writing process at a time, "
            "which a plain DuckDB file does better)"
        )
    if not value.removeprefix(_LAKE_POSTGRES).strip():
        raise ValueError(
            "the lake's catalog string has no connection info after 'ducklake:postgres:': "
            "give libpq's 'dbname=... host=... user=...'"
        )
    if "'" in value:
        raise ValueError("the lake's catalog string may not contain a single quote (')")


def resolve_settings(base: Settings | None, overrides: dict[str, Any]) -> Settings:
    """``base`` (or the environment's settings) with ``overrides``, checked as a whole.

    Raises:
        ConfigurationError: a field is invalid (every problem named), or the fields do not go
            together (scheduled backups of a read-only database; a read-only ``:memory:``).
    """
    try:
        resolved = (
            Settings(**overrides) if base is None else Settings(**(base.model_dump() | overrides))
        )
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'settings'}: {item['msg']}"
            for item in error.errors()
        )
        raise ConfigurationError(f"Invalid database settings: {problems}.") from error
    if resolved.backup_every is not None and (
        resolved.read_only or (resolved.in_memory and resolved.backup_dir is None)
    ):
        raise ConfigurationError(
            "backup_every needs a writable database and a folder for the backups: open "
            "it without read_only (one process backs it up), and give backup_dir for "
            "an in-memory database."
        )
    if resolved.read_only and resolved.in_memory:
        raise ConfigurationError(
            "An in-memory database cannot be opened read-only: it starts empty. Give a "
            "file path, or drop read_only."
        )
    return resolved
