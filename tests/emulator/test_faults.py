# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pydantic
import pytest

from service.emulator.config import FaultConfig
from service.emulator.faults import Failure, FaultInjector


class TestFaultInjector:
    """Seeded per-call latency and failures."""

    def test_no_faults_by_default(self) -> None:
        """The default configuration adds no latency and no failure."""
        decision = FaultInjector(FaultConfig()).draw()
        expected = (0.0, Failure.NONE)
        assert expected == (decision.latency_seconds, decision.failure)

    def test_same_seed_same_faults(self) -> None:
        """Two injectors with one seed draw the same sequence."""
        config = FaultConfig(
            latency_ms=60,
            jitter_ms=20,
            http_500_probability=0.2,
            internal_error_probability=0.2,
            seed=3,
        )
        first, second = FaultInjector(config), FaultInjector(config)
        expected = [first.draw() for _ in range(50)]
        assert expected == [second.draw() for _ in range(50)]

    def test_latency_stays_within_the_jitter(self) -> None:
        """Latency is the mean plus or minus at most the jitter."""
        injector = FaultInjector(FaultConfig(latency_ms=60, jitter_ms=20, seed=1))
        latencies = [injector.draw().latency_seconds for _ in range(500)]
        expected = (True, True)
        assert expected == (min(latencies) >= 0.040, max(latencies) <= 0.080)

    def test_spike_adds_its_size(self) -> None:
        """A spike (probability 1 here) adds latency_spike_ms."""
        injector = FaultInjector(
            FaultConfig(latency_spike_probability=1, latency_spike_ms=500, seed=1)
        )
        decision = injector.draw()
        expected = (0.5, True)
        assert expected == (decision.latency_seconds, decision.spiked)

    @pytest.mark.parametrize(
        ("field", "failure"),
        [
            ("http_500_probability", Failure.HTTP_500),
            ("internal_error_probability", Failure.INTERNAL_ERROR),
            ("applied_then_reset_probability", Failure.APPLIED_THEN_RESET),
        ],
    )
    def test_probability_one_always_fails(self, field: str, failure: Failure) -> None:
        """A failure with probability 1 happens on every call."""
        injector = FaultInjector(FaultConfig.model_validate({field: 1, "seed": 1}))
        expected = {failure}
        assert expected == {injector.draw().failure for _ in range(20)}

    def test_failure_probabilities_cannot_exceed_one(self) -> None:
        """The three failure probabilities together are at most 1."""
        with pytest.raises(pydantic.ValidationError):
            FaultConfig(http_500_probability=0.6, internal_error_probability=0.6)

    def test_rates_roughly_match(self) -> None:
        """Over many calls each failure happens about as often as configured."""
        injector = FaultInjector(
            FaultConfig(http_500_probability=0.1, internal_error_probability=0.2, seed=11)
        )
        drawn = [injector.draw().failure for _ in range(5_000)]
        shares = (
            drawn.count(Failure.HTTP_500) / 5_000,
            drawn.count(Failure.INTERNAL_ERROR) / 5_000,
        )
        expected = (True, True)
        assert expected == (abs(shares[0] - 0.1) < 0.02, abs(shares[1] - 0.2) < 0.02)
