"""The cluster profile (`make up PROFILE=cluster`): the same code on the production shape.

Run with TELEMETRY_PROFILE=cluster (`make test` does, after the local tests):
three SASL_SSL brokers, the registry behind TLS and basic auth, MinIO over
TLS with a bucket-scoped user, a JobManager with REST over mutual TLS and two
TaskManagers. Windows are checked against the producer's `--record`, as in
the job tests.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.faults import assert_back, kill_server, server_pid
from support.jobs import (
    RIDE_OUT,
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    wait_for_output,
)

from telemetry.core.config import Settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module", autouse=True)
def cluster_profile() -> None:
    assert os.environ.get("TELEMETRY_PROFILE") == "cluster", (
        "run these with TELEMETRY_PROFILE=cluster (make test-cluster)"
    )


def test_topics_are_replicated_three_times_with_two_in_sync(job_run: JobRun) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient(librdkafka_config(job_run.settings))
    topic = admin.list_topics(job_run.topic, timeout=10).topics[job_run.topic]
    assert len(topic.partitions) == job_run.settings.topics.partitions
    assert all(len(p.replicas) == 3 for p in topic.partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, job_run.topic)
    config = admin.describe_configs([resource])[resource].result(15)
    assert config["min.insync.replicas"].value == "2"


def test_the_job_runs_at_the_partitions_parallelism_on_both_taskmanagers(
    job_run: JobRun,
) -> None:
    settings = job_run.settings
    job = jobs.active_job(settings, job_run.name)
    assert job is not None
    detail = jobs.rest.rest(settings, "GET", f"/jobs/{job.job_id}")
    source = next(v for v in detail["vertices"] if "kafka" in v["name"].lower())
    assert source["parallelism"] == settings.topics.partitions == 4
    where = jobs.rest.rest(
        settings, "GET", f"/jobs/{job.job_id}/vertices/{source['id']}/taskmanagers"
    )
    assert len(where["taskmanagers"]) == 2, "the source's subtasks on both TaskManagers"


def test_the_pipeline_on_the_cluster_equals_the_record_through_a_broker_and_a_taskmanager_kill(
    job_run: JobRun, tmp_path: Path
) -> None:
    from telemetry.ops.stack import up

    settings = job_run.settings
    record = tmp_path / "acked.jsonl"
    producer = Producing(
        job_run, record, cars=8, rate=600, duration=50, seed=41, producer_overrides=RIDE_OUT
    )
    producer.start()
    try:
        job = jobs.active_job(settings, job_run.name)
        assert job is not None
        deadline = time.monotonic() + 90
        while jobs.checkpoint_count(settings, job.job_id) < 2:
            assert time.monotonic() < deadline, "no checkpoints on the cluster"
            time.sleep(1)
        kill_server(settings, "kafka-2")  # a broker: partitions fail over, acks=all holds
        time.sleep(8)
        survivor = server_pid(settings, "taskmanager-2")
        killed = kill_server(settings, "taskmanager-1")  # then a TaskManager: the job restarts
        # The supervisor starts a new TaskManager; `up` then brings the broker back (the
        # supervisor keeps to Flink's processes).
        assert_back(settings, "taskmanager-1", killed)
        up(settings, say=lambda _m: None)
    finally:
        producer.join()
    # The failover cancels tasks before they open; that must not take the other one down.
    assert server_pid(settings, "taskmanager-2") == survivor, "TaskManager 2 went down too"
    events = acknowledged_events(record)
    windows, late = wait_for_output(job_run, len(events), timeout=300)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late"
    assert_windows_match(windows, late, events)
    restored = jobs.checkpoint_counts(settings, job.job_id)["restored"]
    assert restored >= 1, "the job must have recovered from a checkpoint"


@pytest.mark.parametrize("broker", [0, 1, 2])
def test_every_broker_refuses_clients_without_the_right_credentials(
    stack: Settings, broker: int
) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("tests.cluster.refused")
    quiet.propagate = False
    server = stack.kafka.bootstrap_servers.split(",")[broker]
    base = librdkafka_config(stack, **{"bootstrap.servers": server})

    def answers(config: dict) -> bool:
        admin = AdminClient({**config, "socket.timeout.ms": 3000}, logger=quiet)
        try:
            return bool(admin.list_topics(timeout=5).brokers)
        except KafkaException:
            return False

    assert answers(base), "with the credentials: served"
    assert not answers({**base, "sasl.password": "wrong"}), "a wrong password"
    tls_only = {k: v for k, v in base.items() if not k.startswith("sasl")}
    assert not answers({**tls_only, "security.protocol": "SSL"}), "TLS without SASL"
    assert not answers({"bootstrap.servers": server}), "plaintext"


def test_the_registry_refuses_clients_without_the_right_credentials(stack: Settings) -> None:
    from telemetry.ops.stack.services import http_ok

    url = f"{stack.registry.url}/subjects"
    ca = stack.registry.ca_location
    assert http_ok(url, ca=ca, user_info=stack.registry.basic_auth_user_info.reveal())
    assert http_ok(url, ca=ca) is None, "no credentials"
    assert http_ok(url, ca=ca, user_info="telemetry:wrong") is None, "a wrong password"
    assert http_ok(url.replace("https://", "http://")) is None, "plain http"


def test_the_clients_s3_user_reaches_only_the_pipelines_buckets(stack: Settings) -> None:
    from botocore.exceptions import ClientError

    from telemetry.core.storage.s3 import s3_client

    client = s3_client(stack)
    client.head_bucket(Bucket=stack.lake.bucket)
    with pytest.raises(ClientError, match=r"AccessDenied|Forbidden|403"):
        client.create_bucket(Bucket="not-the-pipelines")
    names = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert names == {stack.lake.bucket, stack.job.checkpoint_bucket}


def test_no_secret_in_process_arguments_logs_flink_config_or_files_others_can_read(
    job_run: JobRun,
) -> None:
    import psutil

    from telemetry.core.config import stored_secrets

    settings = job_run.settings
    secrets = [v for v in stored_secrets(settings.stack.data_dir).values() if len(v) >= 8]
    assert len(secrets) >= 6
    layout = Layout.of(settings)
    for pid_file in layout.run.glob("*.pid"):
        pid = read_pid(pid_file)
        if pid is None or not psutil.pid_exists(pid):
            continue
        for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            cmdline = " ".join(process.cmdline())
            assert not any(s in cmdline for s in secrets), f"a secret in {pid_file.stem}'s args"
    config = jobs.rest.rest(settings, "GET", "/jobmanager/config")
    assert not any(s in str(config) for s in secrets), "Flink's REST API shows a secret"
    for path in files_under(settings.stack.data_dir):
        try:
            if not path.is_file() or path.stat().st_size > 5_000_000:
                continue  # large files are data: Kafka segments, Parquet, checkpoints
            text = path.read_bytes()
        except FileNotFoundError:
            continue  # deleted while we walk (a topic, a checkpoint)
        holds = any(s.encode() in text for s in secrets)
        if path.suffix == ".log" or path.parent == layout.logs:
            assert not holds, f"a secret in the log {path}"
        if holds:
            assert not readable_by_others(path, settings.stack.data_dir), path
    assert settings.stack.data_dir.stat().st_mode & 0o077 == 0, "the data folder is private"


def files_under(top: Path) -> Iterator[Path]:
    """Every file below `top`, walked while the servers run: a folder deleted meanwhile (a
    topic's partition, a checkpoint) is skipped, as os.walk skips what it cannot list."""
    for folder, _subfolders, names in os.walk(top):
        yield from (Path(folder) / name for name in names)


def readable_by_others(path: Path, top: Path) -> bool:
    """Whether a user other than the owner (and not in its group) can read `path`:
    every folder from `top` down lets others through, and the file lets them read."""
    folder = path.parent
    while True:
        if not folder.stat().st_mode & 0o001:
            return False
        if folder == top or folder == folder.parent:
            break
        folder = folder.parent
    return bool(path.stat().st_mode & 0o004)


# The Iceberg catalog's PostgreSQL --------------------------------------------------------


def test_the_catalog_database_answers_over_tls_to_the_client_certificate(stack: Settings) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(stack.lake.catalog_uri.reveal())
    try:
        with engine.connect() as db:
            row = db.exec_driver_sql(
                "SELECT current_user, current_database(), ssl FROM pg_stat_ssl"
                " WHERE pid = pg_backend_pid()"
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("telemetry", "iceberg", True)


def test_the_catalog_database_refuses_plaintext_and_clients_without_a_certificate(
    stack: Settings, tmp_path: Path
) -> None:
    import psycopg2

    from telemetry.ops.stack import postgres

    base = {
        "host": "127.0.0.1",
        "port": postgres.PORT,
        "dbname": postgres.DATABASE,
        "user": postgres.ROLE,
        "sslrootcert": str(stack.stack.data_dir / "tls" / "ca.pem"),
        "connect_timeout": 5,
    }
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        psycopg2.connect(**base, sslmode="disable")
    with pytest.raises(psycopg2.OperationalError, match="requires a valid client certificate"):
        psycopg2.connect(
            **base,
            sslmode="verify-full",
            sslcert=str(tmp_path / "none.pem"),
            sslkey=str(tmp_path / "none.key"),
        )
    with pytest.raises(psycopg2.OperationalError, match="certificate authentication failed"):
        postgres.connect(stack, role=postgres.ROLE, user="postgres")  # another role's name


def test_the_catalog_database_does_not_run_as_root(stack: Settings) -> None:
    import psutil

    pid = read_pid(Layout.of(stack).pid_file("postgres"))
    assert pid is not None, "postgres is not running"
    server = psutil.Process(pid)
    checked = 0
    for process in [server, *server.children(recursive=True)]:
        try:
            uids, name = process.uids(), process.name()
        except psutil.NoSuchProcess:  # a backend that ended between the listing and the look
            continue
        assert 0 not in uids, f"{name} runs as root"
        checked += 1
    assert checked >= 1, "no PostgreSQL process could be inspected"


def test_flinks_jdbc_url_reaches_the_catalog_database(stack: Settings, tmp_path: Path) -> None:
    """The JDBC default (with the .pk8 key) as Flink's catalog uses it, with Flink's driver."""
    import subprocess

    from telemetry.ops.host import versions
    from telemetry.ops.host.java import find_java

    jars = sorted((Layout.of(stack).flink_home / "lib").glob("postgresql-*.jar"))
    assert jars, "the PostgreSQL JDBC driver is not in Flink's lib/"
    probe = tmp_path / "Probe.java"
    probe.write_text(
        "public class Probe { public static void main(String[] a) throws Exception {"
        ' try (var c = java.sql.DriverManager.getConnection(System.getenv("JDBC_URL"));'
        ' var r = c.createStatement().executeQuery("SELECT current_user, ssl FROM pg_stat_ssl'
        ' WHERE pid = pg_backend_pid()")) {'
        ' r.next(); System.out.println(r.getString(1) + " " + r.getBoolean(2)); } } }'
    )
    java = find_java(versions.JAVA_MIN, stack.stack.java_home, "the JDBC probe")
    result = subprocess.run(
        [str(java), "-cp", str(jars[-1]), str(probe)],
        env={**os.environ, "JDBC_URL": stack.lake.catalog_jdbc_url.reveal()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.split() == ["telemetry", "true"], result.stderr[-2000:]
