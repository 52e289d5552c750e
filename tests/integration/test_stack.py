"""The local stack: each real server proven with its real client."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from telemetry.core.config import Settings, load_settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.ops.stack import status

pytestmark = pytest.mark.integration


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telemetry", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_kafka_admin_creates_topic_and_round_trips_a_message(stack: Settings) -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test-stack-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(librdkafka_config(stack))
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(15)
    assert topic in admin.list_topics(timeout=10).topics

    producer = Producer(librdkafka_config(stack, **{"acks": "all"}))
    producer.produce(topic, key=b"7", value=b"312.4")
    assert producer.flush(15) == 0

    consumer = Consumer(
        librdkafka_config(
            stack,
            **{
                "group.id": topic,
                "auto.offset.reset": "earliest",
            },
        )
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    message = None
    while message is None and time.monotonic() < deadline:
        candidate = consumer.poll(1.0)
        if candidate is not None and candidate.error() is None:
            message = candidate
    consumer.close()
    assert message is not None
    assert (message.key(), message.value()) == (b"7", b"312.4")


def test_registry_registers_an_avro_schema_and_reads_it_back_by_id(stack: Settings) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    # The stock client, given the timeout it lacks by default (it would wait forever).
    client = SchemaRegistryClient({"url": stack.registry.url, "timeout": 10})
    text = json.dumps(
        {
            "type": "record",
            "name": "Probe",
            "namespace": "test.stack",
            "fields": [{"name": "n", "type": "int"}],
        }
    )
    subject = f"test-stack-{uuid.uuid4().hex[:8]}-value"
    schema_id = client.register_schema(subject, Schema(text, "AVRO"))
    fresh = SchemaRegistryClient({"url": stack.registry.url, "timeout": 10})
    fetched = fresh.get_schema(schema_id)
    assert json.loads(fetched.schema_str) == json.loads(text)
    assert subject in client.get_subjects()


def test_minio_stores_and_returns_an_object_in_the_telemetry_bucket(stack: Settings) -> None:
    from telemetry.core.storage.s3 import s3_client

    client = s3_client(stack)
    key = f"tests/stack/{uuid.uuid4().hex}.txt"
    client.put_object(Bucket=stack.lake.bucket, Key=key, Body=b"lap 1")
    body = client.get_object(Bucket=stack.lake.bucket, Key=key)["Body"].read()
    assert body == b"lap 1"
    buckets = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert {stack.lake.bucket, stack.job.checkpoint_bucket} <= buckets


def test_flink_reports_a_taskmanager_with_free_slots(stack: Settings) -> None:
    with urllib.request.urlopen(f"{stack.flink.rest_url}/overview", timeout=5) as response:
        overview = json.loads(response.read())
    assert overview["taskmanagers"] >= 1
    assert overview["slots-available"] >= 1


@pytest.mark.slow
def test_a_pyflink_job_writes_to_s3_through_the_stacks_filesystem_plugin(
    stack: Settings, tmp_path: Path
) -> None:
    from support.flink import run_python_job

    from telemetry.core.storage.s3 import s3_client

    script = tmp_path / "s3_probe.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from pyflink.table import EnvironmentSettings, TableEnvironment

            t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
            t_env.execute_sql(f'''
                CREATE TABLE sink (car_id INT, speed DOUBLE) WITH (
                  'connector' = 'filesystem', 'path' = '{sys.argv[1]}', 'format' = 'csv')''')
            t_env.execute_sql(
                "INSERT INTO sink VALUES (7, 312.4), (44, 298.5), (16, 301.25)"
            ).wait()
            """
        )
    )
    prefix = f"tests/flink-probe/{uuid.uuid4().hex[:8]}"
    result = run_python_job(stack, script, [f"s3://{stack.lake.bucket}/{prefix}"], detached=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    client = s3_client(stack)
    listed = client.list_objects_v2(Bucket=stack.lake.bucket, Prefix=prefix)
    lines = [
        line
        for item in listed.get("Contents", [])
        for line in client.get_object(Bucket=stack.lake.bucket, Key=item["Key"])["Body"]
        .read()
        .decode()
        .splitlines()
        if line.strip()
    ]
    assert sorted(lines) == ["16,301.25", "44,298.5", "7,312.4"]
    # `flink run -py` logs the Python process's environment at INFO unless told not to:
    # the clients' secrets would be in the client log.
    from telemetry.ops.host.layout import Layout

    client_logs = list(Layout.of(stack).logs.glob("flink-*client*.log"))
    assert client_logs
    for log_file in client_logs:
        assert "AWS_SECRET_ACCESS_KEY=" not in log_file.read_text(errors="replace")


def test_up_twice_is_harmless_and_keeps_the_same_processes(stack: Settings) -> None:
    before = {s.name: s.pid for s in status(stack)}
    result = _cli("up")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("already running") == len(before)
    assert {s.name: s.pid for s in status(stack)} == before


@pytest.mark.slow
@pytest.mark.disruptive
def test_down_then_up_keeps_topics_schemas_and_objects(stack: Settings) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    from confluent_kafka.schema_registry import Schema

    from telemetry.core.registry import connect
    from telemetry.core.storage.s3 import s3_client

    marker = uuid.uuid4().hex[:8]
    topic, subject, key = f"test-keep-{marker}", f"test-keep-{marker}-value", f"tests/keep/{marker}"
    admin = AdminClient(librdkafka_config(stack))
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(15)
    registry = connect(stack).client
    schema_id = registry.register_schema(subject, Schema('{"type": "string"}', "AVRO"))
    s3_client(stack).put_object(Bucket=stack.lake.bucket, Key=key, Body=b"kept")

    assert _cli("down").returncode == 0
    assert not any(s.pid for s in status(stack))
    result = _cli("up")
    assert result.returncode == 0, result.stderr

    admin = AdminClient(librdkafka_config(stack))
    assert topic in admin.list_topics(timeout=10).topics
    registry = connect(stack).client
    assert registry.get_latest_version(subject).schema_id == schema_id
    body = s3_client(stack).get_object(Bucket=stack.lake.bucket, Key=key)["Body"].read()
    assert body == b"kept"


def test_port_in_use_gives_a_one_line_error_naming_port_and_fix(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        env = {
            **{name: value for name, value, _ in load_settings().items()},
            "PATH": "/usr/bin:/bin",
            "HOME": str(Path.home()),
            "TELEMETRY_DATA_DIR": str(tmp_path / "data"),
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
        result = _cli("up", env=env, timeout=120)
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert error_lines == [
        f"error: port {port} (MinIO (S3) S3 API) is already in use by another process; "
        "stop that process or configure another port (see `telemetry env --describe`)"
    ]
