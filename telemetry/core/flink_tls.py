"""TLS of this project's clients of Flink's REST API, from the FLINK_REST_* settings.

An https REST API is trusted through FLINK_REST_CA_LOCATION (else the system's
trust). One that authenticates its clients by certificate (mutual TLS, the
cluster profile and Kubernetes) gets FLINK_REST_CERT_LOCATION with its key
(FLINK_REST_KEY_LOCATION, encrypted with FLINK_REST_KEY_PASSWORD). The
password goes to OpenSSL in this process only, never to an argument or a log.
"""

from __future__ import annotations

import functools
import ssl

from telemetry.core.config import Settings
from telemetry.core.errors import ConfigError

__all__ = ["rest_tls_context"]


def rest_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The SSL context of a client of FLINK_REST_URL (None: plain defaults, e.g. http).

    Made once per set of files and password: loading decrypts the key, and the
    supervisor and the status commands ask the REST API often.
    """
    return _context(
        settings.flink.rest_ca_location,
        settings.flink.rest_cert_location,
        settings.flink.rest_key_location,
        settings.flink.rest_key_password.reveal(),
    )


@functools.lru_cache(maxsize=8)
def _context(ca: str, cert: str, key: str, password: str) -> ssl.SSLContext | None:
    if key and not cert:
        raise ConfigError(
            "FLINK_REST_KEY_LOCATION is set without FLINK_REST_CERT_LOCATION; "
            "set the client certificate too, or unset both"
        )
    if not cert and not ca:
        return None
    context = ssl.create_default_context(cafile=ca or None)
    if cert:
        try:  # a str password, even empty: OpenSSL would otherwise prompt on the terminal
            context.load_cert_chain(cert, key or None, password=password)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"cannot load the Flink REST client certificate {cert} with the key {key or cert}: "
                "a wrong FLINK_REST_KEY_PASSWORD, or not a PEM certificate and its key"
            ) from exc
    return context
