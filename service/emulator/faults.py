# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Per-call fault injection from one seeded RNG: latency, HTTP 500, 10002, broken connections."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.emulator.config import FaultConfig


class Failure(StrEnum):
    """What goes wrong with one call (at most one thing)."""

    NONE = "none"
    HTTP_500 = "http_500"  # not applied
    INTERNAL_ERROR = "internal_error"  # ErrorCode 10002, not applied
    APPLIED_THEN_RESET = "applied_then_reset"  # applied, then the connection breaks


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """The faults drawn for one call."""

    latency_seconds: float
    failure: Failure
    spiked: bool


_NO_FAULT = FaultDecision(latency_seconds=0.0, failure=Failure.NONE, spiked=False)


class FaultInjector:
    """Draws a ``FaultDecision`` per call; the configuration can be replaced at run time."""

    def __init__(self, config: FaultConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)

    @property
    def config(self) -> FaultConfig:
        """The faults in force."""
        return self._config

    def replace(self, config: FaultConfig) -> None:
        """Use ``config`` from now on, re-seeding the RNG from its ``seed``."""
        self._config = config
        self._rng = random.Random(config.seed)

    def _is_quiet(self) -> bool:
        c = self._config
        return not (
            c.latency_ms
            or c.jitter_ms
            or c.latency_spike_probability
            or c.http_500_probability
            or c.internal_error_probability
            or c.applied_then_reset_probability
        )

    def draw(self) -> FaultDecision:
        """Draw the faults for the next call."""
        if self._is_quiet():
            return _NO_FAULT
        c = self._config
        rng = self._rng
        latency_ms = c.latency_ms
        if c.jitter_ms:
            latency_ms += rng.uniform(-c.jitter_ms, c.jitter_ms)
        spiked = c.latency_spike_probability > 0 and rng.random() < c.latency_spike_probability
        if spiked:
            latency_ms += c.latency_spike_ms
        roll = rng.random()
        failure = Failure.NONE
        for kind, probability in (
            (Failure.HTTP_500, c.http_500_probability),
            (Failure.INTERNAL_ERROR, c.internal_error_probability),
            (Failure.APPLIED_THEN_RESET, c.applied_then_reset_probability),
        ):
            if roll < probability:
                failure = kind
                break
            roll -= probability
        return FaultDecision(
            latency_seconds=max(0.0, latency_ms) / 1000, failure=failure, spiked=spiked
        )
