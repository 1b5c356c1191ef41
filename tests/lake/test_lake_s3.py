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
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

from project_architect_db import Database
from project_architect_db.exceptions import StorageError

from .conftest import Lake

_KEYS: dict[str, str] = {"s3_region": "us-east-1"}
_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free port (its ``host:port``), checking credentials.

    moto accepts any key until its authentication is switched on; then only the keys of an
    IAM user it knows pass, so a wrong secret meets the error AWS would give.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"{host}:{port}"
        iam = _client(endpoint, "iam", "bootstrap", "bootstrap")
        iam.create_user(UserName="padb")
        iam.put_user_policy(UserName="padb", PolicyName="all", PolicyDocument=_POLICY)
        key = iam.create_access_key(UserName="padb")["AccessKey"]
        _KEYS.update(s3_key_id=key["AccessKeyId"], s3_secret=key["SecretAccessKey"])
        _authenticate(after=0)  # the server runs in this process: its settings are ours
        yield endpoint
    finally:
        _authenticate(after=float("inf"))
        server.stop()


def _authenticate(after: float) -> None:
    """moto checks credentials from its ``after``-th request on (inf: never)."""
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = after
    ActionAuthenticatorMixin.request_count = 0


def _client(endpoint: str, service: str = "s3", key: str = "", secret: str = "") -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id=key or _KEYS["s3_key_id"],
        aws_secret_access_key=secret or _KEYS["s3_secret"],
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


async def test_wrong_credentials_are_a_storage_error_that_says_so(
    lake: Lake, bucket: str, s3_server: str, extension_directory: Path
) -> None:
    data_path = f"s3://{bucket}/lake/"
    database = _open(lake, data_path, s3_server, extension_directory, s3_secret="wrong")
    with pytest.raises(StorageError, match="credentials") as caught:
        async with database as db:
            await db.projects.bulk_create([{"name": f"P{n}", "slug": f"p-{n}"} for n in range(50)])
    assert "wrong" not in str(caught.value)  # the secret is never shown


async def test_a_missing_bucket_is_a_storage_error_that_names_it(
    lake: Lake, s3_server: str, extension_directory: Path
) -> None:
    data_path = "s3://no-such-bucket/lake/"
    with pytest.raises(StorageError, match="no-such-bucket") as caught:
        async with _open(lake, data_path, s3_server, extension_directory) as db:
            await db.projects.bulk_create([{"name": f"P{n}", "slug": f"p-{n}"} for n in range(50)])
    assert "Create the bucket" in str(caught.value)
