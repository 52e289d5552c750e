"""Parquet on S3 through pyarrow: the one module that imports pyarrow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telemetry.config import Settings
from telemetry.errors import StorageError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    from urllib.parse import urlsplit

    import pyarrow.fs as pafs

    endpoint = urlsplit(settings.s3_endpoint_url)
    return pafs.S3FileSystem(
        endpoint_override=endpoint.netloc,
        scheme=endpoint.scheme,
        access_key=settings.aws_access_key_id.reveal(),
        secret_key=settings.aws_secret_access_key.reveal(),
        region=settings.aws_region,
        connect_timeout=3,
        request_timeout=30,
    )


def read_table(settings: Settings, path: str) -> pa.Table:
    """Every Parquet file under `bucket/prefix` as one table."""
    import pyarrow.dataset as ds

    try:
        return ds.dataset(path, filesystem=s3_filesystem(settings), format="parquet").to_table()
    except (OSError, FileNotFoundError) as exc:
        raise StorageError(f"cannot read Parquet at s3://{path}: {exc}") from exc
