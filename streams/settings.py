"""The one settings object, read from ``ENVWATCH_*`` environment variables.

Built by :func:`load_settings` and passed down; nothing reads the environment at import time.
An empty broker or database setting means "start the embedded one" (``envwatch run``).
Every secret may instead come from a file: ``ENVWATCH_<NAME>_FILE`` names it (a compose or
Kubernetes secret), so that the secret is in no environment and no process listing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo
from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PREFIX = "ENVWATCH_"


class SecretFiles(PydanticBaseSettingsSource):
    """``ENVWATCH_<NAME>_FILE`` for each secret setting: its value is the file's content, less
    one trailing newline (an editor's). The plain variable, when set, wins."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            path = os.environ.get(f"{PREFIX}{name.upper()}_FILE")
            if field.annotation is SecretStr and path:
                text = Path(path).read_text(encoding="utf-8")
                found[name] = text.removesuffix("\n").removesuffix("\r")
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFiles(settings_cls)

    # Kafka
    kafka_bootstrap: str = ""
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SASL_PLAINTEXT, SASL_SSL, SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_username: str = ""
    kafka_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    # How long a command waits for the broker to answer at all before it says it cannot reach
    # it (the clients' own default is 30 s).
    kafka_connect_timeout_s: float = Field(default=5.0, gt=0)
    topic_prefix: str = "envwatch"
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    topic_retention_ms: int = 7 * 24 * 3600 * 1000

    # Database: the worker connects as the writer role; migrations need the schema owner. A
    # password can be given apart from its URL, where any character works as it is (inside a
    # URL it must be percent-encoded); the two are joined by libpq's own rules (conninfo).
    database_url: SecretStr = SecretStr("")
    database_password: SecretStr = SecretStr("")
    database_admin_url: SecretStr = SecretStr("")
    database_admin_password: SecretStr = SecretStr("")

    # Worker
    app_id: str = "envwatch-worker"
    worker_web_port: int = 6066
    metrics_port: int = 9108
    batch_max: int = Field(default=2000, ge=1)
    batch_within_s: float = Field(default=0.2, gt=0)
    # The city-wide targets move by the day; each of their batches recomputes them over all
    # sites, so they are batched over a longer wait than the readings.
    targets_within_s: float = Field(default=2.0, gt=0)
    # The longest a fetch waits for data: what an idle worker adds to a reading's delay on a
    # broker that holds fetches for the whole wait (streams/transport.py).
    fetch_max_wait_ms: int = Field(default=100, ge=1)
    rebalance_timeout_s: float = 3.0
    session_timeout_s: float = 8.0
    # How often each partition's stored prefix is committed: what a restart reads twice.
    commit_interval_s: float = Field(default=1.0, gt=0)
    # Site states a worker keeps decoded, the most recently used; the others stay encoded in
    # their state table (a decoded state is several times its record).
    state_cache_sites: int = Field(default=4096, ge=1)
    db_retry_max_s: float = 10.0

    # Validation
    max_future_s: float = 600.0
    earliest_year: int = 2000
    max_message_bytes: int = 1_000_000

    # Alerting: condition timing, and the notification relay (`envwatch notify`)
    alert_for_s: float = 3600.0
    alert_clear_s: float = 3600.0
    # An analyser may be in maintenance or calibration (HJ 212 flags M, C) this long (reading
    # time) before DataAnalyserInService is raised.
    alert_service_s: float = Field(default=4 * 3600.0, gt=0)
    targets_file: Path | None = None  # default: alerts/targets.toml, the plan's figures
    # How often the plan targets read the year so far from storage again: what brings in the
    # feeds without daily summaries (water period classes, energy, wastewater) and anything
    # stored late. Also read when the worker takes the targets and after audited corrections.
    targets_refresh_s: float = Field(default=300.0, gt=0)
    bad_day_budget_warning: int = 10  # warn when the year can absorb this few more bad days
    # The relay listens on loopback unless told otherwise (in a container: 0.0.0.0, with the
    # port reachable only from Alertmanager's network). Every request must carry the bearer
    # token (ENVWATCH_NOTIFY_TOKEN, or the file ENVWATCH_NOTIFY_TOKEN_FILE names).
    notify_host: str = "127.0.0.1"
    notify_port: int = 9095
    notify_token: SecretStr = SecretStr("")
    notify_wecom_url: SecretStr = SecretStr("")
    notify_dingtalk_url: SecretStr = SecretStr("")
    notify_dingtalk_secret: SecretStr = SecretStr("")
    notify_fallback_url: str = ""
    # Further WeCom group robots by channel name (`?channel=NAME`), e.g. the escalation
    # receivers' of alerts/alertmanager.yml, as JSON: {"supervisor": "https://qyapi...", ...}.
    # A secret (the URLs hold the robots' keys), so it may come from a file too.
    notify_robots: SecretStr = SecretStr("")

    # Acknowledgement (docs/oncall.md): on when the database is configured. Tokens are signed
    # with notify_ack_secret, or a key derived from the bearer token when it is empty.
    notify_public_url: str = ""  # the relay behind the bureau's HTTPS proxy: acknowledge links
    notify_ack_secret: SecretStr = SecretStr("")
    notify_ack_ttl_s: float = Field(default=86400.0, gt=0)  # a link works this long
    # The silence of an acknowledged alert is ended by the relay when the alert resolves; this
    # is its end should the relay never see that.
    notify_ack_silence_max_s: float = Field(default=7 * 86400.0, gt=0)
    notify_ack_poll_s: float = Field(default=15.0, gt=0)  # asking Alertmanager what still fires
    notify_ack_user_header: str = ""  # a header the proxy sets to the signed-in user's name
    notify_dingtalk_app_secret: SecretStr = SecretStr("")  # the chat command's signatures
    # Escalation of unacknowledged alerts: the waits before each level (the duty supervisor,
    # then the director), per severity or "severity/county"; Prometheus compares alert ages
    # with them (alerts/rules/escalation.yml) and Alertmanager routes by level.
    notify_escalation_after_s: dict[str, list[float]] = Field(
        default_factory=lambda: {"critical": [1800.0, 1800.0]}
    )
    alertmanager_url: str = "http://127.0.0.1:9093"

    # Links in notifications: the addresses a phone opens, outside the stack's own network
    # (the public Grafana behind the bureau's proxy, else grafana_url where that is already
    # the public one, as the compose stack gives it to the relay; the published copy of
    # docs/oncall.md).
    public_grafana_url: str = ""
    runbook_url: str = ""

    # HJ 212 gateway (`envwatch gateway`): data loggers connect here over TCP.
    gateway_host: str = "0.0.0.0"
    gateway_port: int = Field(default=9212, ge=1, le=65535)
    gateway_metrics_port: int = Field(default=9110, ge=0, le=65535)
    # A connection with nothing received for this long is closed (loggers send at least
    # minute data or a keep-alive well within it).
    gateway_idle_s: float = Field(default=600.0, gt=0)
    # The longest data segment accepted: HJ 212-2017 allows 1024 characters; the four-digit
    # length field at most 9999. Loggers split longer data (Flag bit D).
    gateway_max_segment: int = Field(default=1024, ge=1, le=9999)
    # Readings from all connections gathered per site for at most this long, then sent.
    gateway_batch_within_s: float = Field(default=0.02, gt=0)
    gateway_batch_max: int = Field(default=1000, ge=1)
    # The loggers' minute-data interval (HJ 212 MinInterval): a 2051 packet covers this long.
    gateway_minute_interval_s: int = Field(default=600, ge=60, le=3600)

    # Grafana's API, for `envwatch dashboards push`
    grafana_url: str = "http://localhost:3000"
    grafana_token: SecretStr = SecretStr("")

    # Embedded services and reference data
    state_dir: Path = Path(".envwatch")
    reference_dir: Path | None = None

    @property
    def kafka_configured(self) -> bool:
        return bool(self.kafka_bootstrap)

    @property
    def database_configured(self) -> bool:
        return bool(self.database_url.get_secret_value())

    @property
    def database_conninfo(self) -> str:
        """The worker's connection string: the URL with its password, if given apart."""
        return conninfo(self.database_url, self.database_password)

    @property
    def admin_conninfo(self) -> str:
        """The schema owner's connection string (the worker's when no owner is set)."""
        if not self.database_admin_url.get_secret_value():
            return self.database_conninfo
        return conninfo(self.database_admin_url, self.database_admin_password)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"


def conninfo(url: SecretStr, password: SecretStr) -> str:
    """A connection string from a URL (or key=value string) and a password kept apart."""
    if not password.get_secret_value():
        return url.get_secret_value()
    return make_conninfo(url.get_secret_value(), password=password.get_secret_value())


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; explicit overrides win (used by the embedded runner)."""
    return Settings(**overrides)  # type: ignore[arg-type]
