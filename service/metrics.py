# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Prometheus metrics of one service process (a registry per app, so tests can run several).

Besides the service's own ``chat_import_*`` metrics the registry carries the process
(``process_*``), interpreter (``python_info``) and garbage-collector (``python_gc_*``) metrics
and ``chat_import_build_info{version}``. Counters and histograms expose no ``_created`` series:
they double the series count and no query of ours reads them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

DISTRIBUTION = "chat-import-service"


def service_version() -> str:
    """The installed version of the service (``"unknown"`` when it is not installed)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "unknown"


class Metrics:
    """Every metric the service exposes on ``/metrics``."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, build_version: str | None = None
    ) -> None:
        # prometheus-client keeps this switch per process; it is read at every scrape.
        # (The function has no annotations in prometheus-client.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.build_info = Info(
            "chat_import_build", "The running build of the service (always 1)", registry=r
        )
        self.build_info.info({"version": build_version or service_version()})
        self.records_consumed = Counter(
            "chat_import_records_consumed",
            "Records read from the input topics",
            ["topic"],
            registry=r,
        )
        self.outcomes = Counter(
            "chat_import_outcomes",
            "Outcome events published",
            ["type", "status", "error_code", "detected_by"],
            registry=r,
        )
        self.dead_letters = Counter(
            "chat_import_dead_letters", "Records sent to the dead-letter topic", registry=r
        )
        self.provider_calls = Counter(
            "chat_import_provider_calls",
            "Provider calls by API and result (error code, or the failure)",
            ["api", "result"],
            registry=r,
        )
        self.provider_latency = Histogram(
            "chat_import_provider_call_seconds",
            "Provider call latency",
            ["api"],
            buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.rate_limit_wait = Counter(
            "chat_import_rate_limit_wait_seconds",
            "Seconds calls spent waiting for the call budget",
            registry=r,
        )
        self.rate_budget = Gauge(
            "chat_import_calls_per_second_budget",
            "Calls per second this replica may make now",
            registry=r,
        )
        self.backlog_calls = Gauge(
            "chat_import_backlog_calls",
            "Calls this replica estimates it still has to make for the partitions it holds",
            registry=r,
        )
        self.shares_read_late = Counter(
            "chat_import_budget_shares_read_late",
            "Budget shares read from the control topic after the instant they took effect",
            registry=r,
        )
        self.retries = Counter(
            "chat_import_retries",
            "Provider calls retried, by error class",
            ["error_class"],
            registry=r,
        )
        self.in_flight = Gauge(
            "chat_import_in_flight_records",
            "Records taken from a queue and not finished",
            registry=r,
        )
        self.buffered = Gauge(
            "chat_import_buffered_records",
            "Records read and not finished (queued and in flight)",
            registry=r,
        )
        self.queued = Gauge(
            "chat_import_queued_records",
            "Valid events waiting in their group's queue for a provider call",
            registry=r,
        )
        self.paused_partitions = Gauge(
            "chat_import_paused_partitions",
            "Input partitions paused because too many records are buffered",
            registry=r,
        )
        self.batch_size = Histogram(
            "chat_import_batch_size",
            "Messages per import call",
            buckets=(1, 2, 3, 4, 5, 6, 7),
            registry=r,
        )
        self.consumer_lag = Gauge(
            "chat_import_consumer_lag",
            "Records behind the end of each input partition",
            ["topic", "partition"],
            registry=r,
        )
        self.assigned_partitions = Gauge(
            "chat_import_assigned_partitions", "Input partitions this replica holds", registry=r
        )
        self.history_pulls = Counter(
            "chat_import_history_pulls",
            "History pages read to find messages already at the provider",
            registry=r,
        )
        self.records_skipped = Counter(
            "chat_import_records_skipped",
            "Records skipped as read: an earlier owner of their partition finished them",
            ["topic"],
            registry=r,
        )
        self.resume_checks = Counter(
            "chat_import_resume_checks",
            "Groups whose history is checked before their first call because an earlier owner "
            "may have sent their next message (a start or a rebalance; kill -9 before it)",
            registry=r,
        )
        self.offset_map_fallbacks = Counter(
            "chat_import_offset_map_fallbacks",
            "Partition commits without the offset map (it did not fit the metadata limit): "
            "the plain watermark, so the next owner skips nothing",
            registry=r,
        )
        self.lanes = Gauge(
            "chat_import_lanes",
            "Lanes alive (event kind and group with work queued or in flight)",
            registry=r,
        )
        self._outcome_children: dict[tuple[str, str, int, str], Counter] = {}
        self.halted = Gauge(
            "chat_import_halted",
            "1 while the provider refuses the configuration (no calls are made)",
            registry=r,
        )

    def count_outcome(
        self, event_type: str, status: str, error_code: int, detected_by: str
    ) -> None:
        """Count one published outcome (label children cached: this runs per event)."""
        key = (event_type, status, error_code, detected_by)
        child = self._outcome_children.get(key)
        if child is None:
            child = self.outcomes.labels(event_type, status, str(error_code), detected_by)
            self._outcome_children[key] = child
        child.inc()
