"""Broker connection settings for each Kafka client the project uses, from one Settings."""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import Settings


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if "SSL" not in settings.kafka_security_protocol:
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)


def aiokafka_config(settings: Settings) -> dict[str, Any]:
    """For aiokafka (the worker's log reader); kafka-python takes the same names and more."""
    cfg: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        cfg |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_username,
            "sasl_plain_password": settings.kafka_password.get_secret_value(),
        }
    context = _ssl_context(settings)
    if context is not None:
        cfg["ssl_context"] = context
    return cfg


def kafka_python_config(settings: Settings) -> dict[str, Any]:
    """For kafka-python (admin, push tool, simulator): a broker that does not answer within
    the connect timeout fails the client's creation, instead of after its 30 s default."""
    timeout_ms = int(settings.kafka_connect_timeout_s * 1000)
    return aiokafka_config(settings) | {"bootstrap_timeout_ms": timeout_ms}


def faust_broker_credentials(settings: Settings) -> Any:
    """For Faust (the worker): SASL over TLS or plaintext, or None."""
    import faust

    context = _ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.kafka_username,
            password=settings.kafka_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
