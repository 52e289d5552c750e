"""Kafka client settings from the one configuration source, for every client.

Two mappings of the same settings: `librdkafka_config` for the Python clients
(confluent-kafka: producer, admin, the dead-letter tools, tests and benches)
and `java_properties` for the JVM clients (the job's Kafka source and
dead-letter sink, the watermark drain probe). Nothing else builds a Kafka
client config.

Secrets stay out of the JVM properties: they carry
`${env:KAFKA_SASL_PASSWORD}`, which Kafka's EnvVarConfigProvider resolves in
the process that opens the connection (a Flink TaskManager or JobManager), so
the password is in no job graph, log or config file. The job's registry
clients in the JVM likewise read their credentials from the variable
`REGISTRY_CREDENTIALS_VARIABLE` names. `client_secrets_env` is what such a
process needs in its environment.
"""

from __future__ import annotations

import logging

from telemetry.core.config import Settings
from telemetry.core.errors import ConfigError

__all__ = [
    "PASSWORD_VARIABLE",
    "REGISTRY_CREDENTIALS_VARIABLE",
    "client_logger",
    "client_secrets_env",
    "java_properties",
    "librdkafka_config",
]

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
# Variables a JVM reads a secret from; each is the name of the setting it carries.
PASSWORD_VARIABLE = "KAFKA_SASL_PASSWORD"  # by `${env:...}` in the JAAS config
REGISTRY_CREDENTIALS_VARIABLE = "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"  # the job passes the name


def _sasl(settings: Settings) -> bool:
    protocol = settings.kafka.security_protocol
    if protocol.startswith("SASL_") and not (
        settings.kafka.sasl_username and settings.kafka.sasl_password.reveal()
    ):
        raise ConfigError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
            "KAFKA_SASL_PASSWORD (the local cluster profile makes them at `make up`)"
        )
    return protocol.startswith("SASL_")


def _tls(settings: Settings) -> bool:
    return settings.kafka.security_protocol in ("SSL", "SASL_SSL")


def librdkafka_config(settings: Settings, **overrides: object) -> dict[str, object]:
    """confluent-kafka / librdkafka settings to reach the configured brokers."""
    config: dict[str, object] = {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "security.protocol": settings.kafka.security_protocol,
    }
    if _sasl(settings):
        config |= {
            "sasl.mechanism": settings.kafka.sasl_mechanism,
            "sasl.username": settings.kafka.sasl_username,
            "sasl.password": settings.kafka.sasl_password.reveal(),
        }
    if _tls(settings) and settings.kafka.ssl_ca_location:
        config["ssl.ca.location"] = settings.kafka.ssl_ca_location
    return config | overrides


def client_logger(name: str) -> logging.Logger:
    """The `logger=` for a confluent-kafka client: librdkafka's lines under `name`.

    They do not propagate to the root logger, so the application's own logging
    setup neither shows nor reformats them; with no handler of its own, Python's
    last-resort handler still prints their warnings and errors to stderr.
    """
    logger = logging.getLogger(name)
    logger.propagate = False
    return logger


def java_properties(settings: Settings) -> dict[str, str]:
    """Java client properties to reach the configured brokers (no secret in them)."""
    props = {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "security.protocol": settings.kafka.security_protocol,
    }
    if _sasl(settings):
        username = settings.kafka.sasl_username.replace("\\", "\\\\").replace('"', '\\"')
        props |= {
            "sasl.mechanism": settings.kafka.sasl_mechanism,
            "sasl.jaas.config": (
                f"{_LOGIN_MODULES[settings.kafka.sasl_mechanism]} required "
                f'username="{username}" password="${{env:{PASSWORD_VARIABLE}}}";'
            ),
            "config.providers": "env",
            "config.providers.env.class": (
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
            ),
        }
    if _tls(settings) and settings.kafka.ssl_ca_location:
        props |= {
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": settings.kafka.ssl_ca_location,
        }
    return props


def client_secrets_env(settings: Settings) -> dict[str, str]:
    """Environment a JVM running this project's clients needs (Flink's processes)."""
    env = {
        PASSWORD_VARIABLE: settings.kafka.sasl_password.reveal(),
        REGISTRY_CREDENTIALS_VARIABLE: settings.registry.basic_auth_user_info.reveal(),
        "AWS_ACCESS_KEY_ID": settings.s3.access_key_id.reveal(),
        "AWS_SECRET_ACCESS_KEY": settings.s3.secret_access_key.reveal(),
        "AWS_SESSION_TOKEN": settings.s3.session_token.reveal(),
        "AWS_REGION": settings.s3.region,
    }
    return {name: value for name, value in env.items() if value}
