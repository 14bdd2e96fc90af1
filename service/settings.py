# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Every setting of the service, read once from the environment (prefix ``CHAT_IMPORT_``).

Nested groups use ``__`` as the delimiter (``CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS``). Build
``Settings()`` once at the edge (the CLI) and pass it down; no other module reads the environment.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CHAT_IMPORT_"
NESTED_DELIMITER = "__"


class ProviderName(StrEnum):
    """The chat providers the service imports into."""

    TENCENT = "tencent"
    ZEGO = "zego"


class SecurityProtocol(StrEnum):
    """How the Kafka clients connect: Kafka's ``security.protocol`` values."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def uses_tls(self) -> bool:
        """True when the connection is encrypted (SSL, SASL_SSL)."""
        return self in {SecurityProtocol.SSL, SecurityProtocol.SASL_SSL}

    @property
    def uses_sasl(self) -> bool:
        """True when the client authenticates with SASL (SASL_PLAINTEXT, SASL_SSL)."""
        return self in {SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL}


class SaslMechanism(StrEnum):
    """The SASL mechanisms the service can authenticate with."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


def env_name(*location: str | int) -> str:
    """The environment variable of a setting, e.g. ``("kafka", "sasl_password")``."""
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part).upper() for part in location)


def _kafka(name: str) -> str:
    return env_name("kafka", name)


class KafkaSettings(BaseModel):
    """Where the broker is and how the service talks to it.

    An unknown key (``CHAT_IMPORT_KAFKA__SASL_PASWORD``) is refused rather than ignored: a typo
    in a security setting must not silently connect without it.
    """

    model_config = ConfigDict(extra="forbid")

    bootstrap_servers: str = "localhost:9092"
    group_id: str = "chat-import"
    client_id: str = "chat-import"
    # Idempotent producers need InitProducerId; keep it on for Apache Kafka, off for brokers
    # without it (the embedded test broker).
    idempotent_producer: bool = True
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    max_poll_interval_ms: int = Field(default=300_000, ge=10_000)
    fetch_max_records: int = Field(default=500, ge=1)
    commit_interval_seconds: float = Field(default=1.0, gt=0)
    # The offset map rides in the commit's metadata, within the broker's offset.metadata.max.bytes
    # (4,096 by default); a map that does not fit goes as the plain watermark. 0: never a map.
    offset_metadata_max_bytes: int = Field(default=4096, ge=0)
    create_topics: bool = True
    topic_partitions: int = Field(default=12, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # The largest record the service publishes (a dead letter is as large as the record that
    # could not be read); the dead-letter topic is created to accept it.
    max_message_bytes: int = Field(default=16 * 1024 * 1024, ge=1024 * 1024)

    # Security: every Kafka client of the service and of its tools uses these
    # (service/messaging/kafka_clients.py).
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # Without a CA file the system's trusted CAs verify the broker (public CAs: Confluent Cloud,
    # Amazon MSK); a private CA (Strimzi's cluster CA) needs its PEM file here.
    ssl_cafile: FilePath | None = None
    # A client certificate and its key (PEM) for mutual TLS; a PEM holding both: set both to it.
    ssl_certfile: FilePath | None = None
    ssl_keyfile: FilePath | None = None
    ssl_keyfile_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        """Accept ``sasl_ssl`` or ``scram-sha-512`` as Kafka's own clients do."""
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _security_is_complete(self) -> Self:
        """Refuse combinations that cannot work, naming the settings to fix."""
        protocol = self.security_protocol
        problems: list[str] = []
        if protocol.uses_sasl:
            missing = [
                _kafka(name)
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                problems.append(
                    f"{_kafka('security_protocol')}={protocol.value} needs {', '.join(missing)}"
                )
        else:
            given = [
                _kafka(name)
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is not None
            ]
            if given:
                problems.append(
                    f"{', '.join(given)} set, but {_kafka('security_protocol')} is "
                    f"{protocol.value}: use SASL_SSL or SASL_PLAINTEXT to authenticate"
                )
        if not protocol.uses_tls:
            given = [
                _kafka(name)
                for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_keyfile_password")
                if getattr(self, name) is not None
            ]
            if given:
                problems.append(
                    f"{', '.join(given)} set, but {_kafka('security_protocol')} is "
                    f"{protocol.value}: use SSL or SASL_SSL to connect with TLS"
                )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            problems.append(
                f"{_kafka('ssl_certfile')} and {_kafka('ssl_keyfile')} go together (the client "
                "certificate and its private key; a PEM holding both: set both to it)"
            )
        if self.ssl_keyfile_password is not None and self.ssl_keyfile is None:
            problems.append(f"{_kafka('ssl_keyfile_password')} set without {_kafka('ssl_keyfile')}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class TopicsSettings(BaseModel):
    """Topic names (the contract's defaults)."""

    groups: str = "chat-import.groups"
    messages: str = "chat-import.group-messages"
    outcomes: str = "chat-import.outcomes"
    dead_letter: str = "chat-import.dead-letter"
    # The replicas' backlog reports, from which each takes its share of the call budget
    # (one partition; internal to the service, like a consumer group's offsets).
    control: str = "chat-import.control"


class TencentSettings(BaseModel):
    """Tencent Cloud Chat REST API."""

    base_url: str = "https://adminapisgp.im.qcloud.com"
    sdk_app_id: int | None = None
    admin_identifier: str = "administrator"
    secret_key: SecretStr | None = None
    calls_per_second: float = Field(default=200, gt=0)
    # Whether import_group, import_group_msg and group_msg_get_simple share one budget is not
    # documented: one shared budget is the safe reading; this gives each API its own.
    budget_per_api: bool = False
    user_sig_expire_seconds: int = Field(default=15_552_000, ge=300)
    # The 2024 edition allows 12,000 bytes per message; the 2022 edition 8,000.
    message_size_limit: int = Field(default=12_000, ge=1)
    # import_group_member: 20 members a call on the newest page, 100, 300 or 500 on older
    # editions (which the server enforces today is unconfirmed): the conservative default.
    members_per_call: int = Field(default=20, ge=1, le=500)
    # import_group_msg RecentContactFlag for messages whose event does not set it: 1 updates the
    # members' recent contacts (conversations); 0, the provider's default, does not.
    recent_contact_flag: int = Field(default=0, ge=0, le=1)


class ZegoSettings(BaseModel):
    """ZEGOCLOUD ZIM server API."""

    base_url: str = "https://zim-api.zego.im"
    app_id: int | None = None
    server_secret: SecretStr | None = None
    calls_per_second: float = Field(default=20, gt=0)
    # SendMessageTime may be no older than now minus the plan's message retention (days).
    # unconfirmed default: the seeds give no figure; set the app's own retention.
    retention_days: int = Field(default=30, ge=1)


class PipelineSettings(BaseModel):
    """Concurrency, memory bounds, retries and shutdown."""

    max_in_flight_calls: int = Field(default=256, ge=1)
    max_connections: int = Field(default=64, ge=1)
    max_buffered_records: int = Field(default=20_000, ge=1)
    max_buffered_per_partition: int = Field(default=5_000, ge=1)
    messages_per_call: int = Field(default=7, ge=1, le=7)
    group_wait_seconds: float = Field(default=600, ge=0)
    # A call refused for an account that does not exist (yet): how long it waits at most while
    # accounts are still being imported (Tencent 10019, ZIM 660500002).
    account_wait_seconds: float = Field(default=120, ge=0)
    retry_initial_seconds: float = Field(default=0.2, gt=0)
    retry_max_seconds: float = Field(default=30, gt=0)
    retry_max_attempts: int = Field(default=50, ge=1)
    drain_seconds: float = Field(default=25, gt=0)
    # Share of the app-wide call budget this replica takes: None = proportional to the partitions
    # it holds (recomputed on every rebalance); a number fixes the per-replica budget.
    replica_calls_per_second: float | None = Field(default=None, gt=0)
    # Weight each replica's share by the calls it has left (reported on the control topic), so
    # that replicas with more work get more of the budget; off: shares follow indices held.
    share_budget_by_backlog: bool = True
    # Calls leave a little below the budget: the provider counts arrivals, and network and
    # scheduling jitter bunch evenly spaced calls together.
    budget_headroom: float = Field(default=0.02, ge=0, lt=0.5)


class Settings(BaseSettings):
    """The whole configuration of one service process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    provider: ProviderName = ProviderName.TENCENT
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicsSettings = TopicsSettings()
    tencent: TencentSettings = TencentSettings()
    zego: ZegoSettings = ZegoSettings()
    pipeline: PipelineSettings = PipelineSettings()
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"

    def require_provider_credentials(self) -> None:
        """Raise ``ValueError`` naming the missing settings when the provider cannot be called."""
        if self.provider is ProviderName.TENCENT and (
            self.tencent.sdk_app_id is None or self.tencent.secret_key is None
        ):
            msg = (
                "provider tencent needs CHAT_IMPORT_TENCENT__SDK_APP_ID and "
                "CHAT_IMPORT_TENCENT__SECRET_KEY"
            )
            raise ValueError(msg)
        if self.provider is ProviderName.ZEGO and (
            self.zego.app_id is None or self.zego.server_secret is None
        ):
            msg = "provider zego needs CHAT_IMPORT_ZEGO__APP_ID and CHAT_IMPORT_ZEGO__SERVER_SECRET"
            raise ValueError(msg)

    @property
    def provider_budget(self) -> float:
        """The provider's app-wide calls per second, as configured (before the headroom)."""
        if self.provider is ProviderName.ZEGO:
            return self.zego.calls_per_second
        return self.tencent.calls_per_second

    @property
    def provider_calls_per_second(self) -> float:
        """The app-wide call budget the service plans with (the provider's, less the headroom)."""
        budget = (
            self.zego.calls_per_second
            if self.provider is ProviderName.ZEGO
            else self.tencent.calls_per_second
        )
        return budget * (1 - self.pipeline.budget_headroom)


_SHOWN_INPUTS = frozenset({"path_not_file", "path_not_directory"})
"""Error types whose input is a path worth showing; every other input may be a secret."""


def describe_error(exc: ValidationError) -> str:
    """One line naming each refused setting by its environment variable, never its value.

    A value is left out because it may be a secret: a misspelt ``SASL_PASSWORD`` key is refused
    as unknown, with the password as its input.
    """
    parts: list[str] = []
    for error in exc.errors(include_url=False):
        location = tuple(part for part in error["loc"] if isinstance(part, str))
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown setting"
        elif kind == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        else:
            message = str(error["msg"])
        if kind in _SHOWN_INPUTS:
            message = f"{message} ({error['input']})"
        if kind == "value_error" and ENV_PREFIX in message:
            parts.append(message)  # a combination: the message names its settings
        else:
            parts.append(f"{env_name(*location)}: {message}" if location else message)
    return "; ".join(parts)
