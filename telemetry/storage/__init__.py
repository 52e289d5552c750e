"""Object storage (S3/MinIO): buckets and objects through boto3, Parquet through pyarrow.

boto3 and pyarrow are imported only in this package's modules.
"""

from telemetry.storage import arrow_trust  # noqa: F401 - before any pyarrow.fs import
