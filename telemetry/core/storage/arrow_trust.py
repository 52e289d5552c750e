"""Make pyarrow's S3 client trust S3_CA_LOCATION (an https endpoint with its own CA).

pyarrow 16 has no option for a CA file: when `pyarrow.fs` is first imported it
takes the CA file Python's `ssl` reports, i.e. SSL_CERT_FILE at that moment;
its S3 client reads that file again for every new client. So `trust(settings)`,
called before an S3 client is made and before `pyarrow.fs` is imported (by
`s3_filesystem` and the catalog's `load`, the two places that make pyarrow S3
clients), points SSL_CERT_FILE at a bundle file of our own the first time, and
writes into it the system's CAs plus the endpoint's CA (which, for the cluster
profile, may only exist after `telemetry up` made it). The process keeps
trusting everything it trusted before. Importing this module changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from telemetry.core.config import Settings, ssl_cert_file
from telemetry.core.errors import StorageError

__all__ = ["intended_ca", "prepare", "refresh", "trust"]

# CA path -> (the bundle SSL_CERT_FILE names, the system's bundle it starts with)
_prepared: dict[str, tuple[Path, str]] = {}


def trust(settings: Settings) -> None:
    """Before pyarrow makes an S3 client: it trusts the S3 endpoint's CA too."""
    prepare(intended_ca(settings), ssl_cert_file())
    refresh(settings.s3.ca_location)


def intended_ca(settings: Settings) -> str:
    """S3_CA_LOCATION, or where the cluster profile keeps its CA (even before it exists)."""
    if settings.s3.ca_location:
        return settings.s3.ca_location
    if settings.profile == "cluster":
        return str(settings.stack.data_dir / "tls" / "ca.pem")
    return ""


def prepare(ca_location: str, system: str) -> None:
    """Point SSL_CERT_FILE at a bundle of `system` and `ca_location`, once, if pyarrow.fs
    is not imported yet (pyarrow reads the process environment: this writes it)."""
    if not ca_location or "pyarrow._fs" in sys.modules or _prepared:
        return
    key = hashlib.sha256(str(Path(ca_location).absolute()).encode()).hexdigest()[:12]
    bundle = Path(tempfile.gettempdir()) / f"telemetry-ca-bundle-{os.getuid()}-{key}.pem"
    _prepared[ca_location] = (bundle, system)
    _write(bundle, ca_location, system)
    os.environ["SSL_CERT_FILE"] = str(bundle)


def refresh(ca_location: str) -> None:
    """Before an S3 client is made: the bundle holds the system's CAs and `ca_location`."""
    if not ca_location:
        return
    prepared = _prepared.get(ca_location)
    if prepared is None:
        raise StorageError(
            f"pyarrow cannot be made to trust S3_CA_LOCATION={ca_location}: pyarrow.fs was "
            "imported before telemetry.core.storage.arrow_trust.trust(); call it first, or set "
            "SSL_CERT_FILE to a bundle that holds that CA"
        )
    bundle, system = prepared
    _write(bundle, ca_location, system)


def _write(bundle: Path, ca_location: str, system: str) -> None:
    system_text = Path(system).read_text(encoding="utf-8") if Path(system).is_file() else ""
    ca = Path(ca_location)
    text = system_text + "\n" + (ca.read_text(encoding="utf-8") if ca.is_file() else "")
    if bundle.is_file() and bundle.read_text(encoding="utf-8") == text:
        return
    tmp = bundle.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(bundle)
