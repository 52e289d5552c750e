"""The cluster profile's certificate authority and certificates, made at first start.

One CA per data folder (`<data>/tls/ca.pem`: what clients trust, the default
of every *_CA_LOCATION setting) signs one server certificate for 127.0.0.1
and localhost that every server of the profile presents (brokers, the
registry's proxy, MinIO, Flink's REST API); the brokers and the stack also
use it as a client certificate where they authenticate each other by TLS.

Files (in a 0700 folder; keys 0600):

    ca.pem, ca.key                 the CA
    server.pem, server.key         certificate and PKCS#8 key, PEM
    server-keystore.pem            key + certificate chain (Kafka's PEM keystore)
    server.p12                     key + certificate, PKCS#12 (Flink's REST keystore)
    truststore.p12                 the CA only, PKCS#12 without password (JVM trust)

Client certificates (`client_cert`), for servers that authenticate clients by
certificate (the catalog's PostgreSQL: the CN is the database role):

    client-<CN>.pem, client-<CN>.key     certificate and PKCS#8 key, PEM (libpq, psycopg2)
    client-<CN>.pk8                      the same key, PKCS#8 DER (the PostgreSQL JDBC driver)

The Flink REST API's client certificate (`rest_client_cert`, CN `flink`): its
key is encrypted with FLINK_REST_KEY_PASSWORD, and the same pair is a PKCS#12
bundle for a browser:

    client-flink.pem, client-flink.key   certificate and encrypted PKCS#8 key, PEM
    client-flink.p12                     both, PKCS#12 with the same password (import it)

Flink's internal connections (RPC, blobs, data) do not use the CA: a dedicated
self-signed certificate, as Flink's SSL guide recommends, that only the Flink
processes hold and trust (`ensure_internal`):

    internal.pem, internal.key           the certificate and its key, PEM
    internal.p12                         key + certificate, PKCS#12 (the key store)
    internal-truststore.p12              the certificate only, PKCS#12 without password

Made with the openssl command line, which every machine of this kind has.
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.errors import ServiceError
from telemetry.ops.stack.secrets import private_dir

__all__ = [
    "ClientCert",
    "TlsFiles",
    "client_cert",
    "ensure_internal",
    "ensure_tls",
    "fingerprint",
    "rest_client_cert",
]

DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key(self) -> Path:
        return self.folder / "server.key"

    @property
    def keystore_pem(self) -> Path:
        return self.folder / "server-keystore.pem"

    @property
    def keystore_p12(self) -> Path:
        return self.folder / "server.p12"

    @property
    def truststore_p12(self) -> Path:
        return self.folder / "truststore.p12"

    @property
    def internal_cert(self) -> Path:
        return self.folder / "internal.pem"

    @property
    def internal_key(self) -> Path:
        return self.folder / "internal.key"

    @property
    def internal_keystore(self) -> Path:
        return self.folder / "internal.p12"

    @property
    def internal_truststore(self) -> Path:
        return self.folder / "internal-truststore.p12"


def _openssl(*args: str, stdin: str | None = None) -> None:
    if shutil.which("openssl") is None:
        raise ServiceError("openssl is not installed; the cluster profile needs it for its TLS")
    result = subprocess.run(
        ["openssl", *args], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceError(f"openssl {args[0]} failed: {result.stderr.strip()[-300:]}")


def _trust_only_store(cert: Path, store: Path, alias: str) -> None:
    """A PKCS#12 store of one certificate that JVMs read without a password."""
    keytool = shutil.which("keytool")
    if keytool is None:
        raise ServiceError("keytool (from a JDK) is not on PATH; the cluster profile needs it")
    result = subprocess.run(
        [
            keytool,
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
            "-importcert", "-noprompt", "-alias", alias, "-file", str(cert),
            "-keystore", str(store), "-storetype", "PKCS12",
            "-storepass", "unused-no-mac",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise ServiceError(f"keytool -importcert failed: {result.stdout.strip()[-300:]}")


def ensure_tls(data_dir: Path, keystore_password: str) -> TlsFiles:
    """The CA and the server certificate of this data folder, made once."""
    files = TlsFiles(private_dir(data_dir / "tls"))
    if files.truststore_p12.exists():
        return files
    folder = files.folder
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(DAYS),
        "-subj", "/CN=telemetry-pipeline local CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", str(folder / "ca.key"), "-out", str(files.ca),
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(files.key), "-out", str(folder / "server.csr"),
    )  # fmt: skip
    extensions = folder / "server.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n",
        encoding="utf-8",
    )
    _openssl(
        "x509", "-req", "-in", str(folder / "server.csr"), "-CA", str(files.ca),
        "-CAkey", str(folder / "ca.key"), "-CAcreateserial", "-days", str(DAYS),
        "-extfile", str(extensions), "-out", str(files.cert),
    )  # fmt: skip
    files.keystore_pem.write_text(
        files.key.read_text(encoding="utf-8")
        + files.cert.read_text(encoding="utf-8")
        + files.ca.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    # The password goes through stdin-like `pass:` only via an environment variable.
    _openssl(
        "pkcs12", "-export", "-inkey", str(files.key), "-in", str(files.cert),
        "-certfile", str(files.ca), "-name", "server", "-out", str(files.keystore_p12),
        "-passout", "stdin", stdin=keystore_password + "\n",
    )  # fmt: skip
    _trust_only_store(files.ca, files.truststore_p12, "telemetry-ca")
    for path in folder.iterdir():
        path.chmod(0o600)
    files.ca.chmod(0o644)
    return files


@dataclass(frozen=True)
class ClientCert:
    """A client certificate of the stack's CA whose CN names the client (a database role)."""

    folder: Path
    cn: str

    @property
    def cert(self) -> Path:
        return self.folder / f"client-{self.cn}.pem"

    @property
    def key(self) -> Path:
        """PKCS#8, PEM: what libpq reads."""
        return self.folder / f"client-{self.cn}.key"

    @property
    def bundle(self) -> Path:
        """Key and certificate as PKCS#12 (rest_client_cert only): what a browser imports."""
        return self.folder / f"client-{self.cn}.p12"

    @property
    def key_der(self) -> Path:
        """The same key as PKCS#8 DER: the one format every pgjdbc 42.x reads (`.pk8`).

        pgjdbc picks the key's format by the file's extension: PKCS#8 DER
        (LazyKeyManager) for any name but .p12/.pfx before 42.7.9; PEM for .key
        and .pem from 42.7.9; from 42.7.13 it sniffs names other than .pem/.der.
        A DER file named .pk8 is read as DER by all of them.
        """
        return self.folder / f"client-{self.cn}.pk8"


def _sign_client(files: TlsFiles, cn: str, cert: Path, key: Path) -> None:
    """A new key (PKCS#8 PEM, unencrypted) and a client certificate for `cn` of the CA."""
    folder = files.folder
    csr = folder / f"client-{cn}.csr"
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    extensions = folder / "client.ext"
    extensions.write_text(
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
        encoding="utf-8",
    )
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(files.ca),
        "-CAkey", str(folder / "ca.key"), "-CAcreateserial", "-days", str(DAYS),
        "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip
    for path in (cert, key, csr, extensions):
        path.chmod(0o600)


def client_cert(files: TlsFiles, cn: str) -> ClientCert:
    """The client certificate for `cn`, signed by the CA of `files`, made once (keys 0600)."""
    client = ClientCert(files.folder, cn)
    if client.cert.is_file() and client.key.is_file() and client.key_der.is_file():
        return client
    _sign_client(files, cn, client.cert, client.key)
    _openssl(
        "pkcs8", "-topk8", "-nocrypt", "-in", str(client.key),
        "-outform", "DER", "-out", str(client.key_der),
    )  # fmt: skip
    client.key_der.chmod(0o600)
    return client


def rest_client_cert(files: TlsFiles, cn: str, password: str) -> ClientCert:
    """A client certificate for `cn` whose key is encrypted with `password` (PKCS#8 PEM,
    AES-256), and the pair as a PKCS#12 bundle with the same password; made once."""
    client = ClientCert(files.folder, cn)
    if client.cert.is_file() and client.key.is_file() and client.bundle.is_file():
        return client
    plain = files.folder / f"client-{cn}.unencrypted.key"
    _sign_client(files, cn, client.cert, plain)
    try:
        _openssl(
            "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", str(plain),
            "-out", str(client.key), "-passout", "stdin", stdin=password + "\n",
        )  # fmt: skip
        _openssl(
            "pkcs12", "-export", "-inkey", str(plain), "-in", str(client.cert),
            "-certfile", str(files.ca), "-name", cn, "-out", str(client.bundle),
            "-passout", "stdin", stdin=password + "\n",
        )  # fmt: skip
    finally:
        plain.unlink(missing_ok=True)
    for path in (client.key, client.bundle):
        path.chmod(0o600)
    return client


def ensure_internal(files: TlsFiles, keystore_password: str) -> None:
    """Flink's internal certificate: self-signed, its own key and trust stores; made once."""
    if files.internal_truststore.is_file() and files.internal_keystore.is_file():
        return
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(DAYS),
        "-subj", "/CN=flink.internal",
        "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext", "extendedKeyUsage=serverAuth,clientAuth",
        "-keyout", str(files.internal_key), "-out", str(files.internal_cert),
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-inkey", str(files.internal_key), "-in", str(files.internal_cert),
        "-name", "flink.internal", "-out", str(files.internal_keystore),
        "-passout", "stdin", stdin=keystore_password + "\n",
    )  # fmt: skip
    files.internal_truststore.unlink(missing_ok=True)
    _trust_only_store(files.internal_cert, files.internal_truststore, "flink.internal")
    for path in (
        files.internal_cert,
        files.internal_key,
        files.internal_keystore,
        files.internal_truststore,
    ):
        path.chmod(0o600)


def fingerprint(cert: Path) -> str:
    """The SHA-1 fingerprint of a PEM certificate as Flink pins it (`AA:BB:...`)."""
    try:
        der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    except (OSError, ValueError) as exc:
        raise ServiceError(f"cannot read the certificate {cert}: {exc}") from exc
    digest = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
