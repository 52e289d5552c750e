"""The cluster profile's PostgreSQL: where it lives, as whom, and what it accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from telemetry.core.config import load_settings
from telemetry.core.lake.catalog import catalog_jdbc_url
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import postgres
from telemetry.ops.stack.secrets import ensure_secrets
from telemetry.ops.stack.tls import ClientCert


def _layout(tmp_path: Path, data: str = "data") -> Layout:
    return Layout(cache=tmp_path / "cache", data=tmp_path / data, minio_cache=tmp_path / "minio-x")


def test_a_non_root_stack_keeps_the_server_in_its_data_folder_and_runs_the_cached_binaries(
    tmp_path: Path,
) -> None:
    layout = _layout(tmp_path)
    home = postgres.home_of(layout, uid=1000)
    assert home.root == layout.data / "postgres"
    assert home.server == layout.postgres_dir
    assert home.bin("postgres") == layout.postgres_dir / "usr/lib/postgresql/15/bin/postgres"


def test_a_root_stack_keeps_the_server_where_its_unprivileged_owner_can_reach_it(
    tmp_path: Path,
) -> None:
    home = postgres.home_of(_layout(tmp_path), uid=0)
    assert home.root.parent == postgres.SYSTEM_ROOT  # not under /root or the data folder
    assert home.server == home.root / "server"
    assert postgres.home_of(_layout(tmp_path), uid=0) == home, "stable per data folder"
    assert postgres.home_of(_layout(tmp_path, "other"), uid=0).root != home.root


def test_root_drops_to_the_owner_by_exec_so_the_pid_stays_the_servers() -> None:
    command = ["/x/postgres", "-D", "/d"]
    assert postgres.as_owner(None, command) == command
    wrapped = postgres.as_owner(postgres.Owner(uid=999, gid=995), command)
    assert wrapped[0] == "setpriv"
    assert {"--reuid=999", "--regid=995", "--clear-groups"} <= set(wrapped)
    assert wrapped[-3:] == command


def test_pg_hba_accepts_only_tls_from_loopback_by_client_certificate() -> None:
    lines = [
        line.split()
        for line in postgres.pg_hba().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines, "some rule"
    for kind, _database, _user, address, method in lines:
        assert (kind, address, method) == ("hostssl", "127.0.0.1/32", "cert")
    assert ["hostssl", postgres.DATABASE, postgres.ROLE, "127.0.0.1/32", "cert"] in lines


def test_the_server_listens_on_loopback_with_tls_and_no_unix_socket(tmp_path: Path) -> None:
    home = postgres.home_of(_layout(tmp_path), uid=1000)
    conf = dict(
        (key.strip(), value.strip().strip("'"))
        for key, _, value in (
            line.partition("=") for line in postgres.postgresql_conf(home).splitlines()
        )
        if not key.startswith("#") and value
    )
    assert conf["listen_addresses"] == "127.0.0.1"
    assert conf["port"] == str(postgres.PORT)
    assert conf["unix_socket_directories"] == ""
    assert conf["ssl"] == "on"
    assert conf["ssl_ca_file"] == str(home.tls / "ca.pem")  # client certificates' CA


def test_the_cluster_catalog_defaults_name_this_server_and_the_client_certificate(
    tmp_path: Path,
) -> None:
    environ = {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)}
    ensure_secrets(load_settings(environ), postgres.catalog_urls(tmp_path))  # its first `up`
    settings = load_settings(environ)
    client = ClientCert(tmp_path / "tls", postgres.ROLE)
    uri = settings.lake.catalog_uri.reveal()
    jdbc = catalog_jdbc_url(settings)
    assert uri == (
        f"postgresql+psycopg2://{postgres.ROLE}@127.0.0.1:{postgres.PORT}/{postgres.DATABASE}"
        f"?sslmode=verify-full&sslrootcert={tmp_path}/tls/ca.pem&sslcert={client.cert}"
        f"&sslkey={client.key}"
    )
    assert jdbc == (
        f"jdbc:postgresql://127.0.0.1:{postgres.PORT}/{postgres.DATABASE}?user={postgres.ROLE}"
        f"&sslmode=verify-full&sslrootcert={tmp_path}/tls/ca.pem&sslcert={client.cert}"
        f"&sslkey={client.key_der}"
    )
    assert "password" not in uri + jdbc


def test_a_catalog_set_for_the_cluster_profile_is_the_jdbc_default_too(tmp_path: Path) -> None:
    uri = "postgresql://someone@db.example:5432/lake?sslmode=verify-full"
    environ = {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)}
    ensure_secrets(load_settings(environ), postgres.catalog_urls(tmp_path))  # its own kept
    settings = load_settings({**environ, "PYICEBERG_CATALOG__TELEMETRY__URI": uri})
    assert catalog_jdbc_url(settings) == (
        "jdbc:postgresql://db.example:5432/lake?user=someone&sslmode=verify-full"
    )


@pytest.mark.skipif(shutil.which("keytool") is None, reason="needs a JDK's keytool")
def test_a_client_certificate_names_the_role_and_its_der_key_is_the_pem_one(
    tmp_path: Path,
) -> None:
    from telemetry.ops.stack.tls import client_cert, ensure_tls

    client = client_cert(ensure_tls(tmp_path, "store-password"), "telemetry")
    subject = subprocess.run(
        ["openssl", "x509", "-in", str(client.cert), "-noout", "-subject", "-ext",
         "extendedKeyUsage"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "CN=telemetry" in subject.replace(" ", "")
    assert "TLS Web Client Authentication" in subject
    der_of_pem = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", str(client.key), "-outform", "DER"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert client.key_der.read_bytes() == der_of_pem
    for path in (client.cert, client.key, client.key_der):
        assert path.stat().st_mode & 0o077 == 0, path
    assert client_cert(ensure_tls(tmp_path, "store-password"), "telemetry") == client


def test_the_catalog_urls_are_kept_apart_from_the_credentials(tmp_path: Path) -> None:
    """They hold no password and Flink logs its catalog's options: secrets.env, which the
    cluster tests hold to stay out of every log, must not have them."""
    from telemetry.core.config import stack_defaults, stored_secrets

    environ = {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)}
    ensure_secrets(load_settings(environ), postgres.catalog_urls(tmp_path))
    kept = postgres.catalog_urls(tmp_path)
    assert not kept.keys() & stored_secrets(tmp_path).keys()
    assert stack_defaults(tmp_path) == kept
    assert all("password" not in url for url in kept.values())
