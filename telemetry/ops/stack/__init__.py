"""The local stack: fetch the real servers, run them, check their health.

Kafka (KRaft), Apicurio Registry (Confluent-compatible API), MinIO and a Flink
session cluster, each a child process with a pid file under the data
directory. Static configuration lives in `infra/`; this package renders it
and runs the processes.
"""

from telemetry.ops.stack.control import clean, down, log_files, logs, status, up
from telemetry.ops.stack.setup import setup

__all__ = ["clean", "down", "log_files", "logs", "setup", "status", "up"]
