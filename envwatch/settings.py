"""The one settings object, read from ``ENVWATCH_*`` environment variables.

Built by :func:`load_settings` and passed down; nothing reads the environment at import time.
An empty broker or database setting means "start the embedded one" (``envwatch run``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENVWATCH_", frozen=True, extra="ignore")

    # Kafka
    kafka_bootstrap: str = ""
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SASL_PLAINTEXT, SASL_SSL, SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_username: str = ""
    kafka_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    topic_prefix: str = "envwatch"
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    topic_retention_ms: int = 7 * 24 * 3600 * 1000

    # Database: the worker connects as the writer role; migrations need the schema owner.
    database_url: SecretStr = SecretStr("")
    database_admin_url: SecretStr = SecretStr("")

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
    db_retry_max_s: float = 10.0

    # Validation
    max_future_s: float = 600.0
    earliest_year: int = 2000
    max_message_bytes: int = 1_000_000

    # Alerting: condition timing, and the notification relay (`envwatch notify`)
    alert_for_s: float = 3600.0
    alert_clear_s: float = 3600.0
    targets_file: Path | None = None  # default: alerts/targets.toml, the plan's figures
    bad_day_budget_warning: int = 10  # warn when the year can absorb this few more bad days
    # The relay listens on loopback unless told otherwise (in a container: 0.0.0.0, with the
    # port reachable only from Alertmanager's network). Every request must carry the bearer
    # token, given itself or as the name of a file holding it (a Docker/Kubernetes secret).
    notify_host: str = "127.0.0.1"
    notify_port: int = 9095
    notify_token: SecretStr = SecretStr("")
    notify_token_file: Path | None = None
    notify_wecom_url: SecretStr = SecretStr("")
    notify_dingtalk_url: SecretStr = SecretStr("")
    notify_dingtalk_secret: SecretStr = SecretStr("")
    notify_fallback_url: str = ""
    # Further WeCom group robots by channel name (`?channel=NAME`), e.g. the escalation
    # receivers' of alerts/alertmanager.yml: {"supervisor": "https://qyapi...", "director": ...}
    notify_robots: dict[str, SecretStr] = Field(default_factory=dict)

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
    # (the public Grafana behind the bureau's proxy; the published copy of docs/oncall.md).
    public_grafana_url: str = ""
    runbook_url: str = ""

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
    def admin_url(self) -> str:
        return (self.database_admin_url or self.database_url).get_secret_value()

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; explicit overrides win (used by the embedded runner)."""
    return Settings(**overrides)  # type: ignore[arg-type]
