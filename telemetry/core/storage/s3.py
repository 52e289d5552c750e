"""boto3 access to the object store: clients, buckets, objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from telemetry.core.config import Settings
from telemetry.core.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:
    S3Client = object


def s3_client(settings: Settings) -> S3Client:
    """boto3's S3 client for the configured endpoint. With no keys set, boto3's own
    credential chain (environment, profile, instance or pod role) applies."""

    keys = {}
    if settings.s3.access_key_id.reveal():
        keys = {
            "aws_access_key_id": settings.s3.access_key_id.reveal(),
            "aws_secret_access_key": settings.s3.secret_access_key.reveal(),
            "aws_session_token": settings.s3.session_token.reveal() or None,
        }
    return boto3.client(
        "s3",
        endpoint_url=settings.s3.endpoint_url or None,
        region_name=settings.s3.region,
        verify=settings.s3.ca_location or None,
        config=Config(
            s3={"addressing_style": settings.s3.addressing_style},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=3,
            read_timeout=30,
        ),
        **keys,
    )


def ensure_buckets(settings: Settings, buckets: list[str]) -> list[str]:
    """Create the missing buckets; returns the ones created. Needs no more rights than
    the buckets themselves (HeadBucket, CreateBucket), not the account's bucket list."""

    client = s3_client(settings)
    created: list[str] = []
    try:
        for bucket in buckets:
            try:
                client.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                    raise
                client.create_bucket(Bucket=bucket)
                created.append(bucket)
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(
            f"cannot create buckets {', '.join(buckets)} at {settings.s3.endpoint_url}: {exc}"
        ) from exc
    return created
