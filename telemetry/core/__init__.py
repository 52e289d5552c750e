"""The runtime core: settings, contracts, schemas, and the clients of Kafka, the
registry and the lake (Iceberg), S3 and the dead letters. The producer, the job,
operations and the CLI import it; it imports nothing of theirs."""
