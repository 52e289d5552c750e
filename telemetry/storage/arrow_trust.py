"""Make pyarrow's S3 client trust S3_CA_LOCATION (an https endpoint with its own CA).

pyarrow 16 has no option for a CA file: when `pyarrow.fs` is first imported it
takes the CA file Python's `ssl` reports, i.e. SSL_CERT_FILE at that moment;
its S3 client reads that file again for every new client. So before pyarrow
is imported (this module is imported by `telemetry.storage`), SSL_CERT_FILE is
pointed at a bundle file of our own, and `refresh()` writes into it the
system's CAs plus the endpoint's CA (which, for the cluster profile, may only
exist after `telemetry up` made it). The process keeps trusting everything it
trusted before.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import sys
import tempfile
from pathlib import Path

from telemetry.errors import StorageError

__all__ = ["prepare", "refresh"]

_prepared: dict[str, Path] = {}  # CA path -> the bundle SSL_CERT_FILE names
_system = os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile or ""


def prepare(ca_location: str) -> None:
    """Point SSL_CERT_FILE at a bundle for `ca_location`, if pyarrow.fs is not imported yet."""
    if not ca_location or "pyarrow._fs" in sys.modules or _prepared:
        return
    key = hashlib.sha256(str(Path(ca_location).absolute()).encode()).hexdigest()[:12]
    bundle = Path(tempfile.gettempdir()) / f"telemetry-ca-bundle-{os.getuid()}-{key}.pem"
    _prepared[ca_location] = bundle
    _write(bundle, ca_location)
    os.environ["SSL_CERT_FILE"] = str(bundle)


def refresh(ca_location: str) -> None:
    """Before an S3 client is made: the bundle holds the system's CAs and `ca_location`."""
    if not ca_location:
        return
    bundle = _prepared.get(ca_location)
    if bundle is None:
        raise StorageError(
            f"pyarrow cannot be made to trust S3_CA_LOCATION={ca_location}: pyarrow.fs was "
            "imported before the setting was read; set it in the environment before starting"
        )
    _write(bundle, ca_location)


def _write(bundle: Path, ca_location: str) -> None:
    system = Path(_system).read_text(encoding="utf-8") if Path(_system).is_file() else ""
    ca = Path(ca_location)
    text = system + "\n" + (ca.read_text(encoding="utf-8") if ca.is_file() else "")
    if bundle.is_file() and bundle.read_text(encoding="utf-8") == text:
        return
    tmp = bundle.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(bundle)


def _intended_ca() -> str:
    """S3_CA_LOCATION, or where the cluster profile keeps its CA (even before it exists)."""
    from telemetry.config import load_settings
    from telemetry.errors import TelemetryError

    try:
        settings = load_settings()
    except TelemetryError:
        return ""  # a bad setting is reported where it is used
    if settings.s3_ca_location:
        return settings.s3_ca_location
    if settings.telemetry_profile == "cluster":
        return str(settings.telemetry_data_dir / "tls" / "ca.pem")
    return ""


prepare(_intended_ca())
