# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The helpers that tell which metrics exist and which ones an expression reads."""

from __future__ import annotations

from tests.deploy.promql import exported_names, metric_names


class TestMetricNameReader:
    """The PromQL reader the name checks rely on."""

    def test_finds_selected_metrics_only(self) -> None:
        """Functions, label names, label values, ranges and keywords are not metric names."""
        expr = (
            'sum by (namespace) (rate(a_total{result!="0", x=~"b.c"}[10m])) / on (pod) '
            "group_left (owner) max(b_info) > 0.1 and c offset 30m unless d == bool 1e3"
        )
        assert {"a_total", "b_info", "c", "d"} == metric_names(expr)

    def test_finds_histogram_series_inside_quantiles(self) -> None:
        """histogram_quantile over a rate of buckets names the bucket series."""
        expr = "histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))"
        assert {"h_bucket"} == metric_names(expr)

    def test_the_registry_names_carry_the_exposed_suffixes(self) -> None:
        """Counters end in _total, histograms have _bucket/_sum/_count, info ends in _info."""
        names = exported_names()
        expected = {
            "chat_import_dead_letters_total",
            "chat_import_provider_call_seconds_bucket",
            "chat_import_provider_call_seconds_count",
            "chat_import_halted",
            "chat_import_build_info",
            "process_cpu_seconds_total",
        }
        assert expected <= names
        assert set() == {"chat_import_dead_letters", "chat_import_outcomes_created"} & names
