"""pyarrow's S3 filesystem for the configured endpoint and credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telemetry.core.config import Settings
from telemetry.core.storage import arrow_trust

if TYPE_CHECKING:
    import pyarrow.fs as pafs


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem for the configured endpoint. With no keys set, the AWS SDK's
    credential chain applies."""

    arrow_trust.trust(settings)  # before pyarrow.fs is first imported
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    import pyarrow.fs as pafs

    endpoint = urlsplit(settings.s3.endpoint_url) if settings.s3.endpoint_url else None
    keys = {}
    if settings.s3.access_key_id.reveal():
        keys = {
            "access_key": settings.s3.access_key_id.reveal(),
            "secret_key": settings.s3.secret_access_key.reveal(),
            "session_token": settings.s3.session_token.reveal() or None,
        }
    return pafs.S3FileSystem(
        endpoint_override=endpoint.netloc if endpoint else None,
        scheme=endpoint.scheme if endpoint else "https",
        region=settings.s3.region,
        force_virtual_addressing=settings.s3.addressing_style == "virtual",
        connect_timeout=3,
        request_timeout=30,
        **keys,
    )
