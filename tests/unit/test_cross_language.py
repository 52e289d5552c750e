"""Facts Java and Python share are the same on both sides.

The Java side (flink/jvm) declares each of them as a constant; the Python side
declares it once too (telemetry.core.contract, telemetry.core.dlq.headers,
telemetry.core.kafka_config, telemetry.core.lake.maintenance, ...). These tests read
the Java declarations from the source, with a regular expression on the declaration,
and compare. Where Python files other than the declaring module name such a fact, the
test names those files' uses too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from telemetry.core.config import ENV_VARS, load_settings
from telemetry.core.contract import (
    DECODED_METRIC,
    FAILED_METRIC,
    JAR_NAME,
    METADATA_COLUMNS,
    TRANSACTION_TIMEOUT_MS,
    failed_metric,
)
from telemetry.core.dlq.headers import REASONS, REPLAYED_FROM
from telemetry.core.kafka_config import (
    PASSWORD_VARIABLE,
    REGISTRY_CREDENTIALS_VARIABLE,
    client_secrets_env,
    java_properties,
)
from telemetry.core.lake.maintenance import SCHEDULE
from telemetry.core.secret import Secret
from telemetry.ops.host import versions

ROOT = Path(__file__).resolve().parents[2]
JAVA = ROOT / "flink" / "jvm" / "src" / "main" / "java" / "dev" / "telemetry" / "flink"
JOB = ROOT / "flink" / "telemetry_job.py"
JVM_POM = ROOT / "flink" / "jvm" / "pom.xml"
STACK_POM = ROOT / "infra" / "maven" / "pom.xml"
FLINK_IMAGE = ROOT / "infra" / "docker" / "flink.Dockerfile"
POM = {"m": "http://maven.apache.org/POM/4.0.0"}


# Reading Java declarations ---------------------------------------------------------


def _java(name: str) -> str:
    """The source of `name` (e.g. `source/FailureReason`), comments removed."""
    text = (JAVA / f"{name}.java").read_text()
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.DOTALL)


def _declared(source: str, constant: str) -> str:
    """The expression a `static final` constant is initialised with, as written."""
    match = re.search(rf"static final [\w<>]+ {constant}\s*=\s*(.+?);", source, flags=re.DOTALL)
    assert match, f"no constant {constant} declared"
    return match.group(1).strip()


def _string(source: str, constant: str) -> str:
    expression = _declared(source, constant)
    assert re.fullmatch(r'"[^"\\]*"', expression), f"{constant} is not a plain string literal"
    return expression[1:-1]


def _int(source: str, constant: str) -> int:
    return int(_declared(source, constant).replace("_", ""), 0)


_UNITS = {"Millis": "milliseconds", "Seconds": "seconds", "Minutes": "minutes"}
_UNITS |= {"Hours": "hours", "Days": "days"}


def _duration(source: str, constant: str) -> timedelta:
    expression = _declared(source, constant)
    match = re.fullmatch(r"Duration\.of(\w+)\((\d+)L?\)", expression)
    assert match and match.group(1) in _UNITS, f"{constant} = {expression}: not a Duration.ofX(n)"
    return timedelta(**{_UNITS[match.group(1)]: int(match.group(2))})


def _enum_constants(source: str, enum: str) -> list[str]:
    match = re.search(rf"enum {enum}\s*\{{(.*?);", source, flags=re.DOTALL)
    assert match, f"no enum {enum}"
    return re.findall(r"\b[A-Z][A-Z0-9_]*\b", match.group(1))


def _python_sources() -> list[Path]:
    folders = ("telemetry", "producer", "flink", "bench", "tests")
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


# The decoder's rows -----------------------------------------------------------------


def test_the_decoder_appends_the_metadata_columns_python_declares() -> None:
    expression = _declared(_java("source/ConfluentAvroRecordDeserializer"), "METADATA_COLUMNS")
    match = re.fullmatch(r"List\.of\((.*)\)", expression, flags=re.DOTALL)
    assert match, f"METADATA_COLUMNS = {expression}: not a List.of(...)"
    assert tuple(re.findall(r'"([^"]+)"', match.group(1))) == METADATA_COLUMNS


def test_the_watermarks_read_metadata_columns_by_their_names() -> None:
    source = _java("watermark/IdleAdvancingWatermarks")
    for constant in ("ERROR_FIELD", "KAFKA_TIMESTAMP_FIELD", "KAFKA_PARTITION_FIELD"):
        assert _string(source, constant) in METADATA_COLUMNS, constant
    assert _string(source, "KAFKA_OFFSET_FIELD") in METADATA_COLUMNS


# What flink/telemetry_job.py reads of the decoder's rows: the dead letters' bytes,
# reason and position, the late events' position, the filter on `error`.
JOB_READS = ("error", "payload", "kafka_key", "kafka_partition", "kafka_offset", "schema_id")


@pytest.mark.parametrize("column", JOB_READS)
def test_the_job_reads_only_columns_the_decoder_writes(column: str) -> None:
    assert column in METADATA_COLUMNS
    assert re.search(rf"\b{column}\b", JOB.read_text()), f"the job no longer reads {column}"


def test_dead_letter_reasons_are_the_decoders_failure_codes_in_order() -> None:
    source = _java("source/FailureReason")
    assert "name().toLowerCase(Locale.ROOT).replace('_', '-')" in source, "code() changed"
    codes = [name.lower().replace("_", "-") for name in _enum_constants(source, "FailureReason")]
    assert tuple(codes) == REASONS


def test_a_reasons_counter_is_named_as_the_decoder_names_it() -> None:
    source = _java("source/FailureReason")
    match = re.search(r'metricName\(\)\s*\{\s*return "(\w+)" \+ name\(\)\.toLowerCase', source)
    assert match, "metricName() changed"
    for name in _enum_constants(source, "FailureReason"):
        assert failed_metric(name.lower().replace("_", "-")) == match.group(1) + name.lower()


def test_the_decoders_counters_are_the_names_python_asks_flink_for() -> None:
    source = _java("source/ConfluentAvroRecordDeserializer")
    assert re.search(rf'decoded = counter\(metrics, "{DECODED_METRIC}"\)', source)
    assert re.search(rf'failed = counter\(metrics, "{FAILED_METRIC}"\)', source)


def test_python_asks_only_for_counters_the_decoder_registers() -> None:
    known = {DECODED_METRIC, FAILED_METRIC, *(failed_metric(r) for r in REASONS)}
    for path in _python_sources():
        for name in re.findall(r"[\"'](telemetry(?:Records\w+|Failed_\w+))[\"']", path.read_text()):
            assert name in known, f"{path.relative_to(ROOT)} asks for {name}"


# Dead letters, framing, the registry ------------------------------------------------


def test_a_replayed_letter_carries_the_header_the_decoder_looks_for() -> None:
    source = _java("source/ConfluentAvroRecordDeserializer")
    assert _string(source, "REPLAYED_FROM_HEADER") == REPLAYED_FROM


def test_the_producer_frames_records_as_the_decoder_parses_them() -> None:
    from producer.badrecords import HEADER_SIZE
    from producer.serializers import MAGIC_BYTE

    source = _java("source/ConfluentAvroRecordDeserializer")
    assert _int(source, "MAGIC_BYTE") == MAGIC_BYTE
    assert _int(source, "HEADER_LENGTH") == HEADER_SIZE


def test_both_registry_clients_know_the_same_not_found_codes() -> None:
    from telemetry.core import registry

    source = _java("registry/SchemaRegistryClient")
    assert _int(source, "SCHEMA_NOT_FOUND") == registry.SCHEMA_NOT_FOUND
    assert _int(source, "SUBJECT_NOT_FOUND") == registry.SUBJECT_NOT_FOUND


# Kafka transactions -----------------------------------------------------------------


def test_the_aggregate_topics_and_the_dead_letters_share_one_transaction_timeout() -> None:
    java = _string(_java("sink/AggregateTopics"), "TRANSACTION_TIMEOUT_MS")
    assert java == str(TRANSACTION_TIMEOUT_MS)
    option = re.search(r"'properties\.transaction\.timeout\.ms' = '([^']+)'", JOB.read_text())
    assert option, "the dead-letter sink sets no transaction timeout"
    assert option.group(1) in (str(TRANSACTION_TIMEOUT_MS), "{TRANSACTION_TIMEOUT_MS}")


# Environment variables the JVM reads ------------------------------------------------

SETTING_NAMES = {var.name for var in ENV_VARS}


def test_each_variable_a_jvm_gets_carries_the_setting_of_its_name() -> None:
    settings = load_settings(
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_USERNAME": "telemetry",
            "KAFKA_SASL_PASSWORD": "kafka-pw",
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "telemetry:registry-pw",
            "AWS_ACCESS_KEY_ID": "key-id",
            "AWS_SECRET_ACCESS_KEY": "secret-key",
            "AWS_SESSION_TOKEN": "token",
        }
    )
    env = client_secrets_env(settings)
    assert {PASSWORD_VARIABLE, REGISTRY_CREDENTIALS_VARIABLE} <= env.keys()
    for name, value in env.items():
        assert name in SETTING_NAMES, f"{name} is not a setting"
        setting = settings.value(name)
        assert value == (setting.reveal() if isinstance(setting, Secret) else str(setting))
    jaas = java_properties(settings)["sasl.jaas.config"]
    assert f'password="${{env:{PASSWORD_VARIABLE}}}"' in jaas


def test_the_job_names_the_registry_credentials_variable_flink_processes_get() -> None:
    job = JOB.read_text()
    named = set(re.findall(r"\"(SCHEMA_REGISTRY_\w+)\"", job))
    assert named <= {REGISTRY_CREDENTIALS_VARIABLE}
    assert named or "REGISTRY_CREDENTIALS_VARIABLE" in job


def test_variables_the_java_code_names_are_settings() -> None:
    """E.g. an error that says to check SCHEMA_REGISTRY_URL names a real setting."""
    for path in sorted(JAVA.rglob("*.java")):
        for literal in re.findall(r'"((?:[^"\\\n]|\\.)*)"', path.read_text()):
            for name in re.findall(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b", literal):
                assert name in SETTING_NAMES, f"{path.name} names {name}, not a setting"


# The lake ----------------------------------------------------------------------------


def test_the_maintenance_runs_on_the_schedule_python_documents() -> None:
    source = _java("lake/LakeMaintenance")
    assert _int(source, "COMMITS") == SCHEDULE.commits
    assert _duration(source, "RATE_LIMIT") == SCHEDULE.rate_limit
    assert _duration(source, "SNAPSHOT_AGE") == SCHEDULE.snapshot_age
    assert _int(source, "RETAIN_LAST") == SCHEDULE.retain_last
    assert _duration(source, "ORPHAN_INTERVAL") == SCHEDULE.orphan_interval
    assert _duration(source, "ORPHAN_AGE") == SCHEDULE.orphan_age


# The jar and its versions ------------------------------------------------------------


def _properties(pom: Path) -> dict[str, str]:
    root = ET.parse(pom).getroot()
    properties = root.find("m:properties", POM)
    assert properties is not None, f"{pom} has no <properties>"
    return {e.tag.split("}")[1]: (e.text or "").strip() for e in properties}


def test_the_job_looks_for_the_jar_maven_builds() -> None:
    root = ET.parse(JVM_POM).getroot()
    artifact = root.findtext("m:artifactId", namespaces=POM)
    version = root.findtext("m:version", namespaces=POM)
    assert f"{artifact}-{version}.jar" == JAR_NAME


# Settings of the build, not versions of anything the stack runs.
BUILD_ONLY = {
    "maven.compiler.release",  # compared with versions.JAVA_MIN below
    "project.build.sourceEncoding",
    "junit.version",  # the jar's own tests
    "jar.dir",  # the build's output folder (`telemetry setup`: one in the download cache)
}

# Versions the jar is built against that differ from, or have no counterpart in,
# infra/maven/pom.xml, each with why (flink/jvm/README.md, "Versions", says the same).
INTENDED_DIFFERENCES = {
    # The kafka-clients in Flink's lib/ is the one flink-connector-kafka 5.0.0-2.2
    # depends on (4.2.0), which infra/maven/flink resolves and the Flink image fetches
    # (ARG KAFKA_CLIENTS); the job runs on those classes. The brokers run 4.1.1
    # (kafka.version): clients negotiate API versions with older brokers.
    "kafka.clients.version": "kafka.version",
    # Bundled into the jar and relocated (dev.telemetry.shaded.org.apache.avro): it
    # need not match the Avro inside Flink's flink-sql-avro-confluent-registry.
    "avro.version": None,
}


def test_the_jar_is_built_against_the_versions_the_stack_runs() -> None:
    jvm, stack = _properties(JVM_POM), _properties(STACK_POM)
    for name, version in jvm.items():
        if name in BUILD_ONLY or name in INTENDED_DIFFERENCES:
            continue
        assert name in stack, f"flink/jvm's {name} has no counterpart in infra/maven/pom.xml"
        assert version == stack[name], f"{name}: flink/jvm {version}, infra/maven {stack[name]}"
    assert jvm["flink.version"] == versions.FLINK
    assert jvm["flink.kafka.connector.version"] == versions.FLINK_KAFKA_CONNECTOR
    assert jvm["hadoop.version"] == versions.HADOOP
    assert int(jvm["maven.compiler.release"]) == versions.JAVA_MIN


def test_every_intended_difference_is_still_a_difference_and_still_declared() -> None:
    jvm, stack = _properties(JVM_POM), _properties(STACK_POM)
    for name, counterpart in INTENDED_DIFFERENCES.items():
        assert name in jvm, f"{name} is gone from flink/jvm/pom.xml: drop it from the list"
        if counterpart is not None:
            assert jvm[name] != stack[counterpart], f"{name} agrees again: drop it from the list"
    readme = (ROOT / "flink" / "jvm" / "README.md").read_text()
    for name in INTENDED_DIFFERENCES:
        assert f"`{name}`" in readme, f"flink/jvm/README.md does not explain {name}"


def test_the_jars_kafka_clients_are_the_ones_the_flink_image_puts_in_lib() -> None:
    image = dict(re.findall(r"^ARG (\w+)=(\S+)$", FLINK_IMAGE.read_text(), flags=re.MULTILINE))
    assert _properties(JVM_POM)["kafka.clients.version"] == image["KAFKA_CLIENTS"]
