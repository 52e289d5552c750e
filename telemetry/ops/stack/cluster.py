"""The cluster profile (`make up PROFILE=cluster`): the servers in production shape, locally.

    MinIO              TLS; clients get a user whose policy allows the two buckets only
    Kafka x3           each broker and KRaft voter; SASL_SSL (SCRAM-SHA-512) for clients,
                       mutual TLS between brokers and in the quorum, no plaintext listener;
                       topics with three replicas, two in sync
    Apicurio Registry  on an internal port, behind nginx (TLS + basic auth)
    PostgreSQL         the Iceberg catalog's database: TLS only, clients by certificate
                       (telemetry.ops.stack.postgres)
    Flink              a JobManager (REST over mutual TLS: clients by certificate) and two
                       TaskManagers of two slots; RPC, blobs and data over mutual TLS

The same code as the local profile talks to it; only the settings differ
(telemetry.core.config's cluster defaults, the credentials of telemetry.ops.stack.secrets,
the CA of telemetry.ops.stack.tls).

Why nginx: Apicurio 3 authenticates through an OpenID Connect server
(Keycloak), which no registry reachable here provides; nginx, from Debian's
packages, enforces basic auth and TLS in front of it, as a reverse proxy
would in a real deployment. Apicurio's own port is on loopback, like a pod
network; clients are given only the proxy's URL.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from string import Template

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.core.kafka_config import client_logger
from telemetry.core.progress import Say
from telemetry.ops.host.layout import Layout, infra_dir
from telemetry.ops.stack.minio_users import MinioUser, give_clients_a_user
from telemetry.ops.stack.postgres import postgres_service
from telemetry.ops.stack.secrets import private_dir, stack_secret
from telemetry.ops.stack.services import (
    Launch,
    Service,
    base_env,
    ensure_lake_buckets,
    flink_markers,
    http_ok,
    jobmanager_healthy,
    jobmanager_launch,
    kafka_cluster_id,
    kafka_java,
    minio_launch,
    minio_service,
    registry_healthy,
    registry_launch,
    taskmanager_launch,
    taskmanager_registered,
)
from telemetry.ops.stack.tls import (
    ClientCert,
    TlsFiles,
    ensure_internal,
    ensure_tls,
    fingerprint,
    rest_client_cert,
)

__all__ = [
    "BLOB_PORT",
    "FLINK_REST_CLIENT",
    "JM_RPC_PORT",
    "KAFKA_NODES",
    "SERVICES",
    "TASKMANAGERS",
    "flink_config_values",
    "internal_admin_config",
    "kafka_ports",
    "tls_files",
]

KAFKA_NODES = 3
REGISTRY_INTERNAL_PORT = 18085
JM_RPC_PORT = 16123
BLOB_PORT = 16128
TASKMANAGERS = ((16124, 16125), (16126, 16127))  # (data, rpc) ports of each
SLOTS_PER_TASKMANAGER = 2
# CN of the Flink REST API's client certificate (the settings' default files name it).
FLINK_REST_CLIENT = "flink"


def tls_files(settings: Settings) -> TlsFiles:
    """The profile's CA and certificates (made at first start): the servers', Flink's
    internal one, and the Flink REST API's client certificate (FLINK_REST_CERT_LOCATION)."""
    password = stack_secret(settings, "FLINK_REST_KEYSTORE_PASSWORD")
    client_password = stack_secret(settings, "FLINK_REST_KEY_PASSWORD")
    if not password or not client_password:
        raise ServiceError(
            f"no credentials in {settings.stack.data_dir}; start the profile with `make up`"
        )
    files = ensure_tls(settings.stack.data_dir, password)
    ensure_internal(files, password)
    rest_client_cert(files, FLINK_REST_CLIENT, client_password)
    return files


# MinIO ---------------------------------------------------------------------------------


def _minio_certs(settings: Settings, layout: Layout) -> Path:
    tls = tls_files(settings)
    certs = private_dir(layout.service_dir("minio-certs"))
    (certs / "CAs").mkdir(exist_ok=True)
    for source, name in (
        (tls.cert, "public.crt"),
        (tls.key, "private.key"),
        (tls.ca, "CAs/ca.crt"),
    ):
        target = certs / name
        target.write_bytes(source.read_bytes())
        target.chmod(0o600)
    return certs


def _minio_launch(settings: Settings, layout: Layout) -> Launch:
    return minio_launch(settings, layout, "--certs-dir", str(_minio_certs(settings, layout)))


def _minio_user_and_buckets(settings: Settings, layout: Layout, say: Say) -> None:
    """The clients' own MinIO user (policy: the two buckets), then the buckets."""
    user = MinioUser(
        endpoint=f"127.0.0.1:{settings.s3.port}",
        ca_file=tls_files(settings).ca,
        root_user=stack_secret(settings, "MINIO_ROOT_USER"),
        root_password=stack_secret(settings, "MINIO_ROOT_PASSWORD"),
        access_key=settings.s3.access_key_id.reveal(),
        secret_key=settings.s3.secret_access_key.reveal(),
        buckets=(settings.lake.bucket, settings.job.checkpoint_bucket),
    )
    give_clients_a_user(layout.mc_bin, user, base_env())
    ensure_lake_buckets(settings, layout, say)


# Kafka ---------------------------------------------------------------------------------


def kafka_ports(settings: Settings, node: int) -> dict[str, int]:
    """Client (SASL_SSL), controller and internal (mutual TLS) ports of node 1..3."""
    servers = settings.kafka.bootstrap_servers.split(",")
    client = int(servers[node - 1].rpartition(":")[2])
    return {"SASL_SSL": client, "controller": client + 1, "internal": client + 2}


def _voters(settings: Settings) -> str:
    return ",".join(
        f"{n}@127.0.0.1:{kafka_ports(settings, n)['controller']}" for n in range(1, KAFKA_NODES + 1)
    )


def _kafka_dir(layout: Layout, node: int) -> Path:
    return layout.service_dir(f"kafka-{node}")


def _kafka_prepare(node: int) -> Callable[[Settings, Layout], None]:
    def prepare(settings: Settings, layout: Layout) -> None:
        tls = tls_files(settings)
        ports = kafka_ports(settings, node)
        folder = private_dir(_kafka_dir(layout, node))
        log_dir = folder / "log"
        template = Template((infra_dir() / "kafka" / "cluster.properties").read_text("utf-8"))
        properties = folder / "server.properties"
        properties.write_text(
            template.substitute(
                NODE_ID=node,
                VOTERS=_voters(settings),
                CLIENT_PORT=ports["SASL_SSL"],
                INTERNAL_PORT=ports["internal"],
                CONTROLLER_PORT=ports["controller"],
                KAFKA_LOG_DIR=str(log_dir),
                KEYSTORE=str(tls.keystore_pem),
                TRUSTSTORE=str(tls.ca),
                TELEMETRY_PARTITIONS=settings.topics.partitions,
            ),
            encoding="utf-8",
        )
        if (log_dir / "meta.properties").exists():
            return
        id_file = layout.service_dir("kafka-cluster") / "cluster.id"
        if not id_file.exists():
            private_dir(id_file.parent)
            id_file.write_text(kafka_cluster_id(), encoding="utf-8")
        command = kafka_java(
            settings,
            layout,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            id_file.read_text(encoding="utf-8").strip(),
            "-c",
            str(properties),
            node=f"kafka-{node}-format",
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ServiceError(f"formatting Kafka node {node} in {log_dir} failed: {last[0]}")

    return prepare


def _kafka_launch(node: int) -> Callable[[Settings, Layout], Launch]:
    def launch(settings: Settings, layout: Layout) -> Launch:
        properties = _kafka_dir(layout, node) / "server.properties"
        command = kafka_java(
            settings, layout, "kafka.Kafka", str(properties), node=f"kafka-{node}", heap="384m"
        )
        return Launch(command, base_env(), _kafka_dir(layout, node))

    return launch


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _kafka_started(node: int) -> Callable[[Settings], bool]:
    """The node listens for its quorum (the brokers wait for a quorum of three)."""
    return lambda settings: _port_open(kafka_ports(settings, node)["controller"])


def internal_admin_config(settings: Settings) -> dict[str, object]:
    """librdkafka settings for the stack's own administration: mutual TLS, INTERNAL."""
    tls = tls_files(settings)
    return {
        "bootstrap.servers": ",".join(
            f"127.0.0.1:{kafka_ports(settings, n)['internal']}" for n in range(1, KAFKA_NODES + 1)
        ),
        "security.protocol": "SSL",
        "ssl.ca.location": str(tls.ca),
        "ssl.certificate.location": str(tls.cert),
        "ssl.key.location": str(tls.key),
    }


def _kafka_ready_and_users(settings: Settings, layout: Layout, say: Say) -> None:
    """Wait for all three brokers; create the clients' SCRAM user (idempotent)."""

    quiet = client_logger("telemetry.ops.stack.cluster.kafka")
    # AdminClient's stub takes a dict of scalars only (callbacks are valid too); ours are.
    admin = AdminClient(internal_admin_config(settings), logger=quiet)  # type: ignore[arg-type]
    deadline = time.monotonic() + 120
    while True:
        try:
            if len(admin.list_topics(timeout=5).brokers) >= KAFKA_NODES:
                break
        except KafkaException:
            pass
        if time.monotonic() > deadline:
            raise ServiceError("the three Kafka brokers did not form a cluster within 120 s")
        time.sleep(1)
    mechanism = {"SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256}.get(
        settings.kafka.sasl_mechanism, ScramMechanism.SCRAM_SHA_512
    )
    upsert = UserScramCredentialUpsertion(
        settings.kafka.sasl_username,
        ScramCredentialInfo(mechanism, 8192),
        settings.kafka.sasl_password.reveal().encode(),
    )
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(30)


# Registry: Apicurio behind nginx ---------------------------------------------------------


def _htpasswd_line(user_info: str) -> str:
    """`user:{SSHA}...` (salted SHA-1, a scheme nginx reads) for `user:password`."""
    user, _, password = user_info.partition(":")
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


def _proxy_prepare(settings: Settings, layout: Layout) -> None:
    tls = tls_files(settings)
    folder = private_dir(layout.service_dir("registry-proxy"))
    temp = private_dir(folder / "temp")
    htpasswd = folder / "htpasswd"
    fd = os.open(htpasswd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(_htpasswd_line(settings.registry.basic_auth_user_info.reveal()))
    template = Template((infra_dir() / "registry" / "nginx.conf").read_text("utf-8"))
    (folder / "nginx.conf").write_text(
        template.substitute(
            USER=getpass.getuser(),
            RUN_DIR=str(layout.run),
            LOG_FILE=str(layout.log_file("registry-proxy")),
            TEMP_DIR=str(temp),
            PORT=settings.registry.port,
            CERT=str(tls.cert),
            KEY=str(tls.key),
            HTPASSWD=str(htpasswd),
            UPSTREAM_PORT=REGISTRY_INTERNAL_PORT,
        ),
        encoding="utf-8",
    )


def _proxy_launch(settings: Settings, layout: Layout) -> Launch:
    folder = layout.service_dir("registry-proxy")
    command = [
        str(layout.nginx_bin),
        "-p",
        str(folder),
        "-e",
        str(layout.log_file("registry-proxy")),
        "-c",
        str(folder / "nginx.conf"),
        "-g",
        "daemon off;",
    ]
    return Launch(command, base_env(), folder)


def _registry_internal_healthy(settings: Settings) -> bool:
    url = f"http://127.0.0.1:{REGISTRY_INTERNAL_PORT}/apis/ccompat/v7/subjects"
    return http_ok(url) is not None


# Flink ---------------------------------------------------------------------------------


def rest_pinned_certificates(tls: TlsFiles) -> str:
    """The certificates Flink's REST API accepts, as `security.ssl.rest.cert.fingerprint`.

    With mutual TLS Flink's REST server and its REST clients use the same trust:
    the server accepts the Flink client certificate (FLINK_REST_CERT_LOCATION:
    people, this project's Python clients), and the stack's server certificate,
    which Flink's own REST client (the job submitter, reading this configuration)
    presents and expects back. Pinned, not any certificate of the CA: the
    catalog's PostgreSQL client certificates are refused.
    """
    client = ClientCert(tls.folder, FLINK_REST_CLIENT)
    return f"{fingerprint(tls.cert)},{fingerprint(client.cert)}"


def flink_config_values(settings: Settings, layout: Layout) -> dict[str, str]:
    tls = tls_files(settings)
    password = stack_secret(settings, "FLINK_REST_KEYSTORE_PASSWORD")
    data_port, rpc_port = TASKMANAGERS[0]
    extra = f"""
# Cluster profile: REST over mutual TLS (the stack's CA; clients present a pinned
# certificate), internal connections (RPC, blobs, data) over mutual TLS with a
# certificate of their own, slots spread over both TaskManagers. Flink masks the
# passwords below in its REST API and logs; the file is readable by this user only.
security.ssl.rest.enabled: true
security.ssl.rest.authentication-enabled: true
security.ssl.rest.keystore: {tls.keystore_p12}
security.ssl.rest.keystore-type: PKCS12
security.ssl.rest.keystore-password: {password}
security.ssl.rest.key-password: {password}
security.ssl.rest.truststore: {tls.truststore_p12}
security.ssl.rest.truststore-type: PKCS12
security.ssl.rest.truststore-password: unused-no-mac
security.ssl.rest.cert.fingerprint: {rest_pinned_certificates(tls)}
security.ssl.internal.enabled: true
security.ssl.internal.keystore: {tls.internal_keystore}
security.ssl.internal.keystore-type: PKCS12
security.ssl.internal.keystore-password: {password}
security.ssl.internal.key-password: {password}
security.ssl.internal.truststore: {tls.internal_truststore}
security.ssl.internal.truststore-type: PKCS12
security.ssl.internal.truststore-password: unused-no-mac
blob.server.port: {BLOB_PORT}
# Forward-secret suites only (RFC 9325; Flink 2.2's default is TLS_RSA_WITH_AES_128_CBC_SHA,
# which Python's ssl and newer JDKs refuse), for REST and internal connections.
security.ssl.algorithms: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
cluster.evenly-spread-out-slots: true
"""
    return {
        "JM_RPC_PORT": str(JM_RPC_PORT),
        "TM_DATA_PORT": str(data_port),
        "TM_RPC_PORT": str(rpc_port),
        "TM_SLOTS": str(SLOTS_PER_TASKMANAGER),
        "TM_MEMORY": "1536m",
        "TM_METASPACE": "256m",
        "DEFAULT_PARALLELISM": str(settings.job.parallelism or 4),
        # S3A (MinIO over TLS) trusts the JVM's trust store: the stack's CA only.
        "EXTRA_JAVA_OPTS": (
            f" -Djavax.net.ssl.trustStore={tls.truststore_p12}"
            " -Djavax.net.ssl.trustStoreType=PKCS12"
        ),
        "PROFILE_EXTRA": extra,
    }


def _taskmanager(index: int) -> Service:
    name = f"taskmanager-{index}"
    data_port, rpc_port = TASKMANAGERS[index - 1]
    return Service(
        name=name,
        title=f"Flink TaskManager {index}",
        ports=lambda _s: {"data": data_port, "RPC": rpc_port},
        launch=taskmanager_launch(
            name,
            {
                "taskmanager.data.port": str(data_port),
                "taskmanager.rpc.port": str(rpc_port),
                "taskmanager.resource-id": name,
            },
        ),
        healthy=taskmanager_registered(name),
        markers=flink_markers("TaskManagerRunner", f"taskmanager.resource-id={name}"),
        endpoint=lambda s: f"{s.flink.rest_url}/#/task-manager",
    )


def _kafka_node(node: int) -> Service:
    return Service(
        name=f"kafka-{node}",
        title=f"Kafka {node} (broker + KRaft voter)",
        ports=lambda s: kafka_ports(s, node),
        launch=_kafka_launch(node),
        healthy=_kafka_started(node),
        markers=lambda layout: ("kafka.Kafka", f"-Dtelemetry.node=kafka-{node}", str(layout.data)),
        endpoint=lambda s: f"127.0.0.1:{kafka_ports(s, node)['SASL_SSL']} (SASL_SSL)",
        prepare=_kafka_prepare(node),
        after_start=_kafka_ready_and_users if node == KAFKA_NODES else None,
    )


SERVICES: tuple[Service, ...] = (
    minio_service("MinIO (S3, TLS)", _minio_launch, _minio_user_and_buckets),
    *(_kafka_node(n) for n in range(1, KAFKA_NODES + 1)),
    Service(
        name="registry",
        title="Schema Registry (Apicurio, internal port)",
        ports=lambda _s: {"HTTP": REGISTRY_INTERNAL_PORT, "management": REGISTRY_INTERNAL_PORT + 1},
        launch=registry_launch(REGISTRY_INTERNAL_PORT),
        healthy=_registry_internal_healthy,
        markers=lambda layout: ("quarkus-run.jar", f"-Dtelemetry.ops.stack={layout.data}"),
        endpoint=lambda _s: f"http://127.0.0.1:{REGISTRY_INTERNAL_PORT} (internal)",
    ),
    Service(
        name="registry-proxy",
        title="Registry proxy (nginx: TLS + basic auth)",
        ports=lambda s: {"HTTPS": s.registry.port},
        launch=_proxy_launch,
        healthy=registry_healthy,
        markers=lambda layout: ("nginx", str(layout.service_dir("registry-proxy"))),
        endpoint=lambda s: s.registry.url,
        prepare=_proxy_prepare,
    ),
    postgres_service(tls_files),  # before Flink: its jobs' catalog
    Service(
        name="jobmanager",
        title="Flink JobManager (REST over mutual TLS)",
        ports=lambda s: {"REST/UI": s.flink.port, "RPC": JM_RPC_PORT, "blob": BLOB_PORT},
        launch=jobmanager_launch,
        healthy=jobmanager_healthy,
        markers=flink_markers("StandaloneSessionClusterEntrypoint"),
        endpoint=lambda s: s.flink.rest_url,
    ),
    _taskmanager(1),
    _taskmanager(2),
)
