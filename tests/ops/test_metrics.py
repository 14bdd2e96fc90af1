# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The service's metrics registry, and ``/metrics`` scraped over HTTP during an import."""

from __future__ import annotations

from collections import defaultdict
from importlib.metadata import version

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from service.embedded_broker import EmbeddedBroker
from service.emulator.server import EmulatorServer
from service.metrics import Metrics
from tests.integration.events import group_record, message_record
from tests.integration.harness import make_settings, produce, running, wait_for

GROUPS = ("m1", "m2")
MESSAGES = 10
RECORDS = len(GROUPS) * (1 + MESSAGES)

EXPOSED = {
    "chat_import_records_consumed": "counter",
    "chat_import_outcomes": "counter",
    "chat_import_dead_letters": "counter",
    "chat_import_provider_calls": "counter",
    "chat_import_provider_call_seconds": "histogram",
    "chat_import_rate_limit_wait_seconds": "counter",
    "chat_import_calls_per_second_budget": "gauge",
    "chat_import_backlog_calls": "gauge",
    "chat_import_budget_shares_read_late": "counter",
    "chat_import_retries": "counter",
    "chat_import_in_flight_records": "gauge",
    "chat_import_queued_records": "gauge",
    "chat_import_buffered_records": "gauge",
    "chat_import_paused_partitions": "gauge",
    "chat_import_batch_size": "histogram",
    "chat_import_consumer_lag": "gauge",
    "chat_import_assigned_partitions": "gauge",
    "chat_import_halted": "gauge",
    "chat_import_build_info": "gauge",
}
# Process (Linux /proc), interpreter and garbage-collector metrics on the service's own registry.
RUNTIME = {
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "python_info": "gauge",
    "python_gc_objects_collected": "counter",
    "python_gc_objects_uncollectable": "counter",
    "python_gc_collections": "counter",
}


class Scrape:
    """One parsed exposition of ``/metrics``."""

    def __init__(self, text: str) -> None:
        self.types: dict[str, str] = {}
        self.samples: dict[str, list[Sample]] = defaultdict(list)
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples[sample.name].append(sample)

    def total(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        return sum(
            s.value for s in self.samples.get(name, []) if labels.items() <= s.labels.items()
        )


async def scrape(port: int) -> Scrape:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert 200 == response.status_code
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def exposition(metrics: Metrics) -> Scrape:
    """What ``/metrics`` would serve for this registry now."""
    return Scrape(generate_latest(metrics.registry).decode())


class TestRegistry:
    """What one ``Metrics()`` exposes before any traffic."""

    def test_every_service_metric_is_registered_with_its_type(self) -> None:
        """Each chat_import_* metric exists from the start with its type (counter, gauge, ...)."""
        types = exposition(Metrics()).types
        assert EXPOSED == {name: kind for name, kind in types.items() if name in EXPOSED}

    def test_process_platform_and_gc_metrics_are_exposed(self) -> None:
        """process_*, python_info and python_gc_* are on the service's own registry."""
        types = exposition(Metrics()).types
        assert RUNTIME == {name: kind for name, kind in types.items() if name in RUNTIME}

    def test_process_metrics_describe_this_process(self) -> None:
        """The resident memory and open file descriptors are positive numbers."""
        scrape = exposition(Metrics())
        assert (True, True) == (
            scrape.total("process_resident_memory_bytes") > 0,
            scrape.total("process_open_fds") > 0,
        )

    def test_build_info_carries_the_installed_version(self) -> None:
        """chat_import_build_info{version} is 1 with the installed package's version."""
        samples = exposition(Metrics()).samples["chat_import_build_info"]
        expected = [({"version": version("chat-import-service")}, 1.0)]
        assert expected == [(s.labels, s.value) for s in samples]

    def test_build_info_takes_an_explicit_version(self) -> None:
        """A version passed in is the one exposed."""
        samples = exposition(Metrics(build_version="1.2.3")).samples["chat_import_build_info"]
        assert [{"version": "1.2.3"}] == [s.labels for s in samples]

    def test_no_created_series(self) -> None:
        """Counters and histograms expose no _created series, even once they have children."""
        metrics = Metrics()
        metrics.count_outcome("group.import.result", "imported", 0, "provider")
        metrics.provider_latency.labels("import_group").observe(0.1)
        metrics.dead_letters.inc()
        names = set(exposition(metrics).samples)
        assert set() == {name for name in names if name.endswith("_created")}
        assert {"chat_import_outcomes_total", "chat_import_dead_letters_total"} <= names

    def test_two_registries_do_not_collide(self) -> None:
        """Each app gets its own registry: two Metrics() in one process both expose everything."""
        first, second = exposition(Metrics()), exposition(Metrics())
        assert first.types == second.types


@pytest.mark.kafka
@pytest.mark.emulator
class TestMetrics:
    """``/metrics`` over HTTP while the service runs against the broker and the emulator."""

    async def test_counters_move_during_an_import(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """Records, outcomes, calls, latency, budget waits, batch sizes and lag all show up."""
        settings = make_settings(
            kafka_broker.bootstrap_servers, emulator.url, run_id, replica_calls_per_second=20
        )
        records = [group_record(settings, g) for g in GROUPS]
        records += [message_record(settings, g, n) for n in range(MESSAGES) for g in GROUPS]
        async with running(settings) as service:
            assert service.resources is not None
            port = service.resources.http.port
            before = await scrape(port)
            assert 0 == before.total("chat_import_records_consumed_total")
            await produce(kafka_broker.bootstrap_servers, records)
            latest: list[Scrape] = [before]

            async def all_imported_and_lag_known() -> bool:
                latest[0] = await scrape(port)
                imported = latest[0].total("chat_import_outcomes_total", status="imported")
                lag = latest[0].samples.get("chat_import_consumer_lag", [])
                return imported >= RECORDS and any(
                    s.labels["topic"] == settings.topics.messages for s in lag
                )

            await wait_for(all_imported_and_lag_known, timeout=60)
            after = latest[0]
        assert {name: kind for name, kind in after.types.items() if name in EXPOSED} == EXPOSED
        consumed = after.total("chat_import_records_consumed_total", topic=settings.topics.messages)
        assert (RECORDS, len(GROUPS) * MESSAGES) == (
            after.total("chat_import_records_consumed_total"),
            consumed,
        )
        assert MESSAGES * len(GROUPS) == after.total(
            "chat_import_outcomes_total",
            type="group.message.import.result",
            status="imported",
            error_code="0",
            detected_by="provider",
        )
        calls = after.total("chat_import_provider_calls_total", result="0")
        assert calls >= len(GROUPS) * 3  # a group import and at least two 7-message batches each
        every_call = after.total("chat_import_provider_calls_total")
        assert every_call == after.total("chat_import_provider_call_seconds_count")
        assert after.total("chat_import_provider_calls_total", api="import_group") >= len(GROUPS)
        assert after.total("chat_import_batch_size_count") > 0
        assert MESSAGES * len(GROUPS) == after.total("chat_import_batch_size_sum")
        assert after.total("chat_import_rate_limit_wait_seconds_total") > 0
        assert 20 == after.total("chat_import_calls_per_second_budget")
        assert after.total("chat_import_assigned_partitions") == 8  # 4 partitions x 2 topics
        assert 0 == after.total("chat_import_halted")
        lag = {
            (s.labels["topic"], s.labels["partition"])
            for s in after.samples["chat_import_consumer_lag"]
        }
        assert {t for t, _ in lag} <= {settings.topics.groups, settings.topics.messages}
