"""Object storage (S3/MinIO): buckets and objects through boto3, Parquet through pyarrow.

boto3 and pyarrow are imported only in this package's modules. Before pyarrow
makes an S3 client, `arrow_trust.trust(settings)` makes it trust S3_CA_LOCATION.
"""
