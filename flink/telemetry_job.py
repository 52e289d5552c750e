"""Telemetry windows and laps: Kafka (Confluent Avro) -> per-car event-time aggregates ->
Iceberg tables and Kafka topics.

    source     Kafka topic, Confluent-framed Avro decoded in the JVM with the
               writer schema the registry gives for each record's id, resolved
               to the latest reader schema (v1 events get v2's null defaults)
    watermark  bounded out-of-orderness; a partition idle for a while lets
               event time follow the clock, so the last windows still close
    split      undecodable -> dead-letter topic; at or before the watermark ->
               table late_events; the rest -> partial aggregates per car, lap and
               tumbling window, the one aggregation of every event (in the JVM,
               chained to the source: dev.telemetry.flink.operator.EventSplit)
    partials   a car's, lap's and window's partial rows merged in SQL
    windows    a window's partials merged; laps: a lap's partials merged once the
               next lap's first partial passed the watermark (MATCH_RECOGNIZE)
    sink       Iceberg tables <namespace>.windows, .laps and .late_events of the catalog
               `telemetry` (hours(window_start / lap_start / event_time)), committed on
               checkpoints (exactly once) and compacted by Iceberg's maintenance; windows
               and laps also to their topics as Confluent Avro under the registered
               schemas, in Kafka transactions committed on the same checkpoints

Submit with `telemetry job submit`, or on any cluster with
`flink run -py flink/telemetry_job.py --jar telemetry-flink-functions.jar`.
Every endpoint comes from the environment (telemetry.core.config).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

from pyflink.common import Configuration
from pyflink.common.watermark_strategy import WatermarkStrategy
from pyflink.datastream import CheckpointingMode, DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors import Source
from pyflink.java_gateway import get_gateway
from pyflink.table import Schema, StatementSet, StreamTableEnvironment
from pyflink.util.java_utils import add_jars_to_context_class_loader

from telemetry.core.config import Settings, load_settings
from telemetry.core.contract import (
    TRANSACTION_TIMEOUT_MS,
    checkpoint_prefix,
    job_jar,
    savepoint_prefix,
    state_uri,
)
from telemetry.core.dlq.headers import DLQ_HEADERS
from telemetry.core.job_params import JobParams
from telemetry.core.kafka_config import REGISTRY_CREDENTIALS_VARIABLE, java_properties
from telemetry.core.lake import LakeTable, lap_table, late_table, window_table
from telemetry.core.lake.catalog import CATALOG_NAME, ensure_table, flink_catalog_options
from telemetry.core.lake.maintenance import ensure_lock_table, maintenance_lock
from telemetry.core.schemas import (
    LAP_KEY_SUBJECT,
    LAP_SUBJECT,
    VALUE_SUBJECT,
    WINDOW_KEY_SUBJECT,
    WINDOW_SUBJECT,
    schema_text,
)
from telemetry.core.storage import arrow_trust

SOURCE_UID = "telemetry-kafka-source"
SPLIT_UID = "telemetry-event-split"
SIGNAL_UID = "telemetry-committed-watermark"
WINDOW_TOPIC_UID = "telemetry-window-topic"
LAP_TOPIC_UID = "telemetry-lap-topic"


def parse_args(argv: list[str] | None, settings: Settings) -> tuple[Path, JobParams]:
    """`--jar PATH` plus the job's parameters (JobParams; defaults from the environment)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--jar", type=Path, default=job_jar(settings), help="telemetry-flink-functions jar"
    )
    known, rest = parser.parse_known_args(argv)
    return known.jar, JobParams.parse(rest, settings)


def registry_settings(settings: Settings) -> object:
    """The registry as the JVM's decoder and serializers reach it (RegistrySettings)."""
    return (
        get_gateway()
        .jvm.dev.telemetry.flink.registry.RegistrySettings.builder()
        .url(settings.registry.url)
        .caLocation(settings.registry.ca_location or None)
        # The variable's name: the credentials are read on the TaskManager, never shipped.
        .basicAuthUserInfoVariable(REGISTRY_CREDENTIALS_VARIABLE)
        .build()
    )


def record_deserializer(settings: Settings) -> object:
    """The JVM decoder of Confluent Avro records into SQL rows (no Python per record)."""
    return get_gateway().jvm.dev.telemetry.flink.source.ConfluentAvroRecordDeserializer(
        registry_settings(settings), schema_text(VALUE_SUBJECT)
    )


def kafka_source(settings: Settings, args: JobParams, deserializer: object) -> Source:
    """KafkaSource whose records `deserializer` turns into rows in the JVM."""
    jvm = get_gateway().jvm
    kafka = jvm.org.apache.flink.connector.kafka.source
    topics = jvm.java.util.ArrayList()
    topics.add(args.topic)
    reset = jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    j_source = (
        kafka.KafkaSource.builder()
        .setBootstrapServers(settings.kafka.bootstrap_servers)
        .setTopics(topics)
        .setGroupId(args.consumer_group)
        # A new group starts at the beginning of the topic; a restart resumes
        # from the checkpoint, a resubmission from the offsets committed on it.
        .setStartingOffsets(kafka.enumerator.initializer.OffsetsInitializer.committedOffsets(reset))
        .setDeserializer(deserializer)
        .setProperties(java_properties_object(settings))
        .setProperty("partition.discovery.interval.ms", "10000")
        .setProperty("isolation.level", "read_committed")
        .build()
    )
    return Source(j_source)


def client_configuration(settings: Settings | None = None) -> Configuration:
    """The cluster's client configuration (FLINK_CONF_DIR, e.g. REST over mutual TLS), if any.

    A PyFlink job given a configuration of its own submits with it alone; without
    the cluster's keys it would talk plain HTTP to a REST API that wants TLS.
    Without `settings`, they are loaded (under `flink run`, FLINK_CONF_DIR is the
    command's; in-process, the one telemetry.ops.jobs.client set for the gateway).
    """
    conf_dir = (settings if settings is not None else load_settings()).flink.conf_dir
    if not conf_dir:
        return Configuration()
    jvm = get_gateway().jvm
    loaded = jvm.org.apache.flink.configuration.GlobalConfiguration.loadConfiguration(conf_dir)
    return Configuration(j_configuration=loaded)


def java_properties_object(settings: Settings) -> object:
    """The Kafka client properties (security included) as a java.util.Properties."""
    props = get_gateway().jvm.java.util.Properties()
    for key, value in java_properties(settings).items():
        props.setProperty(key, value)
    return props


def kafka_sql_options(settings: Settings) -> str:
    """The same properties as `'properties.<key>' = '<value>'` options of a SQL table."""
    return ",\n            ".join(
        f"'properties.{key}' = '{value.replace(chr(39), chr(39) * 2)}'"
        for key, value in java_properties(settings).items()
    )


def java_map(entries: dict[str, str]) -> object:
    """A java.util.HashMap (py4j proxy) with these entries."""
    jvm = get_gateway().jvm
    result = jvm.java.util.HashMap()
    for key, value in entries.items():
        result.put(key, value)
    return result


def watermarks(settings: Settings, args: JobParams, row_type: object) -> WatermarkStrategy:
    """Bounded out-of-orderness; event time follows the clock only once Kafka confirms the
    partition drained for the idle timeout (see IdleAdvancingWatermarks)."""
    strategy = (
        get_gateway()
        .jvm.dev.telemetry.flink.watermark.IdleAdvancingWatermarks.builder()
        .rowType(row_type)
        .timestampField("timestamp")
        .outOfOrdernessMillis(args.out_of_orderness_seconds * 1000)
        .idleTimeoutMillis(args.idle_timeout_seconds * 1000)
        .topic(args.topic)
        .consumerGroup(args.consumer_group)
        .kafkaProperties(java_map(java_properties(settings)))
        .build()
    )
    return WatermarkStrategy(strategy)


class EventSplit(NamedTuple):
    """The split's streams (dev.telemetry.flink.operator.EventSplit): rows of the window partials,
    the late events (with `wm`, the watermark they missed) and the dead letters.

    Not a dataclass: the job is also loaded as a script outside sys.modules."""

    partials: DataStream
    late: DataStream
    errors: DataStream


def event_split(args: JobParams, row_type: object, decoded: DataStream) -> EventSplit:
    """Append the JVM split of the decoded events (rows of `row_type`) to `decoded`."""
    jvm = get_gateway().jvm
    columns = list(jvm.dev.telemetry.flink.operator.WindowPartials.COLUMNS)
    if columns != list(PARTIAL_MERGE):
        sys.exit(
            f"error: {__file__}: PARTIAL_MERGE has {list(PARTIAL_MERGE)}, but the job jar's "
            f"WindowPartials emits {columns}; rebuild the jar with `make setup`"
        )
    streams = jvm.dev.telemetry.flink.operator.EventSplit.apply(
        decoded._j_data_stream,  # type: ignore[attr-defined]
        row_type,
        args.window_seconds * 1000,
        SPLIT_UID,
    )
    return EventSplit(
        DataStream(streams.partials()), DataStream(streams.late()), DataStream(streams.errors())
    )


# Partial aggregates, per car, lap and window: the only aggregation every event goes
# through, in the JVM as it is decoded (dev.telemetry.flink.operator.WindowPartials, its columns in
# WindowPartials.COLUMNS). SQL merges the rows of one car, lap and window (a checkpoint
# barrier can split one) with these. The windows merge a window's partials (of every lap in
# it), the laps merge a lap's partials (of every window it spans), so a lap costs a few rows
# a second.
PARTIAL_MERGE = {
    "event_count": "SUM(event_count)",
    "sum_speed": "SUM(sum_speed)",
    "min_speed": "MIN(min_speed)",
    "max_speed": "MAX(max_speed)",
    "sum_speed_squares": "SUM(sum_speed_squares)",
    "sum_rpm": "SUM(sum_rpm)",
    "min_rpm": "MIN(min_rpm)",
    "max_rpm": "MAX(max_rpm)",
    "sum_gear": "SUM(sum_gear)",
    "sum_throttle": "SUM(sum_throttle)",
    "throttle_count": "SUM(throttle_count)",
    "sum_brake": "SUM(sum_brake)",
    "brake_count": "SUM(brake_count)",
    "braking_count": "SUM(braking_count)",
    "drs_count": "SUM(drs_count)",
    "drs_open_count": "SUM(drs_open_count)",
    "first_event": "MIN(first_event)",
}


def _mean(total: str, count: str = "event_count", nullable: bool = False) -> str:
    """SUM(total) / SUM(count) as a DOUBLE; null where the count is 0 (nullable fields)."""
    divisor = f"NULLIF(SUM({count}), 0)" if nullable else f"SUM({count})"
    return f"CAST(SUM({total}) AS DOUBLE) / {divisor}"


# Window aggregates over the partials: one SQL expression per field of
# schemas/telemetry_window-value (latest version). All are computed whatever version the
# table gets, so the window state is the same for every version written and a savepoint
# carries over.
WINDOW_COLUMNS = {
    "car_id": "car_id",
    "window_start": "window_start",
    "window_end": "window_end",
    "event_count": "SUM(event_count)",
    "avg_speed": _mean("sum_speed"),
    "min_speed": "MIN(min_speed)",
    "max_speed": "MAX(max_speed)",
    "avg_rpm": _mean("sum_rpm"),
    "max_rpm": "MAX(max_rpm)",
    "avg_throttle": _mean("sum_throttle", "throttle_count", nullable=True),
    "avg_brake": _mean("sum_brake", "brake_count", nullable=True),
    "drs_open_ratio": _mean("drs_open_count", "drs_count", nullable=True),
    "max_lap": "MAX(lap)",
    "min_rpm": "MIN(min_rpm)",
    "avg_gear": _mean("sum_gear"),
    # The variance from sums of squares can go slightly negative for a window of equal
    # speeds (a NaN root): it is clamped at 0 first.
    "stddev_speed": (
        f"SQRT(GREATEST({_mean('sum_speed_squares')} - POWER({_mean('sum_speed')}, 2), 0.0))"
    ),
}

# Lap aggregates over the partials of C, one lap (MATCH_RECOGNIZE in execute()): one SQL
# expression per field of schemas/telemetry_lap-value, lap_time_ms aside (from the bounds).
LAP_MEASURES = {
    "lap": "FIRST(C.lap)",
    "lap_start": "FIRST(C.first_event)",
    "lap_end": "N.first_event",
    "top_speed": "MAX(C.max_speed)",
    "min_speed": "MIN(C.min_speed)",
    "avg_speed": "CAST(SUM(C.sum_speed) AS DOUBLE) / SUM(C.event_count)",
    "avg_throttle": "CAST(SUM(C.sum_throttle) AS DOUBLE) / NULLIF(SUM(C.throttle_count), 0)",
    "brake_share": "CAST(SUM(C.braking_count) AS DOUBLE) / SUM(C.event_count)",
    "max_rpm": "MAX(C.max_rpm)",
    "event_count": "SUM(C.event_count)",
}


def epoch_ms(instant: str) -> str:
    """Milliseconds since the epoch of a TIMESTAMP_LTZ(3) (TIMESTAMPDIFF truncates to seconds)."""
    return f"(EXTRACT(EPOCH FROM {instant}) * 1000 + EXTRACT(MILLISECOND FROM {instant}))"


# A late event's columns besides the event's own fields.
LATE_COLUMNS = {
    "event_time": "rowtime",
    "watermark_at_arrival": "wm",
    "kafka_partition": "kafka_partition",
    "kafka_offset": "kafka_offset",
}


def sql_options(options: dict[str, str]) -> str:
    """`'key' = 'value', ...` with quotes escaped, for WITH clauses and OPTIONS hints."""
    quote = "'{}'".format
    return ", ".join(
        f"{quote(k.replace(chr(39), chr(39) * 2))} = {quote(v.replace(chr(39), chr(39) * 2))}"
        for k, v in options.items()
    )


class LakeTables(NamedTuple):
    """The lake's tables the job writes, as their contracts and versions say."""

    windows: LakeTable
    laps: LakeTable
    late: LakeTable


def table_path(args: JobParams, table: LakeTable) -> str:
    return f"`{CATALOG_NAME}`.`{args.namespace}`.`{table.name}`"


def create_sinks(t_env: StreamTableEnvironment, settings: Settings, args: JobParams) -> LakeTables:
    """The lake's tables (created or evolved from the contracts) and the dead-letter topic."""
    tables = LakeTables(window_table(args.window_schema_version or None), lap_table(), late_table())
    for table, known, where in (
        (tables.windows, WINDOW_COLUMNS, "WINDOW_COLUMNS"),
        (tables.laps, {"car_id", "lap_time_ms", *LAP_MEASURES}, "LAP_MEASURES"),
    ):
        missing = [c.name for c in table.columns if c.name not in known]
        if missing:
            sys.exit(
                f"error: {table.subject} has fields without an aggregate in {__file__}: "
                f"{', '.join(missing)}; add them to {where}"
            )
    for table in tables:
        ensure_table(settings, table, args.namespace)
    ensure_lock_table(settings)  # before the tasks, which would race to create it
    t_env.execute_sql(
        f"CREATE CATALOG `{CATALOG_NAME}` WITH ({sql_options(flink_catalog_options(settings))})"
    )
    # Dead letters keep the original key and value bytes; the reason and the
    # source position travel in Kafka Connect's `__connect.errors.*` headers.
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE dead_letter_sink (
            record_key BYTES,
            payload BYTES,
            headers MAP<STRING, BYTES> METADATA
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{args.dlq_topic}',
            {kafka_sql_options(settings)},
            'properties.transaction.timeout.ms' = '{TRANSACTION_TIMEOUT_MS}',
            'key.format' = 'raw',
            'key.fields' = 'record_key',
            'value.format' = 'raw',
            'value.fields-include' = 'EXCEPT_KEY',
            'sink.delivery-guarantee' = 'exactly-once',
            'sink.transactional-id-prefix' = '{args.name}-dlq'
        )""")
    return tables


def committed_watermark(
    settings: Settings, args: JobParams, table: LakeTable, windows: object
) -> None:
    """Keep the table's `telemetry.committed-before` at the watermark of its newest commit
    (dev.telemetry.flink.lake.CommittedWatermark): the signal for schedulers."""
    jvm = get_gateway().jvm
    operator = jvm.dev.telemetry.flink.lake.CommittedWatermark(
        CATALOG_NAME, java_map(flink_catalog_options(settings)), args.namespace, table.name
    )
    void = jvm.org.apache.flink.api.common.typeinfo.Types.VOID
    signal = windows._j_data_stream.transform(  # type: ignore[attr-defined]
        f"committed watermark: {table.name}", void, operator
    )
    signal.uid(SIGNAL_UID).setParallelism(1).setMaxParallelism(1)


def aggregate_topic(
    settings: Settings,
    args: JobParams,
    rows: object,
    *,
    uid: str,
    topic: str,
    key_subject: str,
    value_subject: str,
    value_version: int,
) -> None:
    """Write `rows` (a DataStream of Rows) to `topic` as Confluent Avro under the registered
    schemas of the two subjects, exactly once (dev.telemetry.flink.sink.AggregateTopics)."""
    topics = (
        get_gateway()
        .jvm.dev.telemetry.flink.sink.AggregateTopics.builder()
        .topic(topic)
        .kafkaProperties(java_map(java_properties(settings)))
        .registry(registry_settings(settings))
        .key(key_subject, schema_text(key_subject))
        .value(value_subject, schema_text(value_subject, value_version))
        .transactionalIdPrefix(f"{args.name}-{uid.removeprefix('telemetry-')}")
        .build()
    )
    topics.appendTo(rows._j_data_stream, uid)  # type: ignore[attr-defined]


def table_maintenance(
    settings: Settings, args: JobParams, env: StreamExecutionEnvironment, table: LakeTable
) -> None:
    """Iceberg's maintenance of `table` as a branch of this job
    (dev.telemetry.flink.lake.LakeMaintenance; telemetry.core.lake.maintenance)."""
    lock = maintenance_lock(settings)
    get_gateway().jvm.dev.telemetry.flink.lake.LakeMaintenance.append(
        env._j_stream_execution_environment,  # type: ignore[attr-defined]
        CATALOG_NAME,
        java_map(flink_catalog_options(settings)),
        args.namespace,
        table.name,
        lock.jdbc_url,
        java_map(lock.properties),
    )


def _instant(name: str, expression: str, is_instant: bool) -> str:
    """Window bounds are UTC wall-clock TIMESTAMPs in SQL; their column is an instant."""
    return f"CAST({expression} AS TIMESTAMP_LTZ(3)) AS `{name}`" if is_instant else expression


def dead_letter_headers(args: JobParams) -> str:
    """SQL MAP of the dead-letter headers: Kafka Connect's names, plus reason and schema id."""
    utf8 = "ENCODE({}, 'UTF-8')".format
    headers = {
        DLQ_HEADERS.topic: utf8(f"'{args.topic}'"),
        DLQ_HEADERS.partition: utf8("CAST(kafka_partition AS STRING)"),
        DLQ_HEADERS.offset: utf8("CAST(kafka_offset AS STRING)"),
        DLQ_HEADERS.connector: utf8(f"'{args.name}'"),
        DLQ_HEADERS.stage: utf8("'VALUE_CONVERTER'"),
        DLQ_HEADERS.converter: utf8("'dev.telemetry.flink.source.ConfluentAvroRecordDeserializer'"),
        DLQ_HEADERS.message: utf8("error"),
        DLQ_HEADERS.reason: utf8("SPLIT_INDEX(error, ':', 0)"),
        DLQ_HEADERS.schema_id: utf8("CAST(schema_id AS STRING)"),
    }
    return "MAP[" + ", ".join(f"'{k}', {v}" for k, v in headers.items()) + "]"


def environment(
    config: Configuration, jar: Path, rest_endpoint: tuple[str, int] | None
) -> StreamExecutionEnvironment:
    """The cluster `flink run` names, or the one at `rest_endpoint` (remote execution)."""
    if rest_endpoint is None:
        return StreamExecutionEnvironment.get_execution_environment(config)
    gateway = get_gateway()
    jars = gateway.new_array(gateway.jvm.String, 1)
    jars[0] = str(jar.resolve())
    j_env = gateway.jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
    remote = j_env.createRemoteEnvironment(
        rest_endpoint[0], rest_endpoint[1], config._j_configuration, jars
    )
    return StreamExecutionEnvironment(remote)


def job_configuration(
    settings: Settings, jar: Path, args: JobParams, *, remote: bool, savepoint: str | None
) -> Configuration:
    """The cluster's client configuration plus the job's: name, jar, SQL, state per job name."""
    config = client_configuration(settings)
    if remote:
        config.set_string("execution.attached", "false")
    if savepoint:
        config.set_string("execution.state-recovery.path", savepoint)
    config.set_string("pipeline.name", args.name)
    config.set_string("pipeline.jars", jar.resolve().as_uri())
    config.set_string("table.local-time-zone", "UTC")
    # Throughput: aggregate each window locally before the shuffle by car (a few
    # rows per window cross the network instead of every event), and let chained
    # operators hand objects over without copying them.
    config.set_string("table.optimizer.agg-phase-strategy", "TWO_PHASE")
    config.set_string("pipeline.object-reuse", "true")
    # Iceberg's sink v2: commits on checkpoints (maintenance is a branch of its own).
    config.set_string("table.exec.iceberg.use-v2-sink", "true")
    # State per job name, kept when the job is cancelled or fails, so that the
    # next submission finds and resumes it (telemetry.ops.jobs.retained).
    config.set_string(
        "execution.checkpointing.dir", state_uri(settings, checkpoint_prefix(args.name))
    )
    config.set_string(
        "execution.checkpointing.savepoint-dir", state_uri(settings, savepoint_prefix(args.name))
    )
    config.set_string(
        "execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION"
    )
    # A resumed job owns the checkpoint it starts from and deletes it once subsumed.
    config.set_string("execution.state-recovery.claim-mode", "CLAIM")
    return config


def configure(
    settings: Settings,
    jar: Path,
    args: JobParams,
    rest_endpoint: tuple[str, int] | None,
    savepoint: str | None,
) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """The job's environments: its configuration, checkpoints exactly once, its parallelism."""
    # Before PyFlink's environment, which imports pyarrow.fs: pyarrow's S3 client (the
    # catalog's FileIO) takes its CA bundle then, and must trust S3_CA_LOCATION.
    arrow_trust.trust(settings)
    add_jars_to_context_class_loader([jar.resolve().as_uri()])
    config = job_configuration(
        settings, jar, args, remote=rest_endpoint is not None, savepoint=savepoint
    )
    env = environment(config, jar, rest_endpoint)
    env.enable_checkpointing(args.checkpoint_seconds * 1000, CheckpointingMode.EXACTLY_ONCE)
    if args.parallelism:
        env.set_parallelism(args.parallelism)
    return env, StreamTableEnvironment.create(env)


def rowtime_schema() -> Schema:
    """A stream's record timestamps as the column `rowtime`, its watermarks as the table's."""
    return (
        Schema.new_builder()
        .column_by_metadata("rowtime", "TIMESTAMP_LTZ(3)")
        .watermark("rowtime", "SOURCE_WATERMARK()")
        .build()
    )


def source_and_split(
    settings: Settings,
    args: JobParams,
    env: StreamExecutionEnvironment,
    t_env: StreamTableEnvironment,
) -> None:
    """Kafka records decoded in the JVM with watermarks per partition, split into the views
    `local_partials`, `late_events` and `dead_letters`."""
    deserializer = record_deserializer(settings)
    decoded = env.from_source(
        kafka_source(settings, args, deserializer),
        watermarks(settings, args, deserializer.rowType()),
        "kafka: telemetry",
    )
    decoded = decoded.uid(SOURCE_UID)
    split = event_split(args, deserializer.rowType(), decoded)
    rowtime = rowtime_schema()
    t_env.create_temporary_view("local_partials", t_env.from_data_stream(split.partials, rowtime))
    t_env.create_temporary_view("late_events", t_env.from_data_stream(split.late, rowtime))
    t_env.create_temporary_view("dead_letters", t_env.from_data_stream(split.errors))


def merged_partials(t_env: StreamTableEnvironment, args: JobParams) -> None:
    """The view `partials`: the split's rows of one car, lap and window merged (a checkpoint
    barrier may have split them), its rowtime the window's."""
    # Converted to a DataStream once, so that the windows and the laps share them (a view
    # would be planned, and computed, once for each). Their window_time travels as the
    # records' event time, and becomes the rowtime of the view read back from it.
    merged = ",\n            ".join(f"{expr} AS `{name}`" for name, expr in PARTIAL_MERGE.items())
    partial_stream = t_env.to_data_stream(
        t_env.sql_query(f"""
        SELECT
            car_id, lap, window_time,
            {merged}
        FROM TABLE(TUMBLE(
            TABLE local_partials, DESCRIPTOR(rowtime), INTERVAL '{args.window_seconds}' SECOND))
        GROUP BY car_id, lap, window_start, window_end, window_time""")
    )
    t_env.create_temporary_view(
        "partials", t_env.from_data_stream(partial_stream, rowtime_schema())
    )


# One writer a table: windows are a few rows a second, and one file per checkpoint and
# hour is what Iceberg's maintenance then merges.
SINK_OPTIONS = sql_options({"write-parallelism": "1"})


def windows(
    t_env: StreamTableEnvironment, statements: StatementSet, args: JobParams, table: LakeTable
) -> DataStream:
    """Each window's partials merged (one per lap it saw) into the windows table; returns the
    rows with every aggregate the job knows, for the topic and the signal."""
    # Every aggregate whatever the table's version: the window state is then the same for
    # every version, so a savepoint carries over an upgrade. Through a DataStream, so that
    # the planner keeps the aggregates the table does not take (yet).
    every = ",\n            ".join(f"{expr} AS `{name}`" for name, expr in WINDOW_COLUMNS.items())
    aggregated = t_env.sql_query(f"""
        SELECT
            {every}
        FROM TABLE(TUMBLE(
            TABLE partials, DESCRIPTOR(rowtime), INTERVAL '{args.window_seconds}' SECOND))
        GROUP BY car_id, window_start, window_end""")
    window_stream = t_env.to_data_stream(aggregated)
    t_env.create_temporary_view("window_rows", t_env.from_data_stream(window_stream))
    written = ",\n            ".join(
        _instant(c.name, f"`{c.name}`", c.is_instant) for c in table.columns
    )
    statements.add_insert_sql(f"""
        INSERT INTO {table_path(args, table)} /*+ OPTIONS({SINK_OPTIONS}) */
            ({", ".join(f"`{c}`" for c in table.column_names)})
        SELECT
            {written}
        FROM window_rows""")
    return window_stream


def laps(
    t_env: StreamTableEnvironment, statements: StatementSet, args: JobParams, table: LakeTable
) -> DataStream:
    """Each lap's partials merged once the next lap began, into the laps table; returns the
    rows, for the topic."""
    # A car's partials in event-time order (a window's laps in lap order). A lap is C+, the
    # partials of one lap number after a partial P of a lower one (so the lap it was first
    # seen on, partial, never is one), ended by the first partial N of a higher lap: N's
    # first event is the next crossing. The match resumes at the lap's last partial, the P
    # of the next lap. Events without a lap number take no part.
    measures = ",\n                ".join(
        f"{expr} AS `{name}`" for name, expr in LAP_MEASURES.items()
    )
    lap_rows = t_env.sql_query(f"""
        SELECT *, {epoch_ms("lap_end")} - {epoch_ms("lap_start")} AS lap_time_ms
        FROM (SELECT * FROM partials WHERE lap IS NOT NULL)
        MATCH_RECOGNIZE (
            PARTITION BY car_id
            ORDER BY rowtime, lap
            MEASURES
                {measures}
            ONE ROW PER MATCH
            AFTER MATCH SKIP TO LAST C
            PATTERN (P C+ N)
            DEFINE
                C AS C.lap > P.lap AND C.lap = FIRST(C.lap),
                N AS N.lap > FIRST(C.lap)
        )""")
    lap_stream = t_env.to_data_stream(lap_rows)
    t_env.create_temporary_view("lap_rows", t_env.from_data_stream(lap_stream))
    statements.add_insert_sql(f"""
        INSERT INTO {table_path(args, table)} /*+ OPTIONS({SINK_OPTIONS}) */
            ({", ".join(f"`{c}`" for c in table.column_names)})
        SELECT {", ".join(f"`{c}`" for c in table.column_names)}
        FROM lap_rows""")
    return lap_stream


def late_events(statements: StatementSet, args: JobParams, table: LakeTable) -> None:
    """Late events into their table, with the watermark they missed: never dropped."""
    late_values = ",\n            ".join(
        LATE_COLUMNS.get(c.name, f"`{c.name}`") for c in table.columns
    )
    statements.add_insert_sql(f"""
        INSERT INTO {table_path(args, table)} /*+ OPTIONS({SINK_OPTIONS}) */
        SELECT
            {late_values}
        FROM late_events""")


def dead_letters(statements: StatementSet, args: JobParams) -> None:
    """Undecodable records to the dead-letter topic: original bytes, reason and position."""
    statements.add_insert_sql(f"""
        INSERT INTO dead_letter_sink
        SELECT kafka_key, payload, {dead_letter_headers(args)}
        FROM dead_letters""")


def aggregate_topics(
    settings: Settings,
    args: JobParams,
    tables: LakeTables,
    window_stream: DataStream,
    lap_stream: DataStream,
) -> None:
    """Windows and laps on their topics too, with the fields of their table's version."""
    aggregate_topic(
        settings,
        args,
        window_stream,
        uid=WINDOW_TOPIC_UID,
        topic=args.window_topic,
        key_subject=WINDOW_KEY_SUBJECT,
        value_subject=WINDOW_SUBJECT,
        value_version=tables.windows.version,
    )
    aggregate_topic(
        settings,
        args,
        lap_stream,
        uid=LAP_TOPIC_UID,
        topic=args.lap_topic,
        key_subject=LAP_KEY_SUBJECT,
        value_subject=LAP_SUBJECT,
        value_version=tables.laps.version,
    )


def maintenance(
    settings: Settings,
    args: JobParams,
    env: StreamExecutionEnvironment,
    tables: LakeTables,
    window_stream: DataStream,
) -> None:
    """The windows table's commit signal, and Iceberg's maintenance of every table."""
    committed_watermark(settings, args, tables.windows, window_stream)
    for table in tables:
        table_maintenance(settings, args, env, table)


def submit(env: StreamExecutionEnvironment, statements: StatementSet, args: JobParams) -> str:
    """The statements and the DataStream branches as one job, submitted; returns at once."""
    statements.attach_as_datastream()
    job_client = env.execute_async(args.name)
    if job_client is None:
        raise RuntimeError("the cluster returned no job for the statement set")
    return str(job_client.get_job_id())


def execute(
    settings: Settings,
    jar: Path,
    args: JobParams,
    *,
    rest_endpoint: tuple[str, int] | None = None,
    savepoint: str | None = None,
    dry_run: bool = False,
) -> str:
    """Build the pipeline and submit it; returns the job id.

    Under `flink run` the job goes to the cluster that command names. Called
    in-process (telemetry.ops.jobs.client), `rest_endpoint` names the cluster and
    `savepoint` the state to resume. `dry_run` plans the job without submitting it
    (a warm-up of the planner; returns "").
    """
    # Configure: the cluster, exactly-once checkpoints, state kept per job name.
    env, t_env = configure(settings, jar, args, rest_endpoint, savepoint)
    # Source and split: Kafka -> decoded rows -> dead letters, late events, partials.
    source_and_split(settings, args, env, t_env)
    # Sinks: the lake's tables, created or evolved, and the dead-letter topic.
    tables = create_sinks(t_env, settings, args)
    statements = t_env.create_statement_set()
    # Partials: the split's rows of one car, lap and window merged, for windows and laps.
    merged_partials(t_env, args)
    # Windows: partials merged per car and window, into the windows table.
    window_stream = windows(t_env, statements, args, tables.windows)
    # Laps: partials merged per car and lap (MATCH_RECOGNIZE), into the laps table.
    lap_stream = laps(t_env, statements, args, tables.laps)
    # Late events: into their table, with the watermark they missed.
    late_events(statements, args, tables.late)
    # Dead letters: to their topic, with the reason and the source position.
    dead_letters(statements, args)
    # Aggregate topics: windows and laps on Kafka too, exactly once.
    aggregate_topics(settings, args, tables, window_stream, lap_stream)
    # Maintenance: the windows table's commit signal; compaction and expiry per table.
    maintenance(settings, args, env, tables, window_stream)
    if dry_run:
        statements.explain()
        return ""
    # Submit: one job, returns at once.
    return submit(env, statements, args)


def main(argv: list[str] | None = None) -> None:
    """Under `flink run -py`: submit to the cluster it names and print the job id."""
    settings = load_settings()
    jar, args = parse_args(argv, settings)
    if not jar.is_file():
        sys.exit(f"error: {jar} is missing; build it with `make setup`")
    job_id = execute(settings, jar, args)
    print(json.dumps({"job_id": job_id, "name": args.name}))


if __name__ == "__main__":
    main()
