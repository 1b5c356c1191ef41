"""Opening a lake: the extensions from their wheels, the ATTACH, and the errors of opening.

Every pooled connection of a lake database is a cursor of one in-memory DuckDB (see
``core/driver.py``'s ``_MemoryRoot``); each runs :func:`lake_init_sql` when it is made: the
first one ATTACHes the lake, the others find it attached, and all make it their default
catalog, so the library's unqualified table names are the lake's tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from project_architect_db.core.extensions import install_extension
from project_architect_db.core.settings import Settings
from project_architect_db.exceptions import (
    CatalogUnavailableError,
    ConfigurationError,
    ExtensionError,
    StorageError,
)

__all__ = [
    "LAKE_ALIAS",
    "LAKE_EXTRA",
    "check_data_path",
    "install_lake_extensions",
    "is_object_store",
    "FIRST_OPEN_ATTEMPTS",
    "is_first_open_race",
    "lake_errors",
    "lake_init_sql",
]

#: The name the lake is attached under (``USE``d, so queries never spell it).
LAKE_ALIAS = "padb_lake"
#: What installs the extensions a lake needs.
LAKE_EXTRA = "pip install 'project-architect-db[lake]'"
_EXTENSIONS = ("postgres", "ducklake")
_OBJECT_STORES = ("s3://", "s3a://", "s3n://")
_SECRET = "padb_lake_s3"


def _extensions(settings: Settings | None) -> tuple[str, ...]:
    remote = settings is not None and is_object_store(settings.data_path)
    return (*_EXTENSIONS, "httpfs") if remote else _EXTENSIONS


def is_object_store(data_path: str | None) -> bool:
    """Whether a lake's data path is on S3-compatible object storage (``s3://...``)."""
    return data_path is not None and data_path.lower().startswith(_OBJECT_STORES)


def install_lake_extensions(directory: Path, settings: Settings | None = None) -> None:
    """Install the lake's extensions from their wheels (blocking).

    postgres and ducklake always; httpfs as well when the data path is on object storage.

    Raises:
        ExtensionError: A wheel is missing: the message says to install the ``[lake]`` extra.
    """
    names = _extensions(settings)
    for name in names:
        try:
            install_extension(name, directory)
        except ExtensionError as error:
            raise ExtensionError(
                f"Opening this lake needs the DuckDB extensions {', '.join(names)}: "
                f"{LAKE_EXTRA} ({error})"
            ) from error


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


COMMIT_RETRIES = (
    "SET ducklake_retry_wait_ms = 5",
    "SET ducklake_retry_backoff = 1.5",
    "SET ducklake_max_retry_count = 20",
)
"""How DuckLake retries a commit that lost the race for the next snapshot id.

Two processes committing at once both try to write snapshot ``n + 1``; the loser checks the
winner's changes and, when they do not conflict (two inserts), commits again as ``n + 2``.
DuckLake's defaults wait 100 ms before that retry (x1.5 each time, 10 tries): with 4 writer
processes most commits lost a race and slept, and 4 writers made fewer inserts per second than
one (``benchmarks/lake_append_scaling.py``: 34 -> 8 msg/s). A retry needs no rewrite of any
file, only the catalog's few statements, so the first wait here is 5 ms (still x1.5, at most
20 tries: about 33 s in all before DuckLake's "Transaction conflict")."""


def lake_init_sql(settings: Settings) -> list[str]:
    """The statements every connection of a lake runs: load, attach once, ``USE``."""
    assert settings.data_path is not None  # checked by check_data_path before
    options = [f"DATA_PATH {_quoted(settings.data_path)}"]
    if settings.read_only:
        options.append("READ_ONLY")
    return [
        *(f"LOAD {name}" for name in _extensions(settings)),
        *_s3_secret(settings),
        f"ATTACH IF NOT EXISTS {_quoted(settings.database)} AS {LAKE_ALIAS} ({', '.join(options)})",
        f"USE {LAKE_ALIAS}",
        *COMMIT_RETRIES,
    ]


def _s3_secret(settings: Settings) -> list[str]:
    """``CREATE SECRET`` for an ``s3://`` data path, from the ``s3_*`` settings.

    The statement holds the secret key, so it is run and never shown: no error message, log
    or repr of the library includes it (DuckDB's ``duckdb_secrets()`` redacts it too).
    """
    if not is_object_store(settings.data_path) or settings.s3_key_id is None:
        return []
    parts = ["TYPE s3", f"KEY_ID {_quoted(settings.s3_key_id)}"]
    if settings.s3_secret is not None:
        parts.append(f"SECRET {_quoted(settings.s3_secret.get_secret_value())}")
    for keyword, value in (
        ("REGION", settings.s3_region),
        ("ENDPOINT", settings.s3_endpoint),
        ("URL_STYLE", settings.s3_url_style),
    ):
        if value is not None:
            parts.append(f"{keyword} {_quoted(value)}")
    parts.append(f"USE_SSL {'true' if settings.s3_use_ssl else 'false'}")
    return [f"CREATE SECRET IF NOT EXISTS {_SECRET} ({', '.join(parts)})"]


def check_data_path(settings: Settings) -> None:
    """Refuse a missing or unusable data path before anything is attached (blocking).

    A local folder is created when missing (unless read-only); a URL (``s3://...``) is left
    to DuckDB.

    Raises:
        ConfigurationError: No data path was given.
        StorageError: The data path is a file, or cannot be created.
    """
    data_path = settings.data_path
    if not data_path:
        raise ConfigurationError(
            "A lake needs data_path= (or PADB_DATA_PATH): the folder its Parquet files live "
            "in. Every process opening this lake must give the same one."
        )
    if "://" in data_path:
        if not is_object_store(data_path):
            raise ConfigurationError(
                f"The lake's data path {data_path!r} is a URL this library does not open; "
                "give a local folder or an 's3://bucket/prefix/' (S3 or S3-compatible)."
            )
        return
    folder = Path(data_path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise StorageError(
            f"The lake's data path {data_path} is a file, not a folder: give a folder."
        )
    if folder.is_dir():
        if not settings.read_only and not os.access(folder, os.W_OK | os.X_OK):
            raise StorageError(
                f"The lake's data path {data_path} is not writable: fix its permissions, or "
                "open the lake with read_only=True."
            )
        return
    if settings.read_only:
        raise StorageError(
            f"The lake's data path {data_path} does not exist, and a read-only open creates "
            "nothing: give the folder the lake was created with."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(
            f"Cannot create the lake's data path {data_path}: {error}. Create it, or give a "
            "writable folder."
        ) from error


def _lake_error(text: str, catalog: str) -> Exception | None:
    """The library error for a failed ATTACH of the lake, or ``None`` when it is not one."""
    lowered = text.lower()
    if "creating a new ducklake is explicitly disabled" in lowered:
        return StorageError(
            f"No lake exists in the catalog {catalog!r} yet, and a read-only open creates "
            "nothing: open it writable once (or run `project-architect-db init --database "
            "...`) to create it."
        )
    if "unable to connect to postgres" not in lowered:
        return None
    if "connection info string" in lowered or "invalid connection option" in lowered:
        return ConfigurationError(
            f"The lake's catalog string is not valid libpq connection info ({text}). Write "
            "it as 'ducklake:postgres:dbname=... host=... user=...' (add password= and port= "
            "when needed)."
        )
    return CatalogUnavailableError(
        f"Cannot reach the lake's PostgreSQL catalog {catalog!r} ({text}). Check that the "
        "server runs, that the database exists (CREATE DATABASE ...) and that the user may "
        "connect; then open the lake again."
    )


#: Attempts at the first connection of a lake whose DuckLake catalog another process is
#: creating at the same instant (see :func:`is_first_open_race`).
FIRST_OPEN_ATTEMPTS = 6


def is_first_open_race(error: BaseException) -> bool:
    """Whether ``error`` is a lost race to create a fresh lake's DuckLake catalog.

    Processes opening a fresh lake at the same instant (``uvicorn --workers 4`` before anyone
    ran ``migrate``) each create DuckLake's ``ducklake_*`` tables in PostgreSQL; the losers'
    ATTACH fails with "Failed to initialize DuckLake ... duplicate key value violates unique
    constraint" or "already exists". By then the winner's catalog is there: opening again
    attaches it (the same race and fix: PostHog/duckgres#755).
    """
    text = str(getattr(error, "orig", None) or error).lower()
    return "failed to initialize ducklake" in text and (
        "duplicate key value" in text or "already exists" in text
    )


@contextmanager
def lake_errors(settings: Settings) -> Iterator[None]:
    """Turn a failed ATTACH of the lake (raised by the first connection) into a typed error."""
    try:
        yield
    except Exception as error:
        orig = getattr(error, "orig", None) or error
        if isinstance(orig, duckdb.Error):
            mapped = _lake_error(str(orig), settings.database)
            if mapped is not None:
                raise mapped from error
        raise
