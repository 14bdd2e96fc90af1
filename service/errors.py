# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The service's exceptions.

    ServiceError
    ├── BadInputError                 a record that is not an event (dead letter)
    ├── CopartitioningError           the input topics differ in partitions: refuse to start
    ├── KafkaAccessError              Kafka unreachable, or refusing the TLS or SASL setup: stop
    ├── ProducerStartError            the outcome producer cannot start (one line saying why)
    └── ProviderError                 a provider call that did not give an answer to use
        ├── RetryableProviderError    rate limit, 5xx, timeout, 10002: try again later
        │   └── AmbiguousProviderError  the call may have been applied (timeout, reset)
        ├── PermanentProviderError    a documented refusal: becomes a failed outcome
        │   └── BatchRefusedError     a whole multi-message call refused for one message
        └── ConfigurationError        credentials refused (bad key, bad signature): halt

Catch broadly at the edges (the handler) and narrowly where retrying. Messages never carry a
secret: provider adapters redact request URLs before they build any of these.
"""

from __future__ import annotations

from service.domain.retry_policy import ErrorClass


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""


class BadInputError(ServiceError):
    """A record that is not an event at all; it goes to the dead-letter topic unchanged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CopartitioningError(ServiceError, ValueError):
    """The input topics differ in partition count (or one is missing): the service refuses to start.

    Partition p of every input topic must hold the same groups for one replica to own them all.
    """


class KafkaAccessError(ServiceError):
    """Kafka cannot be reached, or refuses the connection as configured; retrying will not help.

    The message is one sentence naming the cause and the setting to check (never a secret).
    """


class ProducerStartError(ServiceError):
    """The outcome producer could not start; the message is one line saying what to change."""


class ProviderError(ServiceError):
    """A provider call that did not return a usable answer; ``error_class`` says what to do.

    ``request_id`` is the provider's id of the request when its answer gave one (ZIM's
    ``RequestId``); ``info`` names it too, so that it reaches log lines and failed outcomes.
    """

    default_class = ErrorClass.PERMANENT

    def __init__(
        self,
        code: int,
        info: str,
        error_class: ErrorClass | None = None,
        *,
        request_id: str = "",
    ) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info
        self.error_class = error_class or self.default_class
        self.request_id = request_id


class RetryableProviderError(ProviderError):
    """Worth trying again after a back-off (rate limit, 5xx, timeout, 10002)."""

    default_class = ErrorClass.RETRY


class AmbiguousProviderError(RetryableProviderError):
    """The call may have been applied before it failed (timeout, connection reset, 5xx)."""

    default_class = ErrorClass.AMBIGUOUS


class PermanentProviderError(ProviderError):
    """The provider refused the call with a documented code; retrying gives the same answer."""


class BatchRefusedError(PermanentProviderError):
    """The provider refused a whole call because of one (or some) of its messages.

    ``suspect`` is the position in the call of the message the answer names, when it names
    one. ``service.domain.isolation.IsolationPlan`` splits the call so only that message fails.
    """

    def __init__(self, code: int, info: str, *, suspect: int | None = None) -> None:
        super().__init__(code, info, ErrorClass.PERMANENT)
        self.suspect = suspect


class ConfigurationError(ProviderError):
    """The provider refuses the service's credentials or address; retrying will not help."""

    default_class = ErrorClass.CONFIGURATION
