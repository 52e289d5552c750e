"""boto3 access to the object store: clients, buckets, objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telemetry.config import Settings
from telemetry.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:
    S3Client = object


def s3_client(settings: Settings) -> S3Client:
    """boto3's S3 client for the configured endpoint. With no keys set, boto3's own
    credential chain (environment, profile, instance or pod role) applies."""
    import boto3
    from botocore.config import Config

    keys = {}
    if settings.aws_access_key_id.reveal():
        keys = {
            "aws_access_key_id": settings.aws_access_key_id.reveal(),
            "aws_secret_access_key": settings.aws_secret_access_key.reveal(),
            "aws_session_token": settings.aws_session_token.reveal() or None,
        }
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.aws_region,
        verify=settings.aws_ca_bundle or None,
        config=Config(
            s3={"addressing_style": settings.s3_addressing_style},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=3,
            read_timeout=30,
        ),
        **keys,
    )


def ensure_buckets(settings: Settings, buckets: list[str]) -> list[str]:
    """Create the missing buckets; returns the ones created."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(settings)
    created: list[str] = []
    try:
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        for bucket in buckets:
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)
                created.append(bucket)
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(
            f"cannot create buckets {', '.join(buckets)} at {settings.s3_endpoint_url}: {exc}"
        ) from exc
    return created
