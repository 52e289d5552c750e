"""Telemetry windows: Kafka (Confluent Avro) -> per-car event-time windows -> Parquet on S3.

    source     Kafka topic, Confluent-framed Avro decoded in the JVM with the
               writer schema the registry gives for each record's id, resolved
               to the latest reader schema (v1 events get v2's null defaults)
    watermark  bounded out-of-orderness; a partition idle for a while lets
               event time follow the clock, so the last windows still close
    split      undecodable -> dead-letter topic; later than the watermark ->
               late-data Parquet; the rest -> windows
    window     tumbling, keyed by car_id
    sink       Parquet (zstd), Hive partitions year/month/day/hour, files
               committed on checkpoint (exactly once)

Submit with `telemetry job submit`, or on any cluster with
`flink run -py flink/telemetry_job.py --jar telemetry-flink-functions.jar`.
Every endpoint comes from the environment (telemetry.config).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pyflink.common import Configuration
from pyflink.common.watermark_strategy import WatermarkStrategy
from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment
from pyflink.datastream.connectors import Source
from pyflink.java_gateway import get_gateway
from pyflink.table import Schema, StreamTableEnvironment

from telemetry.config import Settings, load_settings
from telemetry.kafka import java_properties
from telemetry.schemas import VALUE_SUBJECT, schema_text

JOB_NAME = "telemetry-windows"
SOURCE_UID = "telemetry-kafka-source"
DEFAULT_JAR = (
    Path(__file__).resolve().parent / "jvm" / "target" / "telemetry-flink-functions-0.1.0.jar"
)


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="telemetry_job", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jar", type=Path, default=DEFAULT_JAR, help="telemetry-flink-functions jar"
    )
    parser.add_argument("--window-seconds", type=int, default=settings.telemetry_window_seconds)
    parser.add_argument(
        "--out-of-orderness-seconds", type=int, default=settings.telemetry_out_of_orderness_seconds
    )
    parser.add_argument(
        "--idle-timeout-seconds", type=int, default=settings.telemetry_idle_timeout_seconds
    )
    parser.add_argument(
        "--checkpoint-seconds", type=int, default=settings.telemetry_checkpoint_seconds
    )
    parser.add_argument("--parallelism", type=int, default=0, help="0: the cluster default")
    parser.add_argument("--topic", default=settings.telemetry_topic, help="telemetry topic")
    parser.add_argument("--dlq-topic", default=settings.telemetry_dlq_topic, help="dead letters")
    parser.add_argument("--group-id", help="Kafka consumer group (default: the job name)")
    parser.add_argument(
        "--output-prefix", default="telemetry", help="key prefix in the bucket for the windows"
    )
    parser.add_argument("--name", default=JOB_NAME, help="Flink job name")
    return parser.parse_args(argv)


def kafka_source(settings: Settings, args: argparse.Namespace) -> Source:
    """KafkaSource whose records become Rows in the JVM (no Python per record)."""
    jvm = get_gateway().jvm
    kafka = jvm.org.apache.flink.connector.kafka.source
    deserializer = jvm.dev.telemetry.flink.ConfluentAvroRecordDeserializer(
        settings.schema_registry_url, schema_text(VALUE_SUBJECT)
    )
    topics = jvm.java.util.ArrayList()
    topics.add(args.topic)
    reset = jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    j_source = (
        kafka.KafkaSource.builder()
        .setBootstrapServers(settings.kafka_bootstrap_servers)
        .setTopics(topics)
        .setGroupId(args.group_id or args.name)
        # A new group starts at the beginning of the topic; a restart resumes
        # from the checkpoint, a resubmission from the offsets committed on it.
        .setStartingOffsets(kafka.enumerator.initializer.OffsetsInitializer.committedOffsets(reset))
        .setDeserializer(deserializer)
        .setProperty("partition.discovery.interval.ms", "10000")
        .setProperty("isolation.level", "read_committed")
        .build()
    )
    return Source(j_source)


def java_map(entries: dict[str, str]) -> object:
    """A java.util.HashMap (py4j proxy) with these entries."""
    jvm = get_gateway().jvm
    result = jvm.java.util.HashMap()
    for key, value in entries.items():
        result.put(key, value)
    return result


def watermarks(settings: Settings, args: argparse.Namespace) -> WatermarkStrategy:
    """Bounded out-of-orderness; event time follows the clock only once Kafka confirms the
    partition drained for the idle timeout (see IdleAdvancingWatermarks)."""
    jvm = get_gateway().jvm
    return WatermarkStrategy(
        jvm.dev.telemetry.flink.IdleAdvancingWatermarks(
            "timestamp",
            args.out_of_orderness_seconds * 1000,
            args.idle_timeout_seconds * 1000,
            args.topic,
            java_map(java_properties(settings)),
        )
    )


def s3_path(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix.strip('/')}"


def create_sinks(
    t_env: StreamTableEnvironment, settings: Settings, args: argparse.Namespace
) -> None:
    parquet = """
        'format' = 'parquet',
        'parquet.compression' = 'ZSTD',
        'parquet.utc-timezone' = 'true',
        'parquet.write.int64.timestamp' = 'true',
        'parquet.timestamp.time.unit' = 'millis',
        'sink.partition-commit.policy.kind' = 'success-file',
        'sink.partition-commit.trigger' = 'process-time',
        'sink.partition-commit.delay' = '0 s'
    """
    # Columns follow schemas/telemetry_window-value (the latest version).
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE window_sink (
            car_id INT NOT NULL,
            window_start TIMESTAMP(3) NOT NULL,
            window_end TIMESTAMP(3) NOT NULL,
            event_count BIGINT NOT NULL,
            avg_speed DOUBLE NOT NULL,
            min_speed DOUBLE NOT NULL,
            max_speed DOUBLE NOT NULL,
            avg_rpm DOUBLE NOT NULL,
            max_rpm INT NOT NULL,
            avg_throttle DOUBLE,
            avg_brake DOUBLE,
            drs_open_ratio DOUBLE,
            max_lap INT,
            `year` STRING, `month` STRING, `day` STRING, `hour` STRING
        ) PARTITIONED BY (`year`, `month`, `day`, `hour`) WITH (
            'connector' = 'filesystem',
            'path' = '{s3_path(settings.telemetry_bucket, args.output_prefix)}',
            {parquet}
        )""")
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE late_sink (
            car_id INT, speed DOUBLE, rpm INT, gear INT, `timestamp` DOUBLE,
            throttle DOUBLE, brake DOUBLE, drs BOOLEAN, lap INT,
            event_time TIMESTAMP(3), watermark_at_arrival TIMESTAMP(3),
            kafka_partition INT, kafka_offset BIGINT,
            `year` STRING, `month` STRING, `day` STRING, `hour` STRING
        ) PARTITIONED BY (`year`, `month`, `day`, `hour`) WITH (
            'connector' = 'filesystem',
            'path' = '{s3_path(settings.telemetry_bucket, args.output_prefix + "-late")}',
            {parquet}
        )""")
    # Dead letters keep the original bytes as the value; the reason and the
    # source position travel in headers (Kafka Connect's DLQ convention).
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE dead_letter_sink (
            payload BYTES,
            headers MAP<STRING, BYTES> METADATA
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{args.dlq_topic}',
            'properties.bootstrap.servers' = '{settings.kafka_bootstrap_servers}',
            'properties.transaction.timeout.ms' = '900000',
            'format' = 'raw',
            'sink.delivery-guarantee' = 'exactly-once',
            'sink.transactional-id-prefix' = '{args.name}-dlq'
        )""")


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    args = parse_args(argv, settings)
    if not args.jar.is_file():
        sys.exit(f"error: {args.jar} is missing; build it with `make setup`")

    config = Configuration()
    config.set_string("pipeline.name", args.name)
    config.set_string("pipeline.jars", args.jar.resolve().as_uri())
    config.set_string("table.local-time-zone", "UTC")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.enable_checkpointing(args.checkpoint_seconds * 1000, CheckpointingMode.EXACTLY_ONCE)
    if args.parallelism:
        env.set_parallelism(args.parallelism)
    t_env = StreamTableEnvironment.create(env)

    # Source: Kafka records decoded to Rows in the JVM; watermarks per partition.
    decoded = env.from_source(
        kafka_source(settings, args), watermarks(settings, args), "kafka: telemetry"
    )
    decoded = decoded.uid(SOURCE_UID)
    t_env.create_temporary_view(
        "decoded",
        t_env.from_data_stream(
            decoded,
            Schema.new_builder()
            .column_by_metadata("rowtime", "TIMESTAMP_LTZ(3)")
            .watermark("rowtime", "SOURCE_WATERMARK()")
            .build(),
        ),
    )

    # Split: undecodable, late, on time.
    t_env.execute_sql("""
        CREATE TEMPORARY VIEW events AS
        SELECT *, CURRENT_WATERMARK(rowtime) AS wm FROM decoded WHERE error IS NULL""")
    t_env.execute_sql("""
        CREATE TEMPORARY VIEW on_time AS
        SELECT * FROM events WHERE wm IS NULL OR rowtime > wm""")
    create_sinks(t_env, settings, args)
    hour_parts = """
        DATE_FORMAT({ts}, 'yyyy'), DATE_FORMAT({ts}, 'MM'),
        DATE_FORMAT({ts}, 'dd'), DATE_FORMAT({ts}, 'HH')"""
    statements = t_env.create_statement_set()

    # Window: tumbling event-time windows per car.
    statements.add_insert_sql(f"""
        INSERT INTO window_sink
        SELECT
            car_id, window_start, window_end,
            COUNT(*), AVG(speed), MIN(speed), MAX(speed),
            AVG(CAST(rpm AS DOUBLE)), MAX(rpm),
            AVG(throttle), AVG(brake),
            AVG(CASE WHEN drs THEN CAST(1 AS DOUBLE) WHEN NOT drs THEN CAST(0 AS DOUBLE) END),
            MAX(lap),
            {hour_parts.format(ts="window_start")}
        FROM TABLE(TUMBLE(
            TABLE on_time, DESCRIPTOR(rowtime), INTERVAL '{args.window_seconds}' SECOND))
        GROUP BY car_id, window_start, window_end""")

    # Late data: kept with the watermark it missed, never dropped.
    statements.add_insert_sql(f"""
        INSERT INTO late_sink
        SELECT
            car_id, speed, rpm, gear, `timestamp`, throttle, brake, drs, lap,
            CAST(rowtime AS TIMESTAMP(3)), CAST(wm AS TIMESTAMP(3)),
            kafka_partition, kafka_offset,
            {hour_parts.format(ts="CAST(rowtime AS TIMESTAMP(3))")}
        FROM events WHERE wm IS NOT NULL AND rowtime <= wm""")

    # Dead letters: original bytes, reason and source position.
    statements.add_insert_sql(f"""
        INSERT INTO dead_letter_sink
        SELECT payload, MAP[
            'dlq.reason', ENCODE(error, 'UTF-8'),
            'dlq.source.topic', ENCODE('{args.topic}', 'UTF-8'),
            'dlq.source.partition', ENCODE(CAST(kafka_partition AS STRING), 'UTF-8'),
            'dlq.source.offset', ENCODE(CAST(kafka_offset AS STRING), 'UTF-8'),
            'dlq.schema.id', ENCODE(CAST(schema_id AS STRING), 'UTF-8')]
        FROM decoded WHERE error IS NOT NULL""")

    # Execute: submitted to the cluster; `flink run -d` returns at once.
    result = statements.execute()
    job_client = result.get_job_client()
    if job_client is not None:
        print(json.dumps({"job_id": str(job_client.get_job_id()), "name": args.name}))


if __name__ == "__main__":
    main()
