"""The cluster profile's Flink control plane: mutual TLS for REST and internal connections."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from telemetry.core.config import Settings, load_settings
from telemetry.core.errors import ConfigError
from telemetry.core.flink_tls import rest_tls_context

needs_keytool = pytest.mark.skipif(shutil.which("keytool") is None, reason="needs a JDK's keytool")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A cluster profile's settings after its first start made the credentials and TLS files."""
    from telemetry.ops.stack.cluster import tls_files
    from telemetry.ops.stack.secrets import ensure_secrets

    data = tmp_path_factory.mktemp("data-cluster")
    settings = ensure_secrets(
        load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(data)})
    )
    tls_files(settings)
    return ensure_secrets(settings)


def _openssl(*args: str, stdin: str = "") -> str:
    result = subprocess.run(
        ["openssl", *args], input=stdin, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_the_local_profile_talks_plain_http_without_a_client_certificate() -> None:
    settings = load_settings({})
    assert settings.flink.rest_url.startswith("http://")
    assert (settings.flink.rest_cert_location, settings.flink.rest_key_location) == ("", "")
    assert rest_tls_context(settings) is None


@needs_keytool
def test_the_cluster_defaults_name_the_flink_client_certificate_and_its_password(
    cluster: Settings,
) -> None:
    tls = cluster.stack.data_dir / "tls"
    assert cluster.flink.rest_cert_location == str(tls / "client-flink.pem")
    assert cluster.flink.rest_key_location == str(tls / "client-flink.key")
    assert len(cluster.flink.rest_key_password.reveal()) >= 24
    reloaded = load_settings(
        {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tls.parent)}
    )
    assert reloaded.flink.rest_cert_location == cluster.flink.rest_cert_location
    assert reloaded.flink.rest_key_password.reveal() == cluster.flink.rest_key_password.reveal()


@needs_keytool
def test_the_client_key_is_encrypted_and_the_browser_bundle_opens_with_the_same_password(
    cluster: Settings,
) -> None:
    key = Path(cluster.flink.rest_key_location)
    assert key.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    bundle = key.with_suffix(".p12")
    password = cluster.flink.rest_key_password.reveal()
    certs = _openssl("pkcs12", "-in", str(bundle), "-nokeys", "-passin", "stdin", stdin=password)
    assert "subject=CN = flink" in certs and "telemetry-pipeline local CA" in certs
    with pytest.raises(subprocess.CalledProcessError):
        _openssl("pkcs12", "-in", str(bundle), "-nokeys", "-passin", "stdin", stdin="wrong")
    for path in (key, bundle):
        assert path.stat().st_mode & 0o077 == 0, path


@needs_keytool
def test_the_python_client_presents_the_certificate_and_a_wrong_password_fails_naming_it(
    cluster: Settings,
) -> None:

    from telemetry.core.secret import Secret

    assert rest_tls_context(cluster) is not None
    wrong = cluster.with_values({"FLINK_REST_KEY_PASSWORD": Secret("not-it")})
    with pytest.raises(ConfigError, match="FLINK_REST_KEY_PASSWORD") as error:
        rest_tls_context(wrong)
    assert "not-it" not in str(error.value)
    assert "\n" not in str(error.value)


def test_a_client_key_without_its_certificate_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "client.key"
    key.write_text("not used")
    with pytest.raises(ConfigError, match="FLINK_REST_CERT_LOCATION"):
        rest_tls_context(load_settings({"FLINK_REST_KEY_LOCATION": str(key)}))


@needs_keytool
def test_flink_requires_client_certificates_on_rest_and_internal_connections(
    cluster: Settings,
) -> None:
    from telemetry.ops.host.layout import Layout
    from telemetry.ops.stack.cluster import BLOB_PORT, flink_config_values

    extra = flink_config_values(cluster, Layout.of(cluster))["PROFILE_EXTRA"]
    conf = dict(
        line.split(": ", 1) for line in extra.splitlines() if ": " in line and line[0] != "#"
    )
    tls = cluster.stack.data_dir / "tls"
    assert conf["security.ssl.rest.enabled"] == "true"
    assert conf["security.ssl.rest.authentication-enabled"] == "true"
    assert conf["security.ssl.internal.enabled"] == "true"
    # Internal: a certificate of its own, not the CA's trust.
    assert conf["security.ssl.internal.keystore"] == str(tls / "internal.p12")
    assert conf["security.ssl.internal.truststore"] == str(tls / "internal-truststore.p12")
    assert conf["blob.server.port"] == str(BLOB_PORT)
    assert "TLS_RSA_" not in conf["security.ssl.algorithms"]
    # REST: only the server's certificate (Flink's own client) and the Flink client's.
    pinned = conf["security.ssl.rest.cert.fingerprint"].split(",")
    expected = [
        _openssl("x509", "-in", str(tls / name), "-noout", "-fingerprint", "-sha1")
        .strip()
        .split("=", 1)[1]
        for name in ("server.pem", "client-flink.pem")
    ]
    assert pinned == expected
    assert cluster.flink.rest_key_password.reveal() not in extra, "the client's key password"


def test_an_older_cluster_secrets_file_gets_the_new_credentials_and_keeps_its_own(
    tmp_path: Path,
) -> None:
    from telemetry.core.config import stored_secrets
    from telemetry.ops.stack.secrets import ensure_secrets

    (tmp_path / "secrets.env").write_text("KAFKA_SASL_PASSWORD=old-and-kept\n")
    settings = load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)})
    settings = ensure_secrets(settings)
    stored = stored_secrets(tmp_path)
    assert stored["KAFKA_SASL_PASSWORD"] == "old-and-kept"
    assert len(stored["FLINK_REST_KEY_PASSWORD"]) >= 24
    assert settings.flink.rest_key_password.reveal() == stored["FLINK_REST_KEY_PASSWORD"]
    ensure_secrets(settings)
    assert stored_secrets(tmp_path) == stored, "added once"
