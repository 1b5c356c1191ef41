"""A lake whose data path is a bucket on S3-compatible storage: moto's server, started for real.

The catalog is the real PostgreSQL of tests/_pg.py; the Parquet files go to moto over HTTP
through DuckDB's httpfs extension (from its wheel), as they would to AWS S3, MinIO or R2.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from project_architect_db import Database

from .conftest import Lake

_KEYS = {"s3_key_id": "padb-key", "s3_secret": "padb-secret", "s3_region": "us-east-1"}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free port: its ``host:port``."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"{host}:{port}"
    finally:
        server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id=_KEYS["s3_key_id"],
        aws_secret_access_key=_KEYS["s3_secret"],
        region_name=_KEYS["s3_region"],
    )


@pytest.fixture
def bucket(s3_server: str) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    _client(s3_server).create_bucket(Bucket=name)
    return name


def _open(lake: Lake, data_path: str, endpoint: str, extensions: Path, **keys: Any) -> Database:
    options = _KEYS | keys
    return Database.open(
        lake.catalog,
        data_path=data_path,
        extension_directory=extensions,
        s3_endpoint=endpoint,
        s3_url_style="path",
        s3_use_ssl=False,
        **options,
    )


async def test_a_lake_on_a_bucket_is_written_by_one_database_and_read_by_another(
    lake: Lake, bucket: str, s3_server: str, extension_directory: Path
) -> None:
    data_path = f"s3://{bucket}/lake/"
    async with _open(lake, data_path, s3_server, extension_directory) as db:
        created = await db.projects.bulk_create(
            [{"name": f"P{n}", "slug": f"p-{n}"} for n in range(50)]  # above inlining: Parquet
        )
    async with _open(lake, data_path, s3_server, extension_directory) as other:
        assert await other.projects.count() == 50
        assert (await other.projects.get(created[0])).slug == "p-0"
    keys = [o["Key"] for o in _client(s3_server).list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(key.startswith("lake/main/projects/") and key.endswith(".parquet") for key in keys)
